//! The ancestry rules: an approver's confirmation among a write's ancestors (E0203), and only
//! values the confirmer could have seen in the write's action (E0209).
//!
//! Both read `L(X)`, the latest confirms by the approver role above each write `X`
//! ([`super::latest`], the binding rule the plan and the runtime share): E0203 is `L(X)` empty,
//! E0209 a value whose step is an ancestor of none of `L(X)`. See ARCHITECTURE.md ("Cost") for
//! what each step costs.

use std::collections::VecDeque;

use crate::hash::{HashMap, HashSet};

use petgraph::Direction;
use petgraph::graph::NodeIndex;

use super::graph::{Marks, StepGraph, UNORDERED, reachable_from, topological_positions};
use super::latest::{Latest, Sweep};
use super::model::{Model, StepId};
use super::names::Resolution;
use crate::diagnostics::{Code, Diagnostic};
use crate::syntax::ast::*;

/// E0203 and E0209, for every execute whose approver role and ancestry are known. Returns the
/// binding of every write that passed E0203, by node index (empty for every other node).
///
/// E0203: no confirm by the approver role is an ancestor of the write, i.e. `L(X)` is empty.
///
/// E0209: every value's step `S` must be an ancestor of some confirm `C` by the role that is
/// an ancestor of the write `X`. Only `L(X)` need be looked at: `C` is one of them or an
/// ancestor of one of them, and then so is `S`.
pub(crate) fn check(
    model: &Model<'_>,
    resolution: &Resolution<'_>,
    graph: &StepGraph,
    out: &mut Vec<Diagnostic>,
) -> Vec<Box<[NodeIndex]>> {
    let confirmers = Confirmers::new(model, graph);
    let position = topological_positions(graph);
    let mut marks = Marks::new(graph.graph.node_count());
    let mut confirmed = Vec::new();
    for writes in writes_by_role(model, resolution, graph) {
        let Some(&(_, _, first)) = writes.first() else {
            continue;
        };
        let confirms = confirmers.of(first.as_str());
        let nodes: Vec<NodeIndex> = writes.iter().map(|&(_, node, _)| node).collect();
        let mut latest = Sweep::new(graph, &position, &mut marks).latest(confirms, &nodes);
        // A write on or after a cycle (E0103) has no order to sweep: plain reachability.
        let mut reached: Option<Vec<bool>> = None;
        for (id, node, role) in writes {
            let ordered = position.get(node.index()).is_some_and(|&p| p != UNORDERED);
            if let Some(binding) = latest.remove(&node) {
                confirmed.push(Write {
                    id,
                    node,
                    role,
                    latest: binding,
                });
            } else if ordered
                || !reached
                    .get_or_insert_with(|| reachable_from(graph, confirms))
                    .get(node.index())
                    .copied()
                    .unwrap_or(false)
            {
                out.push(not_confirmed(model, graph, id, role, confirms));
            }
        }
    }
    let mut binding: Vec<Box<[NodeIndex]>> = vec![Box::default(); graph.graph.node_count()];
    for write in &confirmed {
        if let Some(slot) = binding.get_mut(write.node.index()) {
            *slot = write.latest.iter().copied().collect();
        }
    }
    seen_values(model, resolution, graph, &position, confirmed, out);
    binding
}

/// The executes to judge with their approver, grouped by approver role (roles in the order of
/// their first write). Skipped: an unknown role, a step after a broken ordering edge (E0101
/// said what is wrong).
fn writes_by_role<'w>(
    model: &Model<'w>,
    resolution: &Resolution<'_>,
    graph: &StepGraph,
) -> Vec<Vec<(StepId, NodeIndex, &'w Ident)>> {
    let uncertain = uncertain_nodes(resolution, graph);
    let mut index: HashMap<&str, usize> = HashMap::default();
    let mut groups: Vec<Vec<(StepId, NodeIndex, &'w Ident)>> = Vec::new();
    for (id, info) in model.steps.iter().enumerate() {
        if info.kind() != StepKind::Execute {
            continue;
        }
        let (Some((role, _)), Some(node)) = (info.clauses.approver, graph.node(id)) else {
            continue;
        };
        let unknown_role = !model.roles.contains_key(role.as_str());
        if unknown_role || uncertain.get(node.index()).copied().unwrap_or(true) {
            continue;
        }
        let slot = *index.entry(role.as_str()).or_insert_with(|| {
            groups.push(Vec::new());
            groups.len() - 1
        });
        if let Some(writes) = groups.get_mut(slot) {
            writes.push((id, node, role));
        }
    }
    groups
}

/// The confirm steps that count for each role. A confirm whose `by` did not resolve (E0101)
/// or is missing (E0104) may have been meant for any role: it counts for all, so the one
/// mistake is not reported again as E0203 on every write after it.
struct Confirmers<'w> {
    by_role: HashMap<&'w str, Vec<NodeIndex>>,
    wildcards: Vec<NodeIndex>,
}

