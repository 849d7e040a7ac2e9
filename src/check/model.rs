//! The symbol tables every rule reads: steps, roles, systems, inputs and each step's clauses,
//! indexed once. Building them reports the duplicate-name rule (E0102) and clause repetition
//! (E0104), since those are found exactly while indexing.

use super::hash::HashMap;

use crate::diagnostics::{Code, Diagnostic};
use crate::syntax::ast::*;

/// Index of a step in declaration order.
pub(crate) type StepId = usize;

/// Names that would make references ambiguous: `before.x` and the boolean literals.
const RESERVED: [&str; 3] = ["before", "true", "false"];

pub(crate) struct Model<'w> {
    pub workflow: &'w Workflow,
    pub steps: Vec<StepInfo<'w>>,
    pub step_ids: HashMap<&'w str, StepId>,
    pub roles: HashMap<&'w str, &'w Ident>,
    pub systems: HashMap<&'w str, &'w System>,
    pub inputs: HashMap<&'w str, &'w Input>,
    pub owner: Option<&'w Ident>,
    /// Every `role` name in declaration order (for W0304 and suggestions).
    pub role_list: Vec<&'w Ident>,
    pub system_list: Vec<&'w System>,
    pub input_list: Vec<&'w Input>,
}

pub(crate) struct StepInfo<'w> {
    pub step: &'w Step,
    pub clauses: Clauses<'w>,
}

impl StepInfo<'_> {
    pub fn kind(&self) -> StepKind {
        self.step.kind.value
    }

    pub fn name(&self) -> &str {
        &self.step.name.name
    }
}

