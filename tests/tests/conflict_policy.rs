//! The conflict policy, both ways (issue 10: "The conflict policy does nothing"). Each
//! scenario makes both sides change one two-way field (`title` ↔ `Title`) and checks which
//! value wins under the policy. Times: the app's change is its event's `occurred_at`;
//! Salesforce's is `LastModifiedDate`; "reached the other side" is when crmsync pushed or
//! polled it.

use chrono::Duration;
use crmsync_core::config::ConflictPolicy;
use crmsync_e2e::*;
use crmsync_store::{ChangeKind, Environment, ReportStatus};
use serde_json::{Value, json};

e2e!(
    most_recent_keeps_the_newer_side_both_ways,
    app_wins_keeps_a_pushed_app_value_against_a_concurrent_salesforce_edit,
    crm_wins_refuses_an_app_change_made_before_salesforce_s_edit_reached_the_app,
    keep_owner_field_refuses_owner_changes_from_salesforce,
);

/// A connected stack under `policy`, with a Lead pushed for `app-c` and polled once.
async fn lead_under(backend: Backend, policy: ConflictPolicy) -> (Stack, String) {
    let s = Stack::start(backend).await;
    s.connect("prod", Environment::Production).await;
    s.edit_config("prod", |c| {
        c.conflict_policy = policy;
        c.owners
            .app_users
            .insert(Stack::MAPPED_USER.into(), "app-user-ava".into());
    })
    .await;
    s.poll("prod").await;
    let create = app_event(
        "create",
        "contact",
        "app-c",
        s.now(),
        json!({"first_name": "Cora", "last_name": "Conflict", "email": "cora@conflict.example",
               "phone": "+1 555 0600", "company_name": "Conflict Co", "title": "Start",
               "owner_id": "app-user-ava"}),
    );
    s.send_events("prod", vec![create]).await;
    let drained = s.drain_push().await;
    let sf_id = drained
        .outcomes
        .first()
        .and_then(|o| o.sf_id.clone())
        .unwrap_or_else(|| panic!("pushed: {drained:#?}"));
    s.advance(Duration::minutes(1));
    s.poll("prod").await;
    s.advance(Duration::minutes(1));
    (s, sf_id)
}

fn title_update(at: chrono::DateTime<chrono::Utc>, title: &str) -> Value {
    app_event("update", "contact", "app-c", at, json!({"title": title}))
}

/// The `title` values the change feed sent the app for the Lead after `before`.
async fn titles_sent(s: &Stack, before: u64, sf_id: &str) -> Vec<Value> {
    let got = s.changes_after(before).await;
    find_changes(&got, sf_id)
        .iter()
        .filter_map(|e| e.payload["fields"].get("title").cloned())
        .collect()
}

/// Pushes one event and returns its report.
async fn push_one(s: &Stack, event: Value) -> crmsync_store::ReportEntry {
    let id = event["event_id"].as_str().unwrap().to_string();
    s.send_events("prod", vec![event]).await;
    s.drain_push().await;
    s.report("prod", &id).await.expect("reported")
}

async fn most_recent_keeps_the_newer_side_both_ways(backend: Backend) {
    let (s, lead) = lead_under(backend, ConflictPolicy::MostRecent).await;

    // Outbound: a Salesforce user edits the title; an app change made before that edit
    // arrives after the poll saw it. Salesforce's newer value stays.
    let app_time = s.now();
    s.advance(Duration::seconds(30));
    s.update(PROD_ORG, "Lead", &lead, json!({"Title": "SF newer"}));
    s.advance(Duration::minutes(1));
    s.poll("prod").await;
    let report = push_one(&s, title_update(app_time, "App older")).await;
    assert_eq!(report.status, ReportStatus::Success, "{report:#?}");
    assert_eq!(
        s.record(PROD_ORG, "Lead", &lead)["Title"],
        json!("SF newer"),
        "an older app change overwrote a newer Salesforce one: {report:#?}"
    );

    // An app change made after Salesforce's is written.
    s.advance(Duration::minutes(1));
    push_one(&s, title_update(s.now(), "App newer")).await;
    assert_eq!(
        s.record(PROD_ORG, "Lead", &lead)["Title"],
        json!("App newer")
    );

    // Inbound: a Salesforce edit made before that app change commits late. The app's
    // newer value is not replaced.
    let before = s.last_seq().await;
    s.sf.commit_late(
        PROD_ORG,
        "Lead",
        Some(&lead),
        object(json!({"Title": "SF older"})),
        s.now() - Duration::seconds(20),
    )
    .expect("late commit");
    s.advance(Duration::minutes(1));
    s.poll("prod").await;
    let sent = titles_sent(&s, before, &lead).await;
    assert!(
        sent.is_empty(),
        "an older Salesforce change was sent over the app's newer value: {sent:?}"
    );

    // A later Salesforce edit is newer than the app's change: sent.
    s.advance(Duration::minutes(1));
    s.update(PROD_ORG, "Lead", &lead, json!({"Title": "SF latest"}));
    let before = s.last_seq().await;
    s.advance(Duration::minutes(1));
    s.poll("prod").await;
    assert_eq!(
        titles_sent(&s, before, &lead).await,
        vec![json!("SF latest")]
    );
}

