//! Support for tests/tests/template.rs: a view of template.yaml (`cfn`), scanners for the
//! Rust sources (`sources`) and the checks that compare the two (`checks`).

pub mod cfn;
pub mod checks;
pub mod sources;
