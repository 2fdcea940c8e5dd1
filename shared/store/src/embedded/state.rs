//! The serialisable state of the embedded store.

use std::collections::{BTreeMap, BTreeSet, VecDeque};

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
    /// `t#c#name`
    pub checkpoints: BTreeMap<String, crate::checkpoints::Checkpoint>,
    /// `t#c` → the connection's push outbox
    pub outboxes: BTreeMap<String, super::outbox::Outbox>,
    /// `t#c#sfId` → link keys: the index behind `get_by_sf_id` (rebuilt on load, so a
    /// million links are not scanned once per pulled record).
    #[serde(skip)]
    pub link_keys_by_sf_id: BTreeMap<String, BTreeSet<String>>,
}

fn sf_key(link: &Link) -> String {
    key(&[link.tenant.as_str(), link.connection.as_str(), &link.sf_id])
}

impl State {
    /// Stores a link under `k`, keeping the Salesforce-Id index in step.
    pub fn put_link(&mut self, k: String, link: Link) {
        if let Some(old) = self.links.get(&k) {
            let old_sf = sf_key(old);
            self.unindex(&old_sf, &k);
        }
        self.link_keys_by_sf_id
            .entry(sf_key(&link))
            .or_default()
            .insert(k.clone());
        self.links.insert(k, link);
    }

    pub fn remove_link(&mut self, k: &str) -> Option<Link> {
        let link = self.links.remove(k)?;
        self.unindex(&sf_key(&link), k);
        Some(link)
    }

    fn unindex(&mut self, sf: &str, k: &str) {
        if let Some(keys) = self.link_keys_by_sf_id.get_mut(sf) {
            keys.remove(k);
            if keys.is_empty() {
                self.link_keys_by_sf_id.remove(sf);
            }
        }
    }

    /// The first link (in key order) for a Salesforce Id.
    pub fn link_by_sf_id(&self, tenant: &str, connection: &str, sf_id: &str) -> Option<&Link> {
        let keys = self
            .link_keys_by_sf_id
            .get(&key(&[tenant, connection, sf_id]))?;
        keys.iter().find_map(|k| self.links.get(k))
    }

    /// Rebuilds the indexes after a load.
    pub fn reindex(&mut self) {
        self.link_keys_by_sf_id.clear();
        let entries: Vec<(String, String)> = self
            .links
            .iter()
            .map(|(k, l)| (sf_key(l), k.clone()))
            .collect();
        for (sf, k) in entries {
            self.link_keys_by_sf_id.entry(sf).or_default().insert(k);
        }
    }
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
