//! The ports: small async traits the service layer depends on. Every adapter
//! (DynamoDB / Secrets Manager / SQS, embedded) implements all of them with the same
//! semantics; `tests/contract` holds the one suite both must pass.

use std::collections::BTreeMap;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};

use crate::error::StoreResult;
use crate::ids::{ConnectionId, TenantId};
use crate::model::*;

/// Connections of tenants to Salesforce orgs.
#[async_trait]
pub trait ConnectionStore: Send + Sync {
    async fn get(&self, tenant: &TenantId, id: &ConnectionId) -> StoreResult<Option<Connection>>;
    /// Creates or replaces the connection.
    async fn put(&self, connection: &Connection) -> StoreResult<()>;
    async fn list_for_tenant(&self, tenant: &TenantId) -> StoreResult<Vec<Connection>>;
    /// Every connection of every tenant, paged (for the scheduler).
    async fn list_all(&self, page: &PageRequest) -> StoreResult<Page<Connection>>;
    /// Sets the status. With a `failure`, also `last_error`, `last_failure_at` and
    /// `last_error_code`; without, clears `last_error` only (the failure history stays).
    /// With `expected`, only if the current status equals it (`Conflict` otherwise).
    /// `NotFound` if the connection does not exist.
    async fn update_status(
        &self,
        tenant: &TenantId,
        id: &ConnectionId,
        expected: Option<ConnectionStatus>,
        status: ConnectionStatus,
        failure: Option<ConnectionFailure>,
    ) -> StoreResult<Connection>;
    /// Records a successful sync run: `last_sync_at` and `last_success_at`, and for a
    /// poll `last_poll_at` (`NotFound` if absent).
    async fn record_sync(
        &self,
        tenant: &TenantId,
        id: &ConnectionId,
        at: DateTime<Utc>,
        run: SyncRun,
    ) -> StoreResult<()>;
    /// Turns the connection's sync on or off; touches nothing else (`NotFound` if absent).
    async fn set_sync_enabled(
        &self,
        tenant: &TenantId,
        id: &ConnectionId,
        enabled: bool,
    ) -> StoreResult<Connection>;
    /// Sets the poll frequency the scheduler reads from the connection (see
    /// [`Connection::poll_minutes`]); touches nothing else (`NotFound` if absent).
    async fn set_poll_minutes(
        &self,
        tenant: &TenantId,
        id: &ConnectionId,
        minutes: u32,
    ) -> StoreResult<()>;
}

/// Tenants and their API keys (hashes only).
#[async_trait]
pub trait TenantStore: Send + Sync {
    async fn get(&self, id: &TenantId) -> StoreResult<Option<Tenant>>;
    async fn find_by_api_key_hash(&self, api_key_hash: &str) -> StoreResult<Option<Tenant>>;
    /// Creates or replaces the tenant.
    async fn put(&self, tenant: &Tenant) -> StoreResult<()>;
    /// Creates the tenant; `Conflict` if the id is taken (two concurrent creates: one wins).
    async fn create(&self, tenant: &Tenant) -> StoreResult<()>;
    /// Replaces the API key hash; the old key stops resolving. `NotFound` if absent.
    async fn rotate_api_key(&self, id: &TenantId, new_hash: &str) -> StoreResult<Tenant>;
}

/// Versioned sync configs with optimistic concurrency.
#[async_trait]
pub trait ConfigStore: Send + Sync {
    /// Stores `config` as version `expected_version + 1`. `expected_version` is the
    /// version the caller read (0 when there was none). `Conflict` if someone else
    /// stored a newer version first.
    async fn put(
        &self,
        tenant: &TenantId,
        connection: &ConnectionId,
        expected_version: u64,
        config: serde_json::Value,
    ) -> StoreResult<SyncConfigVersion>;
    async fn get_latest(
        &self,
        tenant: &TenantId,
        connection: &ConnectionId,
    ) -> StoreResult<Option<SyncConfigVersion>>;
    async fn get_version(
        &self,
        tenant: &TenantId,
        connection: &ConnectionId,
        version: u64,
    ) -> StoreResult<Option<SyncConfigVersion>>;
}

