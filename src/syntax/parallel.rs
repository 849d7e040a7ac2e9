//! Parsing a large file on several threads.
//!
//! pest parses one file on one thread; a workflow of many thousand steps is most of its cost.
//! Here the body of a large workflow is split between steps, each part is parsed and lowered on
//! its own thread, and the items are joined in order. Each part is parsed from a copy of the
//! file in which everything before it is blanked to spaces, so pest reports the original byte
//! offsets and the lowering runs unchanged: the tree is the one the sequential parse builds,
//! spans included (a test compares them).
//!
//! Anything unexpected (a syntax error, a lowering diagnostic, text after the closing brace, a
//! brace count that does not add up) returns `None`, and the caller parses sequentially: errors
//! are always explained by the one sequential path.

use std::thread;

use pest::Parser as _;

use super::ast::{Span, Workflow};
use super::lower::Lowering;
use super::parse::{Rule, WritParser};

/// Below this size the threads cost more than they save.
pub const MIN_BYTES: usize = 512 * 1024;

pub fn parse(source: &str) -> Option<Workflow> {
    // Size first: asking for the core count reads cgroup files, which on 10,000 small files
    // (`writ check DIR`) was ~17% of the time.
    if source.len() < MIN_BYTES {
        return None;
    }
    let threads = thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(8);
    if threads < 2 {
        return None;
    }
    let layout = scan(source)?;
    let cuts = cuts(&layout, threads);
    let (name, head_span) = head(source)?;
    if head_span.end != layout.open + 1 {
        return None;
    }
    let parts: Vec<Option<Vec<super::ast::Item>>> = thread::scope(|scope| {
        let handles: Vec<_> = cuts
            .windows(2)
            .filter_map(|w| match w {
                [start, end] => Some((*start, *end)),
                _ => None,
            })
            .map(|(start, end)| scope.spawn(move || chunk(source, start, end)))
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().ok().flatten())
            .collect()
    });
    let mut items = Vec::new();
    for part in parts {
        items.extend(part?);
    }
    Some(Workflow {
        name,
        items,
        span: Span::new(head_span.start, layout.close + 1),
    })
}

/// `workflow NAME {`: the name and the span from the keyword to the brace.
fn head(source: &str) -> Option<(super::ast::Ident, Span)> {
    let mut pairs = WritParser::parse(Rule::head, source).ok()?;
    let mut lowering = Lowering::new();
    let head = lowering.head(pairs.next()?)?;
    lowering.diagnostics.is_empty().then_some(head)
}

/// Parses and lowers the items in `source[start..end]`, with everything before blanked.
fn chunk(source: &str, start: usize, end: usize) -> Option<Vec<super::ast::Item>> {
    let mut padded = String::with_capacity(end);
    padded.extend(std::iter::repeat_n(' ', start));
    padded.push_str(source.get(start..end)?);
    let mut pairs = WritParser::parse(Rule::chunk, &padded).ok()?;
    let mut lowering = Lowering::new();
    let items = lowering.chunk_items(pairs.next()?)?;
    lowering.diagnostics.is_empty().then_some(items)
}

/// Where the workflow's braces are, and where each step ends.
struct Layout {
    /// The `{` that opens the workflow.
    open: usize,
    /// The `}` that closes it.
    close: usize,
    /// Just after each `}` that closes a block inside the workflow: items end there.
    ends: Vec<usize>,
}

/// Finds the workflow's braces and the item ends, skipping strings and comments; `None` when
/// the shape is not a single well-bracketed workflow followed by nothing but blanks and comments.
fn scan(source: &str) -> Option<Layout> {
    let bytes = source.as_bytes();
    let (mut depth, mut at) = (0usize, 0usize);
    let (mut open, mut close) = (None, None);
    let mut ends = Vec::new();
    while let Some(&b) = bytes.get(at) {
        let is_comment = b == b'/' && bytes.get(at + 1) == Some(&b'/');
        if close.is_some() && !b.is_ascii_whitespace() && !is_comment {
            return None;
        }
        match b {
            b'"' => at = string_end(bytes, at)?,
            b'/' if is_comment => {
                at = bytes
                    .iter()
                    .skip(at)
                    .position(|&c| c == b'\n')
                    .map_or(bytes.len(), |i| at + i);
                continue;
            }
            b'{' => {
                depth += 1;
                if depth == 1 {
                    open.get_or_insert(at);
                }
            }
            b'}' => {
                depth = depth.checked_sub(1)?;
                match depth {
                    0 => close = Some(at),
                    1 => ends.push(at + 1),
                    _ => {}
                }
            }
            _ => {}
        }
        at += 1;
    }
    Some(Layout {
        open: open?,
        close: close?,
        ends,
    })
}

/// The index of the last `"` closing the string opened at `start`; `None` if an ordinary
/// string runs off the line or a long one (`"""`) off the file.
fn string_end(bytes: &[u8], start: usize) -> Option<usize> {
    if bytes.get(start..start + 3) == Some(b"\"\"\"") {
        let mut at = start + 3;
        loop {
            match bytes.get(at)? {
                b'\\' => at += 2,
                b'"' if bytes.get(at..at + 3) == Some(b"\"\"\"") => return Some(at + 2),
                _ => at += 1,
            }
        }
    }
    let mut at = start + 1;
    loop {
        match bytes.get(at)? {
            b'"' => return Some(at),
            b'\\' => at += 2,
            b'\n' => return None,
            _ => at += 1,
        }
    }
}

/// The boundaries of `threads` parts of about equal size: just after the `{` that opens the
/// workflow, at item ends, and at the closing `}`.
fn cuts(layout: &Layout, threads: usize) -> Vec<usize> {
    let (first, last) = (layout.open + 1, layout.close);
    let size = (last - first) / threads.max(1);
    let mut cuts = vec![first];
    for part in 1..threads {
        let target = first + part * size;
        let at = layout.ends.partition_point(|&end| end < target);
        if let Some(&end) = layout.ends.get(at)
            && cuts.last().is_some_and(|&previous| end > previous)
            && end < last
        {
            cuts.push(end);
        }
    }
    cuts.push(last);
    cuts
}
