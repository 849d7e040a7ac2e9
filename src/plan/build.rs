//! From a checked workflow to the plan body: the deterministic step order, the edges, each
//! write's safety facts, and every action as the runtime will see it.
//!
//! Everything here is canonical: sets are sorted, and ties in the topological order are broken
//! by step name, never by declaration order, so moving items around in a file changes nothing
//! in the plan (and so nothing in its fingerprint).

use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap};

use petgraph::Direction;
use petgraph::graph::NodeIndex;

use super::model::*;
use crate::check::{CheckedWorkflow, StepGraph};
use crate::hash::HashMap;
use crate::syntax::ast::{self, ClauseKind, Item, LiteralValue, Step, StepKind};

/// The default `min N` of an `auto` gate (docs/runtime.md, "Earned autonomy").
const DEFAULT_MIN_DECISIONS: u64 = 20;

pub(super) fn body(checked: &CheckedWorkflow) -> PlanBody {
    let workflow = checked.workflow();
    let graph = checked.graph();
    let steps: Vec<&Step> = workflow
        .items
        .iter()
        .filter_map(|item| match item {
            Item::Step(step) => Some(step),
            _ => None,
        })
        .collect();
    let mut rollback_of = HashMap::default();
    let mut executes = HashMap::default();
    for step in &steps {
        match (step.kind.value, &step.undoes) {
            (StepKind::Rollback, Some(undone)) => {
                rollback_of.insert(undone.as_str(), *step);
            }
            (StepKind::Execute, _) => {
                executes.insert(step.name.as_str(), *step);
            }
            _ => {}
        }
    }
    let cx = Context {
        checked,
        steps: &steps,
        graph,
        rollback_of,
        executes,
    };
    let order = cx.topological_order();
    let systems = systems(workflow);
    let planned: Vec<(NodeIndex, PlanStep)> = order
        .iter()
        .filter_map(|&node| Some((node, cx.plan_step(node)?)))
        .collect();
    let writes = planned
        .iter()
        .filter_map(|(node, step)| cx.write_facts(*node, step, &systems))
        .collect();
    PlanBody {
        workflow: workflow_info(workflow),
        roles: roles(workflow),
        inputs: inputs(workflow),
        steps: planned.into_iter().map(|(_, step)| step).collect(),
        edges: cx.edges(),
        rollbacks: cx.rollbacks(),
        writes,
        systems,
    }
}

struct Context<'a> {
    checked: &'a CheckedWorkflow,
    /// The steps in declaration order: graph node weights index this.
    steps: &'a [&'a Step],
    graph: &'a StepGraph,
    /// Each execute's rollback, by the execute's name (a checked workflow has exactly one).
    rollback_of: HashMap<&'a str, &'a Step>,
    executes: HashMap<&'a str, &'a Step>,
}

