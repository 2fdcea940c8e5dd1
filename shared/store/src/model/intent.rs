use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::ids::{ConnectionId, TenantId};

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
    pub expires_at: DateTime<Utc>,
}
