//! Typed SOQL literals. Salesforce quotes only text: a date, date-time, number or boolean
//! in quotes is refused (`INVALID_FIELD ... should not be enclosed in quotes`), so a value
//! from outside is typed by its field's describe type before it becomes SOQL.

use std::fmt::Write as _;

use chrono::{DateTime, NaiveDate, Utc};
use crmsync_core::sfid;
use serde_json::Value;

use super::{SoqlError, escape_into};
use crate::datetime::format_datetime;
use crate::describe::FieldDescribe;

/// A typed SOQL value.
#[derive(Clone, Debug, PartialEq)]
pub enum Literal {
    String(String),
    Int(i64),
    Decimal(f64),
    Bool(bool),
    Date(NaiveDate),
    DateTime(DateTime<Utc>),
    Null,
}

impl From<&str> for Literal {
    fn from(v: &str) -> Self {
        Literal::String(v.to_string())
    }
}
impl From<String> for Literal {
    fn from(v: String) -> Self {
        Literal::String(v)
    }
}
impl From<i64> for Literal {
    fn from(v: i64) -> Self {
        Literal::Int(v)
    }
}
impl From<bool> for Literal {
    fn from(v: bool) -> Self {
        Literal::Bool(v)
    }
}
impl From<NaiveDate> for Literal {
    fn from(v: NaiveDate) -> Self {
        Literal::Date(v)
    }
}
impl From<DateTime<Utc>> for Literal {
    fn from(v: DateTime<Utc>) -> Self {
        Literal::DateTime(v)
    }
}

impl Literal {
    pub(super) fn render(&self, field: &str, out: &mut String) -> Result<(), SoqlError> {
        match self {
            Literal::String(s) => {
                out.push('\'');
                escape_into(s, false, out);
                out.push('\'');
            }
            Literal::Int(n) => {
                let _ = write!(out, "{n}");
            }
            Literal::Decimal(x) => {
                if !x.is_finite() {
                    return Err(SoqlError::InvalidLiteral {
                        field: field.to_string(),
                        reason: format!("{x} is not a finite number"),
                    });
                }
                let _ = write!(out, "{x}");
            }
            Literal::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            Literal::Date(d) => {
                let _ = write!(out, "{}", d.format("%Y-%m-%d"));
            }
            Literal::DateTime(t) => out.push_str(&format_datetime(t)),
            Literal::Null => out.push_str("null"),
        }
        Ok(())
    }
}

/// How SOQL writes a value of a describe type.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LiteralType {
    /// Quoted and escaped: string, textarea, email, phone, url, picklists.
    Text,
    /// Quoted, and a valid 15- or 18-character id (sent as 18): id and reference fields.
    Id,
    Int,
    Decimal,
    Bool,
    Date,
    DateTime,
}

impl LiteralType {
    /// The literal type of a describe type; `None` for types a filter cannot compare
    /// (time, base64, address, location, …).
    pub fn of(field_type: &str) -> Option<Self> {
        Some(match field_type {
            "string" | "textarea" | "email" | "phone" | "url" | "picklist" | "multipicklist"
            | "combobox" | "encryptedstring" => LiteralType::Text,
            "id" | "reference" => LiteralType::Id,
            "int" | "long" => LiteralType::Int,
            "double" | "currency" | "percent" => LiteralType::Decimal,
            "boolean" => LiteralType::Bool,
            "date" => LiteralType::Date,
            "datetime" => LiteralType::DateTime,
            _ => return None,
        })
    }

