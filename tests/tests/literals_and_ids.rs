//! Real Salesforce's literal typing and id forms (issue 9, items 3 and 5): a test-sync
//! filter on a date is sent unquoted and brings the right records; a value that is not a
//! date is refused naming `filter.CloseDate`; an app event naming a record by its
//! 15-character id links it, so the next poll emits no duplicate `create` and the
//! reconcile does not take the live record for deleted.

use crmsync_e2e::*;
use crmsync_service::error::ServiceError;
use crmsync_service::poll::{TestSegment, test_sync};
use crmsync_service::runs::RunStatus;
use crmsync_service::sweep;
use crmsync_store::{Environment, ReportStatus};
use serde_json::json;

e2e!(
    test_sync_filters_on_a_date_unquoted,
    test_sync_refuses_a_filter_value_that_is_not_of_the_field_type,
    a_15_character_id_from_the_app_links_the_existing_record,
);

fn opportunity_segment(filter: serde_json::Value) -> TestSegment {
    TestSegment {
        objects: Some(vec!["Opportunity".into()]),
        filter: serde_json::from_value(filter).unwrap(),
        ..TestSegment::default()
    }
}

async fn test_sync_filters_on_a_date_unquoted(backend: Backend) {
    let s = Stack::start(backend).await;
    s.connect("prod", Environment::Production).await;
    let account = s.insert(PROD_ORG, "Account", json!({"Name": "Dated Ltd"}));
    let mut ids = Vec::new();
    for (name, close) in [("Early", "2026-11-30"), ("Late", "2026-12-30")] {
        ids.push(s.insert(
            PROD_ORG,
            "Opportunity",
            json!({"Name": name, "AccountId": account, "StageName": "Prospecting",
                   "CloseDate": close, "Amount": 100.0}),
        ));
    }
    let before = s.last_seq().await;
    let run = test_sync(
        &s.app,
        &s.tenant,
        &s.conn("prod"),
        opportunity_segment(json!({"CloseDate": "2026-12-30", "Amount": 100})),
    )
    .await
    .expect("a date filter is valid SOQL");
    assert_eq!(run.status, RunStatus::Completed, "{run:#?}");
    assert_eq!(run.objects["Opportunity"].fetched, 1, "{run:#?}");
    let changes = s.changes_after(before).await;
    let got: Vec<&str> = changes.iter().map(|c| c.sf_id.as_str()).collect();
    assert_eq!(got, [ids[1].as_str()], "{changes:#?}");
}

async fn test_sync_refuses_a_filter_value_that_is_not_of_the_field_type(backend: Backend) {
    let s = Stack::start(backend).await;
    s.connect("prod", Environment::Production).await;
    for (filter, field, expected) in [
        (json!({"CloseDate": "tomorrow"}), "filter.CloseDate", "date"),
        (json!({"Amount": "abc"}), "filter.Amount", "number"),
        (json!({"Name": {"$ne": "x"}}), "filter.Name", "text"),
        (
            json!({"NoSuchField__c": "x"}),
            "filter.NoSuchField__c",
            "no field",
        ),
    ] {
        let err = test_sync(
            &s.app,
            &s.tenant,
            &s.conn("prod"),
            opportunity_segment(filter),
        )
        .await
        .expect_err("refused");
        let ServiceError::BadRequest {
            field: got,
            message,
        } = &err
        else {
            panic!("{field}: expected a 400, got {err:?}");
        };
        assert_eq!(got, field, "{message}");
        assert!(message.contains(expected), "{field}: {message}");
    }
}

async fn a_15_character_id_from_the_app_links_the_existing_record(backend: Backend) {
    let s = Stack::start(backend).await;
    s.connect("prod", Environment::Production).await;
    let account = s.insert(PROD_ORG, "Account", json!({"Name": "Known Ltd"}));
    let contact = s.insert(
        PROD_ORG,
        "Contact",
        json!({"LastName": "Known", "Phone": "+1 555 0400", "AccountId": account}),
    );
    assert_eq!(contact.len(), 18);
    let short = &contact[..15];

    let event = app_event(
        "update",
        "contact",
        "app-known",
        s.now(),
        json!({"last_name": "Known", "title": "CFO", "sf_contact_id": short}),
    );
    let event_id = event["event_id"].as_str().unwrap().to_string();
    s.send_events("prod", vec![event]).await;
    let drained = s.drain_push().await;
    assert!(drained.retried.is_empty(), "{drained:#?}");
    let report = s.report("prod", &event_id).await.expect("reported");
    assert_eq!(report.status, ReportStatus::Success, "{report:#?}");
    assert_eq!(s.record(PROD_ORG, "Contact", &contact)["Title"], "CFO");

    let link = s
        .app
        .stores
        .links
        .get_by_sf_id(&s.tenant, &s.conn("prod"), &contact)
        .await
        .unwrap()
        .expect("linked under the 18-character id");
    assert_eq!(link.sf_id, contact);
    assert_eq!(link.app_id, "app-known");

    // The poll sees the record (Salesforce returns 18 characters) as the linked one.
    s.advance(chrono::Duration::minutes(1));
    let before = s.last_seq().await;
    s.poll("prod").await;
    let changes = s.changes_after(before).await;
    let creates: Vec<_> = find_changes(&changes, &contact)
        .into_iter()
        .filter(|c| str_field(&c.payload, "action") == Some("create"))
        .collect();
    assert!(creates.is_empty(), "duplicate create: {creates:#?}");

    // A reconcile by Id scan (the delete log no longer covers the gap) keeps it linked.
    s.advance(chrono::Duration::minutes(2));
    sweep::sweep_connection(&s.app, &s.tenant, &s.conn("prod"))
        .await
        .expect("first sweep");
    s.advance(chrono::Duration::days(20));
    let run = sweep::sweep_connection(&s.app, &s.tenant, &s.conn("prod"))
        .await
        .expect("reconciling sweep");
    assert!(
        run.messages.iter().any(|m| m.contains("reconciled")),
        "the sweep reconciled: {run:#?}"
    );
    assert_eq!(run.total().unlinked, 0, "{run:#?}");
    assert!(
        s.app
            .stores
            .links
            .get_by_sf_id(&s.tenant, &s.conn("prod"), &contact)
            .await
            .unwrap()
            .is_some(),
        "the live record stays linked"
    );
}
