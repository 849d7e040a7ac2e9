//! Lowering: pest's parse tree into the typed AST, one small function per grammar rule.
//!
//! The tree's shape is guaranteed by the grammar, but we never `unwrap` on it: a shape we did
//! not expect becomes `None` and, at the top, one internal E0001 diagnostic rather than a panic.
//! Lexical problems the grammar leaves to us (string escapes, `a.b.c`, numbers too large, SQLite
//! parameters inside `sql`) are collected as diagnostics, all of them, not only the first.
//! Numbers, counts, percentages and durations are lowered in [`literals`].

mod literals;
mod url;

use pest::iterators::{Pair, Pairs};

use super::ast::*;
use super::parse::Rule;
use super::sql::{self, SqlToken};
use super::strings::{decode, raw_offset};
use crate::diagnostics::{Code, Diagnostic};

pub(crate) struct Lowering {
    pub diagnostics: Vec<Diagnostic>,
}

thread_local! {
    /// Where the text pest parses begins in the file: 0, but for a part of a large file parsed
    /// on its own (`parallel.rs`), whose spans must still be the file's offsets.
    static BASE: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

/// Runs `lower` with every span shifted by `base`: for text that starts at `base` in the file.
pub(crate) fn at_base<T>(base: usize, lower: impl FnOnce() -> T) -> T {
    let before = BASE.with(|b| b.replace(base));
    let lowered = lower();
    BASE.with(|b| b.set(before));
    lowered
}

fn span_of(pair: &Pair<'_, Rule>) -> Span {
    let span = pair.as_span();
    let base = BASE.with(std::cell::Cell::get);
    Span::new(base + span.start(), base + span.end())
}

/// Takes the next pair, which the grammar guarantees has rule `rule`.
fn take<'i>(pairs: &mut Pairs<'i, Rule>, rule: Rule) -> Option<Pair<'i, Rule>> {
    pairs.next().filter(|pair| pair.as_rule() == rule)
}

/// Takes the next pair if it has rule `rule`, leaving the others.
fn take_if<'i>(pairs: &mut Pairs<'i, Rule>, rule: Rule) -> Option<Pair<'i, Rule>> {
    if pairs.peek()?.as_rule() == rule {
        pairs.next()
    } else {
        None
    }
}

fn ident(pair: Pair<'_, Rule>) -> Ident {
    Ident {
        name: SmolStr::new(pair.as_str()),
        span: span_of(&pair),
    }
}

/// The identifiers among `pairs`, skipping keywords.
fn idents(pairs: Pairs<'_, Rule>) -> Vec<Ident> {
    pairs
        .filter(|p| p.as_rule() == Rule::ident)
        .map(ident)
        .collect()
}

fn word<T>(pair: &Pair<'_, Rule>, value: T) -> Word<T> {
    Word {
        value,
        span: span_of(pair),
    }
}

impl Lowering {
    pub fn new() -> Lowering {
        Lowering {
            diagnostics: Vec::new(),
        }
    }

    fn error(&mut self, diagnostic: Diagnostic) {
        self.diagnostics.push(diagnostic);
    }

    pub fn workflow(&mut self, file: Pair<'_, Rule>) -> Option<Workflow> {
        let workflow = take(&mut file.into_inner(), Rule::workflow)?;
        let span = span_of(&workflow);
        let mut inner = workflow.into_inner();
        take(&mut inner, Rule::kw_workflow)?;
        let name = ident(take(&mut inner, Rule::ident)?);
        let mut items = Vec::new();
        for pair in inner {
            items.push(self.item(pair)?);
        }
        Some(Workflow { name, items, span })
    }

    /// The items of a `chunk` (parallel parsing: a run of complete items of the workflow).
    pub fn chunk_items(&mut self, chunk: Pair<'_, Rule>) -> Option<Vec<Item>> {
        let mut items = Vec::new();
        for pair in chunk.into_inner().filter(|p| p.as_rule() != Rule::EOI) {
            items.push(self.item(pair)?);
        }
        Some(items)
    }

    /// The name of a `head` (`workflow NAME {`) and where it ends.
    pub fn head(&mut self, head: Pair<'_, Rule>) -> Option<(Ident, Span)> {
        let span = span_of(&head);
        let mut inner = head.into_inner();
        let keyword = take(&mut inner, Rule::kw_workflow)?;
        let name = ident(take(&mut inner, Rule::ident)?);
        Some((name, Span::new(span_of(&keyword).start, span.end)))
    }

