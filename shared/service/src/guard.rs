//! Checks every Salesforce-facing use case makes first: is the connection usable, and does
//! its API budget allow the work. Also books the calls a run made against the budget.

use chrono::{DateTime, TimeDelta, Utc};
use crmsync_salesforce::SfClient;
use std::time::Duration;

use crmsync_store::{
    AppQuota, Connection, ConnectionFailure, ConnectionId, ConnectionStatus, Lease, LimitInfo,
    LimitReading, SyncRun, TenantId,
};

use crate::app::App;
use crate::error::ServiceError;
use crate::leases::{LeaseKind, lease_name};
use crate::quota::{self, QuotaStatus};
use crate::runs::RunStatus;

/// How long the org's last reported API usage is trusted.
const ORG_USAGE_STALE_AFTER: TimeDelta = TimeDelta::minutes(15);
/// While paused at crmsync's share, the org's limit is re-read at least this often while
/// the reserve lasts, and every minute right after the pause (the reserve's first half) or
/// when the reserve left covers it until midnight ([`quota::probe_interval`]).
pub const LIMIT_PROBE_EVERY: TimeDelta = TimeDelta::minutes(10);

/// The connection, if it exists.
pub async fn connection(
    app: &App,
    tenant: &TenantId,
    id: &ConnectionId,
) -> Result<Connection, ServiceError> {
    app.stores
        .connections
        .get(tenant, id)
        .await?
        .ok_or_else(|| ServiceError::NotFound(format!("connection {}", id.as_str())))
}

pub fn is_connected(connection: &Connection) -> bool {
    connection.status == ConnectionStatus::Connected
}

/// How often a `Failed` connection is tried again (a poll), so it recovers by itself once
/// the admin re-enables the API or unlocks the org.
pub const FAILED_PROBE_EVERY: TimeDelta = TimeDelta::minutes(15);

/// Whether a poll or sweep may run: Connected, or Failed and due a recovery probe.
pub fn may_run(connection: &Connection, now: DateTime<Utc>) -> bool {
    match connection.status {
        ConnectionStatus::Connected => true,
        ConnectionStatus::Failed => connection
            .last_failure_at
            .is_none_or(|at| now - at >= FAILED_PROBE_EVERY - TimeDelta::seconds(5)),
        ConnectionStatus::ReconnectNeeded | ConnectionStatus::Disconnected => false,
    }
}

/// How a poll or sweep of one connection may start.
pub enum RunStart {
    /// Not Connected, or another worker holds the lease: the run ends with this status.
    Skip(RunStatus),
    /// Go; release the lease when done.
    Ready {
        connection: Box<Connection>,
        lease: Lease,
    },
}

/// The first steps of a poll or sweep: the connection must be Connected, and this worker
/// must hold the connection's `kind` lease (one poller, one sweeper per connection).
pub async fn begin_run(
    app: &App,
    tenant: &TenantId,
    id: &ConnectionId,
    kind: LeaseKind,
    ttl: Duration,
) -> Result<RunStart, ServiceError> {
    let connection = connection(app, tenant, id).await?;
    if !may_run(&connection, app.now()) {
        return Ok(RunStart::Skip(RunStatus::NotConnected));
    }
    if !connection.sync_enabled {
        return Ok(RunStart::Skip(RunStatus::SyncOff));
    }
    let owner = uuid::Uuid::new_v4().to_string();
    let name = lease_name(kind, tenant, id);
    Ok(match app.stores.leases.acquire(&name, &owner, ttl).await? {
        Some(lease) => RunStart::Ready {
            connection: Box::new(connection),
            lease,
        },
        None => RunStart::Skip(RunStatus::Busy),
    })
}

/// Today's budget for a connection, assuming `planned` more calls.
pub async fn quota(
    app: &App,
    connection: &Connection,
    planned: u64,
) -> Result<QuotaStatus, ServiceError> {
    Ok(quota_and_reading(app, connection, planned).await?.0)
}

