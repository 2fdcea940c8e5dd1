//! The Tooling API's `CustomField` (`/services/data/vNN.0/tooling/…`): create, query, read
//! and delete custom fields; a new field shows in describe at once.
//!
//! Salesforce behaviour relied on (Tooling API Developer Guide, "CustomField"; Metadata API
//! Developer Guide, "CustomField"): `POST tooling/sobjects/CustomField` takes `FullName`
//! (`Contact.Foo__c`) and a `Metadata` object (`label`, `type` Text/Number/Checkbox/Date/
//! DateTime/Picklist, `length`, `precision`/`scale`, `externalId`, `unique`, `defaultValue`,
//! `valueSet.valueSetDefinition.value[]`) and answers like an sObject create
//! (`{"id":"00N…","success":true,"errors":[]}`). `DeveloperName` is the name without `__c`;
//! `TableEnumOrId` is the object's name for standard objects. A query answers
//! `{"size","totalSize","done","queryLocator":null,"entityTypeName":"CustomField","records"}`
//! (recorded Tooling API samples). A duplicate name fails with `DUPLICATE_DEVELOPER_NAME`
//! (SOAP API error codes: "You cannot create a custom object or custom field with a
//! duplicate developer name"). Creating metadata needs Customize Application.
//!
//! Emulator choices where the guides are silent: a user without Customize Application gets
//! `400 INSUFFICIENT_ACCESS_OR_READONLY`; a Checkbox without `defaultValue` and the other
//! Metadata checks fail with `FIELD_INTEGRITY_EXCEPTION`; field types beyond the six above
//! are refused the same way.

use crate::error::ApiError;
use crate::rest::{Ctx, Reply};
use crate::schema::{FieldDef, FieldType};
use crate::soql::ast::{CmpOp, Expr, Literal, SelectItem};
use axum::http::StatusCode;
use serde_json::{Map, Value, json};

const COLUMNS: &[&str] = &[
    "Id",
    "DeveloperName",
    "TableEnumOrId",
    "NamespacePrefix",
    "FullName",
];

pub fn route(ctx: &mut Ctx<'_>) -> Result<Reply, ApiError> {
    let seg: Vec<String> = ctx.segments.clone();
    let s: Vec<&str> = seg.iter().map(String::as_str).collect();
    match (ctx.method.as_str(), s.as_slice()) {
        ("GET", ["tooling", "query"]) => query(ctx),
        ("POST", ["tooling", "sobjects", t]) if t.eq_ignore_ascii_case("CustomField") => {
            create(ctx)
        }
        ("GET", ["tooling", "sobjects", t, id]) if t.eq_ignore_ascii_case("CustomField") => {
            let row = rows(ctx)
                .into_iter()
                .find(|r| r["Id"].as_str() == Some(id))
                .ok_or_else(|| ApiError::not_found("The requested resource does not exist"))?;
            Ok(Reply::ok(render(ctx, &row, None)))
        }
        ("DELETE", ["tooling", "sobjects", t, id]) if t.eq_ignore_ascii_case("CustomField") => {
            delete(ctx, id)
        }
        _ => Err(ApiError::not_found("The requested resource does not exist")),
    }
}

fn refuse_without_customize(ctx: &Ctx<'_>) -> Result<(), ApiError> {
    if ctx.st.orgs[ctx.org]
        .no_customize_application
        .contains(&ctx.user_id)
    {
        return Err(ApiError::bad(
            "INSUFFICIENT_ACCESS_OR_READONLY",
            "insufficient access rights on object id",
        ));
    }
    Ok(())
}

fn integrity(message: impl Into<String>) -> ApiError {
    ApiError::bad("FIELD_INTEGRITY_EXCEPTION", message)
}

/// `Foo_Bar` is a valid developer name: a letter first, letters, digits and single
/// underscores, no trailing underscore, at most 40 characters.
fn valid_developer_name(base: &str) -> bool {
    base.len() <= 40
        && base.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
        && base.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        && !base.contains("__")
        && !base.ends_with('_')
}

