//! Activities end to end (issue 13, item 6): an app call or email names the person (and
//! deal) it is about by app id only; crmsync relates the completed Task to the person's
//! linked Contact or Lead (`WhoId`) and to the deal's Opportunity (`WhatId`, never with a
//! Lead, as Salesforce refuses that pair). An activity that arrives before its person is
//! parked with its reason and written once the person is linked; a redelivered or re-sent
//! activity leaves one Task. An app-side import of activities relates them the same way
//! (and refuses, with the reason, those whose person is not linked: an import cannot wait).

use axum::http::{Method, StatusCode};
use crmsync_e2e::*;
use crmsync_service::{http, push};
use crmsync_store::{Environment, ReportStatus};
use serde_json::{Value, json};
use sf_emulator::FaultSpec;

e2e!(
    a_call_lands_as_a_completed_task_on_the_linked_contact_and_deal,
    a_task_about_a_lead_is_related_to_nothing,
    an_activity_before_its_person_waits_then_lands_once_it_is_linked,
    a_redelivered_or_resent_activity_leaves_one_task,
    a_redelivered_activity_after_its_leads_conversion_leaves_one_task,
    a_resent_activity_relates_the_adopted_moved_task_to_the_persons_opportunity,
    an_activity_import_relates_tasks_by_links_and_refuses_the_unlinked,
);

async fn with_activities(s: Stack) -> Stack {
    s.connect("prod", Environment::Production).await;
    s.edit_config("prod", |c| c.activity.enabled = true).await;
    s
}

fn id_of(event: &Value) -> String {
    event["event_id"].as_str().unwrap().to_string()
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
    assert_eq!(
        linked(s, "contact.Contact", app_id).await,
        Some(contact.clone())
    );
    contact
}

/// A person the app creates: crmsync pushes it as a Lead.
async fn pushed_lead(s: &Stack, app_id: &str, last_name: &str) -> String {
    let person = app_event(
        "create",
        "contact",
        app_id,
        s.now(),
        json!({"first_name": "Ada", "last_name": last_name, "phone": "+44 20 7946 0100",
               "email": format!("{app_id}@engines.example"), "company_name": "Analytical Engines"}),
    );
    s.send_events("prod", vec![person]).await;
    s.drain_push().await;
    linked(s, "contact.Lead", app_id)
        .await
        .expect("the person was pushed as a Lead")
}

/// A deal the app creates: crmsync pushes it as an Opportunity.
async fn pushed_deal(s: &Stack, app_id: &str) -> String {
    let deal = app_event(
        "create",
        "deal",
        app_id,
        s.now(),
        json!({"name": "Engine Upgrade", "stage": "qualification", "close_date": "2026-12-15",
               "amount": 5000.0}),
    );
    s.send_events("prod", vec![deal]).await;
    s.drain_push().await;
    linked(s, "deal.Opportunity", app_id)
        .await
        .expect("the deal was pushed as an Opportunity")
}

async fn linked(s: &Stack, key: &str, app_id: &str) -> Option<String> {
    s.app
        .stores
        .links
        .get_by_app(&s.tenant, &s.conn("prod"), key, app_id)
        .await
        .unwrap()
        .map(|l| l.sf_id)
}

fn call(s: &Stack, app_id: &str, fields: Value) -> Value {
    app_event("create", "activity", app_id, s.now(), fields)
}

async fn tasks(s: &Stack) -> Vec<serde_json::Map<String, Value>> {
    s.soql(
        PROD_ORG,
        "SELECT Id, WhoId, Who.Name, WhatId, AccountId, Subject, Status, IsClosed, Priority, TaskSubtype, \
         CallDurationInSeconds, CallType, CallDisposition, Description, ActivityDate, \
         CompletedDateTime FROM Task",
    )
    .await
}

