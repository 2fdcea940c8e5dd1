//! Deletion sweep (flow 4): records deleted in Salesforce are unlinked from their app
//! records. The change feed tells the app which CRM-sourced fields to clear; app-native data
//! stays. When Salesforce's delete log no longer covers the gap since the last sweep, the
//! linked ids are checked against Salesforce directly (reconcile by Id scan).

use std::time::Duration;

use chrono::{DateTime, Utc};
use crmsync_core::config::SyncConfig;
use crmsync_salesforce::soql::{Condition, SoqlBuilder};
use crmsync_salesforce::{SfClient, SfError};
use crmsync_store::{
    ChangeKind, Connection, ConnectionId, Link, NewChange, OutboundMessage, PageRequest, PageToken,
    QueueKind, ReconcileCheckpoint, TenantId,
};
use futures::StreamExt;

use crate::app::App;
use crate::config_service;
use crate::error::ServiceError;
use crate::guard::{self, RunStart};
use crate::leases::LeaseKind;
use crate::links::{LINKABLE_OBJECTS, app_object_of};
use crate::messages::SweepMessage;
use crate::runs::{RunKind, RunStatus, RunSummary};

const SWEEP_LEASE_TTL: Duration = Duration::from_secs(10 * 60);
/// Ids per existence query in a reconcile (keeps the URI well under 16 KB).
const RECONCILE_CHUNK: usize = 200;
/// Connections per page of the fan-out.
const FAN_OUT_PAGE: u32 = 200;

/// A first sweep looks this far back.
const FIRST_SWEEP_LOOKBACK_DAYS: i64 = 14;

/// Sweeps one connection.
pub async fn sweep_connection(
    app: &App,
    tenant: &TenantId,
    id: &ConnectionId,
) -> Result<RunSummary, ServiceError> {
    let mut run = RunSummary::new(tenant.as_str(), id.as_str(), RunKind::Sweep, app.now());
    // A connection with its own, longer interval is swept only when that has passed; the
    // tick that finds it not due records no run (it would be noise every tick).
    if !is_due(app, tenant, id).await? {
        run.status = RunStatus::NotDue;
        run.finished_at = app.now();
        return Ok(run);
    }
    let start = guard::begin_run(app, tenant, id, LeaseKind::Sweep, SWEEP_LEASE_TTL).await?;
    let (connection, lease) = match start {
        RunStart::Ready { connection, lease } => (*connection, lease),
        RunStart::Skip(status) => {
            run.status = status;
            run.finished_at = app.now();
            crate::runs::save(app, &run).await;
            return Ok(run);
        }
    };
    let result = async {
        let config = config_service::load_or_init(app, tenant, id).await?.config;
        // The guard first: a sweep spends calls from the same daily budget as the sync
        // (one getDeleted per object, plus the token refresh).
        let objects = swept_objects(&config);
        if guard::quota(app, &connection, objects.len() as u64 + 1)
            .await?
            .paused
        {
            run.status = RunStatus::QuotaPaused;
            return Ok(());
        }
        let client = app.salesforce.client(&connection)?;
        let calls_before = client.requests_sent();
        let swept = async {
            for object in objects {
                sweep_object(app, &connection, &client, &config, &object, &mut run).await?;
            }
            Ok::<(), ServiceError>(())
        }
        .await;
        run.api_calls = guard::book_calls(app, &connection, &client, calls_before).await;
        swept
    }
    .await;
    // Released on every path, so a failed sweep does not block the next one until expiry.
    let _ = app.stores.leases.release(&lease).await;
    if let Err(ServiceError::Salesforce(e)) = &result {
        guard::note_salesforce_error(app, &connection, e).await;
    }
    if let Err(e) = result {
        run.status = RunStatus::Failed;
        run.messages.push(e.to_string());
        run.finished_at = app.now();
        crate::runs::save(app, &run).await;
        return Err(e);
    }
    run.finished_at = app.now();
    crate::runs::save(app, &run).await;
    Ok(run)
}

