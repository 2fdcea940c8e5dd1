//! Permission sets and field-level security: `PermissionSet`, `FieldPermissions` and
//! `PermissionSetAssignment` as ordinary sObjects, and the view of an object a user gets.
//!
//! Salesforce behaviour relied on (Object Reference, "FieldPermissions",
//! "PermissionSetAssignment", "PermissionSet"): a FieldPermissions row grants
//! `PermissionsRead`/`PermissionsEdit` on `Field` (`Object.Field__c`, prefixed with
//! `SobjectType`, a restricted picklist of the org's fields) to the users assigned its parent
//! permission set; edit requires read. A user holds a permission set once: a second
//! assignment fails with `DUPLICATE_VALUE` ("Duplicate PermissionSetAssignment", as the `sf`
//! CLI reports it). A custom field no profile or permission set grants is invisible to the
//! API user: absent from describe, `No such column` in SOQL and writes.
//!
//! Emulator choice: fields created through the Tooling API are `secured` (granted only by
//! permission sets); fields from seeds count as granted by the admin, as in an org where
//! they were set up by hand.

use crate::error::ApiError;
use crate::schema::{FieldDef, FieldType, ObjectDef, obj};
use crate::state::Org;
use serde_json::{Map, Value};
use std::collections::{HashMap, HashSet};

/// The three setup objects, as standard objects of every org.
pub fn objects() -> Vec<ObjectDef> {
    use FieldType::*;
    let mut label = FieldDef::new("Label", String).len(80).required();
    label.label = Some("Label".into());
    let mut name = FieldDef::new("Name", String).len(80).required();
    name.unique = true;
    let mut parent = FieldDef::new("ParentId", Reference).required();
    parent.updateable = false;
    parent.reference_to = vec!["PermissionSet".into()];
    parent.relationship_name = Some("Parent".into());
    let mut sobject = FieldDef::new("SobjectType", String).len(40).required();
    sobject.updateable = false;
    let mut field = FieldDef::new("Field", String).len(100).required();
    field.updateable = false;
    let mut assignee = FieldDef::new("AssigneeId", Reference).required();
    assignee.reference_to = vec!["User".into()];
    assignee.relationship_name = Some("Assignee".into());
    let mut set = FieldDef::new("PermissionSetId", Reference).required();
    set.reference_to = vec!["PermissionSet".into()];
    set.relationship_name = Some("PermissionSet".into());
    vec![
        obj(
            "PermissionSet",
            "0PS",
            false,
            vec![name, label, FieldDef::new("Description", Textarea).len(255)],
        ),
        obj(
            "FieldPermissions",
            "01k",
            false,
            vec![
                parent,
                sobject,
                field,
                FieldDef::new("PermissionsRead", Boolean),
                FieldDef::new("PermissionsEdit", Boolean),
            ],
        ),
        obj("PermissionSetAssignment", "0Pa", false, vec![assignee, set]),
    ]
}

fn text<'a>(rec: &'a Map<String, Value>, key: &str) -> &'a str {
    rec.get(key).and_then(Value::as_str).unwrap_or("")
}

fn flag(rec: &Map<String, Value>, key: &str) -> bool {
    rec.get(key).and_then(Value::as_bool).unwrap_or(false)
}

/// Rules of the setup objects a plain validation cannot express; `self_id` is the record
/// being updated.
pub fn check(
    org: &Org,
    def: &ObjectDef,
    rec: &Map<String, Value>,
    self_id: Option<&str>,
) -> Result<(), ApiError> {
    let others = |object: &'static str| {
        org.store
            .records(object)
            .filter(move |r| !r.deleted && Some(r.id.as_str()) != self_id)
    };
    match def.name.as_str() {
        "FieldPermissions" => {
            let sobject = text(rec, "SobjectType");
            let field = text(rec, "Field");
            let known = field
                .split_once('.')
                .filter(|(o, _)| o.eq_ignore_ascii_case(sobject))
                .and_then(|(o, f)| org.object(o).and_then(|d| d.field(f)))
                .is_some();
            if !known {
                return Err(ApiError::bad(
                    "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
                    format!("Field Name: bad value for restricted picklist field: {field}"),
                )
                .with_fields(vec!["Field".into()]));
            }
            if flag(rec, "PermissionsEdit") && !flag(rec, "PermissionsRead") {
                return Err(ApiError::bad(
                    "FIELD_INTEGRITY_EXCEPTION",
                    "Permission Edit depends on permission(s): Read",
                )
                .with_fields(vec!["PermissionsEdit".into()]));
            }
            let parent = text(rec, "ParentId");
            if let Some(other) = others("FieldPermissions").find(|r| {
                r.get("ParentId").as_str() == Some(parent)
                    && r.get("Field")
                        .as_str()
                        .is_some_and(|f| f.eq_ignore_ascii_case(field))
            }) {
                return Err(ApiError::bad(
                    "DUPLICATE_VALUE",
                    format!(
                        "duplicate value found: <unknown> duplicates value on record with id: {}",
                        other.id
                    ),
                ));
            }
        }
        "PermissionSetAssignment" => {
            let (assignee, set) = (text(rec, "AssigneeId"), text(rec, "PermissionSetId"));
            if others("PermissionSetAssignment").any(|r| {
                r.get("AssigneeId").as_str() == Some(assignee)
                    && r.get("PermissionSetId").as_str() == Some(set)
            }) {
                return Err(ApiError::bad(
                    "DUPLICATE_VALUE",
                    format!(
                        "Duplicate PermissionSetAssignment. Assignee: {assignee}; Permission Set: {set}"
                    ),
                ));
            }
        }
        _ => {}
    }
    Ok(())
}

/// `(read, edit)` per lower-cased field name of `object`, for `user`.
fn grants(org: &Org, user: &str, object: &str) -> HashMap<String, (bool, bool)> {
    let sets: HashSet<&str> = org
        .store
        .records("PermissionSetAssignment")
        .filter(|r| !r.deleted && r.get("AssigneeId").as_str() == Some(user))
        .filter_map(|r| r.get("PermissionSetId").as_str())
        .collect();
    let mut out: HashMap<String, (bool, bool)> = HashMap::new();
    for r in org.store.records("FieldPermissions").filter(|r| !r.deleted) {
        if !r.get("ParentId").as_str().is_some_and(|p| sets.contains(p)) {
            continue;
        }
        let Some((o, f)) = r.get("Field").as_str().and_then(|f| f.split_once('.')) else {
            continue;
        };
        if !o.eq_ignore_ascii_case(object) {
            continue;
        }
        let e = out.entry(f.to_lowercase()).or_default();
        e.0 |= r.get("PermissionsRead") == &Value::Bool(true);
        e.1 |= r.get("PermissionsEdit") == &Value::Bool(true);
    }
    out
}

/// The object as the request's user sees it: secured fields it has no read on are gone,
/// and those it may read but not edit are read-only. Internal (admin) access sees all.
pub fn visible(org: &Org, mut def: ObjectDef) -> ObjectDef {
    let Some(user) = org.acting_user.as_deref() else {
        return def;
    };
    if !def.fields.iter().any(|f| f.secured) {
        return def;
    }
    let grants = grants(org, user, &def.name);
    def.fields.retain_mut(|f| {
        if !f.secured {
            return true;
        }
        match grants.get(&f.name.to_lowercase()) {
            Some((true, edit)) => {
                if !edit {
                    f.createable = false;
                    f.updateable = false;
                }
                true
            }
            _ => false,
        }
    });
    def
}
