//! The embedded store: one SQLite file in WAL mode. (Being built: see issue 4.)