/// The sweep tick: one sweep-queue message per Connected connection, so each connection is
/// swept in its own invocation (and retried alone) instead of one pass over all of them.
/// Returns how many were queued.
pub async fn fan_out(app: &App) -> Result<usize, ServiceError> {
    let mut page = PageRequest::first(FAN_OUT_PAGE);
    let mut queued = 0;
    loop {
        let batch = app.stores.connections.list_all(&page).await?;
        let messages = batch
            .items
            .iter()
            .filter(|c| guard::is_connected(c))
            .map(|c| {
                serde_json::to_string(&SweepMessage {
                    tenant: c.tenant.as_str().to_string(),
                    connection: c.id.as_str().to_string(),
                })
                .map(|body| OutboundMessage {
                    body,
                    group_id: None,
                    dedup_id: None,
                })
                .map_err(|e| ServiceError::Internal(e.to_string()))
            })
            .collect::<Result<Vec<_>, _>>()?;
        if !messages.is_empty() {
            app.stores
                .queues
                .send_batch(QueueKind::Sweep, &messages)
                .await?;
            queued += messages.len();
        }
        match batch.next {
            Some(token) => page = PageRequest::next(FAN_OUT_PAGE, token),
            None => break,
        }
    }
    Ok(queued)
}

/// Whether the connection's own sweep interval (`sweep_interval_minutes`) has passed for
/// any swept object; always, without one.
async fn is_due(app: &App, tenant: &TenantId, id: &ConnectionId) -> Result<bool, ServiceError> {
    let config = config_service::load_or_init(app, tenant, id).await?.config;
    let Some(minutes) = config.sweep_interval_minutes else {
        return Ok(true);
    };
    let interval = chrono::Duration::minutes(i64::from(minutes));
    let now = app.now();
    for object in swept_objects(&config) {
        let cursor = app.stores.cursors.get(tenant, id, &object).await?;
        match cursor.last_sweep_at {
            Some(last) if now - last < interval => {}
            _ => return Ok(true),
        }
    }
    Ok(false)
}

/// Enabled objects that can carry links.
fn swept_objects(config: &SyncConfig) -> Vec<String> {
    config
        .enabled_objects()
        .map(|(name, _)| name.to_string())
        .filter(|name| LINKABLE_OBJECTS.contains(&name.as_str()) || name.ends_with("__c"))
        .collect()
}

async fn sweep_object(
    app: &App,
    connection: &Connection,
    client: &SfClient,
    config: &SyncConfig,
    object: &str,
    run: &mut RunSummary,
) -> Result<(), ServiceError> {
    let now = app.now();
    let cursor = app
        .stores
        .cursors
        .get(&connection.tenant, &connection.id, object)
        .await?;
    let start = cursor.last_sweep_at.unwrap_or_else(|| {
        connection
            .created_at
            .max(now - chrono::Duration::days(FIRST_SWEEP_LOOKBACK_DAYS))
    });
    // Salesforce truncates seconds and needs start < end: wait for a whole minute.
    if now - start < chrono::Duration::minutes(1) {
        return Ok(());
    }
    let covered = match client.get_deleted(object, start, now).await {
        Ok(deleted) => {
            for record in &deleted.deleted_records {
                if let Some(link) =
                    crate::links::link_by_sf_id(app, &connection.tenant, &connection.id, &record.id)
                        .await?
                {
                    unlink(
                        app,
                        connection,
                        config,
                        &link,
                        Some(record.deleted_date),
                        run,
                    )
                    .await?;
                }
            }
            deleted.latest_date_covered.unwrap_or(now).min(now)
        }
        Err(SfError::InvalidReplicationDate { .. }) => {
            let resumed = cursor.reconcile.is_some();
            match reconcile(
                app,
                connection,
                client,
                config,
                object,
                cursor.reconcile,
                run,
            )
            .await?
            {
                Reconciled::Complete {
                    started_at,
                    checked,
                } => {
                    let how = if resumed {
                        ", resumed from its checkpoint"
                    } else {
                        ""
                    };
                    run.messages.push(format!("{object}: the delete log no longer covers the gap since the last sweep; reconciled by Id scan ({checked} links checked{how})"));
                    started_at
                }
                Reconciled::Paused { checked } => {
                    run.messages.push(format!("{object}: reconcile by Id scan paused after {checked} links; the next sweep resumes it"));
                    return Ok(());
                }
            }
        }
        Err(e) => return Err(e.into()),
    };
    app.stores
        .cursors
        .set_last_sweep(&connection.tenant, &connection.id, object, covered)
        .await?;
    Ok(())
}

/// How far a reconcile run got.
enum Reconciled {
    /// Every link was checked; the sweep covers up to when the scan began.
    Complete {
        started_at: DateTime<Utc>,
        checked: u64,
    },
    /// The run's page budget ran out; the checkpoint holds where to continue.
    Paused { checked: u64 },
}