impl<'w> Confirmers<'w> {
    fn new(model: &Model<'w>, graph: &StepGraph) -> Confirmers<'w> {
        let mut by_role: HashMap<&'w str, Vec<NodeIndex>> = HashMap::default();
        let mut wildcards = Vec::new();
        for (id, info) in model.steps.iter().enumerate() {
            let (StepKind::Confirm, Some(node)) = (info.kind(), graph.node(id)) else {
                continue;
            };
            match info.clauses.by {
                Some((role, _)) if model.roles.contains_key(role.as_str()) => {
                    by_role.entry(role.as_str()).or_default().push(node);
                }
                _ => wildcards.push(node),
            }
        }
        for confirms in by_role.values_mut() {
            confirms.extend(&wildcards);
        }
        Confirmers { by_role, wildcards }
    }

    fn of(&self, role: &str) -> &[NodeIndex] {
        self.by_role
            .get(role)
            .map_or(&self.wildcards[..], Vec::as_slice)
    }
}

/// Steps after a broken ordering edge (an unknown step in `after` or a reference) have an
/// unknown set of ancestors: no ancestry rule is judged on them.
fn uncertain_nodes(resolution: &Resolution<'_>, graph: &StepGraph) -> Vec<bool> {
    let broken: Vec<NodeIndex> = resolution
        .broken_order
        .iter()
        .enumerate()
        .filter(|&(_, &broken)| broken)
        .filter_map(|(id, _)| graph.node(id))
        .collect();
    let mut uncertain = reachable_from(graph, &broken);
    for node in &broken {
        if let Some(flag) = uncertain.get_mut(node.index()) {
            *flag = true;
        }
    }
    uncertain
}

/// An execute that passed E0203, with its approver role and its binding.
struct Write<'w> {
    id: StepId,
    node: NodeIndex,
    role: &'w Ident,
    /// `L(X)`: the latest confirms by the role above the write.
    latest: Latest,
}

fn not_confirmed(
    model: &Model<'_>,
    graph: &StepGraph,
    id: StepId,
    role: &Ident,
    confirms: &[NodeIndex],
) -> Diagnostic {
    let name = model.steps.get(id).map_or("?", |s| s.name());
    let mut diagnostic = Diagnostic::new(
        Code::E0203,
        format!("`{name}` can write before `{}` confirms it", role.name),
        role.span,
        format!("no `confirm ... by {}` comes before `{name}`", role.name),
    );
    for &confirm in confirms.iter().take(5) {
        if let Some(info) = model.steps.get(graph.step(confirm)) {
            diagnostic = diagnostic.label(
                info.step.name.span,
                format!(
                    "`{}` confirms by `{}` but is not an ancestor of `{name}`",
                    info.name(),
                    role.name
                ),
            );
        }
    }
    let help = match confirms
        .first()
        .and_then(|&c| model.steps.get(graph.step(c)))
    {
        Some(confirm) => format!(
            "make `{name}` run after the confirmation: add `after {}` to `{name}`",
            confirm.name()
        ),
        None => format!(
            "add a `confirm` step `by {}` and put `{name}` after it",
            role.name
        ),
    };
    diagnostic.help(help)
}

