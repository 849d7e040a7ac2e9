//! The pest parser and the translation of its errors into E0001 diagnostics in a user's words.
//!
//! pest's stock message names grammar rules (`kw_recommend`, `string_body`); analysts know
//! keywords and punctuation. So the expected tokens are gathered from pest's parse attempts
//! (which include punctuation) and named here, grouped where a list has a name ("a step kind").

use std::collections::BTreeSet;
use std::sync::Once;

use pest::Parser as _;
use pest::error::{Error as PestError, InputLocation};
use pest::iterators::Pair;

use super::ast::Span;
use crate::diagnostics::{Code, Diagnostic};

#[derive(pest_derive::Parser)]
#[grammar = "../grammar/writ.pest"]
pub(crate) struct WritParser;

/// Parses a whole file into pest's tree, rooted at `Rule::file`.
pub(crate) fn parse_tree(source: &str) -> Result<Pair<'_, Rule>, Box<Diagnostic>> {
    static DETAIL: Once = Once::new();
    // Parse attempts carry the literal tokens (`]`, `{`) pest expected; without them a missing
    // bracket could not be named. Measured cost on valid input is small (see benches/).
    DETAIL.call_once(|| pest::set_error_detail(true));
    match WritParser::parse(Rule::file, source) {
        Ok(mut pairs) => pairs.next().ok_or_else(|| {
            Box::new(Diagnostic::new(
                Code::E0001,
                "the file holds no workflow",
                Span::new(0, 0),
                "expected `workflow NAME { ... }`",
            ))
        }),
        Err(error) => Err(Box::new(syntax_error(source, &error))),
    }
}

fn syntax_error(source: &str, error: &PestError<Rule>) -> Diagnostic {
    let at = match error.location {
        InputLocation::Pos(pos) => pos,
        InputLocation::Span((start, _)) => start,
    };
    let at = error.parse_attempts().map_or(at, |a| a.max_position.max(at));
    let span = offending_span(source, at);
    let expected = expected_words(error);
    let found = describe_found(source, span);
    if let Some(diagnostic) = special_case(source, at, span, &expected) {
        return diagnostic;
    }
    let list = join_or(&expected);
    let message = if list.is_empty() {
        format!("unexpected {found}")
    } else {
        format!("expected {list}, found {found}")
    };
    Diagnostic::new(Code::E0001, message, span, format!("expected {}", short_or(&expected)))
        .help(help_for(&expected))
}

/// Messages for mistakes that deserve their own words rather than an expected-token list.
fn special_case(source: &str, at: usize, span: Span, expected: &[String]) -> Option<Diagnostic> {
    let rest = source.get(at..).unwrap_or("");
    let inside_string = expected.iter().any(|e| e == "`\"`") && expected.iter().any(|e| e == "`\\`");
    if inside_string && (rest.starts_with('\n') || rest.is_empty()) {
        let start = source.get(..at).and_then(|s| s.rfind('"')).unwrap_or(at);
        return Some(
            Diagnostic::new(
                Code::E0001,
                "unterminated string",
                Span::new(start, at),
                "this string is not closed before the end of the line",
            )
            .help("close the string with `\"` on the same line; write a line break as `\\n`"),
        );
    }
    if at == 0 && source.trim().is_empty() {
        return Some(
            Diagnostic::new(Code::E0001, "the file is empty", span, "expected a workflow here")
                .help("a `.writ` file holds exactly one `workflow NAME { ... }`"),
        );
    }
    None
}

/// The span of the token the parser stopped at: a word, a number, or one character.
fn offending_span(source: &str, at: usize) -> Span {
    let rest = source.get(at..).unwrap_or("");
    let word_len = rest
        .char_indices()
        .find(|&(_, c)| !(c.is_ascii_alphanumeric() || c == '_' || c == '.' || c == '%'))
        .map_or(rest.len(), |(i, _)| i);
    let len = if word_len > 0 {
        word_len
    } else {
        rest.chars().next().map_or(0, char::len_utf8)
    };
    Span::new(at, at + len)
}

fn describe_found(source: &str, span: Span) -> String {
    let text = source.get(span.start..span.end).unwrap_or("");
    match text.chars().next() {
        None => "the end of the file".to_owned(),
        Some('\n') | Some('\r') => "the end of the line".to_owned(),
        Some(c) if c.is_control() => format!("the control character U+{:04X}", c as u32),
        Some(_) => {
            let shown: String = text.chars().take(40).collect();
            format!("`{shown}`")
        }
    }
}

/// The tokens pest expected, in words, deduplicated and in a stable order, with the fixed
/// lists named as a group ("a step kind: ...") rather than spelled out one by one.
fn expected_words(error: &PestError<Rule>) -> Vec<String> {
    let mut words = BTreeSet::new();
    if let Some(attempts) = error.parse_attempts() {
        // `ParsingToken` is not exported; its Display gives the literal for literal tokens,
        // `a..z` for character ranges and `BUILTIN_RULE` for ANY and friends: keep literals.
        for token in attempts.expected_tokens() {
            let token = token.to_string();
            let is_range = token.chars().count() == 4 && token.get(1..3) == Some("..");
            if !token.is_empty() && token != "BUILTIN_RULE" && !is_range {
                words.insert(format!("`{token}`"));
            }
        }
        for stack in attempts.call_stacks() {
            let rule = stack.parent.unwrap_or(stack.deepest.get_rule().copied().unwrap_or(Rule::EOI));
            if let Some(word) = rule_word(rule) {
                words.insert(word.to_owned());
            }
        }
    }
    if let pest::error::ErrorVariant::ParsingError { positives, .. } = &error.variant {
        for rule in positives {
            if let Some(word) = rule_word(*rule) {
                words.insert(word.to_owned());
            }
        }
    }
    group(words)
}

