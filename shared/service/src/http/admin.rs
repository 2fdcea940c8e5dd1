//! The operator API, `/admin/...`, authenticated by the operator key: provisioning tenants
//! and rotating their credentials. Credentials are returned once and never stored in clear.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::post;
use axum::{Json, Router};
use serde::Deserialize;

use super::HttpState;
use super::auth::{OPERATOR_VAULT_TENANT, Operator};
use super::error::ApiError;
use super::params::{JsonBody, Segments};
use crate::tenants::{self, parse_tenant_id};

pub(crate) fn routes() -> Router<HttpState> {
    Router::new()
        .route("/admin/tenants", post(create_tenant))
        .route("/admin/tenants/{t}/rotate", post(rotate))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateTenant {
    tenant_id: String,
    name: String,
}

async fn create_tenant(
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

async fn rotate(
    State(s): State<HttpState>,
    _: Operator,
    seg: Segments,
) -> Result<impl IntoResponse, ApiError> {
    let tenant = parse_tenant_id(seg.get("t")?)?;
    Ok(Json(tenants::rotate_credentials(&s.app, &tenant).await?))
}
