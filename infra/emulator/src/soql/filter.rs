//! WHERE clauses: literal type checks (Salesforce's `INVALID_FIELD` messages), planning
//! against resolved paths, and matching records (SOQL string comparisons ignore case).

use super::SoqlError;
use super::ast::*;
use super::resolve::{Resolved, resolve, value_of};
use crate::clock::parse_datetime;
use crate::schema::{FieldDef, FieldType, ObjectDef};
use crate::state::Org;
use crate::store::Record;
use chrono::{DateTime, Utc};
use serde_json::Value;
use std::cmp::Ordering;

pub(super) fn type_mismatch(pos: usize, f: &FieldDef, quoted: bool) -> SoqlError {
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

pub(super) fn check_literal(f: &FieldDef, lit: &Literal, pos: usize) -> Result<(), SoqlError> {
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

pub(super) fn is_id(t: FieldType) -> bool {
    matches!(t, FieldType::Id | FieldType::Reference)
}

/// Compares a stored value with a literal of a checked type; `None` when either is null.
pub(super) fn compare(f: &FieldDef, v: &Value, lit: &Literal) -> Option<Ordering> {
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

pub(super) fn like(pattern: &str, s: &str) -> bool {
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
pub(super) enum Cond {
    And(Box<Cond>, Box<Cond>),
    Or(Box<Cond>, Box<Cond>),
    Not(Box<Cond>),
    Cmp(Resolved, CmpOp, Literal),
    In(Resolved, bool, Vec<Literal>),
    Like(Resolved, String),
    /// `INCLUDES` (or `EXCLUDES` when negated) on a multi-select picklist.
    Includes(Resolved, bool, Vec<String>),
    /// A relative date literal resolved to the half-open range `[start, end)`.
    Range(Resolved, CmpOp, DateTime<Utc>, DateTime<Utc>),
}

/// `[start, end)` of a relative date literal, in UTC days.
pub(super) fn range(r: RelativeDate, now: DateTime<Utc>) -> (DateTime<Utc>, DateTime<Utc>) {
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

pub(super) fn as_instant(f: &FieldDef, v: &Value) -> Option<DateTime<Utc>> {
    let s = v.as_str()?;
    match f.ftype {
        FieldType::Date => chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d")
            .ok()?
            .and_hms_opt(0, 0, 0)
            .map(|d| d.and_utc()),
        _ => parse_datetime(s),
    }
}

pub(super) fn plan(
    org: &Org,
    def: &ObjectDef,
    e: &Expr,
    now: DateTime<Utc>,
) -> Result<Cond, SoqlError> {
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
        Expr::Includes {
            path,
            negated,
            values,
            value_pos,
        } => {
            let r = resolve(org, def, path)?;
            if r.field.ftype != FieldType::Multipicklist {
                return Err(SoqlError {
                    code: "INVALID_FIELD",
                    pos: *value_pos,
                    message: format!(
                        "includes or excludes operator only valid on multipicklist field: {}",
                        r.field.name
                    ),
                });
            }
            Cond::Includes(r, *negated, values.clone())
        }
    })
}

/// Multi-select values: `'a;b'` needs both a and b; several strings mean any of them.
fn includes(stored: &str, wanted: &[String]) -> bool {
    let have: Vec<String> = stored.split(';').map(|v| v.trim().to_lowercase()).collect();
    wanted.iter().any(|w| {
        w.split(';')
            .map(|v| v.trim().to_lowercase())
            .all(|v| have.contains(&v))
    })
}

pub(super) fn matches(org: &Org, rec: &Record, c: &Cond) -> bool {
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
        Cond::Includes(r, negated, wanted) => {
            let hit = value_of(org, rec, r)
                .as_str()
                .is_some_and(|s| includes(s, wanted));
            hit != *negated
        }
        Cond::Like(r, pat) => match value_of(org, rec, r) {
            Value::String(s) => like(pat, s),
            _ => false,
        },
    }
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
