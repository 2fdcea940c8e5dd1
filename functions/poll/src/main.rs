//! The poll Lambda: the minute tick fans out due connections; poll-queue batches sync them.
//! Wiring only; the use case lives in `crmsync-service`.

use crmsync_service::lambda::{self, PollEvent};
use crmsync_service::{App, telemetry};
use lambda_runtime::{LambdaEvent, service_fn};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    telemetry::init_lambda();
    let app = App::from_env("poll").await?;
    let app = &app;
    lambda_runtime::run(service_fn(
        move |event: LambdaEvent<PollEvent>| async move { lambda::poll(app, event.payload).await },
    ))
    .await
}
