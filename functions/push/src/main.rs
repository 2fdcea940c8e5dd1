//! The push Lambda: SQS batches of app events written to Salesforce, with partial batch
//! failures. Wiring only; the use case lives in `crmsync-service`.

use crmsync_service::lambda::{self, SqsEvent};
use crmsync_service::{App, telemetry};
use lambda_runtime::{LambdaEvent, service_fn};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    telemetry::init_lambda();
    let app = App::from_env("push").await?;
    let app = &app;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<SqsEvent>| async move {
        lambda::push_batch(app, event.payload).await
    }))
    .await
}
