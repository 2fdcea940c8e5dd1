//! Runs a parsed query against an org: field resolution and type checks (Salesforce's
//! `INVALID_TYPE` / `INVALID_FIELD` errors), filtering, ordering, paging and projection.

use super::SoqlError;
use super::ast::*;
use crate::clock::parse_datetime;
use crate::schema::{FieldDef, FieldType, ObjectDef};
use crate::state::Org;
use crate::store::Record;
use chrono::{DateTime, Utc};
use serde_json::{Map, Value, json};
use std::cmp::Ordering;

/// A field path resolved against the schema.
#[derive(Debug, Clone)]
struct Resolved {
    /// Relationship hops: (reference field on the current object, relationship name, targets).
    hops: Vec<(String, String, Vec<String>)>,
    field: FieldDef,
}

pub struct QueryOutput {
    pub total: usize,
    pub records: Vec<Value>,
}

fn invalid_field(pos: usize, name: &str, obj: &str) -> SoqlError {
    SoqlError {
        code: "INVALID_FIELD",
        pos,
        message: format!(
            "No such column '{name}' on entity '{obj}'. If you are attempting to use a custom field, be sure to append the '__c' after the custom field name. Please reference your WSDL or the describe call for the appropriate names."
        ),
    }
}

fn resolve(org: &Org, root: &ObjectDef, path: &Path) -> Result<Resolved, SoqlError> {
    let mut obj = root.clone();
    let mut hops = Vec::new();
    let (last, rels) = path
        .parts
        .split_last()
        .ok_or_else(|| SoqlError::malformed(path.pos, "empty field"))?;
    for rel in rels {
        let f = obj.relationship(rel).ok_or_else(|| SoqlError {
            code: "INVALID_FIELD",
            pos: path.pos,
            message: format!(
                "Didn't understand relationship '{rel}' in field path. If you are attempting to use a custom relationship, be sure to append the '__r' after the custom relationship name. Please reference your WSDL or the describe call for the appropriate names."
            ),
        })?;
        let targets = f.reference_to.clone();
        hops.push((
            f.name.clone(),
            f.relationship_name.clone().unwrap_or_default(),
            targets.clone(),
        ));
        // Polymorphic lookups: resolve against the first target that has the next field.
        let next = targets
            .iter()
            .filter_map(|t| org.object(t))
            .find(|o| o.field(last).is_some() || rels.len() > hops.len())
            .or_else(|| targets.first().and_then(|t| org.object(t)))
            .cloned()
            .ok_or_else(|| invalid_field(path.pos, rel, &obj.name))?;
        obj = next;
    }
    let field = obj
        .field(last)
        .cloned()
        .ok_or_else(|| invalid_field(path.pos, &path.dotted(), &root.name))?;
    Ok(Resolved { hops, field })
}

fn parent<'a>(
    org: &'a Org,
    rec: &'a Record,
    hop: &(String, String, Vec<String>),
) -> Option<&'a Record> {
    let id = rec.get(&hop.0).as_str()?;
    hop.2.iter().find_map(|t| org.store.get(t, id))
}

fn value_of<'a>(org: &'a Org, rec: &'a Record, r: &Resolved) -> &'a Value {
    let mut cur = rec;
    for hop in &r.hops {
        match parent(org, cur, hop) {
            Some(p) => cur = p,
            None => return &Value::Null,
        }
    }
    cur.get(&r.field.name)
}

fn type_mismatch(pos: usize, f: &FieldDef, quoted: bool) -> SoqlError {
    let ty = match f.ftype {
        FieldType::Datetime => "dateTime",
        FieldType::Date => "date",
        FieldType::Boolean => "boolean",
        t if t.is_numeric() => "double",
        _ => "string",
    };
    let hint = if quoted {
        "should not be enclosed in quotes"
    } else {
        "should be enclosed in quotes"
    };
    SoqlError {
        code: "INVALID_FIELD",
        pos,
        message: format!(
            "value of filter criterion for field '{}' must be of type {ty} and {hint}",
            f.name
        ),
    }
}

fn check_literal(f: &FieldDef, lit: &Literal, pos: usize) -> Result<(), SoqlError> {
    let ok = match (f.ftype, lit) {
        (_, Literal::Null) => true,
        (FieldType::Datetime, Literal::DateTime(_)) => true,
        (FieldType::Date, Literal::Date(_)) => true,
        (FieldType::Date | FieldType::Datetime, Literal::Relative(_)) => true,
        (FieldType::Boolean, Literal::Bool(_)) => true,
        (t, Literal::Number(_)) if t.is_numeric() => true,
        (t, Literal::String(_)) if t.is_text() => true,
        _ => false,
    };
    if ok {
        Ok(())
    } else {
        Err(type_mismatch(pos, f, matches!(lit, Literal::String(_))))
    }
}

