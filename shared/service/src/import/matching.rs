//! Matching before the insert: an imported person already in the org (same email, or
//! phone, as the connection's `matching.contact_keys` say) is linked to that record and
//! updated, not inserted a second time. The keys and their order are the push's own (each
//! record's plan carries them, core `outbound`), and so is the decision
//! ([`match_by_keys`]): the first key that finds exactly one record wins. Where the push
//! then creates (every key empty, or found several records), an import reports a record
//! whose keys found only several records (`AMBIGUOUS_MATCH`, with their Ids) instead of
//! adding one more duplicate; a record nothing matched is inserted (refused `NO_MATCH`
//! when the object's creates are turned off, as the push does).
//!
//! What it costs, chosen by the number of values to look up (phone keys count each
//! stored-format variant, core `lookup_values`):
//! - up to [`MAX_IN_VALUES`]: the push's batched `IN` queries (`push::prefetch`), five a
//!   composite request: 1 call for 1,000 emails (about 200 a query);
//! - more: one Bulk API 2.0 query job reading `Id` and the key fields of every record of
//!   the object (create, the status reads, one call per 50,000 rows), so the cost stays a
//!   few calls however large the import. `IN` queries would grow with the import (100
//!   calls for 100,000 emails, many more with phones' variants); the job reads the whole
//!   object instead, which only the org's size bounds, in calls of 50,000 rows.
//!
//! In memory, values compare as SOQL compares them: text case-insensitively, phones by
//! their digits (core `normalize_phone`). Only key matching (Leads, Contacts) applies: a
//! plan matched by the account cascade (an import of companies) is inserted unmatched.
//!
//! Resuming: the query job's id is kept in the import's checkpoint as soon as it exists; a
//! request that ran out of time before the job finished leaves the import `uploading`,
//! and the same request sent again goes on with that job instead of starting another.
//!
//! Salesforce behaviour relied on: Bulk API 2.0 query jobs as in `crate::backfill`;
//! upserting by `Id` in an ingest job (a row with an Id updates that record, a row with an
//! empty Id inserts): "Create records or update existing records (upsert) based on an ID,
//! or the value of a specified external ID field" (Bulk API 2.0 and Bulk API Developer
//! Guide, "Upsert Records"), and the Mobile SDK's upsert reference: "To force Salesforce
//! to create a new record, set the name of the external ID field to `Id` and the external
//! ID to null".

use std::collections::{BTreeMap, BTreeSet, HashMap};

use crmsync_core::matching::{
    KeyResult, Lookup, MatchOutcome, MatchStep, PHONE_FIELDS, lookup_values, match_by_keys,
    normalize_phone,
};
use crmsync_core::outbound::{Matcher, WriteOp, WriteStep};
use crmsync_salesforce::bulk::{JobState, PollBackoff};
use crmsync_salesforce::soql::SoqlBuilder;
use crmsync_salesforce::{QueryScope, SfError};
use serde_json::{Map, Value};

use super::job::Run;
use super::rows::Plans;
use super::state::{self, ImportFailure, ImportState};
use crate::error::ServiceError;

/// Most `IN` values looked up with queries; above, one Bulk API query job.
pub const MAX_IN_VALUES: usize = 1_000;

/// What matching decided.
#[derive(Debug, Default)]
pub struct Matches {
    /// app id → the Salesforce Id its keys found.
    pub matched: BTreeMap<String, String>,
    /// Records not written, with why.
    pub refused: Vec<ImportFailure>,
}

/// The keys a step is matched by, and whether it may create.
fn keys_of(step: &WriteStep) -> Option<(&[(MatchStep, Lookup)], bool)> {
    match &step.op {
        WriteOp::MatchThenWrite {
            matcher: Matcher::Keys { keys },
            create,
        } => Some((keys.as_slice(), *create)),
        _ => None,
    }
}

/// A value as compared: phones by their digits, text case-insensitively.
pub fn normalized(field: &str, value: &str) -> String {
    if PHONE_FIELDS.contains(&field) {
        normalize_phone(value)
    } else {
        value.trim().to_lowercase()
    }
}

/// (field, normalized value) → the Ids of the records that have it.
#[derive(Debug, Default)]
pub struct Index(HashMap<(String, String), BTreeSet<String>>);

impl Index {
    /// Indexes a record's wanted values (others are not kept).
    pub fn add(&mut self, wanted: &BTreeSet<(String, String)>, row: &Map<String, Value>) {
        let Some(id) = row.get("Id").and_then(Value::as_str) else {
            return;
        };
        for (field, value) in row {
            let Some(text) = value.as_str() else { continue };
            let key = (field.clone(), normalized(field, text));
            if key.1.is_empty() || !wanted.contains(&key) {
                continue;
            }
            self.0
                .entry(key)
                .or_default()
                .insert(crmsync_core::sfid::canonical(id));
        }
    }

