//! Composite (`POST composite`): up to 25 subrequests in one call, with `@{ref.field}`
//! references and optional allOrNone rollback. Counted as one API call.

use super::{Ctx, Reply, parse_query, route};
use crate::error::ApiError;
use axum::body::Bytes;
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode};
use serde_json::{Map, Value, json};

const MAX_SUBREQUESTS: usize = 25;
/// Of those, query and sObject Collections subrequests.
const MAX_QUERIES: usize = 5;

/// Replaces `@{refId.path}` with values from earlier responses.
fn substitute(text: &str, refs: &Map<String, Value>) -> Result<String, String> {
    let mut out = String::new();
    let mut rest = text;
    while let Some(start) = rest.find("@{") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let end = after
            .find('}')
            .ok_or_else(|| format!("unterminated reference in {text}"))?;
        let expr = &after[..end];
        out.push_str(&lookup(expr, refs).ok_or_else(|| expr.to_string())?);
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

/// `ref.id`, `ref.records[0].Id`
fn lookup(expr: &str, refs: &Map<String, Value>) -> Option<String> {
    let mut parts = expr.split('.');
    let mut cur = refs.get(parts.next()?)?;
    for p in parts {
        let (name, index) = match p.split_once('[') {
            Some((n, i)) => (n, Some(i.trim_end_matches(']').parse::<usize>().ok()?)),
            None => (p, None),
        };
        cur = cur.get(name)?;
        if let Some(i) = index {
            cur = cur.get(i)?;
        }
    }
    Some(match cur {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    })
}

fn substitute_value(v: &Value, refs: &Map<String, Value>) -> Result<Value, String> {
    Ok(match v {
        Value::String(s) => Value::String(substitute(s, refs)?),
        Value::Array(a) => Value::Array(
            a.iter()
                .map(|x| substitute_value(x, refs))
                .collect::<Result<_, _>>()?,
        ),
        Value::Object(m) => Value::Object(
            m.iter()
                .map(|(k, x)| Ok((k.clone(), substitute_value(x, refs)?)))
                .collect::<Result<_, String>>()?,
        ),
        other => other.clone(),
    })
}

fn halted(message: &str) -> Value {
    json!([{"errorCode": "PROCESSING_HALTED", "message": message}])
}

pub fn composite(ctx: &mut Ctx<'_>) -> Result<Reply, ApiError> {
    let body = ctx.json_body()?;
    let subs = body
        .get("compositeRequest")
        .and_then(Value::as_array)
        .cloned()
        .ok_or_else(|| ApiError::bad("JSON_PARSER_ERROR", "compositeRequest: expected an array"))?;
    if subs.len() > MAX_SUBREQUESTS {
        return Err(ApiError::bad(
            "INVALID_BATCH_REQUEST",
            format!("Composite request size cannot exceed {MAX_SUBREQUESTS} subrequests"),
        ));
    }
    let heavy = subs
        .iter()
        .filter(|s| {
            let url = s.get("url").and_then(Value::as_str).unwrap_or("");
            url.contains("/query") || url.contains("/composite/sobjects")
        })
        .count();
    if heavy > MAX_QUERIES {
        return Err(ApiError::bad(
            "INVALID_BATCH_REQUEST",
            format!(
                "A composite request can contain at most {MAX_QUERIES} query or sObject Collections subrequests"
            ),
        ));
    }
    for sub in &subs {
        check_sub_headers(sub)?;
    }
    let all_or_none = body
        .get("allOrNone")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    let (out, _) = run_transaction(ctx, &subs, all_or_none);
    Ok(Reply::ok(json!({"compositeResponse": out})))
}

/// Runs subrequests in order with `@{ref}` substitution; with `all_or_none`, a failure rolls
/// the org's data back and turns every other answer into `PROCESSING_HALTED`. Returns the
/// subresponses and whether any failed. Shared by composite and composite graph (where
/// each graph is all or none).
pub(super) fn run_transaction(
    ctx: &mut Ctx<'_>,
    subs: &[Value],
    all_or_none: bool,
) -> (Vec<Value>, bool) {
    let snapshot = all_or_none.then(|| ctx.st.orgs[ctx.org].store.clone());
    let mut refs = Map::new();
    let mut out: Vec<Value> = Vec::new();
    let mut failed = false;
    for sub in subs {
        let reference = sub
            .get("referenceId")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        if failed && all_or_none {
            out.push(json!({"body": halted("The transaction was rolled back since another operation in the same transaction failed."), "httpHeaders": {}, "httpStatusCode": 400, "referenceId": reference}));
            continue;
        }
        let (status, resp_body) = match run_sub(ctx, sub, &refs) {
            Ok(r) => (r.status, r.body.unwrap_or(Value::Null)),
            Err(e) => (e.status, e.body()),
        };
        if status.as_u16() >= 400 {
            failed = true;
        } else {
            refs.insert(reference.clone(), resp_body.clone());
        }
        // Like Salesforce, a subrequest that created a record carries its Location.
        let headers = match (status.as_u16(), resp_body.get("id").and_then(Value::as_str)) {
            (201, Some(id)) => json!({"Location": location(sub, id)}),
            _ => json!({}),
        };
        out.push(json!({"body": resp_body, "httpHeaders": headers, "httpStatusCode": status.as_u16(), "referenceId": reference}));
    }
    if failed && all_or_none {
        if let Some(s) = snapshot {
            ctx.st.orgs[ctx.org].store = s;
        }
        for entry in out.iter_mut() {
            if entry["httpStatusCode"].as_u64().is_some_and(|c| c < 400) {
                entry["body"] = halted(
                    "The transaction was rolled back since another operation in the same transaction failed.",
                );
                entry["httpStatusCode"] = json!(400);
            }
        }
    }
    (out, failed)
}

/// `{subrequest url}/{id}` without a query string, e.g. `/services/data/v62.0/sobjects/Account/001…`.
fn location(sub: &Value, id: &str) -> String {
    let url = sub.get("url").and_then(Value::as_str).unwrap_or("");
    let path = url.split('?').next().unwrap_or("").trim_end_matches('/');
    format!("{path}/{id}")
}

/// Headers a subrequest inherits from the composite request; any other it carries itself
/// in `httpHeaders` (REST API Developer Guide, "Composite Subrequest").
const INHERITED: [&str; 3] = ["accept", "authorization", "content-type"];

/// A subrequest naming an inherited header fails the whole request with 400.
fn check_sub_headers(sub: &Value) -> Result<(), ApiError> {
    let Some(headers) = sub.get("httpHeaders") else {
        return Ok(());
    };
    let headers = headers.as_object().ok_or_else(|| {
        ApiError::bad(
            "JSON_PARSER_ERROR",
            "httpHeaders: expected an object of strings",
        )
    })?;
    for (name, value) in headers {
        if INHERITED.contains(&name.to_ascii_lowercase().as_str()) {
            return Err(ApiError::bad(
                "INVALID_BATCH_REQUEST",
                format!("The {name} header cannot be set on a subrequest"),
            ));
        }
        if !value.is_string() {
            return Err(ApiError::bad(
                "JSON_PARSER_ERROR",
                format!("httpHeaders.{name}: expected a string"),
            ));
        }
    }
    Ok(())
}

/// The inherited headers of the composite request plus the subrequest's own `httpHeaders`:
/// e.g. `Sforce-Query-Options` on the composite request does not reach its queries.
fn sub_headers(top: &HeaderMap, sub: &Value) -> HeaderMap {
    let mut headers: HeaderMap = top
        .iter()
        .filter(|(name, _)| INHERITED.contains(&name.as_str()))
        .map(|(name, value)| (name.clone(), value.clone()))
        .collect();
    if let Some(own) = sub.get("httpHeaders").and_then(Value::as_object) {
        for (name, value) in own {
            if let (Ok(name), Some(Ok(value))) = (
                HeaderName::from_bytes(name.as_bytes()),
                value.as_str().map(HeaderValue::from_str),
            ) {
                headers.insert(name, value);
            }
        }
    }
    headers
}

fn run_sub(ctx: &mut Ctx<'_>, sub: &Value, refs: &Map<String, Value>) -> Result<Reply, ApiError> {
    let method: Method = sub
        .get("method")
        .and_then(Value::as_str)
        .unwrap_or("GET")
        .parse()
        .map_err(|_| ApiError::bad("INVALID_BATCH_REQUEST", "invalid method"))?;
    let url = sub.get("url").and_then(Value::as_str).unwrap_or("");
    let url = substitute(url, refs).map_err(|r| {
        ApiError::bad(
            "PROCESSING_HALTED",
            format!("Invalid reference specified. No value for {r} found"),
        )
    })?;
    let body = match sub.get("body") {
        Some(b) => serde_json::to_vec(&substitute_value(b, refs).map_err(|r| {
            ApiError::bad(
                "PROCESSING_HALTED",
                format!("Invalid reference specified. No value for {r} found"),
            )
        })?)
        .unwrap_or_default(),
        None => Vec::new(),
    };
    let (path, query) = url.split_once('?').unwrap_or((&url, ""));
    let rest = path
        .strip_prefix("/services/data/")
        .ok_or_else(|| ApiError::not_found("The requested resource does not exist"))?;
    let mut segs = rest
        .split('/')
        .filter(|s| !s.is_empty())
        .map(str::to_string);
    let version = segs.next().unwrap_or_default();
    let mut sub_ctx = Ctx {
        st: ctx.st,
        org: ctx.org,
        user_id: ctx.user_id.clone(),
        version,
        method,
        segments: segs.collect(),
        params: parse_query(Some(query)),
        headers: sub_headers(&ctx.headers, sub),
        body: Bytes::from(body),
    };
    let nested = matches!(
        sub_ctx
            .segments
            .iter()
            .map(String::as_str)
            .collect::<Vec<_>>()
            .as_slice(),
        ["composite"] | ["composite", "graph"]
    );
    if nested {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "INVALID_BATCH_REQUEST",
            "Composite requests cannot be nested",
        ));
    }
    route(&mut sub_ctx)
}
