//! The HTTP admin API under `/__admin` (same operations as [`crate::AdminHandle`]).
//! Not authenticated and never counted: it is test control, not Salesforce.

use crate::admin::AdminHandle;
use crate::error::EmulatorError;
use crate::faults::FaultSpec;
use crate::server::Shared;
use crate::spec::{DuplicateRule, UserSpec, ValidationRule};
use axum::extract::{Path, State as AxState};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::{Json, Router};
use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::{Map, Value, json};

fn handle(shared: &Shared) -> AdminHandle {
    AdminHandle::new(shared.clone())
}

fn err(e: EmulatorError) -> Response {
    let status = match e {
        EmulatorError::UnknownOrg(_) | EmulatorError::UnknownUser(_) => StatusCode::NOT_FOUND,
        _ => StatusCode::BAD_REQUEST,
    };
    (status, Json(json!({"error": e.to_string()}))).into_response()
}

fn reply<T: serde::Serialize>(r: Result<T, EmulatorError>) -> Response {
    match r {
        Ok(v) => Json(v).into_response(),
        Err(e) => err(e),
    }
}

fn done(r: Result<(), EmulatorError>) -> Response {
    match r {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(e) => err(e),
    }
}

pub fn routes() -> Router<Shared> {
    Router::new()
        .route("/__admin/orgs", get(orgs))
        .route("/__admin/clock", get(clock_now))
        .route("/__admin/clock/advance", post(clock_advance))
        .route("/__admin/clock/set", post(clock_set))
        .route("/__admin/clock/freeze", post(clock_freeze))
        .route(
            "/__admin/orgs/{alias}/faults",
            get(faults_get).put(faults_put).delete(faults_clear),
        )
        .route("/__admin/orgs/{alias}/revoke-tokens", post(revoke_tokens))
        .route("/__admin/orgs/{alias}/limit/exhaust", post(exhaust))
        .route("/__admin/orgs/{alias}/settings", put(settings))
        .route(
            "/__admin/orgs/{alias}/usage",
            get(usage).delete(usage_reset),
        )
        .route("/__admin/orgs/{alias}/users", post(add_user))
        .route(
            "/__admin/orgs/{alias}/users/{username}/customize-application",
            put(customize_application),
        )
        .route("/__admin/orgs/{alias}/tokens", post(mint))
        .route("/__admin/orgs/{alias}/records/{object}", post(insert))
        .route(
            "/__admin/orgs/{alias}/records/{object}/{id}",
            get(read).patch(update).delete(remove),
        )
        .route(
            "/__admin/orgs/{alias}/records/{object}/{id}/touch",
            post(touch),
        )
        .route(
            "/__admin/orgs/{alias}/commit-late/{object}",
            post(commit_late),
        )
        .route("/__admin/orgs/{alias}/validation-rules", post(add_rule))
        .route("/__admin/orgs/{alias}/duplicate-rules", post(add_dup_rule))
}

async fn orgs(AxState(s): AxState<Shared>) -> Response {
    let st = s.lock().unwrap_or_else(|e| e.into_inner());
    let list: Vec<Value> = st
        .orgs
        .iter()
        .map(|o| {
            json!({"alias": o.alias, "orgId": o.org_id, "name": o.name, "isSandbox": o.is_sandbox,
                   "loginUrl": format!("{}/orgs/{}", st.base_url, o.alias), "instanceUrl": st.base_url,
                   "clientId": o.settings.client_id})
        })
        .collect();
    Json(list).into_response()
}

async fn clock_now(AxState(s): AxState<Shared>) -> Response {
    Json(json!({"now": crate::clock::iso(handle(&s).now())})).into_response()
}

#[derive(Deserialize)]
struct Advance {
    seconds: i64,
}

async fn clock_advance(AxState(s): AxState<Shared>, Json(a): Json<Advance>) -> Response {
    let h = handle(&s);
    if a.seconds < 0 {
        return (
            StatusCode::BAD_REQUEST,
            Json(json!({"error": "seconds must be >= 0; use /clock/set to go back"})),
        )
            .into_response();
    }
    if !h.advance_clock(std::time::Duration::from_secs(a.seconds as u64)) {
        return (
            StatusCode::BAD_REQUEST,
            Json(json!({"error": "seconds: out of range"})),
        )
            .into_response();
    }
    Json(json!({"now": crate::clock::iso(h.now())})).into_response()
}

#[derive(Deserialize)]
struct SetTime {
    now: DateTime<Utc>,
}

async fn clock_set(AxState(s): AxState<Shared>, Json(t): Json<SetTime>) -> Response {
    let h = handle(&s);
    h.set_clock(t.now);
    Json(json!({"now": crate::clock::iso(h.now())})).into_response()
}

async fn clock_freeze(AxState(s): AxState<Shared>, Json(t): Json<SetTime>) -> Response {
    let h = handle(&s);
    h.freeze_clock(t.now);
    Json(json!({"now": crate::clock::iso(h.now())})).into_response()
}

async fn faults_get(AxState(s): AxState<Shared>, Path(alias): Path<String>) -> Response {
    reply(handle(&s).faults(&alias))
}

async fn faults_put(
    AxState(s): AxState<Shared>,
    Path(alias): Path<String>,
    Json(f): Json<FaultSpec>,
) -> Response {
    done(handle(&s).set_faults(&alias, f))
}

async fn faults_clear(AxState(s): AxState<Shared>, Path(alias): Path<String>) -> Response {
    done(handle(&s).clear_faults(&alias))
}

