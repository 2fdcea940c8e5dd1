//! `POST /v1/connections/{c}/imports` (an app-side bulk import, see [`crate::import`]) and
//! `GET /v1/connections/{c}/imports/{id}` (its status and failures). Tenant API key.
//! The body limit is the import's own, above the report API's.

use axum::Json;
use axum::extract::{RawQuery, State};
use axum::http::StatusCode;

use super::HttpState;
use super::auth::TenantAuth;
use super::error::ApiError;
use super::params::{JsonBody, Params, Segments};
use super::report::connection;
use super::report_params::ConnectionPath;
use super::route_table::RouteTable;
use crate::import::{self, ImportRequest, ImportStatus};

/// Served with the import's body limit ([`crate::import::MAX_BODY_BYTES`]).
pub(crate) fn routes() -> RouteTable {
    RouteTable::new()
        .post("/v1/connections/{c}/imports", start)
        .get("/v1/connections/{c}/imports/{id}", status)
}

/// The `{c}` and `{id}` path segments.
#[derive(Debug, utoipa::IntoParams)]
#[into_params(parameter_in = Path)]
#[allow(dead_code)] // documentation: read by name (`Segments`)
struct ImportPath {
    /// The tenant's connection id.
    c: String,
    /// The `import_id`.
    id: String,
}

/// 200 when the import is final, 202 while it goes on (read its status later).
#[utoipa::path(
    post,
    path = "/v1/connections/{c}/imports",
    tag = "imports",
    params(ConnectionPath),
    request_body = ImportRequest,
    responses(
        (status = 200, description = "The import is final", body = ImportStatus),
        (status = 202, description = "The import goes on; read its status later", body = ImportStatus),
    ),
    security(("api_key" = []))
)]
pub(super) async fn start(
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

#[utoipa::path(
    get,
    path = "/v1/connections/{c}/imports/{id}",
    tag = "imports",
    params(ImportPath),
    responses((status = 200, description = "The import's status and failures", body = ImportStatus)),
    security(("api_key" = []))
)]
pub(super) async fn status(
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
