//! OAuth 2.0 login host: authorize (auto-approve or a login form), token (authorization
//! code with PKCE S256, refresh with optional rotation, password), revoke, identity, userinfo.
//! Errors are the JSON object `{"error","error_description"}` with HTTP 400.

use crate::server::Shared;
use crate::state::{AccessGrant, AuthCode, RefreshGrant, State};
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State as AxState};
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use base64::Engine;
use hmac::{Hmac, Mac};
use rand::RngCore;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use std::collections::HashMap;

/// A Salesforce-looking opaque token: `{orgId15}!{random}`.
pub fn new_token_string(org_id: &str) -> String {
    let mut bytes = [0u8; 48];
    rand::rng().fill_bytes(&mut bytes);
    let tail = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes);
    format!("{}!{}", &org_id[..15.min(org_id.len())], tail)
}

pub fn new_access_token(st: &mut State, org: usize, user_id: &str) -> String {
    let token = new_token_string(&st.orgs[org].org_id);
    let expires = st.clock.now() + st.access_ttl;
    st.access.insert(
        token.clone(),
        AccessGrant {
            org,
            user_id: user_id.to_string(),
            expires,
        },
    );
    token
}

const CODE_TTL_MINUTES: i64 = 15;

fn lock(shared: &Shared) -> std::sync::MutexGuard<'_, State> {
    shared.lock().unwrap_or_else(|e| e.into_inner())
}

/// OAuth errors are a JSON object (not the REST error array).
fn oauth_error(status: StatusCode, error: &str, description: &str) -> Response {
    (
        status,
        axum::Json(json!({"error": error, "error_description": description})),
    )
        .into_response()
}

fn params(raw: Option<&str>, body: &[u8]) -> HashMap<String, String> {
    let mut m: HashMap<String, String> = crate::rest::parse_query(raw).into_iter().collect();
    for (k, v) in url::form_urlencoded::parse(body).into_owned() {
        m.insert(k, v);
    }
    m
}

/// The orgs a login host serves: `/orgs/{alias}` → that org; the root host → the first org
/// and every production org (a sandbox only answers on its own host, like test.salesforce.com).
fn host_orgs(st: &State, alias: Option<&str>) -> Option<Vec<usize>> {
    match alias {
        Some(a) => st.org_index(a).ok().map(|i| vec![i]),
        None if st.orgs.is_empty() => None,
        None => Some(
            (0..st.orgs.len())
                .filter(|&i| i == 0 || !st.orgs[i].is_sandbox)
                .collect(),
        ),
    }
}

fn alias_of(p: &HashMap<String, String>) -> Option<String> {
    p.get("alias").cloned()
}

fn identity_url(st: &State, org: usize, user_id: &str) -> String {
    format!("{}/id/{}/{}", st.base_url, st.orgs[org].org_id, user_id)
}

/// Builds the token response; `refresh` is included only when given.
fn token_response(st: &mut State, org: usize, user_id: &str, refresh: Option<String>) -> Response {
    let access = new_access_token(st, org, user_id);
    let id = identity_url(st, org, user_id);
    let issued_at = st.clock.now().timestamp_millis().to_string();
    let secret = st.orgs[org].settings.client_secret.clone();
    let signature = match Hmac::<Sha256>::new_from_slice(secret.as_bytes()) {
        Ok(mut mac) => {
            mac.update(id.as_bytes());
            mac.update(issued_at.as_bytes());
            base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
        }
        Err(_) => String::new(),
    };
    let mut body = json!({
        "access_token": access,
        "signature": signature,
        "scope": "refresh_token api id",
        "instance_url": st.base_url,
        "id": id,
        "token_type": "Bearer",
        "issued_at": issued_at,
    });
    if let Some(r) = refresh {
        body["refresh_token"] = json!(r);
    }
    (
        StatusCode::OK,
        [(header::CACHE_CONTROL, "no-cache, no-store")],
        axum::Json(body),
    )
        .into_response()
}