/// E0209 for the writes that passed E0203. Writes on or after a cycle (E0103) are not judged:
/// their ancestry has no order. The rest are judged in topological order.
fn seen_values(
    model: &Model<'_>,
    resolution: &Resolution<'_>,
    graph: &StepGraph,
    position: &[usize],
    mut writes: Vec<Write<'_>>,
    out: &mut Vec<Diagnostic>,
) {
    let place = |n: NodeIndex| position.get(n.index()).copied().unwrap_or(UNORDERED);
    writes.retain(|write| place(write.node) != UNORDERED);
    writes.sort_unstable_by_key(|write| place(write.node));
    let used = |id: StepId| {
        let sources = resolution.action_sources.get(id).into_iter().flatten();
        sources.filter(move |&&(source, _)| source != id)
    };
    // A write that uses several fields of one step asks about that step once.
    let distinct = |id: StepId| {
        let mut steps: Vec<StepId> = used(id).map(|&(source, _)| source).collect();
        steps.sort_unstable();
        steps.dedup();
        steps
    };
    // Computed once per write: the first pass announces the questions, the second asks them.
    let asked: Vec<Vec<StepId>> = writes.iter().map(|write| distinct(write.id)).collect();
    let mut sources = Sources::new(graph, position);
    for (write, steps) in writes.iter().zip(&asked) {
        for &source in steps {
            sources.expect(source, place(write.node));
        }
    }
    let mut marks = Marks::new(graph.graph.node_count());
    for (write, steps) in writes.iter().zip(&asked) {
        if steps.is_empty() {
            continue;
        }
        // Sorted by source (as `steps` is), so each use finds its answer by bisection.
        let answers: Vec<(StepId, bool)> = steps
            .iter()
            .map(|&source| {
                let seen = sources.ancestor_of_any(source, &write.latest, &mut marks);
                (source, seen)
            })
            .collect();
        for &(source, reference) in used(write.id) {
            let seen = answers
                .binary_search_by_key(&source, |&(s, _)| s)
                .ok()
                .and_then(|i| answers.get(i))
                .is_some_and(|&(_, seen)| seen);
            if !seen {
                let cx = Unseen {
                    model,
                    graph,
                    position,
                    write,
                    latest: &write.latest,
                };
                out.push(cx.diagnostic(source, reference));
            }
        }
    }
}

/// Answers "is step `S` an ancestor of one of these confirms?" for the steps whose values the
/// writes use. The first question about `S` is a backward search from the confirms through the
/// steps ordered after `S`; from the second on, a lookup in `S`'s descendants, found once by a
/// forward search through the steps ordered before its last user, and dropped after that user.
struct Sources<'g> {
    graph: &'g StepGraph,
    position: &'g [usize],
    uses: HashMap<NodeIndex, Uses>,
}

#[derive(Default)]
struct Uses {
    /// Questions still to come about this step.
    remaining: usize,
    /// The highest position among the writes that use it.
    limit: usize,
    asked: bool,
    descendants: Option<HashSet<NodeIndex>>,
}

impl<'g> Sources<'g> {
    fn new(graph: &'g StepGraph, position: &'g [usize]) -> Sources<'g> {
        Sources {
            graph,
            position,
            uses: HashMap::default(),
        }
    }

    fn place(&self, node: NodeIndex) -> usize {
        self.position
            .get(node.index())
            .copied()
            .unwrap_or(UNORDERED)
    }

    /// Records that a write at position `at` will ask about `source`.
    fn expect(&mut self, source: StepId, at: usize) {
        if let Some(node) = self.graph.node(source) {
            let uses = self.uses.entry(node).or_default();
            uses.remaining += 1;
            uses.limit = uses.limit.max(at);
        }
    }

    fn ancestor_of_any(
        &mut self,
        source: StepId,
        confirms: &[NodeIndex],
        marks: &mut Marks,
    ) -> bool {
        let Some(node) = self.graph.node(source) else {
            return false;
        };
        let Some(mut uses) = self.uses.remove(&node) else {
            return self.search_back(node, confirms, marks);
        };
        uses.remaining = uses.remaining.saturating_sub(1);
        let answer = match &uses.descendants {
            Some(descendants) => confirms.iter().any(|c| descendants.contains(c)),
            None if uses.asked => {
                let descendants = self.descendants(node, uses.limit);
                let answer = confirms.iter().any(|c| descendants.contains(c));
                uses.descendants = Some(descendants);
                answer
            }
            None => {
                uses.asked = true;
                self.search_back(node, confirms, marks)
            }
        };
        if uses.remaining > 0 {
            self.uses.insert(node, uses);
        }
        answer
    }

    /// Whether `source` leads to one of `confirms`, searching back from them through the steps
    /// ordered after `source` (only those can lie on a path from it).
    fn search_back(&self, source: NodeIndex, confirms: &[NodeIndex], marks: &mut Marks) -> bool {
        // The common case first, from the source's side: a confirm that directly follows it
        // (a confirm with many inputs would otherwise rescan them all for each one).
        let mut successors = self
            .graph
            .graph
            .neighbors_directed(source, Direction::Outgoing);
        if successors.any(|next| confirms.binary_search(&next).is_ok()) {
            return true;
        }
        let floor = self.place(source);
        marks.clear();
        let mut queue: VecDeque<NodeIndex> = confirms
            .iter()
            .copied()
            .filter(|&c| self.place(c) > floor && marks.insert(c))
            .collect();
        while let Some(node) = queue.pop_front() {
            for previous in self
                .graph
                .graph
                .neighbors_directed(node, Direction::Incoming)
            {
                if previous == source {
                    return true;
                }
                if self.place(previous) > floor && marks.insert(previous) {
                    queue.push_back(previous);
                }
            }
        }
        false
    }

    /// The descendants of `source` ordered before `limit`.
    fn descendants(&self, source: NodeIndex, limit: usize) -> HashSet<NodeIndex> {
        let mut found = HashSet::default();
        let mut queue = VecDeque::from([source]);
        while let Some(node) = queue.pop_front() {
            for next in self
                .graph
                .graph
                .neighbors_directed(node, Direction::Outgoing)
            {
                if self.place(next) < limit && found.insert(next) {
                    queue.push_back(next);
                }
            }
        }
        found
    }
}

