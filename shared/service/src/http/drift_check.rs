//! `POST /v1/connections/{c}/drift-check`: the app sends its current values for a page of
//! records; what differs from what crmsync last carried is queued to the push
//! ([`crate::drift_check`]). Tenant API key.

use axum::Json;
use axum::extract::{RawQuery, State};

use super::HttpState;
use super::auth::TenantAuth;
use super::error::ApiError;
use super::params::{JsonBody, Params, Segments};
use super::report::connection;
use super::report_params::ConnectionPath;
use super::route_table::RouteTable;
use crate::drift_check::{self, DriftCheckRequest, DriftCheckResult};

pub(crate) fn routes() -> RouteTable {
    RouteTable::new().post("/v1/connections/{c}/drift-check", check)
}

#[utoipa::path(
    post,
    path = "/v1/connections/{c}/drift-check",
    tag = "drift",
    params(ConnectionPath),
    request_body = DriftCheckRequest,
    responses((status = 200, description = "Records compared, and the update events queued for those that drifted", body = DriftCheckResult)),
    security(("api_key" = []))
)]
pub(super) async fn check(
    State(s): State<HttpState>,
    auth: TenantAuth,
    seg: Segments,
    RawQuery(q): RawQuery,
    JsonBody(body): JsonBody<DriftCheckRequest>,
) -> Result<Json<DriftCheckResult>, ApiError> {
    let c = connection(&seg)?;
    Params::parse(q.as_deref(), &[], false)?;
    Ok(Json(
        drift_check::check(&s.app, &auth.tenant, &c, body).await?,
    ))
}
