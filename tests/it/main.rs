//! The integration tests: one test binary (one link after a change, not one per file), a module
//! per area. `support/` holds the shared test bed and the workflow generators.

#[path = "../support/mod.rs"]
mod support;

mod authoring;
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
mod gate_v2;
mod http_connector;
mod http_outcomes;
mod https;
mod identity;
mod lint;
mod parallel;
mod plans;
mod quality;
mod robustness;
mod runtime;
mod runtime_guards;
mod sandbox;
mod serve;
mod sql_exact;
mod sql_kill;
mod sql_readonly;
mod sql_rollback;
mod sql_shapes;
mod sqlite_turns;
mod store;
mod terminal;
mod trust;
mod trust_attacks;
mod url_templates;
mod verify_exec;
