//! The runtime: runs approved plans against real systems, durable, bound, reversible and
//! auditable (docs/runtime.md, "A run is its events"; docs/runtime.md for how).

pub mod autonomy;
pub mod clock;
pub mod config;
pub mod connector;
pub mod decide;
pub mod engine;
pub mod event;
pub mod lock;
pub mod quality;
pub mod record;
pub mod render;
pub mod run;
pub mod sandbox;
pub mod store;
pub mod switch;
pub mod systems;
pub mod trust;
pub mod value;
