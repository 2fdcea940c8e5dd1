//! # crmsync-bench
//!
//! The exact API meter of issue 11: drives the in-process stack (crmsync-e2e's [`Stack`],
//! embedded stores) against the Salesforce emulator and reads the emulator's per-endpoint
//! counters, reset before each workload. Counts are exact (no timing), so the same run
//! gives the same table, and CI can ratchet on it (`tests/budget.rs`).
//!
//! Workloads, each on a fresh stack with the production org connected:
//! - **idle**: connect, initial poll, then `idle_polls` polls a minute apart with nothing
//!   changed in the org: calls / polls;
//! - **create**: `events` `create` events of new contacts (email and phone);
//! - **update**: `events` `update` events of contacts already pushed (linked);
//! - **mix**: 70 % update, 25 % create, 5 % sale with 2 items from the demo catalog.

pub mod activities;
pub mod backfill;
pub mod conversion;
pub mod import;
pub mod latency;
pub mod scheduler;
pub mod sites;

use std::collections::BTreeMap;
use std::fmt::Write as _;

use crmsync_e2e::{Backend, PROD_ORG, Stack, app_event, inbound};
use crmsync_service::push;
use crmsync_store::{Environment, ReportStatus};
use serde_json::{Value, json};

/// The connection every workload pushes through.
pub(crate) const CONN: &str = "prod";
/// Events per ingest call (the ingest limit is 100).
const INGEST_CHUNK: usize = 100;
/// Messages per push batch (an SQS FIFO batch).
pub(crate) const PUSH_BATCH: usize = 10;

/// How much work a run does.
#[derive(Debug, Clone, Copy)]
pub struct Options {
    /// Events per push workload.
    pub events: usize,
    /// Idle polls after the initial one.
    pub idle_polls: usize,
}

impl Options {
    /// The full run (`cargo run -p crmsync-bench`).
    pub const FULL: Options = Options {
        events: 1000,
        idle_polls: 10,
    };
    /// The CI run (`--quick`).
    pub const QUICK: Options = Options {
        events: 100,
        idle_polls: 5,
    };
}

/// The metered calls of one workload.
#[derive(Debug, Clone)]
pub struct Measure {
    pub workload: &'static str,
    /// Events pushed, or idle polls run.
    pub units: usize,
    /// REST calls the org metered against its daily limit.
    pub calls: u64,
    /// Calls per endpoint, as the emulator names them (OAuth endpoints are not metered).
    pub per_endpoint: BTreeMap<String, u64>,
}

impl Measure {
    /// Calls per unit (per idle poll, or per event).
    pub fn per_unit(&self) -> f64 {
        self.calls as f64 / self.units.max(1) as f64
    }

    /// Calls per 1,000 events.
    pub fn per_1000(&self) -> f64 {
        self.per_unit() * 1000.0
    }
}

/// All workloads of one run.
#[derive(Debug, Clone)]
pub struct Report {
    pub options: Options,
    pub idle: Measure,
    pub create: Measure,
    pub update: Measure,
    pub mix: Measure,
}

/// Runs every workload.
pub async fn run(options: Options) -> Report {
    Report {
        options,
        idle: idle(options.idle_polls).await,
        create: creates(options.events).await,
        update: updates(options.events).await,
        mix: mix(options.events).await,
    }
}

pub(crate) async fn connected() -> Stack {
    let s = Stack::start(Backend::Embedded).await;
    s.connect(CONN, Environment::Production).await;
    s
}

pub(crate) fn reset(s: &Stack) {
    s.sf.reset_counters(PROD_ORG).expect("reset counters");
}

pub(crate) fn measure(s: &Stack, workload: &'static str, units: usize) -> Measure {
    let usage = s.sf.api_usage(PROD_ORG).expect("api usage");
    Measure {
        workload,
        units,
        calls: usage.used,
        per_endpoint: usage.counters,
    }
}

/// Calls per idle connection-minute.
pub async fn idle(polls: usize) -> Measure {
    let s = connected().await;
    s.poll(CONN).await;
    reset(&s);
    for _ in 0..polls {
        s.advance(chrono::Duration::minutes(1));
        s.poll(CONN).await;
    }
    measure(&s, "idle poll (per connection-minute)", polls)
}

pub(crate) fn create_event(s: &Stack, app_id: &str, i: usize) -> Value {
    app_event(
        "create",
        "contact",
        app_id,
        s.now(),
        json!({"first_name": "Bench", "last_name": format!("Person{i}"),
               "email": format!("{app_id}@bench.example"),
               "phone": format!("+1 555 {:04}", i % 10_000),
               "company_name": format!("Bench Co {i}")}),
    )
}

fn update_event(s: &Stack, app_id: &str, i: usize) -> Value {
    app_event(
        "update",
        "contact",
        app_id,
        s.now(),
        json!({"first_name": "Bench", "last_name": format!("Person{i}"),
               "email": format!("{app_id}@bench.example"),
               "phone": format!("+1 555 {:04}", i % 10_000),
               "company_name": format!("Bench Co {i}"),
               "title": format!("Title {i}")}),
    )
}

pub(crate) fn sale_event(s: &Stack, app_id: &str, i: usize) -> Value {
    let mut e = app_event(
        "sale",
        "contact",
        app_id,
        s.now(),
        json!({"first_name": "Sam", "last_name": format!("Buyer{i}"),
               "email": format!("{app_id}@sale.example"),
               "phone": format!("+1 556 {:04}", i % 10_000),
               "company_name": format!("Sale Co {i}"), "city": "Austin", "amount": 4000}),
    );
    e["sale_items"] = json!([
        {"name": "Compiler licence", "quantity": 2, "unit_price": 1000},
        {"name": "Widget Pro", "quantity": 1, "unit_price": 2000}
    ]);
    e
}

