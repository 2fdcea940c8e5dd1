use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::ids::{ConnectionId, TenantId};

/// One stored version of a connection's sync config. The config itself is opaque here
/// (crmsync-core owns its schema).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SyncConfigVersion {
    pub tenant: TenantId,
    pub connection: ConnectionId,
    /// 1 for the first version, +1 per put.
    pub version: u64,
    pub config: serde_json::Value,
    pub updated_at: DateTime<Utc>,
}

/// The pull cursor `(SystemModstamp, Id)`: records strictly after it are unseen.
/// Ordered by modstamp, then Id.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct CursorPosition {
    pub system_modstamp: DateTime<Utc>,
    pub last_id: String,
}

/// Cursor state of one object of one connection.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ObjectCursor {
    /// `None` until the first pull applied something.
    pub position: Option<CursorPosition>,
    pub last_sweep_at: Option<DateTime<Utc>>,
    /// A reconcile by Id scan under way (the sweep resumes it on its next run).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reconcile: Option<ReconcileCheckpoint>,
    /// Where the re-read of calculated fields (formula, roll-up) stands.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recalc: Option<RecalcCheckpoint>,
}

/// The rolling re-read of an object's calculated fields: when the last page was read, and
/// the Id it stopped after (`None`: the next page starts over from the first record).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecalcCheckpoint {
    pub at: DateTime<Utc>,
    pub after: Option<String>,
}

/// Where a reconcile by Id scan stopped: links are checked page by page in key order, and
/// the scan continues after `after` instead of starting over.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReconcileCheckpoint {
    /// When the scan began: once it completes, the deletion sweep covers up to here
    /// (a record deleted after a page was checked is in the delete log from this time).
    pub started_at: DateTime<Utc>,
    /// The page token after the last fully checked page (`None`: from the start).
    pub after: Option<String>,
    /// Links checked so far.
    pub checked: u64,
}
