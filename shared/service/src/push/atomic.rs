//! Multi-step plans (a sale: Account → Contact → Opportunity → line items), each written
//! all or none as one graph of a `POST composite/graph`, many sales a request (up to 75
//! graphs and 500 nodes: Salesforce's composite graph limits), so a failing step leaves
//! nothing of its sale behind and the other sales are not held up.
//!
//! Per sale, matches run first (reads only); then its writes become graph nodes, later steps
//! taking earlier new records' ids through `@{eKsN.id}` references. Only after Salesforce
//! commits a graph are its records linked and its event reported. A plan larger than one
//! request's 500 nodes is written step by step instead.

use crmsync_core::config::SyncConfig;
use crmsync_core::outbound::{WriteOp, WriteStep};
use crmsync_salesforce::{
    CompositeSubrequest, CompositeSubresponse, GRAPH_MAX_NODES, Graph, Method, SfClient, SfError,
    graphs_fit,
};
use crmsync_store::Connection;
use serde_json::Value;

use super::redelivery::{self, EventIntent};
use super::steps::{Resolved, run_plan};
use super::{EventOutcome, Planned, Verdict, Writes, park, report_msg, to_map, write_link};
use crate::app::App;
use crate::error::ServiceError;

/// Salesforce's status for subrequests undone because another one failed.
const HALTED: &str = "PROCESSING_HALTED";

/// A node's reference id, unique in the request: the sale's tag, then its step.
fn reference(tag: usize, step: usize) -> String {
    format!("e{tag}s{step}")
}

/// `sobjects/{object}/{segments…}` with each segment percent-encoded.
fn sobject_path(object: &str, rest: &[&str]) -> String {
    let mut url = url::Url::parse("http://composite.invalid/").expect("static base URL parses");
    if let Ok(mut segments) = url.path_segments_mut() {
        segments.extend(["sobjects", object]).extend(rest);
    }
    url.path().trim_start_matches('/').to_string()
}

/// The subrequest that writes `step`, or `None` when it has nothing to write.
/// A create with crmsync's `key` upserts by it ([`super::upsert`]).
fn subrequest(
    step: &WriteStep,
    tag: usize,
    index: usize,
    (known, key): (Option<&str>, Option<&str>),
    fields: serde_json::Map<String, Value>,
) -> Option<CompositeSubrequest> {
    let (method, path) = match (&step.op, known) {
        (
            WriteOp::Upsert {
                external_id_field,
                external_id,
            },
            _,
        ) => (
            Method::PATCH,
            sobject_path(&step.object, &[external_id_field, external_id]),
        ),
        (_, Some(_)) if fields.is_empty() => return None,
        (_, Some(id)) => (Method::PATCH, sobject_path(&step.object, &[id])),
        (_, None) => match key {
            Some(key) => (
                Method::PATCH,
                sobject_path(&step.object, &[crmsync_core::provision::KEY_FIELD, key]),
            ),
            None => (Method::POST, sobject_path(&step.object, &[])),
        },
    };
    Some(
        CompositeSubrequest::new(method, path, reference(tag, index))
            .with_body(Value::Object(fields)),
    )
}

/// A sale whose nodes are built, waiting for its graph to be sent.
pub(super) struct Ready<'p> {
    planned: &'p Planned,
    subs: Vec<CompositeSubrequest>,
    sub_of_step: Vec<Option<usize>>,
    known: Vec<Option<String>>,
    /// A write intent was recorded: clear it once the sale has its outcome.
    intent: bool,
}

/// A sale after matching: its outcome already (refused, or written step by step), or its
/// graph to send.
pub(super) enum Prepared<'p> {
    Done(EventOutcome),
    Ready(Ready<'p>),
}

