//! Small builders and finders the scenarios share.

use crmsync_store::ChangeEntry;
use serde_json::{Value, json};

/// An app event in the ingest wire format, with a fresh event id.
pub fn app_event(
    kind: &str,
    app_object: &str,
    app_id: &str,
    occurred_at: chrono::DateTime<chrono::Utc>,
    fields: Value,
) -> Value {
    json!({
        "event_id": format!("ev-{}", uuid::Uuid::new_v4().simple()),
        "kind": kind,
        "app_object": app_object,
        "app_id": app_id,
        "occurred_at": occurred_at.to_rfc3339(),
        "fields": fields,
    })
}

/// The change-feed entries about one Salesforce record.
pub fn find_changes<'a>(entries: &'a [ChangeEntry], sf_id: &str) -> Vec<&'a ChangeEntry> {
    entries.iter().filter(|e| e.sf_id == sf_id).collect()
}

/// A string field of a JSON object (`None` when absent or not a string).
pub fn str_field<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    v.get(key).and_then(Value::as_str)
}