fn u32_of(meta: &Map<String, Value>, key: &str) -> Option<u32> {
    meta.get(key).and_then(|v| match v {
        Value::Number(n) => n.as_u64().and_then(|n| u32::try_from(n).ok()),
        Value::String(s) => s.parse().ok(),
        _ => None,
    })
}

fn bool_of(meta: &Map<String, Value>, key: &str) -> bool {
    match meta.get(key) {
        Some(Value::Bool(b)) => *b,
        Some(Value::String(s)) => s == "true",
        _ => false,
    }
}

/// The field a `Metadata` object describes.
fn field_from_metadata(name: &str, meta: &Map<String, Value>) -> Result<FieldDef, ApiError> {
    let label = meta
        .get("label")
        .and_then(Value::as_str)
        .filter(|l| !l.trim().is_empty())
        .ok_or_else(|| integrity("Label: You must enter a value"))?;
    let kind = meta
        .get("type")
        .and_then(Value::as_str)
        .ok_or_else(|| integrity("Data Type: You must enter a value"))?;
    let ftype = match kind {
        "Text" => FieldType::String,
        "Number" => FieldType::Double,
        "Checkbox" => FieldType::Boolean,
        "Date" => FieldType::Date,
        "DateTime" => FieldType::Datetime,
        "Picklist" => FieldType::Picklist,
        other => return Err(integrity(format!("Unsupported field type: {other}"))),
    };
    let mut f = FieldDef::new(name, ftype);
    f.label = Some(label.to_string());
    f.secured = true;
    match ftype {
        FieldType::String => {
            let n = u32_of(meta, "length")
                .filter(|n| (1..=255).contains(n))
                .ok_or_else(|| integrity("Length: must be between 1 and 255"))?;
            f.length = Some(n);
        }
        FieldType::Double => {
            let p = u32_of(meta, "precision")
                .filter(|n| (1..=18).contains(n))
                .ok_or_else(|| integrity("Length: precision must be between 1 and 18"))?;
            let s = u32_of(meta, "scale").unwrap_or(0);
            if s > p {
                return Err(integrity("Decimal Places: scale cannot exceed precision"));
            }
            f.precision = Some(p);
            f.scale = Some(s);
        }
        FieldType::Boolean => {
            if meta.get("defaultValue").is_none_or(Value::is_null) {
                return Err(integrity(
                    "Default Value: a Checkbox field requires a default value",
                ));
            }
            f.nillable = false;
            f.defaulted_on_create = true;
        }
        FieldType::Picklist => {
            let values = meta
                .get("valueSet")
                .and_then(|v| v.get("valueSetDefinition"))
                .and_then(|v| v.get("value"))
                .and_then(Value::as_array)
                .filter(|v| !v.is_empty())
                .ok_or_else(|| integrity("Values: a Picklist needs at least one value"))?;
            for v in values {
                let name = v
                    .get("fullName")
                    .and_then(Value::as_str)
                    .ok_or_else(|| integrity("Values: each value needs a fullName"))?;
                if bool_of(v.as_object().unwrap_or(&Map::new()), "default") {
                    f.default_picklist_value = Some(name.to_string());
                }
                f.picklist_values.push(name.to_string());
            }
            f.restricted_picklist = meta
                .get("valueSet")
                .and_then(Value::as_object)
                .is_some_and(|v| bool_of(v, "restricted"));
        }
        _ => {}
    }
    let (external, unique) = (bool_of(meta, "externalId"), bool_of(meta, "unique"));
    if (external || unique) && !matches!(ftype, FieldType::String | FieldType::Double) {
        return Err(integrity(
            "External ID and Unique apply to Text, Number and Email fields only",
        ));
    }
    f.external_id = external;
    f.id_lookup = external;
    f.unique = unique;
    Ok(f)
}