fn is_id(t: FieldType) -> bool {
    matches!(t, FieldType::Id | FieldType::Reference)
}

/// Compares a stored value with a literal of a checked type; `None` when either is null.
fn compare(f: &FieldDef, v: &Value, lit: &Literal) -> Option<Ordering> {
    match (v, lit) {
        (Value::Null, _) | (_, Literal::Null) => None,
        (Value::String(s), Literal::String(l)) if is_id(f.ftype) => {
            let l = if l.len() == 15 {
                crate::ids::normalize(l).unwrap_or_else(|| l.clone())
            } else {
                l.clone()
            };
            Some(s.as_str().cmp(l.as_str()))
        }
        (Value::String(s), Literal::String(l)) => Some(s.to_lowercase().cmp(&l.to_lowercase())),
        (Value::Number(n), Literal::Number(l)) => n.as_f64()?.partial_cmp(l),
        (Value::Bool(b), Literal::Bool(l)) => Some(b.cmp(l)),
        (Value::String(s), Literal::Date(d)) => {
            Some(s.as_str().cmp(d.format("%Y-%m-%d").to_string().as_str()))
        }
        (Value::String(s), Literal::DateTime(t)) => Some(parse_datetime(s)?.cmp(t)),
        _ => None,
    }
}

fn like(pattern: &str, s: &str) -> bool {
    // Tokens: Some(c) literal char, None = '%', Some('\0') never used; '_' handled apart.
    #[derive(Clone, Copy, PartialEq)]
    enum P {
        Lit(char),
        One,
        Any,
    }
    let mut pat = Vec::new();
    let mut chars = pattern.chars();
    while let Some(c) = chars.next() {
        pat.push(match c {
            '\\' => P::Lit(chars.next().unwrap_or('\\')),
            '%' => P::Any,
            '_' => P::One,
            c => P::Lit(c),
        });
    }
    let s: Vec<char> = s.to_lowercase().chars().collect();
    // dp[j] = pattern[..i] matches s[..j]
    let mut dp = vec![false; s.len() + 1];
    dp[0] = true;
    for p in &pat {
        let mut next = vec![false; s.len() + 1];
        for j in 0..=s.len() {
            next[j] = match p {
                P::Any => dp[j] || (j > 0 && next[j - 1]),
                P::One => j > 0 && dp[j - 1],
                P::Lit(c) => j > 0 && dp[j - 1] && c.to_lowercase().eq(std::iter::once(s[j - 1])),
            };
        }
        dp = next;
    }
    dp[s.len()]
}

/// A WHERE clause with resolved paths.
enum Cond {
    And(Box<Cond>, Box<Cond>),
    Or(Box<Cond>, Box<Cond>),
    Not(Box<Cond>),
    Cmp(Resolved, CmpOp, Literal),
    In(Resolved, bool, Vec<Literal>),
    Like(Resolved, String),
    /// A relative date literal resolved to the half-open range `[start, end)`.
    Range(Resolved, CmpOp, DateTime<Utc>, DateTime<Utc>),
}

/// `[start, end)` of a relative date literal, in UTC days.
fn range(r: RelativeDate, now: DateTime<Utc>) -> (DateTime<Utc>, DateTime<Utc>) {
    let today = now
        .date_naive()
        .and_hms_opt(0, 0, 0)
        .map_or(now, |d| d.and_utc());
    let day = chrono::Duration::days(1);
    // A century covers any real query and keeps the arithmetic far from overflow.
    let days = |n: i64| day * n.clamp(0, 36_500) as i32;
    match r {
        RelativeDate::Today => (today, today + day),
        RelativeDate::Yesterday => (today - day, today),
        RelativeDate::Tomorrow => (today + day, today + day * 2),
        RelativeDate::LastNDays(n) => (today - days(n), today + day),
        RelativeDate::NextNDays(n) => (today + day, today + day + days(n)),
    }
}

fn as_instant(f: &FieldDef, v: &Value) -> Option<DateTime<Utc>> {
    let s = v.as_str()?;
    match f.ftype {
        FieldType::Date => chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d")
            .ok()?
            .and_hms_opt(0, 0, 0)
            .map(|d| d.and_utc()),
        _ => parse_datetime(s),
    }
}

