//! A multi-step plan (a sale: Account → Contact → Opportunity → line items) written as one
//! `POST composite` with `allOrNone`, so a failing step leaves nothing behind.
//!
//! Matches run first (reads only); then every write goes in one request, later steps taking
//! earlier new records' ids through `@{sN.id}` references. Only after Salesforce commits
//! are the records linked and the event reported. A plan with more steps than one composite
//! holds (25 subrequests) is written step by step instead.

use crmsync_core::config::SyncConfig;
use crmsync_core::outbound::{WriteOp, WriteStep};
use crmsync_salesforce::{COMPOSITE_MAX_SUBREQUESTS, CompositeSubrequest, Method, SfClient};
use crmsync_store::{Connection, ReportStatus};
use serde_json::Value;

use super::redelivery::{self, EventIntent};
use super::steps::{Resolved, resolve, run_plan};
use super::{EventOutcome, Planned, Writes, park, report_msg, to_map, write_link};
use crate::app::App;
use crate::error::ServiceError;

/// Salesforce's status for subrequests undone because another one failed.
const HALTED: &str = "PROCESSING_HALTED";

fn reference(step: usize) -> String {
    format!("s{step}")
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
fn subrequest(
    step: &WriteStep,
    index: usize,
    known: Option<&str>,
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
        (_, None) => (Method::POST, sobject_path(&step.object, &[])),
    };
    Some(CompositeSubrequest::new(method, path, reference(index)).with_body(Value::Object(fields)))
}

/// Writes `planned` all or nothing; links and reports it, then clears its write intent.
pub(super) async fn run_atomic(
    app: &App,
    conn: &Connection,
    client: &SfClient,
    config: &SyncConfig,
    planned: &Planned,
    writes: Writes<'_>,
) -> Result<EventOutcome, ServiceError> {
    let mut intent = None;
    let outcome = write_atomic(app, conn, client, config, planned, writes, &mut intent).await?;
    if intent.is_some() {
        redelivery::finish(app, conn, &planned.msg.event.event_id).await;
    }
    Ok(outcome)
}

async fn write_atomic(
    app: &App,
    conn: &Connection,
    client: &SfClient,
    config: &SyncConfig,
    planned: &Planned,
    writes: Writes<'_>,
    intent: &mut Option<EventIntent>,
) -> Result<EventOutcome, ServiceError> {
    let Writes { pre, budget } = writes;
    let steps = &planned.plan.steps;
    let refuse = |code: &'static str, reason: String| async move {
        report_msg(
            app,
            conn,
            &planned.msg,
            ReportStatus::Error,
            Some(code),
            Some(&reason),
            None,
            &planned.plan,
        )
        .await
    };
    // 1. Where each step writes (matches are reads: nothing is written yet).
    let mut known: Vec<Option<String>> = Vec::with_capacity(steps.len());
    for step in steps {
        match resolve(client, config, step, &known, pre).await? {
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
                (None, Some(Some(_))) => format!("@{{{}.id}}", reference(parent)),
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
        let sub = subrequest(step, i, known[i].as_deref(), fields);
        sub_of_step.push(sub.as_ref().map(|_| subs.len()));
        subs.extend(sub);
    }
    // The sale's real cost, booked before its first write: one composite, or a call a step.
    let calls = if subs.len() > COMPOSITE_MAX_SUBREQUESTS {
        steps.len() as u64
    } else {
        u64::from(!subs.is_empty())
    };
    if !budget.reserve(app, conn, client, calls).await? {
        budget.parked(&planned.msg);
        return park(
            app,
            conn,
            &planned.msg,
            super::budget::BUDGET_SPENT,
            super::budget::BUDGET_SPENT_REASON,
        )
        .await;
    }
    if subs.len() > COMPOSITE_MAX_SUBREQUESTS {
        tracing::info!(
            steps = steps.len(),
            "plan exceeds one composite request; writing it step by step"
        );
        return run_plan(app, conn, client, config, planned, intent.as_ref()).await;
    }
    // 4. All or nothing.
    let responses = if subs.is_empty() {
        Vec::new()
    } else {
        match client.composite(&subs, true).await {
            Ok(r) => r,
            Err(e) if e.is_retryable() || e.is_auth() || e.is_rate_limited() => {
                return Err(e.into());
            }
            Err(e) => {
                let code = e.code().unwrap_or("COMPOSITE_FAILED").to_string();
                return report_msg(
                    app,
                    conn,
                    &planned.msg,
                    ReportStatus::Error,
                    Some(&code),
                    Some(&format!(
                        "the write request failed: {e}; nothing was written"
                    )),
                    None,
                    &planned.plan,
                )
                .await;
            }
        }
    };
    let failed = responses
        .iter()
        .enumerate()
        .filter(|(_, r)| !r.is_success())
        .find(|(_, r)| r.errors().first().is_none_or(|e| e.error_code != HALTED))
        .or_else(|| responses.iter().enumerate().find(|(_, r)| !r.is_success()));
    if let Some((sub, response)) = failed {
        let step = sub_of_step
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
                .unwrap_or_else(|| ServiceError::Internal("composite".into())));
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
            ReportStatus::Error,
            Some(&code),
            Some(&format!(
                "{what}: {detail}; nothing was written (all or none)"
            )),
            None,
            &planned.plan,
        )
        .await;
    }
    // 5. Committed: link every record, then report.
    let mut ids: Vec<Option<String>> = Vec::with_capacity(steps.len());
    for (i, step) in steps.iter().enumerate() {
        let written = sub_of_step[i]
            .and_then(|s| responses.get(s))
            .and_then(|r| r.body.get("id"))
            .and_then(Value::as_str)
            .map(str::to_string);
        let id = known[i].clone().or(written);
        if let (Some(id), Some(link)) = (&id, &step.link) {
            write_link(app, conn, &step.object, id, link).await?;
        }
        ids.push(id);
    }
    report_msg(
        app,
        conn,
        &planned.msg,
        ReportStatus::Success,
        None,
        None,
        ids.into_iter().flatten().next(),
        &planned.plan,
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