fn create(ctx: &mut Ctx<'_>) -> Result<Reply, ApiError> {
    refuse_without_customize(ctx)?;
    let body = crate::rest::sobjects::body_object(ctx)?;
    let full = body
        .get("FullName")
        .and_then(Value::as_str)
        .ok_or_else(|| {
            ApiError::bad(
                "REQUIRED_FIELD_MISSING",
                "Required fields are missing: [FullName]",
            )
            .with_fields(vec!["FullName".into()])
        })?;
    let meta = body
        .get("Metadata")
        .and_then(Value::as_object)
        .ok_or_else(|| {
            ApiError::bad(
                "REQUIRED_FIELD_MISSING",
                "Required fields are missing: [Metadata]",
            )
            .with_fields(vec!["Metadata".into()])
        })?;
    let (object, name) = full
        .split_once('.')
        .ok_or_else(|| integrity(format!("Invalid FullName: {full}")))?;
    let org = &ctx.st.orgs[ctx.org];
    let def = org
        .object(object)
        .filter(|d| !d.queryable_only)
        .ok_or_else(|| integrity(format!("Cannot find the entity: {object}")))?;
    let base = name
        .strip_suffix("__c")
        .filter(|b| valid_developer_name(b))
        .ok_or_else(|| {
            integrity(format!(
                "Field Name: {name} is not a valid custom field name (letters, digits, single underscores, ending in __c)"
            ))
        })?;
    if def.field(name).is_some() {
        return Err(ApiError::bad(
            "DUPLICATE_DEVELOPER_NAME",
            format!("There is already a field named {base} on {}.", def.name),
        ));
    }
    let object = def.name.clone();
    let field = field_from_metadata(name, meta)?;
    let id = tooling_id(ctx, &object, &field.name);
    let org = &mut ctx.st.orgs[ctx.org];
    if let Some(def) = org.schema.get_mut(&object) {
        def.fields.push(field);
    }
    Ok(Reply::status(
        StatusCode::CREATED,
        Some(json!({"id": id, "success": true, "errors": [], "warnings": [], "infos": []})),
    ))
}

fn delete(ctx: &mut Ctx<'_>, id: &str) -> Result<Reply, ApiError> {
    refuse_without_customize(ctx)?;
    let row = rows(ctx)
        .into_iter()
        .find(|r| r["Id"].as_str() == Some(id))
        .ok_or_else(|| ApiError::not_found("The requested resource does not exist"))?;
    let (object, field) = (
        row["TableEnumOrId"].as_str().unwrap_or(""),
        format!("{}__c", row["DeveloperName"].as_str().unwrap_or("")),
    );
    let org = &mut ctx.st.orgs[ctx.org];
    if let Some(def) = org.schema.get_mut(object) {
        def.fields.retain(|f| !f.name.eq_ignore_ascii_case(&field));
    }
    org.tooling_ids.remove(&format!("{object}.{field}"));
    Ok(Reply::status(StatusCode::NO_CONTENT, None))
}

fn tooling_id(ctx: &mut Ctx<'_>, object: &str, field: &str) -> String {
    let key = format!("{object}.{field}");
    if let Some(id) = ctx.st.orgs[ctx.org].tooling_ids.get(&key) {
        return id.clone();
    }
    let n = ctx.st.next_seq();
    let id = crate::ids::make_id("00N", n);
    ctx.st.orgs[ctx.org].tooling_ids.insert(key, id.clone());
    id
}

/// Every custom field of the org (whoever may see it: Tooling reads metadata, not data).
fn rows(ctx: &mut Ctx<'_>) -> Vec<Map<String, Value>> {
    let fields: Vec<(String, String)> = ctx.st.orgs[ctx.org]
        .schema
        .values()
        .flat_map(|o| {
            o.fields
                .iter()
                .filter(|f| f.name.ends_with("__c"))
                .map(|f| (o.name.clone(), f.name.clone()))
        })
        .collect();
    fields
        .into_iter()
        .map(|(object, field)| {
            let id = tooling_id(ctx, &object, &field);
            let mut row = Map::new();
            row.insert("Id".into(), json!(id));
            row.insert("DeveloperName".into(), json!(field.trim_end_matches("__c")));
            row.insert("TableEnumOrId".into(), json!(object));
            row.insert("NamespacePrefix".into(), Value::Null);
            row.insert("FullName".into(), json!(format!("{object}.{field}")));
            row
        })
        .collect()
}

