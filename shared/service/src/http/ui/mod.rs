//! The admin page (`/ui/`): static, hand-written assets embedded in the binary, which call
//! the `/v1` JSON API from the browser, plus the signed session links that let a SaaS
//! backend open the page for its signed-in admin without handing over the API key
//! (`POST /v1/ui-sessions`, then `Authorization: Session <token>` on `/v1` routes).

mod assets;
pub(super) mod mint;
pub mod session;

use axum::http::StatusCode;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;

use super::HttpState;
use super::auth::TenantAuth;
use super::error::ApiError;
use super::route_table::RouteTable;
use crate::tenants;

/// The page, its assets, and session minting.
pub(crate) fn routes() -> RouteTable {
    RouteTable::new()
        .page("/ui", assets::index)
        .page("/ui/", assets::index)
        .page("/ui/{file}", assets::file)
        .post("/v1/ui-sessions", mint::mint)
}

/// The token of an `Authorization: Session <token>` header, if the request has one.
pub(crate) fn session_token(parts: &Parts) -> Option<&str> {
    let value = parts.headers.get(AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("session").then(|| token.trim())
}

/// Resolves a session token to its tenant, checked with that tenant's webhook secret, and
/// refuses routes outside the session's scope (403).
pub(crate) async fn authenticate(
    state: &HttpState,
    token: &str,
    path: &str,
) -> Result<TenantAuth, ApiError> {
    let (claims, _) = session::parse(token)?;
    let secret = tenants::webhook_secret(&state.app, &claims.tenant)
        .await
        .map_err(|_| ApiError::unauthorized("the session token's signature does not match"))?;
    let granted = session::verify(&secret, token, state.app.now().timestamp())?;
    if let Some(why) = session::refusal(&granted, path) {
        return Err(ApiError::new(StatusCode::FORBIDDEN, "forbidden", why));
    }
    Ok(TenantAuth {
        tenant: granted.tenant,
    })
}
