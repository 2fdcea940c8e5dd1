//! Records to CSV rows through the push's own mapping: each record becomes a `create`
//! event planned by [`crmsync_core::outbound::plan_outbound`] (field rules, owner mapping,
//! outbound toggles, pre-flight checks), so an import writes what the same records pushed
//! one by one would write. A plan the job cannot carry (more than one step, a reference to
//! another step's record, a value that is no CSV scalar) is reported, not uploaded.

use std::collections::{BTreeMap, BTreeSet};

use crmsync_core::config::SyncConfig;
use crmsync_core::describe::ObjectDescribe;
use crmsync_core::event::AppEvent;
use crmsync_core::outbound::{OutboundContext, OutboundDecision, WriteOp, WriteStep};
use crmsync_core::provision::{KEY_FIELD, record_key};
use crmsync_core::types::{AppObject, EventKind};
use serde_json::Value;
use sha2::{Digest, Sha256};

use super::ImportRecord;
use super::state::{ImportFailure, RowEntry};

/// What the mapping made of an import's records.
#[derive(Debug, Default)]
pub struct Mapped {
    /// The Salesforce object of the uploaded rows (the first planned record's).
    pub sf_object: String,
    pub columns: Vec<String>,
    pub rows: Vec<Vec<String>>,
    pub entries: Vec<RowEntry>,
    pub refused: Vec<ImportFailure>,
}

/// The event a record is planned as.
pub fn event_of(import_id: &str, app_object: AppObject, r: &ImportRecord, now: &str) -> AppEvent {
    AppEvent {
        event_id: format!("import:{import_id}:{}", r.app_id),
        kind: EventKind::Create,
        app_object,
        app_id: r.app_id.clone(),
        occurred_at: r.occurred_at.clone().unwrap_or_else(|| now.to_string()),
        fields: r.fields.clone(),
        sale_items: Vec::new(),
        associated_contacts: Vec::new(),
    }
}

/// What one record's plan gives: its single step, or why it cannot be imported.
fn single_step(decision: OutboundDecision) -> Result<WriteStep, (String, String)> {
    match decision {
        OutboundDecision::Write { plan } => {
            let steps = plan.steps.len();
            let mut steps_iter = plan.steps.into_iter();
            match (steps, steps_iter.next()) {
                (1, Some(step)) if step.references.is_empty() => match step.op {
                    WriteOp::Update { .. } => Err((
                        "ALREADY_LINKED".into(),
                        "the record is linked already; send an update event".into(),
                    )),
                    _ => Ok(step),
                },
                _ => Err((
                    "UNSUPPORTED".into(),
                    format!(
                        "the record plans {steps} linked writes; an import takes single-record writes (push it as an event)"
                    ),
                )),
            }
        }
        OutboundDecision::Skipped { reason } => Err(("SKIPPED".into(), reason)),
        OutboundDecision::Waiting { reason } => Err((
            "NOT_LINKED".into(),
            format!(
                "{reason}; an import cannot wait: push the person (or deal) first, then import it again"
            ),
        )),
        OutboundDecision::NoChange { .. } | OutboundDecision::Superseded { .. } => Err((
            "ALREADY_LINKED".into(),
            "the record is linked already; send an update event".into(),
        )),
        OutboundDecision::Rejected { errors, .. } => Err((
            errors
                .first()
                .map(|e| e.code.as_str().to_string())
                .unwrap_or_else(|| "REJECTED".into()),
            errors
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("; "),
        )),
    }
}

/// A JSON value as CSV text: `#N/A` sets a field to null (the guide's null marker).
fn csv_text(v: &Value) -> Option<String> {
    match v {
        Value::Null => Some("#N/A".into()),
        Value::String(s) if s.is_empty() => Some("#N/A".into()),
        Value::String(s) => Some(s.clone()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Number(n) => Some(n.to_string()),
        Value::Array(_) | Value::Object(_) => None,
    }
}

/// The fingerprint of a row: its values in column order, as the results repeat them.
pub fn fingerprint<'a>(values: impl Iterator<Item = &'a str>) -> String {
    let mut h = Sha256::new();
    for v in values {
        h.update(v.as_bytes());
        h.update([0x1f]);
    }
    hex::encode(&h.finalize()[..12])
}

/// Inputs of [`plan_records`] and [`rows_of`] that the whole import shares.
pub struct MapContext<'a> {
    pub import_id: &'a str,
    pub app_object: AppObject,
    pub config: &'a SyncConfig,
    pub describes: &'a BTreeMap<String, ObjectDescribe>,
    pub owners: &'a BTreeMap<String, String>,
    pub now: chrono::DateTime<chrono::Utc>,
    /// Objects provisioned with `Crmsync_App_Id__c`: their rows carry the key (upsert).
    pub key_objects: &'a [String],
    /// An activity import: the links of the person and deal each record names, by app id.
    pub activity_links: &'a BTreeMap<String, crmsync_core::activity::ActivityLinks>,
}

/// The records planned, before matching.
#[derive(Debug, Default)]
pub struct Plans {
    /// The Salesforce object of the planned records (the first planned record's).
    pub sf_object: String,
    /// (app id, its single write step), in request order.
    pub planned: Vec<(String, WriteStep)>,
    pub refused: Vec<ImportFailure>,
    /// Records already linked: an import creates, an update event updates.
    pub linked: u64,
}

