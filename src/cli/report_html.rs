//! `writ report --format html`: the quality record as one self-contained page a manager opens
//! in a browser: inline CSS, and per workflow three charts drawn by plotters as inline SVG
//! (acceptance per week per step with each gate's threshold, human decisions per week, the
//! outcomes of the model's suggestions), beside the figures of the text report. Nothing is
//! fetched: no script, no font, no link.

use std::fmt::Write as _;

use plotters::prelude::*;

use crate::runtime::autonomy::percent;
use crate::runtime::quality::{Report, StepRecord, Week, WorkflowRecord};

const WIDTH: u32 = 540;
const HEIGHT: u32 = 300;

/// The colours of the series, in order (colour-blind safe: Okabe and Ito's palette).
const PALETTE: [RGBColor; 6] = [
    RGBColor(0, 114, 178),
    RGBColor(230, 159, 0),
    RGBColor(0, 158, 115),
    RGBColor(204, 121, 167),
    RGBColor(86, 180, 233),
    RGBColor(213, 94, 0),
];
const CONFIRMED: RGBColor = RGBColor(0, 158, 115);
const REJECTED: RGBColor = RGBColor(213, 94, 0);
const EXPIRED: RGBColor = RGBColor(150, 150, 150);
const THRESHOLD: RGBColor = RGBColor(200, 30, 30);

/// A chart that could not be drawn (plotters' error, in words).
#[derive(Debug, thiserror::Error)]
#[error("cannot draw the chart `{chart}`: {reason}")]
pub struct ChartError {
    chart: &'static str,
    reason: String,
}

const STYLE: &str = "body{font-family:system-ui,-apple-system,'Segoe UI',sans-serif;margin:24px auto;\
max-width:1100px;color:#222;background:#fafafa}h1{font-size:24px;margin-bottom:4px}\
h2{font-size:20px;margin-top:32px;border-bottom:2px solid #ddd;padding-bottom:4px}\
.meta{color:#666;font-size:13px}.killed{background:#fde8e8;border:1px solid #e0a0a0;padding:8px 12px;\
border-radius:6px}table{border-collapse:collapse;margin:12px 0;font-size:14px;background:#fff}\
th,td{border:1px solid #ddd;padding:4px 10px;text-align:right}th:first-child,td:first-child{text-align:left}\
th{background:#f0f0f0}.gate{background:#fff;border:1px solid #ddd;border-radius:6px;padding:8px 12px;\
margin:8px 0;font-size:14px}.holds{color:#007a55;font-weight:600}.closed{color:#b03000;font-weight:600}\
.charts{display:flex;flex-wrap:wrap;gap:12px}.charts svg{background:#fff;border:1px solid #ddd;border-radius:6px}\
ul{margin:4px 0}details{margin:8px 0;font-size:14px}summary{cursor:pointer}";

/// The whole page.
pub fn page(report: &Report) -> Result<String, ChartError> {
    let mut out = String::new();
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <title>writ report</title><style>{STYLE}</style></head><body>\n\
         <h1>writ report: the quality record</h1><p class=\"meta\">as of {}{}</p>\n",
        escape(&report.now),
        report
            .since
            .as_deref()
            .map(|s| format!("; counters since {}", escape(s)))
            .unwrap_or_default()
    );
    if report.workflows.is_empty() {
        out.push_str("<p>no runs recorded</p>\n");
    }
    for workflow in &report.workflows {
        out.push_str(&section(workflow)?);
    }
    out.push_str("</body></html>\n");
    Ok(out)
}

