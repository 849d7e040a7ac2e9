//! `writ fmt`: one canonical layout for a workflow file.
//!
//! The layout: the workflow and each step are blocks (`NAME {` on one line, their contents
//! indented by two spaces, `}` on its own line); every item and clause inside a block is one
//! line; tokens on a line are separated by one space, except none before `,` `:` `]` and none
//! after `[` (and `{}` for an empty JSON body). At most one blank line is kept where the file
//! had blank lines, none after a block opens or before it closes. Comments are all kept: a
//! comment after code stays after it (one space before `//`), a comment on its own line
//! stays on its own line, indented as the line it precedes; code after a comment inside a
//! clause continues on the next line, indented one more step.
//!
//! Only whitespace between tokens changes; every token is written exactly as it was, long
//! strings included, so the parsed workflow (and its plan's fingerprint) is the same.
//!
//! The formatter knows no clause: lines are the children of a block in pest's tree, whatever
//! their rule. A new clause form needs no change here; a new kind of block (a rule holding
//! lines between `{` and `}`) is one entry in [`is_block`].

use pest::iterators::Pair;

use super::lex::{self, Token, TokenKind};
use super::parse::{Rule, parse_tree};
use crate::diagnostics::Diagnostic;

/// The indentation of one level.
const INDENT: &str = "  ";

/// The rules whose contents between `{` and `}` are lines.
fn is_block(rule: Rule) -> bool {
    matches!(rule, Rule::workflow | Rule::step)
}

#[derive(Clone, Copy, Default)]
struct Mark {
    /// The token starts a line at this depth.
    line: Option<usize>,
    /// The token is a block's `{`: the line ends after it.
    opens: bool,
    /// The token is a block's `}`.
    closes: bool,
}

/// The canonical layout of `source`, or its syntax errors (nothing is formatted then).
pub fn format(source: &str) -> Result<String, Vec<Diagnostic>> {
    let tree = parse_tree(source).map_err(|diagnostic| vec![*diagnostic])?;
    let tokens = lex::tokens(source);
    let mut marks = vec![Mark::default(); tokens.len()];
    for child in tree.into_inner() {
        if is_block(child.as_rule()) {
            mark_block(source, &child, 0, &tokens, &mut marks);
        }
    }
    Ok(emit(source, &tokens, &marks))
}

fn token_at(tokens: &[Token], offset: usize) -> Option<usize> {
    let index = tokens.partition_point(|t| t.span.start < offset);
    tokens
        .get(index)
        .is_some_and(|t| t.span.start == offset)
        .then_some(index)
}

fn mark_block(
    source: &str,
    pair: &Pair<'_, Rule>,
    depth: usize,
    tokens: &[Token],
    marks: &mut [Mark],
) {
    let span = pair.as_span();
    let Some(first) = token_at(tokens, span.start()) else {
        return;
    };
    // The block's `{` is its first `{` (nothing before it in a block's head holds one), and
    // its `}` is its last token.
    let open = tokens
        .iter()
        .enumerate()
        .skip(first)
        .take_while(|(_, t)| t.span.start < span.end())
        .find(|(_, t)| t.kind == TokenKind::Punct && t.text(source) == "{")
        .map(|(i, _)| i);
    let close = tokens
        .partition_point(|t| t.span.end <= span.end())
        .checked_sub(1);
    let (Some(open), Some(close)) = (open, close) else {
        return;
    };
    set(marks, first, |m| m.line = Some(depth));
    set(marks, open, |m| m.opens = true);
    set(marks, close, |m| {
        m.line = Some(depth);
        m.closes = true;
    });
    let open_at = tokens.get(open).map_or(0, |t| t.span.start);
    for child in pair.clone().into_inner() {
        if child.as_span().start() <= open_at {
            continue;
        }
        if is_block(child.as_rule()) {
            mark_block(source, &child, depth + 1, tokens, marks);
        } else if let Some(start) = token_at(tokens, child.as_span().start()) {
            set(marks, start, |m| m.line = Some(depth + 1));
        }
    }
}