/// Checks every linked id of `object` still exists; unlinks the ones that do not. Resumes
/// from `checkpoint` and saves one after every page, so a scan interrupted by the page
/// budget (or a timeout or a crash) continues where it stopped instead of starting over.
/// Links are paged in key order and tokens are keys, so unlinking behind the scan does not
/// shift what is still ahead.
async fn reconcile(
    app: &App,
    connection: &Connection,
    client: &SfClient,
    config: &SyncConfig,
    object: &str,
    checkpoint: Option<ReconcileCheckpoint>,
    run: &mut RunSummary,
) -> Result<Reconciled, ServiceError> {
    let (tenant, id) = (&connection.tenant, &connection.id);
    let mut checkpoint = checkpoint.unwrap_or(ReconcileCheckpoint {
        started_at: app.now(),
        after: None,
        checked: 0,
    });
    let describe = client.describe(object).await?;
    let size = RECONCILE_CHUNK as u32;
    for _ in 0..app.settings.reconcile_pages_per_run.max(1) {
        let page = match &checkpoint.after {
            Some(token) => PageRequest::next(size, PageToken(token.clone())),
            None => PageRequest::first(size),
        };
        let batch = app
            .stores
            .links
            .list_for_object(tenant, id, object, &page)
            .await?;
        unlink_missing(
            app,
            connection,
            client,
            config,
            &describe,
            &batch.items,
            run,
        )
        .await?;
        checkpoint.checked += batch.items.len() as u64;
        let Some(next) = batch.next else {
            app.stores
                .cursors
                .set_reconcile(tenant, id, object, None)
                .await?;
            return Ok(Reconciled::Complete {
                started_at: checkpoint.started_at,
                checked: checkpoint.checked,
            });
        };
        checkpoint.after = Some(next.0);
        app.stores
            .cursors
            .set_reconcile(tenant, id, object, Some(&checkpoint))
            .await?;
    }
    Ok(Reconciled::Paused {
        checked: checkpoint.checked,
    })
}

/// One existence query for a page of links; unlinks those whose record is gone.
async fn unlink_missing(
    app: &App,
    connection: &Connection,
    client: &SfClient,
    config: &SyncConfig,
    describe: &crmsync_core::describe::ObjectDescribe,
    links: &[Link],
    run: &mut RunSummary,
) -> Result<(), ServiceError> {
    if links.is_empty() {
        return Ok(());
    }
    let ids: Vec<&str> = links.iter().map(|l| l.sf_id.as_str()).collect();
    let soql = SoqlBuilder::new(describe)
        .select(["Id"])
        .filter(Condition::in_list("Id", ids.iter().copied()))
        .build()
        .map_err(SfError::from)?;
    let mut alive = std::collections::HashSet::new();
    let mut pages = client.query(soql);
    while let Some(p) = pages.next().await {
        for r in p?.records {
            if let Some(id) = r.id() {
                alive.insert(crmsync_core::sfid::canonical(id));
            }
        }
    }
    for link in links {
        // A link may hold the 15-character form; Salesforce returns 18.
        if !alive.contains(&crmsync_core::sfid::canonical(&link.sf_id)) {
            unlink(app, connection, config, link, None, run).await?;
        }
    }
    Ok(())
}

/// Change-feed entry first, then the link removal: a crash in between repeats the entry.
async fn unlink(
    app: &App,
    connection: &Connection,
    config: &SyncConfig,
    link: &Link,
    deleted_at: Option<DateTime<Utc>>,
    run: &mut RunSummary,
) -> Result<(), ServiceError> {
    let app_object = app_object_of(&link.app_object).to_string();
    // Seed 002: only Salesforce-sourced values are cleared; two-way and app-native data stays.
    let crm_fields = crmsync_core::inbound::fields_cleared_on_delete(config, &link.sf_object);
    let payload = serde_json::json!({
        "action": "unlink",
        "app_object": app_object,
        "app_id": link.app_id,
        "sf_object": link.sf_object,
        "sf_id": link.sf_id,
        "deleted_at": deleted_at,
        "clear_fields": crm_fields,
        "source": "salesforce",
    });
    app.stores
        .changes
        .append(
            &connection.tenant,
            vec![NewChange {
                connection: connection.id.clone(),
                object: link.sf_object.clone(),
                sf_id: link.sf_id.clone(),
                app_id: Some(link.app_id.clone()),
                kind: ChangeKind::Unlink,
                payload,
            }],
        )
        .await?;
    app.stores
        .links
        .delete(
            &connection.tenant,
            &connection.id,
            &link.app_object,
            &link.app_id,
        )
        .await?;
    run.stats(&link.sf_object).unlinked += 1;
    Ok(())
}
