//! # crmsync-service
//!
//! The use cases of crmsync, written once and called by both the Lambda functions
//! (`functions/*`) and the local CLI (`crmsync demo`, `crmsync dev`):
//!
//! - [`connect`]: connect start, OAuth callback, reconnect, disconnect;
//! - [`schedule`]: the minute scheduler pass; [`poll`]: the per-connection pull;
//! - [`ingest`] and [`push`]: signed app events in, Salesforce writes out;
//! - [`sweep`]: deletions in Salesforce unlink app records;
//! - [`reports`]: connection details, report entries, re-push, config, test sync, change
//!   feed, quota, lookup; [`tenants`]: provisioning and credentials.
//!
//! Use cases take an [`App`] (settings, the store ports, Salesforce access) built once per
//! cold start. The mapping rules come from `crmsync-core` (pure); this crate orchestrates
//! I/O around them and holds no rules of its own. [`lambda`] and [`http`] adapt Lambda
//! events and HTTP requests to the use cases.

pub mod api_keys;
pub mod app;
pub mod backfill;
pub mod config_service;
pub mod connect;
pub mod conversion;
pub mod describe;
pub mod drift_check;
pub mod drift_scan;
pub mod error;
pub mod guard;
pub mod http;
pub mod import;
pub mod ingest;
pub mod lambda;
pub mod leases;
pub mod links;
pub mod messages;
pub mod notices;
pub mod outbox;
pub mod own_creates;
pub mod parked;
pub mod poll;
mod polled_link;
pub mod provision;
pub mod push;
pub mod quota;
pub mod recalc;
pub mod reports;
pub mod runs;
pub mod schedule;
pub mod settings;
pub mod sf_session;
pub mod signing;
pub mod sweep;
pub mod sync_switch;
pub mod telemetry;
pub mod tenants;

pub use app::{App, AppCredentials};
pub use error::ServiceError;
pub use settings::Settings;
