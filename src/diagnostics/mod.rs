//! Diagnostic codes, severities, the diagnostic value every phase returns, and rendering.
//!
//! Phases return plain [`Diagnostic`] values; only rendering (for the CLI and the snapshot
//! tests) involves miette, through [`FileDiagnostic`], which pairs one diagnostic with its
//! source so miette can draw the snippet.

use std::fmt;

mod source;

use miette::{GraphicalReportHandler, GraphicalTheme, LabeledSpan, SourceCode};
use serde::Serialize;
pub use source::IndexedSource;

use crate::syntax::ast::Span;

/// Every rule of the language (docs/diagnostics.md), by its stable code.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub enum Code {
    E0001,
    E0101,
    E0102,
    E0103,
    E0104,
    E0105,
    E0201,
    E0202,
    E0203,
    E0204,
    E0205,
    E0206,
    E0207,
    E0208,
    E0209,
    W0301,
    W0302,
    W0303,
    W0304,
    W0305,
    W0306,
    W0307,
}

impl Code {
    pub const ALL: [Code; 22] = [
        Code::E0001,
        Code::E0101,
        Code::E0102,
        Code::E0103,
        Code::E0104,
        Code::E0105,
        Code::E0201,
        Code::E0202,
        Code::E0203,
        Code::E0204,
        Code::E0205,
        Code::E0206,
        Code::E0207,
        Code::E0208,
        Code::E0209,
        Code::W0301,
        Code::W0302,
        Code::W0303,
        Code::W0304,
        Code::W0305,
        Code::W0306,
        Code::W0307,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Code::E0001 => "E0001",
            Code::E0101 => "E0101",
            Code::E0102 => "E0102",
            Code::E0103 => "E0103",
            Code::E0104 => "E0104",
            Code::E0105 => "E0105",
            Code::E0201 => "E0201",
            Code::E0202 => "E0202",
            Code::E0203 => "E0203",
            Code::E0204 => "E0204",
            Code::E0205 => "E0205",
            Code::E0206 => "E0206",
            Code::E0207 => "E0207",
            Code::E0208 => "E0208",
            Code::E0209 => "E0209",
            Code::W0301 => "W0301",
            Code::W0302 => "W0302",
            Code::W0303 => "W0303",
            Code::W0304 => "W0304",
            Code::W0305 => "W0305",
            Code::W0306 => "W0306",
            Code::W0307 => "W0307",
        }
    }

    /// Parses `E0203` (any letter case) into its code.
    pub fn parse(text: &str) -> Option<Code> {
        let upper = text.trim().to_ascii_uppercase();
        Code::ALL.into_iter().find(|code| code.as_str() == upper)
    }

    pub fn severity(self) -> Severity {
        if self.as_str().starts_with('W') {
            Severity::Warning
        } else {
            Severity::Error
        }
    }
}

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Error,
    Warning,
}

/// A span with the words that explain its part in the problem.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Label {
    pub span: Span,
    pub text: String,
}

/// One problem found in a file: a code, a one-line message, the primary span, labels on every
/// other span involved, and the fix.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diagnostic {
    pub code: Code,
    pub message: String,
    pub primary: Label,
    pub labels: Vec<Label>,
    pub help: String,
}

impl Diagnostic {
    /// A diagnostic whose primary span is labelled `label`; add the fix with [`Diagnostic::help`].
    pub fn new(
        code: Code,
        message: impl Into<String>,
        span: Span,
        label: impl Into<String>,
    ) -> Self {
        Diagnostic {
            code,
            message: message.into(),
            primary: Label {
                span,
                text: label.into(),
            },
            labels: Vec::new(),
            help: String::new(),
        }
    }

    pub fn help(mut self, help: impl Into<String>) -> Self {
        self.help = help.into();
        self
    }

    pub fn label(mut self, span: Span, text: impl Into<String>) -> Self {
        self.labels.push(Label {
            span,
            text: text.into(),
        });
        self
    }

    pub fn severity(&self) -> Severity {
        self.code.severity()
    }

    pub fn is_error(&self) -> bool {
        self.severity() == Severity::Error
    }
}