/// Folds individual keywords into the name of the list they belong to, when all are expected.
fn group(mut words: BTreeSet<String>) -> Vec<String> {
    const GROUPS: &[(&str, &[&str])] = &[
        (
            "a step kind (`recommend`, `confirm`, `execute`, `rollback`)",
            &["`recommend`", "`confirm`", "`execute`", "`rollback`"],
        ),
        (
            "an item (`title`, `description`, `owner`, `role`, `system`, `input`)",
            &["`title`", "`description`", "`owner`", "`role`", "`system`", "`input`"],
        ),
        (
            "a clause (`after`, `reads`, `writes`, `run`, `yields`, `by`, `shows`, `expires`, `risk`, `approver`, `auto`, `capture`, `verify`, `repair by`)",
            &[
                "`after`", "`reads`", "`writes`", "`run`", "`yields`", "`by`", "`shows`",
                "`expires`", "`risk`", "`approver`", "`auto`", "`capture`", "`verify`", "`repair`",
            ],
        ),
        ("an action (`sql`, `exec`, `http`)", &["`sql`", "`exec`", "`http`"]),
        ("a value (a string, number, `true`, `false` or a reference)", &["a literal", "a reference"]),
    ];
    let mut out = Vec::new();
    for (name, members) in GROUPS {
        if members.iter().all(|m| words.contains(*m)) {
            for m in *members {
                words.remove(*m);
            }
            out.push((*name).to_owned());
        }
    }
    // Noise: whitespace and comment starts are always possible.
    words.remove("`//`");
    for filler in ["` `", "`\t`", "`\r`", "`\n`"] {
        words.remove(filler);
    }
    out.extend(words);
    out
}

/// A rule's name in a user's words; `None` for rules whose literal tokens already say it.
fn rule_word(rule: Rule) -> Option<&'static str> {
    Some(match rule {
        Rule::ident => "a name",
        Rule::reference => "a reference",
        Rule::string => "a string",
        Rule::literal => "a literal",
        Rule::number => "a number",
        Rule::percent => "a percentage such as `90%`",
        Rule::duration => "a duration such as `30s`, `15m`, `4h` or `28d`",
        Rule::count => "a whole number",
        Rule::zero => "`0`",
        Rule::connector => "a connector (`sqlite`, `exec` or `http`)",
        Rule::envelope => "`inside` or `outside`",
        Rule::type_name => "a type (`text`, `int`, `number` or `bool`)",
        Rule::risk_level => "a risk (`low`, `medium` or `high`)",
        Rule::method => "an HTTP method (`GET`, `POST`, `PUT`, `PATCH` or `DELETE`)",
        Rule::EOI => "the end of the file",
        _ => return keyword_word(rule),
    })
}

fn keyword_word(rule: Rule) -> Option<&'static str> {
    Some(match rule {
        Rule::kw_workflow => "`workflow`",
        Rule::kw_title => "`title`",
        Rule::kw_description => "`description`",
        Rule::kw_owner => "`owner`",
        Rule::kw_role => "`role`",
        Rule::kw_system => "`system`",
        Rule::kw_input => "`input`",
        Rule::kw_recommend => "`recommend`",
        Rule::kw_confirm => "`confirm`",
        Rule::kw_execute => "`execute`",
        Rule::kw_rollback => "`rollback`",
        Rule::kw_undoes => "`undoes`",
        Rule::kw_after => "`after`",
        Rule::kw_reads => "`reads`",
        Rule::kw_writes => "`writes`",
        Rule::kw_run => "`run`",
        Rule::kw_yields => "`yields`",
        Rule::kw_in => "`in`",
        Rule::kw_by => "`by`",
        Rule::kw_shows => "`shows`",
        Rule::kw_expires => "`expires`",
        Rule::kw_reject => "`reject`",
        Rule::kw_escalate => "`escalate`",
        Rule::kw_risk => "`risk`",
        Rule::kw_approver => "`approver`",
        Rule::kw_auto => "`auto`",
        Rule::kw_when => "`when`",
        Rule::kw_acceptance => "`acceptance`",
        Rule::kw_over => "`over`",
        Rule::kw_min => "`min`",
        Rule::kw_and => "`and`",
        Rule::kw_critical => "`critical`",
        Rule::kw_capture => "`capture`",
        Rule::kw_verify => "`verify`",
        Rule::kw_repair => "`repair`",
        Rule::kw_sql => "`sql`",
        Rule::kw_exec => "`exec`",
        Rule::kw_http => "`http`",
        Rule::kw_json => "`json`",
        Rule::kw_true => "`true`",
        Rule::kw_false => "`false`",
        _ => return None,
    })
}

fn join_or(words: &[String]) -> String {
    match words {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} or {}", init.join(", "), last),
    }
}

/// The label under the offending token: the full list when short, else its first entries.
fn short_or(words: &[String]) -> String {
    if words.len() <= 3 {
        join_or(words)
    } else {
        let shown: Vec<String> = words.iter().take(3).cloned().collect();
        format!("{}, ...", shown.join(", "))
    }
}

fn help_for(expected: &[String]) -> String {
    if expected.iter().any(|e| e.starts_with("a clause")) {
        return "a step's block holds clauses such as `reads`, `run`, `yields`; close it with `}`; \
                see LANGUAGE.md for which clause fits which step"
            .to_owned();
    }
    if expected.iter().any(|e| e.starts_with("a step kind")) {
        return "inside `workflow NAME { ... }` come items (`title`, `owner`, `role`, `system`, `input`) \
                and steps (`recommend`, `confirm`, `execute`, `rollback NAME undoes STEP`)"
            .to_owned();
    }
    if expected.is_empty() {
        return "remove or correct the text here".to_owned();
    }
    format!("write {} here", join_or(expected))
}
