//! HTTP adapters of the use cases (axum 0.8), one router per Lambda function:
//!
//! - [`oauth_router`]: the signed connect link (`GET /connect/{tenant}`) and the OAuth
//!   callback (`GET /oauth/callback`); browser-facing, errors as small HTML pages;
//! - [`ingest_router`]: `POST /events`, HMAC-signed batches of app events;
//! - [`report_router`]: the tenant report API `/v1/...` (tenant API key) and the operator
//!   API `/admin/...` (operator key), and the admin page `/ui/` (module `ui`);
//! - [`local_router`]: all three on one listener, for `crmsync dev`.
//!
//! Every JSON error has the shape `{"error":{"code":…,"message":…}}` (see [`ApiError`]);
//! unknown routes, unknown query parameters and unknown JSON fields are refused by name.
//! A request's tenant comes only from its credentials (API key or webhook signature),
//! never from the URL of a `/v1` route.

mod admin;
mod auth;
pub mod connect_link;
mod error;
mod import;
mod ingest;
mod oauth;
mod params;
mod report;
mod ui;

use std::sync::Arc;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::get;

pub use auth::{
    OPERATOR_VAULT_CONNECTION, OPERATOR_VAULT_TENANT, operator_key_hash, set_operator_key,
};
pub use connect_link::{ConnectLink, connect_link_url, sign_connect_link, verify_connect_link};
pub use error::ApiError;

use crate::app::App;

/// Largest JSON body the report API accepts (configs are the big ones).
const REPORT_BODY_LIMIT: usize = 1024 * 1024;

/// Where admin requests find the operator key hash.
#[derive(Debug, Clone)]
pub(crate) enum OperatorKeySource {
    /// The vault pseudo-entry (local runs), read per request.
    Vault,
    /// Given at start-up (the Lambda reads the operator key secret); `None` disables `/admin`.
    Fixed(Option<String>),
}

#[derive(Debug, Clone)]
pub(crate) struct HttpState {
    pub app: Arc<App>,
    pub operator: OperatorKeySource,
}

async fn health() -> axum::Json<serde_json::Value> {
    axum::Json(serde_json::json!({ "status": "ok" }))
}

/// Adds `/health` (and `/v1/health`, the one API Gateway routes to the report function)
/// and the JSON fallbacks (404 unknown route, 405 wrong method).
fn finish(router: Router) -> Router {
    router
        .route("/health", get(health))
        .route("/v1/health", get(health))
        .fallback(error::not_found)
        .method_not_allowed_fallback(error::method_not_allowed)
}

fn oauth_routes(app: &Arc<App>) -> Router {
    oauth::routes().with_state(HttpState {
        app: app.clone(),
        operator: OperatorKeySource::Fixed(None),
    })
}

fn ingest_routes(app: &Arc<App>) -> Router {
    ingest::routes().with_state(HttpState {
        app: app.clone(),
        operator: OperatorKeySource::Fixed(None),
    })
}

fn report_routes(app: &Arc<App>, operator: OperatorKeySource) -> Router {
    report::routes()
        .merge(admin::routes())
        .merge(ui::routes())
        .layer(DefaultBodyLimit::max(REPORT_BODY_LIMIT))
        // After the report limit: an import's body may be larger.
        .merge(import::routes())
        .with_state(HttpState {
            app: app.clone(),
            operator,
        })
}

/// `GET /connect/{tenant}`, `GET /oauth/callback`, `GET /health`.
pub fn oauth_router(app: Arc<App>) -> Router {
    finish(oauth_routes(&app))
}

/// `POST /events`, `GET /health`.
pub fn ingest_router(app: Arc<App>) -> Router {
    finish(ingest_routes(&app))
}

/// `/v1/...`, `/admin/...`, `GET /health`; the operator key hash is read from the vault
/// pseudo-entry (see [`set_operator_key`]).
pub fn report_router(app: Arc<App>) -> Router {
    finish(report_routes(&app, OperatorKeySource::Vault))
}

/// [`report_router`] with the operator key hash given (the Lambda reads the secret named by
/// `CRMSYNC_OPERATOR_KEY_SECRET_ID` at cold start); `None` disables `/admin`.
pub fn report_router_with_operator_hash(
    app: Arc<App>,
    operator_key_hash: Option<String>,
) -> Router {
    finish(report_routes(
        &app,
        OperatorKeySource::Fixed(operator_key_hash),
    ))
}

/// Every route on one listener (`crmsync dev`).
pub fn local_router(app: Arc<App>) -> Router {
    finish(
        oauth_routes(&app)
            .merge(ingest_routes(&app))
            .merge(report_routes(&app, OperatorKeySource::Vault)),
    )
}
