//! Text shown to a person. Text from programs, systems and the store (a program's stderr, an
//! error body, a reason, a shown value) is hostile: a control character can move the cursor or
//! forge a line, a bidi override reorders what is read, a zero-width character hides a
//! difference. All of them are shown as escapes (`\u{202e}`).

/// Whether `c` must not reach a terminal as itself: a control character, a bidi control, or
/// an invisible (zero-width) one.
fn hidden(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{061c}'
                | '\u{200b}'..='\u{200f}'
                | '\u{2028}'..='\u{202e}'
                | '\u{2060}'..='\u{2069}'
                | '\u{feff}'
                | '\u{180e}'
                | '\u{00ad}'
        )
}

/// `text` with every hidden character escaped, line breaks included (for one-line output).
pub fn escape(text: &str) -> String {
    escape_but(text, false)
}

/// `text` with every hidden character escaped except line breaks (for multi-line output).
pub fn escape_lines(text: &str) -> String {
    escape_but(text, true)
}

fn escape_but(text: &str, keep_newlines: bool) -> String {
    if !text.chars().any(hidden) {
        return text.to_owned();
    }
    text.chars()
        .map(|c| {
            if c == '\n' && keep_newlines || !hidden(c) {
                c.to_string()
            } else {
                c.escape_unicode().to_string()
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn controls_bidi_and_zero_width_characters_are_escaped() {
        assert_eq!(escape("a\u{1b}[31mb"), "a\\u{1b}[31mb");
        assert_eq!(escape("pay\u{202e}evil"), "pay\\u{202e}evil");
        assert_eq!(escape("ab\u{200b}c"), "ab\\u{200b}c");
        assert_eq!(escape("x\ny"), "x\\u{a}y");
        assert_eq!(escape_lines("x\ny\r"), "x\ny\\u{d}");
        assert_eq!(escape("plain é"), "plain é");
    }
}
