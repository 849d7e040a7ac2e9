//! What reaches a person's terminal: escaped text ([`crate::shown`]), and a closed stdout (`writ status | head -1`) is not a crash: [`outln!`] and [`out!`] drop
//! what cannot be written, so the command ends quietly with its own exit code, and never panics
//! after an approval is recorded.

/// `println!` to stdout that ignores a closed pipe.
macro_rules! outln {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stdout().lock(), $($arg)*);
    }};
}

/// `print!` to stdout that ignores a closed pipe.
macro_rules! out {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = write!(std::io::stdout().lock(), $($arg)*);
    }};
}

pub use crate::shown::{escape, escape_lines};
