//! Value transforms between the app's JSON values and Salesforce's wire values:
//! type coercion, date/datetime formats, multi-select lists and value maps.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, NaiveDateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Number, Value};

/// Salesforce's datetime wire format, e.g. `2026-11-21T07:57:32.000+0000`.
pub const SF_DATETIME_FORMAT: &str = "%Y-%m-%dT%H:%M:%S%.3f+0000";
/// Salesforce's date wire format, e.g. `2026-11-21`.
pub const SF_DATE_FORMAT: &str = "%Y-%m-%d";

/// The type a mapped field's values have; decides coercion both ways.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize, utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum FieldKind {
    #[default]
    String,
    Number,
    Boolean,
    Date,
    Datetime,
    /// App: JSON array of strings; Salesforce: `a;b`.
    MultiSelect,
    /// A single-select dropdown (string on both sides).
    Picklist,
}

/// A value that cannot be coerced to the mapping's type.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("cannot convert {found} to {expected:?}")]
pub struct TransformError {
    pub expected: FieldKind,
    pub found: String,
}

fn err(expected: FieldKind, v: &Value) -> TransformError {
    let found = match v {
        Value::Null => "null".to_string(),
        Value::Bool(_) => "a boolean".to_string(),
        Value::Number(_) => "a number".to_string(),
        Value::String(s) => {
            let shown: String = s.chars().take(40).collect();
            format!("string {shown:?}")
        }
        Value::Array(_) => "an array".to_string(),
        Value::Object(_) => "an object".to_string(),
    };
    TransformError { expected, found }
}

/// Picklist/stage value translation, both directions. Values without an entry pass through.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ValueMap {
    /// app value → Salesforce value
    #[serde(default)]
    pub to_salesforce: BTreeMap<String, String>,
    /// Salesforce value → app value
    #[serde(default)]
    pub to_app: BTreeMap<String, String>,
}

impl ValueMap {
    /// A map whose inbound direction is the inverse of `pairs` (app, salesforce).
    pub fn both_ways<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> Self {
        let mut m = ValueMap::default();
        for (app, sf) in pairs {
            m.to_salesforce.insert(app.to_string(), sf.to_string());
            m.to_app
                .entry(sf.to_string())
                .or_insert_with(|| app.to_string());
        }
        m
    }

    fn map(table: &BTreeMap<String, String>, v: Value) -> Value {
        match v {
            Value::String(s) => Value::String(table.get(&s).cloned().unwrap_or(s)),
            Value::Array(items) => {
                Value::Array(items.into_iter().map(|i| Self::map(table, i)).collect())
            }
            other => other,
        }
    }

    /// Map an app value (string or list of strings) to Salesforce.
    pub fn apply_to_salesforce(&self, v: Value) -> Value {
        Self::map(&self.to_salesforce, v)
    }

    /// Map a Salesforce value (string or list of strings) to the app.
    pub fn apply_to_app(&self, v: Value) -> Value {
        Self::map(&self.to_app, v)
    }
}

/// Parse a datetime in Salesforce's format, RFC 3339, or without offset (taken as UTC).
pub fn parse_datetime(s: &str) -> Option<DateTime<Utc>> {
    let s = s.trim();
    if let Ok(d) = DateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.f%z") {
        return Some(d.with_timezone(&Utc));
    }
    if let Ok(d) = DateTime::parse_from_rfc3339(s) {
        return Some(d.with_timezone(&Utc));
    }
    NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.f")
        .ok()
        .map(|n| n.and_utc())
}

/// Format a datetime the way Salesforce writes it.
pub fn format_sf_datetime(d: &DateTime<Utc>) -> String {
    d.format(SF_DATETIME_FORMAT).to_string()
}

/// A date from `YYYY-MM-DD` or from the local date part of a datetime.
pub fn parse_date(s: &str) -> Option<NaiveDate> {
    let s = s.trim();
    if let Ok(d) = NaiveDate::parse_from_str(s, SF_DATE_FORMAT) {
        return Some(d);
    }
    if let Ok(d) = DateTime::parse_from_rfc3339(s) {
        return Some(d.date_naive());
    }
    if let Ok(d) = DateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.f%z") {
        return Some(d.date_naive());
    }
    None
}

fn number_from_f64(f: f64) -> Option<Number> {
    if f.is_finite() && f.fract() == 0.0 && f.abs() < 9.0e15 {
        Some(Number::from(f as i64))
    } else {
        Number::from_f64(f)
    }
}

