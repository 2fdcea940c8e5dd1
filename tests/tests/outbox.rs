//! Issue 11: the per-connection push outbox. Ingest appends events to the connection's
//! outbox and nudges the push queue; one nudge drains the outbox in chunks of up to 200
//! events. A worker killed mid-drain loses and duplicates nothing; a record's events keep
//! their order across chunks.

use crmsync_e2e::*;
use crmsync_service::push;
use crmsync_store::{ConnectionId, Environment, ReportStatus, TenantId};
use serde_json::{Value, json};
use sf_emulator::FaultSpec;

e2e!(
    a_burst_drains_in_chunks_of_200,
    a_worker_killed_mid_drain_loses_and_duplicates_nothing,
    a_records_updates_keep_their_order_across_chunks,
    a_lost_nudge_is_resent_by_the_poll_and_repeats_are_pushed_once,
);

/// 1,000 events on the embedded store; 250 on moto (slower per store call).
fn burst_size(backend: Backend) -> usize {
    match backend {
        Backend::Embedded => 1000,
        Backend::Aws => 250,
    }
}

fn person(s: &Stack, tag: &str, i: usize) -> Value {
    app_event(
        "create",
        "contact",
        &format!("app-{tag}-{i}"),
        s.now(),
        json!({"first_name": "Out", "last_name": format!("{tag}{i}"),
               "phone": format!("+1 557 {:04}", i % 10_000),
               "email": format!("{tag}{i}@outbox.example"), "company_name": format!("Outbox Co {i}")}),
    )
}

async fn ingest_all(s: &Stack, events: &[Value]) {
    for chunk in events.chunks(100) {
        s.send_events("prod", chunk.to_vec()).await;
    }
}

fn ids(s: &Stack) -> (TenantId, ConnectionId) {
    (s.tenant.clone(), s.conn("prod"))
}

async fn outbox_len(s: &Stack) -> usize {
    let (t, c) = ids(s);
    s.app
        .stores
        .outbox
        .oldest(&t, &c, 1000)
        .await
        .unwrap()
        .len()
}

async fn leads_named(s: &Stack, tag: &str) -> usize {
    s.count(PROD_ORG, "Lead", &format!("LastName LIKE '{tag}%'"))
        .await
}

async fn all_succeeded(s: &Stack, events: &[Value]) {
    for e in events {
        let id = e["event_id"].as_str().unwrap();
        let r = s.report("prod", id).await.expect("every event is reported");
        assert_eq!(r.status, ReportStatus::Success, "{r:#?}");
    }
}

async fn a_burst_drains_in_chunks_of_200(backend: Backend) {
    let s = Stack::start(backend).await;
    s.connect("prod", Environment::Production).await;
    let n = burst_size(backend);
    let events: Vec<Value> = (0..n).map(|i| person(&s, "burst", i)).collect();
    ingest_all(&s, &events).await;
    assert_eq!(outbox_len(&s).await, n);

    // One nudge per ingest request; the first one drains everything.
    let nudges = s.receive_push(100).await;
    assert_eq!(nudges.len(), n.div_ceil(100), "{nudges:#?}");
    let out = push::push_batch(&s.app, inbound(&nudges)).await;
    assert!(out.retry.is_empty(), "{out:#?}");
    assert_eq!(out.outcomes.len(), n);
    assert!(
        out.chunks <= n.div_ceil(200),
        "{n} events took {} chunks",
        out.chunks
    );
    s.ack_push(&nudges).await;
    assert_eq!(outbox_len(&s).await, 0, "every entry removed once reported");
    all_succeeded(&s, &events).await;
    assert_eq!(leads_named(&s, "burst").await, n);

    // A nudge that finds the outbox empty pushes nothing.
    s.send_events("prod", vec![person(&s, "late", 0)]).await;
    let first = s.receive_push(10).await;
    push::push_batch(&s.app, inbound(&first)).await;
    s.ack_push(&first).await;
    let (t, c) = ids(&s);
    crmsync_service::outbox::nudge(&s.app, &t, &c, "extra")
        .await
        .unwrap();
    let extra = s.receive_push(10).await;
    assert_eq!(extra.len(), 1);
    let out = push::push_batch(&s.app, inbound(&extra)).await;
    assert!(
        out.outcomes.is_empty() && out.retry.is_empty() && out.chunks == 0,
        "{out:#?}"
    );
}

