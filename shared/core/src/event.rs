//! The app's ingest wire format: record events, validated before they are queued.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::config::SyncConfig;
use crate::types::{AppObject, EventKind, FieldMap};

/// Largest serialized size of one field value.
pub const MAX_FIELD_BYTES: usize = 32 * 1024;
/// Most fields on one event (or one associated contact).
pub const MAX_FIELDS: usize = 500;
/// Longest id or field name.
pub const MAX_ID_LEN: usize = 255;
/// Most sale items on one event.
pub const MAX_SALE_ITEMS: usize = 500;
/// Most associated contacts on one event.
pub const MAX_ASSOCIATED_CONTACTS: usize = 100;

/// One record event from the app.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AppEvent {
    pub event_id: String,
    pub kind: EventKind,
    pub app_object: AppObject,
    pub app_id: String,
    /// RFC 3339.
    pub occurred_at: String,
    #[serde(default)]
    #[schema(value_type = std::collections::BTreeMap<String, serde_json::Value>)]
    pub fields: FieldMap,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sale_items: Vec<SaleItem>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub associated_contacts: Vec<AssociatedContact>,
}

/// One product on a sale (→ an OpportunityLineItem).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SaleItem {
    /// Product name (line item Description).
    pub name: String,
    #[serde(default)]
    pub product_code: Option<String>,
    /// Salesforce PricebookEntry id, when the app knows it.
    #[serde(default)]
    pub pricebook_entry_id: Option<String>,
    /// Salesforce Product2 id, when the app knows it.
    #[serde(default)]
    pub product_id: Option<String>,
    pub quantity: f64,
    pub unit_price: f64,
    /// Extra line-item fields, by Salesforce field name.
    #[serde(default)]
    #[schema(value_type = std::collections::BTreeMap<String, serde_json::Value>)]
    pub fields: FieldMap,
}

/// Another contact on the app record, connected/created on a sale.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AssociatedContact {
    #[serde(default)]
    pub app_id: Option<String>,
    #[serde(default)]
    #[schema(value_type = std::collections::BTreeMap<String, serde_json::Value>)]
    pub fields: FieldMap,
}

/// One thing wrong with an event, naming the field.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error)]
#[error("{path}: {message}")]
pub struct EventProblem {
    pub path: String,
    pub message: String,
}

/// Why an event was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EventError {
    #[error("event JSON does not match the schema: {0}")]
    Parse(String),
    #[error("event has {} problem(s): {}", .0.len(), .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "))]
    Invalid(Vec<EventProblem>),
}

fn check_id(p: &mut Vec<EventProblem>, path: &str, v: &str) {
    if v.trim().is_empty() {
        p.push(EventProblem {
            path: path.into(),
            message: "must not be empty".into(),
        });
    } else if v.len() > MAX_ID_LEN {
        p.push(EventProblem {
            path: path.into(),
            message: format!("longer than {MAX_ID_LEN} characters"),
        });
    }
}

/// An id crmsync keys its state by (event id, app record id): also no `#` (the store's key
/// separator) and no control characters.
fn check_key_id(p: &mut Vec<EventProblem>, path: &str, v: &str) {
    let before = p.len();
    check_id(p, path, v);
    if p.len() == before && (v.contains('#') || v.chars().any(char::is_control)) {
        p.push(EventProblem {
            path: path.into(),
            message: "must not contain '#' or control characters".into(),
        });
    }
}

fn check_fields(p: &mut Vec<EventProblem>, base: &str, fields: &FieldMap) {
    if fields.len() > MAX_FIELDS {
        p.push(EventProblem {
            path: base.into(),
            message: format!("{} fields, at most {MAX_FIELDS}", fields.len()),
        });
    }
    for (k, v) in fields {
        let path = format!("{base}.{k}");
        if k.is_empty() || k.len() > MAX_ID_LEN {
            p.push(EventProblem {
                path: path.clone(),
                message: format!("field names must be 1-{MAX_ID_LEN} characters"),
            });
        }
        let size = serde_json::to_vec(v).map(|b| b.len()).unwrap_or(usize::MAX);
        if size > MAX_FIELD_BYTES {
            p.push(EventProblem {
                path,
                message: format!("value is {size} bytes, at most {MAX_FIELD_BYTES}"),
            });
        }
    }
}

impl AppEvent {
    /// Parse and validate the JSON form.
    pub fn parse(json: &[u8]) -> Result<Self, EventError> {
        let ev: AppEvent =
            serde_json::from_slice(json).map_err(|e| EventError::Parse(e.to_string()))?;
        ev.validate()?;
        Ok(ev)
    }

