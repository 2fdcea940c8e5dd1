//! Step-by-step writes: where each step's record comes from (a known id, a match, a new
//! record), and the sequential runner for plans too large for one composite request.

use crmsync_core::config::SyncConfig;
use crmsync_core::matching::{
    AccountCandidate, ContactCandidate, KeyResult, Lookup, MatchOutcome, contact_lookups,
    match_account, match_by_keys, match_contact,
};
use crmsync_core::outbound::{Matcher, Ref, WriteOp, WriteStep};
use crmsync_core::types::FieldMap;
use crmsync_salesforce::soql::{Condition, Literal, SoqlBuilder};
use crmsync_salesforce::{SfClient, SfError};
use crmsync_store::Connection;
use futures::StreamExt;
use serde_json::{Map, Value};

use super::prefetch::Prefetched;
use super::redelivery::{EventIntent, Finder, Probe, link_of};
use super::{EventOutcome, Planned, Verdict, report_msg, to_map, write_link};
use crate::app::App;
use crate::error::ServiceError;

/// Runs a multi-step plan in order, linking each written record at once. With a
/// redelivered `intent`, a create first looks for the record an earlier attempt made.
pub(super) async fn run_plan(
    app: &App,
    conn: &Connection,
    client: &SfClient,
    config: &SyncConfig,
    planned: &Planned,
    intent: Option<&EventIntent>,
) -> Result<EventOutcome, ServiceError> {
    let mut finder = Finder::new(client, conn);
    let redelivered = intent.filter(|e| e.redelivered);
    let mut ids: Vec<Option<String>> = Vec::with_capacity(planned.plan.steps.len());
    for step in &planned.plan.steps {
        let mut fields = to_map(&step.fields);
        let mut missing_parent = None;
        for (field, &i) in &step.references {
            match ids.get(i).cloned().flatten() {
                Some(id) => {
                    fields.insert(field.clone(), Value::String(id));
                }
                None => missing_parent = Some(field.clone()),
            }
        }
        if let Some(field) = missing_parent {
            // Never write a child without its parent: report the event instead.
            return report_msg(
                app,
                conn,
                &planned.msg,
                Verdict::error()
                    .code("MISSING_PARENT")
                    .reason(format!(
                        "{} ({}): no Id came back for its {field}",
                        step.key, step.object
                    ))
                    .maybe_sf_id(ids.iter().flatten().next().cloned())
                    .plan(&planned.plan),
            )
            .await;
        }
        let target = match resolve(client, config, step, &ids, &Prefetched::default()).await? {
            Resolved::Create => match redelivered {
                Some(ev) if !matches!(step.op, WriteOp::Upsert { .. }) => {
                    let wanted: FieldMap =
                        fields.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
                    let probe = Probe {
                        object: &step.object,
                        fields: &wanted,
                        intent: &ev.intent,
                        link: link_of(&step.object, step.link.as_ref()),
                    };
                    let found = finder.find(app, conn, &[probe]).await?.pop().flatten();
                    if found.is_some() {
                        // Committed by the earlier attempt: nothing left to write.
                        fields.clear();
                    }
                    found
                }
                _ => None,
            },
            Resolved::Existing(id) => Some(id),
            Resolved::Refused(reason) => {
                return report_msg(
                    app,
                    conn,
                    &planned.msg,
                    Verdict::error()
                        .code("NO_MATCH")
                        .reason(format!("{}: {reason}", step.key))
                        .plan(&planned.plan),
                )
                .await;
            }
        };
        let written = match (&step.op, target) {
            (
                WriteOp::Upsert {
                    external_id_field,
                    external_id,
                },
                _,
            ) => client
                .upsert(&step.object, external_id_field, external_id, &fields)
                .await
                .map(|o| o.id),
            (_, Some(id)) => {
                if fields.is_empty() {
                    Ok(Some(id))
                } else {
                    client
                        .update(&step.object, &id, &fields)
                        .await
                        .map(|_| Some(id))
                }
            }
            (_, None) => client.create(&step.object, &fields).await.map(Some),
        };
        match written {
            Ok(id) => {
                if let (Some(id), Some(link)) = (&id, &step.link) {
                    write_link(app, conn, &step.object, id, link).await?;
                }
                ids.push(id);
            }
            Err(e) if e.is_retryable() || e.is_auth() || e.is_rate_limited() => {
                return Err(e.into());
            }
            Err(e) => {
                let code = e.code().map(str::to_string);
                return report_msg(
                    app,
                    conn,
                    &planned.msg,
                    Verdict::error()
                        .maybe_code(code.as_deref())
                        .reason(format!("{} ({}): {e}", step.key, step.object))
                        .maybe_sf_id(ids.iter().flatten().next().cloned())
                        .plan(&planned.plan),
                )
                .await;
            }
        }
    }
    let first = ids.iter().flatten().next().cloned();
    report_msg(
        app,
        conn,
        &planned.msg,
        Verdict::success().maybe_sf_id(first).plan(&planned.plan),
    )
    .await
}

pub(super) enum Resolved {
    Create,
    Existing(String),
    Refused(String),
}

