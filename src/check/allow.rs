//! `// writ: allow CODE[, CODE...]`: silencing a warning where a person decided it does not
//! apply, and reporting every allow that silences nothing (W0307).
//!
//! Where an allow applies: a comment after code covers its own line; a comment alone on its
//! line covers the next line with code. When that line opens a block (ends with `{`), the
//! whole block is covered: an allow on a step's first line, or just above it, covers the
//! step; above `workflow`, the file. Only warnings can be allowed: an error makes a workflow
//! unsafe to run, so an allow naming one is itself reported, and the error stands.

use crate::diagnostics::{Code, Diagnostic, Severity};
use crate::syntax::ast::Span;
use crate::syntax::lex::{self, Token, TokenKind};

const MARKER: &str = "writ: allow";

/// One code named by one allow comment, and the text it covers.
struct Allowance {
    code: Option<Code>,
    /// The code's text in the comment (reported when unused).
    written: Span,
    covers: Span,
    used: bool,
}

/// Drops the warnings an allow covers and adds W0307 for each allowance that covered none.
pub fn apply(source: &str, diagnostics: &mut Vec<Diagnostic>) {
    // Most files have no allow: one substring search, no lexing.
    if !source.contains(MARKER) {
        return;
    }
    let tokens = lex::tokens(source);
    let mut allowances = collect(source, &tokens);
    let allowed = sweep(&mut allowances, diagnostics);
    let mut index = 0;
    diagnostics.retain(|_| {
        index += 1;
        !allowed.get(index - 1).copied().unwrap_or(false)
    });
    for allowance in allowances.iter().filter(|a| !a.used) {
        diagnostics.push(unused(source, allowance));
    }
    crate::diagnostics::sort(diagnostics);
}

/// Which diagnostics an allowance covers (by index), marking the allowances used.
///
/// A sweep over positions, so a hostile file with many allows and many warnings costs
/// O((allows + warnings) log allows), not their product: allowances enter an active set at
/// their start and leave it at their end; a warning is allowed when an allowance of its code is
/// active; each allowance is marked used once.
fn sweep(allowances: &mut [Allowance], diagnostics: &[Diagnostic]) -> Vec<bool> {
    use std::collections::{BTreeMap, BTreeSet};
    let mut by_start: Vec<usize> = (0..allowances.len()).collect();
    by_start.sort_by_key(|&i| allowances.get(i).map_or(0, |a| a.covers.start));
    let mut order: Vec<usize> = (0..diagnostics.len()).collect();
    order.sort_by_key(|&i| diagnostics.get(i).map_or(0, |d| d.primary.span.start));
    // Per code: the active allowances, and those of them not yet marked used, by (end, index).
    let mut active: BTreeMap<Code, BTreeSet<(usize, usize)>> = BTreeMap::new();
    let mut unused: BTreeMap<Code, BTreeSet<(usize, usize)>> = BTreeMap::new();
    let mut next = 0;
    let mut allowed = vec![false; diagnostics.len()];
    for index in order {
        let Some(diagnostic) = diagnostics.get(index) else {
            continue;
        };
        let at = diagnostic.primary.span.start;
        while let Some(allowance) = by_start
            .get(next)
            .and_then(|&i| allowances.get(i).map(|a| (i, a)))
        {
            let (i, allowance) = allowance;
            if allowance.covers.start > at {
                break;
            }
            if let Some(code) = allowance.code {
                active
                    .entry(code)
                    .or_default()
                    .insert((allowance.covers.end, i));
                unused
                    .entry(code)
                    .or_default()
                    .insert((allowance.covers.end, i));
            }
            next += 1;
        }
        if diagnostic.severity() == Severity::Error {
            continue;
        }
        let code = diagnostic.code;
        let expired = |set: &mut BTreeSet<(usize, usize)>| {
            while set.first().is_some_and(|&(end, _)| end <= at) {
                set.pop_first();
            }
        };
        let live = active.get_mut(&code).is_some_and(|set| {
            expired(set);
            !set.is_empty()
        });
        if !live {
            continue;
        }
        if let Some(slot) = allowed.get_mut(index) {
            *slot = true;
        }
        if let Some(set) = unused.get_mut(&code) {
            expired(set);
            for (_, i) in std::mem::take(set) {
                if let Some(allowance) = allowances.get_mut(i) {
                    allowance.used = true;
                }
            }
        }
    }
    allowed
}

fn unused(source: &str, allowance: &Allowance) -> Diagnostic {
    let written = source
        .get(allowance.written.start..allowance.written.end)
        .unwrap_or("?");
    let (message, label, help) = match allowance.code {
        None => (
            format!("`{written}` in an allow comment is not a diagnostic code"),
            "not a code",
            "name a warning code such as `W0304`; `writ explain CODE` lists what each means"
                .to_owned(),
        ),
        Some(code) if code.severity() == Severity::Error => (
            format!("`{code}` is an error and cannot be allowed"),
            "errors cannot be allowed",
            format!("fix what {code} reports (`writ explain {code}`), then remove this allow"),
        ),
        Some(code) => (
            format!("this allow of `{code}` allows nothing"),
            "no such warning here",
            "remove the allow, or move it onto the line or step the warning is about".to_owned(),
        ),
    };
    Diagnostic::new(Code::W0307, message, allowance.written, label).help(help)
}

