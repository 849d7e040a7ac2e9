//! The typed syntax tree of one workflow file.
//!
//! Every node keeps the byte span it came from. Spans compare equal whatever their offsets
//! (see [`Span`]), so two trees that differ only in layout are `==`: this is what lets the
//! tests assert `parse(fmt(x)) == parse(x)`.
//!
//! The tree is purely syntactic: a clause that is not allowed on a step kind is still stored
//! (as [`Clause`] in source order), because judging where a clause may stand is the checker's
//! job (E0104), and the checker can only explain what it can see.

use std::fmt;

pub use smol_str::SmolStr;

/// A byte range in the source file.
///
/// INVARIANT: `PartialEq` and `Hash` ignore the offsets, so spans never make two trees differ.
#[derive(Clone, Copy, Default)]
pub struct Span {
    pub start: usize,
    pub end: usize,
}

impl Span {
    pub fn new(start: usize, end: usize) -> Span {
        Span { start, end }
    }

    pub fn len(self) -> usize {
        self.end.saturating_sub(self.start)
    }

    pub fn is_empty(self) -> bool {
        self.len() == 0
    }

    /// The smallest span that covers both.
    pub fn to(self, other: Span) -> Span {
        Span::new(self.start.min(other.start), self.end.max(other.end))
    }
}

impl PartialEq for Span {
    fn eq(&self, _: &Span) -> bool {
        true
    }
}

impl Eq for Span {}

impl std::hash::Hash for Span {
    fn hash<H: std::hash::Hasher>(&self, _: &mut H) {}
}

impl fmt::Debug for Span {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}..{}", self.start, self.end)
    }
}

impl From<Span> for miette::SourceSpan {
    fn from(span: Span) -> miette::SourceSpan {
        (span.start, span.len()).into()
    }
}

/// A name with where it was written. Short names (most) are stored inline, not on the heap.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Ident {
    pub name: SmolStr,
    pub span: Span,
}

impl Ident {
    pub fn as_str(&self) -> &str {
        &self.name
    }
}

/// One `.writ` file: exactly one workflow.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Workflow {
    pub name: Ident,
    pub items: Vec<Item>,
    pub span: Span,
}

/// A top-level item inside `workflow NAME { ... }`, in source order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Item {
    Title(Text),
    Description(Text),
    Owner(Ident),
    Roles(Vec<Ident>),
    System(System),
    Input(Input),
    Step(Step),
}

