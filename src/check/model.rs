//! The symbol tables every rule reads: steps, roles, systems, inputs and each step's clauses,
//! indexed once. Building them reports the duplicate-name rule (E0102) and clause repetition
//! (E0104), since those are found exactly while indexing.

use crate::hash::{HashMap, HashSet};

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
    /// Step names defined more than once (E0102): rules that look steps up by name stay quiet
    /// about them, since which definition was meant is not known.
    pub duplicate_steps: HashSet<&'w str>,
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

/// The items of a list clause (`after`, `reads`, `yields`, `shows`), from every occurrence: a
/// repeated list clause is E0104, but its items still resolve and feed the rules, so the one
/// mistake is not reported again as unknown fields or unfit actions.
pub(crate) struct List<'w, T> {
    first: Option<(&'w [T], Span)>,
    /// The lists of repeated clauses; empty (no allocation) in a well-formed step.
    rest: Vec<&'w [T]>,
}

impl<T> Default for List<'_, T> {
    fn default() -> Self {
        List {
            first: None,
            rest: Vec::new(),
        }
    }
}

impl<'w, T> List<'w, T> {
    pub fn is_given(&self) -> bool {
        self.first.is_some()
    }

    /// Every item, in source order.
    pub fn iter(&self) -> impl Iterator<Item = &'w T> + '_ {
        let first = self.first.map_or(&[][..], |(items, _)| items);
        first
            .iter()
            .chain(self.rest.iter().flat_map(|items| items.iter()))
    }

    /// Adds a clause's items; returns the first clause's span when this one repeats it.
    fn add(&mut self, items: &'w [T], span: Span) -> Option<Span> {
        match self.first {
            Some((_, first)) => {
                self.rest.push(items);
                Some(first)
            }
            None => {
                self.first = Some((items, span));
                None
            }
        }
    }
}

/// Each clause of a step: the first occurrence (a repeated clause is E0104 and ignored), or
/// for list clauses the items of every occurrence.
#[derive(Default)]
pub(crate) struct Clauses<'w> {
    pub after: List<'w, Ident>,
    pub reads: List<'w, Ident>,
    pub writes: Option<(&'w Ident, Span)>,
    pub run: Option<(&'w Action, Span)>,
    pub yields: List<'w, Field>,
    pub by: Option<(&'w Ident, Span)>,
    pub shows: List<'w, Reference>,
    pub expires: Option<(&'w Expiry, Span)>,
    pub risk: Option<(Word<Risk>, Span)>,
    pub approver: Option<(&'w Ident, Span)>,
    pub auto: Option<(&'w AutoGate, Span)>,
    pub capture: Option<(&'w SqlText, Span)>,
    pub verify: Option<(&'w Action, Span)>,
    pub repair: Option<(&'w Ident, Span)>,
    pub allow_no_rows: Option<((), Span)>,
}

impl<'w> Clauses<'w> {
    /// Stores `clause` unless one of its kind is already stored (a list clause adds its items
    /// either way); returns the earlier span when the clause repeats.
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
            ClauseKind::After(list) => self.after.add(list, span),
            ClauseKind::Reads(list) => self.reads.add(list, span),
            ClauseKind::Writes(system) => put(&mut self.writes, system, span),
            ClauseKind::Run(action) => put(&mut self.run, action, span),
            ClauseKind::Yields(fields) => self.yields.add(fields, span),
            ClauseKind::By(role, _) => put(&mut self.by, role, span),
            ClauseKind::Shows(refs) => self.shows.add(refs, span),
            ClauseKind::Expires(expiry) => put(&mut self.expires, expiry, span),
            ClauseKind::Risk(risk) => put(&mut self.risk, *risk, span),
            ClauseKind::Approver(role) => put(&mut self.approver, role, span),
            ClauseKind::Auto(gate) => put(&mut self.auto, gate, span),
            ClauseKind::Capture(sql) => put(&mut self.capture, sql, span),
            ClauseKind::Verify(action) => put(&mut self.verify, action, span),
            ClauseKind::RepairBy(role) => put(&mut self.repair, role, span),
            ClauseKind::AllowNoRows => put(&mut self.allow_no_rows, (), span),
        }
    }

    pub fn field(&self, name: &str) -> Option<&'w Field> {
        self.yields.iter().find(|f| f.name.name == name)
    }
}

/// Indexes the workflow, reporting duplicates (E0102) and repeated clauses (E0104).
pub(crate) fn build<'w>(workflow: &'w Workflow, out: &mut Vec<Diagnostic>) -> Model<'w> {
    let mut model = Model {
        workflow,
        steps: Vec::new(),
        step_ids: HashMap::default(),
        duplicate_steps: HashSet::default(),
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
        model.duplicate_steps.insert(&step.name.name);
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
    systems_unique(step, out);
    json_keys_unique(step, out);
    model.steps.push(StepInfo { step, clauses });
}

fn fields_unique(clauses: &Clauses<'_>, out: &mut Vec<Diagnostic>) {
    let mut seen: HashMap<&str, Span> = HashMap::default();
    for field in clauses.yields.iter() {
        if let Some(&first) = seen.get(field.name.as_str()) {
            out.push(duplicate("output field", &field.name, first));
        } else {
            seen.insert(&field.name.name, field.name.span);
        }
    }
}

/// One `reads` clause names each system once (like a `role` line): a repeat is E0102, and the
/// rules count the system once.
fn systems_unique(step: &Step, out: &mut Vec<Diagnostic>) {
    for clause in &step.clauses {
        let ClauseKind::Reads(systems) = &clause.kind else {
            continue;
        };
        let mut seen: HashMap<&str, Span> = HashMap::default();
        for system in systems {
            if let Some(&first) = seen.get(system.as_str()) {
                out.push(named_twice(
                    format!("`reads` names system `{}` twice", system.name),
                    system,
                    first,
                ));
            } else {
                seen.insert(&system.name, system.span);
            }
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
                out.push(named_twice(
                    format!("a JSON body gives key `{}` twice", entry.key.name),
                    &entry.key,
                    first,
                ));
            } else {
                seen.insert(&entry.key.name, entry.key.span);
            }
        }
    }
}

/// E0102 for a name repeated inside one list (`reads`, a JSON body).
fn named_twice(message: String, name: &Ident, first: Span) -> Diagnostic {
    Diagnostic::new(Code::E0102, message, name.span, "named again here")
        .label(first, "first named here")
        .help(format!("name `{}` once: remove the second one", name.name))
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