    fn item(&mut self, pair: Pair<'_, Rule>) -> Option<Item> {
        let rule = pair.as_rule();
        // pest takes the whitespace before an optional part that is absent into the clause:
        // `auto ... and critical == 0` ends at its `0`, as it did before `review` followed.
        let span = match pair.clone().into_inner().last() {
            Some(last) if rule == Rule::auto && last.as_rule() == Rule::zero => {
                Span::new(span_of(&pair).start, span_of(&last).end)
            }
            _ => span_of(&pair),
        };
        let mut inner = pair.into_inner();
        let keyword = inner.next()?;
        Some(match rule {
            Rule::title => Item::Title(self.text(inner.next()?)?),
            Rule::description => Item::Description(self.text(inner.next()?)?),
            Rule::owner => Item::Owner(ident(take(&mut inner, Rule::ident)?)),
            Rule::roles => Item::Roles(idents(inner)),
            Rule::system => Item::System(System {
                name: ident(take(&mut inner, Rule::ident)?),
                connector: connector(&take(&mut inner, Rule::connector)?)?,
                envelope: envelope(&take(&mut inner, Rule::envelope)?)?,
                span,
            }),
            Rule::input => Item::Input(Input {
                name: ident(take(&mut inner, Rule::ident)?),
                ty: type_name(&take(&mut inner, Rule::type_name)?)?,
                default: match inner.next() {
                    Some(literal) => Some(self.literal(literal)?),
                    None => None,
                },
                span,
            }),
            Rule::step => Item::Step(self.step(step_kind(&keyword)?, span, inner)?),
            _ => return None,
        })
    }

    /// `inner` starts after the step's keyword, which `item` read as `kind`.
    fn step(
        &mut self,
        kind: Word<StepKind>,
        span: Span,
        mut inner: Pairs<'_, Rule>,
    ) -> Option<Step> {
        let name = ident(take(&mut inner, Rule::ident)?);
        let undoes = match take_if(&mut inner, Rule::kw_undoes) {
            Some(_) => Some(ident(take(&mut inner, Rule::ident)?)),
            None => None,
        };
        let mut clauses = Vec::new();
        for clause in inner {
            clauses.push(self.clause(clause)?);
        }
        Some(Step {
            kind,
            name,
            undoes,
            clauses,
            span,
        })
    }

    fn clause(&mut self, pair: Pair<'_, Rule>) -> Option<Clause> {
        let rule = pair.as_rule();
        // pest takes the whitespace before an optional part that is absent into the clause:
        // `auto ... and critical == 0` ends at its `0`, as it did before `review` followed.
        let span = match pair.clone().into_inner().last() {
            Some(last) if rule == Rule::auto && last.as_rule() == Rule::zero => {
                Span::new(span_of(&pair).start, span_of(&last).end)
            }
            _ => span_of(&pair),
        };
        let mut inner = pair.into_inner();
        inner.next()?; // the clause's keyword
        let kind = match rule {
            Rule::after => ClauseKind::After(idents(inner)),
            Rule::reads => ClauseKind::Reads(idents(inner)),
            Rule::writes => ClauseKind::Writes(ident(take(&mut inner, Rule::ident)?)),
            Rule::run => ClauseKind::Run(self.action(inner.next()?)?),
            Rule::yields => {
                let mut fields = Vec::new();
                for field in inner {
                    fields.push(self.field(field)?);
                }
                ClauseKind::Yields(fields)
            }
            Rule::by => {
                let quorum = match take_if(&mut inner, Rule::count) {
                    Some(count) => {
                        take(&mut inner, Rule::kw_of)?;
                        Some(Count {
                            value: self.whole_number(&count)?,
                            span: span_of(&count),
                        })
                    }
                    None => None,
                };
                ClauseKind::By(ident(take(&mut inner, Rule::ident)?), quorum)
            }
            Rule::shows => ClauseKind::Shows(
                inner
                    .filter_map(|reference| self.reference(reference))
                    .collect(),
            ),
            Rule::expires => ClauseKind::Expires(self.expiry(inner)?),
            Rule::risk => ClauseKind::Risk(risk(&take(&mut inner, Rule::risk_level)?)?),
            Rule::approver => ClauseKind::Approver(ident(take(&mut inner, Rule::ident)?)),
            Rule::auto => ClauseKind::Auto(self.auto(inner)?),
            Rule::capture => ClauseKind::Capture(self.sql(take(&mut inner, Rule::sql_action)?)?),
            Rule::verify => ClauseKind::Verify(self.action(inner.next()?)?),
            Rule::repair => {
                take(&mut inner, Rule::kw_by)?;
                ClauseKind::RepairBy(ident(take(&mut inner, Rule::ident)?))
            }
            Rule::allow_no_rows => ClauseKind::AllowNoRows,
            _ => return None,
        };
        Some(Clause { kind, span })
    }