fn section(workflow: &WorkflowRecord) -> Result<String, ChartError> {
    let mut out = format!(
        "<h2>workflow {}: {} runs</h2>\n",
        escape(&workflow.workflow),
        workflow.runs
    );
    if let Some(killed) = &workflow.killed {
        let _ = writeln!(
            out,
            "<p class=\"killed\">killed by {} at {}: {} (humans decide every run)</p>",
            escape(&killed.by),
            escape(&killed.at),
            escape(&killed.reason)
        );
    }
    for step in &workflow.steps {
        out.push_str(&gate_box(step));
    }
    out.push_str(&table(&workflow.steps));
    out.push_str("<div class=\"charts\">\n");
    out.push_str(&strip_namespace(acceptance_chart(workflow)?));
    out.push_str(&strip_namespace(weekly_chart(workflow)?));
    out.push_str(&strip_namespace(outcomes_chart(workflow)?));
    out.push_str("</div>\n");
    Ok(out)
}

fn table(steps: &[StepRecord]) -> String {
    let mut out = String::from(
        "<table><tr><th>step</th><th>human decisions</th><th>confirmed</th><th>rejected</th>\
         <th>expired</th><th>acceptance</th><th>auto decisions</th><th>sampled reviews</th>\
         <th>rollbacks</th><th>repairs</th></tr>\n",
    );
    for s in steps {
        let acceptance = if s.decisions > 0 {
            percent(s.acceptance_basis_points)
        } else {
            "-".to_owned()
        };
        let _ = writeln!(
            out,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td>\
             <td>{}</td><td>{}</td><td>{}</td></tr>",
            escape(&s.step),
            s.decisions,
            s.confirmed,
            s.rejected,
            s.expired,
            acceptance,
            s.auto_decisions,
            s.sampled_reviews,
            s.rollbacks,
            s.repairs
        );
    }
    out.push_str("</table>\n");
    for s in steps.iter().filter(|s| !s.rejections.is_empty()) {
        let _ = write!(
            out,
            "<details><summary>{} rejections of <b>{}</b> (the most recent {} listed)</summary><ul>",
            s.rejected,
            escape(&s.step),
            s.rejections.len()
        );
        for r in &s.rejections {
            let _ = write!(
                out,
                "<li>rejected by {} at {}: {}</li>",
                escape(&r.by),
                escape(&r.at),
                escape(&r.reason)
            );
        }
        out.push_str("</ul></details>\n");
    }
    out
}

fn gate_box(step: &StepRecord) -> String {
    let Some(gate) = &step.gate else {
        return String::new();
    };
    let (class, verdict) = if gate.holds {
        ("holds", "holds")
    } else {
        ("closed", "closed")
    };
    let mut out = format!(
        "<div class=\"gate\">gate of <b>{}</b> (<code>{}</code>): <span class=\"{class}\">{verdict}</span>",
        escape(&step.step),
        escape(&gate.rule)
    );
    if !gate.missing.is_empty() {
        out.push_str("<ul>");
        for why in &gate.missing {
            let _ = write!(out, "<li>{}</li>", escape(why));
        }
        out.push_str("</ul>");
    }
    let _ = writeln!(
        out,
        "<div>had it held: {}</div></div>",
        escape(&gate.had_it_held)
    );
    out
}

/// Every week any step of the workflow has decisions in, oldest first (the charts' x axis).
fn weeks(workflow: &WorkflowRecord) -> Vec<(i64, String)> {
    let mut all: Vec<(i64, String)> = workflow
        .steps
        .iter()
        .flat_map(|s| s.weeks.iter().map(|w| (w.start, w.week.clone())))
        .collect();
    all.sort();
    all.dedup();
    all
}

fn failed(chart: &'static str) -> impl Fn(String) -> ChartError {
    move |reason| ChartError { chart, reason }
}

/// Acceptance per week of each step with decisions, and each gate's threshold drawn across.
fn acceptance_chart(workflow: &WorkflowRecord) -> Result<String, ChartError> {
    let weeks = weeks(workflow);
    let mut svg = String::new();
    draw_acceptance(&mut svg, workflow, &weeks).map_err(failed("acceptance"))?;
    Ok(svg)
}

