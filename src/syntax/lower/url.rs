//! Lowering of URL templates: the `{references}` of an http URL with their spans in the file,
//! and E0001 for a brace that is not a template (`syntax::template`).

use smol_str::SmolStr;

use super::Lowering;
use crate::diagnostics::{Code, Diagnostic};
use crate::syntax::ast::*;
use crate::syntax::strings::raw_offset;
use crate::syntax::template::{self, Piece};

impl Lowering {
    /// Finds the `{references}` of a URL template, with spans in the workflow file.
    pub(super) fn url_references(
        &mut self,
        url: &str,
        raw: &str,
        body_start: usize,
    ) -> Vec<Reference> {
        let map = |offset: usize| {
            if url.len() == raw.len() {
                body_start + offset
            } else {
                body_start + raw_offset(raw, offset)
            }
        };
        let to_span = |range: &std::ops::Range<usize>| Span::new(map(range.start), map(range.end));
        let mut references = Vec::new();
        for piece in template::pieces(url) {
            match piece {
                Piece::Text(_) => {}
                Piece::Reference {
                    range,
                    target,
                    field,
                    ..
                } => {
                    let ident = |part: &std::ops::Range<usize>| Ident {
                        name: SmolStr::new(url.get(part.clone()).unwrap_or("")),
                        span: to_span(part),
                    };
                    references.push(Reference {
                        target: ident(&target),
                        field: field.as_ref().map(ident),
                        span: to_span(&range),
                    });
                }
                Piece::Bad { range, why } => self.error(
                    Diagnostic::new(Code::E0001, "this URL is not a valid template", to_span(&range), why)
                        .help("write `{name}` or `{step.field}` for a value, `{{` and `}}` for literal braces"),
                ),
            }
        }
        references
    }
}
