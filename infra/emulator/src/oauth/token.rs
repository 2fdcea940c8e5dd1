//! The token endpoint: `authorization_code` (PKCE S256), `refresh_token` (optional
//! rotation), `password`. Errors are `{"error","error_description"}` with HTTP 400.

use super::{
    alias_of, host_orgs, identity_url, lock, new_access_token, new_token_string, oauth_error,
    params, user_active,
};
use crate::server::Shared;
use crate::state::{RefreshGrant, State};
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State as AxState};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use hmac::{Hmac, Mac};
use serde_json::json;
use sha2::{Digest, Sha256};
use std::collections::HashMap;

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
