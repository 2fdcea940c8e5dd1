//! `POST /v1/ui-sessions` (API key only): a signed, short-lived link to the admin page.
//! Body: `{"connection"?: "<id>", "ttl_seconds"?: 60..=3600}` (default 900 s).
//! Answer: `{"token", "url": "<base>/ui#session=<token>", "expires_at"}` (`/ui`, not
//! `/ui/`: API Gateway routes `/ui` exactly, and the page loads its assets by absolute path). The token rides
//! in the URL fragment, which browsers never send to a server, so it stays out of access
//! logs; the page moves it to `sessionStorage` and clears the fragment.

use axum::Json;
use axum::extract::{RawQuery, State};
use axum::http::HeaderMap;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::session::{self, DEFAULT_TTL_SECS, MAX_TTL_SECS, UiSession};
use crate::http::HttpState;
use crate::http::auth::TenantAuth;
use crate::http::error::ApiError;
use crate::http::params::{JsonBody, Params};
use crate::tenants::{self, parse_connection_id};

/// What a session link is for: one connection (or every one of the tenant's), how long.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct MintBody {
    /// The connection the session may reach (absent: the tenant's connections).
    #[serde(default)]
    connection: Option<String>,
    /// The link's lifetime, 60 to 3,600 seconds (default 900).
    #[serde(default)]
    ttl_seconds: Option<i64>,
}

/// A signed link to the admin page; the token rides in the URL fragment.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct Minted {
    token: String,
    url: String,
    expires_at: DateTime<Utc>,
}

/// The page's address as the caller reached this service: `Host`, and the scheme from
/// `X-Forwarded-Proto` (API Gateway sets it); plain http only for a loopback host.
fn page_base(headers: &HeaderMap) -> Result<String, ApiError> {
    let host = headers
        .get("host")
        .and_then(|h| h.to_str().ok())
        .filter(|h| !h.is_empty() && !h.contains(['/', ' ', '#', '?', '@']))
        .ok_or_else(|| ApiError::bad_request("host", "the request has no usable Host header"))?;
    let loopback = host.starts_with("127.0.0.1") || host.starts_with("localhost");
    let scheme = match headers
        .get("x-forwarded-proto")
        .and_then(|h| h.to_str().ok())
    {
        Some("http") | None if loopback => "http",
        _ => "https",
    };
    Ok(format!("{scheme}://{host}"))
}

#[utoipa::path(
    post,
    path = "/v1/ui-sessions",
    tag = "admin page",
    request_body = MintBody,
    responses((status = 201, description = "A signed, short-lived link to the admin page", body = Minted)),
    security(("api_key" = []))
)]
pub(crate) async fn mint(
    State(s): State<HttpState>,
    auth: TenantAuth,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
    JsonBody(body): JsonBody<MintBody>,
) -> Result<impl IntoResponse, ApiError> {
    Params::parse(q.as_deref(), &[], false)?;
    let ttl = body.ttl_seconds.unwrap_or(DEFAULT_TTL_SECS);
    if !(60..=MAX_TTL_SECS).contains(&ttl) {
        return Err(ApiError::bad_request(
            "ttl_seconds",
            format!("must be 60 to {MAX_TTL_SECS}"),
        ));
    }
    let connection = match body.connection.as_deref() {
        None => None,
        Some(raw) => {
            // The connection need not exist yet: the session may be for its first connect.
            let id = parse_connection_id(raw)
                .map_err(|e| ApiError::bad_request("connection", ApiError::from(e).message))?;
            Some(id)
        }
    };
    let now = s.app.now();
    let claims = UiSession {
        tenant: auth.tenant.clone(),
        connection,
        expires_at: now.timestamp() + ttl,
    };
    let secret = tenants::webhook_secret(&s.app, &auth.tenant).await?;
    let token = session::sign(&secret, &claims);
    let url = format!("{}/ui#session={token}", page_base(&headers)?);
    let expires_at = DateTime::from_timestamp(claims.expires_at, 0).unwrap_or(now);
    Ok((
        StatusCode::CREATED,
        Json(Minted {
            token,
            url,
            expires_at,
        }),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, v.parse().unwrap());
        }
        h
    }

    #[test]
    fn the_link_uses_https_except_on_loopback() {
        let base = |p: &[(&'static str, &str)]| page_base(&headers(p)).unwrap();
        assert_eq!(base(&[("host", "127.0.0.1:8787")]), "http://127.0.0.1:8787");
        assert_eq!(
            base(&[
                ("host", "abc.execute-api.eu-west-1.amazonaws.com"),
                ("x-forwarded-proto", "https")
            ]),
            "https://abc.execute-api.eu-west-1.amazonaws.com"
        );
        assert_eq!(
            base(&[("host", "evil.example"), ("x-forwarded-proto", "http")]),
            "https://evil.example"
        );
        assert!(page_base(&headers(&[("host", "a.example/x#")])).is_err());
        assert!(page_base(&HeaderMap::new()).is_err());
    }
}
