//! The operator API, `/admin/...`, authenticated by the operator key: provisioning tenants
//! and rotating their credentials. Credentials are returned once and never stored in clear.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use serde::Deserialize;

use super::HttpState;
use super::auth::{OPERATOR_VAULT_TENANT, Operator};
use super::error::ApiError;
use super::params::{JsonBody, Segments};
use super::route_table::RouteTable;
use crate::tenants::{self, parse_tenant_id};

pub(crate) fn routes() -> RouteTable {
    RouteTable::new()
        .post("/admin/tenants", create_tenant)
        .post("/admin/tenants/{t}/rotate", rotate)
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct CreateTenant {
    /// `[A-Za-z0-9_-]{1,64}`; ids starting with `_crmsync` are reserved.
    tenant_id: String,
    name: String,
}

/// The `{t}` path segment.
#[derive(Debug, utoipa::IntoParams)]
#[into_params(parameter_in = Path)]
#[allow(dead_code)] // documentation: read by name (`Segments`)
struct TenantPath {
    /// The tenant id.
    t: String,
}

#[utoipa::path(
    post,
    path = "/admin/tenants",
    tag = "admin",
    request_body = CreateTenant,
    responses((status = 201, description = "The tenant with its credentials (shown once)", body = tenants::IssuedCredentials)),
    security(("operator_key" = []))
)]
pub(super) async fn create_tenant(
    State(s): State<HttpState>,
    _: Operator,
    JsonBody(body): JsonBody<CreateTenant>,
) -> Result<impl IntoResponse, ApiError> {
    if body.tenant_id.starts_with(OPERATOR_VAULT_TENANT) {
        return Err(ApiError::bad_request(
            "tenant_id",
            format!("ids starting with {OPERATOR_VAULT_TENANT} are reserved"),
        ));
    }
    let issued = tenants::create_tenant(&s.app, &body.tenant_id, &body.name).await?;
    Ok((StatusCode::CREATED, Json(issued)))
}

#[utoipa::path(
    post,
    path = "/admin/tenants/{t}/rotate",
    tag = "admin",
    params(TenantPath),
    responses((status = 200, description = "New credentials; the old ones stop working", body = tenants::IssuedCredentials)),
    security(("operator_key" = []))
)]
pub(super) async fn rotate(
    State(s): State<HttpState>,
    _: Operator,
    seg: Segments,
) -> Result<impl IntoResponse, ApiError> {
    let tenant = parse_tenant_id(seg.get("t")?)?;
    Ok(Json(tenants::rotate_credentials(&s.app, &tenant).await?))
}
