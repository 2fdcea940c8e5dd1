use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::ids::{ConnectionId, TenantId};
use crate::model::PageRequest;

/// Outcome of one event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ReportStatus {
    Success,
    Error,
    /// Held back (e.g. connection needs reconnect); can be re-pushed.
    Parked,
}

impl ReportStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            ReportStatus::Success => "success",
            ReportStatus::Error => "error",
            ReportStatus::Parked => "parked",
        }
    }
}

/// One event's outcome. Writing the same `event_id` again replaces the entry
/// (redelivery is idempotent).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReportEntry {
    pub tenant: TenantId,
    pub connection: ConnectionId,
    pub event_id: String,
    pub object: String,
    pub app_id: Option<String>,
    pub sf_id: Option<String>,
    pub status: ReportStatus,
    pub code: Option<String>,
    pub reason: Option<String>,
    /// The original event, kept so it can be re-pushed.
    pub payload: Option<serde_json::Value>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// After this the entry is invisible and eventually deleted.
    pub expires_at: Option<DateTime<Utc>>,
}

/// Report listing: one status, optionally one object, optional `[from, to)` on
/// `updated_at`; newest first.
#[derive(Debug, Clone, PartialEq)]
pub struct ReportQuery {
    pub tenant: TenantId,
    pub connection: ConnectionId,
    pub status: ReportStatus,
    pub object: Option<String>,
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
    pub page: PageRequest,
}