fn new_refresh(st: &mut State, org: usize, user_id: &str, client_id: &str) -> String {
    let token = new_token_string(&st.orgs[org].org_id);
    st.refresh.insert(
        token.clone(),
        RefreshGrant {
            org,
            user_id: user_id.to_string(),
            client_id: client_id.to_string(),
        },
    );
    token
}

/// Client credentials from the form or an HTTP Basic header.
fn client_credentials(
    p: &HashMap<String, String>,
    headers: &HeaderMap,
) -> (Option<String>, Option<String>) {
    if let Some(basic) = headers
        .get(header::AUTHORIZATION)
        .and_then(|h| h.to_str().ok())
        .and_then(|h| h.strip_prefix("Basic "))
        && let Ok(raw) = base64::engine::general_purpose::STANDARD.decode(basic.trim())
        && let Ok(text) = String::from_utf8(raw)
        && let Some((id, secret)) = text.split_once(':')
    {
        return (Some(id.to_string()), Some(secret.to_string()));
    }
    (p.get("client_id").cloned(), p.get("client_secret").cloned())
}

fn pkce_s256(verifier: &str) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

pub async fn token(
    AxState(shared): AxState<Shared>,
    Path(path): Path<HashMap<String, String>>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
    body: Bytes,
) -> Response {
    let p = params(raw.as_deref(), &body);
    let alias = alias_of(&path);
    let mut st = lock(&shared);
    let Some(hosts) = host_orgs(&st, alias.as_deref()) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let (client_id, client_secret) = client_credentials(&p, &headers);
    let grant = p.get("grant_type").map(String::as_str).unwrap_or("");
    for &i in &hosts {
        st.orgs[i].count("oauth.token");
    }
    let check_client = |st: &State, org: usize| -> Result<(), Box<Response>> {
        let s = &st.orgs[org].settings;
        if client_id.as_deref() != Some(s.client_id.as_str()) {
            return Err(Box::new(oauth_error(
                StatusCode::BAD_REQUEST,
                "invalid_client_id",
                "client identifier invalid",
            )));
        }
        if let Some(sec) = &client_secret
            && sec != &s.client_secret
        {
            return Err(Box::new(oauth_error(
                StatusCode::BAD_REQUEST,
                "invalid_client",
                "invalid client credentials",
            )));
        }
        Ok(())
    };
    match grant {
        "authorization_code" => {
            let code = p.get("code").cloned().unwrap_or_default();
            // Codes are single use: taken out before anything else is checked.
            let Some(c) = st.codes.remove(&code).filter(|c| hosts.contains(&c.org)) else {
                return oauth_error(
                    StatusCode::BAD_REQUEST,
                    "invalid_grant",
                    "invalid authorization code",
                );
            };
            if c.expires <= st.clock.now() {
                return oauth_error(
                    StatusCode::BAD_REQUEST,
                    "invalid_grant",
                    "expired authorization code",
                );
            }
            if let Err(r) = check_client(&st, c.org) {
                return *r;
            }
            if c.client_id != client_id.clone().unwrap_or_default() {
                return oauth_error(
                    StatusCode::BAD_REQUEST,
                    "invalid_client_id",
                    "client identifier invalid",
                );
            }
            if p.get("redirect_uri") != Some(&c.redirect_uri) {
                return oauth_error(
                    StatusCode::BAD_REQUEST,
                    "redirect_uri_mismatch",
                    "redirect_uri must match configuration",
                );
            }
            match (&c.challenge, p.get("code_verifier")) {
                (Some(ch), Some(v)) if pkce_s256(v) == *ch => {}
                (Some(_), _) => {
                    return oauth_error(
                        StatusCode::BAD_REQUEST,
                        "invalid_grant",
                        "invalid code verifier",
                    );
                }
                (None, _) if client_secret.is_none() => {
                    return oauth_error(
                        StatusCode::BAD_REQUEST,
                        "invalid_client",
                        "invalid client credentials",
                    );
                }
                (None, _) => {}
            }
            let refresh = new_refresh(&mut st, c.org, &c.user_id, &c.client_id);
            token_response(&mut st, c.org, &c.user_id, Some(refresh))
        }
        "refresh_token" => {
            let rt = p.get("refresh_token").cloned().unwrap_or_default();
            let Some(g) = st
                .refresh
                .get(&rt)
                .filter(|g| hosts.contains(&g.org))
                .cloned()
            else {
                return oauth_error(
                    StatusCode::BAD_REQUEST,
                    "invalid_grant",
                    "expired access/refresh token",
                );
            };
            if let Err(r) = check_client(&st, g.org) {
                return *r;
            }
            if !user_active(&st, g.org, &g.user_id) {
                return oauth_error(StatusCode::BAD_REQUEST, "invalid_grant", "inactive user");
            }
            let rotated = if st.orgs[g.org].settings.rotate_refresh_tokens {
                st.refresh.remove(&rt);
                Some(new_refresh(&mut st, g.org, &g.user_id, &g.client_id))
            } else {
                None
            };
            token_response(&mut st, g.org, &g.user_id, rotated)
        }
        "password" => {
            let username = p
                .get("username")
                .map(|u| u.to_lowercase())
                .unwrap_or_default();
            let password = p.get("password").cloned().unwrap_or_default();
            let found = hosts.iter().find_map(|&i| {
                st.orgs[i]
                    .logins
                    .get(&username)
                    .filter(|(uid, pw)| *pw == password && user_active(&st, i, uid))
                    .map(|(uid, _)| (i, uid.clone()))
            });
            let Some((org, uid)) = found else {
                return oauth_error(
                    StatusCode::BAD_REQUEST,
                    "invalid_grant",
                    "authentication failure",
                );
            };
            if let Err(r) = check_client(&st, org) {
                return *r;
            }
            if client_secret.is_none() {
                return oauth_error(
                    StatusCode::BAD_REQUEST,
                    "invalid_client",
                    "invalid client credentials",
                );
            }
            token_response(&mut st, org, &uid, None)
        }
        _ => oauth_error(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            "grant type not supported",
        ),
    }
}