/// Ingests `events` and runs the push worker until the queue is empty, in FIFO-sized
/// batches. Panics unless every event ends reported as a success.
pub(crate) async fn push_all(s: &Stack, events: Vec<Value>) {
    let ids: Vec<String> = events
        .iter()
        .map(|e| e["event_id"].as_str().expect("event id").to_string())
        .collect();
    for chunk in events.chunks(INGEST_CHUNK) {
        s.send_events(CONN, chunk.to_vec()).await;
    }
    let mut batches = 0;
    loop {
        let received = s.receive_push(PUSH_BATCH).await;
        if received.is_empty() {
            break;
        }
        let outcome = push::push_batch(&s.app, inbound(&received)).await;
        assert!(
            outcome.retry.is_empty(),
            "bench events are never retried: {outcome:#?}"
        );
        s.ack_push(&received).await;
        batches += 1;
        assert!(batches <= events_bound(ids.len()), "the push queue drains");
    }
    for id in &ids {
        let r = s.report(CONN, id).await.expect("every event is reported");
        assert_eq!(r.status, ReportStatus::Success, "{r:#?}");
    }
}

fn events_bound(events: usize) -> usize {
    events + 10
}

/// Calls per `create` event (new contacts with email and phone).
pub async fn creates(events: usize) -> Measure {
    let s = connected().await;
    let batch: Vec<Value> = (0..events)
        .map(|i| create_event(&s, &format!("app-new-{i}"), i))
        .collect();
    reset(&s);
    push_all(&s, batch).await;
    measure(&s, "create events", events)
}

/// Calls per `update` event of a linked contact.
pub async fn updates(events: usize) -> Measure {
    let s = connected().await;
    let seed: Vec<Value> = (0..events)
        .map(|i| create_event(&s, &format!("app-up-{i}"), i))
        .collect();
    push_all(&s, seed).await;
    s.advance(chrono::Duration::minutes(1));
    let batch: Vec<Value> = (0..events)
        .map(|i| update_event(&s, &format!("app-up-{i}"), i))
        .collect();
    reset(&s);
    push_all(&s, batch).await;
    measure(&s, "update events (linked)", events)
}

/// The 70/25/5 mix: updates of linked contacts, creates, and 2-item sales, interleaved.
pub async fn mix(events: usize) -> Measure {
    let s = connected().await;
    let updates = events * 70 / 100;
    let sales = events * 5 / 100;
    let creates = events - updates - sales;
    let seed: Vec<Value> = (0..updates)
        .map(|i| create_event(&s, &format!("app-mix-{i}"), i))
        .collect();
    push_all(&s, seed).await;
    s.advance(chrono::Duration::minutes(1));
    let mut batch = Vec::with_capacity(events);
    let (mut u, mut c, mut k) = (0, 0, 0);
    for n in 0..events {
        // Spread the kinds evenly: every 20 events hold 14 updates, 5 creates, 1 sale.
        let slot = n % 20;
        if slot == 19 && k < sales {
            batch.push(sale_event(&s, &format!("app-sale-{k}"), 5000 + k));
            k += 1;
        } else if slot % 4 == 3 && c < creates {
            batch.push(create_event(
                &s,
                &format!("app-mixnew-{c}"),
                updates + c + 1,
            ));
            c += 1;
        } else if u < updates {
            batch.push(update_event(&s, &format!("app-mix-{u}"), u));
            u += 1;
        } else if c < creates {
            batch.push(create_event(
                &s,
                &format!("app-mixnew-{c}"),
                updates + c + 1,
            ));
            c += 1;
        } else {
            batch.push(sale_event(&s, &format!("app-sale-{k}"), 5000 + k));
            k += 1;
        }
    }
    assert_eq!((u, c, k), (updates, creates, sales), "the mix adds up");
    reset(&s);
    push_all(&s, batch).await;
    measure(&s, "mix 70/25/5 (2-item sales)", events)
}

/// The summary table and the per-endpoint breakdown, as Markdown.
pub fn table(report: &Report) -> String {
    let mut out = String::new();
    let o = report.options;
    let _ = writeln!(
        out,
        "events per push workload: {}; idle polls: {}\n",
        o.events, o.idle_polls
    );
    let _ = writeln!(
        out,
        "| workload | units | API calls | per unit | per 1,000 |"
    );
    let _ = writeln!(out, "|---|---:|---:|---:|---:|");
    let idle = &report.idle;
    let _ = writeln!(
        out,
        "| {} | {} polls | {} | {:.2} | — |",
        idle.workload,
        idle.units,
        idle.calls,
        idle.per_unit()
    );
    for m in [&report.create, &report.update, &report.mix] {
        let _ = writeln!(
            out,
            "| {} | {} events | {} | {:.3} | {:.0} |",
            m.workload,
            m.units,
            m.calls,
            m.per_unit(),
            m.per_1000()
        );
    }
    let _ = writeln!(
        out,
        "\nPer endpoint (oauth.* and identity are not metered):\n"
    );
    let all = [&report.idle, &report.create, &report.update, &report.mix];
    let mut endpoints: Vec<&String> = all.iter().flat_map(|m| m.per_endpoint.keys()).collect();
    endpoints.sort();
    endpoints.dedup();
    let _ = writeln!(out, "| endpoint | idle | create | update | mix |");
    let _ = writeln!(out, "|---|---:|---:|---:|---:|");
    for e in endpoints {
        let cells: Vec<String> = all
            .iter()
            .map(|m| m.per_endpoint.get(e).copied().unwrap_or(0).to_string())
            .collect();
        let _ = writeln!(out, "| {e} | {} |", cells.join(" | "));
    }
    out
}
