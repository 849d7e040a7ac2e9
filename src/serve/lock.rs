//! One service per store: an exclusive `flock` on `STATE.serve.lock` beside the store, held
//! for the service's life. The operating system drops it when the process dies (SIGKILL
//! too), so a crash never leaves the store claimed.

use std::fs::{File, OpenOptions};

use nix::fcntl::{Flock, FlockArg};

use super::ServeError;
use crate::runtime::config::Config;

pub struct ServiceLock {
    _file: Flock<File>,
}

impl ServiceLock {
    pub fn take(config: &Config) -> Result<ServiceLock, ServeError> {
        let real = std::fs::canonicalize(&config.state).unwrap_or_else(|_| config.state.clone());
        let mut name = real.file_name().unwrap_or_default().to_os_string();
        name.push(".serve.lock");
        let path = real.with_file_name(name);
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(|e| ServeError::Io(format!("cannot open `{}`: {e}", path.display())))?;
        match Flock::lock(file, FlockArg::LockExclusiveNonblock) {
            Ok(file) => Ok(ServiceLock { _file: file }),
            Err(_) => Err(ServeError::Busy {
                state: config.state.display().to_string(),
            }),
        }
    }
}
