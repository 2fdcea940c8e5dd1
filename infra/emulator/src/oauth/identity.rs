//! Identity URL (`/id/{orgId}/{userId}`), OpenID userinfo and token revocation.

use super::{alias_of, host_orgs, identity_url, lock, oauth_error, params};
use crate::server::Shared;
use crate::state::State;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State as AxState};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use std::collections::HashMap;

pub async fn revoke(
    AxState(shared): AxState<Shared>,
    Path(path): Path<HashMap<String, String>>,
    RawQuery(raw): RawQuery,
    body: Bytes,
) -> Response {
    let p = params(raw.as_deref(), &body);
    let token = p.get("token").cloned().unwrap_or_default();
    let mut st = lock(&shared);
    if let Some(hosts) = host_orgs(&st, alias_of(&path).as_deref()) {
        for i in hosts {
            st.orgs[i].count("oauth.revoke");
        }
    }
    if st.access.remove(&token).is_some() {
        return StatusCode::OK.into_response();
    }
    if let Some(g) = st.refresh.remove(&token) {
        // Revoking a refresh token ends the sessions it issued.
        st.access
            .retain(|_, a| !(a.org == g.org && a.user_id == g.user_id));
        return StatusCode::OK.into_response();
    }
    oauth_error(
        StatusCode::BAD_REQUEST,
        "unsupported_token_type",
        "this token type is not supported",
    )
}

fn bearer(headers: &HeaderMap, p: &HashMap<String, String>) -> Option<String> {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|h| h.to_str().ok())
        .and_then(|h| {
            h.strip_prefix("Bearer ")
                .or_else(|| h.strip_prefix("OAuth "))
        })
        .map(|s| s.trim().to_string())
        .or_else(|| p.get("oauth_token").cloned())
}

fn session(
    st: &State,
    headers: &HeaderMap,
    p: &HashMap<String, String>,
) -> Option<(usize, String)> {
    let t = bearer(headers, p)?;
    let g = st.access.get(&t)?;
    (g.expires > st.clock.now()).then(|| (g.org, g.user_id.clone()))
}

fn bad_token() -> Response {
    (StatusCode::FORBIDDEN, "Bad_OAuth_Token").into_response()
}

fn user_fields(st: &State, org: usize, user_id: &str) -> serde_json::Map<String, Value> {
    st.orgs[org]
        .store
        .get("User", user_id)
        .map(|r| r.fields.clone())
        .unwrap_or_default()
}

/// The newest API version the emulator advertises (`version=latest`).
const LATEST: &str = "63.0";

/// Endpoint URLs; without a `version` parameter they hold the literal `{version}`, as
/// Salesforce's do.
fn urls(st: &State, org: usize, user_id: &str, p: &HashMap<String, String>) -> Value {
    let b = &st.base_url;
    let oid = &st.orgs[org].org_id;
    let v = match p.get("version").map(String::as_str) {
        Some("latest") => LATEST.to_string(),
        Some(v) if !v.is_empty() => v.trim_start_matches('v').to_string(),
        _ => "{version}".to_string(),
    };
    json!({
        "enterprise": format!("{b}/services/Soap/c/{v}/{oid}"),
        "metadata": format!("{b}/services/Soap/m/{v}/{oid}"),
        "partner": format!("{b}/services/Soap/u/{v}/{oid}"),
        "rest": format!("{b}/services/data/v{v}/"),
        "sobjects": format!("{b}/services/data/v{v}/sobjects/"),
        "search": format!("{b}/services/data/v{v}/search/"),
        "query": format!("{b}/services/data/v{v}/query/"),
        "recent": format!("{b}/services/data/v{v}/recent/"),
        "profile": format!("{b}/{user_id}"),
    })
}

/// Identity URL response (`/id/{orgId}/{userId}`).
pub async fn identity(
    AxState(shared): AxState<Shared>,
    Path((org_id, user_id)): Path<(String, String)>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Response {
    let p = params(raw.as_deref(), b"");
    let mut st = lock(&shared);
    let Some((org, _)) = session(&st, &headers, &p) else {
        return bad_token();
    };
    st.orgs[org].count("identity");
    if st.orgs[org].org_id != org_id || st.orgs[org].store.get("User", &user_id).is_none() {
        return bad_token();
    }
    let u = user_fields(&st, org, &user_id);
    let s = |k: &str| u.get(k).cloned().unwrap_or(Value::Null);
    let body = json!({
        "id": identity_url(&st, org, &user_id),
        "asserted_user": true,
        "user_id": user_id,
        "organization_id": org_id,
        "username": s("Username"),
        "nick_name": s("Alias"),
        "display_name": s("Name"),
        "email": s("Email"),
        "email_verified": true,
        "first_name": s("FirstName"),
        "last_name": s("LastName"),
        "timezone": s("TimeZoneSidKey"),
        "photos": {"picture": null, "thumbnail": null},
        "status": {"created_date": null, "body": null},
        "active": s("IsActive"),
        "user_type": "STANDARD",
        "language": "en_US",
        "locale": "en_US",
        "utcOffset": 0,
        "last_modified_date": s("LastModifiedDate"),
        "is_app_installed": true,
        "urls": urls(&st, org, &user_id, &p),
    });
    axum::Json(body).into_response()
}

/// OpenID Connect userinfo for the token's user.
pub async fn userinfo(
    AxState(shared): AxState<Shared>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Response {
    let p = params(raw.as_deref(), b"");
    let mut st = lock(&shared);
    let Some((org, user_id)) = session(&st, &headers, &p) else {
        return bad_token();
    };
    st.orgs[org].count("oauth.userinfo");
    let u = user_fields(&st, org, &user_id);
    let s = |k: &str| u.get(k).cloned().unwrap_or(Value::Null);
    let body = json!({
        "sub": identity_url(&st, org, &user_id),
        "user_id": user_id,
        "organization_id": st.orgs[org].org_id,
        "preferred_username": s("Username"),
        "nickname": s("Alias"),
        "name": s("Name"),
        "email": s("Email"),
        "email_verified": true,
        "given_name": s("FirstName"),
        "family_name": s("LastName"),
        "zoneinfo": s("TimeZoneSidKey"),
        "active": s("IsActive"),
        "user_type": "STANDARD",
        "language": "en_US",
        "locale": "en_US",
        "utcOffset": 0,
        "updated_at": s("LastModifiedDate"),
        "is_app_installed": true,
        "urls": urls(&st, org, &user_id, &p),
    });
    axum::Json(body).into_response()
}
