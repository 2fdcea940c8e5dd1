//! Backfill rows of the bench: an org with N Leads, connected, imported by the poll (the
//! first REST page fills the cap, then a Bulk API 2.0 query job takes the rest, see
//! `crmsync_service::backfill`), polled until every Lead is in the feed and the job's
//! checkpoint is gone. Calls are exact (the emulator's meter); the
//! records/s figure is wall-clock of the whole local stack (emulator, mapping, embedded
//! stores) on this machine, so it is printed, never asserted.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::Instant;

use crmsync_e2e::{Backend, PROD_ORG, Stack};
use crmsync_store::Environment;
use serde_json::{Map, Value, json};

/// The full run's sizes (issue 11: 100,000 and 1,000,000 records).
pub const FULL: &[usize] = &[100_000, 1_000_000];
/// CI's size (`--quick`, `tests/budget.rs`).
pub const QUICK: &[usize] = &[5_000];

const CONN: &str = "prod";
/// Seeded per emulator lock (seeding is not measured).
const SEED_CHUNK: usize = 50_000;
/// Polls before the bench gives up: one REST page, then the job (a few runs).
const MAX_RUNS: usize = 50;

/// One backfill measurement.
#[derive(Debug, Clone)]
pub struct Backfill {
    pub records: usize,
    /// Records that reached the change feed.
    pub applied: usize,
    /// Poll runs until the job's checkpoint was gone.
    pub runs: usize,
    pub calls: u64,
    pub per_endpoint: BTreeMap<String, u64>,
    pub seconds: f64,
}

impl Backfill {
    pub fn records_per_second(&self) -> f64 {
        self.applied as f64 / self.seconds.max(1e-9)
    }
}

fn lead(i: usize) -> Map<String, Value> {
    let v = json!({"FirstName": "Back", "LastName": format!("Fill{i}"),
        "Company": format!("Backfill Co {}", i % 5000),
        "Email": format!("backfill{i}@bulk.example"), "Phone": format!("+1 555 {i:07}")});
    v.as_object().cloned().unwrap_or_default()
}

/// Imports `records` Leads into a fresh stack and measures it.
pub async fn backfill(records: usize) -> Backfill {
    let s = Stack::start(Backend::Embedded).await;
    s.connect(CONN, Environment::Production).await;
    let mut seeded = 0;
    while seeded < records {
        let n = SEED_CHUNK.min(records - seeded);
        s.sf.insert_records(PROD_ORG, "Lead", (seeded..seeded + n).map(lead).collect())
            .expect("seed leads");
        seeded += n;
    }
    s.sf.reset_counters(PROD_ORG).expect("reset counters");
    let conn = s.conn(CONN);
    let started = Instant::now();
    let mut runs = 0;
    // Until every record reached the feed and no job or backlog mark is left.
    loop {
        s.poll(CONN).await;
        runs += 1;
        let pending = s
            .app
            .stores
            .checkpoints
            .get(&s.tenant, &conn, "bulk:Lead")
            .await
            .expect("checkpoint read")
            .is_some();
        if (!pending && lead_changes(&s).await >= records) || runs >= MAX_RUNS {
            break;
        }
    }
    let seconds = started.elapsed().as_secs_f64();
    let applied = lead_changes(&s).await;
    let usage = s.sf.api_usage(PROD_ORG).expect("api usage");
    Backfill {
        records,
        applied,
        runs,
        calls: usage.used,
        per_endpoint: usage.counters,
        seconds,
    }
}

/// Lead entries in the tenant's change feed.
async fn lead_changes(s: &Stack) -> usize {
    let mut after = 0;
    let mut n = 0;
    loop {
        let batch = s
            .app
            .stores
            .changes
            .read(&s.tenant, after, 10_000)
            .await
            .expect("change feed read");
        n += batch.entries.iter().filter(|c| c.object == "Lead").count();
        after = batch.next_after;
        if !batch.has_more {
            return n;
        }
    }
}

/// The backfill rows as a Markdown table.
pub fn table(rows: &[Backfill]) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "| backfill | records applied | poll runs | API calls | seconds | records/s |"
    );
    let _ = writeln!(out, "|---|---:|---:|---:|---:|---:|");
    for r in rows {
        let _ = writeln!(
            out,
            "| {} Leads | {} | {} | {} | {:.1} | {:.0} |",
            r.records,
            r.applied,
            r.runs,
            r.calls,
            r.seconds,
            r.records_per_second()
        );
    }
    for r in rows {
        let _ = writeln!(
            out,
            "\n{} Leads, calls per endpoint: {:?}",
            r.records, r.per_endpoint
        );
    }
    out
}
