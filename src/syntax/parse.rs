//! The pest parser and the translation of its errors into E0001 diagnostics in a user's words.
//!
//! pest's stock message names grammar rules (`kw_recommend`, `string_body`); analysts know
//! keywords and punctuation. So the expected tokens are gathered from pest's parse attempts
//! (which include punctuation) and named here, grouped where a list has a name ("a step kind").

use std::collections::BTreeSet;
use std::sync::{Mutex, PoisonError};

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
    match WritParser::parse(Rule::file, source) {
        Ok(mut pairs) => pairs.next().ok_or_else(|| Box::new(no_workflow())),
        Err(plain) => Err(Box::new(syntax_error(
            source,
            &detailed_error(source).unwrap_or(plain),
        ))),
    }
}

/// Parses a file known to be invalid again, with pest's parse attempts recorded.
///
/// The attempts carry the literal tokens (`]`, `{`) pest expected, without which a missing
/// bracket could not be named; recording them costs about 40% of parse time, so valid files
/// (the common case) are parsed without. The switch is global in pest: the lock keeps two
/// threads explaining errors at once from turning it off under each other, so messages do not
/// depend on timing. A valid parse that overlaps only runs slower.
fn detailed_error(source: &str) -> Option<PestError<Rule>> {
    static DETAIL: Mutex<()> = Mutex::new(());
    let _guard = DETAIL.lock().unwrap_or_else(PoisonError::into_inner);
    pest::set_error_detail(true);
    let result = WritParser::parse(Rule::file, source);
    pest::set_error_detail(false);
    result.err()
}

fn syntax_error(source: &str, error: &PestError<Rule>) -> Diagnostic {
    let (at, expected, unterminated) = expectation(source, error);
    if let Some(start) = unterminated {
        if expected.iter().any(|e| e == LONG_UNCLOSED) {
            return unterminated_long_string(source, start);
        }
        return unterminated_string(source, start);
    }
    // A string was expected and one starts here, so it is its end that is missing.
    let string_starts = source.get(at..).is_some_and(|rest| rest.starts_with('"'));
    if string_starts && expected.iter().any(|e| e == "a string") {
        if source
            .get(at..)
            .is_some_and(|rest| rest.starts_with("\"\"\""))
        {
            return unterminated_long_string(source, at);
        }
        return unterminated_string(source, at);
    }
    let span = offending_span(source, at);
    if let Some(diagnostic) = special_case(source, span, &expected) {
        return diagnostic;
    }
    let found = describe_found(source, span);
    let list = join_or(&expected);
    let message = if list.is_empty() {
        format!("unexpected {found}")
    } else {
        format!("expected {list}, found {found}")
    };
    Diagnostic::new(
        Code::E0001,
        message,
        span,
        format!("expected {}", short_or(&expected)),
    )
    .help(help_for(source, span, &expected))
}

/// Where the parser stopped and what it expected there, in words; and, when it stopped inside
/// a string, where that string starts.
///
/// pest reports two views: the rules it tried at the furthest rule start (`positives`), and the
/// literal tokens it tried at the furthest character (parse attempts). Inside a token rule such
/// as a duration, the characters it tried (`d`, `h`) mean nothing to a user: then the rule's
/// name at its start is the answer. Between tokens, the literal tokens (`]`, `,`) are.
fn expectation(source: &str, error: &PestError<Rule>) -> (usize, Vec<String>, Option<usize>) {
    let rule_start = match error.location {
        InputLocation::Pos(pos) => pos,
        InputLocation::Span((start, _)) => start,
    };
    let positives: BTreeSet<String> = match &error.variant {
        pest::error::ErrorVariant::ParsingError { positives, .. } => positives
            .iter()
            .filter_map(|r| rule_word(*r))
            .map(str::to_owned)
            .collect(),
        pest::error::ErrorVariant::CustomError { .. } => BTreeSet::new(),
    };
    let Some(attempts) = error.parse_attempts() else {
        return (rule_start, group(positives), None);
    };
    let deepest: Vec<Rule> = attempts
        .call_stacks()
        .iter()
        .filter_map(|s| s.deepest.get_rule().copied())
        .collect();
    if deepest.contains(&Rule::long_body) {
        return (rule_start, vec![LONG_UNCLOSED.to_owned()], Some(rule_start));
    }
    if deepest.contains(&Rule::string_body) {
        return (rule_start, Vec::new(), Some(rule_start));
    }
    // `ParsingToken` is not exported; its Display gives the literal for literal tokens,
    // `a..z` for character ranges and `BUILTIN_RULE` for ANY and friends: keep literals.
    let tokens: BTreeSet<String> = attempts
        .expected_tokens()
        .iter()
        .map(ToString::to_string)
        .filter(|t| {
            let is_range = t.chars().count() == 4 && t.get(1..3) == Some("..");
            !(t.is_empty() || t == "BUILTIN_RULE" || is_range || t.trim().is_empty() || t == "//")
        })
        .map(|t| format!("`{t}`"))
        .collect();
    let inside_token = deepest.iter().any(|&r| is_token_rule(r));
    // Keywords start with a one-letter range (the grammar's speed trick), so a misspelled
    // keyword whose first letter matches leaves pest expecting the rest of each keyword
    // (`eads`, `un`) one character into the word. Such a stop inside a word that began at the
    // rule's start is reported at the word, with the rules' names.
    let inside_word = attempts.max_position > rule_start
        && within_word(source, rule_start, attempts.max_position);
    if inside_token || tokens.is_empty() || (inside_word && !positives.is_empty()) {
        (rule_start, group(positives), None)
    } else {
        let mut words = tokens;
        if attempts.max_position == rule_start && !positives.is_empty() {
            // Rule names say it better than the characters that start those rules (`"`, `-`,
            // `true`); only structural punctuation and keywords are kept beside them.
            words.retain(|w| {
                let token = w.trim_matches('`');
                STRUCTURAL.contains(&token) || KEYWORDS.contains(&token)
            });
            words.extend(positives);
        }
        (attempts.max_position, group(words), None)
    }
}