/// A string literal: its decoded value and the span of the quoted text.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Text {
    pub value: String,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct System {
    pub name: Ident,
    pub connector: Word<Connector>,
    pub envelope: Word<Envelope>,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Input {
    pub name: Ident,
    pub ty: Word<Type>,
    pub default: Option<Literal>,
    pub span: Span,
}

/// A word from one of the fixed lists (connectors, types, risks, ...) with its span.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Word<T> {
    pub value: T,
    pub span: Span,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Connector {
    Sqlite,
    Exec,
    Http,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Envelope {
    Inside,
    Outside,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Type {
    Text,
    Int,
    Number,
    Bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Risk {
    Low,
    Medium,
    High,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Method {
    Get,
    Post,
    Put,
    Patch,
    Delete,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum StepKind {
    Recommend,
    Confirm,
    Execute,
    Rollback,
}

/// A step: its kind, name, the execute a rollback undoes, and its clauses in source order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Step {
    pub kind: Word<StepKind>,
    pub name: Ident,
    /// `rollback NAME undoes EXEC`: the execute step it reverses. `None` for other kinds.
    pub undoes: Option<Ident>,
    pub clauses: Vec<Clause>,
    pub span: Span,
}

/// One clause of a step, with the span of the whole clause (keyword to last token).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Clause {
    pub kind: ClauseKind,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ClauseKind {
    After(Vec<Ident>),
    Reads(Vec<Ident>),
    Writes(Ident),
    Run(Action),
    Yields(Vec<Field>),
    /// `by ROLE`, or `by N of ROLE` (N distinct people of ROLE).
    By(Ident, Option<Count>),
    Shows(Vec<Reference>),
    Expires(Expiry),
    Risk(Word<Risk>),
    Approver(Ident),
    Auto(AutoGate),
    Capture(SqlText),
    Verify(Action),
    RepairBy(Ident),
    /// `allow no rows`: the execute's `sql` may change no row.
    AllowNoRows,
}

impl ClauseKind {
    /// The clause as written in the language, for messages.
    pub fn keyword(&self) -> &'static str {
        match self {
            ClauseKind::After(_) => "after",
            ClauseKind::Reads(_) => "reads",
            ClauseKind::Writes(_) => "writes",
            ClauseKind::Run(_) => "run",
            ClauseKind::Yields(_) => "yields",
            ClauseKind::By(..) => "by",
            ClauseKind::Shows(_) => "shows",
            ClauseKind::Expires(_) => "expires",
            ClauseKind::Risk(_) => "risk",
            ClauseKind::Approver(_) => "approver",
            ClauseKind::Auto(_) => "auto",
            ClauseKind::Capture(_) => "capture",
            ClauseKind::Verify(_) => "verify",
            ClauseKind::RepairBy(_) => "repair by",
            ClauseKind::AllowNoRows => "allow no rows",
        }
    }
}

/// `yields NAME: TYPE [in [LIT, ...]]`
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Field {
    pub name: Ident,
    pub ty: Word<Type>,
    pub allowed: Option<Vec<Literal>>,
    pub span: Span,
}

/// `expires DUR -> reject` or `expires DUR -> escalate ROLE`
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Expiry {
    pub after: Duration,
    pub outcome: ExpiryOutcome,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ExpiryOutcome {
    Reject,
    Escalate(Ident),
}

/// `auto when acceptance >= P% over DUR [min N] [and critical == 0] [review R%]`
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AutoGate {
    pub acceptance: Percent,
    pub over: Duration,
    /// `min N`; `None` means the default (20).
    pub min: Option<Count>,
    /// Whether `and critical == 0` was written, and where.
    pub no_critical: Option<Span>,
    /// `review R%`: the share of runs still sent to a human while the gate holds; `None`
    /// means the default (10%).
    pub review: Option<Percent>,
}

/// A whole number written after `min`; kept as text's value so hostile sizes are not a panic.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Count {
    pub value: u64,
    pub span: Span,
}

/// A percentage, kept in hundredths of a percent so it stays exact and hashable (`99.5%` = 9950).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Percent {
    pub basis_points: u64,
    pub span: Span,
}

/// A duration in seconds, with the unit it was written in (for formatting it back).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Duration {
    pub amount: u64,
    pub unit: DurationUnit,
    pub span: Span,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum DurationUnit {
    Seconds,
    Minutes,
    Hours,
    Days,
}

impl Duration {
    /// The length in seconds, saturating on absurd values rather than overflowing.
    pub fn seconds(&self) -> u64 {
        let per_unit = match self.unit {
            DurationUnit::Seconds => 1,
            DurationUnit::Minutes => 60,
            DurationUnit::Hours => 3_600,
            DurationUnit::Days => 86_400,
        };
        self.amount.saturating_mul(per_unit)
    }
}

/// What a step does.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Action {
    Sql(SqlText),
    Exec(Exec),
    Http(Http),
}

impl Action {
    pub fn connector(&self) -> Connector {
        match self {
            Action::Sql(_) => Connector::Sqlite,
            Action::Exec(_) => Connector::Exec,
            Action::Http(_) => Connector::Http,
        }
    }

    /// The span of the whole action, from its keyword to its last token.
    pub fn span(&self) -> Span {
        match self {
            Action::Sql(sql) => sql.span,
            Action::Exec(exec) => exec.span,
            Action::Http(http) => http.span,
        }
    }
}

/// `sql "TEXT"`: the SQL as written, with the `:references` found in it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SqlText {
    pub text: Text,
    /// References in the SQL text, in order, with spans pointing into the workflow file
    /// (so a diagnostic can underline `:ticket_id` inside the string).
    pub references: Vec<Reference>,
    /// The whole `sql "..."` span.
    pub span: Span,
}

/// `exec "PROGRAM" [ARG, ...]`
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Exec {
    pub program: Text,
    pub args: Vec<Value>,
    pub span: Span,
}

/// `http METHOD "URL" [json { key: VALUE, ... }]`
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Http {
    pub method: Word<Method>,
    pub url: Text,
    /// The `{references}` of the URL template, in order (`syntax::template`).
    pub url_references: Vec<Reference>,
    pub body: Option<Vec<JsonEntry>>,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JsonEntry {
    pub key: Ident,
    pub value: Value,
}

/// A literal or a reference: what arguments and JSON values may be.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Value {
    Literal(Literal),
    Reference(Reference),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Literal {
    pub value: LiteralValue,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum LiteralValue {
    Text(String),
    Int(i64),
    /// A number with a fraction, kept as written: exact, hashable, and formatted back unchanged.
    Number(String),
    Bool(bool),
}

impl LiteralValue {
    /// The type a literal has on its own (an `int` literal also fits a `number`).
    pub fn natural_type(&self) -> Type {
        match self {
            LiteralValue::Text(_) => Type::Text,
            LiteralValue::Int(_) => Type::Int,
            LiteralValue::Number(_) => Type::Number,
            LiteralValue::Bool(_) => Type::Bool,
        }
    }
}

/// `name`, `step.field` or `before.column`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Reference {
    pub target: Ident,
    pub field: Option<Ident>,
    pub span: Span,
}

impl fmt::Display for Reference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.field {
            Some(field) => write!(f, "{}.{}", self.target.name, field.name),
            None => f.write_str(&self.target.name),
        }
    }
}

