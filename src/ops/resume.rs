//! Continue a run after decisions, or after a crash (a write in doubt is checked, never
//! repeated); deadlines that passed are recorded first.

use super::{Failure, OpsError, drive, open};
use crate::runtime::config::Config;
use crate::runtime::engine::Mode;
use crate::runtime::engine::shared::Observer;
use crate::runtime::run::RunState;

pub fn resume(config: Config, run: &str, observer: Option<Observer>) -> Result<RunState, OpsError> {
    let concurrency = config.limits.concurrency;
    let mut opened = open(config, run, observer)?;
    opened
        .engine
        .systems()
        .check_tokens()
        .map_err(|e| OpsError::diagnostic(Failure::Usage, e))?;
    drive(&mut opened.engine, Mode::Run, concurrency)?;
    Ok(opened.engine.into_state())
}