async fn app_wins_keeps_a_pushed_app_value_against_a_concurrent_salesforce_edit(backend: Backend) {
    let (s, lead) = lead_under(backend, ConflictPolicy::AppWins).await;

    // Outbound: an app change older than a Salesforce edit is still written.
    let app_time = s.now();
    s.advance(Duration::seconds(30));
    s.update(PROD_ORG, "Lead", &lead, json!({"Title": "SF newer"}));
    s.advance(Duration::minutes(1));
    s.poll("prod").await;
    push_one(&s, title_update(app_time, "App value")).await;
    assert_eq!(
        s.record(PROD_ORG, "Lead", &lead)["Title"],
        json!("App value")
    );

    // Inbound: the app changes the title; before crmsync pushes it (30 s later), a
    // Salesforce user saves another title, which commits late. Under most_recent it would
    // win (it is newer); under app_wins the app's value stands.
    s.advance(Duration::minutes(1));
    let changed_at = s.now();
    let event = title_update(changed_at, "App wins");
    s.advance(Duration::seconds(30));
    push_one(&s, event).await;
    let before = s.last_seq().await;
    s.sf.commit_late(
        PROD_ORG,
        "Lead",
        Some(&lead),
        object(json!({"Title": "SF concurrent"})),
        changed_at + Duration::seconds(10),
    )
    .expect("late commit");
    s.advance(Duration::minutes(1));
    s.poll("prod").await;
    let sent = titles_sent(&s, before, &lead).await;
    assert!(
        sent.is_empty(),
        "a Salesforce edit made while the app's change was in flight was sent: {sent:?}"
    );

    // A Salesforce edit made after the app's value reached Salesforce is sent.
    s.advance(Duration::minutes(1));
    s.update(PROD_ORG, "Lead", &lead, json!({"Title": "SF after"}));
    let before = s.last_seq().await;
    s.advance(Duration::minutes(1));
    s.poll("prod").await;
    assert_eq!(
        titles_sent(&s, before, &lead).await,
        vec![json!("SF after")]
    );
}

async fn crm_wins_refuses_an_app_change_made_before_salesforce_s_edit_reached_the_app(
    backend: Backend,
) {
    let (s, lead) = lead_under(backend, ConflictPolicy::CrmWins).await;

    // A Salesforce edit; 30 s later (before the poll brings it to the app) the app changes
    // the same field. Newer, so most_recent would write it; crm_wins keeps Salesforce's.
    s.update(PROD_ORG, "Lead", &lead, json!({"Title": "SF value"}));
    s.advance(Duration::seconds(30));
    let app_time = s.now();
    s.advance(Duration::seconds(30));
    let before = s.last_seq().await;
    s.poll("prod").await;
    assert_eq!(
        titles_sent(&s, before, &lead).await,
        vec![json!("SF value")]
    );
    let report = push_one(&s, title_update(app_time, "App concurrent")).await;
    assert_eq!(report.status, ReportStatus::Success, "{report:#?}");
    assert_eq!(
        s.record(PROD_ORG, "Lead", &lead)["Title"],
        json!("SF value"),
        "an app change made before Salesforce's edit reached the app overwrote it: {report:#?}"
    );

    // An app change made after the poll brought Salesforce's value is written.
    s.advance(Duration::minutes(1));
    push_one(&s, title_update(s.now(), "App later")).await;
    assert_eq!(
        s.record(PROD_ORG, "Lead", &lead)["Title"],
        json!("App later")
    );

    // Inbound: Salesforce always wins, even against a newer app change (late commit).
    s.advance(Duration::minutes(1));
    push_one(&s, title_update(s.now(), "App newest")).await;
    let before = s.last_seq().await;
    s.sf.commit_late(
        PROD_ORG,
        "Lead",
        Some(&lead),
        object(json!({"Title": "SF late"})),
        s.now() - Duration::seconds(20),
    )
    .expect("late commit");
    s.advance(Duration::minutes(1));
    s.poll("prod").await;
    assert_eq!(titles_sent(&s, before, &lead).await, vec![json!("SF late")]);
}