async fn revoke_tokens(AxState(s): AxState<Shared>, Path(alias): Path<String>) -> Response {
    done(handle(&s).revoke_tokens(&alias))
}

async fn exhaust(AxState(s): AxState<Shared>, Path(alias): Path<String>) -> Response {
    done(handle(&s).exhaust_api_limit(&alias))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct Settings {
    daily_api_limit: Option<u64>,
    api_used: Option<u64>,
    rotate_refresh_tokens: Option<bool>,
    auto_approve: Option<bool>,
    change_id_limit: Option<usize>,
    limit_header: Option<crate::spec::LimitHeaderForm>,
    /// `{"appName": "…", "max": N}` sets a per-app quota; `null` leaves it as it is.
    app_quota: Option<crate::spec::AppQuotaSpec>,
}

async fn settings(
    AxState(s): AxState<Shared>,
    Path(alias): Path<String>,
    Json(x): Json<Settings>,
) -> Response {
    let h = handle(&s);
    let r = (|| {
        if let Some(n) = x.daily_api_limit {
            h.set_daily_limit(&alias, n)?;
        }
        if let Some(n) = x.api_used {
            h.set_api_used(&alias, n)?;
        }
        if let Some(b) = x.rotate_refresh_tokens {
            h.set_refresh_rotation(&alias, b)?;
        }
        if let Some(b) = x.auto_approve {
            h.set_auto_approve(&alias, b)?;
        }
        if let Some(n) = x.change_id_limit {
            h.set_change_id_limit(&alias, n)?;
        }
        if let Some(form) = x.limit_header {
            h.set_limit_header(&alias, form)?;
        }
        if let Some(quota) = x.app_quota {
            h.set_app_quota(&alias, Some(quota))?;
        }
        Ok(())
    })();
    done(r)
}

async fn usage(AxState(s): AxState<Shared>, Path(alias): Path<String>) -> Response {
    reply(handle(&s).api_usage(&alias))
}

async fn usage_reset(AxState(s): AxState<Shared>, Path(alias): Path<String>) -> Response {
    done(handle(&s).reset_counters(&alias))
}

async fn add_user(
    AxState(s): AxState<Shared>,
    Path(alias): Path<String>,
    Json(u): Json<UserSpec>,
) -> Response {
    reply(handle(&s).add_user(&alias, u).map(|id| json!({"id": id})))
}

#[derive(Deserialize)]
struct OnOff {
    on: bool,
}

async fn customize_application(
    AxState(s): AxState<Shared>,
    Path((alias, username)): Path<(String, String)>,
    Json(x): Json<OnOff>,
) -> Response {
    done(handle(&s).set_customize_application(&alias, &username, x.on))
}

#[derive(Deserialize)]
struct MintReq {
    username: String,
}

async fn mint(
    AxState(s): AxState<Shared>,
    Path(alias): Path<String>,
    Json(m): Json<MintReq>,
) -> Response {
    reply(handle(&s).mint_tokens(&alias, &m.username))
}

async fn insert(
    AxState(s): AxState<Shared>,
    Path((alias, object)): Path<(String, String)>,
    Json(f): Json<Map<String, Value>>,
) -> Response {
    match handle(&s).insert_record(&alias, &object, f) {
        Ok(id) => (StatusCode::CREATED, Json(json!({"id": id}))).into_response(),
        Err(e) => err(e),
    }
}

async fn read(
    AxState(s): AxState<Shared>,
    Path((alias, object, id)): Path<(String, String, String)>,
) -> Response {
    match handle(&s).get_record(&alias, &object, &id) {
        Ok(Some(r)) => Json(r).into_response(),
        Ok(None) => (
            StatusCode::NOT_FOUND,
            Json(json!({"error": "no such record"})),
        )
            .into_response(),
        Err(e) => err(e),
    }
}

async fn update(
    AxState(s): AxState<Shared>,
    Path((alias, object, id)): Path<(String, String, String)>,
    Json(f): Json<Map<String, Value>>,
) -> Response {
    done(handle(&s).update_record(&alias, &object, &id, f))
}

async fn remove(
    AxState(s): AxState<Shared>,
    Path((alias, object, id)): Path<(String, String, String)>,
) -> Response {
    done(handle(&s).delete_record(&alias, &object, &id))
}

async fn touch(
    AxState(s): AxState<Shared>,
    Path((alias, object, id)): Path<(String, String, String)>,
) -> Response {
    reply(
        handle(&s)
            .touch_system(&alias, &object, &id)
            .map(|stamp| json!({"systemModstamp": stamp})),
    )
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Late {
    id: Option<String>,
    #[serde(default)]
    fields: Map<String, Value>,
    system_modstamp: DateTime<Utc>,
}

async fn commit_late(
    AxState(s): AxState<Shared>,
    Path((alias, object)): Path<(String, String)>,
    Json(l): Json<Late>,
) -> Response {
    reply(
        handle(&s)
            .commit_late(
                &alias,
                &object,
                l.id.as_deref(),
                l.fields,
                l.system_modstamp,
            )
            .map(|id| json!({"id": id})),
    )
}

async fn add_rule(
    AxState(s): AxState<Shared>,
    Path(alias): Path<String>,
    Json(r): Json<ValidationRule>,
) -> Response {
    done(handle(&s).add_validation_rule(&alias, r))
}

async fn add_dup_rule(
    AxState(s): AxState<Shared>,
    Path(alias): Path<String>,
    Json(r): Json<DuplicateRule>,
) -> Response {
    done(handle(&s).add_duplicate_rule(&alias, r))
}
