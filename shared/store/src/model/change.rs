use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::ids::{ConnectionId, TenantId};

/// What happened to a Salesforce record, from the app's point of view.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ChangeKind {
    Upsert,
    Delete,
    Unlink,
    /// Nothing applied: a rule refused a Salesforce change, and the app is told why.
    Notice,
    /// A Lead became a Contact (`convertLead`): the app record's links moved with it.
    Convert,
    /// Like `upsert`, found by the periodic drift comparison: a Salesforce value that
    /// differed from what crmsync last carried, though no change was seen.
    Drift,
}

/// A change to append to a tenant's feed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewChange {
    pub connection: ConnectionId,
    pub object: String,
    pub sf_id: String,
    pub app_id: Option<String>,
    pub kind: ChangeKind,
    pub payload: serde_json::Value,
}

impl NewChange {
    /// The stored form, once a sequence number has been assigned.
    pub fn into_entry(self, tenant: &TenantId, seq: u64, at: DateTime<Utc>) -> ChangeEntry {
        ChangeEntry {
            tenant: tenant.clone(),
            seq,
            connection: self.connection,
            object: self.object,
            sf_id: self.sf_id,
            app_id: self.app_id,
            kind: self.kind,
            payload: self.payload,
            at,
        }
    }
}

/// A stored change with its per-tenant sequence number (1, 2, 3, ...).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ChangeEntry {
    pub tenant: TenantId,
    pub seq: u64,
    pub connection: ConnectionId,
    pub object: String,
    pub sf_id: String,
    pub app_id: Option<String>,
    pub kind: ChangeKind,
    pub payload: serde_json::Value,
    pub at: DateTime<Utc>,
}

/// One read of the feed. Pass `next_after` as `after` to continue.
#[derive(Debug, Clone, PartialEq)]
pub struct ChangeBatch {
    pub entries: Vec<ChangeEntry>,
    /// The highest sequence returned (or the `after` given when nothing was).
    pub next_after: u64,
    pub has_more: bool,
}
