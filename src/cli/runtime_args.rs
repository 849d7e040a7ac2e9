//! What the commands that read the store share: `--config PATH` (default `./writ.yaml`), and
//! opening the store the config names, with errors drawn as diagnostics.

use std::path::PathBuf;

use miette::{GraphicalReportHandler, GraphicalTheme};

use super::{exit, stderr_color};
use crate::runtime::config::{self, Config};
use crate::runtime::store::sqlite::SqliteStore;

#[derive(clap::Args, Clone, Debug)]
pub struct ConfigArg {
    /// The runtime config.
    #[arg(long, value_name = "PATH", default_value = "writ.yaml")]
    pub config: PathBuf,
}

impl ConfigArg {
    /// Loads the config; on failure prints the diagnostic and returns the exit code.
    pub fn load(&self) -> Result<Config, u8> {
        config::load(&self.config).map_err(|error| {
            eprint!("{}", draw(&error));
            exit::USAGE
        })
    }

    /// Loads the config and opens its store.
    pub fn open_store(&self) -> Result<(Config, SqliteStore), u8> {
        let config = self.load()?;
        match SqliteStore::open(&config.state) {
            Ok(store) => Ok((config, store)),
            Err(error) => {
                eprintln!("error: {error}");
                Err(exit::USAGE)
            }
        }
    }
}

/// A miette diagnostic drawn as `writ check` draws its own.
fn draw(diagnostic: &dyn miette::Diagnostic) -> String {
    let theme = if stderr_color() {
        GraphicalTheme::unicode()
    } else {
        GraphicalTheme::unicode_nocolor()
    };
    let mut out = String::new();
    if GraphicalReportHandler::new_themed(theme)
        .with_links(false)
        .render_report(&mut out, diagnostic)
        .is_err()
    {
        out = format!("error: {diagnostic}\n");
    }
    out
}
