//! # crmsync-store
//!
//! State, tokens and queues for crmsync, as **ports** (small async traits in
//! [`ports`], returning the plain domain types of [`model`]) and two sets of
//! **adapters** that implement every port with the same semantics:
//!
//! - AWS: one DynamoDB table (single-table design below), Secrets Manager for refresh
//!   tokens, SQS for the push (FIFO) and poll queues. Build the SDK clients once with
//!   [`AwsClients::from_env`] and hand them to [`Stores::aws`].
//! - Embedded: in memory, optionally saved behind to a JSON file (atomic rename) so
//!   `crmsync dev` survives a restart: [`Stores::embedded`].
//!
//! The service layer gets a [`Stores`] bundle (`Arc<dyn Port>` per port) and never
//! sees an SDK type. Every write two workers can race on is conditional (link
//! creation, a push's or poll's link update on the version read, cursor advance, leases, OAuth state take, idempotency keys, config
//! versions, token rotation) and a lost race is [`StoreError::Conflict`]. Transient
//! failures report [`StoreError::is_retryable`]. Time comes from a [`Clock`] port so
//! TTLs and leases are testable; items past `expires_at` are invisible on read even
//! before DynamoDB's TTL sweeper deletes them.
//!
//! ## Table design
//!
//! The table (resource `StateTable` in `template.yaml`, read by [`bootstrap`] so local
//! and deployed tables cannot drift) has `pk`/`sk` and index `gsi1` (`gsi1pk`/`gsi1sk`,
//! projection ALL); TTL attribute `expires_at` (epoch seconds). Times inside keys are
//! zero-padded epoch milliseconds so they sort.
//!
//! | item | pk | sk | gsi1pk / gsi1sk | notes |
//! |---|---|---|---|---|
//! | tenant | `TENANT#t` | `TENANT` | `APIKEY#hash` / `TENANT#t` | API key lookup via gsi1 |
//! | connection | `TENANT#t` | `CONN#c` | `CONNS` / `TENANT#t#CONN#c` | gsi1 lists all for the scheduler, which needs nothing else (the poll frequency is copied here) |
//! | config version | `TENANT#t` | `CONFIG#c#v0000000001` | | put-if-absent on the next version |
//! | cursor | `TENANT#t` | `CURSOR#c#object` | | conditional on the expected position |
//! | link | `TENANT#t` | `LINK#c#appObject#appId` | `SFID#t#c#sfId` / `LINK` | create-if-absent; updates bump `data.version`, conditional on it with `update_synced_if` |
//! | report | `TENANT#t` | `REPORT#c#eventId` | `REPORTS#t#c#status` / `ms#eventId` | TTL |
//! | write intent | `TENANT#t` | `INTENT#c#eventId` | | TTL; cleared once reported |
//! | run | `TENANT#t` | `RUN#c#startedMs#runId` | | TTL; query newest first |
//! | change | `TENANT#t` | `CHANGE#00000000000000000042` | | |
//! | change counter | `TENANT#t` | `CHANGESEQ` | | `UpdateItem ADD seq :n` |
//! | checkpoint | `TENANT#t` | `CHECKPOINT#c#name` | | a long job's position (bulk backfill) |
//! | outbox entry | `OUTBOX#t#c` | `ENTRY#00000000000000000042` | | a pushed event awaiting the worker |
//! | outbox counter | `OUTBOX#t#c` | `SEQ` | | `seq`: moved by the append's transaction |
//! | quota day | `TENANT#t` | `QUOTA#c#2026-11-22` | | `ADD calls :n`, TTL |
//! | quota limit | `TENANT#t` | `QUOTALIMIT#c` | | last `Sforce-Limit-Info` |
//! | idempotency key | `TENANT#t` | `IDEM#key` | | put-if-absent-or-expired, TTL |
//! | OAuth state | `OAUTH#state` | `OAUTH` | | take = conditional delete, TTL |
//! | lease | `LEASE#name` | `LEASE` | | conditional on owner / expiry, TTL; the scheduler's queued marks are read and written in batches under its pass lease |
//!
//! Run records (the history of sync runs) are listed by a query on `pk` with
//! `begins_with(sk, "RUN#c#")`, backwards and strongly consistent (no index involved). Their summary is a
//! JSON string attribute capped at [`MAX_RUN_SUMMARY_BYTES`] (cut down, and flagged, when
//! larger), which keeps every run item far below DynamoDB's 400 KB item limit.
//!
//! Consistency: reads by primary key are strongly consistent. Reads through `gsi1`
//! (API key lookup, link by Salesforce Id, report listing, the scheduler's list of all
//! connections) are eventually consistent, as GSIs are: a write can take a moment to
//! show there. Link creation is exclusive on the app side `(app object, app id)`; the
//! Salesforce side is indexed, not a uniqueness constraint. The change-feed counter
//! hands out numbers before the entries are written; readers hold at a fresh hole so
//! they never skip an entry that is still being written.
//!
//! Tokens: one secret per connection named `{prefix}{tenant}/{connection}` (prefix
//! default `crmsync/`), holding the refresh token, instance URL and metadata, never
//! the access token. Rotation is a compare-and-swap on the secret's version id: the
//! new value is staged, then `AWSCURRENT` is moved with `RemoveFromVersionId` = the
//! expected version, which Secrets Manager refuses if another writer moved it first.

pub mod aws;
pub mod bootstrap;
pub mod checkpoints;
pub mod clock;
pub mod embedded;
pub mod error;
pub mod faulty;
pub mod ids;
pub mod model;
pub mod outbox;
pub mod ports;
pub mod secret;
mod stores;
mod util;

pub use aws::{AwsClients, AwsSettings};
pub use checkpoints::{Checkpoint, CheckpointStore};
pub use clock::{Clock, ManualClock, SystemClock};
pub use error::{StoreError, StoreResult};
pub use ids::{ConnectionId, TenantId, validate_key_part};
pub use model::*;
pub use outbox::{NewOutboxEntry, OutboxEntry, OutboxStore};
pub use ports::*;
pub use secret::Secret;
pub use stores::Stores;