/// What an E0209 diagnostic needs to say about one write.
struct Unseen<'a, 'w> {
    model: &'a Model<'w>,
    graph: &'a StepGraph,
    position: &'a [usize],
    write: &'a Write<'a>,
    /// `L(X)`: the latest confirms by the approver role above the write.
    latest: &'a [NodeIndex],
}

impl Unseen<'_, '_> {
    fn diagnostic(&self, source: StepId, reference: &Reference) -> Diagnostic {
        let role = self.write.role;
        let name = self
            .model
            .steps
            .get(self.write.id)
            .map_or("?", |s| s.name());
        let source_info = self.model.steps.get(source);
        let source_name = source_info.map_or("?", |s| s.name());
        let mut diagnostic = Diagnostic::new(
            Code::E0209,
            format!(
                "`{name}` uses `{reference}`, which no `{}` confirmer saw",
                role.name
            ),
            reference.span,
            format!("not known before `{}` confirms", role.name),
        );
        if let Some(info) = source_info {
            diagnostic = diagnostic.label(
                info.step.name.span,
                format!(
                    "`{source_name}` does not run before a confirm by `{}`",
                    role.name
                ),
            );
        }
        diagnostic.help(self.help(name, source, reference))
    }

    /// How to fix E0209: order the source before one of the latest confirms when that makes no
    /// cycle, otherwise add a confirm after the source.
    fn help(&self, name: &str, source: StepId, reference: &Reference) -> String {
        let role = self.write.role;
        let source_name = self.model.steps.get(source).map_or("?", |s| s.name());
        let source_node = self.graph.node(source);
        // Only the first few confirms are tried: this runs per error, and must stay cheap.
        let orderable = self.latest.iter().take(8).find(|&&confirm| {
            // Putting the source before this confirm is a cycle if the confirm leads to it.
            source_node.is_some_and(|s| !self.may_reach(confirm, s))
        });
        match orderable.and_then(|&c| self.model.steps.get(self.graph.step(c))) {
            Some(confirm) => format!(
                "order `{source_name}` before the confirmation (add `after {source_name}` to `{}`) and show `{reference}` to the confirmer",
                confirm.name()
            ),
            None => format!(
                "add a `confirm ... by {}` after `{source_name}` that shows `{reference}`, and put `{name}` after it",
                role.name
            ),
        }
    }

    /// Whether `from` may lead to `target`: true unless a search through the steps ordered
    /// before `target` shows it does not. The search gives up (true) after [`HELP_BUDGET`]
    /// steps: this runs per diagnostic, and a generic help beats a quadratic check.
    fn may_reach(&self, from: NodeIndex, target: NodeIndex) -> bool {
        let place = |n: NodeIndex| self.position.get(n.index()).copied().unwrap_or(UNORDERED);
        let limit = place(target);
        if place(from) >= limit {
            return false;
        }
        let mut visited: HashSet<NodeIndex> = [from].into_iter().collect();
        let mut queue = VecDeque::from([from]);
        while let Some(node) = queue.pop_front() {
            for next in self
                .graph
                .graph
                .neighbors_directed(node, Direction::Outgoing)
            {
                if next == target || visited.len() > HELP_BUDGET {
                    return true;
                }
                if place(next) < limit && visited.insert(next) {
                    queue.push_back(next);
                }
            }
        }
        false
    }
}

/// How many steps the help of one E0209 may search.
const HELP_BUDGET: usize = 1_000;
