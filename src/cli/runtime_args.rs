//! What the commands that read the store share: `--config PATH` (default `./writ.yaml`), and
//! opening the store the config names, with errors drawn as diagnostics.

use std::path::PathBuf;

use super::{exit, render_options};
use crate::diagnostics::draw;
use crate::runtime::config::{self, Config};
use crate::runtime::store::sqlite::SqliteStore;
use crate::runtime::trust::{Create, Pinned, open_store};

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

    /// Loads the config and opens its store, which must exist and trust exactly the
    /// registry the config names.
    pub fn open_store(&self) -> Result<(Config, SqliteStore, Pinned), u8> {
        self.open_trusted(Create::Never)
    }

    /// [`ConfigArg::open_store`], creating a missing store when `create` says so.
    pub fn open_trusted(&self, create: Create) -> Result<(Config, SqliteStore, Pinned), u8> {
        let config = self.load()?;
        let (store, pinned) = trusted(&config, create)?;
        Ok((config, store, pinned))
    }
}

/// Opens `config`'s store through the trust checks; refusals are drawn, exit 1 (2 for I/O).
pub fn trusted(config: &Config, create: Create) -> Result<(SqliteStore, Pinned), u8> {
    open_store(config, create).map_err(|error| {
        let code = if error.is_usage() {
            exit::USAGE
        } else {
            exit::FINDINGS
        };
        eprint!("{}", draw(&error, render_options()));
        code
    })
}