    fn ids(&self, field: &str, value: &str) -> Vec<String> {
        self.0
            .get(&(field.to_string(), normalized(field, value)))
            .map(|ids| ids.iter().cloned().collect())
            .unwrap_or_default()
    }
}

/// The (field, normalized value) pairs the plans look up.
fn wanted(plans: &Plans) -> BTreeSet<(String, String)> {
    plans
        .planned
        .iter()
        .filter_map(|(_, step)| keys_of(step))
        .flat_map(|(keys, _)| keys.iter())
        .filter_map(|(_, l)| match l.conditions.as_slice() {
            [(field, value)] => Some((field.clone(), normalized(field, value))),
            _ => None,
        })
        .filter(|(_, v)| !v.is_empty())
        .collect()
}

/// Decides each planned record from the index, in the push's key order.
pub fn decide(plans: &Plans, index: &Index) -> Matches {
    let mut out = Matches::default();
    for (app_id, step) in &plans.planned {
        let Some((keys, create)) = keys_of(step) else {
            continue;
        };
        let results: Vec<KeyResult> = keys
            .iter()
            .filter_map(|(step, lookup)| match lookup.conditions.as_slice() {
                [(field, value)] => Some(KeyResult {
                    step: *step,
                    ids: index.ids(field, value),
                }),
                _ => None,
            })
            .collect();
        match match_by_keys(&results) {
            MatchOutcome::Matched { id, .. } => {
                out.matched.insert(app_id.clone(), id);
            }
            MatchOutcome::Create {
                step: MatchStep::Ambiguous,
            } => {
                let found: Vec<String> = keys
                    .iter()
                    .zip(&results)
                    .filter(|(_, r)| r.ids.len() > 1)
                    .map(|((_, l), r)| {
                        let field = l.conditions.first().map_or("", |(f, _)| f.as_str());
                        format!("{field} matches {}", r.ids.join(", "))
                    })
                    .collect();
                out.refused.push(ImportFailure {
                    app_id: app_id.clone(),
                    code: "AMBIGUOUS_MATCH".into(),
                    reason: format!(
                        "{} {}: {}; not guessed (merge them, or link one by an update event)",
                        step.object,
                        "records already match",
                        found.join("; ")
                    ),
                });
            }
            MatchOutcome::Create { step: s } if !create => out.refused.push(ImportFailure {
                app_id: app_id.clone(),
                code: "NO_MATCH".into(),
                reason: format!(
                    "no matching {} ({s:?}) and creating is turned off",
                    step.object
                ),
            }),
            MatchOutcome::Create { .. } => {}
        }
    }
    out
}

/// Finds the existing records the plans match; `None` when the run's time ran out while
/// the query job was still running (the checkpoint keeps the job).
pub async fn find(
    run: &mut Run<'_>,
    st: &mut ImportState,
    plans: &Plans,
) -> Result<Option<Matches>, ServiceError> {
    let wanted = wanted(plans);
    if wanted.is_empty() {
        return Ok(Some(Matches::default()));
    }
    let lookups: Vec<&Lookup> = plans
        .planned
        .iter()
        .filter_map(|(_, step)| keys_of(step))
        .flat_map(|(keys, _)| keys.iter().map(|(_, l)| l))
        .collect();
    let in_values: usize = lookups
        .iter()
        .map(|l| match l.conditions.as_slice() {
            [(field, value)] => lookup_values(field, value).len(),
            _ => 0,
        })
        .sum();
    let mut index = Index::default();
    if st.match_job.is_none() && in_values <= MAX_IN_VALUES {
        run.reserve(1).await?;
        let pre = crate::push::prefetch::prefetch_with_keys(run.client, &lookups, &[]).await?;
        for row in pre.all_rows() {
            index.add(&wanted, row);
        }
    } else {
        let fields: BTreeSet<String> = wanted.iter().map(|(f, _)| f.clone()).collect();
        if !by_query_job(run, st, &plans.sf_object, &fields, &wanted, &mut index).await? {
            return Ok(None);
        }
    }
    Ok(Some(decide(plans, &index)))
}