fn render(ctx: &Ctx<'_>, row: &Map<String, Value>, only: Option<&[String]>) -> Value {
    let id = row["Id"].as_str().unwrap_or("");
    let mut out = Map::new();
    out.insert(
        "attributes".into(),
        json!({"type": "CustomField", "url": format!("/services/data/{}/tooling/sobjects/CustomField/{id}", ctx.version)}),
    );
    for col in COLUMNS {
        if only.is_none_or(|o| o.iter().any(|c| c.eq_ignore_ascii_case(col))) {
            out.insert((*col).into(), row[*col].clone());
        }
    }
    Value::Object(out)
}

fn column(row: &Map<String, Value>, name: &str) -> Option<Value> {
    COLUMNS
        .iter()
        .find(|c| c.eq_ignore_ascii_case(name))
        .map(|c| row[*c].clone())
}

fn literal_eq(v: &Value, lit: &Literal) -> bool {
    match (v, lit) {
        (Value::Null, Literal::Null) => true,
        (Value::String(a), Literal::String(b)) => a.eq_ignore_ascii_case(b),
        _ => false,
    }
}

fn matches(row: &Map<String, Value>, e: &Expr) -> Result<bool, String> {
    Ok(match e {
        Expr::And(a, b) => matches(row, a)? && matches(row, b)?,
        Expr::Or(a, b) => matches(row, a)? || matches(row, b)?,
        Expr::Not(a) => !matches(row, a)?,
        Expr::Cmp {
            path, op, value, ..
        } => {
            let v = column(row, &path.dotted()).ok_or_else(|| path.dotted())?;
            match op {
                CmpOp::Eq => literal_eq(&v, value),
                CmpOp::Ne => !literal_eq(&v, value),
                _ => return Err(path.dotted()),
            }
        }
        Expr::In {
            path,
            negated,
            values,
            ..
        } => {
            let v = column(row, &path.dotted()).ok_or_else(|| path.dotted())?;
            values.iter().any(|l| literal_eq(&v, l)) != *negated
        }
        Expr::Like { path, .. } | Expr::Includes { path, .. } => return Err(path.dotted()),
    })
}

fn no_column(name: &str) -> ApiError {
    ApiError::bad(
        "INVALID_FIELD",
        format!(
            "No such column '{name}' on entity 'CustomField'. If you are attempting to use a custom field, be sure to append the '__c' after the custom field name."
        ),
    )
}

fn query(ctx: &mut Ctx<'_>) -> Result<Reply, ApiError> {
    let q = ctx
        .param("q")
        .ok_or_else(|| ApiError::bad("MALFORMED_QUERY", "A query string has to be specified"))?
        .to_string();
    let parsed = crate::soql::parser::parse(&q).map_err(|e| e.to_api(&q))?;
    if !parsed.object.eq_ignore_ascii_case("CustomField") {
        return Err(ApiError::bad(
            "INVALID_TYPE",
            format!("sObject type '{}' is not supported.", parsed.object),
        ));
    }
    let mut select = Vec::new();
    for item in &parsed.select {
        match item {
            SelectItem::Field(p) => {
                let name = p.dotted();
                if !COLUMNS.iter().any(|c| c.eq_ignore_ascii_case(&name)) {
                    return Err(no_column(&name));
                }
                select.push(name);
            }
            _ => return Err(ApiError::bad("MALFORMED_QUERY", "unsupported select item")),
        }
    }
    let mut out = Vec::new();
    for row in rows(ctx) {
        let keep = match &parsed.filter {
            Some(e) => matches(&row, e).map_err(|c| no_column(&c))?,
            None => true,
        };
        if keep {
            out.push(render(ctx, &row, Some(&select)));
        }
    }
    let n = out.len();
    Ok(Reply::ok(json!({
        "size": n,
        "totalSize": n,
        "done": true,
        "queryLocator": null,
        "entityTypeName": "CustomField",
        "records": out,
    })))
}