async fn a_call_lands_as_a_completed_task_on_the_linked_contact_and_deal(backend: Backend) {
    let s = with_activities(Stack::start(backend).await).await;
    let contact = linked_contact(&s, "app-callee").await;
    let opportunity = pushed_deal(&s, "deal-7").await;

    // Only app ids: no Salesforce id travels with the activity.
    let event = call(
        &s,
        "call-1",
        json!({"contact_id": "app-callee", "deal_id": "deal-7", "communication_type": "call",
               "duration": 125.4, "disposition": "Connected", "channel": "Outbound",
               "notes": "Asked for a quote", "created_at": "2026-11-21T10:30:00Z"}),
    );
    let event_id = id_of(&event);
    s.send_events("prod", vec![event]).await;
    let drained = s.drain_push().await;
    assert!(drained.retried.is_empty(), "{drained:#?}");
    let report = s.report("prod", &event_id).await.expect("reported");
    assert_eq!(report.status, ReportStatus::Success, "{report:#?}");

    let tasks = tasks(&s).await;
    assert_eq!(tasks.len(), 1, "{tasks:#?}");
    let t = &tasks[0];
    assert_eq!(
        report.sf_id.as_ref(),
        t["Id"].as_str().map(String::from).as_ref()
    );
    assert_eq!(t["WhoId"], json!(contact));
    assert_eq!(t["Who"]["Name"], json!("Callee"), "{t:#?}");
    assert_eq!(t["WhatId"], json!(opportunity), "the deal's Opportunity");

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
    assert_eq!(
        linked(&s, "activity.Task", "call-1").await.as_deref(),
        t["Id"].as_str(),
        "the activity is linked to its Task"
    );
}

async fn a_task_about_a_lead_is_related_to_nothing(backend: Backend) {
    let s = with_activities(Stack::start(backend).await).await;
    let lead = pushed_lead(&s, "app-prospect", "Prospect").await;
    let opportunity = pushed_deal(&s, "deal-8").await;

    let event = call(
        &s,
        "email-1",
        json!({"contact_id": "app-prospect", "deal_id": "deal-8", "communication_type": "email",
               "notes": "Sent the brochure"}),
    );
    let event_id = id_of(&event);
    s.send_events("prod", vec![event]).await;
    s.drain_push().await;
    let report = s.report("prod", &event_id).await.expect("reported");
    assert_eq!(report.status, ReportStatus::Success, "{report:#?}");
    let reason = report.reason.clone().unwrap_or_default();
    assert!(
        reason.contains("Task.WhatId") && reason.contains(&opportunity),
        "the report says why the deal was left out: {report:#?}"
    );
    let tasks = tasks(&s).await;
    assert_eq!(tasks.len(), 1, "{tasks:#?}");
    assert_eq!(tasks[0]["WhoId"], json!(lead));
    assert_eq!(tasks[0]["WhatId"], Value::Null, "{tasks:#?}");
    assert_eq!(tasks[0]["TaskSubtype"], json!("Email"));
}

