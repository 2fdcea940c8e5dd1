//! The two adapter sets a scenario runs against.

use std::sync::Arc;
use std::time::Duration;

use crmsync_store::{AwsClients, AwsSettings, Clock, Stores, bootstrap};

/// Which `crmsync-store` adapters hold state, tokens and queues.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// In-memory adapters.
    Embedded,
    /// DynamoDB, Secrets Manager and SQS on a local moto server.
    Aws,
}

/// The moto server endpoint; fails the test (never skips) when it is not running.
pub fn moto_endpoint() -> String {
    let endpoint = std::env::var("CRMSYNC_TEST_MOTO_ENDPOINT").unwrap_or_else(|_| {
        panic!(
            "CRMSYNC_TEST_MOTO_ENDPOINT is not set: the AWS-backed end-to-end tests need moto \
             server. Run `bash infra/test.sh`, or `source infra/scripts/moto.sh` before cargo test."
        )
    });
    assert!(
        endpoint.starts_with("http://127.0.0.1:") || endpoint.starts_with("http://localhost:"),
        "CRMSYNC_TEST_MOTO_ENDPOINT must point at a local moto server, got {endpoint}"
    );
    endpoint
}

/// Stores for `backend` and, for AWS, the resource names (a fresh table, queues and secret
/// prefix per call, so tests run in parallel).
pub async fn stores(backend: Backend, clock: Arc<dyn Clock>) -> (Stores, Option<AwsSettings>) {
    match backend {
        Backend::Embedded => {
            let stores = Stores::embedded_with_clock(None, clock)
                .await
                .expect("embedded stores open");
            (stores, None)
        }
        Backend::Aws => {
            let endpoint = moto_endpoint();
            let clients = AwsClients::with_endpoint(&endpoint).await;
            let name = format!("e2e-{}", &uuid::Uuid::new_v4().simple().to_string()[..12]);
            let settings = tokio::time::timeout(
                Duration::from_secs(60),
                bootstrap::bootstrap(&clients, &name),
            )
            .await
            .expect("bootstrap against moto timed out")
            .unwrap_or_else(|e| panic!("bootstrap against moto at {endpoint} failed: {e}"));
            (
                Stores::aws_with_clock(&clients, &settings, clock),
                Some(settings),
            )
        }
    }
}