/// Where a step writes: a known record, a match, or a new one.
pub(super) async fn resolve(
    client: &SfClient,
    config: &SyncConfig,
    step: &WriteStep,
    ids: &[Option<String>],
    pre: &Prefetched,
) -> Result<Resolved, ServiceError> {
    let outcome = match &step.op {
        WriteOp::Create | WriteOp::Upsert { .. } => return Ok(Resolved::Create),
        WriteOp::Update { id } => return Ok(Resolved::Existing(id.clone())),
        WriteOp::MatchThenWrite { matcher, create } => {
            let outcome = match matcher {
                Matcher::Account { query, lookups } => {
                    let city = &config.matching.account_city_field;
                    let mut candidates: Vec<AccountCandidate> = Vec::new();
                    for lookup in lookups {
                        for r in lookup_rows(client, pre, lookup).await? {
                            if let Some(c) = AccountCandidate::from_record(&r, city)
                                && !candidates.iter().any(|x| x.id == c.id)
                            {
                                candidates.push(c);
                            }
                        }
                    }
                    match_account(query, &candidates)
                }
                Matcher::Contact { query, account } => {
                    let account_id = match account {
                        Some(Ref::Id(id)) => Some(id.clone()),
                        Some(Ref::Step(i)) => ids.get(*i).cloned().flatten(),
                        None => None,
                    };
                    match account_id {
                        None => MatchOutcome::Create {
                            step: crmsync_core::matching::MatchStep::PhoneNone,
                        },
                        Some(account_id) => {
                            let mut candidates = Vec::new();
                            for lookup in contact_lookups(query, &account_id) {
                                for r in lookup_rows(client, pre, &lookup).await? {
                                    if let Some(c) = ContactCandidate::from_record(&r) {
                                        candidates.push(c);
                                    }
                                }
                            }
                            match_contact(query, &account_id, &candidates)
                        }
                    }
                }
                Matcher::Keys { keys } => {
                    let mut results = Vec::new();
                    for (step, lookup) in keys {
                        let found = lookup_rows(client, pre, lookup).await?;
                        results.push(KeyResult {
                            step: *step,
                            ids: found
                                .iter()
                                .filter_map(|r| {
                                    r.get("Id").and_then(Value::as_str).map(str::to_string)
                                })
                                .collect(),
                        });
                    }
                    match_by_keys(&results)
                }
            };
            (outcome, *create)
        }
    };
    Ok(match outcome {
        (MatchOutcome::Matched { id, .. }, _) => Resolved::Existing(id),
        (MatchOutcome::Create { .. }, true) => Resolved::Create,
        (MatchOutcome::Create { step }, false) => Resolved::Refused(format!(
            "no matching {} ({step:?}) and creating is turned off",
            step_object(step)
        )),
    })
}

fn step_object(_step: crmsync_core::matching::MatchStep) -> &'static str {
    "record"
}

/// A lookup's rows: from the batch's prefetch when it holds them, else its own query.
pub(super) async fn lookup_rows(
    client: &SfClient,
    pre: &Prefetched,
    lookup: &Lookup,
) -> Result<Vec<Map<String, Value>>, ServiceError> {
    match pre.rows(lookup) {
        Some(rows) => Ok(rows),
        None => run_lookup(client, lookup).await,
    }
}

/// The lookups a step's matcher runs before any write (for [`super::prefetch`]).
pub(super) fn known_lookups(step: &WriteStep) -> Vec<&Lookup> {
    match &step.op {
        WriteOp::MatchThenWrite { matcher, .. } => match matcher {
            Matcher::Account { lookups, .. } => lookups.iter().collect(),
            Matcher::Keys { keys } => keys.iter().map(|(_, l)| l).collect(),
            Matcher::Contact { .. } => Vec::new(),
        },
        _ => Vec::new(),
    }
}

/// Runs a core lookup as an allow-listed, escaped SOQL query (at most 50 candidates).
async fn run_lookup(
    client: &SfClient,
    lookup: &Lookup,
) -> Result<Vec<Map<String, Value>>, ServiceError> {
    let describe = client.describe(&lookup.object).await?;
    // Typed by describe: an id is sent as 18 characters, a number unquoted. Phones: the IN
    // list of stored formats (SOQL cannot normalise); candidates are compared normalised.
    let typed = |f: &str, v: String| {
        let text = Value::String(v.clone());
        describe
            .field(f)
            .and_then(|field| Literal::for_field(field, &text).ok())
            .unwrap_or(Literal::String(v))
    };
    let conditions: Vec<Condition> = lookup
        .conditions
        .iter()
        .map(|(f, v)| {
            let values = crmsync_core::matching::lookup_values(f, v);
            if values.len() == 1 {
                Condition::eq(f, typed(f, v.clone()))
            } else {
                Condition::in_list(f, values.into_iter().map(|x| typed(f, x)))
            }
        })
        .collect();
    let soql = SoqlBuilder::new(&describe)
        .select(lookup.fields.iter())
        .filter(Condition::and(conditions))
        .limit(super::prefetch::LOOKUP_LIMIT as u32)
        .build()
        .map_err(SfError::from)?;
    let mut records = Vec::new();
    let mut pages = client.query(soql);
    while let Some(page) = pages.next().await {
        records.extend(page?.records.into_iter().map(|r| r.fields));
    }
    Ok(records)
}