async fn an_activity_before_its_person_waits_then_lands_once_it_is_linked(backend: Backend) {
    let s = with_activities(Stack::start(backend).await).await;
    let event = call(
        &s,
        "call-early",
        json!({"contact_id": "app-late", "communication_type": "call", "notes": "Early bird"}),
    );
    let event_id = id_of(&event);
    s.send_events("prod", vec![event]).await;
    s.drain_push().await;
    let parked = s.report("prod", &event_id).await.expect("reported");
    assert_eq!(parked.status, ReportStatus::Parked, "{parked:#?}");
    assert_eq!(parked.code.as_deref(), Some("WAITING_FOR_LINK"));
    assert!(
        parked
            .reason
            .as_deref()
            .unwrap_or("")
            .contains("`app-late`"),
        "the reason names the person: {parked:#?}"
    );
    assert_eq!(s.count(PROD_ORG, "Task", "Id != null").await, 0);
    // A later event of the same activity waits behind it.
    s.advance(chrono::Duration::seconds(5));
    let later = call(
        &s,
        "call-early",
        json!({"contact_id": "app-late", "communication_type": "call", "notes": "Early bird, again"}),
    );
    let later_id = id_of(&later);
    s.send_events("prod", vec![later]).await;
    s.drain_push().await;
    let behind = s.report("prod", &later_id).await.expect("reported");
    assert_eq!(behind.code.as_deref(), Some("BEHIND_PARKED"), "{behind:#?}");

    // Still unknown: a poll leaves both parked (not sent back to the queue every minute).
    s.poll("prod").await;
    let still = s.report("prod", &event_id).await.expect("reported");
    assert_eq!(
        still.code.as_deref(),
        Some("WAITING_FOR_LINK"),
        "{still:#?}"
    );
    let behind = s.report("prod", &later_id).await.expect("reported");
    assert_eq!(behind.code.as_deref(), Some("BEHIND_PARKED"), "{behind:#?}");
    assert!(s.receive_push(10).await.is_empty(), "nothing was replayed");

    // The person arrives; the next poll replays the activity, which now has its WhoId.
    let lead = pushed_lead(&s, "app-late", "Late").await;
    s.advance(chrono::Duration::minutes(1));
    let run = s.poll("prod").await;
    assert!(
        run.messages.iter().any(|m| m.contains("2 parked event")),
        "{run:#?}"
    );
    s.drain_push().await;
    for id in [&event_id, &later_id] {
        let done = s.report("prod", id).await.expect("reported");
        assert_eq!(done.status, ReportStatus::Success, "{done:#?}");
    }
    let tasks = tasks(&s).await;
    assert_eq!(
        tasks.len(),
        1,
        "one Task, updated by the later event: {tasks:#?}"
    );
    assert_eq!(tasks[0]["WhoId"], json!(lead));
    assert_eq!(tasks[0]["Description"], json!("Early bird, again"));
}

async fn a_redelivered_or_resent_activity_leaves_one_task(backend: Backend) {
    let s = with_activities(Stack::start_per_event(backend).await).await;
    let contact = linked_contact(&s, "app-callee").await;
    let event = call(
        &s,
        "call-lost",
        json!({"contact_id": "app-callee", "communication_type": "call", "notes": "First"}),
    );
    s.send_events("prod", vec![event.clone()]).await;
    let batch = s.receive_push(10).await;
    assert_eq!(batch.len(), 1, "{batch:#?}");

    // The create commits but its response is lost: the message is redelivered.
    s.sf.set_faults(PROD_ORG, FaultSpec::none().commit_lost(1.0))
        .unwrap();
    let first = push::push_batch(&s.app, inbound(&batch)).await;
    s.sf.clear_faults(PROD_ORG).unwrap();
    assert_eq!(first.retry.len(), 1, "{first:#?}");
    assert_eq!(s.count(PROD_ORG, "Task", "Id != null").await, 1);
    s.advance(
        chrono::Duration::from_std(crmsync_service::parked::PUSH_VISIBILITY_TIMEOUT).unwrap()
            + chrono::Duration::seconds(1),
    );
    let again = push::push_batch(&s.app, inbound(&batch)).await;
    assert!(again.retry.is_empty(), "{again:#?}");
    assert_eq!(
        again.outcomes[0].status,
        ReportStatus::Success,
        "{again:#?}"
    );
    s.ack_push(&batch).await;
    let found = tasks(&s).await;
    assert_eq!(
        found.len(),
        1,
        "the redelivery adopted the first Task: {found:#?}"
    );
    let task = found[0]["Id"].as_str().unwrap().to_string();
    assert_eq!(
        linked(&s, "activity.Task", "call-lost").await,
        Some(task.clone())
    );

    // The same event once more, and the activity re-sent with new notes (a new event id):
    // still one Task, updated in place (its create-only subtype left alone).
    s.send_events("prod", vec![event]).await;
    let resent = call(
        &s,
        "call-lost",
        json!({"contact_id": "app-callee", "communication_type": "email", "notes": "Second"}),
    );
    let resent_id = id_of(&resent);
    s.send_events("prod", vec![resent]).await;
    let drained = s.drain_push().await;
    assert!(drained.retried.is_empty(), "{drained:#?}");
    let report = s.report("prod", &resent_id).await.expect("reported");
    assert_eq!(report.status, ReportStatus::Success, "{report:#?}");
    let found = tasks(&s).await;
    assert_eq!(found.len(), 1, "{found:#?}");
    assert_eq!(found[0]["Id"], json!(task));
    assert_eq!(found[0]["WhoId"], json!(contact));
    assert_eq!(
        found[0]["AccountId"],
        s.record(PROD_ORG, "Contact", &contact)["AccountId"],
        "Salesforce files a Task with no WhatId under its Contact's account"
    );
    assert_eq!(found[0]["Description"], json!("Second"));
    assert_eq!(found[0]["TaskSubtype"], json!("Call"), "create-only");
}

