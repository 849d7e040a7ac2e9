//! The binding rule: the confirms that bind a write are the **latest** ones. Among the confirms
//! by a write's approver role that are ancestors of the execute, those that are not an ancestor
//! of another one of them (the maximal elements of that set under "runs before").
//!
//! Plan (`confirmed_by`), runtime (which decisions gate a write) and checker (E0203: the set is
//! empty; E0209: a value must come from an ancestor of one of them) all read this one answer,
//! computed here once per checked workflow. The earlier confirms are not dropped: each is an
//! ancestor of a latest one, so it has been decided before the latest one is even asked.
//!
//! Cost: one sweep per approver role, over a window only: the steps reachable from the role's
//! confirms whose topological position is at most that of the role's last write (no other step
//! can lie between one of its confirms and one of its writes). Each step passes on the latest
//! confirms above it, shared (`Rc`) when it has one source of them; where several meet, the
//! ones behind another are dropped by a search through the confirms' own latest-above lists
//! that stops below the lowest candidate, so a chain of confirms costs O(1) per step.

use std::cmp::Reverse;
use std::rc::Rc;

use crate::hash::{HashMap, HashSet};

use petgraph::Direction;
use petgraph::graph::NodeIndex;

use super::graph::{Marks, StepGraph, UNORDERED};

/// The latest confirms above one node, sorted by node index.
pub(crate) type Latest = Rc<[NodeIndex]>;

/// What the sweeps of every role share: the graph, its topological positions, scratch marks.
pub(crate) struct Sweep<'a> {
    graph: &'a StepGraph,
    position: &'a [usize],
    marks: &'a mut Marks,
}

impl<'a> Sweep<'a> {
    pub(crate) fn new(graph: &'a StepGraph, position: &'a [usize], marks: &'a mut Marks) -> Self {
        Sweep {
            graph,
            position,
            marks,
        }
    }

    fn place(&self, node: NodeIndex) -> usize {
        self.position
            .get(node.index())
            .copied()
            .unwrap_or(UNORDERED)
    }

    /// The latest of `confirms` above each of `writes`. A write with no confirm above it, or on
    /// or after a cycle (no topological position), has no entry.
    pub(crate) fn latest(
        &mut self,
        confirms: &[NodeIndex],
        writes: &[NodeIndex],
    ) -> HashMap<NodeIndex, Latest> {
        let mut found = HashMap::default();
        let Some(limit) = writes
            .iter()
            .map(|&w| self.place(w))
            .filter(|&p| p != UNORDERED)
            .max()
        else {
            return found;
        };
        let is_confirm: HashSet<NodeIndex> = confirms
            .iter()
            .copied()
            .filter(|&c| self.place(c) < limit)
            .collect();
        let wanted: HashSet<NodeIndex> = writes.iter().copied().collect();
        let region = self.window(&is_confirm, limit);
        let empty: Latest = Rc::from([]);
        // What each step passes on: itself for a confirm, else the latest confirms above it.
        let mut carry: HashMap<NodeIndex, Latest> = HashMap::default();
        // Per confirm, the latest confirms strictly above it (the order among confirms).
        let mut above: HashMap<NodeIndex, Latest> = HashMap::default();
        for node in region {
            let latest = self.join(node, &carry, &above, &empty);
            if is_confirm.contains(&node) {
                above.insert(node, latest);
                carry.insert(node, Rc::from([node]));
            } else {
                if wanted.contains(&node) && !latest.is_empty() {
                    found.insert(node, Rc::clone(&latest));
                }
                if !latest.is_empty() {
                    carry.insert(node, latest);
                }
            }
        }
        found
    }

    /// The steps reachable from `confirms` (and they) placed at most at `limit`, in
    /// topological order.
    fn window(&mut self, confirms: &HashSet<NodeIndex>, limit: usize) -> Vec<NodeIndex> {
        self.marks.clear();
        let mut region: Vec<NodeIndex> = Vec::with_capacity(confirms.len());
        for &confirm in confirms {
            if self.marks.insert(confirm) {
                region.push(confirm);
            }
        }
        let mut next = 0;
        while let Some(&node) = region.get(next) {
            next += 1;
            for successor in self
                .graph
                .graph
                .neighbors_directed(node, Direction::Outgoing)
            {
                if self.place(successor) <= limit && self.marks.insert(successor) {
                    region.push(successor);
                }
            }
        }
        region.sort_unstable_by_key(|&n| self.place(n));
        region
    }