/// Matches `planned` and builds its graph; `tag` makes its reference ids unique in the
/// request.
pub(super) async fn prepare<'p>(
    app: &App,
    conn: &Connection,
    client: &SfClient,
    config: &SyncConfig,
    planned: &'p Planned,
    tag: usize,
    writes: Writes<'_>,
) -> Result<Prepared<'p>, ServiceError> {
    let mut intent = None;
    let prepared = build(app, conn, client, config, planned, tag, writes, &mut intent).await?;
    match prepared {
        Prepared::Done(outcome) => {
            if intent.is_some() {
                redelivery::finish(app, conn, &planned.msg.event.event_id).await;
            }
            Ok(Prepared::Done(outcome))
        }
        Prepared::Ready(ready) => Ok(Prepared::Ready(Ready {
            intent: intent.is_some(),
            ..ready
        })),
    }
}

#[allow(clippy::too_many_arguments)] // the push context, the sale, and its intent slot
async fn build<'p>(
    app: &App,
    conn: &Connection,
    client: &SfClient,
    config: &SyncConfig,
    planned: &'p Planned,
    tag: usize,
    writes: Writes<'_>,
    intent: &mut Option<EventIntent>,
) -> Result<Prepared<'p>, ServiceError> {
    let Writes { pre, budget } = writes;
    let steps = &planned.plan.steps;
    let refuse = |code: &'static str, reason: String| async move {
        report_msg(
            app,
            conn,
            &planned.msg,
            Verdict::error()
                .code(code)
                .reason(&reason)
                .plan(&planned.plan),
        )
        .await
        .map(Prepared::Done)
    };
    // 1. Where each step writes (matches are reads: nothing is written yet).
    let mut known: Vec<Option<String>> = Vec::with_capacity(steps.len());
    for (step, key) in steps.iter().zip(&planned.keys) {
        match super::upsert::resolve(client, config, step, key.as_deref(), &known, pre).await? {
            Resolved::Create => known.push(None),
            Resolved::Existing(id) => known.push(Some(id)),
            Resolved::Refused(reason) => {
                return refuse(
                    "NO_MATCH",
                    format!("{}: {reason}; nothing was written", step.key),
                )
                .await;
            }
        }
    }
    // 2. Creates: an intent first; a redelivery adopts what the earlier attempt committed.
    let mut adopted = vec![false; steps.len()];
    let creates = steps
        .iter()
        .zip(&known)
        .any(|(s, k)| k.is_none() && !matches!(s.op, WriteOp::Upsert { .. }));
    if creates {
        let ev = intent.insert(redelivery::begin(app, conn, planned).await?);
        if ev.redelivered {
            // Keyed steps first, by their key; the read-back probe for what is left.
            let event_id = &planned.msg.event.event_id;
            let keys = &planned.keys;
            super::upsert::adopt_keyed(client, steps, keys, event_id, &mut known, &mut adopted)
                .await?;
            redelivery::adopt_steps(app, conn, client, steps, ev, &mut known, &mut adopted).await?;
        }
    }
    // 3. One subrequest per step that writes.
    let mut subs = Vec::new();
    let mut sub_of_step: Vec<Option<usize>> = Vec::with_capacity(steps.len());
    for (i, step) in steps.iter().enumerate() {
        if adopted[i] {
            // Committed by the earlier attempt with these very fields.
            sub_of_step.push(None);
            continue;
        }
        let mut fields = to_map(&step.fields);
        for (field, &parent) in &step.references {
            let id = match (
                known.get(parent).cloned().flatten(),
                sub_of_step.get(parent),
            ) {
                (Some(id), _) => id,
                (None, Some(Some(_))) => format!("@{{{}.id}}", reference(tag, parent)),
                _ => {
                    return refuse(
                        "MISSING_PARENT",
                        format!(
                            "{} ({}): no record for its {field}; nothing was written",
                            step.key, step.object
                        ),
                    )
                    .await;
                }
            };
            fields.insert(field.clone(), Value::String(id));
        }
        let target = (known[i].as_deref(), planned.keys[i].as_deref());
        let sub = subrequest(step, tag, i, target, fields);
        sub_of_step.push(sub.as_ref().map(|_| subs.len()));
        subs.extend(sub);
    }
    // 4. The hashes of what it writes to linked records, before it is written: a poll
    // finding them knows them as crmsync's own write even if linking its result fails
    // afterwards (as `singles` does; sim deals seed 664: taken for a Salesforce edit made
    // after the app's next change, that change was refused and the app lost it).
    for (i, step) in steps.iter().enumerate() {
        if let (Some(Some(_)), Some(_), Some(link)) = (sub_of_step.get(i), &known[i], &step.link) {
            super::linking::mark_pending(app, conn, &step.object, link, step.fields.keys()).await?;
        }
    }
    if subs.len() > GRAPH_MAX_NODES {
        // Larger than one request: a call a step, booked before the first.
        tracing::info!(
            steps = steps.len(),
            "plan exceeds one composite graph request; writing it step by step"
        );
        if !budget
            .reserve(app, conn, client, steps.len() as u64)
            .await?
        {
            budget.parked(&planned.msg);
            return park_sale(app, conn, planned).await.map(Prepared::Done);
        }
        return run_plan(app, conn, client, config, planned, intent.as_ref())
            .await
            .map(Prepared::Done);
    }
    Ok(Prepared::Ready(Ready {
        planned,
        subs,
        sub_of_step,
        known,
        intent: false,
    }))
}