/// Pull cursors and sweep times per connection and object.
#[async_trait]
pub trait CursorStore: Send + Sync {
    /// The object's cursor (default, i.e. empty, if never written).
    async fn get(
        &self,
        tenant: &TenantId,
        connection: &ConnectionId,
        object: &str,
    ) -> StoreResult<ObjectCursor>;
    /// Moves the position from `expected` (what the caller read; `None` = never set) to
    /// `next`. `Conflict` if the stored position is not `expected` or `next` is behind it.
    async fn advance(
        &self,
        tenant: &TenantId,
        connection: &ConnectionId,
        object: &str,
        expected: Option<&CursorPosition>,
        next: &CursorPosition,
    ) -> StoreResult<()>;
    /// Records a deletion sweep; `Conflict` if `at` is before the stored sweep time.
    async fn set_last_sweep(
        &self,
        tenant: &TenantId,
        connection: &ConnectionId,
        object: &str,
        at: DateTime<Utc>,
    ) -> StoreResult<()>;
    /// Stores the object's reconcile checkpoint, or clears it with `None`.
    async fn set_reconcile(
        &self,
        tenant: &TenantId,
        connection: &ConnectionId,
        object: &str,
        checkpoint: Option<&ReconcileCheckpoint>,
    ) -> StoreResult<()>;
    /// Stores the object's calculated-field re-read checkpoint.
    async fn set_recalc(
        &self,
        tenant: &TenantId,
        connection: &ConnectionId,
        object: &str,
        checkpoint: &RecalcCheckpoint,
    ) -> StoreResult<()>;
}

/// Links between app records and Salesforce records.
#[async_trait]
pub trait LinkStore: Send + Sync {
    /// Creates the link unless one exists for `(app_object, app_id)`; racing writers:
    /// exactly one gets `Created`, the rest get the winner as `Existing`.
    async fn create_if_absent(&self, link: &Link) -> StoreResult<LinkCreate>;
    async fn get_by_app(
        &self,
        tenant: &TenantId,
        connection: &ConnectionId,
        app_object: &str,
        app_id: &str,
    ) -> StoreResult<Option<Link>>;
    /// Finds by Salesforce Id (DynamoDB: index `gsi1`, eventually consistent).
    async fn get_by_sf_id(
        &self,
        tenant: &TenantId,
        connection: &ConnectionId,
        sf_id: &str,
    ) -> StoreResult<Option<Link>>;
    /// Replaces the hashes of last-synced values. `NotFound` if the link is gone.
    async fn update_hashes(
        &self,
        tenant: &TenantId,
        connection: &ConnectionId,
        app_object: &str,
        app_id: &str,
        hashes: BTreeMap<String, String>,
    ) -> StoreResult<Link>;
    /// Replaces the hashes and the change times in one write. `NotFound` if the link is gone.
    async fn update_synced(
        &self,
        tenant: &TenantId,
        connection: &ConnectionId,
        app_object: &str,
        app_id: &str,
        hashes: BTreeMap<String, String>,
        times: LinkTimes,
    ) -> StoreResult<Link>;
    /// [`Self::update_synced`] only if the link is still at `expected_version` (the
    /// [`Link::version`] the caller read): `Conflict` if another writer moved it since (a
    /// poll's inbound apply racing a push's link write); re-read and decide, retrying the
    /// same write is wrong. `NotFound` if the link is gone.
    #[allow(clippy::too_many_arguments)]
    async fn update_synced_if(
        &self,
        tenant: &TenantId,
        connection: &ConnectionId,
        app_object: &str,
        app_id: &str,
        expected_version: u64,
        hashes: BTreeMap<String, String>,
        times: LinkTimes,
    ) -> StoreResult<Link>;
    /// The connection's links to records of one Salesforce object, paged (for the
    /// deletion sweep's reconcile by Id scan).
    async fn list_for_object(
        &self,
        tenant: &TenantId,
        connection: &ConnectionId,
        sf_object: &str,
        page: &PageRequest,
    ) -> StoreResult<Page<Link>>;
    /// Creates or replaces the link of `(app_object, app_id)`, re-indexing it under its
    /// (possibly new) Salesforce id: the link moves to the record last written for it.
    async fn replace(&self, link: &Link) -> StoreResult<()>;
    /// Unlinks; returns the removed link, `None` if there was none.
    async fn delete(
        &self,
        tenant: &TenantId,
        connection: &ConnectionId,
        app_object: &str,
        app_id: &str,
    ) -> StoreResult<Option<Link>>;
}