    fn field(&mut self, pair: Pair<'_, Rule>) -> Option<Field> {
        let span = span_of(&pair);
        let mut inner = pair.into_inner();
        let name = ident(take(&mut inner, Rule::ident)?);
        let ty = type_name(&take(&mut inner, Rule::type_name)?)?;
        let allowed = match take_if(&mut inner, Rule::kw_in) {
            Some(_) => {
                let mut literals = Vec::new();
                for literal in inner {
                    literals.push(self.literal(literal)?);
                }
                Some(literals)
            }
            None => None,
        };
        Some(Field {
            name,
            ty,
            allowed,
            span,
        })
    }

    fn expiry(&mut self, mut inner: Pairs<'_, Rule>) -> Option<Expiry> {
        let after = self.duration(&take(&mut inner, Rule::duration)?)?;
        let outcome = match inner.next()?.as_rule() {
            Rule::kw_reject => ExpiryOutcome::Reject,
            Rule::kw_escalate => ExpiryOutcome::Escalate(ident(take(&mut inner, Rule::ident)?)),
            _ => return None,
        };
        Some(Expiry { after, outcome })
    }

    fn auto(&mut self, mut inner: Pairs<'_, Rule>) -> Option<AutoGate> {
        take(&mut inner, Rule::kw_when)?;
        take(&mut inner, Rule::kw_acceptance)?;
        let acceptance = self.percent(&take(&mut inner, Rule::percent)?)?;
        take(&mut inner, Rule::kw_over)?;
        let over = self.duration(&take(&mut inner, Rule::duration)?)?;
        let mut min = None;
        if take_if(&mut inner, Rule::kw_min).is_some() {
            let count = take(&mut inner, Rule::count)?;
            let value = self.whole_number(&count)?;
            min = Some(Count {
                value,
                span: span_of(&count),
            });
        }
        let mut no_critical = None;
        if let Some(and) = take_if(&mut inner, Rule::kw_and) {
            take(&mut inner, Rule::kw_critical)?;
            let zero = take(&mut inner, Rule::zero)?;
            no_critical = Some(span_of(&and).to(span_of(&zero)));
        }
        let mut review = None;
        if take_if(&mut inner, Rule::kw_review).is_some() {
            review = Some(self.percent(&take(&mut inner, Rule::percent)?)?);
        }
        Some(AutoGate {
            acceptance,
            over,
            min,
            no_critical,
            review,
        })
    }

    fn action(&mut self, pair: Pair<'_, Rule>) -> Option<Action> {
        match pair.as_rule() {
            Rule::sql_action => Some(Action::Sql(self.sql(pair)?)),
            Rule::exec_action => {
                let span = span_of(&pair);
                let mut inner = pair.into_inner();
                take(&mut inner, Rule::kw_exec)?;
                let program = self.text(take(&mut inner, Rule::string)?)?;
                let mut args = Vec::new();
                for value in inner {
                    args.push(self.value(value)?);
                }
                Some(Action::Exec(Exec {
                    program,
                    args,
                    span,
                }))
            }
            Rule::http_action => self.http(pair),
            _ => None,
        }
    }

    fn http(&mut self, pair: Pair<'_, Rule>) -> Option<Action> {
        let span = span_of(&pair);
        let mut inner = pair.into_inner();
        take(&mut inner, Rule::kw_http)?;
        let method = method(&take(&mut inner, Rule::method)?)?;
        let string = take(&mut inner, Rule::string)?;
        let (raw, delimiter) = string_body(string.as_str())?;
        let body_start = span_of(&string).start + delimiter;
        let url = self.text(string)?;
        let url_references = self.url_references(&url.value, raw, body_start);
        let body = match take_if(&mut inner, Rule::json_body) {
            Some(body) => {
                let mut entries = Vec::new();
                for entry in body
                    .into_inner()
                    .filter(|p| p.as_rule() == Rule::json_entry)
                {
                    entries.push(self.json_entry(entry)?);
                }
                Some(entries)
            }
            None => None,
        };
        Some(Action::Http(Http {
            method,
            url,
            url_references,
            body,
            span,
        }))
    }

