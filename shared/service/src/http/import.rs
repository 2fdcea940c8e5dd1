//! `POST /v1/connections/{c}/imports` (an app-side bulk import, see [`crate::import`]) and
//! `GET /v1/connections/{c}/imports/{id}` (its status and failures). Tenant API key.
//! The body limit is the import's own ([`MAX_BODY_BYTES`]), above the report API's.

use axum::Json;
use axum::Router;
use axum::extract::{DefaultBodyLimit, RawQuery, State};
use axum::http::StatusCode;
use axum::routing::{get, post};

use super::HttpState;
use super::auth::TenantAuth;
use super::error::ApiError;
use super::params::{JsonBody, Params, Segments};
use super::report::connection;
use crate::import::{self, ImportRequest, ImportStatus, MAX_BODY_BYTES};

pub(crate) fn routes() -> Router<HttpState> {
    Router::new()
        .route("/v1/connections/{c}/imports", post(start))
        .route("/v1/connections/{c}/imports/{id}", get(status))
        .route_layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
}

/// 200 when the import is final, 202 while it goes on (read its status later).
async fn start(
    State(s): State<HttpState>,
    auth: TenantAuth,
    seg: Segments,
    RawQuery(q): RawQuery,
    JsonBody(body): JsonBody<ImportRequest>,
) -> Result<(StatusCode, Json<ImportStatus>), ApiError> {
    let c = connection(&seg)?;
    Params::parse(q.as_deref(), &[], false)?;
    let st = import::start(&s.app, &auth.tenant, &c, body).await?;
    let code = if st.phase.is_final() {
        StatusCode::OK
    } else {
        StatusCode::ACCEPTED
    };
    Ok((code, Json(st)))
}

async fn status(
    State(s): State<HttpState>,
    auth: TenantAuth,
    seg: Segments,
    RawQuery(q): RawQuery,
) -> Result<Json<ImportStatus>, ApiError> {
    let c = connection(&seg)?;
    Params::parse(q.as_deref(), &[], false)?;
    let id = seg.get("id")?;
    Ok(Json(import::status(&s.app, &auth.tenant, &c, id).await?))
}
