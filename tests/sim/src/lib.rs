//! # crmsync-sim
//!
//! A seeded, deterministic fault simulation of crmsync (issue 10). Each seed drives the real
//! service code (ingest, push, poll, sweep, parked replay) through a random scenario against
//! the in-process Salesforce emulator and the embedded stores, on a single-threaded runtime
//! with a manual clock and one seeded RNG, injects faults at random points, settles, and
//! checks the invariants against a model of what the app and Salesforce users did.
//!
//! Modules: [`model`] (what should have happened), [`rules`] (the tenant's rules a seed draws), [`scenario`] (steps, profiles, the
//! generator), [`faults`] (fault kinds), [`store_plan`] (the store fault plan, the killable
//! worker), [`workers`] (worker runs, alone or racing), [`runner`] (a world per seed, step
//! execution, quiescence), [`invariants`] (the checks); [`owners`], [`toggles`] and
//! [`activities`] (those features' steps, config and checks). See `README.md`.

pub mod activities;
pub mod contested;
pub mod faults;
pub mod invariants;
pub mod model;
pub mod owners;
pub mod rules;
pub mod runner;
pub mod scenario;
pub mod store_plan;
pub mod toggles;
pub mod workers;

pub use faults::{Fault, FaultSet, SfFault};
pub use invariants::Violation;
pub use rules::Rules;
pub use runner::{RunReport, SimConfig, run_script, run_seed};
pub use scenario::{Profile, Step};