async fn park_sale(
    app: &App,
    conn: &Connection,
    planned: &Planned,
) -> Result<EventOutcome, ServiceError> {
    park(
        app,
        conn,
        &planned.msg,
        super::budget::BUDGET_SPENT,
        super::budget::BUDGET_SPENT_REASON,
    )
    .await
}

/// Sends the wave's sales as composite graphs, as many a request as the limits allow, each
/// request booked before it is sent (what does not fit the budget is parked); then links
/// and reports each sale and clears its intent.
pub(super) async fn send(
    app: &App,
    conn: &Connection,
    client: &SfClient,
    ready: Vec<Ready<'_>>,
    budget: &mut super::budget::Budget,
) -> Result<Vec<EventOutcome>, ServiceError> {
    let mut outcomes = Vec::with_capacity(ready.len());
    let mut requests: Vec<Vec<Ready<'_>>> = Vec::new();
    for r in ready {
        if r.subs.is_empty() {
            // Nothing left to write (matched, or adopted from an earlier attempt).
            outcomes.push(finish(app, conn, &r, &[]).await?);
            continue;
        }
        let fits = requests.last().is_some_and(|req| {
            let nodes: usize = req.iter().map(|x| x.subs.len()).sum();
            graphs_fit(req.len() + 1, nodes + r.subs.len())
        });
        if fits {
            requests.last_mut().expect("a request").push(r);
        } else {
            requests.push(vec![r]);
        }
    }
    for request in requests {
        if !budget.reserve(app, conn, client, 1).await? {
            for r in &request {
                budget.parked(&r.planned.msg);
                outcomes.push(park_sale(app, conn, r.planned).await?);
                clear_intent(app, conn, r).await;
            }
            continue;
        }
        let graphs: Vec<Graph> = request
            .iter()
            .enumerate()
            .map(|(k, r)| Graph {
                graph_id: format!("g{k}"),
                nodes: r.subs.clone(),
            })
            .collect();
        match client.composite_graph(&graphs).await {
            Ok(results) => {
                let by_id: std::collections::BTreeMap<String, Vec<CompositeSubresponse>> = results
                    .into_iter()
                    .map(|g| (g.graph_id, g.responses))
                    .collect();
                for (graph, r) in graphs.iter().zip(&request) {
                    let Some(responses) = by_id.get(&graph.graph_id) else {
                        return Err(ServiceError::Internal(format!(
                            "composite graph answered without graph {}",
                            graph.graph_id
                        )));
                    };
                    outcomes.push(finish(app, conn, r, responses).await?);
                }
            }
            Err(e) if e.is_retryable() || e.is_auth() || e.is_rate_limited() => {
                return Err(e.into());
            }
            Err(e) => {
                for r in &request {
                    outcomes.push(refused_request(app, conn, r, &e).await?);
                }
            }
        }
    }
    Ok(outcomes)
}

