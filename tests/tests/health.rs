//! Issue 13 item 4: connection health (seed 001: "when the last successful sync and the
//! last unsuccessful sync were"). A poll and a push move `last_sync_at` and
//! `last_success_at` (a push leaves the scheduler's poll clock alone). When the org
//! refuses API use (`API_DISABLED_FOR_ORG`, 403, as a real org answers) the connection
//! turns `Failed` with `last_failure_at` and `last_error_code`; pushes park with a clear
//! code instead of failing; the connection is probed every 15 minutes, not every minute,
//! and recovers by itself once the org accepts calls again, replaying what was parked.

use crmsync_e2e::*;
use crmsync_service::{guard, http, schedule};
use crmsync_store::{ConnectionStatus, Environment, ReportStatus};
use serde_json::json;
use sf_emulator::FaultSpec;

e2e!(a_refusing_org_fails_the_connection_until_it_recovers);

async fn a_refusing_org_fails_the_connection_until_it_recovers(backend: Backend) {
    let s = Stack::start(backend).await;
    s.connect("prod", Environment::Production).await;
    let key = s.credentials.api_key.clone();
    let api = Api::new(http::report_router(s.app.clone()));

    // A poll is a success.
    s.poll("prod").await;
    let polled_at = s.now();
    let c = s.connection("prod").await;
    assert_eq!(c.status, ConnectionStatus::Connected);
    assert_eq!(
        c.last_success_at.map(|t| t.timestamp()),
        Some(polled_at.timestamp())
    );
    assert_eq!(c.last_poll_at, c.last_success_at);
    assert_eq!(c.last_failure_at, None);

    // So is a push, and it moves last_sync_at but not the poll clock.
    s.advance(chrono::Duration::seconds(20));
    s.send_events(
        "prod",
        vec![app_event(
            "create",
            "contact",
            "health-1",
            s.now(),
            json!({"first_name": "Hale", "last_name": "Thy", "email": "hale@health.example",
                   "company_name": "Health Co"}),
        )],
    )
    .await;
    let drained = s.drain_push().await;
    assert!(
        drained
            .outcomes
            .iter()
            .any(|o| o.status == ReportStatus::Success),
        "{drained:?}"
    );
    let c = s.connection("prod").await;
    assert_eq!(
        c.last_sync_at.map(|t| t.timestamp()),
        Some(s.now().timestamp())
    );
    assert_eq!(c.last_success_at, c.last_sync_at);
    assert_eq!(
        c.last_poll_at.map(|t| t.timestamp()),
        Some(polled_at.timestamp())
    );

    // The org turns its API off: the next poll fails and the connection is Failed.
    s.sf.set_faults(PROD_ORG, FaultSpec::none().api_disabled(true))
        .unwrap();
    s.advance(chrono::Duration::minutes(1));
    let failed_at = s.now();
    let err = crmsync_service::poll::poll_connection(&s.app, &s.tenant, &s.conn("prod"))
        .await
        .expect_err("the org refuses the poll");
    assert!(err.to_string().contains("API_DISABLED_FOR_ORG"), "{err}");
    let c = s.connection("prod").await;
    assert_eq!(c.status, ConnectionStatus::Failed);
    assert_eq!(c.last_error_code.as_deref(), Some("API_DISABLED_FOR_ORG"));
    assert_eq!(
        c.last_failure_at.map(|t| t.timestamp()),
        Some(failed_at.timestamp())
    );
    assert!(
        c.last_error
            .as_deref()
            .unwrap_or_default()
            .contains("not enabled"),
        "{c:?}"
    );
    let shown = ok("connection", api.get("/v1/connections/prod", &key).await);
    assert_eq!(shown["status"], "Failed", "{shown}");
    assert_eq!(shown["last_error_code"], "API_DISABLED_FOR_ORG", "{shown}");
    assert!(shown["last_failure_at"].is_string(), "{shown}");
    assert!(shown["last_success_at"].is_string(), "{shown}");

    // Pushed events park with a clear code (not an error, not lost).
    let event = app_event(
        "create",
        "contact",
        "health-2",
        s.now(),
        json!({"first_name": "Parked", "last_name": "Whilefailed",
               "email": "parked@health.example", "company_name": "Health Co"}),
    );
    let event_id = event["event_id"].as_str().unwrap().to_string();
    s.send_events("prod", vec![event]).await;
    let drained = s.drain_push().await;
    let parked = drained
        .outcomes
        .iter()
        .find(|o| o.event_id == event_id)
        .unwrap_or_else(|| panic!("{drained:?}"));
    assert_eq!(parked.status, ReportStatus::Parked, "{parked:?}");
    assert_eq!(
        parked.code.as_deref(),
        Some("CONNECTION_FAILED"),
        "{parked:?}"
    );

    // Probed every 15 minutes, not every minute.
    s.advance(chrono::Duration::minutes(5));
    let c = s.connection("prod").await;
    assert!(!guard::may_run(&c, s.now()));
    assert!(!schedule::is_due(&c, Default::default(), s.now()));
    let skipped = s.poll("prod").await;
    assert_eq!(skipped.status.as_str(), "not_connected", "{skipped:?}");

    // The admin turns the API back on; the next probe recovers and replays the parked push.
    s.sf.clear_faults(PROD_ORG).unwrap();
    s.advance(chrono::Duration::minutes(11));
    let c = s.connection("prod").await;
    assert!(schedule::is_due(&c, Default::default(), s.now()));
    s.poll("prod").await;
    let c = s.connection("prod").await;
    assert_eq!(c.status, ConnectionStatus::Connected);
    assert_eq!(
        c.last_success_at.map(|t| t.timestamp()),
        Some(s.now().timestamp())
    );
    assert_eq!(c.last_error, None);
    assert_eq!(
        c.last_error_code.as_deref(),
        Some("API_DISABLED_FOR_ORG"),
        "the last failure stays visible"
    );
    s.drain_push().await;
    let report = s
        .report("prod", &event_id)
        .await
        .expect("a report for the parked event");
    assert_eq!(report.status, ReportStatus::Success, "{report:?}");
    let people = s
        .count(PROD_ORG, "Lead", "Email = 'parked@health.example'")
        .await
        + s.count(PROD_ORG, "Contact", "Email = 'parked@health.example'")
            .await;
    assert_eq!(people, 1, "the parked create landed once");
}
