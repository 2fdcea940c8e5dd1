//! Records as Salesforce returns them: `attributes` plus fields, parents nested.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::datetime::parse_datetime;

#[derive(Clone, Debug, Deserialize, Serialize, PartialEq, Eq)]
pub struct RecordAttributes {
    #[serde(rename = "type")]
    pub sobject_type: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
}

/// One record: `attributes` and the selected fields (parent relationships are nested
/// records, e.g. `Owner` → `{"attributes":…,"Email":…}`).
#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq)]
pub struct Record {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attributes: Option<RecordAttributes>,
    #[serde(flatten)]
    pub fields: Map<String, Value>,
}

impl Record {
    pub fn id(&self) -> Option<&str> {
        self.get("Id").and_then(Value::as_str)
    }

    pub fn sobject_type(&self) -> Option<&str> {
        self.attributes.as_ref().map(|a| a.sobject_type.as_str())
    }

    /// A field by name or dotted relationship path (`Owner.Email`), case-insensitive like
    /// Salesforce. `None` when absent; `Some(Value::Null)` when null.
    pub fn get(&self, path: &str) -> Option<&Value> {
        let mut segments = path.split('.');
        let first = segments.next()?;
        let mut current = lookup(&self.fields, first)?;
        for segment in segments {
            current = match current {
                Value::Object(map) => lookup(map, segment)?,
                _ => return None,
            };
        }
        Some(current)
    }

    pub fn get_str(&self, path: &str) -> Option<&str> {
        self.get(path).and_then(Value::as_str)
    }

    /// A datetime field in Salesforce's format (`2026-11-21T07:57:32.000+0000`).
    pub fn get_datetime(&self, path: &str) -> Option<DateTime<Utc>> {
        self.get_str(path).and_then(parse_datetime)
    }

    pub fn system_modstamp(&self) -> Option<DateTime<Utc>> {
        self.get_datetime("SystemModstamp")
    }
}

fn lookup<'a>(map: &'a Map<String, Value>, key: &str) -> Option<&'a Value> {
    map.get(key).or_else(|| {
        map.iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
            .map(|(_, v)| v)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nested_paths() {
        let rec: Record = serde_json::from_str(
            r#"{"attributes":{"type":"Contact","url":"/x"},"Id":"003A","Owner":{"attributes":{"type":"User"},"Email":"o@x.com"},"SystemModstamp":"2026-11-21T07:57:32.000+0000"}"#,
        )
        .unwrap();
        assert_eq!(rec.id(), Some("003A"));
        assert_eq!(rec.sobject_type(), Some("Contact"));
        assert_eq!(rec.get_str("owner.email"), Some("o@x.com"));
        assert!(rec.get("Owner.Missing").is_none());
        assert!(rec.system_modstamp().is_some());
    }
}