fn set(marks: &mut [Mark], index: usize, change: impl FnOnce(&mut Mark)) {
    if let Some(mark) = marks.get_mut(index) {
        change(mark);
    }
}

/// Lines longer than this are wrapped after a `,` outside brackets.
const MAX_WIDTH: usize = 100;

/// Writes the tokens out with the layout the marks call for.
fn emit(source: &str, tokens: &[Token], marks: &[Mark]) -> String {
    // For each token, the next code token after it: found once, not per comment.
    let mut next_code = vec![None; tokens.len()];
    let mut following = None;
    for (index, token) in tokens.iter().enumerate().rev() {
        if let Some(slot) = next_code.get_mut(index) {
            *slot = following;
        }
        if token.kind != TokenKind::Comment {
            following = Some(index);
        }
    }
    let mut writer = Writer {
        source,
        tokens,
        marks,
        next_code,
        out: String::with_capacity(source.len() + source.len() / 8),
        depth: 0,
        broken: false,
        just_opened: false,
        brackets: 0,
        hang: None,
    };
    let mut previous: Option<&Token> = None;
    for (index, token) in tokens.iter().enumerate() {
        let gap_lines = previous.map_or(0, |p| newlines(source, p.span.end, token.span.start));
        if token.kind == TokenKind::Comment {
            writer.comment(
                index,
                token,
                previous.is_some() && gap_lines == 0,
                gap_lines,
            );
        } else {
            writer.code(index, token, previous, gap_lines);
        }
        previous = Some(token);
    }
    writer.out.push('\n');
    writer.out
}

struct Writer<'a> {
    source: &'a str,
    tokens: &'a [Token],
    marks: &'a [Mark],
    next_code: Vec<Option<usize>>,
    out: String,
    /// The depth of the line being written.
    depth: usize,
    /// The line ended (a comment) inside a clause: code continues on the next line.
    broken: bool,
    /// The last line written opened a block: no blank line may follow it.
    just_opened: bool,
    /// Open `[` and `{` on the current line (a wrap happens only outside them).
    brackets: usize,
    /// Where a wrapped line continues: the column of the line's second token.
    hang: Option<usize>,
}

impl Writer<'_> {
    fn comment(&mut self, index: usize, token: &Token, trailing: bool, gap_lines: usize) {
        if trailing {
            self.out.push(' ');
        } else {
            let next = self.next_code.get(index).copied().flatten();
            let at = comment_depth(self.marks, next, self.depth, index);
            new_line(&mut self.out, at, gap_lines >= 2 && !self.just_opened);
            self.just_opened = false;
        }
        self.out.push_str(token.text(self.source).trim_end());
        self.broken = true;
    }

    fn code(&mut self, index: usize, token: &Token, previous: Option<&Token>, gap_lines: usize) {
        let mark = self.marks.get(index).copied().unwrap_or_default();
        let text = token.text(self.source);
        if let Some(line_depth) = mark.line {
            let blank = gap_lines >= 2 && !self.just_opened && !mark.closes;
            new_line(&mut self.out, line_depth, blank);
            self.depth = line_depth;
            self.broken = false;
            self.just_opened = mark.opens;
            self.brackets = 0;
            self.hang = None;
        } else {
            let previous_text = previous.map_or("", |p| p.text(self.source));
            if self.broken {
                new_line(&mut self.out, self.depth + 1, false);
                self.broken = false;
            } else if previous_text == "," && self.brackets == 0 && self.overflows(index) {
                let hang = self.hang.unwrap_or(INDENT.len() * (self.depth + 1));
                self.out.push('\n');
                self.out.push_str(&" ".repeat(hang));
            } else if previous.is_some() && spaced(previous_text, text) {
                self.out.push(' ');
            }
            if self.hang.is_none() {
                self.hang = Some(self.width());
            }
            self.just_opened = self.just_opened || mark.opens;
        }
        if !mark.opens {
            match text {
                "[" | "{" => self.brackets += 1,
                "]" | "}" => self.brackets = self.brackets.saturating_sub(1),
                _ => {}
            }
        }
        self.out.push_str(text);
    }

    /// The width of the line being written, in characters.
    fn width(&self) -> usize {
        let start = self.out.rfind('\n').map_or(0, |i| i + 1);
        self.out.get(start..).map_or(0, |line| line.chars().count())
    }

    /// Whether the list item starting at `tokens[index]` (up to and with the next `,` outside
    /// brackets) would pass the width limit after a space.
    fn overflows(&self, index: usize) -> bool {
        let mut width = self.width() + 1;
        let mut depth = 0usize;
        let mut previous = "";
        for (i, token) in self.tokens.iter().enumerate().skip(index) {
            let mark = self.marks.get(i).copied().unwrap_or_default();
            if token.kind == TokenKind::Comment || (i > index && mark.line.is_some()) {
                break;
            }
            let text = token.text(self.source);
            if i > index && spaced(previous, text) {
                width += 1;
            }
            width += text.chars().count();
            match text {
                "[" | "{" => depth += 1,
                "]" | "}" => depth = depth.saturating_sub(1),
                "," if depth == 0 => break,
                _ => {}
            }
            previous = text;
        }
        width > MAX_WIDTH
    }
}