/// A Task created on a Lead whose response was lost; before the redelivery a demo set
/// converts the Lead, Salesforce moves the Task to the Contact, and the retry would relate
/// it to the person's new Opportunity too. The redelivery adopts the moved Task (matched
/// on its person, date, subject and notes, not on `WhatId`).
async fn a_redelivered_activity_after_its_leads_conversion_leaves_one_task(backend: Backend) {
    adopted_after_conversion(backend).await;
}

/// The same, then the app re-sends the activity with new notes. The adopted Task was moved
/// with no `WhatId` (the conversion made no Opportunity); its link must not claim the
/// retry's `WhatId` was written, or the re-send leaves the Task unrelated to the person's
/// Opportunity.
async fn a_resent_activity_relates_the_adopted_moved_task_to_the_persons_opportunity(
    backend: Backend,
) {
    let (s, task) = adopted_after_conversion(backend).await;
    let moved = s.record(PROD_ORG, "Task", &task);
    assert!(
        moved.get("WhatId").is_none_or(Value::is_null),
        "moved related to nothing: {moved:?}"
    );
    let resend = call(
        &s,
        "call-convert",
        json!({"contact_id": "app-convert", "communication_type": "call",
               "notes": "After the demo"}),
    );
    let resend_id = id_of(&resend);
    s.send_events("prod", vec![resend]).await;
    s.drain_push().await;
    let report = s.report("prod", &resend_id).await.expect("reported");
    assert_eq!(report.status, ReportStatus::Success, "{report:#?}");
    let opportunity = linked(&s, "contact.Opportunity", "app-convert")
        .await
        .expect("the demo set's Opportunity");
    let found = tasks(&s).await;
    assert_eq!(found.len(), 1, "{found:#?}");
    assert_eq!(found[0]["Description"], json!("After the demo"));
    assert_eq!(
        found[0]["WhatId"],
        json!(opportunity),
        "the re-send relates the Task to the person's Opportunity: {found:#?}"
    );
}