/// The first occurrence of each clause of a step (a repeated clause is E0104 and ignored).
#[derive(Default)]
pub(crate) struct Clauses<'w> {
    pub after: Option<(&'w [Ident], Span)>,
    pub reads: Option<(&'w [Ident], Span)>,
    pub writes: Option<(&'w Ident, Span)>,
    pub run: Option<(&'w Action, Span)>,
    pub yields: Option<(&'w [Field], Span)>,
    pub by: Option<(&'w Ident, Span)>,
    pub shows: Option<(&'w [Reference], Span)>,
    pub expires: Option<(&'w Expiry, Span)>,
    pub risk: Option<(Word<Risk>, Span)>,
    pub approver: Option<(&'w Ident, Span)>,
    pub auto: Option<(&'w AutoGate, Span)>,
    pub capture: Option<(&'w SqlText, Span)>,
    pub verify: Option<(&'w Action, Span)>,
    pub repair: Option<(&'w Ident, Span)>,
}

impl<'w> Clauses<'w> {
    /// Stores `clause` unless one of its kind is already stored; returns the earlier span then.
    fn insert(&mut self, clause: &'w Clause) -> Option<Span> {
        fn put<T>(slot: &mut Option<(T, Span)>, value: T, span: Span) -> Option<Span> {
            match slot {
                Some((_, first)) => Some(*first),
                None => {
                    *slot = Some((value, span));
                    None
                }
            }
        }
        let span = clause.span;
        match &clause.kind {
            ClauseKind::After(list) => put(&mut self.after, list.as_slice(), span),
            ClauseKind::Reads(list) => put(&mut self.reads, list.as_slice(), span),
            ClauseKind::Writes(system) => put(&mut self.writes, system, span),
            ClauseKind::Run(action) => put(&mut self.run, action, span),
            ClauseKind::Yields(fields) => put(&mut self.yields, fields.as_slice(), span),
            ClauseKind::By(role) => put(&mut self.by, role, span),
            ClauseKind::Shows(refs) => put(&mut self.shows, refs.as_slice(), span),
            ClauseKind::Expires(expiry) => put(&mut self.expires, expiry, span),
            ClauseKind::Risk(risk) => put(&mut self.risk, *risk, span),
            ClauseKind::Approver(role) => put(&mut self.approver, role, span),
            ClauseKind::Auto(gate) => put(&mut self.auto, gate, span),
            ClauseKind::Capture(sql) => put(&mut self.capture, sql, span),
            ClauseKind::Verify(action) => put(&mut self.verify, action, span),
            ClauseKind::RepairBy(role) => put(&mut self.repair, role, span),
        }
    }

    pub fn field(&self, name: &str) -> Option<&'w Field> {
        self.yields?.0.iter().find(|f| f.name.name == name)
    }
}

/// Indexes the workflow, reporting duplicates (E0102) and repeated clauses (E0104).
pub(crate) fn build<'w>(workflow: &'w Workflow, out: &mut Vec<Diagnostic>) -> Model<'w> {
    let mut model = Model {
        workflow,
        steps: Vec::new(),
        step_ids: HashMap::default(),
        roles: HashMap::default(),
        systems: HashMap::default(),
        inputs: HashMap::default(),
        owner: None,
        role_list: Vec::new(),
        system_list: Vec::new(),
        input_list: Vec::new(),
    };
    let mut singles: HashMap<&'static str, Span> = HashMap::default();
    for item in &workflow.items {
        match item {
            Item::Title(text) => single(&mut singles, "title", text.span, out),
            Item::Description(text) => single(&mut singles, "description", text.span, out),
            Item::Owner(role) => {
                single(&mut singles, "owner", role.span, out);
                model.owner.get_or_insert(role);
            }
            Item::Roles(roles) => {
                for role in roles {
                    if define(&mut model.roles, role, role, "role", out) {
                        model.role_list.push(role);
                    }
                }
            }
            Item::System(system) => {
                reserved(&system.name, "system", out);
                if define(&mut model.systems, &system.name, system, "system", out) {
                    model.system_list.push(system);
                }
            }
            Item::Input(input) => {
                reserved(&input.name, "input", out);
                if define(&mut model.inputs, &input.name, input, "input", out) {
                    model.input_list.push(input);
                }
            }
            Item::Step(step) => add_step(&mut model, step, out),
        }
    }
    model
}

fn add_step<'w>(model: &mut Model<'w>, step: &'w Step, out: &mut Vec<Diagnostic>) {
    reserved(&step.name, "step", out);
    let id = model.steps.len();
    if let Some(&first) = model.step_ids.get(step.name.as_str()) {
        let first_span = model
            .steps
            .get(first)
            .map_or(step.name.span, |s| s.step.name.span);
        out.push(duplicate("step", &step.name, first_span));
    } else {
        model.step_ids.insert(&step.name.name, id);
    }
    let mut clauses = Clauses::default();
    for clause in &step.clauses {
        if let Some(first) = clauses.insert(clause) {
            let keyword = clause.kind.keyword();
            out.push(
                Diagnostic::new(
                    Code::E0104,
                    format!("`{keyword}` given twice in step `{}`", step.name.name),
                    clause.span,
                    "second `".to_owned() + keyword + "` here",
                )
                .label(first, "first given here")
                .help(format!("each clause appears at most once; put every item in one `{keyword}` clause, separated by commas")),
            );
        }
    }
    fields_unique(&clauses, out);
    json_keys_unique(step, out);
    model.steps.push(StepInfo { step, clauses });
}

fn fields_unique(clauses: &Clauses<'_>, out: &mut Vec<Diagnostic>) {
    let Some((fields, _)) = clauses.yields else {
        return;
    };
    let mut seen: HashMap<&str, Span> = HashMap::default();
    for field in fields {
        if let Some(&first) = seen.get(field.name.as_str()) {
            out.push(duplicate("output field", &field.name, first));
        } else {
            seen.insert(&field.name.name, field.name.span);
        }
    }
}

/// A JSON body names each key once: a repeated key would make one value silently win.
fn json_keys_unique(step: &Step, out: &mut Vec<Diagnostic>) {
    for clause in &step.clauses {
        let (ClauseKind::Run(Action::Http(http)) | ClauseKind::Verify(Action::Http(http))) =
            &clause.kind
        else {
            continue;
        };
        let mut seen: HashMap<&str, Span> = HashMap::default();
        for entry in http.body.iter().flatten() {
            if let Some(&first) = seen.get(entry.key.as_str()) {
                out.push(duplicate("JSON key", &entry.key, first));
            } else {
                seen.insert(&entry.key.name, entry.key.span);
            }
        }
    }
}

/// Inserts a definition; reports E0102 and returns false when the name is already defined.
fn define<'w, T>(
    table: &mut HashMap<&'w str, &'w T>,
    name: &'w Ident,
    value: &'w T,
    what: &str,
    out: &mut Vec<Diagnostic>,
) -> bool
where
    T: Spanned,
{
    if let Some(first) = table.get(name.as_str()) {
        out.push(duplicate(what, name, first.name_span()));
        return false;
    }
    table.insert(&name.name, value);
    true
}

pub(crate) trait Spanned {
    fn name_span(&self) -> Span;
}

impl Spanned for Ident {
    fn name_span(&self) -> Span {
        self.span
    }
}

impl Spanned for System {
    fn name_span(&self) -> Span {
        self.name.span
    }
}

impl Spanned for Input {
    fn name_span(&self) -> Span {
        self.name.span
    }
}

fn duplicate(what: &str, name: &Ident, first: Span) -> Diagnostic {
    Diagnostic::new(
        Code::E0102,
        format!("{what} `{}` is defined twice", name.name),
        name.span,
        "defined again here",
    )
    .label(first, "first defined here")
    .help(format!(
        "rename one of them or remove the second definition of `{}`",
        name.name
    ))
}

fn single(
    seen: &mut HashMap<&'static str, Span>,
    what: &'static str,
    span: Span,
    out: &mut Vec<Diagnostic>,
) {
    if let Some(&first) = seen.get(what) {
        out.push(
            Diagnostic::new(
                Code::E0102,
                format!("`{what}` is given twice"),
                span,
                "given again here",
            )
            .label(first, "first given here")
            .help(format!(
                "a workflow has one `{what}`; keep one and remove the other"
            )),
        );
    } else {
        seen.insert(what, span);
    }
}

fn reserved(name: &Ident, what: &str, out: &mut Vec<Diagnostic>) {
    if RESERVED.contains(&name.as_str()) {
        out.push(
            Diagnostic::new(
                Code::E0102,
                format!("`{}` cannot name a {what}", name.name),
                name.span,
                "reserved name",
            )
            .help(format!(
                "`before`, `true` and `false` already mean something in references; choose another name, such as `{}_{what}`",
                name.name
            )),
        );
    }
}
