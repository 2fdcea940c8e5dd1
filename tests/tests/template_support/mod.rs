//! Support for tests/tests/template.rs: a view of template.yaml (`cfn`), scanners for the
//! Rust sources (`sources`), the checks that compare the two (`checks`), what a
//! function's code reaches (`reach`) and what its policy grants (`iam`).

pub mod cfn;
pub mod checks;
pub mod iam;
pub mod reach;
pub mod sources;
