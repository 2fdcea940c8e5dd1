//! The sync run history and test syncs (which report a run summary without moving cursors).

use chrono::{DateTime, Utc};
use crmsync_store::{ConnectionId, PageRequest, RunRecord, TenantId};
use serde::Serialize;
use sha2::{Digest, Sha256};

use super::connections::connection;
use super::cursor::{decode_cursor, encode_cursor, listing_err};
use super::{MAX_REPORT_LIMIT, store_err};
use crate::app::App;
use crate::error::ServiceError;
use crate::poll::{self, TestSegment};
use crate::runs::RunSummary;

/// Default page size of the run history.
pub const DEFAULT_RUN_LIMIT: u32 = 50;

/// One finished run of the history.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct RunView {
    pub id: String,
    /// `poll | test_sync | sweep | drift_check`.
    pub kind: String,
    /// `completed | capped | not_connected | quota_paused | not_ready | failed`.
    pub status: String,
    pub started_at: DateTime<Utc>,
    pub finished_at: DateTime<Utc>,
    /// Removed from the history after this.
    pub expires_at: Option<DateTime<Utc>>,
    /// What the run did: the run summary as the run returned it (per-object counts,
    /// skip reasons, messages, API calls), the same shape `POST .../test-sync` answers.
    pub summary: serde_json::Value,
    /// The summary was too large to keep whole and was stored cut down.
    pub summary_truncated: bool,
}

impl From<&RunRecord> for RunView {
    fn from(r: &RunRecord) -> Self {
        Self {
            id: r.id.clone(),
            kind: r.kind.clone(),
            status: r.status.clone(),
            started_at: r.started_at,
            finished_at: r.finished_at,
            expires_at: r.expires_at,
            summary: r.summary.clone(),
            summary_truncated: r.summary_truncated,
        }
    }
}

/// The run history of a connection: polls, test syncs, sweeps and drift checks of the last
/// [`crate::runs::RUN_HISTORY_DAYS`] days, newest first. Runs that found another worker
/// already syncing the connection (`busy`) are not kept.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct RunList {
    pub connection: String,
    pub runs: Vec<RunView>,
    /// Pass back as `cursor` for the next page; absent on the last page.
    pub next_cursor: Option<String>,
    /// When the last poll that completed (or stopped at its cap) finished.
    pub last_sync_at: Option<DateTime<Utc>>,
    /// Always `true`: runs are recorded as they finish.
    pub history_recorded: bool,
}

/// Binds a run-history page token to the tenant and connection it continues.
fn runs_fingerprint(tenant: &TenantId, id: &ConnectionId) -> String {
    let shape = format!("runs|{}|{}", tenant.as_str(), id.as_str());
    hex::encode(&Sha256::digest(shape.as_bytes())[..8])
}

/// One page of a connection's run history (`cursor` is the previous page's
/// `next_cursor`; `limit` 1 to [`MAX_REPORT_LIMIT`], default [`DEFAULT_RUN_LIMIT`]).
pub async fn list_runs(
    app: &App,
    tenant: &TenantId,
    id: &ConnectionId,
    cursor: Option<&str>,
    limit: Option<u32>,
) -> Result<RunList, ServiceError> {
    let limit = limit.unwrap_or(DEFAULT_RUN_LIMIT);
    if limit == 0 || limit > MAX_REPORT_LIMIT {
        return Err(ServiceError::bad_request(
            "limit",
            format!("must be 1 to {MAX_REPORT_LIMIT}"),
        ));
    }
    let conn = connection(app, tenant, id).await?;
    let fingerprint = runs_fingerprint(tenant, id);
    let token = cursor.map(|c| decode_cursor(&fingerprint, c)).transpose()?;
    let page = app
        .stores
        .runs
        .list(tenant, id, &PageRequest { limit, token })
        .await
        .map_err(listing_err)?;
    Ok(RunList {
        connection: id.as_str().to_string(),
        runs: page.items.iter().map(RunView::from).collect(),
        next_cursor: page.next.as_ref().map(|t| encode_cursor(&fingerprint, t)),
        last_sync_at: conn.last_sync_at,
        history_recorded: true,
    })
}

/// Syncs a small segment without moving cursors (the "Run test sync" button).
pub async fn test_sync(
    app: &App,
    tenant: &TenantId,
    id: &ConnectionId,
    segment: TestSegment,
) -> Result<RunSummary, ServiceError> {
    connection(app, tenant, id).await?;
    poll::test_sync(app, tenant, id, segment)
        .await
        .map_err(|e| match e {
            ServiceError::Store(s) => store_err(s),
            other => other,
        })
}
