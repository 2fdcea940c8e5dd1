use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::ids::{ConnectionId, TenantId};
use crate::model::LinkTimes;

/// A Salesforce create about to be sent for one push event, recorded before the call.
/// Found again on a redelivery (no report yet), it says the create may have committed, so
/// the worker looks for the record before creating it a second time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WriteIntent {
    pub tenant: TenantId,
    pub connection: ConnectionId,
    pub event_id: String,
    /// When the write was about to be sent (records created before it are not ours).
    pub started_at: DateTime<Utc>,
    /// Salesforce ids already linked to the event's app record when the intent was
    /// recorded: never adopted as this event's new records.
    #[serde(default)]
    pub known_ids: Vec<String>,
    /// The linked records the event may create: a poll that finds one before the push
    /// linked it knows it as crmsync's own and links it to the event's app record.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub creates: Vec<PendingCreate>,
    pub expires_at: DateTime<Utc>,
}

/// One record a push event may create, and the link its push writes once it exists.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingCreate {
    pub sf_object: String,
    /// The identity fields the record is created with (Salesforce field → value).
    pub identity: BTreeMap<String, serde_json::Value>,
    /// The link's key (`contact`, `contact.Account`, ...) and app id.
    pub app_object: String,
    pub app_id: String,
    /// The link's hashes and change times after the write, as the push would write them.
    pub hashes: BTreeMap<String, String>,
    #[serde(default)]
    pub times: LinkTimes,
}
