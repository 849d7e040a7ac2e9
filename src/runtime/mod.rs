//! The runtime: runs approved plans against real systems, durable, bound, reversible and
//! auditable (DESIGN.md, "The runtime model"). Built up over issue 4; so far the pieces below.

pub mod config;
pub mod connector;
pub mod event;
pub mod render;
pub mod store;
pub mod value;
