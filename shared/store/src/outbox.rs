//! The push outbox: per connection, the app events ingest accepted and the push worker has
//! not finished yet, in the order they were accepted (issue 11, README "Batching design").
//!
//! Ingest appends a request's events and nudges the push queue; the worker woken by the
//! nudge reads the oldest entries in chunks, pushes them and removes each entry only once
//! its event is reported or parked. So a worker that dies mid-chunk loses nothing: the
//! entries stay, and the nudge comes back.
//!
//! Order: every entry gets the connection's next sequence number, and an append becomes
//! visible only in sequence order (a reader never sees an entry while an earlier one is
//! still being written), so a record's events are read in the order ingest accepted them,
//! as the FIFO queue delivered them before.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::error::StoreResult;
use crate::ids::{ConnectionId, TenantId};

/// Most entries one read returns.
pub const MAX_OUTBOX_READ: u32 = 1000;

/// One event to append: its id (for logs and de-duplication) and the push message body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewOutboxEntry {
    pub event_id: String,
    pub body: String,
}

/// A stored entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutboxEntry {
    pub tenant: TenantId,
    pub connection: ConnectionId,
    /// The connection's sequence number: ascending in append order, never reused.
    pub seq: u64,
    pub event_id: String,
    pub body: String,
    pub appended_at: DateTime<Utc>,
}

/// Per-connection ordered outboxes.
#[async_trait]
pub trait OutboxStore: Send + Sync {
    /// Appends `entries` in order after everything appended before and returns them with
    /// their sequence numbers. Concurrent appends to one connection are serialised; a
    /// call's entries become visible in order (all at once up to 99 entries). On an error,
    /// a prefix of the entries may have been appended.
    async fn append(
        &self,
        tenant: &TenantId,
        connection: &ConnectionId,
        entries: Vec<NewOutboxEntry>,
    ) -> StoreResult<Vec<OutboxEntry>>;
    /// The `limit` (1..=[`MAX_OUTBOX_READ`]) oldest entries, ascending (strongly consistent).
    async fn oldest(
        &self,
        tenant: &TenantId,
        connection: &ConnectionId,
        limit: u32,
    ) -> StoreResult<Vec<OutboxEntry>>;
    /// Removes the entries with these sequence numbers (no error for absent ones).
    async fn remove(
        &self,
        tenant: &TenantId,
        connection: &ConnectionId,
        seqs: &[u64],
    ) -> StoreResult<()>;
}
