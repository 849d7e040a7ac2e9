//! The step graph and the rules that need it: cycles (E0103), an approver's confirmation
//! among a write's ancestors (E0203), and values the confirmer could have seen (E0209).
//!
//! Nodes are the forward steps (recommend, confirm, execute); rollbacks are not part of the
//! forward order. Every algorithm here is iterative (a 100,000-step chain must not overflow
//! the stack) and near-linear: cycles by Kosaraju's SCC, E0203 by one multi-source search per
//! approver role, E0209 by a search per used value pruned to the steps ordered between the value's
//! step and the execute.

use std::collections::VecDeque;

use super::hash::{HashMap, HashSet};

use petgraph::Direction;
use petgraph::algo::{kosaraju_scc, toposort};
use petgraph::graph::{DiGraph, NodeIndex};
use petgraph::visit::EdgeRef;

use super::model::{Model, StepId};
use super::names::{Edge, Resolution};
use crate::diagnostics::{Code, Diagnostic};
use crate::syntax::ast::*;

/// The forward steps and their ordering edges (weight: the span that created the edge).
pub struct StepGraph {
    pub graph: DiGraph<StepId, Span>,
    node_of: Vec<Option<NodeIndex>>,
}

impl StepGraph {
    pub fn node(&self, step: StepId) -> Option<NodeIndex> {
        self.node_of.get(step).copied().flatten()
    }

    fn step(&self, node: NodeIndex) -> StepId {
        self.graph.node_weight(node).copied().unwrap_or(usize::MAX)
    }
}

pub(crate) fn build(model: &Model<'_>, edges: &[Edge]) -> StepGraph {
    let mut graph = DiGraph::with_capacity(model.steps.len(), edges.len());
    let mut node_of = vec![None; model.steps.len()];
    for (id, info) in model.steps.iter().enumerate() {
        if info.kind() != StepKind::Rollback
            && let Some(slot) = node_of.get_mut(id)
        {
            *slot = Some(graph.add_node(id));
        }
    }
    let node = |id: StepId| node_of.get(id).copied().flatten();
    let mut seen = HashSet::with_capacity_and_hasher(edges.len(), Default::default());
    for edge in edges {
        if let (Some(from), Some(to)) = (node(edge.from), node(edge.to))
            && seen.insert((from, to))
        {
            graph.add_edge(from, to, edge.span);
        }
    }
    StepGraph { graph, node_of }
}

/// Reports every cycle (E0103); returns whether the graph is acyclic.
pub(crate) fn cycles(model: &Model<'_>, graph: &StepGraph, out: &mut Vec<Diagnostic>) -> bool {
    let mut components: Vec<Vec<NodeIndex>> = kosaraju_scc(&graph.graph)
        .into_iter()
        .filter(|scc| scc.len() > 1 || scc.iter().any(|&n| graph.graph.contains_edge(n, n)))
        .collect();
    for scc in &mut components {
        scc.sort_by_key(|&n| graph.step(n));
    }
    components.sort_by_key(|scc| scc.first().map(|&n| graph.step(n)));
    for scc in &components {
        if let Some(diagnostic) = cycle_diagnostic(model, graph, scc) {
            out.push(diagnostic);
        }
    }
    components.is_empty()
}

/// The shortest cycle through the first-declared step of a strongly connected component.
fn cycle_diagnostic(model: &Model<'_>, graph: &StepGraph, scc: &[NodeIndex]) -> Option<Diagnostic> {
    let start = *scc.first()?;
    let members: HashSet<NodeIndex> = scc.iter().copied().collect();
    // Breadth-first from `start` inside the component until an edge leads back to it.
    let mut parent: HashMap<NodeIndex, (NodeIndex, Span)> = HashMap::default();
    let mut queue = VecDeque::from([start]);
    let mut closing = None;
    'search: while let Some(node) = queue.pop_front() {
        for edge in graph.graph.edges_directed(node, Direction::Outgoing) {
            let next = edge.target();
            if next == start {
                closing = Some((node, *edge.weight()));
                break 'search;
            }
            if members.contains(&next) && !parent.contains_key(&next) {
                parent.insert(next, (node, *edge.weight()));
                queue.push_back(next);
            }
        }
    }
    let (mut node, closing_span) = closing?;
    let mut path = vec![(start, closing_span)];
    while node != start {
        let &(previous, span) = parent.get(&node)?;
        path.push((node, span));
        node = previous;
    }
    path.push((start, Span::default()));
    path.reverse();
    // `path` is now start, s1, ..., start; each entry's span is the edge that leads into it.
    let name = |n: NodeIndex| model.steps.get(graph.step(n)).map_or("?", |s| s.name());
    let names: Vec<String> = path
        .iter()
        .map(|&(n, _)| format!("`{}`", name(n)))
        .collect();
    let start_info = model.steps.get(graph.step(start))?;
    let mut diagnostic = Diagnostic::new(
        Code::E0103,
        format!("the ordering has a cycle: {}", names.join(" -> ")),
        start_info.step.name.span,
        "the cycle starts here",
    )
    .help("a step cannot run after itself: remove one of these `after` edges or references");
    for pair in path.windows(2) {
        if let [(from, _), (to, span)] = pair {
            diagnostic = diagnostic.label(
                *span,
                format!(
                    "`{}` runs after `{}` because of this",
                    name(*to),
                    name(*from)
                ),
            );
        }
    }
    Some(diagnostic)
}