fn draw_acceptance(
    svg: &mut String,
    workflow: &WorkflowRecord,
    weeks: &[(i64, String)],
) -> Result<(), String> {
    let root = SVGBackend::with_string(svg, (WIDTH, HEIGHT)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| e.to_string())?;
    let last = weeks.len().max(1) as f64 - 0.5;
    let mut chart = ChartBuilder::on(&root)
        .caption("Acceptance per week (human decisions)", ("sans-serif", 18))
        .margin(12)
        .x_label_area_size(36)
        .y_label_area_size(48)
        .build_cartesian_2d(-0.5f64..last, 0f64..105f64)
        .map_err(|e| e.to_string())?;
    let label = |x: &f64| week_label(weeks, *x);
    chart
        .configure_mesh()
        .x_labels(weeks.len().clamp(2, 10))
        .x_label_formatter(&label)
        .y_desc("acceptance %")
        .y_label_formatter(&|y| format!("{y:.0}"))
        .draw()
        .map_err(|e| e.to_string())?;
    let decided = workflow.steps.iter().filter(|s| s.decisions > 0);
    for (i, step) in decided.enumerate() {
        let colour = PALETTE.get(i % PALETTE.len()).copied().unwrap_or(BLACK);
        let points: Vec<(f64, f64)> = step
            .weeks
            .iter()
            .filter_map(|w| Some((position(weeks, w)?, acceptance(w))))
            .collect();
        chart
            .draw_series(LineSeries::new(points.clone(), colour.stroke_width(2)))
            .map_err(|e| e.to_string())?
            .label(step.step.clone())
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], colour));
        chart
            .draw_series(points.iter().map(|p| Circle::new(*p, 3, colour.filled())))
            .map_err(|e| e.to_string())?;
    }
    for step in &workflow.steps {
        let Some(gate) = &step.gate else { continue };
        let required = gate.figures.required_basis_points as f64 / 100.0;
        chart
            .draw_series(DashedLineSeries::new(
                vec![(-0.5, required), (last, required)],
                6,
                4,
                THRESHOLD.stroke_width(2),
            ))
            .map_err(|e| e.to_string())?
            .label(format!(
                "gate of {}: {}",
                step.step,
                percent(gate.figures.required_basis_points)
            ))
            .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], THRESHOLD));
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::LowerRight)
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK.mix(0.3))
        .draw()
        .map_err(|e| e.to_string())?;
    root.present().map_err(|e| e.to_string())
}

fn acceptance(week: &Week) -> f64 {
    let decisions = week.decisions().max(1) as f64;
    week.confirmed as f64 * 100.0 / decisions
}

fn position(weeks: &[(i64, String)], week: &Week) -> Option<f64> {
    weeks
        .iter()
        .position(|(start, _)| *start == week.start)
        .map(|i| i as f64)
}

/// The week at x (`11-30` for the week of 30 November), blank between weeks.
fn week_label(weeks: &[(i64, String)], x: f64) -> String {
    if (x - x.round()).abs() > 0.01 || x < 0.0 {
        return String::new();
    }
    weeks
        .get(x.round() as usize)
        .and_then(|(_, day)| day.get(5..))
        .unwrap_or_default()
        .to_owned()
}

/// Human decisions per week, all steps together: confirmed, rejected and expired stacked.
fn weekly_chart(workflow: &WorkflowRecord) -> Result<String, ChartError> {
    let weeks = weeks(workflow);
    let mut totals: Vec<[u64; 3]> = vec![[0; 3]; weeks.len()];
    for week in workflow.steps.iter().flat_map(|s| &s.weeks) {
        if let Some(total) = position(&weeks, week).and_then(|i| totals.get_mut(i as usize)) {
            total[0] += week.confirmed;
            total[1] += week.rejected;
            total[2] += week.expired;
        }
    }
    let mut svg = String::new();
    let bars: Vec<(String, Vec<u64>)> = totals
        .iter()
        .zip(&weeks)
        .map(|(t, (_, day))| (day.get(5..).unwrap_or_default().to_owned(), t.to_vec()))
        .collect();
    let series = [
        ("confirmed", CONFIRMED),
        ("rejected", REJECTED),
        ("expired", EXPIRED),
    ];
    stacked_bars(&mut svg, "Human decisions per week", &bars, &series)
        .map_err(failed("decisions per week"))?;
    Ok(svg)
}

