//! The data API (`/services/data/vNN.0/...`): authentication, faults, limits and counting
//! happen here once; the sub-modules implement the resources.

pub mod admin_http;
pub mod changes;
pub mod collections;
pub mod composite;
pub mod graph;
pub mod limits;
pub mod query;
pub mod sobjects;

use crate::error::ApiError;
use crate::server::Shared;
use crate::spec::LimitHeaderForm;
use crate::state::State;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State as AxState};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use rand::Rng;
use serde_json::Value;

/// A successful answer: status, optional JSON body, extra headers.
#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub body: Option<Value>,
    /// A Bulk API 2.0 answer (CSV bodies and their headers).
    pub bulk: Option<crate::bulk::BulkReply>,
}

impl Reply {
    pub fn ok(body: Value) -> Self {
        Self {
            status: StatusCode::OK,
            body: Some(body),
            bulk: None,
        }
    }
    pub fn status(status: StatusCode, body: Option<Value>) -> Self {
        Self {
            status,
            body,
            bulk: None,
        }
    }
    pub fn bulk(reply: crate::bulk::BulkReply) -> Self {
        Self {
            status: StatusCode::OK,
            body: None,
            bulk: Some(reply),
        }
    }
}

/// Everything a resource handler needs, with the state locked.
pub struct Ctx<'a> {
    pub st: &'a mut State,
    pub org: usize,
    pub user_id: String,
    /// `v62.0` as the caller wrote it.
    pub version: String,
    pub method: Method,
    pub segments: Vec<String>,
    pub params: Vec<(String, String)>,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Ctx<'_> {
    pub fn param(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
    pub fn json_body(&self) -> Result<Value, ApiError> {
        json_body(&self.body)
    }
    pub fn write_opts(&self) -> crate::writes::WriteOpts {
        crate::writes::WriteOpts {
            user_id: Some(self.user_id.clone()),
            stamp: None,
            admin: false,
        }
    }
}

pub fn json_body(body: &[u8]) -> Result<Value, ApiError> {
    serde_json::from_slice(body).map_err(|e| {
        ApiError::bad(
            "JSON_PARSER_ERROR",
            format!("Unexpected character or end of input: {e}"),
        )
    })
}

/// Parses a query string; `+` and `%20` both decode to a space.
pub fn parse_query(raw: Option<&str>) -> Vec<(String, String)> {
    url::form_urlencoded::parse(raw.unwrap_or("").as_bytes())
        .into_owned()
        .collect()
}

fn valid_version(v: &str) -> bool {
    v.strip_prefix('v')
        .and_then(|n| n.split_once('.'))
        .is_some_and(|(a, b)| !a.is_empty() && a.chars().all(|c| c.is_ascii_digit()) && b == "0")
}

/// Resolves the Bearer token to (org, user); expired or unknown → 401.
pub fn authenticate(st: &State, headers: &HeaderMap) -> Result<(usize, String), ApiError> {
    let token = headers
        .get("authorization")
        .and_then(|h| h.to_str().ok())
        .and_then(|h| {
            h.strip_prefix("Bearer ")
                .or_else(|| h.strip_prefix("OAuth "))
        })
        .map(str::trim)
        .ok_or_else(ApiError::invalid_session)?;
    let grant = st.access.get(token).ok_or_else(ApiError::invalid_session)?;
    if grant.expires <= st.clock.now() {
        return Err(ApiError::invalid_session());
    }
    Ok((grant.org, grant.user_id.clone()))
}

