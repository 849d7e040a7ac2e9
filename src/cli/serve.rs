//! `writ serve [--listen unix:PATH|HOST:PORT]`: the runtime as a service (docs/serve.md). Prints
//! the address it listens on (one line on stdout, for scripts and tests), then serves until
//! SIGTERM.

use super::runs::fail;
use super::runtime_args::ConfigArg;
use super::{exit, trusted_store};
use crate::serve::{self, Address, ServiceLock};

#[derive(clap::Args)]
pub struct Args {
    /// Where to listen: `unix:PATH` (default: `serve.sock` in the state folder) or
    /// `HOST:PORT` (`127.0.0.1:0` picks a free port).
    #[arg(long, value_name = "ADDR")]
    listen: Option<String>,
    #[command(flatten)]
    config: ConfigArg,
}

pub fn run(args: &Args) -> u8 {
    let config = match args.config.load() {
        Ok(config) => config,
        Err(code) => return code,
    };
    // The store must exist and trust the config's registry before anything is served.
    if let Err(code) = trusted_store(&config) {
        return code;
    }
    let address = match &args.listen {
        Some(text) => match Address::parse(text) {
            Ok(address) => address,
            Err(error) => return fail(&error, exit::USAGE),
        },
        None => Address::default_for(&config),
    };
    let lock = match ServiceLock::take(&config) {
        Ok(lock) => lock,
        Err(error) => return fail(&error, exit::FINDINGS),
    };
    let bound = match serve::bind(&address, &lock) {
        Ok(bound) => bound,
        Err(error) => return fail(&error, exit::USAGE),
    };
    outln!("{}", bound.address());
    match serve::run(config, bound, lock) {
        Ok(()) => exit::OK,
        Err(error) => fail(&error, exit::USAGE),
    }
}
