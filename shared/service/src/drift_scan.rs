//! The Salesforce side of the drift comparison (issue 13 item 9, seed 002: "regularly
//! compares data between Salesforce and Atlas"). The poll sees a change by its
//! `SystemModstamp`; a value can still move where it does not look: a change made before
//! crmsync was connected, or while a mapping was paused or inbound updates were off, a
//! change the cursor passed during an outage. So, like the calculated-field re-read
//! (`recalc`), a rolling scan reads each synced object one page at a time, in `Id` order,
//! every `drift_check_interval_minutes` (default 60; 0 turns it off), resuming after the
//! last `Id`, and compares every mapped field of each linked record with the hash of the
//! value crmsync last carried ([`crmsync_core::drift::salesforce_drift`]). A record that
//! differs goes through the poll's own inbound apply (`poll::apply_inbound`), so the
//! rules, toggles, `keep_owner_field` and the conflict policy judge it as they judge a
//! polled change; what is fed is a change-feed entry of kind `drift`. Unlinked records are
//! left to the poll. Cost: one query per synced object per interval, booked with the poll's
//! calls and behind the quota guard.

use chrono::{DateTime, Utc};
use crmsync_core::config::SyncConfig;
use crmsync_salesforce::SfClient;
use crmsync_salesforce::soql::Condition;
use crmsync_store::{ChangeKind, Connection, ConnectionId, RecalcCheckpoint, TenantId};
use futures::StreamExt;
use serde::Serialize;

use crate::app::App;
use crate::error::ServiceError;
use crate::guard;
use crate::poll::{InboundRead, Shape};
use crate::runs::RunSummary;

/// Records one compared page holds (one query call).
pub const DRIFT_PAGE: u32 = 200;

/// The cursor item that keeps an object's drift-scan checkpoint, in the shape of the
/// calculated-field re-read's (`RecalcCheckpoint`): one mechanism, two scans, each at its
/// own cadence.
pub fn checkpoint_key(object: &str) -> String {
    format!("drift:{object}")
}

/// Compares one page of each due object's linked records with what crmsync last carried
/// and applies the records that drifted.
pub(crate) async fn compare_due(
    app: &App,
    connection: &Connection,
    client: &SfClient,
    config: &SyncConfig,
    run: &mut RunSummary,
) -> Result<(), ServiceError> {
    let Some(every) = config.drift_check_interval() else {
        return Ok(());
    };
    let now = app.now();
    for object in crate::poll::inbound_objects(config) {
        let key = checkpoint_key(&object);
        let cursor = app
            .stores
            .cursors
            .get(&connection.tenant, &connection.id, &key)
            .await?;
        let Some(last) = cursor.recalc else {
            // A new connection's first polls have just fed every record: its first pass
            // starts one interval later (and an idle minute stays one call).
            let start = RecalcCheckpoint {
                at: now,
                after: None,
            };
            app.stores
                .cursors
                .set_recalc(&connection.tenant, &connection.id, &key, &start)
                .await?;
            continue;
        };
        if now - last.at < every {
            continue;
        }
        if guard::quota(app, connection, 1).await?.paused {
            return Ok(());
        }
        let after = last.after;
        let filter = after.as_deref().map(|a| Condition::gt("Id", a));
        let shape = Shape::ById { limit: DRIFT_PAGE };
        let soql = crate::poll::select_mapped(client, config, &object, filter, shape).await?;
        // One page: the LIMIT keeps it to a single call.
        let page = match client.query(soql).next().await {
            Some(Ok(page)) => page,
            // The org's schema changed since the describe was read: the next run reads
            // it afresh (the poll's own query handles the change in this one).
            Some(Err(e)) if e.code() == Some("INVALID_FIELD") => {
                client.invalidate_describe(&object);
                run.messages
                    .push(format!("drift check of {object} waits: {e}"));
                continue;
            }
            Some(Err(e)) => return Err(e.into()),
            None => continue,
        };
        // Salesforce may return fewer rows a page than asked when records are large; only
        // a last page (`done`) that is short ends the pass.
        let more = !page.done || page.records.len() >= DRIFT_PAGE as usize;
        let mut last_id = None;
        for record in page.records {
            let fields = record.fields;
            let Some(id) = fields.get("Id").and_then(|v| v.as_str()) else {
                continue;
            };
            last_id = Some(id.to_string());
            let Some(link) =
                crate::links::link_by_sf_id(app, &connection.tenant, &connection.id, id).await?
            else {
                continue;
            };
            run.drift().compared += 1;
            let core_link = crate::links::core_link(&link);
            if crmsync_core::drift::salesforce_drift(config, &object, &fields, &core_link)
                .is_empty()
            {
                continue;
            }
            run.drift().salesforce_drifted += 1;
            let fed_before = fed(run, &object);
            let read = InboundRead {
                object: &object,
                fields: &fields,
                pending: &Default::default(),
                kind: ChangeKind::Drift,
            };
            crate::poll::apply_inbound(app, connection, config, read, run).await?;
            if fed(run, &object) > fed_before {
                run.drift().salesforce_fixed += 1;
            }
        }
        // A short last page ends the pass: the next one starts over from the first record.
        let checkpoint = RecalcCheckpoint {
            at: now,
            after: last_id.filter(|_| more),
        };
        app.stores
            .cursors
            .set_recalc(&connection.tenant, &connection.id, &key, &checkpoint)
            .await?;
    }
    Ok(())
}

/// Records of `object` the run fed to the app so far.
fn fed(run: &mut RunSummary, object: &str) -> u64 {
    let s = run.stats(object);
    s.updated + s.created
}

/// Where the drift scan stands, for `config/status`.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct DriftScanStatus {
    /// Minutes between one object's pages; `None`: the scan is off.
    pub interval_minutes: Option<i64>,
    /// Per synced object.
    pub objects: Vec<DriftScanObject>,
}

/// One object's place in the scan.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct DriftScanObject {
    pub object: String,
    /// When its last page was compared (or the scan was set to start); `None`: not yet.
    pub last_page_at: Option<DateTime<Utc>>,
    /// The next page starts after this `Id`; `None`: from the first record.
    pub resume_after: Option<String>,
}

/// The scan's interval and each synced object's checkpoint (one store read per object).
pub async fn status(
    app: &App,
    tenant: &TenantId,
    id: &ConnectionId,
    config: &SyncConfig,
) -> Result<DriftScanStatus, ServiceError> {
    let mut objects = Vec::new();
    for object in crate::poll::inbound_objects(config) {
        let checkpoint = app
            .stores
            .cursors
            .get(tenant, id, &checkpoint_key(&object))
            .await?
            .recalc;
        objects.push(DriftScanObject {
            last_page_at: checkpoint.as_ref().map(|c| c.at),
            resume_after: checkpoint.and_then(|c| c.after),
            object,
        });
    }
    Ok(DriftScanStatus {
        interval_minutes: config.drift_check_interval().map(|d| d.num_minutes()),
        objects,
    })
}