/// The budget, and when the org's limit was last read (`None`: never).
async fn quota_and_reading(
    app: &App,
    connection: &Connection,
    planned: u64,
) -> Result<(QuotaStatus, Option<DateTime<Utc>>), ServiceError> {
    let usage = app
        .stores
        .quotas
        .usage(&connection.tenant, &connection.id, app.now().date_naive())
        .await?;
    let seen_at = usage.limit.map(|l| l.seen_at);
    // The org's usage falls as its rolling 24 h window moves on, and only a call refreshes
    // the reading: an old one must not pause the connection for good (e.g. after
    // REQUEST_LIMIT_EXCEEDED). Its max (and the app's quota max) stay valid.
    let limit = usage.limit.map(|l| {
        if app.now() - l.seen_at > ORG_USAGE_STALE_AFTER {
            LimitInfo {
                used: 0,
                app: l.app.map(|a| AppQuota { used: 0, ..a }),
                ..l
            }
        } else {
            l
        }
    });
    let status = quota::check(
        limit.as_ref(),
        usage.calls,
        app.settings.quota_share,
        planned,
    );
    Ok((status, seen_at))
}

/// What a poll may do now.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum PollBudget {
    Go,
    /// crmsync's share (or the org's or app's headroom) is spent.
    Paused,
    /// Today's burn would pass the share: this connection polls every `slowdown` times its
    /// interval, next at `next_due`.
    Slowed {
        slowdown: u32,
        next_due: DateTime<Utc>,
    },
}

/// Whether a poll of `planned` calls may run now, for a connection polled every
/// `interval_minutes`. While paused at the share it re-reads the org's limit (one
/// `GET limits` call from the probe reserve, every [`quota::probe_interval`]): the
/// `Sforce-Limit-Info` header carries the org's max, so a raised limit lifts the pause now
/// rather than the next day. When today's projected burn would pass the share, polls are
/// spaced out first.
pub async fn poll_budget(
    app: &App,
    connection: &Connection,
    planned: u64,
    interval_minutes: i64,
) -> Result<PollBudget, ServiceError> {
    let (mut status, seen_at) = quota_and_reading(app, connection, planned).await?;
    let interval = quota::probe_interval(&status, app.now(), LIMIT_PROBE_EVERY);
    // The scheduler's slack, so a probe a minute is not skipped by a pass a second early.
    let probe_due = seen_at.is_none_or(|t| app.now() - t >= interval - TimeDelta::seconds(5));
    if status.may_probe() && probe_due {
        probe_limit(app, connection).await;
        status = quota_and_reading(app, connection, planned).await?.0;
    }
    if status.paused {
        return Ok(PollBudget::Paused);
    }
    let projection = quota::project(status.crmsync_used, status.work_allowance(), app.now());
    if projection.poll_slowdown > 1
        && let Some(last) = connection.last_polled()
    {
        let interval = TimeDelta::minutes(interval_minutes * i64::from(projection.poll_slowdown));
        let next_due = last + interval;
        // The scheduler's slack, so a minutely pass does not skip a due run.
        if app.now() < next_due - TimeDelta::seconds(5) {
            return Ok(PollBudget::Slowed {
                slowdown: projection.poll_slowdown,
                next_due,
            });
        }
    }
    Ok(PollBudget::Go)
}

