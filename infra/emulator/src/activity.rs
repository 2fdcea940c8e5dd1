//! Task fields Salesforce derives: a `Completed` status closes the task and stamps
//! `CompletedDateTime` (reopening clears it); `High` priority sets `IsHighPriority`.
//! Also the Who/What rule a Task's relations must keep ([`check_task`]).

use serde_json::{Map, Value};

use crate::error::ApiError;
use crate::store::Store;

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

/// `AccountId`, as Salesforce derives it (Object Reference, Task, `AccountId`): the
/// `WhatId`'s account when it is an Account or an Opportunity; else, with a Contact as
/// `WhoId`, that contact's `AccountId`; else null.
pub fn derive_account(store: &Store, rec: &mut Map<String, Value>) {
    let id_of = |field: &str| rec.get(field).and_then(Value::as_str).unwrap_or_default();
    let account_of = |id: &str, objects: &[&str]| -> Option<Value> {
        let (object, r) = store.find_any(id)?;
        match object {
            "Account" if objects.contains(&"Account") => Some(Value::String(r.id.clone())),
            o if objects.contains(&o) => Some(r.get("AccountId").clone()),
            _ => None,
        }
    };
    let account = account_of(id_of("WhatId"), &["Account", "Opportunity"])
        .or_else(|| account_of(id_of("WhoId"), &["Contact"]))
        .unwrap_or(Value::Null);
    rec.insert("AccountId".into(), account);
}

/// A Task naming a Lead as its `WhoId` cannot be related to anything (`WhatId`). Sources:
/// rioeducation.com, "Salesforce Activity WhatID & WhoID" ("If whoId is related to lead,
/// Salesforce does not allow the whatId field to contain any value"); salesforceben.com,
/// "What is the difference between WhoId and WhatId" ("Related To" is not available once
/// the Name is a Lead); ZynBit's knowledge base, "What does Field Integrity Exception
/// mean" (filing to a Lead and an Account fails with "field integrity exception: WhoId,
/// WhatId"). So: `FIELD_INTEGRITY_EXCEPTION` naming both fields; the wording is ours.
pub fn check_task(rec: &Map<String, Value>) -> Result<(), ApiError> {
    let who = rec.get("WhoId").and_then(Value::as_str).unwrap_or_default();
    let what = rec
        .get("WhatId")
        .and_then(Value::as_str)
        .unwrap_or_default();
    if who.starts_with(LEAD_PREFIX) && !what.is_empty() {
        return Err(ApiError::bad(
            "FIELD_INTEGRITY_EXCEPTION",
            format!(
                "Related To ID: a task about a lead cannot be related to another record: {what}"
            ),
        )
        .with_fields(vec!["WhoId".into(), "WhatId".into()]));
    }
    Ok(())
}

const LEAD_PREFIX: &str = "00Q";