    /// What a value must be, for error messages.
    pub fn expected(self) -> &'static str {
        match self {
            LiteralType::Text => "text",
            LiteralType::Id => "a 15- or 18-character Salesforce id",
            LiteralType::Int => "a whole number",
            LiteralType::Decimal => "a number",
            LiteralType::Bool => "true or false",
            LiteralType::Date => "a date YYYY-MM-DD",
            LiteralType::DateTime => "an ISO 8601 date-time with a zone (2026-11-30T14:00:00Z)",
        }
    }

    /// Whether a literal may be compared with a field of this type.
    fn accepts(self, literal: &Literal) -> bool {
        matches!(
            (self, literal),
            (_, Literal::Null)
                | (LiteralType::Text | LiteralType::Id, Literal::String(_))
                | (
                    LiteralType::Int | LiteralType::Decimal,
                    Literal::Int(_) | Literal::Decimal(_)
                )
                | (LiteralType::Bool, Literal::Bool(_))
                | (LiteralType::Date, Literal::Date(_))
                | (LiteralType::DateTime, Literal::DateTime(_))
        )
    }
}

/// A value that does not fit its field's type.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("must be {expected} for the {field_type} field {field}")]
pub struct LiteralError {
    pub field: String,
    pub field_type: String,
    pub expected: String,
}

impl Literal {
    /// The literal for `value` compared with `field`, typed by its describe type. Strings
    /// are parsed as that type (`"2026-12-30"` for a date is a date, not text); `null`
    /// fits any field; arrays and objects fit none.
    pub fn for_field(field: &FieldDescribe, value: &Value) -> Result<Literal, LiteralError> {
        let Some(ty) = LiteralType::of(&field.field_type) else {
            return Err(LiteralError {
                field: field.name.clone(),
                field_type: field.field_type.clone(),
                expected: "a field type filters can compare (not this one)".into(),
            });
        };
        parse(ty, value).ok_or_else(|| LiteralError {
            field: field.name.clone(),
            field_type: field.field_type.clone(),
            expected: ty.expected().into(),
        })
    }

    /// Whether this literal may be compared with `field` (unknown types take text).
    pub fn fits(&self, field: &FieldDescribe) -> bool {
        match LiteralType::of(&field.field_type) {
            Some(ty) => ty.accepts(self),
            None => matches!(self, Literal::Null | Literal::String(_)),
        }
    }
}

