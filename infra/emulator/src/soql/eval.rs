//! Runs a parsed query against an org: resolution ([`super::resolve`]), filtering
//! ([`super::filter`]), ordering, OFFSET/LIMIT and projection into Salesforce's JSON records.

use super::SoqlError;
use super::ast::*;
use super::filter::{is_id, matches, plan};
use super::resolve::{Resolved, parent, resolve, value_of};
use crate::clock::parse_datetime;
use crate::schema::{FieldDef, FieldType, ObjectDef};
use crate::state::Org;
use crate::store::Record;
use chrono::{DateTime, Utc};
use serde_json::{Map, Value, json};
use std::cmp::Ordering;

pub struct QueryOutput {
    pub total: usize,
    pub records: Vec<Value>,
}

fn order_values(f: &FieldDef, a: &Value, b: &Value) -> Ordering {
    match (a, b) {
        (Value::String(x), Value::String(y)) => match f.ftype {
            FieldType::Datetime => parse_datetime(x).cmp(&parse_datetime(y)),
            t if is_id(t) || t == FieldType::Date => x.cmp(y),
            _ => x.to_lowercase().cmp(&y.to_lowercase()),
        },
        (Value::Number(x), Value::Number(y)) => x
            .as_f64()
            .partial_cmp(&y.as_f64())
            .unwrap_or(Ordering::Equal),
        (Value::Bool(x), Value::Bool(y)) => x.cmp(y),
        _ => Ordering::Equal,
    }
}

fn record_url(version: &str, object: &str, id: &str) -> String {
    format!("/services/data/{version}/sobjects/{object}/{id}")
}

/// Builds the JSON record for the selected fields, nesting parent relationships.
fn project(
    org: &Org,
    def: &ObjectDef,
    rec: &Record,
    fields: &[(Path, Resolved)],
    version: &str,
) -> Value {
    let mut out = Map::new();
    out.insert(
        "attributes".into(),
        json!({"type": def.name, "url": record_url(version, &def.name, &rec.id)}),
    );
    for (_, r) in fields {
        insert_path(org, rec, r, 0, &mut out, version);
    }
    Value::Object(out)
}

fn insert_path(
    org: &Org,
    rec: &Record,
    r: &Resolved,
    depth: usize,
    out: &mut Map<String, Value>,
    version: &str,
) {
    if depth == r.hops.len() {
        out.insert(r.field.name.clone(), rec.get(&r.field.name).clone());
        return;
    }
    let hop = &r.hops[depth];
    let Some(p) = parent(org, rec, hop) else {
        out.entry(hop.1.clone()).or_insert(Value::Null);
        return;
    };
    let ptype = org
        .object_by_prefix(&p.id)
        .map(|o| o.name.clone())
        .unwrap_or_default();
    let entry = out.entry(hop.1.clone()).or_insert_with(
        || json!({"attributes": {"type": ptype, "url": record_url(version, &ptype, &p.id)}}),
    );
    if let Value::Object(m) = entry {
        insert_path(org, p, r, depth + 1, m, version);
    }
}

/// How `run` finds candidate records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Through the store's equality index when the WHERE clause allows (the default).
    Indexed,
    /// Every record of the object (the reference the index is tested against).
    Scan,
}

pub fn run(
    org: &Org,
    q: &Query,
    include_deleted: bool,
    version: &str,
    now: DateTime<Utc>,
) -> Result<QueryOutput, SoqlError> {
    run_with(org, q, include_deleted, version, now, Access::Indexed)
}

pub fn run_with(
    org: &Org,
    q: &Query,
    include_deleted: bool,
    version: &str,
    now: DateTime<Utc>,
    access: Access,
) -> Result<QueryOutput, SoqlError> {
    let def = org.object(&q.object).cloned().map(|d| crate::permissions::visible(org, d)).ok_or_else(|| SoqlError {
        code: "INVALID_TYPE",
        pos: q.object_pos,
        message: format!(
            "sObject type '{}' is not supported. If you are attempting to use a custom object, be sure to append the '__c' after the entity name. Please reference your WSDL or the describe call for the appropriate names.",
            q.object
        ),
    })?;
    let mut fields = Vec::new();
    for item in &q.select {
        if let SelectItem::Field(p) = item {
            fields.push((p.clone(), resolve(org, &def, p)?));
        }
    }
    let cond = q
        .filter
        .as_ref()
        .map(|e| plan(org, &def, e, now))
        .transpose()?;
    let keys = q
        .order_by
        .iter()
        .map(|k| Ok((resolve(org, &def, &k.path)?, k.desc, k.nulls_last)))
        .collect::<Result<Vec<_>, SoqlError>>()?;
    let indexed = match (&cond, access) {
        (Some(c), Access::Indexed) => super::index::candidates(org, &def, c),
        _ => None,
    };
    let scanned: Box<dyn Iterator<Item = &Record>> = match indexed {
        Some(candidates) => Box::new(candidates.into_iter()),
        None => Box::new(org.store.records(&def.name)),
    };
    let mut rows: Vec<&Record> = scanned
        .filter(|r| include_deleted || !r.deleted)
        .filter(|r| cond.as_ref().is_none_or(|c| matches(org, r, c)))
        .collect();
    rows.sort_by(|a, b| {
        for (r, desc, nulls_last) in &keys {
            let (va, vb) = (value_of(org, a, r), value_of(org, b, r));
            let o = match (va.is_null(), vb.is_null()) {
                (true, true) => Ordering::Equal,
                (true, false) => {
                    if *nulls_last {
                        Ordering::Greater
                    } else {
                        Ordering::Less
                    }
                }
                (false, true) => {
                    if *nulls_last {
                        Ordering::Less
                    } else {
                        Ordering::Greater
                    }
                }
                (false, false) => {
                    let o = order_values(&r.field, va, vb);
                    if *desc { o.reverse() } else { o }
                }
            };
            if o != Ordering::Equal {
                return o;
            }
        }
        Ordering::Equal
    });
    let offset = q.offset.unwrap_or(0);
    let rows: Vec<&Record> = rows
        .into_iter()
        .skip(offset)
        .take(q.limit.unwrap_or(usize::MAX))
        .collect();
    if q.is_count() {
        return Ok(QueryOutput {
            total: rows.len(),
            records: Vec::new(),
        });
    }
    let records = rows
        .iter()
        .map(|r| project(org, &def, r, &fields, version))
        .collect::<Vec<_>>();
    Ok(QueryOutput {
        total: records.len(),
        records,
    })
}