    /// Every problem, each naming its field.
    pub fn validate(&self) -> Result<(), EventError> {
        let mut p = Vec::new();
        check_key_id(&mut p, "event_id", &self.event_id);
        check_key_id(&mut p, "app_id", &self.app_id);
        if DateTime::parse_from_rfc3339(&self.occurred_at).is_err() {
            p.push(EventProblem {
                path: "occurred_at".into(),
                message: "must be an RFC 3339 timestamp".into(),
            });
        }
        check_fields(&mut p, "fields", &self.fields);
        if self.sale_items.len() > MAX_SALE_ITEMS {
            p.push(EventProblem {
                path: "sale_items".into(),
                message: format!("at most {MAX_SALE_ITEMS} items"),
            });
        }
        if !self.sale_items.is_empty() && self.kind != EventKind::Sale {
            p.push(EventProblem {
                path: "sale_items".into(),
                message: "only sale events carry sale items".into(),
            });
        }
        for (i, item) in self.sale_items.iter().enumerate() {
            let base = format!("sale_items[{i}]");
            check_id(&mut p, &format!("{base}.name"), &item.name);
            if !item.quantity.is_finite() || item.quantity <= 0.0 {
                p.push(EventProblem {
                    path: format!("{base}.quantity"),
                    message: "must be a positive number".into(),
                });
            }
            if !item.unit_price.is_finite() {
                p.push(EventProblem {
                    path: format!("{base}.unit_price"),
                    message: "must be a number".into(),
                });
            }
            for (path, id) in [
                ("pricebook_entry_id", &item.pricebook_entry_id),
                ("product_id", &item.product_id),
                ("product_code", &item.product_code),
            ] {
                if let Some(id) = id {
                    check_id(&mut p, &format!("{base}.{path}"), id);
                }
            }
            check_fields(&mut p, &format!("{base}.fields"), &item.fields);
        }
        if self.associated_contacts.len() > MAX_ASSOCIATED_CONTACTS {
            p.push(EventProblem {
                path: "associated_contacts".into(),
                message: format!("at most {MAX_ASSOCIATED_CONTACTS} contacts"),
            });
        }
        for (i, c) in self.associated_contacts.iter().enumerate() {
            if let Some(id) = &c.app_id {
                check_key_id(&mut p, &format!("associated_contacts[{i}].app_id"), id);
            }
            check_fields(
                &mut p,
                &format!("associated_contacts[{i}].fields"),
                &c.fields,
            );
        }
        if p.is_empty() {
            Ok(())
        } else {
            Err(EventError::Invalid(p))
        }
    }

    /// `occurred_at`, parsed (None when invalid; `validate` reports it).
    pub fn occurred_at(&self) -> Option<DateTime<Utc>> {
        DateTime::parse_from_rfc3339(&self.occurred_at)
            .ok()
            .map(|d| d.with_timezone(&Utc))
    }

    /// A field's value as a trimmed, non-empty string.
    pub fn text(&self, field: &str) -> Option<String> {
        text_of(&self.fields, field)
    }
}

/// The event field Salesforce owner ids arrive in (activities).
pub const SF_OWNER_ID_FIELD: &str = "sf_owner_id";

impl AppEvent {
    /// Rewrites every Salesforce id the event carries (the config's contact and lead id
    /// fields, [`SF_OWNER_ID_FIELD`], sale items' product and price book entry ids) to its
    /// 18-character form: links are keyed by it and the poll compares with it. An id that is
    /// not a Salesforce id is a problem naming its field.
    pub fn normalize_salesforce_ids(&mut self, config: &SyncConfig) -> Result<(), EventError> {
        let mut p = Vec::new();
        let lr = &config.lead_routing;
        for field in [
            lr.contact_id_field.as_str(),
            lr.lead_id_field.as_str(),
            SF_OWNER_ID_FIELD,
        ] {
            if let Some(Value::String(id)) = self.fields.get_mut(field) {
                normalize_id(&mut p, &format!("fields.{field}"), id);
            }
        }
        for (i, item) in self.sale_items.iter_mut().enumerate() {
            for (name, id) in [
                ("pricebook_entry_id", &mut item.pricebook_entry_id),
                ("product_id", &mut item.product_id),
            ] {
                if let Some(id) = id {
                    normalize_id(&mut p, &format!("sale_items[{i}].{name}"), id);
                }
            }
        }
        if p.is_empty() {
            Ok(())
        } else {
            Err(EventError::Invalid(p))
        }
    }
}

/// Blank stays blank (the planner treats it as absent); anything else must be an id.
fn normalize_id(p: &mut Vec<EventProblem>, path: &str, id: &mut String) {
    if id.trim().is_empty() {
        return;
    }
    match crate::sfid::to_18(id.trim()) {
        Ok(id18) => *id = id18,
        Err(e) => p.push(EventProblem {
            path: path.into(),
            message: format!("not a Salesforce id: {e}"),
        }),
    }
}