impl<'a> Context<'a> {
    fn step(&self, node: NodeIndex) -> Option<&'a Step> {
        let id = *self.graph.graph.node_weight(node)?;
        self.steps.get(id).copied()
    }

    fn name(&self, node: NodeIndex) -> &'a str {
        self.step(node).map_or("", |s| s.name.as_str())
    }

    fn name_of(&self, node: NodeIndex) -> Name {
        self.step(node)
            .map_or_else(Name::default, |s| s.name.name.clone())
    }

    /// Kahn's algorithm, taking the smallest name among the ready steps each time.
    fn topological_order(&self) -> Vec<NodeIndex> {
        let g = &self.graph.graph;
        let mut waiting: Vec<usize> = g
            .node_indices()
            .map(|n| g.neighbors_directed(n, Direction::Incoming).count())
            .collect();
        let mut ready: BinaryHeap<Reverse<(&str, NodeIndex)>> = g
            .node_indices()
            .filter(|n| waiting.get(n.index()) == Some(&0))
            .map(|n| Reverse((self.name(n), n)))
            .collect();
        let mut order = Vec::with_capacity(g.node_count());
        while let Some(Reverse((_, node))) = ready.pop() {
            order.push(node);
            for next in g.neighbors_directed(node, Direction::Outgoing) {
                if let Some(count) = waiting.get_mut(next.index()) {
                    *count = count.saturating_sub(1);
                    if *count == 0 {
                        ready.push(Reverse((self.name(next), next)));
                    }
                }
            }
        }
        order
    }

    fn plan_step(&self, node: NodeIndex) -> Option<PlanStep> {
        let step = self.step(node)?;
        let mut after: Vec<Name> = self
            .graph
            .graph
            .neighbors_directed(node, Direction::Incoming)
            .map(|n| self.name_of(n))
            .collect();
        after.sort_unstable();
        after.dedup();
        let mut plan = PlanStep {
            name: step.name.name.clone(),
            kind: step.kind.value.as_str(),
            after,
            reads: Vec::new(),
            writes: None,
            run: None,
            yields: Vec::new(),
            by: None,
            quorum: 1,
            shows: Vec::new(),
            expires: None,
            risk: None,
            approver: None,
            auto: None,
            capture: None,
            verify: None,
            allow_no_rows: false,
        };
        for clause in &step.clauses {
            fill(&mut plan, &clause.kind);
        }
        Some(plan)
    }

    fn edges(&self) -> Vec<PlanEdge> {
        let g = &self.graph.graph;
        let mut pairs: Vec<(&str, &str)> = g
            .edge_indices()
            .filter_map(|e| g.edge_endpoints(e))
            .map(|(from, to)| (self.name(from), self.name(to)))
            .collect();
        pairs.sort_unstable();
        pairs.dedup();
        pairs
            .into_iter()
            .map(|(from, to)| PlanEdge {
                from: Name::new(from),
                to: Name::new(to),
            })
            .collect()
    }

    fn rollbacks(&self) -> Vec<PlanRollback> {
        let mut rollbacks: Vec<PlanRollback> = self
            .steps
            .iter()
            .filter(|s| s.kind.value == StepKind::Rollback)
            .filter_map(|step| {
                let undoes = step.undoes.as_ref()?;
                let execute = self.executes.get(undoes.as_str())?;
                Some(PlanRollback {
                    name: step.name.name.clone(),
                    undoes: undoes.name.clone(),
                    writes: Name::new(writes_of(execute)?),
                    run: step.clauses.iter().find_map(|c| match &c.kind {
                        ClauseKind::Run(action) => Some(action_of(action)),
                        _ => None,
                    })?,
                    verify: step.clauses.iter().find_map(|c| match &c.kind {
                        ClauseKind::Verify(action) => Some(action_of(action)),
                        _ => None,
                    }),
                    repair_by: repair_role(step),
                })
            })
            .collect();
        rollbacks.sort_unstable_by(|a, b| a.name.cmp(&b.name));
        rollbacks
    }

    fn write_facts(
        &self,
        node: NodeIndex,
        plan: &PlanStep,
        systems: &[SystemInfo],
    ) -> Option<WriteFacts> {
        let step = self.step(node)?;
        if step.kind.value != StepKind::Execute {
            return None;
        }
        let system_name = plan.writes.clone()?;
        // Systems are sorted by name.
        let system = systems
            .binary_search_by(|s| s.name.as_str().cmp(system_name.as_str()))
            .ok()
            .and_then(|i| systems.get(i))?;
        let approver = plan.approver.clone()?;
        let rollback = self.rollback_of.get(step.name.as_str())?;
        Some(WriteFacts {
            step: plan.name.clone(),
            system: system_name,
            connector: system.connector,
            envelope: system.envelope,
            risk: plan.risk?,
            confirmed_by: self.binding(node),
            approver,
            rollback: rollback.name.name.clone(),
            repair_by: repair_role(rollback),
            before_image: plan.capture.is_some(),
            verified: plan.verify.is_some(),
            auto: plan.auto.clone(),
        })
    }

    /// The confirms that bind the write at `node` (the checker's binding rule), by name.
    fn binding(&self, node: NodeIndex) -> Vec<Name> {
        let mut found: Vec<Name> = self
            .checked
            .binding(node)
            .iter()
            .map(|&n| self.name_of(n))
            .collect();
        found.sort_unstable();
        found.dedup();
        found
    }
}

