//! Pinned regressions from issue 10 ("Defects it must find"): each scenario failed on
//! the code before its fix.

use crmsync_e2e::*;
use crmsync_service::runs::RunStatus;
use crmsync_store::{ConnectionStatus, Environment, ReportStatus};
use serde_json::json;

e2e!(
    poll_tags_records_linked_under_a_contact_with_their_own_app_record,
    a_late_commit_behind_a_dense_overlap_window_is_read,
    invalid_client_on_refresh_keeps_connections_connected_and_retries,
    request_limit_exceeded_on_push_parks_the_event_until_the_limit_resets,
    a_phone_in_another_format_finds_the_existing_record,
);

async fn connected(backend: Backend) -> Stack {
    let s = Stack::start(backend).await;
    s.connect("prod", Environment::Production).await;
    s
}

/// A contact's demo set creates its Account and Opportunity, linked under the contact.
/// When Salesforce users edit those, the feed must not name the contact as the company or
/// the deal.
async fn poll_tags_records_linked_under_a_contact_with_their_own_app_record(backend: Backend) {
    let s = connected(backend).await;
    s.poll("prod").await;
    let demo = app_event(
        "demo_set",
        "contact",
        "app-tagged",
        s.now(),
        json!({"first_name": "Tia", "last_name": "Tag", "phone": "+1 555 2100",
               "email": "tia@tag.example", "company_name": "Tag Co", "city": "Boise",
               "phase": "HeldPhase", "previous_phase": "ColdCallWorkingNum",
               "demo_at": "2026-12-10T10:00:00Z"}),
    );
    s.send_events("prod", vec![demo]).await;
    s.drain_push().await;
    let account = s
        .soql(PROD_ORG, "SELECT Id FROM Account WHERE Name = 'Tag Co'")
        .await;
    assert_eq!(account.len(), 1, "{account:?}");
    let account = account[0]["Id"].as_str().unwrap().to_string();
    let opps = s
        .soql(
            PROD_ORG,
            &format!("SELECT Id FROM Opportunity WHERE AccountId = '{account}'"),
        )
        .await;
    assert_eq!(opps.len(), 1, "{opps:?}");
    let opp = opps[0]["Id"].as_str().unwrap().to_string();

    s.advance(chrono::Duration::minutes(1));
    s.poll("prod").await;
    let before = s.last_seq().await;
    s.advance(chrono::Duration::minutes(1));
    s.update(
        PROD_ORG,
        "Account",
        &account,
        json!({"Name": "Tag Co Renamed"}),
    );
    s.update(PROD_ORG, "Opportunity", &opp, json!({"LeadSource": "Web"}));
    s.poll("prod").await;
    let got = s.changes_after(before).await;
    for sf_id in [&account, &opp] {
        let entries = find_changes(&got, sf_id);
        assert_eq!(entries.len(), 1, "{sf_id}: {got:#?}");
        let e = entries[0];
        let app_object = str_field(&e.payload, "app_object").expect("app_object");
        assert_ne!(app_object, "contact", "{e:#?}");
        // Not the contact's id under another app object: none (the app knows no such
        // record yet), with the contact it hangs off named separately.
        assert_eq!(e.app_id, None, "{e:#?}");
        assert!(e.payload["app_id"].is_null(), "{e:#?}");
        assert_eq!(
            e.payload["linked_to"],
            json!({"app_object": "contact", "app_id": "app-tagged"}),
            "{e:#?}"
        );
    }
}

fn lead(i: usize) -> serde_json::Map<String, serde_json::Value> {
    match json!({"FirstName": "Dense", "LastName": format!("Dense{i}"),
                 "Company": format!("Dense Co {i}"), "Email": format!("dense{i}@dense.example"),
                 "Phone": format!("+1 555 3{i:04}")})
    {
        serde_json::Value::Object(m) => m,
        _ => unreachable!(),
    }
}

/// More than cap + 200 records sit in the 5 minutes behind the cursor; a record committed
/// late, stamped after all of them but before the cursor, must still be read. (A cap of 50
/// keeps it small: the old re-read stopped at cap + 200 = 250 records.)
async fn a_late_commit_behind_a_dense_overlap_window_is_read(backend: Backend) {
    let s = Stack::start_with(
        backend,
        StackOptions {
            poll_cap: Some(50),
            ..StackOptions::default()
        },
    )
    .await;
    s.connect("prod", Environment::Production).await;
    s.poll("prod").await;
    s.advance(chrono::Duration::minutes(1));
    let dense_at = s.now();
    for i in 0..300 {
        s.insert(PROD_ORG, "Lead", serde_json::Value::Object(lead(i)));
    }
    s.advance(chrono::Duration::minutes(1));
    s.insert(PROD_ORG, "Lead", serde_json::Value::Object(lead(5000)));
    // Catch up: the cursor passes all of them (50 a poll).
    for _ in 0..12 {
        let run = s.poll("prod").await;
        if run.status == RunStatus::Completed {
            break;
        }
        s.advance(chrono::Duration::seconds(10));
    }
    s.advance(chrono::Duration::minutes(1));
    let before = s.last_seq().await;
    // Visible only now, stamped between the dense burst and the cursor.
    let late =
        s.sf.commit_late(
            PROD_ORG,
            "Lead",
            None,
            lead(9999),
            dense_at + chrono::Duration::seconds(30),
        )
        .unwrap();
    let run = s.poll("prod").await;
    assert_eq!(run.status, RunStatus::Completed, "{run:#?}");
    let got = s.changes_after(before).await;
    assert_eq!(
        got.len(),
        1,
        "only the late commit is new: {} entries",
        got.len()
    );
    assert_eq!(got[0].sf_id, late, "the late commit is not lost");
}