/// E0203 and E0209.
pub(crate) fn approvals(
    model: &Model<'_>,
    resolution: &Resolution<'_>,
    graph: &StepGraph,
    acyclic: bool,
    out: &mut Vec<Diagnostic>,
) {
    let mut confirms_by: HashMap<&str, Vec<NodeIndex>> = HashMap::default();
    for (id, info) in model.steps.iter().enumerate() {
        if let (StepKind::Confirm, Some((role, _)), Some(node)) =
            (info.kind(), info.clauses.by, graph.node(id))
        {
            confirms_by.entry(role.as_str()).or_default().push(node);
        }
    }
    // A confirm whose role did not resolve (E0101) may have been meant for any role: it counts
    // for all, so a typo in `by` is reported once, not again as E0203 on every write after it.
    let wildcards: Vec<NodeIndex> = model
        .steps
        .iter()
        .enumerate()
        .filter(|(_, info)| {
            info.kind() == StepKind::Confirm
                && info
                    .clauses
                    .by
                    .is_some_and(|(role, _)| !model.roles.contains_key(role.as_str()))
        })
        .filter_map(|(id, _)| graph.node(id))
        .collect();
    for (role, confirms) in confirms_by.iter_mut() {
        if model.roles.contains_key(role) {
            confirms.extend(&wildcards);
        }
    }
    // Steps after a broken ordering edge (an unknown step in `after` or a reference) have an
    // unknown set of ancestors: no ancestry rule is judged on them.
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
    let topo = if acyclic {
        topological_positions(graph)
    } else {
        None
    };
    let mut facts: HashMap<&str, RoleFacts> = HashMap::default();
    for (id, info) in model.steps.iter().enumerate() {
        if info.kind() != StepKind::Execute {
            continue;
        }
        let (Some((role, _)), Some(node)) = (info.clauses.approver, graph.node(id)) else {
            continue;
        };
        let unknown_role = !model.roles.contains_key(role.as_str());
        if unknown_role || uncertain.get(node.index()).copied().unwrap_or(true) {
            continue; // E0101 already said what is wrong here
        }
        let confirms = confirms_by
            .get(role.as_str())
            .map_or(&wildcards[..], Vec::as_slice);
        let role_facts = facts
            .entry(role.as_str())
            .or_insert_with(|| RoleFacts::new(graph, confirms));
        if !role_facts
            .reached
            .get(node.index())
            .copied()
            .unwrap_or(false)
        {
            out.push(not_confirmed(model, graph, id, role, confirms));
            continue;
        }
        let Some(topo) = &topo else { continue };
        let cx = Seen {
            model,
            graph,
            topo,
            confirms,
            is_confirm: &role_facts.is_confirm,
            execute: node,
        };
        for &(source, reference) in resolution.action_sources.get(id).into_iter().flatten() {
            if source != id && !cx.seen_by_confirmer(source) {
                out.push(cx.unseen(id, role, source, reference));
            }
        }
    }
}

/// What the graph rules need to know of one approver role, computed once per role.
struct RoleFacts {
    /// `is_confirm[n]`: node `n` is a confirm by the role.
    is_confirm: Vec<bool>,
    /// `reached[n]`: some confirm by the role is an ancestor of node `n`.
    reached: Vec<bool>,
}

impl RoleFacts {
    fn new(graph: &StepGraph, confirms: &[NodeIndex]) -> RoleFacts {
        let mut is_confirm = vec![false; graph.graph.node_count()];
        for confirm in confirms {
            if let Some(flag) = is_confirm.get_mut(confirm.index()) {
                *flag = true;
            }
        }
        RoleFacts {
            is_confirm,
            reached: reachable_from(graph, confirms),
        }
    }
}