/// The column a matched record's Salesforce Id goes in (the job then upserts by `Id`).
pub const ID_COLUMN: &str = "Id";

/// Plans every unlinked record; `linked` holds the app ids that have links already.
pub fn plan_records(
    ctx: &MapContext<'_>,
    records: &[ImportRecord],
    linked: &BTreeSet<String>,
) -> Plans {
    let mut out = Plans::default();
    let now = ctx.now.to_rfc3339();
    let no_links = BTreeMap::new();
    let base = OutboundContext {
        config: ctx.config,
        links: &no_links,
        describes: ctx.describes,
        owner_directory: ctx.owners,
        now: ctx.now,
        activity: None,
    };
    for r in records {
        if linked.contains(&r.app_id) {
            out.linked += 1;
            continue;
        }
        let event = event_of(ctx.import_id, ctx.app_object, r, &now);
        let refuse = |code: String, reason: String| ImportFailure {
            app_id: r.app_id.clone(),
            code,
            reason,
        };
        if let Err(e) = event.validate() {
            out.refused
                .push(refuse("INVALID_RECORD".into(), e.to_string()));
            continue;
        }
        let octx = OutboundContext {
            activity: ctx.activity_links.get(&r.app_id),
            ..base
        };
        match single_step(crmsync_core::outbound::plan_outbound(&octx, &event)) {
            Ok(step) => {
                if out.sf_object.is_empty() {
                    out.sf_object = step.object.clone();
                }
                if step.object != out.sf_object {
                    out.refused.push(refuse(
                        "MIXED_OBJECTS".into(),
                        format!(
                            "maps to {}, and this import writes {} (one object per import)",
                            step.object, out.sf_object
                        ),
                    ));
                    continue;
                }
                out.planned.push((r.app_id.clone(), step));
            }
            Err((code, _)) if code == "ALREADY_LINKED" => out.linked += 1,
            Err((code, reason)) => out.refused.push(refuse(code, reason)),
        }
    }
    out
}

/// The CSV rows of the planned records; a record in `matched` (app id → Salesforce Id)
/// carries its record's Id, so the job updates it instead of inserting.
pub fn rows_of(ctx: &MapContext<'_>, plans: Plans, matched: &BTreeMap<String, String>) -> Mapped {
    let mut out = Mapped {
        sf_object: plans.sf_object,
        refused: plans.refused,
        ..Mapped::default()
    };
    let planned = plans.planned;
    let keyed = ctx
        .key_objects
        .iter()
        .any(|o| o.eq_ignore_ascii_case(&out.sf_object));
    let mut columns: BTreeSet<String> = planned
        .iter()
        .flat_map(|(_, s)| s.fields.keys().cloned())
        .collect();
    if keyed {
        columns.insert(KEY_FIELD.to_string());
    }
    if !matched.is_empty() {
        columns.insert(ID_COLUMN.to_string());
    }
    out.columns = columns.into_iter().collect();
    'records: for (app_id, step) in planned {
        let mut row = Vec::with_capacity(out.columns.len());
        let sf_id = matched.get(&app_id).cloned();
        for c in &out.columns {
            if keyed && c == KEY_FIELD {
                row.push(record_key(ctx.app_object.as_str(), &app_id));
                continue;
            }
            if c == ID_COLUMN && !matched.is_empty() {
                row.push(sf_id.clone().unwrap_or_default());
                continue;
            }
            match step.fields.get(c) {
                None => row.push(String::new()),
                Some(v) => match csv_text(v) {
                    Some(t) => row.push(t),
                    None => {
                        out.refused.push(ImportFailure {
                            app_id,
                            code: "UNSUPPORTED_VALUE".into(),
                            reason: format!("{c}: a list or object is no CSV value"),
                        });
                        continue 'records;
                    }
                },
            }
        }
        let Some(link) = step.link else {
            out.refused.push(ImportFailure {
                app_id,
                code: "UNSUPPORTED".into(),
                reason: "the mapping links no app record to this write".into(),
            });
            continue;
        };
        out.entries.push(RowEntry {
            fingerprint: row_fingerprint(&out.columns, |i| row[i].as_str()),
            link,
            sf_id,
        });
        out.rows.push(row);
    }
    out
}

/// A row's fingerprint: its values but the `Id` column (a results row may show the new
/// record's Id there; a matched row is found by its Id instead).
pub fn row_fingerprint<'a>(columns: &[String], value: impl Fn(usize) -> &'a str) -> String {
    fingerprint(
        columns
            .iter()
            .enumerate()
            .filter(|(_, c)| c.as_str() != ID_COLUMN)
            .map(|(i, _)| value(i)),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn csv_text_marks_nulls_and_refuses_structures() {
        assert_eq!(csv_text(&json!(null)).as_deref(), Some("#N/A"));
        assert_eq!(csv_text(&json!("")).as_deref(), Some("#N/A"));
        assert_eq!(csv_text(&json!(true)).as_deref(), Some("true"));
        assert_eq!(csv_text(&json!(12.5)).as_deref(), Some("12.5"));
        assert_eq!(csv_text(&json!(["a"])), None);
    }

    #[test]
    fn fingerprints_separate_values() {
        let a = fingerprint(["ab", "c"].into_iter());
        let b = fingerprint(["a", "bc"].into_iter());
        assert_ne!(a, b);
        assert_eq!(a, fingerprint(["ab", "c"].into_iter()));
    }
}
