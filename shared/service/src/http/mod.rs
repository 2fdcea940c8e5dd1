//! HTTP adapters of the use cases (axum 0.8), one router per Lambda function:
//!
//! - [`oauth_router`]: the signed connect link (`GET /connect/{tenant}`) and the OAuth
//!   callback (`GET /oauth/callback`); browser-facing, errors as small HTML pages;
//! - [`ingest_router`]: `POST /events`, HMAC-signed batches of app events;
//! - [`report_router`]: the tenant report API `/v1/...` (tenant API key) and the operator
//!   API `/admin/...` (operator key), and the admin page `/ui/` (module `ui`);
//! - [`local_router`]: all three on one listener, for `crmsync dev`.
//!
//! Routes are added through [`RouteTable`] only, which records them ([`Served::routes`]);
//! [`openapi`] documents them (`GET /v1/openapi.json`), and the e2e tests compare the two.
//!
//! Every JSON error has the shape `{"error":{"code":…,"message":…}}` (see [`ApiError`]);
//! unknown routes, unknown query parameters and unknown JSON fields are refused by name.
//! A request's tenant comes only from its credentials (API key or webhook signature),
//! never from the URL of a `/v1` route.

mod admin;
mod auth;
pub mod connect_link;
mod drift_check;
mod error;
mod import;
mod ingest;
mod oauth;
pub mod openapi;
mod params;
mod report;
mod report_params;
mod route_table;
mod ui;

use std::sync::Arc;

use axum::Router;
use axum::extract::DefaultBodyLimit;

pub use auth::{
    OPERATOR_VAULT_CONNECTION, OPERATOR_VAULT_TENANT, operator_key_hash, set_operator_key,
};
pub use connect_link::{ConnectLink, connect_link_url, sign_connect_link, verify_connect_link};
pub use error::ApiError;
pub use route_table::Route;
use route_table::RouteTable;

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

/// `{"status":"ok"}`.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub(crate) struct Health {
    /// Always `ok`.
    status: &'static str,
}

#[utoipa::path(get, path = "/health", tag = "health",
    responses((status = 200, description = "The function is up", body = Health)))]
pub(crate) async fn health() -> axum::Json<Health> {
    axum::Json(Health { status: "ok" })
}

#[utoipa::path(get, path = "/v1/health", tag = "health",
    responses((status = 200, description = "The report function is up", body = Health)))]
pub(crate) async fn v1_health() -> axum::Json<Health> {
    health().await
}

/// A router with the routes it serves (see [`RouteTable`]).
#[derive(Debug)]
pub struct Served {
    pub router: Router,
    pub routes: Vec<Route>,
}

impl Served {
    /// `body_limit`: the largest request body, when not axum's default.
    fn new(table: RouteTable, state: HttpState, body_limit: Option<usize>) -> Self {
        let (mut router, routes) = table.build();
        if let Some(limit) = body_limit {
            router = router.layer(DefaultBodyLimit::max(limit));
        }
        Self {
            router: router.with_state(state),
            routes,
        }
    }

    fn merge(mut self, other: Served) -> Self {
        self.router = self.router.merge(other.router);
        self.routes.extend(other.routes);
        self
    }
}

/// Adds `/health` (and `/v1/health`, the one API Gateway routes to the report function)
/// and the JSON fallbacks (404 unknown route, 405 wrong method).
fn finish(served: Served, app: &Arc<App>) -> Served {
    let health = RouteTable::new()
        .get("/health", health)
        .get("/v1/health", v1_health);
    let served = served.merge(Served::new(health, no_operator(app), None));
    Served {
        router: served
            .router
            .fallback(error::not_found)
            .method_not_allowed_fallback(error::method_not_allowed),
        routes: served.routes,
    }
}

fn no_operator(app: &Arc<App>) -> HttpState {
    HttpState {
        app: app.clone(),
        operator: OperatorKeySource::Fixed(None),
    }
}

fn oauth_routes(app: &Arc<App>) -> Served {
    Served::new(oauth::routes(), no_operator(app), None)
}

fn ingest_routes(app: &Arc<App>) -> Served {
    Served::new(
        ingest::routes(),
        no_operator(app),
        Some(crate::ingest::MAX_BODY_BYTES),
    )
}

fn report_routes(app: &Arc<App>, operator: OperatorKeySource) -> Served {
    let state = HttpState {
        app: app.clone(),
        operator,
    };
    let report = report::routes()
        .merge(admin::routes())
        .merge(openapi::routes())
        .merge(drift_check::routes())
        .merge(ui::routes());
    Served::new(report, state.clone(), Some(REPORT_BODY_LIMIT))
        // An import's body may be larger.
        .merge(Served::new(
            import::routes(),
            state,
            Some(crate::import::MAX_BODY_BYTES),
        ))
}

/// `GET /connect/{tenant}`, `GET /oauth/callback`, `GET /health`.
pub fn oauth_router(app: Arc<App>) -> Router {
    finish(oauth_routes(&app), &app).router
}

/// `POST /events`, `GET /health`.
pub fn ingest_router(app: Arc<App>) -> Router {
    finish(ingest_routes(&app), &app).router
}

/// `/v1/...`, `/admin/...`, `GET /health`; the operator key hash is read from the vault
/// pseudo-entry (see [`set_operator_key`]).
pub fn report_router(app: Arc<App>) -> Router {
    report_served(app).router
}

/// [`report_router`] with the routes it serves.
pub fn report_served(app: Arc<App>) -> Served {
    finish(report_routes(&app, OperatorKeySource::Vault), &app)
}

/// [`report_router`] with the operator key hash given (the Lambda reads the secret named by
/// `CRMSYNC_OPERATOR_KEY_SECRET_ID` at cold start); `None` disables `/admin`.
pub fn report_router_with_operator_hash(
    app: Arc<App>,
    operator_key_hash: Option<String>,
) -> Router {
    finish(
        report_routes(&app, OperatorKeySource::Fixed(operator_key_hash)),
        &app,
    )
    .router
}

/// Every route on one listener (`crmsync dev`).
pub fn local_router(app: Arc<App>) -> Router {
    local_served(app).router
}

/// [`local_router`] with the routes it serves: every route of every function.
pub fn local_served(app: Arc<App>) -> Served {
    let all = oauth_routes(&app)
        .merge(ingest_routes(&app))
        .merge(report_routes(&app, OperatorKeySource::Vault));
    finish(all, &app)
}
