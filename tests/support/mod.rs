//! Shared by the integration tests' modules: the end-to-end test bed and the workflow generators
//! (the generators are also included by path from `benches/`).

pub mod bed;
pub mod generate;
pub mod https;