fn to_number(kind: FieldKind, v: &Value) -> Result<Value, TransformError> {
    match v {
        Value::Number(n) if n.is_f64() => Ok(Value::Number(
            n.as_f64()
                .and_then(number_from_f64)
                .unwrap_or_else(|| n.clone()),
        )),
        Value::Number(n) => Ok(Value::Number(n.clone())),
        Value::String(s) => {
            let t = s.trim().replace(',', "");
            if t.is_empty() {
                return Ok(Value::Null);
            }
            t.parse::<f64>()
                .ok()
                .and_then(number_from_f64)
                .map(Value::Number)
                .ok_or_else(|| err(kind, v))
        }
        _ => Err(err(kind, v)),
    }
}

fn to_bool(kind: FieldKind, v: &Value) -> Result<Value, TransformError> {
    match v {
        Value::Bool(b) => Ok(Value::Bool(*b)),
        Value::Number(n) if n.as_f64() == Some(0.0) => Ok(Value::Bool(false)),
        Value::Number(n) if n.as_f64() == Some(1.0) => Ok(Value::Bool(true)),
        Value::String(s) => match s.trim().to_ascii_lowercase().as_str() {
            "true" | "yes" | "1" => Ok(Value::Bool(true)),
            "false" | "no" | "0" => Ok(Value::Bool(false)),
            "" => Ok(Value::Null),
            _ => Err(err(kind, v)),
        },
        _ => Err(err(kind, v)),
    }
}

fn scalar_string(kind: FieldKind, v: &Value) -> Result<Value, TransformError> {
    match v {
        Value::String(s) => Ok(Value::String(s.clone())),
        Value::Number(n) => Ok(Value::String(n.to_string())),
        Value::Bool(b) => Ok(Value::String(b.to_string())),
        _ => Err(err(kind, v)),
    }
}

fn multi_parts(kind: FieldKind, v: &Value) -> Result<Vec<String>, TransformError> {
    match v {
        Value::String(s) => Ok(s
            .split(';')
            .map(str::trim)
            .filter(|p| !p.is_empty())
            .map(str::to_string)
            .collect()),
        Value::Array(items) => items
            .iter()
            .map(|i| match i {
                Value::String(s) => Ok(s.trim().to_string()),
                Value::Number(n) => Ok(n.to_string()),
                _ => Err(err(kind, v)),
            })
            .filter(|p| !matches!(p, Ok(s) if s.is_empty()))
            .collect(),
        _ => Err(err(kind, v)),
    }
}

/// Coerce an app value into the Salesforce wire value for `kind`. Null stays null.
pub fn to_salesforce(kind: FieldKind, v: &Value) -> Result<Value, TransformError> {
    if v.is_null() {
        return Ok(Value::Null);
    }
    match kind {
        FieldKind::String | FieldKind::Picklist => scalar_string(kind, v),
        FieldKind::Number => to_number(kind, v),
        FieldKind::Boolean => to_bool(kind, v),
        FieldKind::Date => match v {
            Value::String(s) if s.trim().is_empty() => Ok(Value::Null),
            Value::String(s) => parse_date(s)
                .map(|d| Value::String(d.format(SF_DATE_FORMAT).to_string()))
                .ok_or_else(|| err(kind, v)),
            _ => Err(err(kind, v)),
        },
        FieldKind::Datetime => match v {
            Value::String(s) if s.trim().is_empty() => Ok(Value::Null),
            Value::String(s) => parse_datetime(s)
                .map(|d| Value::String(format_sf_datetime(&d)))
                .ok_or_else(|| err(kind, v)),
            _ => Err(err(kind, v)),
        },
        FieldKind::MultiSelect => {
            let parts = multi_parts(kind, v)?;
            Ok(if parts.is_empty() {
                Value::Null
            } else {
                Value::String(parts.join(";"))
            })
        }
    }
}

/// Like [`to_app`], taking the value by value so text is moved rather than copied.
pub fn to_app_owned(kind: FieldKind, v: Value) -> Result<Value, TransformError> {
    match (kind, v) {
        (FieldKind::String | FieldKind::Picklist, Value::String(s)) => Ok(Value::String(s)),
        (_, v) => to_app(kind, &v),
    }
}

/// Coerce a Salesforce wire value into the app value for `kind`. Null stays null.
pub fn to_app(kind: FieldKind, v: &Value) -> Result<Value, TransformError> {
    if v.is_null() {
        return Ok(Value::Null);
    }
    match kind {
        FieldKind::String | FieldKind::Picklist => scalar_string(kind, v),
        FieldKind::Number => to_number(kind, v),
        FieldKind::Boolean => to_bool(kind, v),
        FieldKind::Date => to_salesforce(kind, v),
        FieldKind::Datetime => match v {
            Value::String(s) if s.trim().is_empty() => Ok(Value::Null),
            Value::String(s) => parse_datetime(s)
                .map(|d| Value::String(d.to_rfc3339_opts(SecondsFormat::Millis, true)))
                .ok_or_else(|| err(kind, v)),
            _ => Err(err(kind, v)),
        },
        FieldKind::MultiSelect => {
            let parts = multi_parts(kind, v)?;
            Ok(if parts.is_empty() {
                Value::Null
            } else {
                Value::Array(parts.into_iter().map(Value::String).collect())
            })
        }
    }
}

