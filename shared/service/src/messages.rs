//! Queue message bodies. Versioned by shape: unknown fields are refused so a producer and
//! consumer of different builds fail loudly instead of dropping data.

use crmsync_core::event::AppEvent;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// One app event on the push queue.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PushMessage {
    pub tenant: String,
    pub connection: String,
    pub event: AppEvent,
    /// Set when an operator re-pushes a reported event: a fresh delivery of the same event.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repush_id: Option<String>,
    /// When ingest accepted it, as a sortable stamp (see [`accept_stamp`]): a parked
    /// record's events replay in the order the app sent them even when their app times tie.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub accepted: Option<String>,
}

/// `{epoch ms:013}-{n:012}`: ingest time, then a process-wide counter that orders events
/// accepted in the same millisecond (one request's events arrive in the app's order).
pub fn accept_stamp(now: chrono::DateTime<chrono::Utc>) -> String {
    static ACCEPTED: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = ACCEPTED.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    format!("{:013}-{n:012}", now.timestamp_millis().max(0))
}

impl PushMessage {
    /// FIFO group: one record, so its events apply in order while other records go in parallel.
    pub fn group_id(&self) -> String {
        bounded_id(&format!(
            "{}:{}:{}:{}",
            self.tenant,
            self.connection,
            self.event.app_object.as_str(),
            self.event.app_id
        ))
    }

    /// FIFO dedup id: the event id, scoped to the tenant and connection.
    pub fn dedup_id(&self) -> String {
        match &self.repush_id {
            Some(r) => bounded_id(&format!(
                "{}:{}:{}:{r}",
                self.tenant, self.connection, self.event.event_id
            )),
            None => bounded_id(&format!(
                "{}:{}:{}",
                self.tenant, self.connection, self.event.event_id
            )),
        }
    }
}

/// A wake-up on the push queue: the connection's outbox has events (README "Batching
/// design"). The events themselves are in the store; the FIFO group is the connection, so
/// one worker drains a connection at a time.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NudgeMessage {
    /// Always `outbox`: tells a nudge from a [`PushMessage`] at a glance.
    pub nudge: String,
    pub tenant: String,
    pub connection: String,
}

impl NudgeMessage {
    pub const KIND: &'static str = "outbox";

    pub fn new(tenant: &str, connection: &str) -> Self {
        Self {
            nudge: Self::KIND.into(),
            tenant: tenant.into(),
            connection: connection.into(),
        }
    }

    /// FIFO group: the whole connection.
    pub fn group_id(&self) -> String {
        bounded_id(&format!("{}:{}", self.tenant, self.connection))
    }

    /// FIFO dedup id, unique per `tag` (the first sequence number of an append, so a
    /// retried send is dropped as a repeat while every append gets its own nudge).
    pub fn dedup_id(&self, tag: &str) -> String {
        bounded_id(&format!("{}:{}:outbox:{tag}", self.tenant, self.connection))
    }
}

/// One connection to poll, on the poll queue.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PollMessage {
    pub tenant: String,
    pub connection: String,
    /// The scheduler's queued-mark owner, released when the poll finishes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mark: Option<String>,
}

/// One connection to sweep for deletions, on the sweep queue.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SweepMessage {
    pub tenant: String,
    pub connection: String,
}

/// SQS group and dedup ids allow 128 characters of a limited alphabet: hash anything else.
fn bounded_id(raw: &str) -> String {
    let simple = raw.len() <= 128
        && raw
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~".contains(c));
    if simple {
        raw.to_string()
    } else {
        hex::encode(Sha256::digest(raw.as_bytes()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_or_odd_ids_are_hashed_to_a_valid_length() {
        assert_eq!(bounded_id("t:c:contact:42"), "t:c:contact:42");
        let long = "x".repeat(300);
        assert_eq!(bounded_id(&long).len(), 64);
        assert_eq!(bounded_id("café"), bounded_id("café"));
        assert_ne!(bounded_id("café"), "café");
    }
}