/// Records a successful poll or push (`last_sync_at`, `last_success_at`); a `Failed`
/// connection that worked again is Connected again.
pub async fn note_sync_success(
    app: &App,
    connection: &Connection,
    run: SyncRun,
) -> Result<(), ServiceError> {
    app.stores
        .connections
        .record_sync(&connection.tenant, &connection.id, app.now(), run)
        .await?;
    if connection.status == ConnectionStatus::Failed {
        match app
            .stores
            .connections
            .update_status(
                &connection.tenant,
                &connection.id,
                Some(ConnectionStatus::Failed),
                ConnectionStatus::Connected,
                None,
            )
            .await
        {
            Ok(_) => tracing::info!("the org accepts API calls again: connection recovered"),
            Err(crmsync_store::StoreError::Conflict(_)) => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(())
}

/// Re-reads the org's limit now, without waiting for a probe slot (the operator's
/// `POST …/quota/recheck`, the admin page's button): when the connection is paused at its
/// share and its last reading is a minute old or more, one `GET limits` from the probe
/// reserve, so a limit the org's admin raised lifts the pause at once. No call otherwise
/// (not paused: every response's `Sforce-Limit-Info` already keeps the reading fresh; a
/// reading under a minute old: asking again is not worth a call). Returns whether a call
/// was made.
pub async fn recheck_limit(app: &App, connection: &Connection) -> Result<bool, ServiceError> {
    let (status, seen_at) = quota_and_reading(app, connection, 1).await?;
    let fresh = seen_at.is_some_and(|t| app.now() - t < quota::MIN_PROBE_INTERVAL);
    if !status.may_probe() || fresh {
        return Ok(false);
    }
    probe_limit(app, connection).await;
    Ok(true)
}

/// One `GET limits` to refresh the org's reading (booked like any call). A failure leaves
/// the connection paused; one a human must fix is recorded on the connection.
async fn probe_limit(app: &App, connection: &Connection) {
    let client = match app.salesforce.client(connection) {
        Ok(c) => c,
        Err(e) => {
            tracing::warn!(error = %e, "no client for a limit probe");
            return;
        }
    };
    let before = client.requests_sent();
    let result = client.limits().await;
    book_calls(app, connection, &client, before).await;
    if let Err(e) = result {
        tracing::warn!(error = %e, "limit probe failed; the connection stays paused");
        note_salesforce_error(app, connection, &e).await;
    }
}

/// Books `calls` against today's budget before they are made, when they fit in crmsync's
/// share; false (nothing booked) when they would cross it. Check and booking are two store
/// operations, so two workers of one connection may both fit the last calls: the overshoot
/// is bounded by one wave's writes.
pub async fn reserve(app: &App, connection: &Connection, calls: u64) -> Result<bool, ServiceError> {
    if calls == 0 {
        return Ok(true);
    }
    if quota(app, connection, calls).await?.paused {
        return Ok(false);
    }
    app.stores
        .quotas
        .add_calls(
            &connection.tenant,
            &connection.id,
            app.now().date_naive(),
            calls,
        )
        .await?;
    Ok(true)
}

/// Books the calls `client` made since `calls_before`, and the org's latest usage.
pub async fn book_calls(
    app: &App,
    connection: &Connection,
    client: &SfClient,
    calls_before: u64,
) -> u64 {
    let calls = client.requests_sent().saturating_sub(calls_before);
    let day = app.now().date_naive();
    if calls > 0
        && let Err(e) = app
            .stores
            .quotas
            .add_calls(&connection.tenant, &connection.id, day, calls)
            .await
    {
        tracing::warn!(error = %e, "could not book API calls");
    }
    if let Some(usage) = client.last_api_usage()
        && let Err(e) = app
            .stores
            .quotas
            .record_limit(&connection.tenant, &connection.id, limit_reading(usage))
            .await
    {
        tracing::warn!(error = %e, "could not record the org's API usage");
    }
    calls
}

/// The store's form of a `Sforce-Limit-Info` reading.
fn limit_reading(usage: crmsync_salesforce::ApiUsage) -> LimitReading {
    LimitReading {
        used: usage.used,
        max: usage.max,
        app: usage.per_app.map(|a| AppQuota {
            used: a.used,
            max: a.max,
        }),
    }
}

/// Records a Salesforce error on the connection (health: `last_failure_at`,
/// `last_error_code`, `last_error`); one a human must fix also changes its status:
/// `ReconnectNeeded` for a refused grant, `Failed` when the org refuses API use.
pub async fn note_salesforce_error(
    app: &App,
    connection: &Connection,
    error: &crmsync_salesforce::SfError,
) {
    let status = if error.is_reconnect_needed() {
        ConnectionStatus::ReconnectNeeded
    } else if error.is_org_refusal() && connection.status == ConnectionStatus::Connected {
        ConnectionStatus::Failed
    } else {
        connection.status
    };
    let failure = Some(ConnectionFailure {
        at: app.now(),
        code: error.code().map(str::to_string),
        message: error.to_string(),
    });
    // Conditional on the status this run started from: a disconnect (or a reconnect) that
    // happened meanwhile must not be overwritten by a stale worker.
    match app
        .stores
        .connections
        .update_status(
            &connection.tenant,
            &connection.id,
            Some(connection.status),
            status,
            failure,
        )
        .await
    {
        Ok(_) => {}
        Err(crmsync_store::StoreError::Conflict(_)) => {
            tracing::info!("connection status changed during the run; error not recorded on it");
        }
        Err(e) => tracing::warn!(error = %e, "could not record the connection's last error"),
    }
}