async fn keep_owner_field_refuses_owner_changes_from_salesforce(backend: Backend) {
    let s = Stack::start(backend).await;
    s.connect("prod", Environment::Production).await;
    s.edit_config("prod", |c| {
        c.owners.keep_owner_field = Some("has_future_events".into());
        for (email, id) in [
            (Stack::MAPPED_USER, "app-user-ava"),
            (Stack::UNMAPPED_USER, "app-user-omar"),
        ] {
            c.owners.app_users.insert(email.into(), id.into());
        }
    })
    .await;
    s.poll("prod").await;
    let create = app_event(
        "create",
        "contact",
        "app-k",
        s.now(),
        json!({"first_name": "Kim", "last_name": "Keep", "email": "kim@keep.example",
               "phone": "+1 555 0610", "company_name": "Keep Co", "owner_id": "app-user-ava",
               "has_future_events": true}),
    );
    s.send_events("prod", vec![create]).await;
    let drained = s.drain_push().await;
    let lead = drained
        .outcomes
        .first()
        .and_then(|o| o.sf_id.clone())
        .unwrap_or_else(|| panic!("pushed: {drained:#?}"));
    s.advance(Duration::minutes(1));
    s.poll("prod").await;

    // A Salesforce user reassigns the Lead: the app's flag refuses the owner change.
    s.advance(Duration::minutes(1));
    let omar = s.user_id(PROD_ORG, Stack::UNMAPPED_USER);
    s.update(
        PROD_ORG,
        "Lead",
        &lead,
        json!({"OwnerId": omar, "Title": "Moved"}),
    );
    let before = s.last_seq().await;
    s.advance(Duration::minutes(1));
    s.poll("prod").await;
    let got = s.changes_after(before).await;
    let (mine, notices): (Vec<_>, Vec<_>) = find_changes(&got, &lead)
        .into_iter()
        .partition(|e| e.kind != ChangeKind::Notice);
    assert_eq!(mine.len(), 1, "{got:#?}");
    assert_eq!(
        notices.len(),
        1,
        "the app is told why (notices.rs): {got:#?}"
    );
    assert!(
        mine[0].payload["fields"].get("owner_id").is_none(),
        "owner change sent although the app keeps its owner: {:#?}",
        mine[0].payload
    );
    assert_eq!(mine[0].payload["fields"]["title"], json!("Moved"));

    // The app clears the flag; the next owner change comes through.
    s.advance(Duration::minutes(1));
    let clear = app_event(
        "update",
        "contact",
        "app-k",
        s.now(),
        json!({"has_future_events": false}),
    );
    s.send_events("prod", vec![clear]).await;
    s.drain_push().await;
    s.advance(Duration::minutes(1));
    s.update(
        PROD_ORG,
        "Lead",
        &lead,
        json!({"OwnerId": omar, "Title": "Again"}),
    );
    let before = s.last_seq().await;
    s.advance(Duration::minutes(1));
    s.poll("prod").await;
    let got = s.changes_after(before).await;
    let owners: Vec<&Value> = find_changes(&got, &lead)
        .iter()
        .filter_map(|e| e.payload["fields"].get("owner_id"))
        .collect();
    assert_eq!(owners, vec![&json!("app-user-omar")], "{got:#?}");
}

fn object(v: Value) -> serde_json::Map<String, Value> {
    v.as_object().cloned().expect("an object")
}
