//! Notices (issue 13, item 11; seed 003: an owner change Salesforce makes while the app
//! keeps its owner is refused, "and an email notification will be sent"): when a rule
//! refuses a Salesforce change, the app reads why in the change feed (`GET /v1/changes`),
//! as one entry of kind `notice` naming the connection, object, Salesforce id, app id,
//! fields and rule, in a sentence and as fields; told once per refused value, not on
//! every poll that reads the record again.

use chrono::Duration;
use crmsync_e2e::*;
use crmsync_service::http;
use crmsync_store::{ChangeKind, Environment};
use serde_json::{Value, json};

e2e!(
    an_owner_change_kept_out_by_keep_owner_field_is_noticed_once,
    a_change_to_an_app_only_field_is_noticed_once_per_value,
);

/// A connected stack with `edit` applied and a Lead pushed for `app_id` (fields `fields`),
/// polled once so the link is settled. Returns the Lead's id.
async fn pushed_lead(
    s: &Stack,
    app_id: &str,
    fields: Value,
    edit: impl FnOnce(&mut crmsync_core::config::SyncConfig),
) -> String {
    s.connect("prod", Environment::Production).await;
    s.edit_config("prod", edit).await;
    s.poll("prod").await;
    let create = app_event("create", "contact", app_id, s.now(), fields);
    s.send_events("prod", vec![create]).await;
    let drained = s.drain_push().await;
    let lead = drained
        .outcomes
        .first()
        .and_then(|o| o.sf_id.clone())
        .unwrap_or_else(|| panic!("pushed: {drained:#?}"));
    s.advance(Duration::minutes(1));
    s.poll("prod").await;
    lead
}

/// The notices about `sf_id` after `after`, read as the app reads them (`GET /v1/changes`).
async fn notices(s: &Stack, after: u64, sf_id: &str) -> Vec<Value> {
    let api = Api::new(http::report_router(s.app.clone()));
    let body = ok(
        "changes",
        api.get(
            &format!("/v1/changes?after={after}&limit=1000"),
            &s.credentials.api_key,
        )
        .await,
    );
    body["changes"]
        .as_array()
        .expect("changes")
        .iter()
        .filter(|c| c["kind"] == json!("notice") && c["sf_id"] == json!(sf_id))
        .cloned()
        .collect()
}

async fn an_owner_change_kept_out_by_keep_owner_field_is_noticed_once(backend: Backend) {
    let s = Stack::start(backend).await;
    let lead = pushed_lead(
        &s,
        "app-k",
        json!({"first_name": "Kim", "last_name": "Keep", "email": "kim@keep.example",
               "phone": "+1 555 0610", "company_name": "Keep Co", "owner_id": "app-user-ava",
               "has_future_events": true}),
        |c| {
            c.owners.keep_owner_field = Some("has_future_events".into());
            for (email, id) in [
                (Stack::MAPPED_USER, "app-user-ava"),
                (Stack::UNMAPPED_USER, "app-user-omar"),
                (sf_emulator::demo::USERNAME, "app-user-admin"),
            ] {
                c.owners.app_users.insert(email.into(), id.into());
            }
        },
    )
    .await;
    let before = s.last_seq().await;
    assert!(
        notices(&s, 0, &lead).await.is_empty(),
        "nothing refused yet"
    );

    // A Salesforce user reassigns the Lead, and nothing else: the flag refuses it.
    s.advance(Duration::minutes(1));
    let omar = s.user_id(PROD_ORG, Stack::UNMAPPED_USER);
    s.update(PROD_ORG, "Lead", &lead, json!({"OwnerId": omar}));
    s.advance(Duration::minutes(1));
    s.poll("prod").await;
    let got = notices(&s, before, &lead).await;
    assert_eq!(got.len(), 1, "{got:#?}");
    let n = &got[0];
    assert_eq!(n["connection"], json!("prod"));
    assert_eq!(n["object"], json!("Lead"));
    assert_eq!(n["app_id"], json!("app-k"));
    let p = &n["payload"];
    assert_eq!(p["fields"], json!(["OwnerId"]));
    assert_eq!(p["app_fields"], json!(["owner_id"]));
    assert_eq!(p["rules"], json!(["keep_owner_field"]));
    assert_eq!(p["refusals"][0]["setting"], json!("has_future_events"));
    assert_eq!(p["refusals"][0]["value"], json!(Stack::UNMAPPED_USER));
    assert!(p["system_modstamp"].is_string(), "{p:#}");
    let message = p["message"].as_str().unwrap_or_default();
    for part in [
        "`prod`",
        "Lead",
        lead.as_str(),
        "`app-k`",
        "OwnerId",
        "keep_owner_field",
    ] {
        assert!(message.contains(part), "{part} missing from: {message}");
    }
    // No upsert carried the owner to the app.
    let upserts = s.changes_after(before).await;
    assert!(
        upserts
            .iter()
            .filter(|e| e.kind == ChangeKind::Upsert)
            .all(|e| e.payload["fields"].get("owner_id").is_none()),
        "{upserts:#?}"
    );

    // Later polls read the Lead again (the overlap window, then another field's change):
    // the same refusal is not told again.
    let seen = s.last_seq().await;
    s.advance(Duration::minutes(1));
    s.poll("prod").await;
    s.update(PROD_ORG, "Lead", &lead, json!({"Title": "Moved"}));
    s.advance(Duration::minutes(1));
    s.poll("prod").await;
    assert!(notices(&s, seen, &lead).await.is_empty(), "told twice");
    let titled = s.changes_after(seen).await;
    assert!(
        titled
            .iter()
            .any(|e| e.sf_id == lead && e.payload["fields"]["title"] == json!("Moved")),
        "the other field still syncs: {titled:#?}"
    );

    // A different owner refused is news again.
    let seen = s.last_seq().await;
    s.advance(Duration::minutes(1));
    let admin = s.user_id(PROD_ORG, sf_emulator::demo::USERNAME);
    s.update(PROD_ORG, "Lead", &lead, json!({"OwnerId": admin}));
    s.advance(Duration::minutes(1));
    s.poll("prod").await;
    assert_eq!(notices(&s, seen, &lead).await.len(), 1);
}

