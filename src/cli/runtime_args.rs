//! What the commands that read the store share: `--config PATH` (default `./writ.yaml`), and
//! opening the store the config names, with errors drawn as diagnostics.

use std::path::PathBuf;

use super::{exit, render_options};
use crate::diagnostics::draw;
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
            eprint!("{}", draw(&error, render_options()));
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
