//! Seed 003's multi-site sync, the pure part: which events write sites, the values of the
//! app's multi-value field, and which of them still lack a record in Salesforce.
//!
//! A site is matched under its parent (the Account, else the Organization record) by its
//! value compared trimmed and case-insensitively, or by the stable key crmsync writes into
//! `sites.key_field`. Matching before creating makes a redelivered or repeated event
//! create nothing twice. Values removed in the app are left in Salesforce.

use serde_json::Value;

use crate::config::{CustomObjectsConfig, SitesConfig};
use crate::event::AppEvent;
use crate::types::{AppObject, EventKind};

/// Whether this event writes custom-object records: a sale of any record, or a company
/// create or update that carries the list field (sites) or a name (organization).
pub fn event_wants_custom_objects(cfg: &CustomObjectsConfig, ev: &AppEvent) -> bool {
    if cfg.is_empty() {
        return false;
    }
    match ev.kind {
        EventKind::Sale => true,
        EventKind::Create | EventKind::Update if ev.app_object == AppObject::Company => {
            cfg.sites
                .as_ref()
                .is_some_and(|s| ev.fields.contains_key(&s.app_list_field))
                || cfg
                    .organization
                    .as_ref()
                    .is_some_and(|o| ev.fields.contains_key(&o.app_name_field))
        }
        _ => false,
    }
}

/// The values of the list field: a JSON array of strings (or numbers), or one string with
/// one value per line or `;`-separated. Trimmed, blanks dropped, duplicates (ignoring
/// case) kept once in first-seen order.
pub fn list_values(cfg: &SitesConfig, ev: &AppEvent) -> Vec<String> {
    let raw: Vec<String> = match ev.fields.get(&cfg.app_list_field) {
        Some(Value::Array(items)) => items
            .iter()
            .filter_map(|v| match v {
                Value::String(s) => Some(s.clone()),
                Value::Number(n) => Some(n.to_string()),
                _ => None,
            })
            .collect(),
        Some(Value::String(s)) => s.split(['\n', ';']).map(str::to_string).collect(),
        _ => Vec::new(),
    };
    let mut out: Vec<String> = Vec::new();
    for v in raw {
        let v = v.trim().to_string();
        if !v.is_empty() && !out.iter().any(|o| same_value(o, &v)) {
            out.push(v);
        }
    }
    out
}

fn same_value(a: &str, b: &str) -> bool {
    a.trim().to_lowercase() == b.trim().to_lowercase()
}

/// The stable key of a site: its parent's id and its value in lower case.
pub fn site_key(parent_id: &str, value: &str) -> String {
    format!("{parent_id}:{}", value.trim().to_lowercase())
}

/// A site already in Salesforce under the parent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExistingSite {
    pub id: String,
    pub name: String,
    pub key: Option<String>,
}

/// The values that have no site under `parent_id` yet, in the app's order.
pub fn missing_sites(parent_id: &str, wanted: &[String], existing: &[ExistingSite]) -> Vec<String> {
    wanted
        .iter()
        .filter(|v| {
            let key = site_key(parent_id, v);
            !existing
                .iter()
                .any(|e| same_value(&e.name, v) || e.key.as_deref() == Some(key.as_str()))
        })
        .cloned()
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::OrganizationConfig;
    use serde_json::json;

    fn cfg() -> CustomObjectsConfig {
        CustomObjectsConfig {
            sites: Some(SitesConfig {
                object: "Site__c".into(),
                parent_field: Some("Account__c".into()),
                app_list_field: "locations".into(),
                name_field: "Name".into(),
                key_field: None,
                organization_field: None,
            }),
            organization: None,
        }
    }

    fn event(kind: &str, object: &str, fields: Value) -> AppEvent {
        serde_json::from_value(json!({"event_id": "e1", "kind": kind, "app_object": object,
            "app_id": "a1", "occurred_at": "2026-12-01T10:00:00Z", "fields": fields}))
        .unwrap()
    }

    #[test]
    fn which_events_write_sites() {
        let c = cfg();
        let with = json!({"locations": ["A"]});
        assert!(event_wants_custom_objects(
            &c,
            &event("sale", "contact", json!({}))
        ));
        assert!(event_wants_custom_objects(
            &c,
            &event("update", "company", with.clone())
        ));
        assert!(!event_wants_custom_objects(
            &c,
            &event("update", "company", json!({"x": 1}))
        ));
        assert!(!event_wants_custom_objects(
            &c,
            &event("update", "contact", with.clone())
        ));
        let none = CustomObjectsConfig::default();
        assert!(!event_wants_custom_objects(
            &none,
            &event("sale", "contact", with)
        ));
        let org = CustomObjectsConfig {
            sites: None,
            organization: Some(OrganizationConfig {
                object: "Organization__c".into(),
                name_field: "Name".into(),
                app_name_field: "company_name".into(),
                account_field: None,
            }),
        };
        let named = json!({"company_name": "Acme"});
        assert!(event_wants_custom_objects(
            &org,
            &event("create", "company", named)
        ));
    }

    #[test]
    fn values_from_arrays_and_text() {
        let s = cfg().sites.unwrap();
        let arr = event(
            "sale",
            "contact",
            json!({"locations": [" Austin ", "Dallas", "austin", "", 7]}),
        );
        assert_eq!(list_values(&s, &arr), ["Austin", "Dallas", "7"]);
        let text = event(
            "sale",
            "contact",
            json!({"locations": "Austin\nDallas; Waco\n\n"}),
        );
        assert_eq!(list_values(&s, &text), ["Austin", "Dallas", "Waco"]);
        assert!(list_values(&s, &event("sale", "contact", json!({}))).is_empty());
    }

    #[test]
    fn only_missing_values_are_created() {
        let wanted: Vec<String> = ["Austin", "Dallas", "Waco"].map(String::from).to_vec();
        let existing = vec![
            ExistingSite {
                id: "a1".into(),
                name: "AUSTIN ".into(),
                key: None,
            },
            ExistingSite {
                id: "a2".into(),
                name: "Renamed in Salesforce".into(),
                key: Some(site_key("001A", "dallas")),
            },
        ];
        assert_eq!(missing_sites("001A", &wanted, &existing), ["Waco"]);
        assert_eq!(
            missing_sites("001B", &wanted, &existing),
            ["Dallas", "Waco"]
        );
    }
}