/// A field's value as a trimmed, non-empty string (numbers are rendered).
pub fn text_of(fields: &FieldMap, field: &str) -> Option<String> {
    match fields.get(field)? {
        Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_string()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn base() -> Value {
        json!({"event_id":"e1","kind":"sale","app_object":"contact","app_id":"c1",
               "occurred_at":"2026-11-21T07:57:32Z","fields":{"phone":"555"},
               "sale_items":[{"name":"Widget","quantity":2,"unit_price":10.5}],
               "associated_contacts":[{"app_id":"c2","fields":{"last_name":"Lee"}}]})
    }

    #[test]
    fn valid_event_parses() {
        let ev = AppEvent::parse(base().to_string().as_bytes()).unwrap();
        assert_eq!(ev.kind, EventKind::Sale);
        assert_eq!(ev.sale_items[0].quantity, 2.0);
        assert_eq!(ev.text("phone").as_deref(), Some("555"));
    }

    #[test]
    fn problems_name_their_fields() {
        let mut v = base();
        v["event_id"] = json!("");
        v["occurred_at"] = json!("yesterday");
        v["fields"]["big"] = json!("x".repeat(MAX_FIELD_BYTES + 1));
        v["sale_items"][0]["quantity"] = json!(0);
        v["app_id"] = json!("a".repeat(300));
        let err = AppEvent::parse(v.to_string().as_bytes()).unwrap_err();
        let EventError::Invalid(p) = err else {
            panic!("expected Invalid")
        };
        let paths: Vec<_> = p.iter().map(|p| p.path.as_str()).collect();
        assert_eq!(
            paths,
            vec![
                "event_id",
                "app_id",
                "occurred_at",
                "fields.big",
                "sale_items[0].quantity"
            ]
        );
    }

    #[test]
    fn key_ids_refuse_the_key_separator_and_control_characters() {
        let mut v = base();
        v["event_id"] = json!("ev#1");
        v["app_id"] = json!("c\u{7}");
        v["associated_contacts"][0]["app_id"] = json!("c#2");
        v["sale_items"][0]["name"] = json!("Widget #3"); // names may hold '#'
        let Err(EventError::Invalid(p)) = AppEvent::parse(v.to_string().as_bytes()) else {
            panic!("expected Invalid")
        };
        let paths: Vec<_> = p.iter().map(|p| p.path.as_str()).collect();
        assert_eq!(
            paths,
            vec!["event_id", "app_id", "associated_contacts[0].app_id"]
        );
        assert!(p[0].message.contains('#'), "{}", p[0].message);
    }

    #[test]
    fn salesforce_ids_become_18_characters_and_bad_ones_name_their_field() {
        let config = SyncConfig::standard();
        let mut v = base();
        v["fields"]["sf_contact_id"] = json!("001A0000006Vm9r");
        v["fields"]["sf_owner_id"] = json!(" 00558000001N0KeAAK ");
        v["sale_items"][0]["product_id"] = json!("00558000001N0Ke");
        let mut ev = AppEvent::parse(v.to_string().as_bytes()).unwrap();
        ev.normalize_salesforce_ids(&config).unwrap();
        assert_eq!(ev.text("sf_contact_id").unwrap(), "001A0000006Vm9rIAC");
        assert_eq!(ev.text("sf_owner_id").unwrap(), "00558000001N0KeAAK");
        assert_eq!(
            ev.sale_items[0].product_id.as_deref(),
            Some("00558000001N0KeAAK")
        );

        v["fields"]["sf_lead_id"] = json!("00Q-not-an-id");
        v["sale_items"][0]["pricebook_entry_id"] = json!("01u");
        let mut ev = AppEvent::parse(v.to_string().as_bytes()).unwrap();
        let Err(EventError::Invalid(p)) = ev.normalize_salesforce_ids(&config) else {
            panic!("expected Invalid")
        };
        let paths: Vec<_> = p.iter().map(|p| p.path.as_str()).collect();
        assert_eq!(
            paths,
            ["fields.sf_lead_id", "sale_items[0].pricebook_entry_id"]
        );
        assert!(
            p[0].message.contains("not a Salesforce id"),
            "{}",
            p[0].message
        );
    }

    #[test]
    fn unknown_fields_and_too_many_fields_are_refused() {
        let mut v = base();
        v["extra"] = json!(1);
        assert!(matches!(
            AppEvent::parse(v.to_string().as_bytes()),
            Err(EventError::Parse(_))
        ));
        let mut v = base();
        let many: serde_json::Map<String, Value> =
            (0..501).map(|i| (format!("f{i}"), json!(i))).collect();
        v["fields"] = Value::Object(many);
        assert!(matches!(
            AppEvent::parse(v.to_string().as_bytes()),
            Err(EventError::Invalid(_))
        ));
    }
}
