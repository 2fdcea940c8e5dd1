//! Activity push (issue 9, item 6): an app call for a contact crmsync linked lands as a
//! completed Salesforce Task on that contact, with the call fields an activity push writes;
//! a WhoId naming a record that is not a Contact or Lead is refused as Salesforce does.
//!
//! The service takes WhoId from the app's `sf_contact_id`/`sf_lead_id` fields; taking it
//! from crmsync's own links is issue 13.

use crmsync_e2e::*;
use crmsync_store::{Environment, ReportStatus};
use serde_json::json;

e2e!(
    a_call_lands_as_a_completed_task_on_the_linked_contact,
    a_task_about_an_account_as_its_who_is_refused,
);

async fn with_activities(backend: Backend) -> Stack {
    let s = Stack::start(backend).await;
    s.connect("prod", Environment::Production).await;
    s.edit_config("prod", |c| c.activity.enabled = true).await;
    s
}

/// A Contact crmsync links to `app_id` through an app update carrying its id.
async fn linked_contact(s: &Stack, app_id: &str) -> String {
    let account = s.insert(PROD_ORG, "Account", json!({"Name": "Callers Ltd"}));
    let contact = s.insert(
        PROD_ORG,
        "Contact",
        json!({"LastName": "Callee", "Phone": "+1 555 0500", "AccountId": account}),
    );
    let event = app_event(
        "update",
        "contact",
        app_id,
        s.now(),
        json!({"last_name": "Callee", "title": "COO", "sf_contact_id": contact}),
    );
    s.send_events("prod", vec![event]).await;
    s.drain_push().await;
    let link = s
        .app
        .stores
        .links
        .get_by_sf_id(&s.tenant, &s.conn("prod"), &contact)
        .await
        .unwrap()
        .expect("crmsync linked the contact");
    assert_eq!(link.app_id, app_id);
    contact
}

async fn a_call_lands_as_a_completed_task_on_the_linked_contact(backend: Backend) {
    let s = with_activities(backend).await;
    let contact = linked_contact(&s, "app-callee").await;

    let call = app_event(
        "create",
        "activity",
        "call-1",
        s.now(),
        json!({"sf_contact_id": contact, "communication_type": "call", "duration": 125.4,
               "disposition": "Connected", "channel": "Outbound", "notes": "Asked for a quote",
               "created_at": "2026-11-21T10:30:00Z"}),
    );
    let event_id = call["event_id"].as_str().unwrap().to_string();
    s.send_events("prod", vec![call]).await;
    let drained = s.drain_push().await;
    assert!(drained.retried.is_empty(), "{drained:#?}");
    let report = s.report("prod", &event_id).await.expect("reported");
    assert_eq!(report.status, ReportStatus::Success, "{report:#?}");

    let tasks = s
        .soql(
            PROD_ORG,
            &format!(
                "SELECT Id, WhoId, Who.Name, Subject, Status, IsClosed, Priority, TaskSubtype, \
                 CallDurationInSeconds, CallType, CallDisposition, Description, ActivityDate, \
                 CompletedDateTime FROM Task WHERE WhoId = '{contact}'"
            ),
        )
        .await;
    assert_eq!(tasks.len(), 1, "{tasks:#?}");
    let t = &tasks[0];
    assert_eq!(t["WhoId"], json!(contact));
    assert_eq!(t["Who"]["Name"], json!("Callee"), "{t:#?}");
    assert_eq!(t["Status"], json!("Completed"));
    assert_eq!(t["IsClosed"], json!(true));
    assert_eq!(t["Priority"], json!("Normal"), "the org default");
    assert_eq!(t["TaskSubtype"], json!("Call"));
    assert_eq!(t["CallDurationInSeconds"], json!(125));
    assert_eq!(t["CallType"], json!("Outbound"));
    assert_eq!(t["CallDisposition"], json!("Connected"));
    assert_eq!(t["Subject"], json!("call"));
    assert_eq!(t["Description"], json!("Asked for a quote"));
    assert_eq!(t["ActivityDate"], json!("2026-11-21"));
    assert!(
        t["CompletedDateTime"].is_string(),
        "Salesforce stamps a completed task: {t:#?}"
    );
}

async fn a_task_about_an_account_as_its_who_is_refused(backend: Backend) {
    let s = with_activities(backend).await;
    let account = s.insert(PROD_ORG, "Account", json!({"Name": "Not A Person Inc"}));
    let call = app_event(
        "create",
        "activity",
        "call-2",
        s.now(),
        json!({"sf_contact_id": account, "communication_type": "email"}),
    );
    let event_id = call["event_id"].as_str().unwrap().to_string();
    s.send_events("prod", vec![call]).await;
    s.drain_push().await;
    let report = s.report("prod", &event_id).await.expect("reported");
    assert_eq!(report.status, ReportStatus::Error, "{report:#?}");
    let reason = report.reason.clone().unwrap_or_default();
    assert!(
        reason.contains("FIELD_INTEGRITY_EXCEPTION")
            || report.code.as_deref() == Some("FIELD_INTEGRITY_EXCEPTION"),
        "{report:#?}"
    );
    assert!(reason.contains("id value of incorrect type"), "{report:#?}");
    assert_eq!(s.count(PROD_ORG, "Task", "Id != null").await, 0);
}
