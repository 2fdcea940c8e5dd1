//! Calculated fields (issue 13 item 8). A formula or roll-up field changes when what it is
//! computed from changes, often another record, without moving the record's
//! `SystemModstamp`, so the minute poll never sees it. A rolling scan re-reads the mapped
//! calculated fields of each object, one page at a time every [`RECALC_EVERY`], in `Id`
//! order, and feeds the app what changed for linked records (the link's hashes tell a
//! change from the value the app already has). It costs one query per object with mapped
//! calculated fields per interval, booked against the connection's budget like any poll
//! call, and stops when the quota guard says so.
//!
//! Records touched recently go first: a roll-up or a cross-object formula moves with the
//! records it is computed from, so the parents that changed records of a poll point at
//! (`AccountId` of an Opportunity the poll read, which may be crmsync's own push) are
//! re-read in the same poll ([`reread_touched`]): one query per 200 such parents of an
//! object with mapped calculated fields, nothing when none changed.

use std::collections::{BTreeMap, BTreeSet};

use chrono::Duration;
use crmsync_core::config::{ObjectConfig, SyncConfig};
use crmsync_core::describe::ObjectDescribe;
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
        let calculated = calculated_fields(&describe, obj);
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
        let rows = page.records.len();
        let last_id = apply_linked(app, connection, config, object, page.records, run).await?;
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

/// The mapped inbound fields of `obj` that Salesforce calculates.
fn calculated_fields<'a>(describe: &ObjectDescribe, obj: &'a ObjectConfig) -> Vec<&'a str> {
    obj.fields
        .iter()
        .filter(|m| m.rule.inbound())
        .filter(|m| {
            describe
                .field(&m.salesforce_field)
                .is_some_and(|f| f.calculated)
        })
        .map(|m| m.salesforce_field.as_str())
        .collect()
}

/// Applies the re-read records that are linked (a partial record never creates an app
/// record); returns the last record's Id.
async fn apply_linked(
    app: &App,
    connection: &Connection,
    config: &SyncConfig,
    object: &str,
    records: Vec<crmsync_salesforce::Record>,
    run: &mut RunSummary,
) -> Result<Option<String>, ServiceError> {
    let mut last_id = None;
    for record in records {
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
    Ok(last_id)
}

/// What a poll read, by object: the records themselves (their calculated fields came with
/// them) and the parents their lookups point at.
#[derive(Debug, Default)]
pub(crate) struct Touched {
    read: BTreeMap<String, BTreeSet<String>>,
    parents: BTreeMap<String, BTreeSet<String>>,
}

impl Touched {
    /// Notes a changed record of `describe`'s object and the records its lookups name.
    pub(crate) fn note(
        &mut self,
        describe: &ObjectDescribe,
        fields: &serde_json::Map<String, serde_json::Value>,
    ) {
        if let Some(id) = fields.get("Id").and_then(|v| v.as_str()) {
            self.read
                .entry(describe.name.clone())
                .or_default()
                .insert(id.to_string());
        }
        for field in describe
            .fields
            .iter()
            .filter(|f| !f.reference_to.is_empty())
        {
            let Some(parent) = fields.get(&field.name).and_then(|v| v.as_str()) else {
                continue;
            };
            for object in &field.reference_to {
                self.parents
                    .entry(object.clone())
                    .or_default()
                    .insert(parent.to_string());
            }
        }
    }

    /// The parents of `object` to re-read: named by a changed record, not read themselves.
    fn parents_of(&self, object: &str) -> Vec<String> {
        let read = self.read.get(object);
        self.parents
            .get(object)
            .into_iter()
            .flatten()
            .filter(|id| read.is_none_or(|r| !r.contains(*id)))
            .cloned()
            .collect()
    }
}

/// Re-reads the mapped calculated fields of the parents a poll's changed records point at
/// (a roll-up of an Account moves with its Opportunities), in `Id IN` queries of 200.
pub(crate) async fn reread_touched(
    app: &App,
    connection: &Connection,
    client: &SfClient,
    config: &SyncConfig,
    touched: &Touched,
    run: &mut RunSummary,
) -> Result<(), ServiceError> {
    for (object, obj) in config.enabled_objects() {
        let parents = touched.parents_of(object);
        if parents.is_empty() {
            continue;
        }
        let describe = client.describe(object).await?;
        let calculated = calculated_fields(&describe, obj);
        if calculated.is_empty() {
            continue;
        }
        for ids in parents.chunks(RECALC_PAGE as usize) {
            if guard::quota(app, connection, 1).await?.paused {
                return Ok(());
            }
            let soql = SoqlBuilder::new(&describe)
                .select(
                    ["Id", "SystemModstamp", "LastModifiedDate"]
                        .into_iter()
                        .chain(calculated.iter().copied()),
                )
                .filter(Condition::in_list("Id", ids.iter().map(String::as_str)))
                .build()
                .map_err(crmsync_salesforce::SfError::from)?;
            if let Some(page) = client.query(soql).next().await {
                apply_linked(app, connection, config, object, page?.records, run).await?;
            }
        }
    }
    Ok(())
}
