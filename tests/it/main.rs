//! The integration tests: one test binary (one link after a change, not one per file), a module
//! per area. `support/` holds the shared test bed and the workflow generators.

#[path = "../support/mod.rs"]
mod support;

mod autonomy;
mod autonomy_rules;
mod binding;
mod cli;
mod config;
mod connectors;
mod corpus;
mod crash;
mod decide;
mod drivers;
mod examples;
mod http_connector;
mod https;
mod identity;
mod parallel;
mod plans;
mod robustness;
mod runtime;
mod runtime_guards;
mod sqlite_turns;
mod store;
mod trust;
mod verify_exec;
