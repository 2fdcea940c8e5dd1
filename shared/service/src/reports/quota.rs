//! Today's API use against the allowance.

use chrono::{DateTime, NaiveDate, Utc};
use crmsync_store::{ConnectionId, TenantId};
use serde::Serialize;

use super::connections::connection;
use super::store_err;
use crate::app::App;
use crate::error::ServiceError;
use crate::quota;

/// Today's API use: the org's (as Salesforce last reported it) and crmsync's own.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct QuotaView {
    pub connection: String,
    pub day: NaiveDate,
    pub crmsync_calls_today: u64,
    /// Share of the org's daily limit crmsync may use.
    pub share: f64,
    pub crmsync_allowance: u64,
    pub crmsync_remaining: u64,
    /// Last `Sforce-Limit-Info` seen (absent before the first call).
    pub org_used: Option<u64>,
    pub org_max: Option<u64>,
    /// The connected app's own quota in the org (`per-app-api-usage`), when the org sets one.
    pub app_used: Option<u64>,
    pub app_max: Option<u64>,
    pub limit_seen_at: Option<DateTime<Utc>>,
    /// Calls of the allowance kept for re-reading the org's limit while paused (work pauses
    /// this much short of the allowance).
    pub probe_reserve: u64,
    /// crmsync's calls an hour today (averaged since midnight UTC).
    pub calls_per_hour: f64,
    /// Today's calls by midnight UTC at that rate.
    pub projected_day_calls: u64,
    /// Polls run every `poll_slowdown` times their interval so the projection fits the
    /// allowance (1: not slowed).
    pub poll_slowdown: u32,
    pub paused: bool,
}

/// `POST …/quota/recheck`: re-reads the org's limit now when paused
/// ([`crate::guard::recheck_limit`]), then shows the budget.
pub async fn recheck(
    app: &App,
    tenant: &TenantId,
    id: &ConnectionId,
) -> Result<QuotaView, ServiceError> {
    let conn = connection(app, tenant, id).await?;
    if crate::guard::is_connected(&conn) {
        crate::guard::recheck_limit(app, &conn).await?;
    }
    quota_usage(app, tenant, id).await
}

pub async fn quota_usage(
    app: &App,
    tenant: &TenantId,
    id: &ConnectionId,
) -> Result<QuotaView, ServiceError> {
    connection(app, tenant, id).await?;
    let today = app.now().date_naive();
    let usage = app
        .stores
        .quotas
        .usage(tenant, id, today)
        .await
        .map_err(store_err)?;
    let status = quota::check(
        usage.limit.as_ref(),
        usage.calls,
        app.settings.quota_share,
        0,
    );
    let projection = quota::project(usage.calls, status.work_allowance(), app.now());
    Ok(QuotaView {
        connection: id.as_str().to_string(),
        day: usage.day,
        crmsync_calls_today: usage.calls,
        share: app.settings.quota_share,
        crmsync_allowance: status.crmsync_allowance,
        crmsync_remaining: status.crmsync_allowance.saturating_sub(usage.calls),
        org_used: usage.limit.map(|l| l.used),
        org_max: usage.limit.map(|l| l.max),
        app_used: status.app_used,
        app_max: status.app_max,
        limit_seen_at: usage.limit.map(|l| l.seen_at),
        probe_reserve: status.probe_reserve,
        calls_per_hour: projection.calls_per_hour,
        projected_day_calls: projection.projected_day_calls,
        poll_slowdown: projection.poll_slowdown,
        paused: status.paused,
    })
}