fn writes_of(step: &Step) -> Option<&str> {
    step.clauses.iter().find_map(|c| match &c.kind {
        ClauseKind::Writes(system) => Some(system.as_str()),
        _ => None,
    })
}

fn repair_role(step: &Step) -> Option<Name> {
    step.clauses.iter().find_map(|c| match &c.kind {
        ClauseKind::RepairBy(role) => Some(role.name.clone()),
        _ => None,
    })
}

/// Copies one clause into the plan step (a checked workflow has each clause at most once).
fn fill(plan: &mut PlanStep, clause: &ClauseKind) {
    let names = |list: &[ast::Ident]| -> Vec<Name> {
        let mut names: Vec<Name> = list.iter().map(|i| i.name.clone()).collect();
        names.sort_unstable();
        names.dedup();
        names
    };
    match clause {
        ClauseKind::After(_) | ClauseKind::RepairBy(_) => {}
        ClauseKind::Reads(systems) => plan.reads = names(systems),
        ClauseKind::Writes(system) => plan.writes = Some(system.name.clone()),
        ClauseKind::Run(action) => plan.run = Some(action_of(action)),
        ClauseKind::Yields(fields) => {
            let mut fields: Vec<PlanField> = fields.iter().map(field_of).collect();
            fields.sort_unstable_by(|a, b| a.name.cmp(&b.name));
            plan.yields = fields;
        }
        ClauseKind::By(role, quorum) => {
            plan.by = Some(role.name.clone());
            plan.quorum = quorum.as_ref().map_or(1, |q| q.value);
        }
        ClauseKind::Shows(refs) => plan.shows = refs.iter().map(ToString::to_string).collect(),
        ClauseKind::Expires(expiry) => plan.expires = Some(expiry_of(expiry)),
        ClauseKind::Risk(risk) => plan.risk = Some(risk.value.as_str()),
        ClauseKind::Approver(role) => plan.approver = Some(role.name.clone()),
        ClauseKind::Auto(gate) => plan.auto = Some(auto_of(gate)),
        ClauseKind::Capture(sql) => plan.capture = Some(sql_of(sql)),
        ClauseKind::Verify(action) => plan.verify = Some(action_of(action)),
        ClauseKind::AllowNoRows => plan.allow_no_rows = true,
    }
}

fn field_of(field: &ast::Field) -> PlanField {
    PlanField {
        name: field.name.name.clone(),
        ty: field.ty.value.as_str(),
        allowed: field
            .allowed
            .as_ref()
            .map(|list| list.iter().map(|l| literal(&l.value)).collect()),
    }
}

fn expiry_of(expiry: &ast::Expiry) -> PlanExpiry {
    let (outcome, escalate_to) = match &expiry.outcome {
        ast::ExpiryOutcome::Reject => ("reject", None),
        ast::ExpiryOutcome::Escalate(role) => ("escalate", Some(role.name.clone())),
    };
    PlanExpiry {
        seconds: expiry.after.seconds(),
        written: duration_text(&expiry.after),
        outcome,
        escalate_to,
    }
}

fn auto_of(gate: &ast::AutoGate) -> PlanAuto {
    PlanAuto {
        acceptance_basis_points: gate.acceptance.basis_points,
        over_seconds: gate.over.seconds(),
        over_written: duration_text(&gate.over),
        min_decisions: gate.min.map_or(DEFAULT_MIN_DECISIONS, |m| m.value),
        no_critical: gate.no_critical.is_some(),
        review_written: gate.review.map(|r| r.basis_points),
    }
}

pub(super) fn duration_text(duration: &ast::Duration) -> String {
    format!("{}{}", duration.amount, duration.unit)
}

