//! Issue 13 item 1: the sync switch (seed 000: "never run a full sync first", "fix them
//! before turning on the sync"). A new connection starts off: test syncs, config edits and
//! `config/status` work, polls do nothing and pushed events are refused with `SYNC_OFF`
//! (an error with its reason, not parked). Turning it on refuses a config that is not
//! ready, listing the problems; once on, polls and pushes run.

use axum::http::{Method, StatusCode};
use crmsync_core::config::{FieldMapping, SyncRule};
use crmsync_core::transform::FieldKind;
use crmsync_e2e::*;
use crmsync_service::runs::RunStatus;
use crmsync_service::{http, schedule};
use crmsync_store::{Environment, ReportStatus};
use serde_json::json;

e2e!(a_new_connection_syncs_only_once_turned_on);

async fn a_new_connection_syncs_only_once_turned_on(backend: Backend) {
    let s = Stack::start_with(
        backend,
        StackOptions {
            sync_off_at_connect: true,
            ..StackOptions::default()
        },
    )
    .await;
    s.connect("prod", Environment::Production).await;
    let key = s.credentials.api_key.clone();
    let api = Api::new(http::report_router(s.app.clone()));
    let c = s.connection("prod").await;
    assert!(!c.sync_enabled, "a new connection starts off");
    let shown = ok("connection", api.get("/v1/connections/prod", &key).await);
    assert_eq!(shown["sync_enabled"], false, "{shown}");

    // Off: the scheduler skips it, a poll does nothing, a push is refused with a code.
    assert!(!schedule::is_due(&c, Default::default(), s.now()));
    let lead = s.insert(
        PROD_ORG,
        "Lead",
        json!({"FirstName": "Otto", "LastName": "Off", "Company": "Off Co",
               "Email": "otto@off.example", "Phone": "+1 555 0190"}),
    );
    let seq = s.last_seq().await;
    let before = s.sf.api_usage(PROD_ORG).unwrap();
    let run = s.poll("prod").await;
    assert_eq!(run.status, RunStatus::SyncOff, "{run:?}");
    assert_eq!(
        s.sf.api_usage(PROD_ORG).unwrap(),
        before,
        "no Salesforce call"
    );
    assert!(s.changes_after(seq).await.is_empty());
    let event = app_event(
        "create",
        "contact",
        "switch-1",
        s.now(),
        json!({"first_name": "Ada", "last_name": "Early", "email": "ada@early.example",
               "phone": "+1 555 0191", "company_name": "Early Co"}),
    );
    let event_id = event["event_id"].as_str().unwrap().to_string();
    s.send_events("prod", vec![event]).await;
    s.drain_push().await;
    let refused = s.report("prod", &event_id).await.expect("reported");
    assert_eq!(refused.status, ReportStatus::Error, "{refused:?}");
    assert_eq!(refused.code.as_deref(), Some("SYNC_OFF"), "{refused:?}");
    assert_eq!(
        s.count(PROD_ORG, "Lead", "Email = 'ada@early.example'")
            .await,
        0
    );

    // A test sync works while off, and so does config/status.
    let test = ok(
        "test-sync",
        api.call(
            Method::POST,
            "/v1/connections/prod/test-sync",
            Some(&key),
            Some(json!({"objects": ["Lead"], "modified_within_hours": 1})),
        )
        .await,
    );
    assert_eq!(test["status"], "completed", "{test}");
    ok(
        "config/status",
        api.get("/v1/connections/prod/config/status", &key).await,
    );

    // Turning it on refuses a config that is not ready, naming the problem.
    s.edit_config("prod", |c| {
        c.objects
            .get_mut("Lead")
            .unwrap()
            .fields
            .push(FieldMapping::new(
                "shoe_size",
                "Shoe_Size__c",
                SyncRule::TwoWay,
                FieldKind::Number,
            ));
    })
    .await;
    let (code, body) = api
        .call(
            Method::POST,
            "/v1/connections/prod/sync",
            Some(&key),
            Some(json!({"enabled": true})),
        )
        .await;
    assert_eq!(code, StatusCode::BAD_REQUEST, "{body}");
    assert!(body.to_string().contains("Shoe_Size__c"), "{body}");
    assert!(!s.connection("prod").await.sync_enabled);
    let (code, body) = api
        .call(
            Method::POST,
            "/v1/connections/prod/sync",
            Some(&key),
            Some(json!({"enabled": "yes"})),
        )
        .await;
    assert_eq!(code, StatusCode::BAD_REQUEST, "{body}");

    // Fixed, it turns on; polls and pushes run.
    s.edit_config("prod", |c| {
        c.objects
            .get_mut("Lead")
            .unwrap()
            .fields
            .retain(|m| m.salesforce_field != "Shoe_Size__c");
    })
    .await;
    let on = ok(
        "sync on",
        api.call(
            Method::POST,
            "/v1/connections/prod/sync",
            Some(&key),
            Some(json!({"enabled": true})),
        )
        .await,
    );
    assert_eq!(on["sync_enabled"], true, "{on}");
    let run = s.poll("prod").await;
    assert_eq!(run.status, RunStatus::Completed, "{run:?}");
    let changes = s.changes_after(seq).await;
    assert_eq!(find_changes(&changes, &lead).len(), 1, "{changes:?}");
    let repushed = api
        .call(
            Method::POST,
            &format!("/v1/connections/prod/reports/{event_id}/repush"),
            Some(&key),
            None,
        )
        .await;
    assert_eq!(repushed.0, StatusCode::ACCEPTED, "{}", repushed.1);
    s.drain_push().await;
    assert_eq!(
        s.count(PROD_ORG, "Lead", "Email = 'ada@early.example'")
            .await,
        1
    );

    // And off again.
    let off = ok(
        "sync off",
        api.call(
            Method::POST,
            "/v1/connections/prod/sync",
            Some(&key),
            Some(json!({"enabled": false})),
        )
        .await,
    );
    assert_eq!(off["sync_enabled"], false);
    s.advance(chrono::Duration::minutes(1));
    assert_eq!(s.poll("prod").await.status, RunStatus::SyncOff);
}
