//! `POST /events`: a signed batch of app events (see [`crate::ingest`]) → 202 `Accepted`.

use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;

use super::HttpState;
use super::error::ApiError;
use super::params::read_body;
use super::route_table::RouteTable;
use crate::ingest;
use crate::signing::{SIGNATURE_HEADER, TENANT_HEADER};

/// Served with the ingest body limit ([`crate::ingest::MAX_BODY_BYTES`]).
pub(crate) fn routes() -> RouteTable {
    RouteTable::new().post("/events", events)
}

#[utoipa::path(
    post,
    path = "/events",
    tag = "ingest",
    request_body = crate::ingest::IngestBody,
    responses((status = 202, description = "Every event is valid and queued", body = ingest::Accepted)),
    security(("webhook_signature" = [], "webhook_tenant" = []))
)]
pub(super) async fn events(
    State(state): State<HttpState>,
    request: Request,
) -> Result<impl IntoResponse, ApiError> {
    let tenant = header(&request, TENANT_HEADER)?;
    let signature = header(&request, SIGNATURE_HEADER)?;
    let body = read_body(request, &()).await?;
    let accepted =
        ingest::ingest(&state.app, tenant.as_deref(), signature.as_deref(), &body).await?;
    Ok((StatusCode::ACCEPTED, axum::Json(accepted)))
}

fn header(request: &Request, name: &str) -> Result<Option<String>, ApiError> {
    request
        .headers()
        .get(name)
        .map(|v| {
            v.to_str()
                .map(str::to_string)
                .map_err(|_| ApiError::bad_request(name, "not valid text"))
        })
        .transpose()
}