/// Endpoint name used for counters, e.g. `query`, `sobject.create`, `collections.update`.
pub fn endpoint_name(method: &Method, seg: &[String]) -> String {
    let s: Vec<&str> = seg.iter().map(String::as_str).collect();
    let m = method.as_str();
    match (m, s.as_slice()) {
        (_, []) => "resources".into(),
        (_, ["limits"]) => "limits".into(),
        (_, ["query"]) => "query".into(),
        (_, ["queryAll"]) => "queryAll".into(),
        (_, ["query" | "queryAll", _]) => "queryMore".into(),
        (_, ["sobjects"]) => "describeGlobal".into(),
        (_, ["sobjects", _, "describe"]) => "describe".into(),
        (_, ["sobjects", _, "updated"]) => "getUpdated".into(),
        (_, ["sobjects", _, "deleted"]) => "getDeleted".into(),
        ("POST", ["sobjects", _]) => "sobject.create".into(),
        ("GET", ["sobjects", _]) => "sobject.info".into(),
        ("GET", ["sobjects", _, _] | ["sobjects", _, _, _]) => "sobject.get".into(),
        ("PATCH", ["sobjects", _, _]) => "sobject.update".into(),
        ("DELETE", ["sobjects", _, _] | ["sobjects", _, _, _]) => "sobject.delete".into(),
        ("PATCH" | "POST", ["sobjects", _, _, _]) => "sobject.upsert".into(),
        ("POST", ["composite", "sobjects"]) => "collections.create".into(),
        ("PATCH", ["composite", "sobjects"]) => "collections.update".into(),
        ("DELETE", ["composite", "sobjects"]) => "collections.delete".into(),
        ("PATCH", ["composite", "sobjects", _, _]) => "collections.upsert".into(),
        ("GET" | "POST", ["composite", "sobjects", _]) => "collections.retrieve".into(),
        (_, ["composite"]) => "composite".into(),
        (_, ["composite", "graph"]) => "composite.graph".into(),
        (_, ["jobs", ..]) => crate::bulk::endpoint_name(m, &s),
        ("GET", ["tooling", "query"]) => "tooling.query".into(),
        ("POST", ["tooling", "sobjects", _]) => "tooling.create".into(),
        ("GET", ["tooling", "sobjects", _, _]) => "tooling.get".into(),
        ("DELETE", ["tooling", "sobjects", _, _]) => "tooling.delete".into(),
        _ => format!("{m} {}", s.join("/")),
    }
}

fn is_write(method: &Method) -> bool {
    matches!(
        *method,
        Method::POST | Method::PATCH | Method::PUT | Method::DELETE
    )
}

/// Whether a request can change data: a write method, except a composite request whose
/// subrequests are all reads (`GET` queries), which commits nothing to lose or lock.
fn writes(method: &Method, segments: &[String], body: &[u8]) -> bool {
    if !is_write(method) {
        return false;
    }
    if method == Method::POST && segments == ["composite"] {
        let subs = json_body(body)
            .ok()
            .and_then(|b| b.get("compositeRequest").and_then(Value::as_array).cloned());
        if let Some(subs) = subs {
            return subs
                .iter()
                .any(|s| s.get("method").and_then(Value::as_str) != Some("GET"));
        }
    }
    true
}

/// The random server faults configured for the org, decided once per request.
enum Injected {
    None,
    Server(u16),
    Lock,
    /// The write commits; its response is lost (answered 500).
    CommitLost,
}