    fn json_entry(&mut self, pair: Pair<'_, Rule>) -> Option<JsonEntry> {
        let mut inner = pair.into_inner();
        let key_pair = inner.next()?;
        let key = match key_pair.as_rule() {
            Rule::ident => ident(key_pair),
            Rule::string => {
                let text = self.text(key_pair)?;
                Ident {
                    name: SmolStr::new(&text.value),
                    span: text.span,
                }
            }
            _ => return None,
        };
        let value = self.value(inner.next()?)?;
        Some(JsonEntry { key, value })
    }

    fn value(&mut self, pair: Pair<'_, Rule>) -> Option<Value> {
        match pair.as_rule() {
            Rule::literal => Some(Value::Literal(self.literal(pair)?)),
            Rule::reference => match pair.as_str() {
                word @ ("true" | "false") => Some(Value::Literal(Literal {
                    value: LiteralValue::Bool(word == "true"),
                    span: span_of(&pair),
                })),
                _ => Some(Value::Reference(self.reference(pair)?)),
            },
            _ => None,
        }
    }

    fn literal(&mut self, pair: Pair<'_, Rule>) -> Option<Literal> {
        let span = span_of(&pair);
        let inner = pair.into_inner().next()?;
        let value = match inner.as_rule() {
            Rule::string => LiteralValue::Text(self.text(inner)?.value),
            Rule::boolean => LiteralValue::Bool(inner.as_str() == "true"),
            Rule::number => self.number(&inner)?,
            _ => return None,
        };
        Some(Literal { value, span })
    }

    fn reference(&mut self, pair: Pair<'_, Rule>) -> Option<Reference> {
        let span = span_of(&pair);
        let text = pair.as_str();
        let mut parts = Vec::new();
        let mut offset = span.start;
        for part in text.split('.') {
            parts.push(Ident {
                name: SmolStr::new(part),
                span: Span::new(offset, offset + part.len()),
            });
            offset += part.len() + 1;
        }
        if parts.len() > 2 {
            self.error(
                Diagnostic::new(Code::E0001, format!("`{text}` has more than one dot"), span, "a reference is `name` or `step.field`")
                    .help("refer to an input as `name`, to a step's output as `step.field`, or to a before-image column as `before.column`"),
            );
        }
        let mut parts = parts.into_iter();
        let target = parts.next()?;
        Some(Reference {
            target,
            field: parts.next(),
            span,
        })
    }

    fn sql(&mut self, pair: Pair<'_, Rule>) -> Option<SqlText> {
        let span = span_of(&pair);
        let mut inner = pair.into_inner();
        take(&mut inner, Rule::kw_sql)?;
        let string = take(&mut inner, Rule::string)?;
        let (raw, delimiter) = string_body(string.as_str())?;
        let body_start = span_of(&string).start + delimiter;
        let text = self.text(string)?;
        let references = self.sql_references(&text.value, raw, body_start);
        Some(SqlText {
            text,
            references,
            span,
        })
    }

