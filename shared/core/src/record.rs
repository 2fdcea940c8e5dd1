//! Read access to a Salesforce record as returned by a SOQL query.
//!
//! [`RawRecord`] borrows the response bytes and keeps each field as unparsed JSON, so the
//! poller only pays to parse the fields a mapping actually uses.

use std::borrow::Cow;
use std::fmt;

use serde::de::{Deserializer, MapAccess, Visitor};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use serde_json::value::RawValue;

/// A Salesforce record, readable field by field. Dotted paths (`Owner.Email`) walk
/// parent relationships.
pub trait SalesforceRecord {
    /// The field's value (owned), or None when the record does not carry it.
    fn field(&self, path: &str) -> Option<Value>;

    /// The field as a string, when it is one.
    fn string(&self, path: &str) -> Option<String> {
        match self.field(path)? {
            Value::String(s) => Some(s),
            _ => None,
        }
    }

    /// `attributes.type`, when present.
    fn object_type(&self) -> Option<String> {
        self.string("attributes.type")
    }

    /// Whether `attributes.type` is `expected` (None when the record carries no type).
    fn object_type_is(&self, expected: &str) -> Option<bool> {
        self.object_type().map(|t| t == expected)
    }
}

fn walk<'v>(mut v: &'v Value, path: &str) -> Option<&'v Value> {
    for part in path.split('.') {
        v = v
            .as_object()?
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(part))?
            .1;
    }
    Some(v)
}

impl SalesforceRecord for Value {
    fn field(&self, path: &str) -> Option<Value> {
        walk(self, path).cloned()
    }
}

impl SalesforceRecord for serde_json::Map<String, Value> {
    fn field(&self, path: &str) -> Option<Value> {
        let (head, rest) = path
            .split_once('.')
            .map_or((path, None), |(h, r)| (h, Some(r)));
        let v = self.iter().find(|(k, _)| k.eq_ignore_ascii_case(head))?.1;
        match rest {
            None => Some(v.clone()),
            Some(r) => walk(v, r).cloned(),
        }
    }
}

/// A record whose field values stay unparsed until asked for.
#[derive(Debug, Clone, Default)]
pub struct RawRecord<'a> {
    entries: Vec<(Cow<'a, str>, &'a RawValue)>,
}

impl<'a> RawRecord<'a> {
    /// Borrow a record from JSON text; fails unless the text is a JSON object.
    pub fn parse(json: &'a str) -> Result<Self, serde_json::Error> {
        serde_json::from_str(json)
    }

    /// Borrow a record from JSON bytes.
    /// UTF-8 is checked once for the whole text rather than per field.
    pub fn parse_slice(json: &'a [u8]) -> Result<Self, serde_json::Error> {
        match std::str::from_utf8(json) {
            Ok(text) => Self::parse(text),
            // Let serde_json report the position of the bad byte.
            Err(_) => serde_json::from_slice(json),
        }
    }

    /// The raw JSON text of a top-level field.
    pub fn raw(&self, name: &str) -> Option<&'a RawValue> {
        // Exact match first (the common case), then Salesforce's case-insensitive rule.
        self.entries
            .iter()
            .find(|(k, _)| {
                k.len() == name.len()
                    && k.as_bytes().first() == name.as_bytes().first()
                    && k.as_ref() == name
            })
            .or_else(|| {
                self.entries
                    .iter()
                    .find(|(k, _)| k.eq_ignore_ascii_case(name))
            })
            .map(|(_, v)| *v)
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

#[derive(Deserialize)]
struct Attributes<'a> {
    #[serde(rename = "type", borrow)]
    object_type: Option<Cow<'a, str>>,
}