/// Canonical form of a Salesforce-side value, so equal meanings hash equally:
/// blanks are null, strings trimmed, numbers minimal, datetimes UTC, multi-selects sorted.
pub fn normalize(kind: FieldKind, v: &Value) -> Value {
    if crate::types::is_blank(v) {
        return Value::Null;
    }
    let coerced = to_salesforce(kind, v).unwrap_or_else(|_| v.clone());
    match (kind, coerced) {
        (_, Value::String(s)) if s.trim().is_empty() => Value::Null,
        (FieldKind::MultiSelect, Value::String(s)) => {
            let mut parts: Vec<&str> = s.split(';').map(str::trim).collect();
            parts.sort_unstable();
            parts.dedup();
            Value::String(parts.join(";"))
        }
        (_, Value::String(s)) => Value::String(s.trim().to_string()),
        (_, Value::Number(n)) => n
            .as_f64()
            .and_then(number_from_f64)
            .map(Value::Number)
            .unwrap_or(Value::Number(n)),
        (_, other) => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn datetime_round_trips_salesforce_format() {
        let sf = json!("2026-11-21T07:57:32.000+0000");
        let app = to_app(FieldKind::Datetime, &sf).unwrap();
        assert_eq!(app, json!("2026-11-21T07:57:32.000Z"));
        assert_eq!(to_salesforce(FieldKind::Datetime, &app).unwrap(), sf);
        let offset = json!("2026-11-21T09:57:32+02:00");
        assert_eq!(to_salesforce(FieldKind::Datetime, &offset).unwrap(), sf);
    }

    #[test]
    fn date_from_datetime_and_plain() {
        assert_eq!(
            to_salesforce(FieldKind::Date, &json!("2026-11-21T07:57:32Z")).unwrap(),
            json!("2026-11-21")
        );
        assert_eq!(
            to_salesforce(FieldKind::Date, &json!("2026-11-21")).unwrap(),
            json!("2026-11-21")
        );
        assert!(to_salesforce(FieldKind::Date, &json!("21/11/2026")).is_err());
    }

    #[test]
    fn multiselect_both_ways() {
        assert_eq!(
            to_salesforce(FieldKind::MultiSelect, &json!(["a", "b"])).unwrap(),
            json!("a;b")
        );
        assert_eq!(
            to_app(FieldKind::MultiSelect, &json!("a; b")).unwrap(),
            json!(["a", "b"])
        );
        assert_eq!(
            to_app(FieldKind::MultiSelect, &json!("")).unwrap(),
            Value::Null
        );
    }

    #[test]
    fn numbers_and_booleans_coerce() {
        assert_eq!(
            to_salesforce(FieldKind::Number, &json!("1,200.50")).unwrap(),
            json!(1200.5)
        );
        assert_eq!(
            to_salesforce(FieldKind::Number, &json!("12")).unwrap(),
            json!(12)
        );
        assert!(to_salesforce(FieldKind::Number, &json!("twelve")).is_err());
        assert_eq!(
            to_salesforce(FieldKind::Boolean, &json!("yes")).unwrap(),
            json!(true)
        );
        assert!(to_salesforce(FieldKind::Boolean, &json!([1])).is_err());
        assert_eq!(
            to_salesforce(FieldKind::String, &json!(5)).unwrap(),
            json!("5")
        );
        assert!(to_salesforce(FieldKind::String, &json!({"a": 1})).is_err());
    }

    #[test]
    fn value_map_passes_unknown_values_through() {
        let m = ValueMap::both_ways([("won", "Closed Won"), ("demo", "Qualification")]);
        assert_eq!(m.apply_to_salesforce(json!("won")), json!("Closed Won"));
        assert_eq!(m.apply_to_app(json!("Closed Won")), json!("won"));
        assert_eq!(m.apply_to_app(json!("Other")), json!("Other"));
    }

    #[test]
    fn normalize_equates_equivalent_values() {
        assert_eq!(
            normalize(FieldKind::Number, &json!(100.0)),
            normalize(FieldKind::Number, &json!(100))
        );
        assert_eq!(normalize(FieldKind::String, &json!("")), Value::Null);
        assert_eq!(
            normalize(FieldKind::MultiSelect, &json!("b;a")),
            normalize(FieldKind::MultiSelect, &json!(["a", "b"]))
        );
        assert_eq!(
            normalize(FieldKind::Datetime, &json!("2026-11-21T07:57:32Z")),
            normalize(FieldKind::Datetime, &json!("2026-11-21T07:57:32.000+0000"))
        );
    }
}
