//! The source text as miette reads it when drawing a snippet.
//!
//! miette's own `SourceCode` for strings scans from the start of the file on every read, and
//! draws whole lines. On hostile input (a 10 MB file with hundreds of diagnostics, or one
//! 9 MB line) that is minutes of work. This version indexes line starts once, finds lines by
//! binary search, and clips a very long line to a window around the span.

use miette::{MietteError, MietteSpanContents, SourceCode, SourceSpan, SpanContents};

/// The longest snippet drawn; a longer one is clipped to a window around the span.
const MAX_SNIPPET_BYTES: usize = 2_048;
/// How much of a clipped line is kept on each side of the span.
const WINDOW_MARGIN: usize = 120;

pub struct IndexedSource {
    name: String,
    text: String,
    /// Byte offset of the first byte of each line; `line_starts[0] == 0`.
    line_starts: Vec<usize>,
}

impl IndexedSource {
    pub fn new(name: &str, text: &str) -> IndexedSource {
        let mut line_starts = vec![0];
        line_starts.extend(
            text.bytes()
                .enumerate()
                .filter(|&(_, b)| b == b'\n')
                .map(|(i, _)| i + 1),
        );
        IndexedSource {
            name: name.to_owned(),
            text: text.to_owned(),
            line_starts,
        }
    }

    pub fn len(&self) -> usize {
        self.text.len()
    }

    pub fn is_empty(&self) -> bool {
        self.text.is_empty()
    }

    /// The 0-based line holding byte `offset`.
    fn line_of(&self, offset: usize) -> usize {
        self.line_starts
            .partition_point(|&start| start <= offset)
            .saturating_sub(1)
    }

    fn line_start(&self, line: usize) -> usize {
        self.line_starts
            .get(line)
            .copied()
            .unwrap_or(self.text.len())
    }

    /// The offset just past line `line`, its newline included.
    fn line_end(&self, line: usize) -> usize {
        self.line_starts
            .get(line + 1)
            .copied()
            .unwrap_or(self.text.len())
    }

    fn floor_boundary(&self, mut offset: usize) -> usize {
        offset = offset.min(self.text.len());
        while offset > 0 && !self.text.is_char_boundary(offset) {
            offset -= 1;
        }
        offset
    }

    fn ceil_boundary(&self, mut offset: usize) -> usize {
        while offset < self.text.len() && !self.text.is_char_boundary(offset) {
            offset += 1;
        }
        offset.min(self.text.len())
    }
}

impl SourceCode for IndexedSource {
    fn read_span<'a>(
        &'a self,
        span: &SourceSpan,
        context_lines_before: usize,
        context_lines_after: usize,
    ) -> Result<Box<dyn SpanContents<'a> + 'a>, MietteError> {
        let start = span.offset();
        let end = start.saturating_add(span.len());
        if end > self.text.len() {
            return Err(MietteError::OutOfBounds);
        }
        let first_line = self.line_of(start);
        let last_line = self.line_of(end.saturating_sub(1).max(start));
        let context_last =
            (last_line + context_lines_after).min(self.line_starts.len().saturating_sub(1));
        // Like miette: with no lines before, the snippet starts at the span itself.
        let mut data_start = if context_lines_before == 0 {
            start
        } else {
            self.line_start(first_line.saturating_sub(context_lines_before))
        };
        let mut data_end = self.line_end(context_last);
        if data_end - data_start > MAX_SNIPPET_BYTES {
            data_start = self.floor_boundary(data_start.max(start.saturating_sub(WINDOW_MARGIN)));
            data_end =
                self.ceil_boundary(data_end.min(end.max(start).saturating_add(WINDOW_MARGIN)));
        }
        let data = self
            .text
            .get(data_start..data_end)
            .ok_or(MietteError::OutOfBounds)?;
        let line = self.line_of(data_start);
        let column = data_start - self.line_start(line);
        // As miette's own reader: the newlines before the snippet's end, counted from the start
        // of the file (its renderer merges nearby snippets on this figure).
        let line_count = self.line_of(data_end);
        Ok(Box::new(MietteSpanContents::new_named(
            self.name.clone(),
            data.as_bytes(),
            (data_start, data_end - data_start).into(),
            line,
            column,
            line_count,
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(
        source: &IndexedSource,
        start: usize,
        len: usize,
        around: usize,
    ) -> (String, usize, usize) {
        let contents = source
            .read_span(&(start, len).into(), around, around)
            .expect("in bounds");
        let data = String::from_utf8_lossy(contents.data()).into_owned();
        (data, contents.line(), contents.column())
    }

    #[test]
    fn reads_the_lines_around_a_span() {
        let source = IndexedSource::new("f", "one\ntwo\nthree\nfour\n");
        let (data, line, column) = read(&source, 8, 5, 1);
        assert_eq!((data.as_str(), line, column), ("two\nthree\nfour\n", 1, 0));
    }

    #[test]
    fn span_start_without_context() {
        let source = IndexedSource::new("f", "one\ntwo three\n");
        let (data, line, column) = read(&source, 8, 5, 0);
        assert_eq!((data.as_str(), line, column), ("three\n", 1, 4));
    }

    #[test]
    fn clips_a_huge_line_around_the_span() {
        let text = format!("{}TARGET{}", "a".repeat(100_000), "b".repeat(100_000));
        let source = IndexedSource::new("f", &text);
        let (data, line, column) = read(&source, 100_000, 6, 2);
        assert!(
            data.contains("TARGET") && data.len() < 300,
            "{}",
            data.len()
        );
        assert_eq!((line, column), (0, 100_000 - WINDOW_MARGIN));
    }

    #[test]
    fn out_of_bounds_is_an_error() {
        let source = IndexedSource::new("f", "abc");
        assert!(source.read_span(&(2, 5).into(), 0, 0).is_err());
    }
}