impl SalesforceRecord for RawRecord<'_> {
    fn object_type(&self) -> Option<String> {
        let raw = self.raw("attributes")?;
        let attrs: Attributes<'_> = serde_json::from_str(raw.get()).ok()?;
        attrs.object_type.map(Cow::into_owned)
    }

    fn object_type_is(&self, expected: &str) -> Option<bool> {
        let raw = self.raw("attributes")?;
        let attrs: Attributes<'_> = serde_json::from_str(raw.get()).ok()?;
        attrs.object_type.map(|t| t == expected)
    }

    fn field(&self, path: &str) -> Option<Value> {
        let (head, rest) = path
            .split_once('.')
            .map_or((path, None), |(h, r)| (h, Some(r)));
        let raw = self.raw(head)?;
        match rest {
            None => parse_value(raw.get()),
            Some(r) => {
                let nested = RawRecord::parse(raw.get()).ok()?;
                nested.field(r)
            }
        }
    }
}

/// Parse a field's JSON text; plain strings (no escapes) and literals skip the deserializer.
fn parse_value(text: &str) -> Option<Value> {
    if let Some(inner) = text.strip_prefix('"').and_then(|t| t.strip_suffix('"'))
        && !inner.contains(['\\', '"'])
    {
        return Some(Value::String(inner.to_string()));
    }
    match text {
        "null" => Some(Value::Null),
        "true" => Some(Value::Bool(true)),
        "false" => Some(Value::Bool(false)),
        _ => serde_json::from_str(text).ok(),
    }
}

struct Key<'a>(Cow<'a, str>);

impl<'de> Deserialize<'de> for Key<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct KeyVisitor;
        impl<'de> Visitor<'de> for KeyVisitor {
            type Value = Key<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a field name")
            }
            fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Borrowed(v)))
            }
            fn visit_str<E>(self, v: &str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Owned(v.to_string())))
            }
        }
        d.deserialize_str(KeyVisitor)
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for RawRecord<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct RecordVisitor;
        impl<'de> Visitor<'de> for RecordVisitor {
            type Value = RawRecord<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a Salesforce record (JSON object)")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<RawRecord<'de>, A::Error> {
                let mut entries = Vec::with_capacity(map.size_hint().unwrap_or(32));
                while let Some((k, v)) = map.next_entry::<Key<'de>, &'de RawValue>()? {
                    entries.push((k.0, v));
                }
                Ok(RawRecord { entries })
            }
        }
        d.deserialize_map(RecordVisitor)
    }
}

impl Serialize for RawRecord<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut m = s.serialize_map(Some(self.entries.len()))?;
        for (k, v) in &self.entries {
            m.serialize_entry(k.as_ref(), v)?;
        }
        m.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const REC: &str = r#"{"attributes":{"type":"Lead","url":"/x"},"Id":"00Q000000000001AAA",
        "Last\u004eame":"Smith","Phone":"555","Owner":{"attributes":{"type":"User"},"Email":"a@b.com"},"Amount":12.5}"#;

    #[test]
    fn raw_and_value_records_agree() {
        let raw = RawRecord::parse(REC).unwrap();
        let val: Value = serde_json::from_str(REC).unwrap();
        for path in [
            "Id",
            "LastName",
            "lastname",
            "Owner.Email",
            "Amount",
            "attributes.type",
            "Missing",
            "Owner.Missing",
        ] {
            assert_eq!(raw.field(path), val.field(path), "{path}");
        }
        assert_eq!(raw.object_type().as_deref(), Some("Lead"));
        assert_eq!(raw.field("Owner.Email"), Some(json!("a@b.com")));
    }

    #[test]
    fn fast_path_values_match_serde() {
        let cases = [
            r#""plain""#,
            r#""esc\"aped""#,
            r#""\u00e9""#,
            r#""""#,
            "null",
            "true",
            "false",
            "12.5",
            "[1]",
        ];
        for text in cases {
            assert_eq!(
                parse_value(text),
                serde_json::from_str::<Value>(text).ok(),
                "{text}"
            );
        }
    }

    #[test]
    fn raw_record_rejects_non_objects() {
        assert!(RawRecord::parse("[1,2]").is_err());
        assert!(RawRecord::parse("nope").is_err());
        let round: Value =
            serde_json::from_str(&serde_json::to_string(&RawRecord::parse(REC).unwrap()).unwrap())
                .unwrap();
        assert_eq!(round, serde_json::from_str::<Value>(REC).unwrap());
    }
}
