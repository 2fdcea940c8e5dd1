//! OAuth 2.0 login host: authorize (auto-approve or a login form), token (authorization
//! code with PKCE S256, refresh with optional rotation, password), revoke, identity, userinfo.
//! Errors are the JSON object `{"error","error_description"}` with HTTP 400.
//!
//! Modules: [`mod@token`] (token endpoint), [`mod@authorize`] (authorize + login form),
//! [`mod@identity`] (identity URL, userinfo, revoke).

pub mod authorize;
pub mod identity;
pub mod token;

pub use authorize::authorize;
pub use identity::{identity, revoke, userinfo};
pub use token::token;

use crate::server::Shared;
use crate::state::{AccessGrant, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use base64::Engine;
use rand::RngCore;
use serde_json::{Value, json};
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

pub(crate) const CODE_TTL_MINUTES: i64 = 15;

pub(crate) fn lock(shared: &Shared) -> std::sync::MutexGuard<'_, State> {
    shared.lock().unwrap_or_else(|e| e.into_inner())
}

/// OAuth errors are a JSON object (not the REST error array).
pub(crate) fn oauth_error(status: StatusCode, error: &str, description: &str) -> Response {
    (
        status,
        axum::Json(json!({"error": error, "error_description": description})),
    )
        .into_response()
}

pub(crate) fn params(raw: Option<&str>, body: &[u8]) -> HashMap<String, String> {
    let mut m: HashMap<String, String> = crate::rest::parse_query(raw).into_iter().collect();
    for (k, v) in url::form_urlencoded::parse(body).into_owned() {
        m.insert(k, v);
    }
    m
}

/// The orgs a login host serves: `/orgs/{alias}` → that org; the root host → the first org
/// and every production org (a sandbox only answers on its own host, like test.salesforce.com).
pub(crate) fn host_orgs(st: &State, alias: Option<&str>) -> Option<Vec<usize>> {
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

pub(crate) fn alias_of(p: &HashMap<String, String>) -> Option<String> {
    p.get("alias").cloned()
}

pub(crate) fn identity_url(st: &State, org: usize, user_id: &str) -> String {
    format!("{}/id/{}/{}", st.base_url, st.orgs[org].org_id, user_id)
}

/// Deactivated users cannot log in or refresh.
pub(crate) fn user_active(st: &State, org: usize, user_id: &str) -> bool {
    st.orgs[org]
        .store
        .get("User", user_id)
        .is_some_and(|u| u.get("IsActive") != &Value::Bool(false))
}