async fn a_worker_killed_mid_drain_loses_and_duplicates_nothing(backend: Backend) {
    let s = Stack::start(backend).await;
    s.connect("prod", Environment::Production).await;
    let events: Vec<Value> = (0..250).map(|i| person(&s, "killed", i)).collect();
    ingest_all(&s, &events).await;
    let nudges = s.receive_push(10).await;
    assert_eq!(nudges.len(), 3);

    // Slow Salesforce calls, and the worker is stopped (its future dropped) as soon as the
    // first chunk's records are created: before their links and reports are written.
    s.sf.set_faults(PROD_ORG, FaultSpec::none().latency(20))
        .unwrap();
    let created = || {
        s.sf.api_usage(PROD_ORG)
            .unwrap()
            .counters
            .get("collections.create")
            .copied()
            .unwrap_or(0)
    };
    let worker = push::push_batch(&s.app, inbound(&nudges));
    let killer = async {
        while created() == 0 {
            tokio::time::sleep(std::time::Duration::from_millis(2)).await;
        }
    };
    tokio::select! {
        out = worker => panic!("the drain finished before it was stopped: {out:#?}"),
        () = killer => {}
    }
    s.sf.clear_faults(PROD_ORG).unwrap();
    assert_eq!(
        leads_named(&s, "killed").await,
        200,
        "the first chunk was written"
    );
    let left = outbox_len(&s).await;
    assert!(
        (50..=250).contains(&left),
        "stopped mid-drain, nothing removed before its report: {left} entries left"
    );

    // The unacknowledged nudges come back after the queue's visibility timeout (the same
    // batch again: moto's queue keeps real time, not the stack's clock). The first chunk's
    // write intents are then old enough to be adopted, not waited for.
    s.advance(
        chrono::Duration::from_std(crmsync_service::parked::PUSH_VISIBILITY_TIMEOUT).unwrap()
            + chrono::Duration::seconds(1),
    );
    let out = push::push_batch(&s.app, inbound(&nudges)).await;
    assert!(out.retry.is_empty(), "{out:#?}");
    s.ack_push(&nudges).await;
    assert_eq!(outbox_len(&s).await, 0);
    all_succeeded(&s, &events).await;
    assert_eq!(
        leads_named(&s, "killed").await,
        250,
        "no record was created twice"
    );
    // Each app record is linked to exactly its one Lead.
    let mut linked = std::collections::BTreeSet::new();
    for e in &events {
        let r = s.report("prod", e["event_id"].as_str().unwrap()).await;
        linked.insert(r.unwrap().sf_id.expect("reported with its Lead"));
    }
    assert_eq!(linked.len(), 250, "250 distinct Leads reported");
}

async fn a_records_updates_keep_their_order_across_chunks(backend: Backend) {
    let s = Stack::start(backend).await;
    s.connect("prod", Environment::Production).await;
    let create = person(&s, "ordered", 0);
    let update = |n: usize, phone: &str| {
        let mut u = create.clone();
        u["event_id"] = json!(format!(
            "{}-update{n}",
            create["event_id"].as_str().unwrap()
        ));
        u["kind"] = json!("update");
        u["fields"]["phone"] = json!(phone);
        u
    };
    // The create and the first update in the first chunk, the second update in the next.
    let mut events = vec![create.clone()];
    events.extend((1..199).map(|i| person(&s, "filler", i)));
    events.push(update(1, "+1 557 1111"));
    events.push(update(2, "+1 557 2222"));
    events.extend((199..210).map(|i| person(&s, "filler", i)));
    assert_eq!(events[199]["event_id"], update(1, "")["event_id"]);
    ingest_all(&s, &events).await;
    let drained = s.drain_push().await;
    assert!(drained.retried.is_empty(), "{drained:#?}");
    all_succeeded(&s, &events).await;
    for n in [1, 2] {
        let id = update(n, "")["event_id"].as_str().unwrap().to_string();
        let r = s.report("prod", &id).await.unwrap();
        assert_eq!(r.code, None, "update {n} applied, not superseded: {r:#?}");
    }
    let rows = s
        .soql(
            PROD_ORG,
            "SELECT Id, Phone FROM Lead WHERE LastName = 'ordered0'",
        )
        .await;
    assert_eq!(rows.len(), 1, "{rows:#?}");
    assert_eq!(rows[0]["Phone"], "+1 557 2222", "the later update wins");
}

async fn a_lost_nudge_is_resent_by_the_poll_and_repeats_are_pushed_once(backend: Backend) {
    let s = Stack::start(backend).await;
    s.connect("prod", Environment::Production).await;
    s.poll("prod").await;
    // The app sends a request twice (its first answer was lost): six entries, three events.
    let events: Vec<Value> = (0..3).map(|i| person(&s, "twice", i)).collect();
    s.send_events("prod", events.clone()).await;
    s.send_events("prod", events.clone()).await;
    assert_eq!(outbox_len(&s).await, 6);
    // Both nudges are lost (say the queue send failed after the append).
    let lost = s.receive_push(10).await;
    assert_eq!(lost.len(), 2);
    s.ack_push(&lost).await;

    // A poll soon after leaves a fresh outbox alone; one after 2 minutes nudges it.
    s.advance(chrono::Duration::minutes(1));
    s.poll("prod").await;
    assert!(s.receive_push(10).await.is_empty(), "entries 1 minute old");
    s.advance(chrono::Duration::minutes(2));
    let run = s.poll("prod").await;
    assert!(
        run.messages.iter().any(|m| m.contains("push outbox")),
        "{run:#?}"
    );
    let nudges = s.receive_push(10).await;
    assert_eq!(nudges.len(), 1, "{nudges:#?}");
    let out = push::push_batch(&s.app, inbound(&nudges)).await;
    assert!(out.retry.is_empty(), "{out:#?}");
    assert_eq!(out.outcomes.len(), 3, "{out:#?}");
    assert_eq!(out.duplicates, 3, "the repeats are dropped: {out:#?}");
    s.ack_push(&nudges).await;
    assert_eq!(outbox_len(&s).await, 0);
    all_succeeded(&s, &events).await;
    assert_eq!(leads_named(&s, "twice").await, 3);
    // Nothing waits now: the next poll sends no nudge.
    s.advance(chrono::Duration::minutes(3));
    s.poll("prod").await;
    assert!(s.receive_push(10).await.is_empty());
}
