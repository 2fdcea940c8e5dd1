//! Issue 11 with issue 10's catch-up read: one outbox drain reads the linked records of a
//! whole window of chunks (up to 1,000 events) in one composite request, before its first
//! write, and still keeps a newer Salesforce edit no poll has read, whichever chunk of the
//! window updates that record.

use chrono::Duration;
use crmsync_core::config::ConflictPolicy;
use crmsync_e2e::*;
use crmsync_store::{Environment, ReportStatus};
use serde_json::{Value, json};

e2e!(
    one_read_covers_every_chunk_of_a_window_and_keeps_a_newer_salesforce_edit,
    a_later_chunk_reads_a_record_an_earlier_chunk_linked,
);

/// Linked contacts in a window: on the embedded store two chunks of 200 and one of 50; on
/// moto (slower per store call) one of 200 and one of 10.
fn linked(backend: Backend) -> usize {
    match backend {
        Backend::Embedded => 450,
        Backend::Aws => 210,
    }
}

fn contact(s: &Stack, i: usize) -> Value {
    app_event(
        "create",
        "contact",
        &format!("app-w{i}"),
        s.now(),
        json!({"first_name": "Win", "last_name": format!("Window{i}"),
               "email": format!("w{i}@window.example"), "phone": format!("+1 558 {i:04}"),
               "company_name": format!("Window Co {i}"), "title": "Start"}),
    )
}

fn title(i: usize, at: chrono::DateTime<chrono::Utc>, title: &str) -> Value {
    app_event(
        "update",
        "contact",
        &format!("app-w{i}"),
        at,
        json!({"title": title}),
    )
}

async fn send(s: &Stack, events: &[Value]) {
    for chunk in events.chunks(100) {
        s.send_events("prod", chunk.to_vec()).await;
    }
}

/// A stack under `most_recent` with `n` contacts pushed (Leads), linked and polled; the
/// Lead ids by contact.
async fn linked_contacts(backend: Backend, n: usize) -> (Stack, Vec<String>) {
    let s = Stack::start(backend).await;
    s.connect("prod", Environment::Production).await;
    s.edit_config("prod", |c| c.conflict_policy = ConflictPolicy::MostRecent)
        .await;
    s.poll("prod").await;
    let creates: Vec<Value> = (0..n).map(|i| contact(&s, i)).collect();
    send(&s, &creates).await;
    let drained = s.drain_push().await;
    assert!(drained.retried.is_empty(), "{drained:#?}");
    let mut leads = Vec::new();
    for e in &creates {
        let r = s.report("prod", e["event_id"].as_str().unwrap()).await;
        leads.push(r.and_then(|r| r.sf_id).expect("created and reported"));
    }
    s.advance(Duration::minutes(1));
    s.poll("prod").await;
    s.advance(Duration::minutes(1));
    (s, leads)
}

fn count(s: &Stack, endpoint: &str) -> u64 {
    s.sf.api_count(PROD_ORG, endpoint).unwrap()
}

async fn one_read_covers_every_chunk_of_a_window_and_keeps_a_newer_salesforce_edit(
    backend: Backend,
) {
    let n = linked(backend);
    let (s, leads) = linked_contacts(backend, n).await;
    // The app changes every title; 30 s later, before any poll, a Salesforce user edits
    // one Lead in each chunk. Those newer edits must stand (`most_recent`).
    let app_time = s.now();
    s.advance(Duration::seconds(30));
    // One Lead in each chunk.
    let edited: Vec<usize> = (0..n).step_by(200).map(|c| c + 5).collect();
    for &i in &edited {
        s.update(
            PROD_ORG,
            "Lead",
            &leads[i],
            json!({"Title": format!("SF {i}")}),
        );
    }
    s.advance(Duration::seconds(5));
    let updates: Vec<Value> = (0..n).map(|i| title(i, app_time, "App")).collect();
    send(&s, &updates).await;
    s.sf.reset_counters(PROD_ORG).unwrap();
    let drained = s.drain_push().await;
    assert!(drained.retried.is_empty(), "{drained:#?}");
    for e in &updates {
        let r = s.report("prod", e["event_id"].as_str().unwrap()).await;
        let r = r.expect("every update is reported");
        assert_eq!(r.status, ReportStatus::Success, "{r:#?}");
    }
    for (i, lead) in leads.iter().enumerate() {
        let want = if edited.contains(&i) {
            format!("SF {i}")
        } else {
            "App".to_string()
        };
        assert_eq!(
            s.record(PROD_ORG, "Lead", lead)["Title"],
            json!(want),
            "Lead of contact {i}"
        );
    }
    // The linked Leads read in one composite request (an `Id IN` query per 200), not one
    // query a chunk; then one collections update a chunk.
    let reads = count(&s, "composite");
    match backend {
        Backend::Embedded => assert_eq!(reads, 1, "catch-up reads"),
        // A drain hands on to a fresh nudge (a new window) after 60 s of wall time, which
        // moto's store calls on a loaded machine can take: at most one read a chunk.
        Backend::Aws => assert!((1..=n.div_ceil(200) as u64).contains(&reads), "{reads}"),
    }
    assert_eq!(count(&s, "query"), 0, "no per-chunk catch-up query");
    assert_eq!(count(&s, "collections.update"), n.div_ceil(200) as u64);
}

async fn a_later_chunk_reads_a_record_an_earlier_chunk_linked(backend: Backend) {
    let (s, leads) = linked_contacts(backend, 201).await;
    // A new contact created in the first chunk and updated in the second: the window's
    // read ran before it was linked, so the second chunk reads it (and only it).
    let new = 900;
    let mut events = vec![contact(&s, new)];
    events.extend((0..199).map(|i| title(i, s.now(), "App")));
    events.extend((199..201).map(|i| title(i, s.now(), "App")));
    s.advance(Duration::seconds(1));
    events.push(title(new, s.now(), "Renamed"));
    send(&s, &events).await;
    s.sf.reset_counters(PROD_ORG).unwrap();
    let drained = s.drain_push().await;
    assert!(drained.retried.is_empty(), "{drained:#?}");
    let new_lead = s
        .report("prod", events[0]["event_id"].as_str().unwrap())
        .await
        .and_then(|r| r.sf_id)
        .expect("created");
    assert_eq!(
        s.record(PROD_ORG, "Lead", &new_lead)["Title"],
        json!("Renamed")
    );
    assert_eq!(
        s.record(PROD_ORG, "Lead", &leads[200])["Title"],
        json!("App")
    );
    // Composites: the first chunk's matching, the window's read, the second chunk's read of
    // the new Lead.
    let reads = count(&s, "composite");
    assert_eq!(reads, 3, "{:?}", s.sf.api_usage(PROD_ORG).unwrap().counters);
}