    /// Finds the `:references` of SQL text, with spans in the workflow file.
    fn sql_references(&mut self, sql: &str, raw: &str, body_start: usize) -> Vec<Reference> {
        // Positions in the decoded text map to the file directly unless escapes changed lengths.
        let map = |offset: usize| {
            if sql.len() == raw.len() {
                body_start + offset
            } else {
                body_start + raw_offset(raw, offset)
            }
        };
        let to_span = |range: &std::ops::Range<usize>| Span::new(map(range.start), map(range.end));
        let mut references = Vec::new();
        for token in sql::tokens(sql) {
            match token {
                SqlToken::Reference {
                    range,
                    target,
                    field,
                    extra_dots,
                } => {
                    let ident = |part: &std::ops::Range<usize>| Ident {
                        name: SmolStr::new(sql.get(part.clone()).unwrap_or("")),
                        span: to_span(part),
                    };
                    let span = to_span(&range);
                    if extra_dots {
                        self.error(
                            Diagnostic::new(Code::E0001, "a reference in SQL has more than one dot", span, "a reference is `:name` or `:step.field`")
                                .help("refer to an input as `:name`, to a step's output as `:step.field`, or to a before-image column as `:before.column`"),
                        );
                    }
                    references.push(Reference {
                        target: ident(&target),
                        field: field.as_ref().map(ident),
                        span,
                    });
                }
                SqlToken::ForeignParameter(range) => {
                    let found = sql.get(range.clone()).unwrap_or("?");
                    self.error(
                        Diagnostic::new(Code::E0001, format!("an SQLite parameter `{found}` in writ SQL"), to_span(&range), "writ binds only `:name` references")
                            .help("write a reference such as `:ticket_id` or `:suggest.priority`; writ binds it by value"),
                    );
                }
                _ => {}
            }
        }
        references
    }

    /// Decodes a string literal, reporting every bad escape.
    fn text(&mut self, pair: Pair<'_, Rule>) -> Option<Text> {
        let span = span_of(&pair);
        let (raw, delimiter) = string_body(pair.as_str())?;
        let value = match decode(raw) {
            Ok(value) => value,
            Err(bad) => {
                for escape in bad {
                    let at = span.start + delimiter + escape.start;
                    self.error(
                        Diagnostic::new(
                            Code::E0001,
                            escape.message,
                            Span::new(at, at + escape.len),
                            "here",
                        )
                        .help("the escapes are `\\\"`, `\\\\`, `\\n`, `\\t` and `\\u{XXXX}`"),
                    );
                }
                String::new()
            }
        };
        Some(Text { value, span })
    }
}

/// The body of a quoted string (`"..."` or `"""..."""`) and the length of its delimiter.
fn string_body(quoted: &str) -> Option<(&str, usize)> {
    let delimiter = if quoted.len() >= 6 && quoted.starts_with(LONG_QUOTE) {
        LONG_QUOTE.len()
    } else {
        1
    };
    let raw = quoted.get(delimiter..quoted.len().checked_sub(delimiter)?)?;
    Some((raw, delimiter))
}

/// Opens and closes a long string.
const LONG_QUOTE: &str = "\"\"\"";

fn connector(pair: &Pair<'_, Rule>) -> Option<Word<Connector>> {
    let value = match pair.as_str() {
        "sqlite" => Connector::Sqlite,
        "exec" => Connector::Exec,
        "http" => Connector::Http,
        _ => return None,
    };
    Some(word(pair, value))
}

fn envelope(pair: &Pair<'_, Rule>) -> Option<Word<Envelope>> {
    let value = match pair.as_str() {
        "inside" => Envelope::Inside,
        "outside" => Envelope::Outside,
        _ => return None,
    };
    Some(word(pair, value))
}

fn type_name(pair: &Pair<'_, Rule>) -> Option<Word<Type>> {
    let value = match pair.as_str() {
        "text" => Type::Text,
        "int" => Type::Int,
        "number" => Type::Number,
        "bool" => Type::Bool,
        _ => return None,
    };
    Some(word(pair, value))
}

fn risk(pair: &Pair<'_, Rule>) -> Option<Word<Risk>> {
    let value = match pair.as_str() {
        "low" => Risk::Low,
        "medium" => Risk::Medium,
        "high" => Risk::High,
        _ => return None,
    };
    Some(word(pair, value))
}

fn method(pair: &Pair<'_, Rule>) -> Option<Word<Method>> {
    let value = match pair.as_str() {
        "GET" => Method::Get,
        "POST" => Method::Post,
        "PUT" => Method::Put,
        "PATCH" => Method::Patch,
        "DELETE" => Method::Delete,
        _ => return None,
    };
    Some(word(pair, value))
}

/// The step kind named by a step's keyword pair.
pub(crate) fn step_kind(pair: &Pair<'_, Rule>) -> Option<Word<StepKind>> {
    let value = match pair.as_rule() {
        Rule::kw_recommend => StepKind::Recommend,
        Rule::kw_confirm => StepKind::Confirm,
        Rule::kw_execute => StepKind::Execute,
        Rule::kw_rollback => StepKind::Rollback,
        _ => return None,
    };
    Some(word(pair, value))
}
