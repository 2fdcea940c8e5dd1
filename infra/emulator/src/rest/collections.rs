//! sObject Collections: create, update, upsert, delete (≤200 records, optional allOrNone).

use super::{Ctx, Reply};
use crate::error::ApiError;
use crate::store::Store;
use crate::writes::{self, Upserted};
use axum::http::StatusCode;
use serde_json::{Map, Value, json};

const MAX_RECORDS: usize = 200;

struct Batch {
    all_or_none: bool,
    records: Vec<Value>,
}

fn parse_batch(ctx: &Ctx<'_>) -> Result<Batch, ApiError> {
    let body = ctx.json_body()?;
    let records = body
        .get("records")
        .and_then(Value::as_array)
        .cloned()
        .ok_or_else(|| ApiError::bad("JSON_PARSER_ERROR", "records: expected an array"))?;
    check_size(records.len())?;
    Ok(Batch {
        all_or_none: body
            .get("allOrNone")
            .and_then(Value::as_bool)
            .unwrap_or(false),
        records,
    })
}

fn check_size(n: usize) -> Result<(), ApiError> {
    if n > MAX_RECORDS {
        return Err(ApiError::bad(
            "EXCEEDED_ID_LIMIT",
            "record limit reached. cannot submit more than 200 records into this call",
        ));
    }
    Ok(())
}

/// Collections report a missing record as a cross-reference error, not a 404.
fn record_error(e: &ApiError) -> Value {
    if e.code == "NOT_FOUND" {
        return json!({"statusCode": "INVALID_CROSS_REFERENCE_KEY", "message": "invalid cross reference id", "fields": []});
    }
    e.record_error()
}

fn failure(id: Option<&str>, e: &ApiError) -> Value {
    let mut v = json!({"success": false, "errors": [record_error(e)]});
    if let Some(id) = id {
        v["id"] = json!(id);
    }
    v
}

fn type_of(rec: &Value) -> Result<String, ApiError> {
    rec.get("attributes")
        .and_then(|a| a.get("type"))
        .and_then(Value::as_str)
        .map(str::to_string)
        .ok_or_else(|| ApiError::bad("INVALID_TYPE", "Must send a concrete entity type."))
}

fn fields_of(rec: &Value) -> Map<String, Value> {
    let mut m = rec.as_object().cloned().unwrap_or_default();
    m.remove("attributes");
    m
}