impl Connector {
    /// The word as written in a workflow file.
    pub fn as_str(self) -> &'static str {
        match self {
            Connector::Sqlite => "sqlite",
            Connector::Exec => "exec",
            Connector::Http => "http",
        }
    }
}

impl fmt::Display for Connector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Envelope {
    /// The word as written in a workflow file.
    pub fn as_str(self) -> &'static str {
        match self {
            Envelope::Inside => "inside",
            Envelope::Outside => "outside",
        }
    }
}

impl fmt::Display for Envelope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Type {
    /// The word as written in a workflow file.
    pub fn as_str(self) -> &'static str {
        match self {
            Type::Text => "text",
            Type::Int => "int",
            Type::Number => "number",
            Type::Bool => "bool",
        }
    }
}

impl fmt::Display for Type {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Risk {
    /// The word as written in a workflow file.
    pub fn as_str(self) -> &'static str {
        match self {
            Risk::Low => "low",
            Risk::Medium => "medium",
            Risk::High => "high",
        }
    }
}

impl fmt::Display for Risk {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Method {
    /// The word as written in a workflow file.
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Post => "POST",
            Method::Put => "PUT",
            Method::Patch => "PATCH",
            Method::Delete => "DELETE",
        }
    }
}

impl fmt::Display for Method {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl StepKind {
    /// The word as written in a workflow file.
    pub fn as_str(self) -> &'static str {
        match self {
            StepKind::Recommend => "recommend",
            StepKind::Confirm => "confirm",
            StepKind::Execute => "execute",
            StepKind::Rollback => "rollback",
        }
    }
}

impl fmt::Display for StepKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl DurationUnit {
    /// The word as written in a workflow file.
    pub fn as_str(self) -> &'static str {
        match self {
            DurationUnit::Seconds => "s",
            DurationUnit::Minutes => "m",
            DurationUnit::Hours => "h",
            DurationUnit::Days => "d",
        }
    }
}

impl fmt::Display for DurationUnit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
