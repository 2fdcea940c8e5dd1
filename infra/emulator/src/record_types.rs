//! Record types: the org spec's `RecordType` rows, the `RecordTypeId` lookup they add to
//! their objects, describe's `recordTypeInfos`, the default for records created without
//! one, and the check a write naming one gets.

use crate::error::{ApiError, EmulatorError};
use crate::schema::{FieldDef, FieldType, ObjectDef};
use crate::spec::RecordTypeSpec;
use crate::state::{Org, State};
use crate::writes::WriteOpts;
use serde_json::{Map, Value, json};
use std::collections::BTreeMap;

/// Master's id: every object has it, even without custom record types.
pub const MASTER_ID: &str = "012000000000000AAA";

/// Adds `RecordTypeId` to each object the spec names.
pub fn add_fields(
    schema: &mut BTreeMap<String, ObjectDef>,
    specs: &[RecordTypeSpec],
) -> Result<(), EmulatorError> {
    for (i, rt) in specs.iter().enumerate() {
        let Some(def) = schema.get_mut(rt.object.as_str()) else {
            return Err(EmulatorError::Seed {
                path: format!("recordTypes[{i}].object"),
                message: format!("unknown object `{}`", rt.object),
            });
        };
        if def.field("RecordTypeId").is_none() {
            let mut f = FieldDef::new("RecordTypeId", FieldType::Reference);
            f.label = Some("Record Type ID".into());
            f.reference_to = vec!["RecordType".into()];
            f.relationship_name = Some("RecordType".into());
            def.fields.push(f);
        }
    }
    Ok(())
}

/// Inserts the `RecordType` rows; returns each object's default record type id.
pub fn seed(
    st: &mut State,
    org: usize,
    specs: &[RecordTypeSpec],
) -> Result<BTreeMap<String, String>, EmulatorError> {
    let admin = WriteOpts {
        admin: true,
        ..WriteOpts::default()
    };
    let mut ids = Vec::new();
    for rt in specs {
        let row = json!({"Name": rt.label(), "DeveloperName": rt.developer_name,
                         "SobjectType": rt.object, "IsActive": rt.active});
        let row = row.as_object().cloned().unwrap_or_default();
        ids.push(crate::writes::create(st, org, "RecordType", &row, &admin)?);
    }
    // The flagged default, else the object's first active record type.
    let mut defaults = BTreeMap::new();
    for (rt, id) in specs.iter().zip(ids).filter(|(rt, _)| rt.active) {
        if rt.default || !defaults.contains_key(&rt.object) {
            let flagged_elsewhere = !rt.default
                && specs
                    .iter()
                    .any(|o| o.object == rt.object && o.default && o.active);
            if !flagged_elsewhere {
                defaults.insert(rt.object.clone(), id);
            }
        }
    }
    Ok(defaults)
}

/// The object's record types (live rows), in creation order.
fn rows<'a>(org: &'a Org, object: &'a str) -> impl Iterator<Item = &'a crate::store::Record> {
    org.store
        .records("RecordType")
        .filter(move |r| r.get("SobjectType").as_str() == Some(object))
}

/// Describe's `recordTypeInfos`: the object's record types, then Master (only Master, the
/// default, when the object has none).
pub fn infos(org: &Org, o: &ObjectDef, version: &str) -> Value {
    let default = org.record_type_defaults.get(&o.name);
    let layout = |id: &str| json!({"layout": format!("/services/data/{version}/sobjects/{}/describe/layouts/{id}", o.name)});
    let mut out: Vec<Value> = rows(org, &o.name)
        .map(|r| {
            let active = r.get("IsActive") == &Value::Bool(true);
            json!({
                "active": active,
                "available": active,
                "defaultRecordTypeMapping": default == Some(&r.id),
                "developerName": r.get("DeveloperName"),
                "master": false,
                "name": r.get("Name"),
                "recordTypeId": r.id,
                "urls": layout(&r.id),
            })
        })
        .collect();
    let only_master = out.is_empty();
    out.push(json!({
        "active": true,
        "available": only_master,
        "defaultRecordTypeMapping": only_master,
        "developerName": "Master",
        "master": true,
        "name": "Master",
        "recordTypeId": MASTER_ID,
        "urls": layout(MASTER_ID),
    }));
    Value::Array(out)
}

/// A record created without a record type gets its object's default.
pub fn apply_default(org: &Org, def: &ObjectDef, rec: &mut Map<String, Value>) {
    if rec.get("RecordTypeId").is_none_or(Value::is_null)
        && let Some(id) = org.record_type_defaults.get(&def.name)
    {
        rec.insert("RecordTypeId".into(), Value::String(id.clone()));
    }
}

/// A `RecordTypeId` this write sets must be an active record type of this object.
pub fn check(org: &Org, def: &ObjectDef, input: &Map<String, Value>) -> Result<(), ApiError> {
    let Some(raw) = input
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("RecordTypeId"))
        .and_then(|(_, v)| v.as_str())
    else {
        return Ok(());
    };
    let valid = crate::ids::normalize(raw)
        .and_then(|id| org.store.get("RecordType", &id))
        .is_some_and(|r| {
            r.get("SobjectType").as_str() == Some(def.name.as_str())
                && r.get("IsActive") == &Value::Bool(true)
        });
    if valid {
        return Ok(());
    }
    Err(ApiError::bad(
        "INVALID_CROSS_REFERENCE_KEY",
        format!("Record Type ID: this ID value isn't valid for the user: {raw}"),
    )
    .with_fields(vec!["RecordTypeId".into()]))
}
