//! `writ serve`: the runtime as a service (docs/serve.md). One process per store owns the
//! store, the clock and the timers; people's CLIs reach it over a Unix socket (by default
//! `serve.sock` in the state folder, mode 0660) or HTTP on HOST:PORT, sending signed
//! statements. Every verb is the operations layer's (`crate::ops`), run on a blocking thread;
//! only this module speaks HTTP.

mod api;
pub mod client;
mod lock;
pub mod notify;
mod timers;

use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;
use std::sync::Arc;

use crate::runtime::config::Config;

pub use lock::ServiceLock;

/// Where the service listens (and where a client reaches it).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Address {
    Unix(PathBuf),
    Tcp(String),
}

impl Address {
    /// `unix:PATH` or `HOST:PORT`.
    pub fn parse(text: &str) -> Result<Address, ServeError> {
        if let Some(path) = text.strip_prefix("unix:") {
            if path.is_empty() {
                return Err(ServeError::Address(text.to_owned()));
            }
            return Ok(Address::Unix(PathBuf::from(path)));
        }
        match text.rsplit_once(':') {
            Some((host, port)) if !host.is_empty() && port.parse::<u16>().is_ok() => {
                Ok(Address::Tcp(text.to_owned()))
            }
            _ => Err(ServeError::Address(text.to_owned())),
        }
    }

    /// The default: `serve.sock` in the state folder.
    pub fn default_for(config: &Config) -> Address {
        let folder = config.state.parent().map(PathBuf::from).unwrap_or_default();
        let socket = folder.join("serve.sock");
        // Told as an absolute path: a client elsewhere reaches it by what the service prints.
        Address::Unix(std::path::absolute(&socket).unwrap_or(socket))
    }
}

impl std::fmt::Display for Address {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Address::Unix(path) => write!(f, "unix:{}", path.display()),
            Address::Tcp(addr) => f.write_str(addr),
        }
    }
}

#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum ServeError {
    #[error("`{0}` is not an address to listen on or reach")]
    #[diagnostic(
        code(writ::serve::address),
        help("give `unix:PATH` (a Unix socket) or `HOST:PORT`, e.g. `127.0.0.1:8470`")
    )]
    Address(String),
    #[error("another `writ serve` owns the store `{state}`")]
    #[diagnostic(
        code(writ::serve::busy),
        help(
            "one service per store: stop the other (`systemctl stop writ`), or reach it with `--server`"
        )
    )]
    Busy { state: String },
    #[error("cannot listen on `{address}`: {reason}")]
    #[diagnostic(code(writ::serve::listen))]
    Listen { address: String, reason: String },
    #[error("the service stopped: {0}")]
    #[diagnostic(code(writ::serve::io))]
    Io(String),
}

/// A listener bound (before the runtime starts, so its address can be told first).
pub enum Bound {
    Unix(std::os::unix::net::UnixListener, PathBuf),
    Tcp(std::net::TcpListener),
}

impl Bound {
    /// The address a client reaches (for `127.0.0.1:0`, the port the system chose).
    pub fn address(&self) -> String {
        match self {
            Bound::Unix(_, path) => format!("unix:{}", path.display()),
            Bound::Tcp(listener) => listener
                .local_addr()
                .map(|a| a.to_string())
                .unwrap_or_default(),
        }
    }
}

/// Binds `address`, once `_lock` proves no other service owns the store: a stale socket
/// file of a service that died is removed first.
pub fn bind(address: &Address, _lock: &ServiceLock) -> Result<Bound, ServeError> {
    let listen = |reason: std::io::Error| ServeError::Listen {
        address: address.to_string(),
        reason: reason.to_string(),
    };
    match address {
        Address::Unix(path) => {
            if path.exists() {
                std::fs::remove_file(path).map_err(listen)?;
            }
            let listener = std::os::unix::net::UnixListener::bind(path).map_err(listen)?;
            // The people's group may connect; nobody else.
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o660))
                .map_err(listen)?;
            listener.set_nonblocking(true).map_err(listen)?;
            Ok(Bound::Unix(listener, path.clone()))
        }
        Address::Tcp(addr) => {
            let listener = std::net::TcpListener::bind(addr).map_err(listen)?;
            listener.set_nonblocking(true).map_err(listen)?;
            Ok(Bound::Tcp(listener))
        }
    }
}

/// What every handler and the timers share.
pub struct Service {
    pub config: Config,
    /// Runs a handler or the timers are driving now: the timers leave them alone.
    pub busy: std::sync::Mutex<std::collections::BTreeSet<String>>,
}

impl Service {
    /// Marks `run` as being driven by this service; false if it already is.
    pub fn claim(&self, run: &str) -> bool {
        self.busy
            .lock()
            .map(|mut busy| busy.insert(run.to_owned()))
            .unwrap_or(false)
    }

    pub fn release(&self, run: &str) {
        if let Ok(mut busy) = self.busy.lock() {
            busy.remove(run);
        }
    }
}

/// Serves until SIGTERM or SIGINT: requests in flight and runs being driven finish first.
pub fn run(config: Config, bound: Bound, lock: ServiceLock) -> Result<(), ServeError> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .max_blocking_threads(config.limits.concurrency.max(1) + 8)
        .enable_io()
        .enable_time()
        .build()
        .map_err(|e| ServeError::Io(e.to_string()))?;
    let service = Arc::new(Service {
        config,
        busy: std::sync::Mutex::new(std::collections::BTreeSet::new()),
    });
    let result = runtime.block_on(serve(service, bound));
    drop(lock);
    result
}

async fn serve(service: Arc<Service>, bound: Bound) -> Result<(), ServeError> {
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let ledger = if service.config.notify.is_empty() {
        None
    } else {
        let head = notify::head(&service);
        let ledger = notify::Ledger::open(&service.config.state, head).map_err(ServeError::Io)?;
        Some(Arc::new(ledger))
    };
    let timers = tokio::spawn(timers::run(service.clone(), ledger, stop_rx.clone()));
    let app = api::router(service);
    let shutdown = async move {
        stopped().await;
        let _ = stop_tx.send(true);
    };
    let io = |e: std::io::Error| ServeError::Io(e.to_string());
    match bound {
        Bound::Unix(listener, path) => {
            let listener = tokio::net::UnixListener::from_std(listener).map_err(io)?;
            let served = axum::serve(listener, app)
                .with_graceful_shutdown(shutdown)
                .await;
            let _ = std::fs::remove_file(path);
            served.map_err(io)?;
        }
        Bound::Tcp(listener) => {
            let listener = tokio::net::TcpListener::from_std(listener).map_err(io)?;
            axum::serve(listener, app)
                .with_graceful_shutdown(shutdown)
                .await
                .map_err(io)?;
        }
    }
    let _ = timers.await;
    Ok(())
}

/// SIGTERM (systemd's stop) or SIGINT (Ctrl-C).
async fn stopped() {
    use tokio::signal::unix::{SignalKind, signal};
    let (tx, mut rx) = tokio::sync::mpsc::channel::<()>(2);
    for kind in [SignalKind::terminate(), SignalKind::interrupt()] {
        if let Ok(mut signals) = signal(kind) {
            let tx = tx.clone();
            tokio::spawn(async move {
                signals.recv().await;
                let _ = tx.send(()).await;
            });
        }
    }
    drop(tx);
    // Without signal handlers the service can only be killed; it survives that too.
    if rx.recv().await.is_none() {
        std::future::pending::<()>().await;
    }
}