/// Runs `op` per record; with allOrNone, any failure restores the store and marks the
/// successful ones as rolled back.
fn run<F>(ctx: &mut Ctx<'_>, all_or_none: bool, n: usize, mut op: F) -> Reply
where
    F: FnMut(&mut Ctx<'_>, usize) -> (Option<String>, Result<Value, ApiError>),
{
    let snapshot: Option<Store> = all_or_none.then(|| ctx.st.orgs[ctx.org].store.clone());
    let results: Vec<(Option<String>, Result<Value, ApiError>)> =
        (0..n).map(|i| op(ctx, i)).collect();
    let failed = results.iter().any(|(_, r)| r.is_err());
    let out: Vec<Value> = if all_or_none && failed {
        if let Some(s) = snapshot {
            ctx.st.orgs[ctx.org].store = s;
        }
        results
            .iter()
            .map(|(id, r)| match r {
                Err(e) => failure(id.as_deref(), e),
                Ok(_) => {
                    let mut v = json!({"success": false, "errors": [{
                        "statusCode": "ALL_OR_NONE_OPERATION_ROLLED_BACK",
                        "message": "Record rolled back because not all records were valid and the request was using AllOrNone header",
                        "fields": []
                    }]});
                    if let Some(id) = id {
                        v["id"] = json!(id);
                    }
                    v
                }
            })
            .collect()
    } else {
        results
            .into_iter()
            .map(|(id, r)| match r {
                Ok(v) => v,
                Err(e) => failure(id.as_deref(), &e),
            })
            .collect()
    };
    Reply::ok(Value::Array(out))
}

pub fn create(ctx: &mut Ctx<'_>) -> Result<Reply, ApiError> {
    let batch = parse_batch(ctx)?;
    let opts = ctx.write_opts();
    Ok(run(
        ctx,
        batch.all_or_none,
        batch.records.len(),
        |ctx, i| {
            let rec = &batch.records[i];
            let r = (|| {
                let t = type_of(rec)?;
                let fields = fields_of(rec);
                if fields.contains_key("Id") {
                    return Err(ApiError::bad(
                        "INVALID_FIELD",
                        "cannot specify Id in an insert call",
                    )
                    .with_fields(vec!["Id".into()]));
                }
                let id = writes::create(ctx.st, ctx.org, &t, &fields, &opts)?;
                Ok(json!({"id": id, "success": true, "errors": []}))
            })();
            (None, r)
        },
    ))
}

pub fn update(ctx: &mut Ctx<'_>) -> Result<Reply, ApiError> {
    let batch = parse_batch(ctx)?;
    let opts = ctx.write_opts();
    Ok(run(
        ctx,
        batch.all_or_none,
        batch.records.len(),
        |ctx, i| {
            let rec = &batch.records[i];
            // Field names are case-insensitive: the guide's own examples send `id`.
            let id = rec
                .as_object()
                .and_then(|m| m.iter().find(|(k, _)| k.eq_ignore_ascii_case("id")))
                .and_then(|(_, v)| v.as_str())
                .map(str::to_string);
            let r = (|| {
                let t = type_of(rec)?;
                let id = id.clone().ok_or_else(|| {
                    ApiError::bad("MISSING_ARGUMENT", "Id not specified in an update call")
                })?;
                writes::update(ctx.st, ctx.org, &t, &id, &fields_of(rec), &opts)?;
                Ok(json!({"id": id, "success": true, "errors": []}))
            })();
            (id, r)
        },
    ))
}

pub fn delete(ctx: &mut Ctx<'_>) -> Result<Reply, ApiError> {
    let ids: Vec<String> = ctx
        .param("ids")
        .unwrap_or("")
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect();
    check_size(ids.len())?;
    let all_or_none = ctx
        .param("allOrNone")
        .is_some_and(|v| v.eq_ignore_ascii_case("true"));
    let opts = ctx.write_opts();
    Ok(run(ctx, all_or_none, ids.len(), |ctx, i| {
        let id = ids[i].clone();
        let r = (|| {
            let object = crate::ids::normalize(&id)
                .and_then(|n| {
                    ctx.st.orgs[ctx.org]
                        .object_by_prefix(&n)
                        .map(|o| o.name.clone())
                })
                .ok_or_else(|| ApiError::bad("MALFORMED_ID", format!("malformed id {id}")))?;
            writes::delete(ctx.st, ctx.org, &object, &id, &opts)?;
            Ok(json!({"id": id, "success": true, "errors": []}))
        })();
        (Some(ids[i].clone()), r)
    }))
}

pub fn upsert(ctx: &mut Ctx<'_>, t: &str, field: &str) -> Result<Reply, ApiError> {
    let batch = parse_batch(ctx)?;
    let def = writes::object_def(ctx.st, ctx.org, t)?;
    let f = def.field(field).cloned().ok_or_else(|| {
        ApiError::not_found(format!(
            "Provided external ID field does not exist or is not accessible: {field}"
        ))
    })?;
    let opts = ctx.write_opts();
    Ok(run(
        ctx,
        batch.all_or_none,
        batch.records.len(),
        |ctx, i| {
            let rec = &batch.records[i];
            let r = (|| {
                let rt = type_of(rec)?;
                if !rt.eq_ignore_ascii_case(&def.name) {
                    return Err(ApiError::bad(
                        "INVALID_TYPE",
                        format!("Record type {rt} does not match the URL type {}", def.name),
                    ));
                }
                let mut fields = fields_of(rec);
                let key = fields
                    .iter()
                    .find(|(k, _)| k.eq_ignore_ascii_case(&f.name))
                    .map(|(k, v)| (k.clone(), v.clone()));
                let Some((k, v)) = key else {
                    return Err(ApiError::bad(
                        "MISSING_ARGUMENT",
                        format!("{} not specified", f.name),
                    ));
                };
                let value = match &v {
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                };
                fields.remove(&k);
                match writes::upsert(ctx.st, ctx.org, &def.name, &f.name, &value, &fields, &opts)? {
                    Upserted::Created(id) => {
                        Ok(json!({"id": id, "success": true, "errors": [], "created": true}))
                    }
                    Upserted::Updated(id) => {
                        Ok(json!({"id": id, "success": true, "errors": [], "created": false}))
                    }
                    Upserted::Multiple(_) => Err(ApiError::new(
                        StatusCode::MULTIPLE_CHOICES,
                        "DUPLICATE_EXTERNAL_ID",
                        format!(
                            "{}: more than one record found for external id field: {value}",
                            f.name
                        ),
                    )),
                }
            })();
            (None, r)
        },
    ))
}

pub fn retrieve(ctx: &mut Ctx<'_>, t: &str) -> Result<Reply, ApiError> {
    let body = if ctx.method == axum::http::Method::POST {
        ctx.json_body()?
    } else {
        json!({})
    };
    let ids: Vec<String> = match body.get("ids").and_then(Value::as_array) {
        Some(a) => a
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_string)
            .collect(),
        None => ctx
            .param("ids")
            .unwrap_or("")
            .split(',')
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect(),
    };
    let fields: String = match body.get("fields").and_then(Value::as_array) {
        Some(a) => a
            .iter()
            .filter_map(Value::as_str)
            .collect::<Vec<_>>()
            .join(","),
        None => ctx.param("fields").unwrap_or("Id").to_string(),
    };
    check_size(ids.len())?;
    let def = writes::object_def(ctx.st, ctx.org, t)?;
    let mut out = Vec::new();
    for id in &ids {
        let rec = crate::ids::normalize(id)
            .and_then(|n| ctx.st.orgs[ctx.org].store.get(&def.name, &n))
            .filter(|r| !r.deleted)
            .map(|r| r.fields.clone());
        out.push(match rec {
            Some(f) => super::sobjects::render(ctx, &def.name, &f, Some(&fields))?,
            None => Value::Null,
        });
    }
    Ok(Reply::ok(Value::Array(out)))
}

/// The answer to a collections call hit by an injected lock fault: every record fails with
/// `UNABLE_TO_LOCK_ROW` and nothing is written.
pub fn all_locked(ctx: &Ctx<'_>) -> Result<Reply, ApiError> {
    let ids: Vec<Option<String>> = if ctx.method == axum::http::Method::DELETE {
        ctx.param("ids")
            .unwrap_or("")
            .split(',')
            .filter(|s| !s.is_empty())
            .map(|s| Some(s.trim().to_string()))
            .collect()
    } else {
        parse_batch(ctx)?
            .records
            .iter()
            .map(|r| r.get("Id").and_then(Value::as_str).map(str::to_string))
            .collect()
    };
    let lock = ApiError::bad(
        "UNABLE_TO_LOCK_ROW",
        "unable to obtain exclusive access to this record or 1 records",
    );
    Ok(Reply::ok(Value::Array(
        ids.iter().map(|id| failure(id.as_deref(), &lock)).collect(),
    )))
}
