//! Scenario 5: at-least-once delivery. The same SQS batch delivered twice creates no
//! duplicates; a worker stopped mid-batch loses nothing; messages hit by a retryable
//! Salesforce fault (UNABLE_TO_LOCK_ROW, 503) come back in `retry`, and after redelivery
//! every record is written exactly once.
//!
//! These tests run on the per-event message path (one queue message per event, as sent
//! before the outbox, `Stack::start_per_event`); `outbox.rs` covers the outbox's drains.

use crmsync_e2e::*;
use crmsync_service::push;
use crmsync_store::{ConnectionStatus, Environment, ReportStatus};
use serde_json::{Value, json};
use sf_emulator::FaultSpec;

e2e!(
    a_batch_delivered_twice_writes_once,
    a_worker_stopped_mid_batch_loses_nothing,
    retryable_faults_are_redelivered_and_written_once,
    two_events_for_one_record_in_a_batch_apply_in_order,
);

fn person(s: &Stack, tag: &str, i: usize) -> Value {
    app_event(
        "create",
        "contact",
        &format!("app-{tag}-{i}"),
        s.now(),
        json!({"first_name": "Del", "last_name": format!("{tag}{i}"), "phone": format!("+1 555 08{i:02}"),
               "email": format!("{tag}{i}@delivery.example"), "company_name": "Delivery Co"}),
    )
}

fn event_ids(events: &[Value]) -> Vec<String> {
    events
        .iter()
        .map(|e| e["event_id"].as_str().unwrap().to_string())
        .collect()
}

async fn leads_named(s: &Stack, org: &str, tag: &str) -> usize {
    s.count(org, "Lead", &format!("LastName LIKE '{tag}%'"))
        .await
}

async fn a_batch_delivered_twice_writes_once(backend: Backend) {
    let s = Stack::start_per_event(backend).await;
    s.connect("prod", Environment::Production).await;
    let events: Vec<Value> = (0..4).map(|i| person(&s, "twice", i)).collect();
    s.send_events("prod", events.clone()).await;

    let batch = s.receive_push(10).await;
    assert_eq!(batch.len(), 4);
    let first = push::push_batch(&s.app, stack_inbound(&batch)).await;
    assert!(first.retry.is_empty(), "{first:#?}");
    assert_eq!(first.outcomes.len(), 4);
    // SQS redelivers the very same batch (e.g. the ack was lost).
    let second = push::push_batch(&s.app, stack_inbound(&batch)).await;
    assert!(second.retry.is_empty(), "{second:#?}");
    assert_eq!(second.duplicates, 4, "{second:#?}");
    assert!(second.outcomes.is_empty(), "{second:#?}");
    s.ack_push(&batch).await;
    assert_eq!(leads_named(&s, PROD_ORG, "twice").await, 4);

    // The app retries its whole request: the same event ids again.
    s.send_events("prod", events).await;
    s.drain_push().await;
    assert_eq!(leads_named(&s, PROD_ORG, "twice").await, 4);
}

async fn a_worker_stopped_mid_batch_loses_nothing(backend: Backend) {
    let s = Stack::start_per_event(backend).await;
    s.connect("prod", Environment::Production).await;
    let events: Vec<Value> = (0..5).map(|i| person(&s, "midway", i)).collect();
    let ids = event_ids(&events);
    s.send_events("prod", events).await;
    let batch = s.receive_push(10).await;
    assert_eq!(batch.len(), 5);

    // The worker gets through two messages, then dies: nothing is acknowledged.
    let partial = push::push_batch(&s.app, stack_inbound(&batch[..2])).await;
    assert_eq!(partial.outcomes.len(), 2, "{partial:#?}");
    // SQS redelivers the whole batch to the next worker.
    let redelivered = push::push_batch(&s.app, stack_inbound(&batch)).await;
    assert!(redelivered.retry.is_empty(), "{redelivered:#?}");
    assert_eq!(redelivered.duplicates, 2, "{redelivered:#?}");
    assert_eq!(redelivered.outcomes.len(), 3, "{redelivered:#?}");
    s.ack_push(&batch).await;

    for id in &ids {
        let r = s.report("prod", id).await.expect("every event is reported");
        assert_eq!(r.status, ReportStatus::Success, "{r:#?}");
    }
    assert_eq!(leads_named(&s, PROD_ORG, "midway").await, 5);
}