/// While the app's client secret rotates, refreshes fail with `invalid_client`. That is the
/// app's credential problem, not the connection's: it stays Connected and the work retries.
async fn invalid_client_on_refresh_keeps_connections_connected_and_retries(backend: Backend) {
    let s = connected(backend).await;
    s.poll("prod").await;
    // Sessions last two hours: the next call needs a refresh, which the org now refuses.
    s.sf.set_client_secret(PROD_ORG, "rotated-elsewhere")
        .unwrap();
    s.advance(chrono::Duration::hours(3));
    let err = crmsync_service::poll::poll_connection(&s.app, &s.tenant, &s.conn("prod"))
        .await
        .expect_err("the refresh is refused");
    assert!(err.is_retryable(), "{err:?}");
    assert_eq!(
        s.connection("prod").await.status,
        ConnectionStatus::Connected,
        "the connection is not the problem"
    );
    let ev = app_event(
        "create",
        "contact",
        "app-rotating",
        s.now(),
        json!({"last_name": "Rotating", "phone": "+1 555 2200",
               "email": "rot@rotate.example", "company_name": "Rotate Co"}),
    );
    s.send_events("prod", vec![ev]).await;
    let drained = s.drain_push().await;
    assert_eq!(
        drained.retried.len(),
        1,
        "redelivered, not reported: {drained:#?}"
    );
    assert_eq!(
        s.connection("prod").await.status,
        ConnectionStatus::Connected
    );
}

/// The org's API limit runs out (other integrations spent it) while crmsync's own budget
/// still has room: `REQUEST_LIMIT_EXCEEDED` parks the event; the poll after the reset
/// replays it.
async fn request_limit_exceeded_on_push_parks_the_event_until_the_limit_resets(backend: Backend) {
    let s = connected(backend).await;
    s.poll("prod").await;
    s.sf.exhaust_api_limit(PROD_ORG).unwrap();
    let ev = app_event(
        "create",
        "contact",
        "app-limited",
        s.now(),
        json!({"last_name": "Limited", "phone": "+1 555 2300",
               "email": "lim@limit.example", "company_name": "Limit Co"}),
    );
    let id = ev["event_id"].as_str().unwrap().to_string();
    s.send_events("prod", vec![ev]).await;
    s.drain_push().await;
    let r = s.report("prod", &id).await.expect("reported");
    assert_eq!(r.status, ReportStatus::Parked, "{r:#?}");
    assert_eq!(r.code.as_deref(), Some("REQUEST_LIMIT_EXCEEDED"), "{r:#?}");

    s.advance(chrono::Duration::days(1));
    s.sf.set_api_used(PROD_ORG, 0).unwrap();
    let run = s.poll("prod").await;
    assert_eq!(run.status, RunStatus::Completed, "{run:#?}");
    let drained = s.drain_push().await;
    let r = s.report("prod", &id).await.expect("reported");
    assert_eq!(r.status, ReportStatus::Success, "{r:#?} {drained:#?}");
    assert_eq!(s.count(PROD_ORG, "Lead", "LastName = 'Limited'").await, 1);
}

/// Salesforce holds `+1 555 010 0100`; the app sends `(555) 010-0100`. Matching by phone
/// must find the record instead of creating a duplicate.
async fn a_phone_in_another_format_finds_the_existing_record(backend: Backend) {
    let s = connected(backend).await;
    let lead = s.insert(
        PROD_ORG,
        "Lead",
        json!({"LastName": "Dialer", "Company": "Dial Co", "Phone": "+1 555 010 0100"}),
    );
    let ev = app_event(
        "create",
        "contact",
        "app-dialer",
        s.now(),
        json!({"first_name": "Dee", "last_name": "Dialer", "phone": "(555) 010-0100",
               "company_name": "Dial Co", "phase": "ColdCallCold"}),
    );
    let id = ev["event_id"].as_str().unwrap().to_string();
    s.send_events("prod", vec![ev]).await;
    s.drain_push().await;
    let r = s.report("prod", &id).await.expect("reported");
    assert_eq!(r.status, ReportStatus::Success, "{r:#?}");
    assert_eq!(
        s.count(PROD_ORG, "Lead", "LastName = 'Dialer'").await,
        1,
        "matched, not duplicated: {r:#?}"
    );
    assert_eq!(r.sf_id.as_deref(), Some(lead.as_str()), "{r:#?}");
}
