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
}