async fn a_change_to_an_app_only_field_is_noticed_once_per_value(backend: Backend) {
    let s = Stack::start(backend).await;
    let lead = pushed_lead(
        &s,
        "app-t",
        json!({"first_name": "Tia", "last_name": "Title", "email": "tia@title.example",
               "phone": "+1 555 0620", "company_name": "Title Co", "title": "Founder"}),
        |c| {
            let lead = c.objects.get_mut("Lead").expect("Lead is mapped");
            let title = lead
                .fields
                .iter_mut()
                .find(|m| m.salesforce_field == "Title")
                .expect("Title is mapped");
            title.rule = crmsync_core::config::SyncRule::AppOnly;
        },
    )
    .await;
    assert_eq!(s.record(PROD_ORG, "Lead", &lead)["Title"], json!("Founder"));
    let before = s.last_seq().await;

    s.advance(Duration::minutes(1));
    s.update(PROD_ORG, "Lead", &lead, json!({"Title": "Intern"}));
    s.advance(Duration::minutes(1));
    s.poll("prod").await;
    let got = notices(&s, before, &lead).await;
    assert_eq!(got.len(), 1, "{got:#?}");
    let p = &got[0]["payload"];
    assert_eq!(got[0]["app_id"], json!("app-t"));
    assert_eq!(p["fields"], json!(["Title"]));
    assert_eq!(p["app_fields"], json!(["title"]));
    assert_eq!(p["rules"], json!(["app_only"]));
    assert_eq!(p["refusals"][0]["value"], json!("Intern"));
    assert!(
        p["message"]
            .as_str()
            .unwrap_or_default()
            .contains("app_only"),
        "{p:#}"
    );

    // Read again in the overlap window: not told twice.
    let seen = s.last_seq().await;
    s.advance(Duration::minutes(1));
    s.poll("prod").await;
    assert!(notices(&s, seen, &lead).await.is_empty());

    // Back to the app's value, then away again: the refusal ended, so it is news again.
    s.update(PROD_ORG, "Lead", &lead, json!({"Title": "Founder"}));
    s.advance(Duration::minutes(1));
    s.poll("prod").await;
    assert!(
        notices(&s, seen, &lead).await.is_empty(),
        "an echo is no refusal"
    );
    s.update(PROD_ORG, "Lead", &lead, json!({"Title": "Intern"}));
    s.advance(Duration::minutes(1));
    s.poll("prod").await;
    assert_eq!(notices(&s, seen, &lead).await.len(), 1);
}
