//! The demo on the AWS adapters (DynamoDB, Secrets Manager, SQS) against moto server.
//! Needs CRMSYNC_TEST_MOTO_ENDPOINT (set by `bash infra/test.sh`).

use std::time::{Duration, Instant};

use crmsync_cli::demo::{DemoArgs, run_demo_on};
use crmsync_cli::events::INVALID_EVENT_ID;
use crmsync_cli::output::Progress;
use crmsync_cli::stack::{LocalStack, StackOptions, StateBackend};

fn moto_endpoint() -> String {
    std::env::var("CRMSYNC_TEST_MOTO_ENDPOINT")
        .ok()
        .filter(|v| !v.trim().is_empty())
        .expect(
            "CRMSYNC_TEST_MOTO_ENDPOINT is not set: this test needs moto server; run `bash infra/test.sh` \
             (it starts moto and exports the variable)",
        )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_runs_on_the_aws_adapters() {
    let endpoint = moto_endpoint();
    let stack = LocalStack::start(StackOptions {
        state: StateBackend::AwsEndpoint {
            endpoint,
            name: "crmsync-cli-test".into(),
        },
        ..StackOptions::demo()
    })
    .await
    .expect("stack on moto");
    // A fresh tenant per run: the table outlives the test on a shared moto server.
    let args = DemoArgs {
        tenant: format!("aws-{}", &uuid::Uuid::new_v4().simple().to_string()[..12]),
        ..DemoArgs::default()
    };
    let summary = tokio::time::timeout(
        Duration::from_secs(240),
        run_demo_on(&stack, &args, Progress::Silent, Instant::now()),
    )
    .await
    .expect("demo on moto finished in time")
    .expect("demo on moto succeeded");
    assert_eq!(summary.connection_status, "Connected");
    assert!(summary.tenant_created);
    let test_fetched = summary.test_sync.total().fetched;
    assert!(test_fetched > 0 && test_fetched < summary.full_sync.total.total().fetched);
    assert!(summary.push.total().created >= 2, "{:?}", summary.push);
    assert!(
        summary
            .push
            .errors
            .iter()
            .any(|e| e.event_id.starts_with(INVALID_EVENT_ID) && e.reason.contains("Company"))
    );
    assert!(summary.sweep.total().unlinked >= 1);
    stack.shutdown().await;
}

#[test]
fn tenant_commands_work_on_the_aws_adapters() {
    let endpoint = moto_endpoint();
    let id = format!("t-{}", &uuid::Uuid::new_v4().simple().to_string()[..12]);
    let run = |args: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_crmsync"))
            .args(args)
            .args(["--aws-endpoint", &endpoint, "--json"])
            .output()
            .expect("crmsync runs")
    };
    let out = run(&["tenant", "create", "--id", &id, "--name", "On moto"]);
    assert!(out.status.success(), "{out:?}");
    let created: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let out = run(&["tenant", "rotate", "--id", &id]);
    assert!(out.status.success(), "{out:?}");
    let rotated: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(rotated["tenant_id"], id.as_str());
    assert_ne!(rotated["api_key"], created["api_key"]);
}