async fn clear_intent(app: &App, conn: &Connection, r: &Ready<'_>) {
    if r.intent {
        redelivery::finish(app, conn, &r.planned.msg.event.event_id).await;
    }
}

/// A request Salesforce refused as a whole (not retryable): nothing of the sale was written.
async fn refused_request(
    app: &App,
    conn: &Connection,
    r: &Ready<'_>,
    e: &SfError,
) -> Result<EventOutcome, ServiceError> {
    let code = e.code().unwrap_or("COMPOSITE_FAILED").to_string();
    let outcome = report_msg(
        app,
        conn,
        &r.planned.msg,
        Verdict::error()
            .code(&code)
            .reason(format!(
                "the write request failed: {e}; nothing was written"
            ))
            .plan(&r.planned.plan),
    )
    .await?;
    clear_intent(app, conn, r).await;
    Ok(outcome)
}

/// One sale's graph answered: on failure report the failing step (nothing was written);
/// on success link every record, then report.
async fn finish(
    app: &App,
    conn: &Connection,
    r: &Ready<'_>,
    responses: &[CompositeSubresponse],
) -> Result<EventOutcome, ServiceError> {
    let outcome = finish_sale(app, conn, r, responses).await?;
    clear_intent(app, conn, r).await;
    Ok(outcome)
}

async fn finish_sale(
    app: &App,
    conn: &Connection,
    r: &Ready<'_>,
    responses: &[CompositeSubresponse],
) -> Result<EventOutcome, ServiceError> {
    let (planned, steps) = (r.planned, &r.planned.plan.steps);
    let failed = responses
        .iter()
        .enumerate()
        .filter(|(_, r)| !r.is_success())
        .find(|(_, r)| r.errors().first().is_none_or(|e| e.error_code != HALTED))
        .or_else(|| responses.iter().enumerate().find(|(_, r)| !r.is_success()));
    if let Some((sub, response)) = failed {
        let step = r
            .sub_of_step
            .iter()
            .position(|s| *s == Some(sub))
            .map(|i| &steps[i]);
        let error = response.error();
        if let Some(e) = &error
            && (e.is_retryable() || e.is_rate_limited() || e.is_auth())
        {
            // Rolled back: a redelivery starts from scratch.
            return Err(error
                .map(ServiceError::from)
                .unwrap_or_else(|| ServiceError::Internal("composite graph".into())));
        }
        let code = response
            .errors()
            .first()
            .map(|e| e.error_code.clone())
            .unwrap_or_else(|| "COMPOSITE_FAILED".into());
        let what = step.map_or_else(
            || "a step".to_string(),
            |s| format!("{} ({})", s.key, s.object),
        );
        let detail = error.map_or_else(|| response.body.to_string(), |e| e.to_string());
        return report_msg(
            app,
            conn,
            &planned.msg,
            Verdict::error()
                .code(&code)
                .reason(format!(
                    "{what}: {detail}; nothing was written (all or none)"
                ))
                .plan(&planned.plan),
        )
        .await;
    }
    // Committed: link every record, then report.
    let mut ids: Vec<Option<String>> = Vec::with_capacity(steps.len());
    for (i, step) in steps.iter().enumerate() {
        let written = r.sub_of_step[i]
            .and_then(|s| responses.get(s))
            .and_then(|r| r.body.get("id"))
            .and_then(Value::as_str)
            .map(str::to_string);
        let id = r.known[i].clone().or(written);
        if let (Some(id), Some(link)) = (&id, &step.link) {
            write_link(app, conn, &step.object, id, link).await?;
        }
        ids.push(id);
    }
    report_msg(
        app,
        conn,
        &planned.msg,
        Verdict::success()
            .maybe_sf_id(ids.into_iter().flatten().next())
            .plan(&planned.plan),
    )
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_encode_external_ids() {
        assert_eq!(sobject_path("Account", &[]), "sobjects/Account");
        assert_eq!(
            sobject_path("Contact", &["Crmsync_Id__c", "a b/c?"]),
            "sobjects/Contact/Crmsync_Id__c/a%20b%2Fc%3F"
        );
    }
}
