//! The serialisable state of the embedded store.

use std::collections::{BTreeMap, VecDeque};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::model::*;

/// Joins key parts. Safe because ids and key parts cannot contain `#`.
pub(super) fn key(parts: &[&str]) -> String {
    parts.join("#")
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub(super) struct State {
    pub tenants: BTreeMap<String, Tenant>,
    /// `t#c`
    pub connections: BTreeMap<String, Connection>,
    /// `t#c` → versions ascending
    pub configs: BTreeMap<String, Vec<SyncConfigVersion>>,
    /// `t#c#object`
    pub cursors: BTreeMap<String, ObjectCursor>,
    /// `t#c#appObject#appId`
    pub links: BTreeMap<String, Link>,
    /// `t#c#eventId`
    pub intents: BTreeMap<String, WriteIntent>,
    /// `t#c#eventId`
    pub reports: BTreeMap<String, ReportEntry>,
    /// `t#c#startedMs#runId` (15-digit zero-padded ms, so keys sort by start time)
    pub runs: BTreeMap<String, RunRecord>,
    /// `t` → entries ascending by seq
    pub changes: BTreeMap<String, Vec<ChangeEntry>>,
    pub change_seq: BTreeMap<String, u64>,
    /// state value
    pub oauth_states: BTreeMap<String, OAuthState>,
    /// `t#key` → expiry
    pub idempotency: BTreeMap<String, DateTime<Utc>>,
    pub leases: BTreeMap<String, Lease>,
    /// `t#c#day`
    pub quota_calls: BTreeMap<String, u64>,
    /// `t#c`
    pub quota_limits: BTreeMap<String, LimitInfo>,
    /// secret name
    pub vault: BTreeMap<String, VaultEntry>,
    pub queues: BTreeMap<QueueKind, QueueState>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(super) struct VaultEntry {
    pub token: StoredToken,
    pub version: String,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub(super) struct QueueState {
    pub next_id: u64,
    pub messages: VecDeque<StoredMessage>,
    /// dedup id → when it stops deduplicating
    pub dedup: BTreeMap<String, DateTime<Utc>>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(super) struct StoredMessage {
    pub id: String,
    pub body: String,
    pub group_id: Option<String>,
    pub invisible_until: Option<DateTime<Utc>>,
    pub receipt: Option<String>,
}
