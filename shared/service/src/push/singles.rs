//! Writing single-record plans together: matches first, then one sObject Collections call
//! per object and operation (≤ 200 records, per-record outcomes), then links and reports.

use std::collections::BTreeMap;

use crmsync_core::config::SyncConfig;
use crmsync_core::outbound::{WriteOp, WritePlan};
use crmsync_salesforce::{SObjectRecord, SfClient, SfError};
use crmsync_store::Connection;

use super::budget::{self, Budget};
use super::plan::Planned;
use super::steps::Resolved;
use super::{
    BatchOutcome, Verdict, linking, park, prefetch, redelivery, report_msg, steps, to_map, upsert,
    write_link,
};
use crate::app::App;
use crate::error::ServiceError;

/// What a wave's writes share: its matching rows and the batch's budget.
pub(super) struct Writes<'a> {
    pub(super) pre: &'a prefetch::Prefetched,
    pub(super) budget: &'a mut Budget,
}

/// One step that needs no other step's result: it can share a collections call.
pub(super) fn is_single_direct(plan: &WritePlan) -> bool {
    plan.steps.len() == 1 && plan.steps[0].references.is_empty()
}

/// Writes single-step plans together: matches first, then one collections call per object
/// and operation. Per-record failures are reported without failing the others.
pub(super) async fn write_singles(
    app: &App,
    conn: &Connection,
    client: &SfClient,
    config: &SyncConfig,
    planned: Vec<Planned>,
    writes: Writes<'_>,
    out: &mut BatchOutcome,
) -> Result<(), ServiceError> {
    let Writes { pre, budget } = writes;
    // (object, is_update) → (index into planned, record)
    let mut batches: BTreeMap<(String, bool), Vec<(usize, SObjectRecord)>> = BTreeMap::new();
    // object → creates that upsert by crmsync's key (index into planned, record)
    let mut keyed: BTreeMap<String, Vec<(usize, SObjectRecord)>> = BTreeMap::new();
    let mut upserts = Vec::new();
    for (i, p) in planned.iter().enumerate() {
        let step = &p.plan.steps[0];
        let fields = to_map(&step.fields);
        if matches!(step.op, WriteOp::Upsert { .. }) {
            upserts.push(i);
            continue;
        }
        let key = match p.keys.first().cloned().flatten() {
            Some(key) if upsert::can_update(client, &step.object, &fields).await? => Some(key),
            _ => None,
        };
        match upsert::resolve(client, config, step, key.as_deref(), &[], pre).await? {
            Resolved::Create => match key {
                Some(key) => keyed.entry(step.object.clone()).or_default().push((
                    i,
                    SObjectRecord::new(step.object.clone(), upsert::keyed_fields(fields, &key)),
                )),
                None => batches
                    .entry((step.object.clone(), false))
                    .or_default()
                    .push((i, SObjectRecord::new(step.object.clone(), fields))),
            },
            Resolved::Existing(id) if fields.is_empty() => {
                if let Some(link) = &step.link {
                    write_link(app, conn, &step.object, &id, link).await?;
                }
                out.outcomes.push(
                    report_msg(
                        app,
                        conn,
                        &p.msg,
                        Verdict::success().code("NO_CHANGE").sf_id(id).plan(&p.plan),
                    )
                    .await?,
                );
            }
            Resolved::Existing(id) => batches
                .entry((step.object.clone(), true))
                .or_default()
                .push((
                    i,
                    SObjectRecord::new(step.object.clone(), fields).with_id(id),
                )),
            Resolved::Refused(reason) => out.outcomes.push(
                report_msg(
                    app,
                    conn,
                    &p.msg,
                    Verdict::error()
                        .code("NO_MATCH")
                        .reason(&reason)
                        .plan(&p.plan),
                )
                .await?,
            ),
        }
    }
    // Creates get write intents; redelivered ones adopt what an earlier attempt committed.
    let adopted = redelivery::prepare_singles(app, conn, client, &planned, &mut batches).await?;
    out.outcomes.extend(adopted);
    // Keyed creates cannot duplicate: an intent (so a second worker waits) but no probe.
    for (i, _) in keyed.values().flatten() {
        redelivery::begin(app, conn, &planned[*i]).await?;
    }
    // The writes' calls, booked before the first is sent; none are sent if they do not fit.
    let calls = upserts.len() as u64
        + batches
            .values()
            .chain(keyed.values())
            .map(|items| budget::collection_calls(items.len()))
            .sum::<u64>();
    if !budget.reserve(app, conn, client, calls).await? {
        let mut waiting: Vec<usize> = upserts.clone();
        for items in batches.values().chain(keyed.values()) {
            waiting.extend(items.iter().map(|(i, _)| *i));
        }
        for i in waiting {
            let msg = &planned[i].msg;
            budget.parked(msg);
            out.outcomes.push(
                park(
                    app,
                    conn,
                    msg,
                    budget::BUDGET_SPENT,
                    budget::BUDGET_SPENT_REASON,
                )
                .await?,
            );
        }
        return Ok(());
    }
    for i in upserts {
        let o = steps::run_plan(app, conn, client, config, &planned[i], None).await?;
        out.outcomes.push(o);
    }
    for ((_object, is_update), items) in batches {
        if is_update {
            for (i, _) in &items {
                let step = &planned[*i].plan.steps[0];
                if let Some(link) = &step.link {
                    linking::mark_pending(app, conn, &step.object, link, step.fields.keys())
                        .await?;
                }
            }
        }
        let records: Vec<SObjectRecord> = items.iter().map(|(_, r)| r.clone()).collect();
        let results = if is_update {
            client.update_records(&records, false).await
        } else {
            client.create_records(&records, false).await
        }
        .map_err(SfError::from)?;
        record_results(app, conn, &planned, &items, results, out).await?;
    }
    for (object, items) in keyed {
        let records: Vec<SObjectRecord> = items.iter().map(|(_, r)| r.clone()).collect();
        let results = client
            .upsert_records(&object, crmsync_core::provision::KEY_FIELD, &records, false)
            .await
            .map_err(SfError::from)?;
        record_results(app, conn, &planned, &items, results, out).await?;
    }
    Ok(())
}