pub async fn data_api(
    AxState(shared): AxState<Shared>,
    Path(params): Path<Vec<(String, String)>>,
    method: Method,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
    body: Bytes,
) -> Response {
    let version = params
        .iter()
        .find(|(k, _)| k == "version")
        .map(|(_, v)| v.clone())
        .unwrap_or_default();
    let rest = params
        .iter()
        .find(|(k, _)| k == "rest")
        .map(|(_, v)| v.clone())
        .unwrap_or_default();
    if !valid_version(&version) {
        return ApiError::not_found("The requested resource does not exist").into_response();
    }
    let segments: Vec<String> = rest
        .split('/')
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect();
    // Phase 1: authenticate and read the fault settings (no await under the lock).
    let (org, user_id, latency, force_401, api_disabled) = {
        let mut st = shared.lock().unwrap_or_else(|e| e.into_inner());
        match authenticate(&st, &headers) {
            Ok((org, user)) => {
                let f = &mut st.orgs[org].faults;
                let unauthorized = f.take_unauthorized();
                (
                    org,
                    user,
                    f.latency_ms,
                    f.force_401 || unauthorized,
                    f.api_disabled,
                )
            }
            Err(e) => return e.into_response(),
        }
    };
    if force_401 {
        return ApiError::invalid_session().into_response();
    }
    if api_disabled {
        return ApiError::new(
            StatusCode::FORBIDDEN,
            "API_DISABLED_FOR_ORG",
            "The REST API is not enabled for this Organization.",
        )
        .into_response();
    }
    if latency > 0 {
        tokio::time::sleep(std::time::Duration::from_millis(latency)).await;
    }
    let mut st = shared.lock().unwrap_or_else(|e| e.into_inner());
    let endpoint = endpoint_name(&method, &segments);
    let result = {
        let o = &st.orgs[org];
        let now = st.clock.now();
        let used = o.meter.used(now);
        if used >= o.settings.daily_api_limit {
            let e = ApiError::new(
                StatusCode::FORBIDDEN,
                "REQUEST_LIMIT_EXCEEDED",
                "TotalRequests Limit exceeded.",
            );
            return with_limit_header(e.into_response(), &limit_info(o, now));
        }
        if let Some(quota) = &o.settings.app_quota
            && o.app_meter.used(now) >= quota.max
        {
            let e = ApiError::new(
                StatusCode::FORBIDDEN,
                "REQUEST_LIMIT_EXCEEDED",
                "TotalRequests Limit exceeded.",
            );
            return with_limit_header(e.into_response(), &limit_info(o, now));
        }
        let faults = o.faults.clone();
        let st_ref: &mut State = &mut st;
        st_ref.orgs[org].meter.add(now, 1);
        st_ref.orgs[org].app_meter.add(now, 1);
        st_ref.orgs[org].count(&endpoint);
        let injected = {
            let rng = &mut st_ref.rng;
            if faults.error_rate > 0.0 && rng.random_bool(faults.error_rate.clamp(0.0, 1.0)) {
                Injected::Server(faults.error_status.unwrap_or(500))
            } else if writes(&method, &segments, &body)
                && faults.lock_row_rate > 0.0
                && rng.random_bool(faults.lock_row_rate.clamp(0.0, 1.0))
            {
                Injected::Lock
            } else if writes(&method, &segments, &body) && faults.loses_commit(rng) {
                Injected::CommitLost
            } else {
                Injected::None
            }
        };
        let mut ctx = Ctx {
            st: st_ref,
            org,
            user_id,
            version,
            method,
            segments,
            params: parse_query(raw.as_deref()),
            headers,
            body,
        };
        // Field-level security applies to this request's user (see `permissions`).
        ctx.st.orgs[org].acting_user = Some(ctx.user_id.clone());
        let result = match injected {
            Injected::Server(503) => Err(ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "SERVER_UNAVAILABLE",
                "Server temporarily unavailable, please retry",
            )),
            Injected::Server(code) => Err(ApiError::new(
                StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
                "UNKNOWN_EXCEPTION",
                "An unexpected error occurred. Please include this ErrorId if you contact support: 1234567890-12345 (-123456789)",
            )),
            // Collections report lock failures per record, with HTTP 200.
            Injected::Lock
                if endpoint.starts_with("collections.") && endpoint != "collections.retrieve" =>
            {
                collections::all_locked(&ctx)
            }
            Injected::Lock => Err(ApiError::bad(
                "UNABLE_TO_LOCK_ROW",
                "unable to obtain exclusive access to this record or 1 records",
            )),
            Injected::None => route(&mut ctx),
            Injected::CommitLost => route(&mut ctx).and(Err(crate::faults::lost_response())),
        };
        ctx.st.orgs[org].acting_user = None;
        result
    };
    let header = limit_info(&st.orgs[org], st.clock.now());
    drop(st);
    let resp = match result {
        Ok(Reply {
            bulk: Some(reply), ..
        }) => reply.into_response(),
        Ok(Reply {
            status,
            body: Some(b),
            ..
        }) => (status, axum::Json(b)).into_response(),
        Ok(Reply {
            status, body: None, ..
        }) => status.into_response(),
        Err(e) => e.into_response(),
    };
    with_limit_header(resp, &header)
}

/// The org's `Sforce-Limit-Info` value in the form its settings choose, entries separated
/// by `; ` as Salesforce sends them.
fn limit_info(org: &crate::state::Org, now: chrono::DateTime<chrono::Utc>) -> String {
    let mut entries = vec![format!(
        "api-usage={}/{}",
        org.meter.used(now),
        org.settings.daily_api_limit
    )];
    if org.settings.limit_header == LimitHeaderForm::WithBursts {
        entries.push("api-bursts=0/750".to_string());
    }
    if let Some(quota) = &org.settings.app_quota {
        entries.push(format!(
            "per-app-api-usage={}/{}(appName={})",
            org.app_meter.used(now),
            quota.max,
            quota.app_name
        ));
    }
    entries.join("; ")
}

fn with_limit_header(mut resp: Response, value: &str) -> Response {
    if let Ok(v) = HeaderValue::from_str(value) {
        resp.headers_mut().insert("sforce-limit-info", v);
    }
    resp
}