/// Reads `Id` and `fields` of every record of `object` with one query job; false when the
/// run's time ran out before the job finished.
async fn by_query_job(
    run: &mut Run<'_>,
    st: &mut ImportState,
    object: &str,
    fields: &BTreeSet<String>,
    wanted: &BTreeSet<(String, String)>,
    index: &mut Index,
) -> Result<bool, ServiceError> {
    let (app, conn, client) = (run.app, run.conn, run.client);
    let job = match st.match_job.clone() {
        Some(job) => job,
        None => {
            let describe = client.describe(object).await?;
            let soql = SoqlBuilder::new(&describe)
                .select(std::iter::once("Id").chain(fields.iter().map(String::as_str)))
                .build()
                .map_err(SfError::from)?;
            run.reserve(1).await?;
            let info = client.bulk_query_create(&soql, QueryScope::Live).await?;
            st.match_job = Some(info.id.clone());
            st.updated_at = app.now();
            state::save(app, conn, st).await?;
            info.id
        }
    };
    let mut n = 0;
    let info = loop {
        run.reserve(1).await?;
        let info = client.bulk_query_info(&job).await?;
        if info.state.is_final() {
            break info;
        }
        n += 1;
        let delay = run.backoff.delay(n);
        if !PollBackoff::fits(delay, Some(run.deadline)) {
            return Ok(false);
        }
        tokio::time::sleep(delay).await;
    };
    if info.state != JobState::JobComplete {
        // Send the import again to start another.
        st.match_job = None;
        state::save(app, conn, st).await?;
        return Err(ServiceError::Internal(format!(
            "import {}: the matching query job {job} ended {:?}: {}",
            st.id,
            info.state,
            info.error_message.unwrap_or_default()
        )));
    }
    let mut locator: Option<String> = None;
    loop {
        run.reserve(1).await?;
        let set = client
            .bulk_query_results(&job, locator.as_deref(), app.settings.bulk_set_records)
            .await?;
        for row in &set.rows {
            let record: Map<String, Value> = set
                .columns
                .iter()
                .zip(row.iter())
                .filter(|(_, v)| !v.is_empty())
                .map(|(c, v)| (c.clone(), Value::String(v.to_string())))
                .collect();
            index.add(wanted, &record);
        }
        match set.next_locator {
            Some(next) => locator = Some(next),
            None => return Ok(true),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crmsync_core::outbound::WriteStep;

    fn step(email: &str, phone: Option<&str>, create: bool) -> WriteStep {
        let key = |step, field: &str, value: &str| {
            (
                step,
                Lookup {
                    object: "Lead".into(),
                    conditions: vec![(field.into(), value.into())],
                    fields: vec!["Id".into()],
                },
            )
        };
        let mut keys = vec![key(MatchStep::Email, "Email", email)];
        if let Some(p) = phone {
            keys.push(key(MatchStep::Phone, "Phone", p));
        }
        WriteStep {
            key: "lead".into(),
            object: "Lead".into(),
            op: WriteOp::MatchThenWrite {
                matcher: Matcher::Keys { keys },
                create,
            },
            fields: Default::default(),
            references: Default::default(),
            link: None,
        }
    }

    fn row(id: &str, email: &str, phone: &str) -> Map<String, Value> {
        serde_json::from_value(serde_json::json!({"Id": id, "Email": email, "Phone": phone}))
            .expect("row")
    }

    #[test]
    fn records_match_like_the_push_and_ambiguity_is_reported() {
        let plans = Plans {
            sf_object: "Lead".into(),
            planned: vec![
                ("one".into(), step("Ann@X.example", None, true)),
                ("two".into(), step("dup@x.example", None, true)),
                // Its email is ambiguous; its phone finds one record: the phone decides.
                (
                    "three".into(),
                    step("dup@x.example", Some("+1 (555) 010-0100"), true),
                ),
                ("new".into(), step("new@x.example", None, true)),
                ("closed".into(), step("none@x.example", None, false)),
            ],
            ..Plans::default()
        };
        let wanted = wanted(&plans);
        let mut index = Index::default();
        for r in [
            row("00Q000000000001", "ann@x.example", ""),
            row("00Q000000000002", "DUP@x.example", ""),
            row("00Q000000000003", "dup@x.example", ""),
            row("00Q000000000004", "other@x.example", "555.010.0100"),
            row("00Q000000000005", "unwanted@x.example", "999"),
        ] {
            index.add(&wanted, &r);
        }
        // Values nobody looks up are not kept.
        assert_eq!(index.0.len(), 3, "{index:?}");
        let m = decide(&plans, &index);
        assert_eq!(
            m.matched.get("one").map(String::as_str),
            Some(crmsync_core::sfid::canonical("00Q000000000001").as_str())
        );
        assert_eq!(
            m.matched.get("three").map(String::as_str),
            Some(crmsync_core::sfid::canonical("00Q000000000004").as_str())
        );
        assert!(!m.matched.contains_key("new"));
        let codes: Vec<(&str, &str)> = m
            .refused
            .iter()
            .map(|f| (f.app_id.as_str(), f.code.as_str()))
            .collect();
        assert_eq!(codes, [("two", "AMBIGUOUS_MATCH"), ("closed", "NO_MATCH")]);
        assert!(
            m.refused[0].reason.contains("Email matches"),
            "{:?}",
            m.refused
        );
    }
}