/// A call whose Task creation lost its response, adopted by its redelivery after a demo
/// set converted the person's Lead (the Task moved to the Contact). Returns the Task.
async fn adopted_after_conversion(backend: Backend) -> (Stack, String) {
    let s = with_activities(Stack::start_per_event(backend).await).await;
    let lead = pushed_lead(&s, "app-convert", "Convertee").await;
    let event = call(
        &s,
        "call-convert",
        json!({"contact_id": "app-convert", "communication_type": "call",
               "notes": "Before the demo"}),
    );
    s.send_events("prod", vec![event]).await;
    let batch = s.receive_push(10).await;
    assert_eq!(batch.len(), 1, "{batch:#?}");
    s.sf.set_faults(PROD_ORG, FaultSpec::none().commit_lost(1.0))
        .unwrap();
    let first = push::push_batch(&s.app, inbound(&batch)).await;
    s.sf.clear_faults(PROD_ORG).unwrap();
    assert_eq!(first.retry.len(), 1, "{first:#?}");
    let found = tasks(&s).await;
    assert_eq!(found.len(), 1, "{found:#?}");
    assert_eq!(found[0]["WhoId"], json!(lead));
    let task = found[0]["Id"].as_str().unwrap().to_string();

    let demo = app_event(
        "demo_set",
        "contact",
        "app-convert",
        s.now(),
        json!({"first_name": "Ada", "last_name": "Convertee", "phone": "+44 20 7946 0100",
               "email": "app-convert@engines.example", "company_name": "Analytical Engines",
               "phase": "HeldPhase", "previous_phase": "ColdCallDM",
               "demo_at": "2026-12-10T15:00:00Z", "name": "Engines demo"}),
    );
    let demo_id = id_of(&demo);
    s.send_events("prod", vec![demo]).await;
    s.drain_push().await;
    let report = s.report("prod", &demo_id).await.expect("reported");
    assert_eq!(report.status, ReportStatus::Success, "{report:#?}");
    let contact = linked(&s, "contact.Contact", "app-convert")
        .await
        .expect("converted");
    assert!(
        linked(&s, "contact.Opportunity", "app-convert")
            .await
            .is_some(),
        "the demo set opened the person's Opportunity"
    );
    let moved = s.record(PROD_ORG, "Task", &task);
    assert_eq!(
        moved["WhoId"],
        json!(contact),
        "moved to the Contact: {moved:?}"
    );

    s.advance(
        chrono::Duration::from_std(crmsync_service::parked::PUSH_VISIBILITY_TIMEOUT).unwrap()
            + chrono::Duration::seconds(1),
    );
    let again = push::push_batch(&s.app, inbound(&batch)).await;
    assert!(again.retry.is_empty(), "{again:#?}");
    assert_eq!(
        again.outcomes[0].status,
        ReportStatus::Success,
        "{again:#?}"
    );
    s.ack_push(&batch).await;
    let found = tasks(&s).await;
    assert_eq!(
        found.len(),
        1,
        "the redelivery adopted the moved Task: {found:#?}"
    );
    assert_eq!(
        linked(&s, "activity.Task", "call-convert").await,
        Some(task.clone())
    );
    (s, task)
}

async fn an_activity_import_relates_tasks_by_links_and_refuses_the_unlinked(backend: Backend) {
    let s = with_activities(Stack::start(backend).await).await;
    let lead = pushed_lead(&s, "app-imported", "Imported").await;
    let records = json!([
        {"app_id": "imp-call-1", "fields": {"contact_id": "app-imported",
            "communication_type": "call", "notes": "Imported call", "created_at": "2026-11-20T09:00:00Z"}},
        {"app_id": "imp-email-2", "fields": {"contact_id": "app-imported",
            "communication_type": "email", "notes": "Imported email"}},
        {"app_id": "imp-call-3", "fields": {"contact_id": "app-nobody", "communication_type": "call"}}
    ]);
    let api = Api::new(http::report_router(s.app.clone()));
    let body = json!({"import_id": "calls-1", "app_object": "activity", "records": records});
    let (status, st) = api
        .call(
            Method::POST,
            "/v1/connections/prod/imports",
            Some(&s.credentials.api_key),
            Some(body),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{st}");
    assert_eq!(st["phase"], "done", "{st}");
    assert_eq!(st["sf_object"], "Task", "{st}");
    assert_eq!(
        (st["created"].clone(), st["failed"].clone()),
        (json!(2), json!(1)),
        "{st}"
    );
    let failure = &st["failures"][0];
    assert_eq!(failure["app_id"], "imp-call-3", "{st}");
    assert_eq!(failure["code"], "NOT_LINKED", "{st}");
    assert!(
        failure["reason"]
            .as_str()
            .unwrap_or("")
            .contains("`app-nobody`"),
        "{failure}"
    );
    let found = tasks(&s).await;
    assert_eq!(found.len(), 2, "{found:#?}");
    assert!(
        found.iter().all(|t| t["WhoId"] == json!(lead)),
        "{found:#?}"
    );
    assert!(
        found.iter().all(|t| t["IsClosed"] == json!(true)),
        "{found:#?}"
    );
    let call = linked(&s, "activity.Task", "imp-call-1")
        .await
        .expect("the imported activity is linked to its Task");
    assert_eq!(
        s.record(PROD_ORG, "Task", &call)["ActivityDate"],
        json!("2026-11-20")
    );
}