/// Paths that exist for some method (a wrong method answers 405, not 404).
fn known_resource(s: &[&str]) -> bool {
    matches!(
        s,
        [] | ["limits"]
            | ["query" | "queryAll"]
            | ["query" | "queryAll", _]
            | ["sobjects", ..]
            | ["composite"]
            | ["composite", "graph"]
            | ["composite", "sobjects", ..]
    ) && s.len() <= 4
}

/// Dispatches on method and path segments (shared with composite subrequests).
pub fn route(ctx: &mut Ctx<'_>) -> Result<Reply, ApiError> {
    let seg: Vec<String> = ctx.segments.clone();
    let s: Vec<&str> = seg.iter().map(String::as_str).collect();
    let m = ctx.method.clone();
    match (m.as_str(), s.as_slice()) {
        ("GET", []) => Ok(limits::resources(ctx)),
        ("GET", ["limits"]) => Ok(limits::limits(ctx)),
        ("GET", ["query"]) => query::query(ctx, false),
        ("GET", ["queryAll"]) => query::query(ctx, true),
        ("GET", ["query" | "queryAll", loc]) => query::query_more(ctx, loc),
        ("GET", ["sobjects"]) => Ok(Reply::ok(crate::describe::global(
            &ctx.st.orgs[ctx.org],
            &ctx.version,
        ))),
        ("GET", ["sobjects", t, "describe"]) => {
            let o = crate::writes::object_def(ctx.st, ctx.org, t)?;
            let org = &ctx.st.orgs[ctx.org];
            let mut d = crate::describe::describe(&o, org.schema.values(), &ctx.version);
            d["recordTypeInfos"] = crate::record_types::infos(org, &o, &ctx.version);
            Ok(Reply::ok(d))
        }
        ("GET", ["sobjects", t, "updated"]) => changes::updated(ctx, t),
        ("GET", ["sobjects", t, "deleted"]) => changes::deleted(ctx, t),
        ("GET", ["sobjects", t]) => {
            let o = crate::writes::object_def(ctx.st, ctx.org, t)?;
            Ok(Reply::ok(serde_json::json!({
                "objectDescribe": crate::describe::summary(&o, &ctx.version),
                "recentItems": []
            })))
        }
        ("POST", ["sobjects", t]) => sobjects::create(ctx, t),
        ("GET", ["sobjects", t, id]) => sobjects::get(ctx, t, id),
        ("PATCH", ["sobjects", t, id]) => sobjects::update(ctx, t, id),
        ("DELETE", ["sobjects", t, id]) => sobjects::delete(ctx, t, id),
        ("GET", ["sobjects", t, f, v]) => sobjects::get_by_field(ctx, t, f, v),
        ("PATCH" | "POST", ["sobjects", t, f, v]) => sobjects::upsert(ctx, t, f, v),
        ("DELETE", ["sobjects", t, f, v]) => sobjects::delete_by_field(ctx, t, f, v),
        ("POST", ["composite", "sobjects"]) => collections::create(ctx),
        ("PATCH", ["composite", "sobjects"]) => collections::update(ctx),
        ("DELETE", ["composite", "sobjects"]) => collections::delete(ctx),
        ("PATCH", ["composite", "sobjects", t, f]) => collections::upsert(ctx, t, f),
        ("GET" | "POST", ["composite", "sobjects", t]) => collections::retrieve(ctx, t),
        ("POST", ["composite"]) => composite::composite(ctx),
        ("POST", ["composite", "graph"]) => graph::graph(ctx),
        (_, ["jobs", ..]) => crate::bulk::route(ctx).map(Reply::bulk),
        (_, ["tooling", ..]) => crate::tooling::route(ctx),
        (m, s) if known_resource(s) => Err(ApiError::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "METHOD_NOT_ALLOWED",
            format!("HTTP Method '{m}' not allowed for this resource"),
        )),
        (_, _) => Err(ApiError::not_found("The requested resource does not exist")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_composite_of_queries_writes_nothing_but_one_with_a_write_does() {
        let seg = |s: &str| vec![s.to_string()];
        let reads = br#"{"compositeRequest":[{"method":"GET","url":"/q","referenceId":"a"}]}"#;
        let mixed = br#"{"compositeRequest":[{"method":"GET","url":"/q","referenceId":"a"},
                                             {"method":"POST","url":"/s","referenceId":"b"}]}"#;
        assert!(!writes(&Method::POST, &seg("composite"), reads));
        assert!(writes(&Method::POST, &seg("composite"), mixed));
        assert!(writes(&Method::POST, &seg("sobjects"), reads));
        assert!(!writes(&Method::GET, &seg("query"), b""));
    }
}
