//! Task fields Salesforce derives: a `Completed` status closes the task and stamps
//! `CompletedDateTime` (reopening clears it); `High` priority sets `IsHighPriority`.

use serde_json::{Map, Value};

pub fn derive_task(rec: &mut Map<String, Value>, now: &str) {
    let closed = rec.get("Status").and_then(Value::as_str) == Some("Completed");
    let was_closed = rec.get("IsClosed") == Some(&Value::Bool(true));
    rec.insert("IsClosed".into(), Value::Bool(closed));
    if !closed {
        rec.insert("CompletedDateTime".into(), Value::Null);
    } else if !was_closed || rec.get("CompletedDateTime").is_none_or(Value::is_null) {
        rec.insert("CompletedDateTime".into(), Value::String(now.to_string()));
    }
    let high = rec.get("Priority").and_then(Value::as_str) == Some("High");
    rec.insert("IsHighPriority".into(), Value::Bool(high));
}
