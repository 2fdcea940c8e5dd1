//! The demo, in process (asserting on its summary and on the emulated org) and as the real
//! binary (exit status and summary text).

use std::time::{Duration, Instant};

use crmsync_cli::demo::{DemoArgs, run_demo_on};
use crmsync_cli::events::{INVALID_EVENT_ID, INVALID_FIELD, UPDATE_EVENT_ID};
use crmsync_cli::output::Progress;
use crmsync_cli::report::SECTIONS;
use crmsync_cli::stack::{self, LocalStack, StackOptions};

const ORG: &str = sf_emulator::demo::ORG_ALIAS;
const DEMO_TIMEOUT: Duration = Duration::from_secs(90);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_connects_syncs_pushes_and_sweeps() {
    let stack = LocalStack::start(StackOptions::demo()).await.unwrap();
    let admin = stack
        .emulator_admin()
        .expect("the demo stack runs the emulator");
    let leads_before = admin.record_count(ORG, "Lead").unwrap();
    let args = DemoArgs::default();
    let summary = tokio::time::timeout(
        DEMO_TIMEOUT,
        run_demo_on(&stack, &args, Progress::Silent, Instant::now()),
    )
    .await
    .expect("demo finished in time")
    .expect("demo succeeded");

    // Connected through the OAuth flow.
    assert_eq!(summary.connection_status, "Connected");
    assert_eq!(summary.connected.org_name, "Demo Company");
    assert!(summary.tenant_created);

    // The test segment is a strict, non-empty subset of the full sync.
    let test_fetched = summary.test_sync.total().fetched;
    let full_fetched = summary.full_sync.total.total().fetched;
    assert!(test_fetched > 0, "test sync fetched nothing");
    assert!(
        test_fetched < full_fetched,
        "test sync {test_fetched} should be smaller than full sync {full_fetched}"
    );
    assert!(
        full_fetched >= 600,
        "the demo org has ~700 records, full sync saw {full_fetched}"
    );

    // Every event was accepted; pushes landed in the emulated org.
    assert_eq!(summary.events_accepted, summary.events_sent);
    let pushed = summary.push.total();
    assert!(pushed.created >= 2, "{:?}", summary.push);
    assert!(
        admin.record_count(ORG, "Lead").unwrap() >= leads_before + 2,
        "new Leads in the org"
    );
    for w in &summary.push.written {
        let id = w
            .sf_id
            .as_deref()
            .expect("written events name their record");
        assert!(
            admin.get_record(ORG, &w.object, id).unwrap().is_some(),
            "{} {id} from {} is in the org",
            w.object,
            w.event_id
        );
    }
    // The update after the create changed the same Lead.
    let update = summary
        .push
        .written
        .iter()
        .find(|w| w.event_id.starts_with(UPDATE_EVENT_ID))
        .expect("the update was written");
    let lead = admin
        .get_record(ORG, "Lead", update.sf_id.as_deref().unwrap())
        .unwrap()
        .unwrap();
    assert_eq!(lead["Title"], "Lead Analyst");
    assert!(pushed.updated >= 1);

    // The sale wrote its two priced line items (issue 9: never a won deal without them),
    // and the over-long Company is the only error.
    let (items_before, items_after) = summary.salesforce_counts["OpportunityLineItem"];
    assert_eq!(
        items_after,
        items_before + 2,
        "{:?}",
        summary.salesforce_counts
    );
    assert_eq!(summary.push.errors.len(), 1, "{:?}", summary.push.errors);

    // The invalid event is an error whose reason names the field.
    let invalid = summary
        .push
        .errors
        .iter()
        .find(|e| e.event_id.starts_with(INVALID_EVENT_ID))
        .expect("the over-long Company is reported as an error");
    assert!(
        invalid.reason.contains(INVALID_FIELD),
        "reason names the field: {}",
        invalid.reason
    );
    assert!(
        !summary
            .push
            .written
            .iter()
            .any(|w| w.event_id.starts_with(INVALID_EVENT_ID)),
        "the invalid event wrote nothing"
    );

    // The record deleted in Salesforce was unlinked by the sweep.
    let deleted = summary.deleted.as_ref().expect("the demo deleted a record");
    assert!(summary.sweep.total().unlinked >= 1, "{:?}", summary.sweep);
    let (t, c) = stack::ids(&summary.tenant, &summary.connection).unwrap();
    assert!(
        stack
            .app()
            .stores
            .links
            .get_by_sf_id(&t, &c, &deleted.id)
            .await
            .unwrap()
            .is_none(),
        "the deleted record's link is gone"
    );

    // The schema-drift step paused the hidden mapping and the poll still completed.
    let drift = summary
        .schema_drift
        .as_ref()
        .expect("emulated: the drift step ran");
    assert_eq!(drift.poll_status, "Completed", "{drift:?}");
    assert!(
        drift
            .paused
            .iter()
            .any(|m| m.contains("mapping Lead.Title paused")),
        "{drift:?}"
    );
    assert!(summary.sync_enabled, "the demo turns the sync on");

    // API use is counted on both sides.
    assert!(summary.crmsync_api_calls() > 0);
    let api = summary.emulator_api.as_ref().unwrap();
    assert!(api.used >= summary.crmsync_api_calls());
    stack.shutdown().await;
}

async fn run_binary(args: &[&str], timeout: Duration) -> std::process::Output {
    let child = tokio::process::Command::new(env!("CARGO_BIN_EXE_crmsync"))
        .args(args)
        .env("RUST_LOG", "warn")
        .env_remove("CRMSYNC_SF_CLIENT_ID")
        .env_remove("CRMSYNC_SF_CLIENT_SECRET")
        .kill_on_drop(true)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("crmsync starts");
    tokio::time::timeout(timeout, child.wait_with_output())
        .await
        .unwrap_or_else(|_| panic!("crmsync {args:?} did not finish within {timeout:?}"))
        .expect("crmsync ran")
}

#[tokio::test]
async fn the_binary_demo_exits_zero_and_prints_every_section() {
    let out = run_binary(&["demo"], DEMO_TIMEOUT).await;
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "exit {:?}\nstdout:\n{stdout}\nstderr:\n{stderr}",
        out.status
    );
    for section in SECTIONS {
        assert!(
            stdout.lines().any(|l| l.starts_with(section)),
            "summary has a '{section}' section:\n{stdout}"
        );
    }
    for step in 1..=8 {
        assert!(
            stderr.contains(&format!("[{step}/8]")),
            "progress line {step}:\n{stderr}"
        );
    }
    assert!(stdout.contains("STRING_TOO_LONG"), "{stdout}");
}

#[tokio::test]
async fn the_binary_demo_as_json_is_parseable() {
    let out = run_binary(&["demo", "--json", "--tenant", "json-demo"], DEMO_TIMEOUT).await;
    assert!(out.status.success(), "{out:?}");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON summary");
    assert_eq!(v["tenant"], "json-demo");
    assert_eq!(v["connection_status"], "Connected");
    assert!(v["full_sync"]["runs"].as_u64().unwrap() >= 1);
}

#[tokio::test]
async fn a_bad_option_fails_with_a_message_naming_it() {
    let out = run_binary(
        &["demo", "--sf-login-url", "https://login.example"],
        Duration::from_secs(30),
    )
    .await;
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("--client-id"), "{stderr}");

    let out = run_binary(&["demo", "--tenant", "no spaces"], Duration::from_secs(30)).await;
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("tenant"), "{stderr}");
}
