//! The step graph, its cycles (E0103), and the searches the ancestry rules
//! ([`super::approvals`]) use.
//!
//! Nodes are the forward steps (recommend, confirm, execute); rollbacks are not part of the
//! forward order. Every algorithm here is iterative (a 100,000-step chain must not overflow
//! the stack): cycles by Kosaraju's SCC, topological positions by Kahn's algorithm; the latest
//! confirms above a write are [`super::latest`]'s.

use std::collections::VecDeque;

use crate::hash::{HashMap, HashSet};

use petgraph::Direction;
use petgraph::algo::kosaraju_scc;
use petgraph::graph::{DiGraph, NodeIndex};
use petgraph::visit::EdgeRef;

use super::model::{Model, StepId};
use super::names::Edge;
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

    pub(crate) fn step(&self, node: NodeIndex) -> StepId {
        self.graph.node_weight(node).copied().unwrap_or(usize::MAX)
    }
}

/// Visited marks for repeated searches over one graph, cleared in O(1) by starting an epoch.
pub(crate) struct Marks {
    stamp: Vec<u32>,
    epoch: u32,
}

impl Marks {
    pub(crate) fn new(nodes: usize) -> Marks {
        Marks {
            stamp: vec![0; nodes],
            epoch: 1,
        }
    }

    pub(crate) fn clear(&mut self) {
        if self.epoch == u32::MAX {
            self.stamp.fill(0);
            self.epoch = 0;
        }
        self.epoch += 1;
    }

    pub(crate) fn contains(&self, node: NodeIndex) -> bool {
        self.stamp.get(node.index()) == Some(&self.epoch)
    }

    /// Marks `node`; false when it was already marked in this epoch (or is not in the graph).
    pub(crate) fn insert(&mut self, node: NodeIndex) -> bool {
        match self.stamp.get_mut(node.index()) {
            Some(stamp) if *stamp != self.epoch => {
                *stamp = self.epoch;
                true
            }
            _ => false,
        }
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

/// Reports every cycle (E0103).
pub(crate) fn cycles(model: &Model<'_>, graph: &StepGraph, out: &mut Vec<Diagnostic>) {
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

/// `result[n]`: some path of at least one edge leads from one of `sources` to node `n`.
pub(crate) fn reachable_from(graph: &StepGraph, sources: &[NodeIndex]) -> Vec<bool> {
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

/// A node's place in a topological order of the graph, or [`UNORDERED`] for a node on a cycle
/// or after one: Kahn's algorithm places a node once all its predecessors are placed, which
/// never happens there. The rest of the graph is ordered as if the cycles were not there.
pub(crate) fn topological_positions(graph: &StepGraph) -> Vec<usize> {
    let g = &graph.graph;
    let mut waiting = vec![0usize; g.node_count()];
    for edge in g.edge_references() {
        if let Some(count) = waiting.get_mut(edge.target().index()) {
            *count += 1;
        }
    }
    let mut queue: VecDeque<NodeIndex> = g
        .node_indices()
        .filter(|n| waiting.get(n.index()) == Some(&0))
        .collect();
    let mut position = vec![UNORDERED; g.node_count()];
    let mut next = 0;
    while let Some(node) = queue.pop_front() {
        if let Some(slot) = position.get_mut(node.index()) {
            *slot = next;
            next += 1;
        }
        for successor in g.neighbors_directed(node, Direction::Outgoing) {
            if let Some(count) = waiting.get_mut(successor.index()) {
                *count = count.saturating_sub(1);
                if *count == 0 {
                    queue.push_back(successor);
                }
            }
        }
    }
    position
}

/// The position of a node on or after a cycle.
pub(crate) const UNORDERED: usize = usize::MAX;