fn sql_of(sql: &ast::SqlText) -> PlanAction {
    PlanAction::Sqlite {
        sql: sql.text.value.clone(),
        references: sql.references.iter().map(ToString::to_string).collect(),
    }
}

fn action_of(action: &ast::Action) -> PlanAction {
    match action {
        ast::Action::Sql(sql) => sql_of(sql),
        ast::Action::Exec(exec) => PlanAction::Exec {
            program: exec.program.value.clone(),
            args: exec.args.iter().map(value_of).collect(),
        },
        ast::Action::Http(http) => PlanAction::Http {
            method: http.method.value.as_str(),
            url: http.url.value.clone(),
            references: http
                .url_references
                .iter()
                .map(ToString::to_string)
                .collect(),
            body: http.body.as_ref().map(|entries| {
                entries
                    .iter()
                    .map(|e| (e.key.name.to_string(), value_of(&e.value)))
                    .collect::<BTreeMap<_, _>>()
            }),
        },
    }
}

fn value_of(value: &ast::Value) -> PlanValue {
    match value {
        ast::Value::Literal(l) => PlanValue::Literal(literal(&l.value)),
        ast::Value::Reference(r) => PlanValue::Reference {
            reference: r.to_string(),
        },
    }
}

/// A literal as JSON. A number with a fraction becomes a JSON number (`1.50` and `1.5` are the
/// same value, and the same plan).
pub(super) fn literal(value: &LiteralValue) -> serde_json::Value {
    match value {
        LiteralValue::Text(text) => serde_json::Value::String(text.clone()),
        LiteralValue::Int(int) => serde_json::Value::from(*int),
        LiteralValue::Bool(b) => serde_json::Value::Bool(*b),
        LiteralValue::Number(text) => text
            .parse::<f64>()
            .ok()
            .and_then(serde_json::Number::from_f64)
            .map_or_else(
                || serde_json::Value::String(text.clone()),
                serde_json::Value::Number,
            ),
    }
}

fn workflow_info(workflow: &ast::Workflow) -> WorkflowInfo {
    let mut info = WorkflowInfo {
        name: workflow.name.name.clone(),
        title: None,
        description: None,
        owner: Name::default(),
    };
    for item in &workflow.items {
        match item {
            Item::Title(text) => info.title = Some(text.value.clone()),
            Item::Description(text) => info.description = Some(text.value.clone()),
            Item::Owner(role) => info.owner = role.name.clone(),
            _ => {}
        }
    }
    info
}

fn roles(workflow: &ast::Workflow) -> Vec<Name> {
    let mut roles: Vec<Name> = workflow
        .items
        .iter()
        .filter_map(|item| match item {
            Item::Roles(roles) => Some(roles.iter().map(|r| r.name.clone())),
            _ => None,
        })
        .flatten()
        .collect();
    roles.sort_unstable();
    roles.dedup();
    roles
}

fn systems(workflow: &ast::Workflow) -> Vec<SystemInfo> {
    let mut systems: Vec<SystemInfo> = workflow
        .items
        .iter()
        .filter_map(|item| match item {
            Item::System(system) => Some(SystemInfo {
                name: system.name.name.clone(),
                connector: system.connector.value.as_str(),
                envelope: system.envelope.value.as_str(),
            }),
            _ => None,
        })
        .collect();
    systems.sort_unstable_by(|a, b| a.name.cmp(&b.name));
    systems
}

fn inputs(workflow: &ast::Workflow) -> Vec<InputInfo> {
    let mut inputs: Vec<InputInfo> = workflow
        .items
        .iter()
        .filter_map(|item| match item {
            Item::Input(input) => Some(InputInfo {
                name: input.name.name.clone(),
                ty: input.ty.value.as_str(),
                default: input.default.as_ref().map(|d| literal(&d.value)),
            }),
            _ => None,
        })
        .collect();
    inputs.sort_unstable_by(|a, b| a.name.cmp(&b.name));
    inputs
}
