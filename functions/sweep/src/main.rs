//! The sweep Lambda: on its schedule, unlinks records deleted in Salesforce.
//! Wiring only; the use case lives in `crmsync-service`.

use crmsync_service::lambda::{self, ScheduledEvent};
use crmsync_service::{App, telemetry};
use lambda_runtime::{LambdaEvent, service_fn};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    telemetry::init_lambda();
    let app = App::from_env("sweep").await?;
    let app = &app;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<ScheduledEvent>| async move {
        lambda::sweep(app, event.payload).await
    }))
    .await
}