    /// The latest confirms above `node`: the latest of what its predecessors pass on.
    fn join(
        &mut self,
        node: NodeIndex,
        carry: &HashMap<NodeIndex, Latest>,
        above: &HashMap<NodeIndex, Latest>,
        empty: &Latest,
    ) -> Latest {
        let mut parts: Vec<&Latest> = self
            .graph
            .graph
            .neighbors_directed(node, Direction::Incoming)
            .filter_map(|p| carry.get(&p))
            .collect();
        let Some(&first) = parts.first() else {
            return Rc::clone(empty);
        };
        // One source (or the same list from every side): already an antichain.
        if parts.iter().all(|part| Rc::ptr_eq(part, first)) {
            return Rc::clone(first);
        }
        parts.sort_unstable_by_key(|part| Rc::as_ptr(part).cast::<NodeIndex>());
        parts.dedup_by(|a, b| Rc::ptr_eq(a, b));
        let candidates: Vec<NodeIndex> =
            parts.iter().flat_map(|part| part.iter().copied()).collect();
        self.maximal(candidates, above)
    }

    /// The candidates that are not an ancestor of another candidate. From the latest down, each
    /// kept confirm marks what lies above it (through `above`, never below the lowest
    /// candidate); a marked candidate is behind a kept one.
    fn maximal(
        &mut self,
        mut candidates: Vec<NodeIndex>,
        above: &HashMap<NodeIndex, Latest>,
    ) -> Latest {
        candidates.sort_unstable_by_key(|&n| Reverse(self.place(n)));
        candidates.dedup();
        let floor = candidates.last().map_or(0, |&n| self.place(n));
        self.marks.clear();
        let mut kept = Vec::new();
        let mut stack = Vec::new();
        for candidate in candidates {
            if self.marks.contains(candidate) {
                continue;
            }
            kept.push(candidate);
            stack.push(candidate);
            while let Some(at) = stack.pop() {
                for &higher in above.get(&at).into_iter().flat_map(|list| list.iter()) {
                    if self.place(higher) >= floor && self.marks.insert(higher) {
                        stack.push(higher);
                    }
                }
            }
        }
        kept.sort_unstable();
        kept.into()
    }
}

#[cfg(test)]
mod tests {
    use crate::check::check_source;

    /// The names of the confirms that bind `execute` in `source` (which must check clean).
    fn binding(source: &str, execute: &str) -> Vec<String> {
        let checked = check_source(source);
        let workflow = checked.workflow.expect("the workflow checks clean");
        let graph = workflow.graph();
        // Node weights index the steps in declaration order.
        let steps: Vec<String> = workflow
            .workflow()
            .items
            .iter()
            .filter_map(|item| match item {
                crate::syntax::ast::Item::Step(step) => Some(step.name.as_str().to_owned()),
                _ => None,
            })
            .collect();
        let name = |node| steps[graph.step(node)].clone();
        let node = graph
            .graph
            .node_indices()
            .find(|&n| name(n) == execute)
            .expect("the execute is a node");
        let mut names: Vec<String> = workflow.binding(node).iter().map(|&n| name(n)).collect();
        names.sort();
        names
    }

    const HEAD: &str = "workflow w { owner r role r system db: sqlite outside input id: int
      recommend a { run exec \"x\" [] yields v: text }";
    const TAIL: &str = "rollback u undoes e { repair by r run sql \"UPDATE t SET a = 1\" } }";

    #[test]
    fn an_earlier_confirm_with_a_path_around_the_latest_does_not_bind() {
        // c1 -> b -> c2 -> e, and b -> e through the value: c1 reaches e around c2.
        let source = format!(
            "{HEAD}
            confirm c1 {{ after a by r shows a.v expires 1h -> reject }}
            recommend b {{ after c1 run exec \"x\" [] yields v: text }}
            confirm c2 {{ after b by r shows b.v expires 1h -> reject }}
            execute e {{ after c2 writes db risk medium approver r run sql \"UPDATE t SET a = :b.v\" }}
            {TAIL}"
        );
        assert_eq!(binding(&source, "e"), ["c2"]);
    }

    #[test]
    fn confirms_side_by_side_all_bind_and_the_ones_behind_them_do_not() {
        // c0 above both c1 and c2; c1 and c2 side by side; e after all three.
        let source = format!(
            "{HEAD}
            confirm c0 {{ after a by r shows a.v expires 1h -> reject }}
            confirm c1 {{ after c0 by r shows a.v expires 1h -> reject }}
            confirm c2 {{ after c0 by r shows a.v expires 1h -> reject }}
            execute e {{ after c0, c1, c2 writes db risk medium approver r run sql \"UPDATE t SET a = :a.v\" }}
            {TAIL}"
        );
        assert_eq!(binding(&source, "e"), ["c1", "c2"]);
    }
}
