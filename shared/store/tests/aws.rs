//! The contract suite against DynamoDB, Secrets Manager and SQS, on moto server.
//! Each test gets its own table, queues and secret prefix, so tests run in parallel.

mod contract;

use std::sync::Arc;

use crmsync_store::*;

async fn harness() -> contract::Harness {
    let endpoint = std::env::var("CRMSYNC_TEST_MOTO_ENDPOINT").unwrap_or_else(|_| {
        panic!(
            "CRMSYNC_TEST_MOTO_ENDPOINT is not set: the AWS adapter tests need moto server. \
             Run `bash infra/test.sh`, or `source infra/scripts/moto.sh` before cargo test."
        )
    });
    assert!(
        endpoint.starts_with("http://127.0.0.1:") || endpoint.starts_with("http://localhost:"),
        "CRMSYNC_TEST_MOTO_ENDPOINT must point at a local moto server, got {endpoint}"
    );
    let clients = AwsClients::with_endpoint(&endpoint).await;
    let name = format!(
        "crmsync-test-{}",
        &uuid::Uuid::new_v4().simple().to_string()[..12]
    );
    let settings = tokio::time::timeout(
        std::time::Duration::from_secs(30),
        bootstrap::bootstrap(&clients, &name),
    )
    .await
    .expect("bootstrap against moto timed out")
    .unwrap_or_else(|e| panic!("bootstrap against moto at {endpoint} failed: {e}"));
    let clock = Arc::new(ManualClock::starting_now());
    contract::Harness {
        stores: Stores::aws_with_clock(&clients, &settings, clock.clone()),
        clock,
    }
}

all_contract_tests!(harness);