/// Whether `source[start..end]` is all word characters: the parser stopped inside one word.
fn within_word(source: &str, start: usize, end: usize) -> bool {
    source
        .get(start..end)
        .is_some_and(|part| part.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_'))
}

/// Punctuation that shapes the file, worth naming beside rule names.
const STRUCTURAL: &[&str] = &["{", "}", "[", "]", ",", ":", "=", "->", ">=", "=="];

/// Rules that match one token: a failure inside one is reported at the token's start.
fn is_token_rule(rule: Rule) -> bool {
    !matches!(rule, Rule::EOI | Rule::step) && rule_word(rule).is_some()
}

fn unterminated_string(source: &str, start: usize) -> Diagnostic {
    let line_end = source
        .get(start..)
        .and_then(|rest| rest.find('\n'))
        .map_or(source.len(), |i| start + i);
    Diagnostic::new(
        Code::E0001,
        "unterminated string",
        Span::new(start, line_end),
        "this string is not closed on its line",
    )
    .help(
        "close the string with `\"` on the same line; write a line break inside a string as `\\n`",
    )
}

/// The marker `expectation` returns for a long string that is never closed.
const LONG_UNCLOSED: &str = "the end of a long string";

fn unterminated_long_string(source: &str, start: usize) -> Diagnostic {
    let line_end = source
        .get(start..)
        .and_then(|rest| rest.find('\n'))
        .map_or(source.len(), |i| start + i);
    Diagnostic::new(
        Code::E0001,
        "unterminated long string",
        Span::new(start, line_end),
        "this long string is never closed",
    )
    .help("close the long string with `\"\"\"`; inside it, a `\"\"\"` that is text is written `\\\"\"\"`")
}

/// An empty file, or one of only comments.
fn no_workflow() -> Diagnostic {
    Diagnostic::new(
        Code::E0001,
        "the file holds no workflow",
        Span::new(0, 0),
        "expected `workflow NAME { ... }`",
    )
    .help("a `.writ` file holds exactly one `workflow NAME { ... }`")
}

/// Messages for mistakes that deserve their own words rather than an expected-token list.
fn special_case(source: &str, span: Span, expected: &[String]) -> Option<Diagnostic> {
    if span.start >= source.trim_end().len() && expected.iter().any(|e| e == "`workflow`") {
        return Some(no_workflow());
    }
    let word = source.get(span.start..span.end).unwrap_or("");
    let next = source
        .get(span.end..)
        .unwrap_or("")
        .trim_start_matches([' ', '\t']);
    let wants_duration = expected.iter().any(|e| e.starts_with("a duration"));
    let is_number = !word.is_empty() && word.bytes().all(|b| b.is_ascii_digit());
    if wants_duration && is_number && next.starts_with(['s', 'm', 'h', 'd']) {
        let unit = next.get(..1).unwrap_or("h");
        let gap = source
            .get(span.end..)
            .map_or(0, |rest| rest.len() - next.len());
        return Some(
            Diagnostic::new(
                Code::E0001,
                "a space inside a duration",
                Span::new(span.start, span.end + gap + 1),
                "the number and its unit are apart",
            )
            .help(format!(
                "write the duration without a space: `{word}{unit}`"
            )),
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

/// The lists of keywords an error names as one, when every member is expected.
const GROUPS: &[(&str, &[&str])] = &[
    (
        "a step kind (`recommend`, `confirm`, `execute`, `rollback`)",
        &["`recommend`", "`confirm`", "`execute`", "`rollback`"],
    ),
    (
        "an item (`title`, `description`, `owner`, `role`, `system`, `input`)",
        &[
            "`title`",
            "`description`",
            "`owner`",
            "`role`",
            "`system`",
            "`input`",
        ],
    ),
    (
        "a clause (`after`, `reads`, `writes`, `run`, `yields`, `by`, `shows`, `expires`, `risk`, `approver`, `auto`, `capture`, `verify`, `repair by`, `allow no rows`)",
        &[
            "`after`",
            "`reads`",
            "`writes`",
            "`run`",
            "`yields`",
            "`by`",
            "`shows`",
            "`expires`",
            "`risk`",
            "`approver`",
            "`auto`",
            "`capture`",
            "`verify`",
            "`repair`",
            "`allow`",
        ],
    ),
    (
        "an action (`sql`, `exec`, `http`)",
        &["`sql`", "`exec`", "`http`"],
    ),
    (
        "a value (a string, number, `true`, `false` or a reference)",
        &["a literal", "a reference"],
    ),
];

/// Folds individual keywords into the name of the list they belong to, when all are expected.
fn group(mut words: BTreeSet<String>) -> Vec<String> {
    let mut out = Vec::new();
    for (name, members) in GROUPS {
        // A group arrives either as all its members or, from a rule's name, as itself.
        let named = words.remove(*name);
        if named || members.iter().all(|m| words.contains(*m)) {
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
        Rule::boolean => "`true` or `false`",
        Rule::zero => "`0`",
        Rule::connector => "a connector (`sqlite`, `exec` or `http`)",
        Rule::envelope => "`inside` or `outside`",
        Rule::type_name => "a type (`text`, `int`, `number` or `bool`)",
        Rule::risk_level => "a risk (`low`, `medium` or `high`)",
        Rule::method => "an HTTP method (`GET`, `POST`, `PUT`, `PATCH` or `DELETE`)",
        Rule::EOI => "the end of the file",
        Rule::step => "a step kind (`recommend`, `confirm`, `execute`, `rollback`)",
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
        Rule::kw_of => "`of`",
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
        Rule::kw_review => "`review`",
        Rule::kw_capture => "`capture`",
        Rule::kw_verify => "`verify`",
        Rule::kw_repair => "`repair`",
        Rule::kw_allow => "`allow`",
        Rule::kw_no => "`no`",
        Rule::kw_rows => "`rows`",
        Rule::kw_sql => "`sql`",
        Rule::kw_exec => "`exec`",
        Rule::kw_http => "`http`",
        Rule::kw_json => "`json`",
        _ => return None,
    })
}

/// The words that start items, steps and clauses, for suggestions.
const KEYWORDS: &[&str] = &[
    "title",
    "description",
    "owner",
    "role",
    "system",
    "input",
    "recommend",
    "confirm",
    "execute",
    "rollback",
    "after",
    "reads",
    "writes",
    "run",
    "yields",
    "by",
    "shows",
    "expires",
    "risk",
    "approver",
    "auto",
    "capture",
    "verify",
    "repair",
    "allow",
];

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

fn help_for(source: &str, span: Span, expected: &[String]) -> String {
    let before = source.get(..span.start).unwrap_or("").trim_end();
    if before.ends_with(',') {
        return "lists take no trailing comma: remove the last `,` or add the missing item"
            .to_owned();
    }
    // `role a, b,` then `system x: ...`: the keyword was read as one more list item.
    let previous_word = before
        .rsplit(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .next()
        .unwrap_or("");
    let before_word = before
        .get(..before.len() - previous_word.len())
        .unwrap_or("")
        .trim_end();
    if !previous_word.is_empty() && before_word.ends_with(',') && KEYWORDS.contains(&previous_word)
    {
        return format!(
            "`{previous_word}` was read as one more list item because of the `,` before it: lists take no trailing comma"
        );
    }
    let found = source.get(span.start..span.end).unwrap_or("");
    let wants_keyword = expected.iter().any(|e| {
        e.starts_with("a clause") || e.starts_with("an item") || e.starts_with("a step kind")
    });
    if wants_keyword
        && let Some(keyword) = crate::suggest::did_you_mean(found, KEYWORDS.iter().copied())
    {
        return format!("did you mean `{keyword}`?");
    }
    if expected.iter().any(|e| e.starts_with("a clause")) {
        return "a step's block holds clauses such as `reads`, `run`, `yields`; close it with `}`; \
                `writ explain E0104` and docs/language.md say which clause fits which step"
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
