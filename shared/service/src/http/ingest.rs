//! `POST /events`: a signed batch of app events (see [`crate::ingest`]) → 202 `Accepted`.

use axum::Router;
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::post;

use super::HttpState;
use super::error::ApiError;
use super::params::read_body;
use crate::ingest::{self, MAX_BODY_BYTES};
use crate::signing::{SIGNATURE_HEADER, TENANT_HEADER};

pub(crate) fn routes() -> Router<HttpState> {
    Router::new()
        .route("/events", post(events))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
}

async fn events(
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