/// Links and reports each record of a collections call by its outcome (a retryable
/// failure is redelivered); clears each reported event's intent.
async fn record_results(
    app: &App,
    conn: &Connection,
    planned: &[Planned],
    items: &[(usize, SObjectRecord)],
    results: Vec<crmsync_salesforce::RecordOutcome>,
    out: &mut BatchOutcome,
) -> Result<(), ServiceError> {
    for ((i, record), result) in items.iter().zip(results) {
        let p = &planned[*i];
        let step = &p.plan.steps[0];
        if result.success {
            let id = result.id.clone().or_else(|| record.id.clone());
            if let (Some(id), Some(link)) = (&id, &step.link) {
                write_link(app, conn, &step.object, id, link).await?;
            }
            out.outcomes.push(
                report_msg(
                    app,
                    conn,
                    &p.msg,
                    Verdict::success().maybe_sf_id(id).plan(&p.plan),
                )
                .await?,
            );
            redelivery::finish(app, conn, &p.msg.event.event_id).await;
        } else if result
            .errors
            .iter()
            .any(|e| e.is_retryable() || names_a_converted_lead(&step.object, e))
        {
            out.retry.push(p.message_id.clone());
        } else {
            let code = result.errors.first().map(|e| e.status_code.clone());
            let reason = result
                .errors
                .iter()
                .map(|e| {
                    if e.fields.is_empty() {
                        format!("{}: {}", e.status_code, e.message)
                    } else {
                        format!("{}: {} ({})", e.status_code, e.message, e.fields.join(", "))
                    }
                })
                .collect::<Vec<_>>()
                .join("; ");
            out.outcomes.push(
                report_msg(
                    app,
                    conn,
                    &p.msg,
                    Verdict::error()
                        .maybe_code(code.as_deref())
                        .reason(&reason)
                        .plan(&p.plan),
                )
                .await?,
            );
            redelivery::finish(app, conn, &p.msg.event.event_id).await;
        }
    }
    Ok(())
}

/// A record (a Task's `WhoId`) pointing at a Lead that was converted since its links were
/// read: Salesforce refuses it (`CANNOT_UPDATE_CONVERTED_LEAD`, "cannot reference converted
/// lead"). The links follow the conversion once it is read back (the batch's demo set or
/// sale retried, or the poll), so the event is redelivered rather than reported failed.
fn names_a_converted_lead(object: &str, e: &crmsync_salesforce::RecordError) -> bool {
    object != "Lead" && e.status_code == crmsync_salesforce::CANNOT_UPDATE_CONVERTED_LEAD
}