/// Write intents of push events (see [`WriteIntent`]), one per event, expiring.
#[async_trait]
pub trait IntentStore: Send + Sync {
    /// Records the event's intent unless a live (unexpired) one exists:
    /// [`crate::StoreError::Conflict`] then, so of two workers pushing one event at once
    /// only one goes on.
    async fn put(&self, intent: &WriteIntent) -> StoreResult<()>;
    /// The event's intent; `None` if absent, cleared or expired.
    async fn get(
        &self,
        tenant: &TenantId,
        connection: &ConnectionId,
        event_id: &str,
    ) -> StoreResult<Option<WriteIntent>>;
    /// The connection's intents that are neither cleared nor expired (few: one per event
    /// being pushed or awaiting redelivery).
    async fn list_open(
        &self,
        tenant: &TenantId,
        connection: &ConnectionId,
    ) -> StoreResult<Vec<WriteIntent>>;
    /// Removes the event's intent (no error if absent).
    async fn clear(
        &self,
        tenant: &TenantId,
        connection: &ConnectionId,
        event_id: &str,
    ) -> StoreResult<()>;
}

/// Per-event outcomes.
#[async_trait]
pub trait ReportStore: Send + Sync {
    /// Writes (or replaces, by event id) an entry.
    async fn write(&self, entry: &ReportEntry) -> StoreResult<()>;
    /// Replaces the entry only if the stored one is live with status `expected`;
    /// `Conflict` otherwise. A status transition (parked → requeued) must never overwrite
    /// an outcome the push worker wrote meanwhile.
    async fn write_if_status(&self, entry: &ReportEntry, expected: ReportStatus)
    -> StoreResult<()>;
    /// One entry (for re-push); `None` if absent or expired.
    async fn get(
        &self,
        tenant: &TenantId,
        connection: &ConnectionId,
        event_id: &str,
    ) -> StoreResult<Option<ReportEntry>>;
    /// Entries matching the query, newest first, paged.
    async fn list(&self, query: &ReportQuery) -> StoreResult<Page<ReportEntry>>;
}

/// The history of sync runs (poll, test sync, sweep) per connection.
#[async_trait]
pub trait RunStore: Send + Sync {
    /// Records a finished run; the same `(connection, started_at, id)` again replaces it.
    /// A `summary` over [`MAX_RUN_SUMMARY_BYTES`] is stored cut down, with
    /// `summary_truncated` set.
    async fn record(&self, run: &RunRecord) -> StoreResult<()>;
    /// The connection's runs, newest first (by `started_at`, ties by `id`), paged;
    /// expired ones are left out.
    async fn list(
        &self,
        tenant: &TenantId,
        connection: &ConnectionId,
        page: &PageRequest,
    ) -> StoreResult<Page<RunRecord>>;
}

/// The per-tenant feed of inbound changes.
#[async_trait]
pub trait ChangeFeed: Send + Sync {
    /// Appends in order; returns the stored entries with their new sequence numbers.
    async fn append(
        &self,
        tenant: &TenantId,
        changes: Vec<NewChange>,
    ) -> StoreResult<Vec<ChangeEntry>>;
    /// Entries with `seq > after`, ascending, at most `limit` (clamped to 1..=1000).
    /// Never skips a sequence number that a concurrent append is still writing: the
    /// batch stops before such a hole (with `has_more`), and only a hole older than
    /// 30 s (its appender died) is passed over.
    async fn read(&self, tenant: &TenantId, after: u64, limit: u32) -> StoreResult<ChangeBatch>;
}

/// OAuth `state` values awaiting their callback.
#[async_trait]
pub trait OAuthStateStore: Send + Sync {
    /// Stores a new state; `Conflict` if that state value already exists.
    async fn put(&self, state: &OAuthState) -> StoreResult<()>;
    /// Removes and returns the state. `None` if unknown, expired or already taken.
    async fn take(&self, state: &str) -> StoreResult<Option<OAuthState>>;
}

/// Deduplication of keys (event ids, request ids) for a time.
#[async_trait]
pub trait IdempotencyStore: Send + Sync {
    /// Records `key` for `ttl`. `true` if it was new (or its earlier record expired),
    /// `false` if it was already seen.
    async fn put_if_absent(&self, tenant: &TenantId, key: &str, ttl: Duration)
    -> StoreResult<bool>;
}