/// What became of the model's suggestions, per step: decided by a human (confirmed, rejected,
/// expired), by the gate, sampled for review, rolled back, left for repair.
fn outcomes_chart(workflow: &WorkflowRecord) -> Result<String, ChartError> {
    let bars: Vec<(String, Vec<u64>)> = workflow
        .steps
        .iter()
        .map(|s| {
            (
                s.step.clone(),
                vec![
                    s.confirmed,
                    s.rejected,
                    s.expired,
                    s.auto_decisions,
                    s.rollbacks,
                    s.repairs,
                ],
            )
        })
        .collect();
    let series = [
        ("confirmed", CONFIRMED),
        ("rejected", REJECTED),
        ("expired", EXPIRED),
        ("auto decisions", RGBColor(0, 114, 178)),
        ("rollbacks", RGBColor(230, 159, 0)),
        ("repairs", RGBColor(120, 40, 140)),
    ];
    let mut svg = String::new();
    stacked_bars(&mut svg, "Outcomes per step", &bars, &series).map_err(failed("outcomes"))?;
    Ok(svg)
}

/// Bars of stacked counts, one per `(label, counts)`, each count coloured by `series`.
fn stacked_bars(
    svg: &mut String,
    caption: &str,
    bars: &[(String, Vec<u64>)],
    series: &[(&str, RGBColor)],
) -> Result<(), String> {
    let root = SVGBackend::with_string(svg, (WIDTH, HEIGHT)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| e.to_string())?;
    let top = bars
        .iter()
        .map(|(_, counts)| counts.iter().sum::<u64>())
        .max()
        .unwrap_or(0)
        .max(1) as f64
        * 1.7;
    let last = bars.len().max(1) as f64 - 0.5;
    let mut chart = ChartBuilder::on(&root)
        .caption(caption, ("sans-serif", 18))
        .margin(12)
        .x_label_area_size(36)
        .y_label_area_size(56)
        .build_cartesian_2d(-0.5f64..last, 0f64..top)
        .map_err(|e| e.to_string())?;
    let label = |x: &f64| {
        if (x - x.round()).abs() > 0.01 || *x < 0.0 {
            return String::new();
        }
        bars.get(x.round() as usize)
            .map(|(label, _)| label.clone())
            .unwrap_or_default()
    };
    chart
        .configure_mesh()
        .disable_x_mesh()
        .x_labels(bars.len().clamp(2, 12))
        .x_label_formatter(&label)
        .y_label_formatter(&|y| format!("{y:.0}"))
        .draw()
        .map_err(|e| e.to_string())?;
    for (k, (name, colour)) in series.iter().enumerate() {
        let colour = *colour;
        let rects = bars.iter().enumerate().filter_map(|(i, (_, counts))| {
            let below: u64 = counts.iter().take(k).sum();
            let own = *counts.get(k)?;
            let (x, half) = (i as f64, if bars.len() < 4 { 0.15 } else { 0.3 });
            (own > 0).then(|| {
                Rectangle::new(
                    [(x - half, below as f64), (x + half, (below + own) as f64)],
                    colour.filled(),
                )
            })
        });
        chart
            .draw_series(rects)
            .map_err(|e| e.to_string())?
            .label(*name)
            .legend(move |(x, y)| Rectangle::new([(x, y - 5), (x + 12, y + 5)], colour.filled()));
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperRight)
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK.mix(0.3))
        .draw()
        .map_err(|e| e.to_string())?;
    root.present().map_err(|e| e.to_string())
}

/// Inline SVG in HTML needs no namespace declaration, and the page names no address at all.
fn strip_namespace(svg: String) -> String {
    svg.replace(" xmlns=\"http://www.w3.org/2000/svg\"", "")
}

fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::escape;

    #[test]
    fn text_is_escaped() {
        assert_eq!(escape("<a href='x'>&"), "&lt;a href=&#39;x&#39;&gt;&amp;");
    }
}
