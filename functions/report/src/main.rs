//! The report Lambda: the tenant report API (`/v1/*`) and the operator API (`/admin/*`).
//! Wiring only; the routes and use cases live in `crmsync-service`.

use std::sync::Arc;

use crmsync_service::{App, http, telemetry};

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    telemetry::init_lambda();
    let (app, operator_key_hash) = App::report_from_env().await?;
    let router = http::report_router_with_operator_hash(Arc::new(app), operator_key_hash);
    lambda_http::run(router).await
}
