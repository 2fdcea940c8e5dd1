//! Calculated fields (issue 13 item 8). A formula or roll-up field changes when what it is
//! computed from changes, often another record, without moving the record's
//! `SystemModstamp`, so the minute poll never sees it. A rolling scan re-reads the mapped
//! calculated fields of each object, one page at a time every [`RECALC_EVERY`], in `Id`
//! order, and feeds the app what changed for linked records (the link's hashes tell a
//! change from the value the app already has). It costs one query per object with mapped
//! calculated fields per interval, booked against the connection's budget like any poll
//! call, and stops when the quota guard says so.

use chrono::Duration;
use crmsync_core::config::SyncConfig;
use crmsync_salesforce::SfClient;
use crmsync_salesforce::soql::{Condition, Order, SoqlBuilder};
use crmsync_store::{Connection, RecalcCheckpoint};
use futures::StreamExt;

use crate::app::App;
use crate::error::ServiceError;
use crate::guard;
use crate::runs::RunSummary;

/// How often one object's next page of calculated fields is re-read.
pub const RECALC_EVERY: Duration = Duration::minutes(15);
/// Records a re-read page holds (one query call).
pub const RECALC_PAGE: u32 = 200;

/// Re-reads one page of each due object's mapped calculated fields and applies what
/// changed to linked records. Unlinked records are left to the poll (a partial record must
/// never create an app record).
pub(crate) async fn reread_due(
    app: &App,
    connection: &Connection,
    client: &SfClient,
    config: &SyncConfig,
    run: &mut RunSummary,
) -> Result<(), ServiceError> {
    let now = app.now();
    for (object, obj) in config.enabled_objects() {
        let describe = client.describe(object).await?;
        let calculated: Vec<&str> = obj
            .fields
            .iter()
            .filter(|m| m.rule.inbound())
            .filter(|m| {
                describe
                    .field(&m.salesforce_field)
                    .is_some_and(|f| f.calculated)
            })
            .map(|m| m.salesforce_field.as_str())
            .collect();
        if calculated.is_empty() {
            continue;
        }
        let cursor = app
            .stores
            .cursors
            .get(&connection.tenant, &connection.id, object)
            .await?;
        if cursor
            .recalc
            .as_ref()
            .is_some_and(|r| now - r.at < RECALC_EVERY)
        {
            continue;
        }
        if guard::quota(app, connection, 1).await?.paused {
            return Ok(());
        }
        let after = cursor.recalc.and_then(|r| r.after);
        let mut builder = SoqlBuilder::new(&describe)
            .select(
                ["Id", "SystemModstamp", "LastModifiedDate"]
                    .into_iter()
                    .chain(calculated.iter().copied()),
            )
            .order_by("Id", Order::Asc)
            .limit(RECALC_PAGE);
        if let Some(after) = &after {
            builder = builder.filter(Condition::gt("Id", after.as_str()));
        }
        let soql = builder.build().map_err(crmsync_salesforce::SfError::from)?;
        // One page: the LIMIT keeps it to a single call.
        let page = match client.query(soql).next().await {
            Some(page) => page?,
            None => continue,
        };
        let mut last_id = None;
        let rows = page.records.len();
        for record in page.records {
            let fields = record.fields;
            let Some(id) = fields
                .get("Id")
                .and_then(|v| v.as_str())
                .map(str::to_string)
            else {
                continue;
            };
            if crate::links::link_by_sf_id(app, &connection.tenant, &connection.id, &id)
                .await?
                .is_some()
            {
                crate::poll::apply_record(app, connection, config, object, &fields, run).await?;
            }
            last_id = Some(id);
        }
        // A short page ends the scan: the next one starts over from the first record.
        let checkpoint = RecalcCheckpoint {
            at: now,
            after: last_id.filter(|_| rows as u32 >= RECALC_PAGE),
        };
        app.stores
            .cursors
            .set_recalc(&connection.tenant, &connection.id, object, &checkpoint)
            .await?;
    }
    Ok(())
}
