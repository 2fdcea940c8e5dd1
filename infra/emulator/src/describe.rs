//! Describe JSON: `sobjects` (global), `sobjects/{Type}` summary and `sobjects/{Type}/describe`.

use crate::schema::{FieldDef, FieldType, ObjectDef};
use crate::state::Org;
use serde_json::{Value, json};

fn urls(o: &ObjectDef, version: &str) -> Value {
    let base = format!("/services/data/{version}/sobjects/{}", o.name);
    json!({
        "sobject": base,
        "describe": format!("{base}/describe"),
        "rowTemplate": format!("{base}/{{ID}}"),
        "uiDetailTemplate": "/{ID}",
        "uiEditTemplate": "/{ID}/e",
        "uiNewRecord": format!("/{}/e", o.key_prefix),
    })
}

/// The per-object entry of the global describe.
pub fn summary(o: &ObjectDef, version: &str) -> Value {
    let writable = !o.queryable_only;
    json!({
        "name": o.name,
        "label": o.label(),
        "labelPlural": o.label_plural(),
        "keyPrefix": o.key_prefix,
        "custom": o.custom,
        "customSetting": false,
        "createable": writable,
        "updateable": writable,
        "deletable": writable,
        "undeletable": writable,
        "mergeable": matches!(o.name.as_str(), "Account" | "Contact" | "Lead"),
        "queryable": true,
        "retrieveable": true,
        "searchable": writable,
        "layoutable": writable,
        "replicateable": writable,
        "triggerable": writable,
        "activateable": false,
        "feedEnabled": false,
        "deprecatedAndHidden": false,
        "urls": urls(o, version),
    })
}

/// Every reference field of the org that points at `parent`, as Salesforce lists them.
fn child_relationships<'a>(
    parent: &str,
    schema: impl IntoIterator<Item = &'a ObjectDef>,
) -> Vec<Value> {
    let mut out = Vec::new();
    for child in schema {
        for f in child.fields.iter().filter(|f| {
            f.reference_to
                .iter()
                .any(|to| to.eq_ignore_ascii_case(parent))
        }) {
            // A required reference is a master-detail here: deleting the parent cascades.
            let cascade = !f.nillable && f.createable && !f.updateable;
            out.push(json!({
                "cascadeDelete": cascade,
                "childSObject": child.name,
                "deprecatedAndHidden": false,
                "field": f.name,
                "relationshipName": plural_relationship(&child.name),
            }));
        }
    }
    out
}

/// `Contact` → `Contacts`, `Opportunity` → `Opportunities`, `Site__c` → `Sites__r`.
fn plural_relationship(object: &str) -> String {
    let (base, custom) = match object.strip_suffix("__c") {
        Some(b) => (b, true),
        None => (object, false),
    };
    let plural = match base.strip_suffix('y') {
        Some(stem) if !stem.ends_with(['a', 'e', 'o', 'u']) => format!("{stem}ies"),
        _ => format!("{base}s"),
    };
    if custom {
        format!("{plural}__r")
    } else {
        plural
    }
}

/// The record type every object has, even without custom record types.
fn master_record_type(o: &ObjectDef, version: &str) -> Value {
    json!({
        "active": true,
        "available": true,
        "defaultRecordTypeMapping": true,
        "developerName": "Master",
        "master": true,
        "name": "Master",
        "recordTypeId": "012000000000000AAA",
        "urls": {"layout": format!("/services/data/{version}/sobjects/{}/describe/layouts/012000000000000AAA", o.name)},
    })
}

pub fn global(org: &Org, version: &str) -> Value {
    let sobjects: Vec<Value> = org.schema.values().map(|o| summary(o, version)).collect();
    json!({"encoding": "UTF-8", "maxBatchSize": 200, "sobjects": sobjects})
}

fn soap_type(t: FieldType) -> &'static str {
    match t {
        FieldType::Id | FieldType::Reference => "tns:ID",
        FieldType::Boolean => "xsd:boolean",
        FieldType::Double | FieldType::Currency | FieldType::Percent => "xsd:double",
        FieldType::Int => "xsd:int",
        FieldType::Date => "xsd:date",
        FieldType::Datetime => "xsd:dateTime",
        _ => "xsd:string",
    }
}

pub fn field(f: &FieldDef) -> Value {
    let picklist: Vec<Value> = f
        .picklist_values
        .iter()
        .map(|v| {
            json!({
                "value": v,
                "label": v,
                "active": true,
                "defaultValue": f.default_picklist_value.as_deref() == Some(v.as_str()),
                "validFor": null,
            })
        })
        .collect();
    let length = if f.ftype.is_text() {
        f.length.unwrap_or(0)
    } else {
        0
    };
    let (precision, scale) = match f.ftype {
        FieldType::Currency | FieldType::Double => (18, 2),
        FieldType::Percent => (3, 0),
        _ => (0, 0),
    };
    let (precision, scale) = (f.precision.unwrap_or(precision), f.scale.unwrap_or(scale));
    json!({
        "name": f.name,
        "label": f.label(),
        "type": f.ftype.as_str(),
        "soapType": soap_type(f.ftype),
        "length": length,
        "byteLength": length * 3,
        "digits": if f.ftype == FieldType::Int { 9 } else { 0 },
        "precision": precision,
        "scale": scale,
        "nillable": f.nillable,
        "createable": f.createable,
        "updateable": f.updateable,
        "calculated": f.calculated,
        "autoNumber": false,
        "externalId": f.external_id,
        "idLookup": f.id_lookup || f.name == "Id",
        "unique": f.unique,
        "caseSensitive": false,
        "custom": f.name.ends_with("__c"),
        "nameField": f.name == "Name",
        "defaultedOnCreate": f.defaulted_on_create,
        "defaultValue": f.default_picklist_value,
        "filterable": true,
        "sortable": f.ftype != FieldType::Textarea,
        "groupable": !matches!(f.ftype, FieldType::Textarea | FieldType::Double | FieldType::Currency | FieldType::Percent | FieldType::Datetime),
        "htmlFormatted": false,
        "dependentPicklist": false,
        "restrictedPicklist": f.restricted_picklist,
        "picklistValues": picklist,
        "referenceTo": f.reference_to,
        "relationshipName": f.relationship_name,
        "polymorphicForeignKey": f.reference_to.len() > 1,
        "cascadeDelete": false,
        "deprecatedAndHidden": false,
        "inlineHelpText": null,
        "calculatedFormula": null,
        "controllerName": null,
        "defaultValueFormula": null,
        "namePointing": false,
        "relationshipOrder": null,
        "writeRequiresMasterRead": false,
    })
}

pub fn describe<'a>(
    o: &ObjectDef,
    schema: impl IntoIterator<Item = &'a ObjectDef>,
    version: &str,
) -> Value {
    let mut v = summary(o, version);
    v["fields"] = Value::Array(o.fields.iter().map(field).collect());
    v["childRelationships"] = Value::Array(child_relationships(&o.name, schema));
    v["listviewable"] = json!(null);
    v["lookupLayoutable"] = json!(null);
    v["searchLayoutable"] = json!(!o.queryable_only);
    v["recordTypeInfos"] = json!([master_record_type(o, version)]);
    v
}
