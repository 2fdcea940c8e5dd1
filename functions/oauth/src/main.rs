//! The oauth Lambda: connect start, OAuth callback and disconnect, behind the HTTP API.
//! Wiring only; the routes and use cases live in `crmsync-service`.

use std::sync::Arc;

use crmsync_service::{App, http, telemetry};

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    telemetry::init_lambda();
    let app = Arc::new(App::from_env("oauth").await?);
    lambda_http::run(http::oauth_router(app)).await
}