/// Expiring mutual exclusion (token refresh, one poller per connection).
#[async_trait]
pub trait LeaseStore: Send + Sync {
    /// Takes `name` for `owner` if it is free or expired (or already `owner`'s).
    /// `None` if someone else holds it.
    async fn acquire(&self, name: &str, owner: &str, ttl: Duration) -> StoreResult<Option<Lease>>;
    /// Extends a held lease; `Conflict` if it was lost (expired and taken, or released).
    async fn renew(&self, lease: &Lease, ttl: Duration) -> StoreResult<Lease>;
    /// Releases; `Conflict` if `lease.owner` does not hold it any more.
    async fn release(&self, lease: &Lease) -> StoreResult<()>;
    /// The leases among `names` that are held (not expired) now. Read in batches
    /// (DynamoDB: strongly consistent `BatchGetItem`s of 100 keys).
    async fn held(&self, names: &[String]) -> StoreResult<Vec<Lease>>;
    /// Writes every lease in `names` as held by `owner` for `ttl` **without checking who
    /// holds it** (DynamoDB: `BatchWriteItem`s of 25, which cannot be conditional). Only
    /// for a single writer that read them free with [`Self::held`] while holding a lease
    /// that excludes every other writer of these names (the scheduler pass and its queued
    /// marks). On an error some of them may have been written.
    async fn grant_unchecked(
        &self,
        names: &[String],
        owner: &str,
        ttl: Duration,
    ) -> StoreResult<Vec<Lease>>;
}

/// Salesforce API budget tracking.
#[async_trait]
pub trait QuotaStore: Send + Sync {
    /// Adds `calls` to the connection's count for `day`; returns the new total.
    async fn add_calls(
        &self,
        tenant: &TenantId,
        connection: &ConnectionId,
        day: NaiveDate,
        calls: u64,
    ) -> StoreResult<u64>;
    /// Stores the last seen `Sforce-Limit-Info`, stamped with the clock.
    async fn record_limit(
        &self,
        tenant: &TenantId,
        connection: &ConnectionId,
        reading: LimitReading,
    ) -> StoreResult<()>;
    async fn usage(
        &self,
        tenant: &TenantId,
        connection: &ConnectionId,
        day: NaiveDate,
    ) -> StoreResult<QuotaUsage>;
}

/// Refresh tokens, one entry per connection.
#[async_trait]
pub trait TokenVault: Send + Sync {
    /// The entry name (`{prefix}{tenant}/{connection}`), stored on the connection.
    fn secret_name(&self, tenant: &TenantId, connection: &ConnectionId) -> String;
    /// Creates or unconditionally replaces (connect / reconnect).
    async fn put(
        &self,
        tenant: &TenantId,
        connection: &ConnectionId,
        token: &StoredToken,
    ) -> StoreResult<VersionedToken>;
    async fn get(
        &self,
        tenant: &TenantId,
        connection: &ConnectionId,
    ) -> StoreResult<Option<VersionedToken>>;
    /// Compare-and-swap: replaces only if the current version is `expected`
    /// (`Conflict` otherwise, `NotFound` if there is no entry). Call it only when the
    /// refresh token (or other persisted data) actually changed.
    async fn rotate(
        &self,
        tenant: &TenantId,
        connection: &ConnectionId,
        expected: &TokenVersion,
        token: &StoredToken,
    ) -> StoreResult<VersionedToken>;
    /// Deletes the entry (no error if absent).
    async fn delete(&self, tenant: &TenantId, connection: &ConnectionId) -> StoreResult<()>;
}

/// The push (FIFO) and poll queues.
#[async_trait]
pub trait Queues: Send + Sync {
    /// Sends all messages (chunked into batches of 10). Fails if any entry failed;
    /// retrying is safe on FIFO queues thanks to the dedup ids.
    async fn send_batch(&self, queue: QueueKind, messages: &[OutboundMessage]) -> StoreResult<()>;
    /// Receives up to `max` (1..=10) visible messages without waiting long.
    async fn receive(&self, queue: QueueKind, max: u32) -> StoreResult<Vec<ReceivedMessage>>;
    /// Deletes a received message.
    async fn ack(&self, queue: QueueKind, receipt: &str) -> StoreResult<()>;
}