fn parse(ty: LiteralType, value: &Value) -> Option<Literal> {
    if value.is_null() {
        return Some(Literal::Null);
    }
    let text = match value {
        Value::String(s) => Some(s.trim()),
        _ => None,
    };
    Some(match ty {
        LiteralType::Text => match value {
            Value::String(s) => Literal::String(s.clone()),
            Value::Number(n) => Literal::String(n.to_string()),
            _ => return None,
        },
        LiteralType::Id => Literal::String(sfid::to_18(text?).ok()?),
        LiteralType::Int => match value {
            Value::Number(n) => Literal::Int(n.as_i64()?),
            _ => Literal::Int(text?.parse().ok()?),
        },
        LiteralType::Decimal => {
            let x = match value {
                Value::Number(n) => {
                    if let Some(i) = n.as_i64() {
                        return Some(Literal::Int(i));
                    }
                    n.as_f64()?
                }
                _ => text?.parse::<f64>().ok()?,
            };
            if !x.is_finite() {
                return None;
            }
            Literal::Decimal(x)
        }
        LiteralType::Bool => match value {
            Value::Bool(b) => Literal::Bool(*b),
            _ => match text?.to_ascii_lowercase().as_str() {
                "true" => Literal::Bool(true),
                "false" => Literal::Bool(false),
                _ => return None,
            },
        },
        LiteralType::Date => Literal::Date(NaiveDate::parse_from_str(text?, "%Y-%m-%d").ok()?),
        LiteralType::DateTime => Literal::DateTime(
            DateTime::parse_from_rfc3339(text?)
                .ok()?
                .with_timezone(&Utc),
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn field(name: &str, ty: &str) -> FieldDescribe {
        FieldDescribe {
            name: name.into(),
            field_type: ty.into(),
            ..Default::default()
        }
    }

    fn soql(field: &FieldDescribe, value: Value) -> Result<String, LiteralError> {
        let literal = Literal::for_field(field, &value)?;
        let mut out = String::new();
        literal.render(&field.name, &mut out).expect("renders");
        Ok(out)
    }

    #[test]
    fn only_text_and_ids_are_quoted() {
        let cases = [
            ("CloseDate", "date", json!("2026-12-30"), "2026-12-30"),
            (
                "CreatedDate",
                "datetime",
                json!("2026-11-30T14:00:00+01:00"),
                "2026-11-30T13:00:00Z",
            ),
            (
                "CreatedDate",
                "datetime",
                json!("2026-11-30T14:00:00Z"),
                "2026-11-30T14:00:00Z",
            ),
            ("NumberOfEmployees", "int", json!(12), "12"),
            ("NumberOfEmployees", "int", json!("12"), "12"),
            ("Amount", "currency", json!(4200.5), "4200.5"),
            ("Amount", "currency", json!("4200"), "4200"),
            ("Probability", "percent", json!(10), "10"),
            ("IsWon", "boolean", json!(true), "true"),
            ("IsWon", "boolean", json!("FALSE"), "false"),
            ("CloseDate", "date", json!(null), "null"),
            ("Name", "string", json!("Acme"), "'Acme'"),
            ("StageName", "picklist", json!("Closed Won"), "'Closed Won'"),
            ("Email", "email", json!("a@b.example"), "'a@b.example'"),
            ("Phone", "phone", json!(5551234), "'5551234'"),
            (
                "AccountId",
                "reference",
                json!("001A0000006Vm9r"),
                "'001A0000006Vm9rIAC'",
            ),
            (
                "Id",
                "id",
                json!("001A0000006Vm9rIAC"),
                "'001A0000006Vm9rIAC'",
            ),
        ];
        for (name, ty, value, want) in cases {
            assert_eq!(
                soql(&field(name, ty), value.clone()).unwrap(),
                want,
                "{name} {value}"
            );
        }
    }

    #[test]
    fn values_of_the_wrong_type_name_the_field_and_the_expected_type() {
        let cases = [
            ("CloseDate", "date", json!("tomorrow"), "a date"),
            ("CloseDate", "date", json!("2026-02-30"), "a date"),
            ("CloseDate", "date", json!(20261230), "a date"),
            ("CreatedDate", "datetime", json!("2026-11-30"), "date-time"),
            ("Amount", "currency", json!("abc"), "a number"),
            ("Amount", "currency", json!("NaN"), "a number"),
            ("NumberOfEmployees", "int", json!(1.5), "a whole number"),
            ("IsWon", "boolean", json!("yes"), "true or false"),
            ("Name", "string", json!({"$gt": "A"}), "text"),
            ("Name", "string", json!(["a"]), "text"),
            ("Name", "string", json!(true), "text"),
            (
                "AccountId",
                "reference",
                json!("001' OR Name != '"),
                "Salesforce id",
            ),
            (
                "ShippingAddress",
                "address",
                json!("x"),
                "filters can compare",
            ),
        ];
        for (name, ty, value, expected) in cases {
            let err = soql(&field(name, ty), value.clone()).unwrap_err();
            assert_eq!(err.field, name);
            assert!(err.expected.contains(expected), "{value}: {err}");
            assert!(err.to_string().contains(ty), "{err}");
        }
    }

    #[test]
    fn a_hostile_string_stays_escaped() {
        let out = soql(&field("Name", "string"), json!("x' OR Name != '")).unwrap();
        assert_eq!(out, "'x\\' OR Name != \\''");
    }

    #[test]
    fn literals_fit_only_their_field_types() {
        let date = field("CloseDate", "date");
        assert!(!Literal::String("2026-12-30".into()).fits(&date));
        assert!(Literal::Date(NaiveDate::from_ymd_opt(2026, 12, 30).unwrap()).fits(&date));
        assert!(Literal::Null.fits(&date));
        assert!(!Literal::Int(1).fits(&field("IsWon", "boolean")));
        assert!(Literal::Int(1).fits(&field("Amount", "currency")));
        assert!(!Literal::Int(1).fits(&field("Name", "string")));
        assert!(Literal::String("x".into()).fits(&field("Other", "anyType")));
    }
}
