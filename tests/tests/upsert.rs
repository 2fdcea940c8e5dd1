//! Issue 12, step 4: with crmsync's key field provisioned, creates are upserts by
//! `Crmsync_App_Id__c` (collections for single records, upsert nodes in a sale's graph),
//! matching tries the key first, and a create delivered twice (its first response lost
//! after the commit) leaves one record. Without provisioning, `provision.rs` covers the
//! refused path (creates stay creates).

use crmsync_core::provision::{KEY_FIELD, event_record_key, line_item_key};
use crmsync_e2e::*;
use crmsync_service::provision;
use crmsync_service::push;
use crmsync_store::{Environment, ProvisioningState, ReceivedMessage, ReportStatus};
use serde_json::{Map, Value, json};
use sf_emulator::FaultSpec;

e2e!(
    a_provisioned_push_creates_by_upsert,
    a_record_found_by_its_key_is_linked_without_a_guess,
    a_keyed_create_whose_response_was_lost_leaves_one_record,
    a_keyed_sale_whose_response_was_lost_is_written_once,
);

async fn provisioned(s: &Stack) {
    s.connect("prod", Environment::Production).await;
    let run = provision::provision(&s.app, &s.tenant, &s.conn("prod"))
        .await
        .expect("provisioned");
    assert_eq!(run.state, ProvisioningState::Provisioned, "{run:?}");
    for o in ["Lead", "Contact", "Account", "Opportunity"] {
        assert!(run.key_objects.iter().any(|k| k == o), "{o}: {run:?}");
    }
}

fn count(s: &Stack, endpoint: &str) -> u64 {
    s.sf.api_count(PROD_ORG, endpoint).unwrap()
}

/// The org's records of `object` whose `field` is `value`, as stored (whatever the FLS).
fn stored(s: &Stack, object: &str, field: &str, value: &str) -> Vec<(String, Map<String, Value>)> {
    s.sf.records(PROD_ORG, object)
        .unwrap()
        .into_iter()
        .filter(|(_, f, deleted)| !deleted && f.get(field) == Some(&json!(value)))
        .map(|(id, f, _)| (id, f))
        .collect()
}

fn person(s: &Stack, app_id: &str, fields: Value) -> Value {
    app_event("create", "contact", app_id, s.now(), fields)
}

async fn a_provisioned_push_creates_by_upsert(backend: Backend) {
    let s = Stack::start(backend).await;
    provisioned(&s).await;
    let (upserts, creates) = (
        count(&s, "collections.upsert"),
        count(&s, "collections.create"),
    );
    let event = person(
        &s,
        "app-keyed",
        json!({"first_name": "Kay", "last_name": "Keyed", "email": "kay@keyed.example",
               "phone": "+1 555 0801", "company_name": "Keyed Co", "phase": "ColdCallCold"}),
    );
    let event_id = event["event_id"].as_str().unwrap().to_string();
    s.send_events("prod", vec![event]).await;
    s.drain_push().await;
    let report = s.report("prod", &event_id).await.expect("reported");
    assert_eq!(report.status, ReportStatus::Success, "{report:?}");
    assert_eq!(count(&s, "collections.upsert") - upserts, 1, "an upsert");
    assert_eq!(count(&s, "collections.create") - creates, 0, "no create");
    let leads = stored(&s, "Lead", "Email", "kay@keyed.example");
    assert_eq!(leads.len(), 1, "{leads:?}");
    assert_eq!(leads[0].1[KEY_FIELD], json!("contact:app-keyed"));
    assert_eq!(report.sf_id.as_deref(), Some(leads[0].0.as_str()));
}

/// A Lead carrying the app record's key is the one written, although another Lead has
/// the event's phone (the guess matching alone would take).
async fn a_record_found_by_its_key_is_linked_without_a_guess(backend: Backend) {
    let s = Stack::start(backend).await;
    provisioned(&s).await;
    let lead = |last: &str, email: &str, key: Option<&str>| {
        let mut m = Map::new();
        m.insert("LastName".into(), json!(last));
        m.insert("Company".into(), json!("Found Co"));
        m.insert("Email".into(), json!(email));
        m.insert("Phone".into(), json!("+1 555 0802"));
        if let Some(k) = key {
            m.insert(KEY_FIELD.into(), json!(k));
        }
        m
    };
    let keyed =
        s.sf.insert_record(
            PROD_ORG,
            "Lead",
            lead("Keyed", "old@found.example", Some("contact:app-found")),
        )
        .unwrap();
    let guess =
        s.sf.insert_record(PROD_ORG, "Lead", lead("Guess", "guess@found.example", None))
            .unwrap();
    let event = person(
        &s,
        "app-found",
        json!({"first_name": "Fay", "last_name": "Found", "email": "fay@found.example",
               "phone": "+1 555 0802", "company_name": "Found Co", "phase": "ColdCallCold"}),
    );
    let event_id = event["event_id"].as_str().unwrap().to_string();
    s.send_events("prod", vec![event]).await;
    s.drain_push().await;
    let report = s.report("prod", &event_id).await.expect("reported");
    assert_eq!(report.status, ReportStatus::Success, "{report:?}");
    assert_eq!(report.sf_id.as_deref(), Some(keyed.as_str()), "{report:?}");
    let written = s.sf.get_record(PROD_ORG, "Lead", &keyed).unwrap().unwrap();
    assert_eq!(written["Email"], json!("fay@found.example"));
    let untouched = s.sf.get_record(PROD_ORG, "Lead", &guess).unwrap().unwrap();
    assert_eq!(untouched["LastName"], json!("Guess"));
    assert_eq!(s.count(PROD_ORG, "Lead", "Company = 'Found Co'").await, 2);
}