/// Deactivated users cannot log in or refresh.
fn user_active(st: &State, org: usize, user_id: &str) -> bool {
    st.orgs[org]
        .store
        .get("User", user_id)
        .is_some_and(|u| u.get("IsActive") != &Value::Bool(false))
}

fn login_page(p: &HashMap<String, String>, error: Option<&str>) -> Response {
    let esc = |s: &str| {
        s.replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
            .replace('"', "&quot;")
    };
    let hidden: String = p
        .iter()
        .filter(|(k, _)| !matches!(k.as_str(), "username" | "password" | "alias"))
        .map(|(k, v)| {
            format!(
                "<input type=\"hidden\" name=\"{}\" value=\"{}\">",
                esc(k),
                esc(v)
            )
        })
        .collect();
    let err = error
        .map(|e| format!("<p class=\"error\">{}</p>", esc(e)))
        .unwrap_or_default();
    Html(format!(
        "<!doctype html><html><head><title>Login | Salesforce (emulator)</title></head><body>\
         <h1>Log in</h1>{err}<form method=\"post\">{hidden}\
         <label>Username <input name=\"username\" type=\"email\"></label>\
         <label>Password <input name=\"password\" type=\"password\"></label>\
         <button type=\"submit\">Log In</button></form></body></html>"
    ))
    .into_response()
}

fn redirect_with(uri: &str, pairs: &[(&str, &str)]) -> Response {
    let mut url = uri.to_string();
    let q: String = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs.iter().filter(|(_, v)| !v.is_empty()))
        .finish();
    url.push(if url.contains('?') { '&' } else { '?' });
    url.push_str(&q);
    (StatusCode::FOUND, [(header::LOCATION, url)]).into_response()
}

