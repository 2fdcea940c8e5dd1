//! Single-record resources: create, read, update, delete, upsert.

use super::{Ctx, Reply};
use crate::error::ApiError;
use crate::writes::{self, Upserted};
use axum::http::StatusCode;
use serde_json::{Map, Value, json};

pub fn body_object(ctx: &Ctx<'_>) -> Result<Map<String, Value>, ApiError> {
    match ctx.json_body()? {
        Value::Object(m) => Ok(m),
        _ => Err(ApiError::bad(
            "JSON_PARSER_ERROR",
            "Cannot deserialize SObject from a non-object JSON value",
        )),
    }
}

pub fn create(ctx: &mut Ctx<'_>, t: &str) -> Result<Reply, ApiError> {
    let body = body_object(ctx)?;
    let opts = ctx.write_opts();
    let id = writes::create(ctx.st, ctx.org, t, &body, &opts)?;
    Ok(Reply::status(
        StatusCode::CREATED,
        Some(json!({"id": id, "success": true, "errors": []})),
    ))
}

/// Renders a stored record with `attributes`, optionally only the `fields=` listed.
pub fn render(
    ctx: &Ctx<'_>,
    object: &str,
    fields: &Map<String, Value>,
    only: Option<&str>,
) -> Result<Value, ApiError> {
    let def = writes::object_def(ctx.st, ctx.org, object)?;
    let id = fields.get("Id").cloned().unwrap_or(Value::Null);
    let mut out = Map::new();
    out.insert(
        "attributes".into(),
        json!({"type": def.name, "url": format!("/services/data/{}/sobjects/{}/{}", ctx.version, def.name, id.as_str().unwrap_or(""))}),
    );
    match only {
        Some(list) => {
            for name in list.split(',').map(str::trim).filter(|s| !s.is_empty()) {
                let f = def.field(name).ok_or_else(|| {
                    ApiError::bad(
                        "INVALID_FIELD",
                        format!("No such column '{name}' on entity '{}'", def.name),
                    )
                })?;
                out.insert(
                    f.name.clone(),
                    fields.get(&f.name).cloned().unwrap_or(Value::Null),
                );
            }
        }
        None => {
            for f in &def.fields {
                out.insert(
                    f.name.clone(),
                    fields.get(&f.name).cloned().unwrap_or(Value::Null),
                );
            }
        }
    }
    Ok(Value::Object(out))
}

pub fn get(ctx: &mut Ctx<'_>, t: &str, id: &str) -> Result<Reply, ApiError> {
    let def = writes::object_def(ctx.st, ctx.org, t)?;
    let not_found = || {
        ApiError::not_found(format!(
            "Provided external ID field does not exist or is not accessible: {id}"
        ))
    };
    let norm = writes::check_id(&def, id).map_err(|_| not_found())?;
    let rec = ctx.st.orgs[ctx.org]
        .store
        .get(&def.name, &norm)
        .filter(|r| !r.deleted)
        .ok_or_else(|| ApiError::not_found("The requested resource does not exist"))?;
    let fields = rec.fields.clone();
    let only = ctx.param("fields").map(str::to_string);
    Ok(Reply::ok(render(ctx, &def.name, &fields, only.as_deref())?))
}

pub fn update(ctx: &mut Ctx<'_>, t: &str, id: &str) -> Result<Reply, ApiError> {
    let body = body_object(ctx)?;
    let opts = ctx.write_opts();
    writes::update(ctx.st, ctx.org, t, id, &body, &opts)?;
    Ok(Reply::status(StatusCode::NO_CONTENT, None))
}

pub fn delete(ctx: &mut Ctx<'_>, t: &str, id: &str) -> Result<Reply, ApiError> {
    let opts = ctx.write_opts();
    writes::delete(ctx.st, ctx.org, t, id, &opts)?;
    Ok(Reply::status(StatusCode::NO_CONTENT, None))
}

fn matching_ids(
    ctx: &Ctx<'_>,
    t: &str,
    field: &str,
    value: &str,
) -> Result<(String, Vec<String>), ApiError> {
    let def = writes::object_def(ctx.st, ctx.org, t)?;
    let f = def.field(field).ok_or_else(|| {
        ApiError::not_found(format!(
            "Provided external ID field does not exist or is not accessible: {field}"
        ))
    })?;
    let key = Value::String(value.to_string());
    let ids = ctx.st.orgs[ctx.org]
        .store
        .records(&def.name)
        .filter(|r| !r.deleted && crate::validate::eq_ci(r.get(&f.name), &key))
        .map(|r| r.id.clone())
        .collect();
    Ok((def.name.clone(), ids))
}

fn multiple(ctx: &Ctx<'_>, object: &str, ids: &[String]) -> Reply {
    let urls: Vec<String> = ids
        .iter()
        .map(|id| format!("/services/data/{}/sobjects/{object}/{id}", ctx.version))
        .collect();
    Reply::status(StatusCode::MULTIPLE_CHOICES, Some(json!(urls)))
}

pub fn get_by_field(
    ctx: &mut Ctx<'_>,
    t: &str,
    field: &str,
    value: &str,
) -> Result<Reply, ApiError> {
    let (object, ids) = matching_ids(ctx, t, field, value)?;
    match ids.as_slice() {
        [] => Err(ApiError::not_found("The requested resource does not exist")),
        [id] => {
            let id = id.clone();
            get(ctx, &object, &id)
        }
        _ => Ok(multiple(ctx, &object, &ids)),
    }
}

pub fn delete_by_field(
    ctx: &mut Ctx<'_>,
    t: &str,
    field: &str,
    value: &str,
) -> Result<Reply, ApiError> {
    let (object, ids) = matching_ids(ctx, t, field, value)?;
    match ids.as_slice() {
        [] => Err(ApiError::not_found("The requested resource does not exist")),
        [id] => {
            let id = id.clone();
            delete(ctx, &object, &id)
        }
        _ => Ok(multiple(ctx, &object, &ids)),
    }
}

/// "Do not specify Id or an external ID field in the request body or an error is
/// generated" (REST API Developer Guide, "Upsert Records Using sObject Rows by External
/// ID"): the key goes in the URL only. (The error's code is not documented; the emulator
/// answers `INVALID_FIELD`.)
pub fn upsert(ctx: &mut Ctx<'_>, t: &str, field: &str, value: &str) -> Result<Reply, ApiError> {
    let body = body_object(ctx)?;
    if let Some(k) = body.keys().find(|k| k.eq_ignore_ascii_case(field)) {
        return Err(ApiError::bad(
            "INVALID_FIELD",
            format!("The external ID field {k} cannot be set in the body when it is in the URL"),
        )
        .with_fields(vec![k.clone()]));
    }
    let opts = ctx.write_opts();
    match writes::upsert(ctx.st, ctx.org, t, field, value, &body, &opts)? {
        Upserted::Created(id) => Ok(Reply::status(
            StatusCode::CREATED,
            Some(json!({"id": id, "success": true, "errors": [], "created": true})),
        )),
        Upserted::Updated(id) => Ok(Reply::ok(
            json!({"id": id, "success": true, "errors": [], "created": false}),
        )),
        Upserted::Multiple(ids) => {
            let object = writes::object_def(ctx.st, ctx.org, t)?.name;
            Ok(multiple(ctx, &object, &ids))
        }
    }
}