/// Sends one event on the per-event path and receives its message (kept, to deliver it
/// again).
async fn send_one(s: &Stack, event: Value) -> Vec<ReceivedMessage> {
    s.send_events("prod", vec![event]).await;
    let batch = s.receive_push(10).await;
    assert_eq!(batch.len(), 1, "{batch:#?}");
    batch
}

/// The first delivery commits and loses its response (retried); the redelivery, after the
/// visibility timeout, must finish it.
async fn lose_then_redeliver(s: &Stack, batch: &[ReceivedMessage]) -> push::BatchOutcome {
    s.sf.set_faults(PROD_ORG, FaultSpec::none().commit_lost(1.0))
        .unwrap();
    let first = push::push_batch(&s.app, inbound(batch)).await;
    s.sf.clear_faults(PROD_ORG).unwrap();
    assert_eq!(
        first.retry.len(),
        1,
        "the lost response redelivers: {first:#?}"
    );
    s.advance(
        chrono::Duration::from_std(crmsync_service::parked::PUSH_VISIBILITY_TIMEOUT).unwrap()
            + chrono::Duration::seconds(1),
    );
    let second = push::push_batch(&s.app, inbound(batch)).await;
    assert!(second.retry.is_empty(), "{second:#?}");
    assert_eq!(second.outcomes.len(), 1, "{second:#?}");
    assert_eq!(
        second.outcomes[0].status,
        ReportStatus::Success,
        "{second:#?}"
    );
    s.ack_push(batch).await;
    second
}

/// A Lead with no email or phone (no matching query can find it again): its upsert
/// commits, the response is lost, and the redelivered upsert updates the same Lead.
async fn a_keyed_create_whose_response_was_lost_leaves_one_record(backend: Backend) {
    let s = Stack::start_per_event(backend).await;
    provisioned(&s).await;
    let event = person(
        &s,
        "app-plain-keyed",
        json!({"first_name": "Pia", "last_name": "Plainkeyed", "company_name": "Plain Co"}),
    );
    let batch = send_one(&s, event).await;
    let (upserts, creates) = (
        count(&s, "collections.upsert"),
        count(&s, "collections.create"),
    );
    let second = lose_then_redeliver(&s, &batch).await;
    // The client retries the lost response too: every attempt is an upsert.
    assert!(count(&s, "collections.upsert") - upserts >= 2);
    assert_eq!(count(&s, "collections.create"), creates, "no plain create");
    let leads = stored(&s, "Lead", "LastName", "Plainkeyed");
    assert_eq!(leads.len(), 1, "{leads:?}");
    assert_eq!(leads[0].1[KEY_FIELD], json!("contact:app-plain-keyed"));
    assert_eq!(
        second.outcomes[0].sf_id.as_deref(),
        Some(leads[0].0.as_str())
    );
    // Delivered once more, the report makes it a duplicate.
    let third = push::push_batch(&s.app, inbound(&batch)).await;
    assert_eq!(third.duplicates, 1, "{third:#?}");
}

/// A sale's graph (Account, Contact, Opportunity, line items, each an upsert node) commits
/// and loses its response; the redelivery leaves one of each, every one keyed.
async fn a_keyed_sale_whose_response_was_lost_is_written_once(backend: Backend) {
    let s = Stack::start_per_event(backend).await;
    provisioned(&s).await;
    let mut sale = app_event(
        "sale",
        "contact",
        "app-sale-keyed",
        s.now(),
        json!({"first_name": "Lou", "last_name": "Keyedsale", "phone": "+1 555 0931",
               "email": "lou@keyedsale.example", "company_name": "Keyed Sale Co",
               "city": "Austin", "amount": 2200}),
    );
    sale["sale_items"] = json!([
        {"name": "Compiler licence", "quantity": 2, "unit_price": 500},
        {"name": "Setup and training", "product_code": "SVC-ONB", "quantity": 1, "unit_price": 1200}
    ]);
    let event_id = sale["event_id"].as_str().unwrap().to_string();
    let batch = send_one(&s, sale).await;
    lose_then_redeliver(&s, &batch).await;
    let opps = stored(&s, "Opportunity", "Name", "Keyed Sale Co");
    assert_eq!(opps.len(), 1, "{opps:?}");
    assert_eq!(
        opps[0].1[KEY_FIELD],
        json!(event_record_key(&event_id, "Opportunity"))
    );
    let accounts = stored(&s, "Account", "Name", "Keyed Sale Co");
    assert_eq!(accounts.len(), 1, "{accounts:?}");
    assert!(accounts[0].1.get(KEY_FIELD).is_some(), "{accounts:?}");
    assert_eq!(stored(&s, "Contact", "LastName", "Keyedsale").len(), 1);
    let items = stored(&s, "OpportunityLineItem", "OpportunityId", &opps[0].0);
    let mut keys: Vec<Value> = items.iter().map(|(_, f)| f[KEY_FIELD].clone()).collect();
    keys.sort_by_key(|k| k.to_string());
    assert_eq!(
        keys,
        [
            json!(line_item_key(&event_id, 0)),
            json!(line_item_key(&event_id, 1))
        ],
        "one keyed set of line items: {items:#?}"
    );
}