pub async fn authorize(
    AxState(shared): AxState<Shared>,
    Path(path): Path<HashMap<String, String>>,
    method: Method,
    RawQuery(raw): RawQuery,
    body: Bytes,
) -> Response {
    let p = params(raw.as_deref(), &body);
    let mut st = lock(&shared);
    let org = match alias_of(&path) {
        Some(a) => st.org_index(&a).ok(),
        None => (!st.orgs.is_empty()).then_some(0),
    };
    let Some(org) = org else {
        return StatusCode::NOT_FOUND.into_response();
    };
    st.orgs[org].count("oauth.authorize");
    let get = |k: &str| p.get(k).map(String::as_str).unwrap_or("");
    if get("client_id") != st.orgs[org].settings.client_id {
        return (
            StatusCode::BAD_REQUEST,
            "error=invalid_client_id&error_description=client%20identifier%20invalid",
        )
            .into_response();
    }
    let redirect = get("redirect_uri").to_string();
    if redirect.is_empty() {
        return (
            StatusCode::BAD_REQUEST,
            "error=redirect_uri_missing&error_description=redirect_uri must match configuration",
        )
            .into_response();
    }
    let state_param = get("state").to_string();
    if get("response_type") != "code" {
        return redirect_with(
            &redirect,
            &[
                ("error", "unsupported_response_type"),
                ("error_description", "response type not supported"),
                ("state", &state_param),
            ],
        );
    }
    if !get("code_challenge").is_empty() && !matches!(get("code_challenge_method"), "" | "S256") {
        return redirect_with(
            &redirect,
            &[
                ("error", "invalid_request"),
                ("error_description", "unsupported code_challenge_method"),
                ("state", &state_param),
            ],
        );
    }
    let org_ref = &st.orgs[org];
    let user = if method == Method::POST {
        let u = get("username").to_lowercase();
        match org_ref.logins.get(&u) {
            Some((id, pw)) if pw == get("password") && user_active(&st, org, id) => {
                Some(id.clone())
            }
            _ => return login_page(&p, Some("Please check your username and password.")),
        }
    } else if let Some((id, _)) = org_ref.logins.get(&get("login_hint").to_lowercase()) {
        Some(id.clone())
    } else if org_ref.settings.auto_approve || get("auto_approve") == "true" {
        Some(org_ref.admin_user_id.clone())
    } else {
        None
    };
    let Some(user_id) = user else {
        return login_page(&p, None);
    };
    let code = new_token_string(&st.orgs[org].org_id);
    let expires = st.clock.now() + chrono::Duration::minutes(CODE_TTL_MINUTES);
    st.codes.insert(
        code.clone(),
        AuthCode {
            org,
            user_id,
            client_id: get("client_id").to_string(),
            redirect_uri: redirect.clone(),
            challenge: p.get("code_challenge").filter(|c| !c.is_empty()).cloned(),
            expires,
        },
    );
    redirect_with(&redirect, &[("code", &code), ("state", &state_param)])
}

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

fn urls(st: &State, org: usize, user_id: &str) -> Value {
    let b = &st.base_url;
    let oid = &st.orgs[org].org_id;
    json!({
        "enterprise": format!("{b}/services/Soap/c/{{version}}/{oid}"),
        "metadata": format!("{b}/services/Soap/m/{{version}}/{oid}"),
        "partner": format!("{b}/services/Soap/u/{{version}}/{oid}"),
        "rest": format!("{b}/services/data/v{{version}}/"),
        "sobjects": format!("{b}/services/data/v{{version}}/sobjects/"),
        "search": format!("{b}/services/data/v{{version}}/search/"),
        "query": format!("{b}/services/data/v{{version}}/query/"),
        "recent": format!("{b}/services/data/v{{version}}/recent/"),
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
        "active": s("IsActive"),
        "user_type": "STANDARD",
        "language": "en_US",
        "locale": "en_US",
        "utcOffset": 0,
        "last_modified_date": s("LastModifiedDate"),
        "is_app_installed": true,
        "urls": urls(&st, org, &user_id),
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
        "urls": urls(&st, org, &user_id),
    });
    axum::Json(body).into_response()
}