async fn retryable_faults_are_redelivered_and_written_once(backend: Backend) {
    let s = Stack::start_per_event(backend).await;
    s.connect("prod", Environment::Production).await;
    s.connect("sbx", Environment::Sandbox).await;
    let prod_events: Vec<Value> = (0..2).map(|i| person(&s, "faultprod", i)).collect();
    let sbx_events: Vec<Value> = (0..2).map(|i| person(&s, "faultsbx", i)).collect();
    let prod_ids = event_ids(&prod_events);
    s.send_events("prod", prod_events).await;
    s.send_events("sbx", sbx_events).await;
    let batch = s.receive_push(10).await;
    assert_eq!(batch.len(), 4);
    let prod_messages: Vec<String> = batch
        .iter()
        .filter(|m| m.body.contains("\"connection\":\"prod\""))
        .map(|m| m.message_id.clone())
        .collect();
    assert_eq!(prod_messages.len(), 2);

    // Production's rows are locked: its messages come back for retry; the sandbox's go on.
    s.sf.set_faults(PROD_ORG, FaultSpec::none().lock_rows(1.0))
        .unwrap();
    let out = push::push_batch(&s.app, stack_inbound(&batch)).await;
    let mut retry = out.retry.clone();
    retry.sort();
    let mut expected = prod_messages.clone();
    expected.sort();
    assert_eq!(retry, expected, "{out:#?}");
    assert_eq!(out.outcomes.len(), 2, "{out:#?}");
    assert!(
        out.outcomes
            .iter()
            .all(|o| o.status == ReportStatus::Success)
    );
    for id in &prod_ids {
        assert!(
            s.report("prod", id).await.is_none(),
            "a retried event has no final outcome yet"
        );
    }
    assert_eq!(leads_named(&s, PROD_ORG, "faultprod").await, 0);
    assert_eq!(leads_named(&s, SANDBOX_ORG, "faultsbx").await, 2);

    // Redelivered while Salesforce answers 503: still retried, still nothing lost.
    s.sf.set_faults(PROD_ORG, FaultSpec::none().errors(503, 1.0))
        .unwrap();
    let redelivery: Vec<_> = batch
        .iter()
        .filter(|m| retry.contains(&m.message_id))
        .cloned()
        .collect();
    // The queue redelivers after its visibility timeout (the first attempt has ended).
    s.advance(redelivery_delay());
    let out = push::push_batch(&s.app, stack_inbound(&redelivery)).await;
    let mut again = out.retry.clone();
    again.sort();
    assert_eq!(again, expected, "{out:#?}");
    assert_eq!(
        s.connection("prod").await.status,
        ConnectionStatus::Connected,
        "a transient fault does not disconnect"
    );

    // Salesforce recovers; the next redelivery writes each record once.
    s.sf.clear_faults(PROD_ORG).unwrap();
    s.advance(redelivery_delay());
    let out = push::push_batch(&s.app, stack_inbound(&redelivery)).await;
    assert!(out.retry.is_empty(), "{out:#?}");
    assert_eq!(out.outcomes.len(), 2, "{out:#?}");
    for id in &prod_ids {
        let r = s.report("prod", id).await.expect("reported");
        assert_eq!(r.status, ReportStatus::Success, "{r:#?}");
    }
    // And a stray redelivery of the whole original batch changes nothing.
    let out = push::push_batch(&s.app, stack_inbound(&batch)).await;
    assert_eq!(out.duplicates, 4, "{out:#?}");
    s.ack_push(&batch).await;
    assert_eq!(leads_named(&s, PROD_ORG, "faultprod").await, 2);
    assert_eq!(leads_named(&s, SANDBOX_ORG, "faultsbx").await, 2);
}

/// A create and an update of the same record (one FIFO group) in one batch: one Salesforce
/// record, carrying the update; if the create must be retried, the update waits with it.
async fn two_events_for_one_record_in_a_batch_apply_in_order(backend: Backend) {
    let s = Stack::start_per_event(backend).await;
    s.connect("prod", Environment::Production).await;
    let update_of = |create: &Value| {
        let mut update = create.clone();
        update["event_id"] = json!(format!("{}-update", create["event_id"].as_str().unwrap()));
        update["kind"] = json!("update");
        update["fields"]["phone"] = json!("+1 555 0999");
        update
    };
    let phones = |tag: &'static str| {
        let s = &s;
        async move {
            s.soql(
                PROD_ORG,
                &format!("SELECT Id, Phone FROM Lead WHERE LastName LIKE '{tag}%'"),
            )
            .await
            .into_iter()
            .map(|r| r["Phone"].as_str().unwrap_or_default().to_string())
            .collect::<Vec<_>>()
        }
    };

    let create = person(&s, "inorder", 0);
    s.send_events("prod", vec![create.clone(), update_of(&create)])
        .await;
    let batch = s.receive_push(2).await;
    assert_eq!(batch.len(), 2, "both events in one batch");
    let out = push::push_batch(&s.app, stack_inbound(&batch)).await;
    assert!(out.retry.is_empty(), "{out:#?}");
    assert_eq!(out.outcomes.len(), 2, "{out:#?}");
    s.ack_push(&batch).await;
    assert_eq!(
        phones("inorder").await,
        vec!["+1 555 0999".to_string()],
        "one record, updated"
    );

    // The create hits a retryable fault: the update must not overtake it.
    let create = person(&s, "heldback", 0);
    s.send_events("prod", vec![create.clone(), update_of(&create)])
        .await;
    let batch = s.receive_push(2).await;
    assert_eq!(batch.len(), 2);
    s.sf.set_faults(PROD_ORG, FaultSpec::none().lock_rows(1.0))
        .unwrap();
    let out = push::push_batch(&s.app, stack_inbound(&batch)).await;
    assert_eq!(
        out.retry.len(),
        2,
        "the update is retried with its create: {out:#?}"
    );
    assert!(out.outcomes.is_empty(), "{out:#?}");
    assert!(phones("heldback").await.is_empty());
    s.sf.clear_faults(PROD_ORG).unwrap();
    s.advance(redelivery_delay());
    let out = push::push_batch(&s.app, stack_inbound(&batch)).await;
    assert!(out.retry.is_empty(), "{out:#?}");
    s.ack_push(&batch).await;
    assert_eq!(phones("heldback").await, vec!["+1 555 0999".to_string()]);
}

fn stack_inbound(batch: &[crmsync_store::ReceivedMessage]) -> Vec<push::InboundMessage> {
    crmsync_e2e::inbound(batch)
}

/// How long after a failed attempt the push queue delivers its messages again: past the
/// visibility timeout. (A redelivery sooner would meet the attempt's fresh write intent
/// and be retried as possibly still in flight.)
fn redelivery_delay() -> chrono::Duration {
    chrono::Duration::from_std(crmsync_service::parked::PUSH_VISIBILITY_TIMEOUT).unwrap()
        + chrono::Duration::seconds(1)
}
