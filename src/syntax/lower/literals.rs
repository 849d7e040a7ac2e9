//! Lowering of the numeric literals: numbers, counts, percentages and durations. Each is read
//! exactly as written or refused (E0001), never rounded or clamped: a gate's threshold or an
//! expiry must be what the author wrote.

use pest::iterators::Pair;

use super::{Lowering, span_of};
use crate::diagnostics::{Code, Diagnostic};
use crate::syntax::ast::*;
use crate::syntax::parse::Rule;

impl Lowering {
    pub(super) fn number(&mut self, pair: &Pair<'_, Rule>) -> Option<LiteralValue> {
        let text = pair.as_str();
        if text.contains('.') {
            return Some(LiteralValue::Number(text.to_owned()));
        }
        match text.parse::<i64>() {
            Ok(value) => Some(LiteralValue::Int(value)),
            Err(_) => {
                self.error(out_of_range(
                    span_of(pair),
                    "an `int`",
                    "-9223372036854775808 to 9223372036854775807",
                ));
                Some(LiteralValue::Int(0))
            }
        }
    }

    pub(super) fn whole_number(&mut self, pair: &Pair<'_, Rule>) -> Option<u64> {
        match pair.as_str().parse::<u64>() {
            Ok(value) => Some(value),
            Err(_) => {
                self.error(out_of_range(
                    span_of(pair),
                    "a count",
                    "0 to 18446744073709551615",
                ));
                Some(0)
            }
        }
    }

    pub(super) fn percent(&mut self, pair: &Pair<'_, Rule>) -> Option<Percent> {
        let text = pair.as_str().trim_end_matches('%');
        let (whole, fraction) = text.split_once('.').unwrap_or((text, ""));
        // Hundredths of a percent: `99.5` -> 9950; digits past the second decimal are refused
        // rather than silently rounded, because the gate's threshold must be what was written.
        let basis_points = if fraction.len() > 2 {
            None
        } else {
            let padded = format!("{fraction:0<2}");
            whole
                .parse::<u64>()
                .ok()
                .and_then(|w| w.checked_mul(100))
                .and_then(|w| w.checked_add(padded.parse::<u64>().ok()?))
        };
        match basis_points {
            Some(basis_points) => Some(Percent {
                basis_points,
                span: span_of(pair),
            }),
            None => {
                self.error(
                    Diagnostic::new(
                        Code::E0001,
                        "a percentage with too many digits",
                        span_of(pair),
                        "not a percentage writ can hold exactly",
                    )
                    .help("write a percentage with at most two decimals, such as `99.5%`"),
                );
                Some(Percent {
                    basis_points: 0,
                    span: span_of(pair),
                })
            }
        }
    }

    pub(super) fn duration(&mut self, pair: &Pair<'_, Rule>) -> Option<Duration> {
        let text = pair.as_str();
        let (digits, unit) = text.split_at(text.len().checked_sub(1)?);
        let unit = match unit {
            "s" => DurationUnit::Seconds,
            "m" => DurationUnit::Minutes,
            "h" => DurationUnit::Hours,
            "d" => DurationUnit::Days,
            _ => return None,
        };
        let amount = self.parse_amount(digits, span_of(pair))?;
        Some(Duration {
            amount,
            unit,
            span: span_of(pair),
        })
    }

    fn parse_amount(&mut self, digits: &str, span: Span) -> Option<u64> {
        match digits.parse::<u64>() {
            Ok(amount) => Some(amount),
            Err(_) => {
                self.error(out_of_range(
                    span,
                    "a duration",
                    "up to 18446744073709551615 units",
                ));
                Some(0)
            }
        }
    }
}

fn out_of_range(span: Span, what: &str, range: &str) -> Diagnostic {
    Diagnostic::new(
        Code::E0001,
        format!("number too large for {what}"),
        span,
        "out of range",
    )
    .help(format!("write a value in the range {range}"))
}
