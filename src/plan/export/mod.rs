//! The five renderings of a plan: `text` for a person, `json` and `yaml` for machines (the
//! same serde schema, `docs/plan-format.md`), `dot` and `mermaid` for a picture.

mod diagram;
mod dot;
mod mermaid;
mod text;
mod yaml11;

use super::Plan;

/// The formats `writ plan --format` accepts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Text,
    Json,
    Yaml,
    Dot,
    Mermaid,
}

/// Why a plan could not be rendered (only the serde formats can fail, and only in principle).
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error("cannot write the plan as JSON: {0}")]
    Json(#[from] serde_json::Error),
    #[error("cannot write the plan as YAML: {0}")]
    Yaml(#[from] serde_yaml::Error),
    #[error("cannot write the plan: {0}")]
    Io(#[from] std::io::Error),
}

/// Writes `plan` in `format` to `out`, streaming the large formats rather than building them
/// in memory first.
pub fn write(plan: &Plan, format: Format, out: &mut dyn std::io::Write) -> Result<(), ExportError> {
    match format {
        Format::Json => {
            serde_json::to_writer_pretty(&mut *out, plan)?;
            out.write_all(b"\n")?;
        }
        Format::Yaml => out.write_all(render(plan, format)?.as_bytes())?,
        Format::Text | Format::Dot | Format::Mermaid => {
            out.write_all(render(plan, format)?.as_bytes())?
        }
    }
    out.flush()?;
    Ok(())
}

/// Renders `plan` in `format`, ending with a newline.
pub fn render(plan: &Plan, format: Format) -> Result<String, ExportError> {
    Ok(match format {
        Format::Text => text::render(plan),
        Format::Json => {
            let mut json = serde_json::to_string_pretty(plan)?;
            json.push('\n');
            json
        }
        // Quoted for YAML 1.1 readers too (`yes`, `on`, `1:30`): see yaml11.rs.
        Format::Yaml => yaml11::quote_for_yaml11(&serde_yaml::to_string(plan)?),
        Format::Dot => dot::render(plan),
        Format::Mermaid => mermaid::render(plan),
    })
}
