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
        temp_dir: None,
    }
}

all_contract_tests!(harness);
contract_tests!(harness; foreign_page_tokens_are_refused);

#[tokio::test]
async fn missing_table_is_a_permanent_error() {
    let h = harness().await;
    // Same clients, a table that does not exist.
    let endpoint = std::env::var("CRMSYNC_TEST_MOTO_ENDPOINT").unwrap();
    let clients = AwsClients::with_endpoint(&endpoint).await;
    let settings = AwsSettings {
        table: "crmsync-test-no-such-table".into(),
        push_queue_url: format!("{endpoint}/123456789012/none.fifo"),
        poll_queue_url: format!("{endpoint}/123456789012/none"),
        sweep_queue_url: format!("{endpoint}/123456789012/none-sweep"),
        secret_prefix: "crmsync-test-none/".into(),
        kms_key_id: None,
    };
    let stores = Stores::aws_with_clock(&clients, &settings, h.clock.clone());
    let err = tokio::time::timeout(
        std::time::Duration::from_secs(60),
        stores.tenants.get(&TenantId::new("t1").unwrap()),
    )
    .await
    .expect("moto answered in time")
    .unwrap_err();
    assert!(!err.is_retryable(), "{err}");
    assert!(matches!(err, StoreError::Rejected { .. }), "{err}");
}

#[tokio::test]
async fn unreachable_endpoint_is_retryable() {
    // A port that was free a moment ago: connection refused.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let clients = AwsClients::with_endpoint(&format!("http://127.0.0.1:{port}")).await;
    let settings = AwsSettings {
        table: "t".into(),
        push_queue_url: format!("http://127.0.0.1:{port}/1/q.fifo"),
        poll_queue_url: format!("http://127.0.0.1:{port}/1/q"),
        sweep_queue_url: format!("http://127.0.0.1:{port}/1/s"),
        secret_prefix: "p/".into(),
        kms_key_id: None,
    };
    let stores = Stores::aws(&clients, &settings);
    let err = tokio::time::timeout(
        std::time::Duration::from_secs(60),
        stores.tenants.get(&TenantId::new("t1").unwrap()),
    )
    .await
    .expect("the SDK gave up in time")
    .unwrap_err();
    assert!(err.is_retryable(), "{err}");
}