/// Every allowance of every allow comment.
fn collect(source: &str, tokens: &[Token]) -> Vec<Allowance> {
    let mut out = Vec::new();
    // For each token, the index of the next code token after it (comments skipped).
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
    let mut block_ends = std::collections::HashMap::new();
    for (index, token) in tokens.iter().enumerate() {
        if token.kind != TokenKind::Comment {
            continue;
        }
        let text = token.text(source);
        let Some(marker_at) = text.find(MARKER) else {
            continue;
        };
        let body = text.trim_start_matches('/').trim_start();
        if !body.starts_with(MARKER) {
            continue;
        }
        let covers = coverage(source, tokens, &next_code, &mut block_ends, index);
        let list_start = token.span.start + marker_at + MARKER.len();
        for (offset, word) in codes(source.get(list_start..token.span.end).unwrap_or("")) {
            let start = list_start + offset;
            out.push(Allowance {
                code: Code::parse(word),
                written: Span::new(start, start + word.len()),
                covers,
                used: false,
            });
        }
    }
    out
}

/// The code words after `allow`, with their offsets: `W0301, W0304 -- reason` gives two. The
/// list ends at the first word that does not look like a code (a letter and four digits).
fn codes(list: &str) -> Vec<(usize, &str)> {
    let mut out = Vec::new();
    let mut at = 0;
    for part in list.split_inclusive([' ', ',', '\t']) {
        let word = part.trim_end_matches([' ', ',', '\t']);
        let looks_like_code = word.len() == 5
            && word.starts_with(|c: char| c.is_ascii_alphabetic())
            && word
                .get(1..)
                .is_some_and(|d| d.bytes().all(|b| b.is_ascii_digit()));
        if !word.is_empty() {
            if !looks_like_code {
                break;
            }
            out.push((at, word));
        }
        at += part.len();
    }
    out
}

/// What the allow comment at `tokens[index]` covers (see the module comment).
fn coverage(
    source: &str,
    tokens: &[Token],
    next_code: &[Option<usize>],
    block_ends: &mut std::collections::HashMap<usize, usize>,
    index: usize,
) -> Span {
    let comment = tokens.get(index).map_or(Span::new(0, 0), |t| t.span);
    let before = index.checked_sub(1).and_then(|i| tokens.get(i));
    let trailing = before.is_some_and(|t| !has_newline(source, t.span.end, comment.start));
    let line_start = if trailing {
        line_start_of(source, comment.start)
    } else {
        match next_code
            .get(index)
            .copied()
            .flatten()
            .and_then(|i| tokens.get(i))
        {
            Some(next) => line_start_of(source, next.span.start),
            None => return Span::new(comment.start, comment.start),
        }
    };
    let line_end = source
        .get(line_start..)
        .and_then(|rest| rest.find('\n'))
        .map_or(source.len(), |i| line_start + i);
    // The last code token on the covered line: a `{` there opens a block to cover whole.
    let first = tokens.partition_point(|t| t.span.start < line_start);
    let past = tokens.partition_point(|t| t.span.start < line_end);
    let last_code = (first..past)
        .rev()
        .filter_map(|i| tokens.get(i).map(|t| (i, t)))
        .find(|(_, t)| t.kind != TokenKind::Comment);
    match last_code {
        Some((open, t)) if t.text(source) == "{" => {
            // Cached: many allows above one block must not each walk it.
            let end = *block_ends
                .entry(open)
                .or_insert_with(|| block_end(source, tokens, open));
            Span::new(line_start, end)
        }
        _ => Span::new(line_start, line_end),
    }
}

/// Just past the `}` matching the `{` at `tokens[open]` (the end of the file if none does).
fn block_end(source: &str, tokens: &[Token], open: usize) -> usize {
    let mut depth = 0usize;
    for token in tokens.iter().skip(open) {
        if token.kind != TokenKind::Punct {
            continue;
        }
        match token.text(source) {
            "{" => depth += 1,
            "}" => {
                depth = depth.saturating_sub(1);
                if depth == 0 {
                    return token.span.end;
                }
            }
            _ => {}
        }
    }
    source.len()
}

fn has_newline(source: &str, from: usize, to: usize) -> bool {
    source.get(from..to).is_some_and(|gap| gap.contains('\n'))
}

fn line_start_of(source: &str, at: usize) -> usize {
    source
        .get(..at)
        .and_then(|before| before.rfind('\n'))
        .map_or(0, |i| i + 1)
}