/// `result[n]`: some path of at least one edge leads from one of `sources` to node `n`.
fn reachable_from(graph: &StepGraph, sources: &[NodeIndex]) -> Vec<bool> {
    let mut reached = vec![false; graph.graph.node_count()];
    let mut queue: VecDeque<NodeIndex> = sources.iter().copied().collect();
    while let Some(node) = queue.pop_front() {
        for next in graph.graph.neighbors_directed(node, Direction::Outgoing) {
            if let Some(flag) = reached.get_mut(next.index())
                && !*flag
            {
                *flag = true;
                queue.push_back(next);
            }
        }
    }
    reached
}

fn topological_positions(graph: &StepGraph) -> Option<Vec<usize>> {
    let order = toposort(&graph.graph, None).ok()?;
    let mut position = vec![0; graph.graph.node_count()];
    for (i, node) in order.into_iter().enumerate() {
        *position.get_mut(node.index())? = i;
    }
    Some(position)
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

/// What E0209 needs to judge the values of one execute step.
struct Seen<'a, 'w> {
    model: &'a Model<'w>,
    graph: &'a StepGraph,
    topo: &'a [usize],
    confirms: &'a [NodeIndex],
    /// `is_confirm[n]`: node `n` is a confirm by the approver role.
    is_confirm: &'a [bool],
    execute: NodeIndex,
}

impl Seen<'_, '_> {
    /// Whether some confirm by the approver role comes after `source` and before the execute.
    ///
    /// One breadth-first search over (step, passed a confirm by the role) states, from
    /// `source`, through steps ordered before the execute only: the window between the two,
    /// not the whole graph downstream of `source`.
    fn seen_by_confirmer(&self, source: StepId) -> bool {
        let Some(start) = self.graph.node(source) else {
            return false;
        };
        let position = |n: NodeIndex| self.topo.get(n.index()).copied().unwrap_or(usize::MAX);
        let limit = position(self.execute);
        let mut visited: HashSet<(NodeIndex, bool)> = [(start, false)].into_iter().collect();
        let mut queue = VecDeque::from([(start, false)]);
        while let Some((node, passed)) = queue.pop_front() {
            for next in self
                .graph
                .graph
                .neighbors_directed(node, Direction::Outgoing)
            {
                if next == self.execute {
                    if passed {
                        return true;
                    }
                    continue;
                }
                if position(next) >= limit {
                    continue;
                }
                let is_confirm = self.is_confirm.get(next.index()).copied().unwrap_or(false);
                let state = (next, passed || is_confirm);
                if visited.insert(state) {
                    queue.push_back(state);
                }
            }
        }
        false
    }

    /// Whether one of `from` leads to `target`, searching only nodes ordered before `limit`.
    fn reaches(&self, from: &[NodeIndex], target: NodeIndex, limit: usize) -> bool {
        let mut visited: HashSet<NodeIndex> = from.iter().copied().collect();
        let mut queue: VecDeque<NodeIndex> = from.iter().copied().collect();
        while let Some(node) = queue.pop_front() {
            for next in self
                .graph
                .graph
                .neighbors_directed(node, Direction::Outgoing)
            {
                if next == target {
                    return true;
                }
                let before = self.topo.get(next.index()).is_some_and(|&p| p < limit);
                if before && visited.insert(next) {
                    queue.push_back(next);
                }
            }
        }
        false
    }

    fn unseen(
        &self,
        id: StepId,
        role: &Ident,
        source: StepId,
        reference: &Reference,
    ) -> Diagnostic {
        let name = self.model.steps.get(id).map_or("?", |s| s.name());
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
        diagnostic.help(self.unseen_help(name, role, source, reference))
    }

    /// How to fix E0209: order the source before an existing confirm when that makes no cycle,
    /// otherwise add a confirm after the source.
    fn unseen_help(
        &self,
        name: &str,
        role: &Ident,
        source: StepId,
        reference: &Reference,
    ) -> String {
        let source_name = self.model.steps.get(source).map_or("?", |s| s.name());
        let source_node = self.graph.node(source);
        let limit = source_node
            .and_then(|n| self.topo.get(n.index()).copied())
            .unwrap_or(0);
        // Only the first few confirms are tried: this runs per error, and must stay cheap.
        let orderable = self.confirms.iter().take(8).find(|&&confirm| {
            // Putting the source before this confirm is a cycle if the confirm leads to it.
            source_node.is_some_and(|s| !self.reaches(&[confirm], s, limit))
                && self.reaches(
                    &[confirm],
                    self.execute,
                    self.topo.get(self.execute.index()).copied().unwrap_or(0),
                )
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
}