fn plan(org: &Org, def: &ObjectDef, e: &Expr, now: DateTime<Utc>) -> Result<Cond, SoqlError> {
    let sub = |x: &Expr| plan(org, def, x, now).map(Box::new);
    Ok(match e {
        Expr::And(a, b) => Cond::And(sub(a)?, sub(b)?),
        Expr::Or(a, b) => Cond::Or(sub(a)?, sub(b)?),
        Expr::Not(a) => Cond::Not(sub(a)?),
        Expr::Cmp {
            path,
            op,
            value,
            value_pos,
        } => {
            let r = resolve(org, def, path)?;
            check_literal(&r.field, value, *value_pos)?;
            match value {
                Literal::Relative(rel) => {
                    let (start, end) = range(*rel, now);
                    Cond::Range(r, *op, start, end)
                }
                _ => Cond::Cmp(r, *op, value.clone()),
            }
        }
        Expr::In {
            path,
            negated,
            values,
            value_pos,
        } => {
            let r = resolve(org, def, path)?;
            for v in values {
                check_literal(&r.field, v, *value_pos)?;
                if matches!(v, Literal::Relative(_)) {
                    return Err(SoqlError::malformed(
                        *value_pos,
                        "relative date literals are not supported in IN lists",
                    ));
                }
            }
            Cond::In(r, *negated, values.clone())
        }
        Expr::Like {
            path,
            pattern,
            value_pos,
        } => {
            let r = resolve(org, def, path)?;
            if !r.field.ftype.is_text() {
                return Err(SoqlError {
                    code: "INVALID_FIELD",
                    pos: *value_pos,
                    message: format!("invalid operator on {} field: LIKE", r.field.ftype.as_str()),
                });
            }
            Cond::Like(r, pattern.clone())
        }
    })
}

fn matches(org: &Org, rec: &Record, c: &Cond) -> bool {
    match c {
        Cond::And(a, b) => matches(org, rec, a) && matches(org, rec, b),
        Cond::Or(a, b) => matches(org, rec, a) || matches(org, rec, b),
        Cond::Not(a) => !matches(org, rec, a),
        Cond::Cmp(r, op, lit) => {
            let v = value_of(org, rec, r);
            if *lit == Literal::Null {
                return match op {
                    CmpOp::Eq => v.is_null(),
                    CmpOp::Ne => !v.is_null(),
                    _ => false,
                };
            }
            match (op, compare(&r.field, v, lit)) {
                (CmpOp::Ne, None) => true,
                (_, None) => false,
                (CmpOp::Eq, Some(o)) => o == Ordering::Equal,
                (CmpOp::Ne, Some(o)) => o != Ordering::Equal,
                (CmpOp::Lt, Some(o)) => o == Ordering::Less,
                (CmpOp::Le, Some(o)) => o != Ordering::Greater,
                (CmpOp::Gt, Some(o)) => o == Ordering::Greater,
                (CmpOp::Ge, Some(o)) => o != Ordering::Less,
            }
        }
        Cond::In(r, negated, lits) => {
            let v = value_of(org, rec, r);
            let hit = lits.iter().any(|l| {
                if *l == Literal::Null {
                    v.is_null()
                } else {
                    compare(&r.field, v, l) == Some(Ordering::Equal)
                }
            });
            hit != *negated
        }
        Cond::Range(r, op, start, end) => {
            let Some(v) = as_instant(&r.field, value_of(org, rec, r)) else {
                return *op == CmpOp::Ne;
            };
            match op {
                CmpOp::Eq => v >= *start && v < *end,
                CmpOp::Ne => !(v >= *start && v < *end),
                CmpOp::Lt => v < *start,
                CmpOp::Le => v < *end,
                CmpOp::Gt => v >= *end,
                CmpOp::Ge => v >= *start,
            }
        }
        Cond::Like(r, pat) => match value_of(org, rec, r) {
            Value::String(s) => like(pat, s),
            _ => false,
        },
    }
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

pub fn run(
    org: &Org,
    q: &Query,
    include_deleted: bool,
    version: &str,
    now: DateTime<Utc>,
) -> Result<QueryOutput, SoqlError> {
    let def = org.object(&q.object).cloned().ok_or_else(|| SoqlError {
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
    let mut rows: Vec<&Record> = org
        .store
        .records(&def.name)
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

#[cfg(test)]
mod tests {
    use super::like;

    #[test]
    fn like_wildcards() {
        assert!(like("Ac%", "ACME"));
        assert!(like("%me", "acme"));
        assert!(like("a_me", "acme"));
        assert!(!like("a_me", "acmee"));
        assert!(like("100\\%", "100%"));
        assert!(!like("100\\%", "1000"));
    }
}