/// The depth of a comment on its own line: that of the line it precedes (one more before a
/// block's `}`, where it belongs to the block), or a continuation inside a clause.
fn comment_depth(marks: &[Mark], next_code: Option<usize>, depth: usize, index: usize) -> usize {
    match next_code.and_then(|i| marks.get(i)) {
        Some(Mark {
            line: Some(d),
            closes,
            ..
        }) => d + usize::from(*closes),
        Some(_) if index > 0 => depth + 1,
        _ => depth,
    }
}

/// Starts a new line (after a blank one if `blank`) indented `depth` levels; nothing at the
/// start of the file.
fn new_line(out: &mut String, depth: usize, blank: bool) {
    if !out.is_empty() {
        out.push('\n');
        if blank {
            out.push('\n');
        }
    }
    for _ in 0..depth {
        out.push_str(INDENT);
    }
}

fn newlines(source: &str, from: usize, to: usize) -> usize {
    source
        .get(from..to)
        .map_or(0, |gap| gap.bytes().filter(|&b| b == b'\n').count())
}

/// Whether two tokens on one line are separated by a space.
fn spaced(previous: &str, next: &str) -> bool {
    !(matches!(next, "," | ":" | "]") || previous == "[" || (previous == "{" && next == "}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn formatted(source: &str) -> String {
        format(source).unwrap_or_else(|d| panic!("{d:?}"))
    }

    #[test]
    fn lays_out_blocks_lines_and_comments() {
        let source = "// head\n\n\nworkflow w{title   \"t\"  // why\n\n\n  role a,b\n  recommend s {   reads db\n\n    run sql \"\"\"SELECT 1\n   FROM t\"\"\"\n  yields x:text in [\"a\" , \"b\"]\n  // last\n}\n system db : sqlite inside}\n";
        let expected = "// head\n\nworkflow w {\n  title \"t\" // why\n\n  role a, b\n  recommend s {\n    reads db\n\n    run sql \"\"\"SELECT 1\n   FROM t\"\"\"\n    yields x: text in [\"a\", \"b\"]\n    // last\n  }\n  system db: sqlite inside\n}\n";
        assert_eq!(formatted(source), expected);
        assert_eq!(formatted(expected), expected);
    }

    #[test]
    fn a_comment_inside_a_clause_continues_it_on_the_next_line() {
        let source = "workflow w {\n  role a, // first\n b\n}\n";
        let expected = "workflow w {\n  role a, // first\n    b\n}\n";
        assert_eq!(formatted(source), expected);
        assert_eq!(formatted(expected), expected);
    }

    #[test]
    fn refuses_a_file_that_does_not_parse() {
        assert!(format("workflow w {").is_err());
    }
}
