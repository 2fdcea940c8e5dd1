//! The ingest Lambda: signed batches of app record events onto the FIFO push queue.
//! Wiring only; the route and use case live in `crmsync-service`.

use std::sync::Arc;

use crmsync_service::{App, http, telemetry};

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    telemetry::init_lambda();
    let app = Arc::new(App::from_env("ingest").await?);
    lambda_http::run(http::ingest_router(app)).await
}
