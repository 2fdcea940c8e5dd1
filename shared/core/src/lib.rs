//! crmsync-core: the pure mapping core of crmsync.
//!
//! Everything the product help pages describe as a *rule* lives here, as plain functions
//! over plain data: the sync configuration and its validation ([`config`]), value
//! transforms ([`transform`]), the inbound decision for one Salesforce record
//! ([`inbound::decide_inbound`]), the outbound write plan for one app event
//! ([`outbound::plan_outbound`]), the matching cascades ([`matching`]), echo suppression
//! ([`hash`]), pre-flight validation against describe metadata ([`preflight`]), and the
//! fields a poll must select ([`query::fields_to_select`]).
//!
//! The crate does no I/O: no async, no HTTP, no AWS, no clock. Time is always a parameter.
//! Anything that needs data from outside (candidate records for a match, describe results,
//! the owner directory, the app's current record) is passed in; anything that must happen
//! outside (queries, writes) is returned as data — [`matching::Lookup`] criteria and
//! [`outbound::WritePlan`] steps that reference earlier steps' results symbolically. SOQL
//! is built by the Salesforce client from the allow-listed names core returns.
//!
//! Two-way sync must never ping-pong. Each link between an app record and a Salesforce
//! record keeps, per Salesforce field, the hash of the last value crmsync wrote or read, in
//! its normalised Salesforce form ([`hash::field_hash`]). A change whose mapped values hash
//! to what the link holds is an echo and yields nothing, in both directions; a field both
//! sides changed since the last sync is settled by the configured [`config::ConflictPolicy`].
//!
//! Polling is the hot path, so [`record::RawRecord`] borrows a record's JSON and parses only
//! the fields a mapping reads; every decision function is generic over
//! [`record::SalesforceRecord`] and also accepts a `serde_json::Value`.

pub mod activity;
pub mod catch_up;
pub mod config;
pub mod conflict;
pub mod conversion;
pub mod describe;
pub mod drift;
pub mod event;
pub mod hash;
pub mod inbound;
pub mod mapping;
pub mod matching;
pub mod outbound;
pub mod preflight;
pub mod provision;
pub mod query;
pub mod reconcile;
pub mod record;
pub mod record_types;
pub mod refusal;
pub mod sfid;
pub mod sites;
pub mod transform;
pub mod types;

pub use config::SyncConfig;
pub use event::AppEvent;
pub use inbound::{InboundAction, InboundDecision, decide_inbound};
pub use outbound::{OutboundContext, OutboundDecision, WritePlan, plan_outbound};
pub use record::{RawRecord, SalesforceRecord};
pub use types::{AppObject, AppRecord, EventKind, FieldMap, Link, LinkHashes};
