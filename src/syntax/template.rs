//! URL templates: `{ref}` in an `http` URL stands for a value, `{{` and `}}` for literal
//! braces. One scanner serves the lowering (which reports references with their spans) and the
//! runtime (which substitutes encoded values), so both read a URL the same way.

use std::ops::Range;

/// One piece of a URL template; ranges index the URL text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Piece {
    /// Text sent as written (a `{{` or `}}` is one brace here).
    Text(String),
    /// `{target}` or `{target.field}`: `range` is the whole reference between the braces.
    Reference {
        range: Range<usize>,
        target: Range<usize>,
        field: Option<Range<usize>>,
        /// Whether it stands in the query (after the first `?`), not the path.
        in_query: bool,
    },
    /// Something that is not a template: an unclosed `{`, a lone `}`, or braces around
    /// something other than a reference.
    Bad {
        range: Range<usize>,
        why: &'static str,
    },
}

/// The pieces of `url`, in order.
pub fn pieces(url: &str) -> Vec<Piece> {
    let mut out = Vec::new();
    let mut text = String::new();
    let mut in_query = false;
    let mut chars = url.char_indices().peekable();
    while let Some((at, c)) = chars.next() {
        match c {
            '{' if chars.peek().map(|(_, n)| *n) == Some('{') => {
                chars.next();
                text.push('{');
            }
            '}' if chars.peek().map(|(_, n)| *n) == Some('}') => {
                chars.next();
                text.push('}');
            }
            '{' => {
                if !text.is_empty() {
                    out.push(Piece::Text(std::mem::take(&mut text)));
                }
                let start = at + 1;
                let end = url.get(start..).and_then(|rest| rest.find('}'));
                let Some(length) = end else {
                    out.push(Piece::Bad {
                        range: at..url.len(),
                        why: "`{` is not closed; write `{{` for a literal brace",
                    });
                    return out;
                };
                out.push(reference(url, start..start + length, in_query));
                while chars.peek().is_some_and(|(i, _)| *i <= start + length) {
                    chars.next();
                }
            }
            '}' => out.push(Piece::Bad {
                range: at..at + 1,
                why: "a `}` without its `{`; write `}}` for a literal brace",
            }),
            other => {
                if other == '?' {
                    in_query = true;
                }
                text.push(other);
            }
        }
    }
    if !text.is_empty() {
        out.push(Piece::Text(text));
    }
    out
}

/// The reference between braces at `range`: `name` or `name.field`, identifiers only.
fn reference(url: &str, range: Range<usize>, in_query: bool) -> Piece {
    let inner = url.get(range.clone()).unwrap_or_default();
    let ident = |s: &str| {
        let mut chars = s.chars();
        chars
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
            && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
    };
    let (target, field) = match inner.split_once('.') {
        Some((target, field)) => (target, Some(field)),
        None => (inner, None),
    };
    if !ident(target) || field.is_some_and(|f| !ident(f)) {
        return Piece::Bad {
            range,
            why: "braces in a URL hold a reference: `{name}` or `{step.field}`",
        };
    }
    let start = range.start;
    Piece::Reference {
        target: start..start + target.len(),
        field: field.map(|f| {
            let at = start + target.len() + 1;
            at..at + f.len()
        }),
        range,
        in_query,
    }
}

/// `value` percent-encoded as one path segment or one query component: every byte but the
/// unreserved ones (RFC 3986: letters, digits, `-._~`), so a value can never add a segment,
/// a parameter or a fragment.
pub fn encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for byte in value.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refs(url: &str) -> Vec<String> {
        pieces(url)
            .into_iter()
            .map(|p| match p {
                Piece::Text(t) => format!("T:{t}"),
                Piece::Reference {
                    range, in_query, ..
                } => format!("R:{}{}", &url[range], if in_query { "?" } else { "" }),
                Piece::Bad { why, .. } => format!("B:{why}"),
            })
            .collect()
    }

    #[test]
    fn finds_references_and_literal_braces() {
        assert_eq!(
            refs("/leads/{lead_id}/notes?since={suggest.since}&x={{y}}"),
            [
                "T:/leads/",
                "R:lead_id",
                "T:/notes?since=",
                "R:suggest.since?",
                "T:&x={y}"
            ]
        );
        assert_eq!(refs("/plain"), ["T:/plain"]);
    }

    #[test]
    fn refuses_what_is_not_a_template() {
        for url in ["/a/{id", "/a/}", "/a/{}", "/a/{a b}", "/a/{a.b.c}", "/{1x}"] {
            assert!(
                refs(url).iter().any(|p| p.starts_with("B:")),
                "{url}: {:?}",
                refs(url)
            );
        }
    }

    #[test]
    fn encodes_a_value_as_one_component() {
        assert_eq!(encode("a b/c?d#e&f=g"), "a%20b%2Fc%3Fd%23e%26f%3Dg");
        assert_eq!(encode("Zoë-1_.~"), "Zo%C3%AB-1_.~");
    }
}