/// `a` or `an` for the word that follows (`an execute step`, `an \`int\``).
pub fn article(word: &str) -> &'static str {
    let first = word.trim_start_matches('`').chars().next().unwrap_or('x');
    if "aeiouAEIOU".contains(first) {
        "an"
    } else {
        "a"
    }
}

/// Sorts diagnostics by position, then code: the order `writ check` prints them in.
pub fn sort(diagnostics: &mut [Diagnostic]) {
    diagnostics.sort_by(|a, b| {
        (a.primary.span.start, a.primary.span.end, a.code).cmp(&(
            b.primary.span.start,
            b.primary.span.end,
            b.code,
        ))
    });
}

/// One diagnostic together with the file it is about, in the form miette renders.
pub struct FileDiagnostic<'a> {
    pub diagnostic: &'a Diagnostic,
    pub source: &'a IndexedSource,
}

impl fmt::Debug for FileDiagnostic<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.diagnostic, f)
    }
}

impl fmt::Display for FileDiagnostic<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.diagnostic.message)
    }
}

impl std::error::Error for FileDiagnostic<'_> {}

impl miette::Diagnostic for FileDiagnostic<'_> {
    fn code<'b>(&'b self) -> Option<Box<dyn fmt::Display + 'b>> {
        Some(Box::new(self.diagnostic.code))
    }

    fn severity(&self) -> Option<miette::Severity> {
        Some(match self.diagnostic.severity() {
            Severity::Error => miette::Severity::Error,
            Severity::Warning => miette::Severity::Warning,
        })
    }

    fn help<'b>(&'b self) -> Option<Box<dyn fmt::Display + 'b>> {
        let help = &self.diagnostic.help;
        (!help.is_empty()).then(|| Box::new(help) as Box<dyn fmt::Display + 'b>)
    }

    fn source_code(&self) -> Option<&dyn SourceCode> {
        Some(self.source)
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        let source_len = self.source.len();
        let clamp = move |span: Span| {
            let start = span.start.min(source_len);
            let end = span.end.clamp(start, source_len);
            Span::new(start, end)
        };
        let primary = std::iter::once(LabeledSpan::new_primary_with_span(
            Some(self.diagnostic.primary.text.clone()),
            clamp(self.diagnostic.primary.span),
        ));
        let others = self.diagnostic.labels.iter().map(move |label| {
            LabeledSpan::new_with_span(Some(label.text.clone()), clamp(label.span))
        });
        Some(Box::new(primary.chain(others)))
    }
}

/// How to draw diagnostics.
#[derive(Clone, Copy, Debug)]
pub struct RenderOptions {
    pub color: bool,
    pub width: usize,
}

impl RenderOptions {
    /// No colour and a fixed width: the form snapshot tests and pipes get.
    pub fn plain() -> RenderOptions {
        RenderOptions {
            color: false,
            width: 100,
        }
    }
}

/// Renders every diagnostic of one file, in order, as miette draws them.
pub fn render(
    name: &str,
    source: &str,
    diagnostics: &[Diagnostic],
    options: RenderOptions,
) -> String {
    let named = IndexedSource::new(name, source);
    let mut out = String::new();
    for diagnostic in diagnostics {
        let item = FileDiagnostic {
            diagnostic,
            source: &named,
        };
        draw_into(&mut out, &item, options);
    }
    out
}

/// Draws any miette diagnostic (a config error, say) as writ draws its own.
pub fn draw(diagnostic: &dyn miette::Diagnostic, options: RenderOptions) -> String {
    let mut out = String::new();
    draw_into(&mut out, diagnostic, options);
    out
}

fn draw_into(out: &mut String, diagnostic: &dyn miette::Diagnostic, options: RenderOptions) {
    let theme = if options.color {
        GraphicalTheme::unicode()
    } else {
        GraphicalTheme::unicode_nocolor()
    };
    let handler = GraphicalReportHandler::new_themed(theme)
        .with_width(options.width)
        .with_links(false);
    // INVARIANT: writing into a String cannot fail; a failure would only lose this report.
    if handler.render_report(out, diagnostic).is_err() {
        out.push_str(&format!("error: {diagnostic}\n"));
    }
}
