//! Import rows of the bench: N app contacts handed to crmsync at once
//! (`crmsync_service::import`, the use case behind `POST /v1/connections/{c}/imports`)
//! on a fresh stack, carried to the end (the CLI's wait loop). Calls are exact (the
//! emulator's meter); records/s is wall-clock of the whole local stack (mapping, embedded
//! stores, the emulator's writes) on this machine, so it is printed, never asserted.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::Instant;

use crmsync_e2e::{Backend, PROD_ORG, Stack};
use crmsync_service::import::{self, ImportRequest};
use crmsync_store::Environment;
use serde_json::json;

/// The full run's size.
pub const FULL: &[usize] = &[100_000];
/// CI's size (`--quick`, `tests/budget.rs`).
pub const QUICK: &[usize] = &[1_000];

const CONN: &str = "prod";

/// One import measurement.
#[derive(Debug, Clone)]
pub struct Import {
    pub records: usize,
    pub created: u64,
    pub failed: u64,
    pub calls: u64,
    pub per_endpoint: BTreeMap<String, u64>,
    pub seconds: f64,
}

/// The request: `records` new contacts.
pub fn request(records: usize) -> ImportRequest {
    let records: Vec<_> = (0..records)
        .map(|i| {
            json!({"app_id": format!("bench-{i}"),
                   "fields": {"first_name": "Bulk", "last_name": format!("Import{i}"),
                              "email": format!("import{i}@bench.example"),
                              "company_name": format!("Import Co {}", i % 5000)}})
        })
        .collect();
    serde_json::from_value(
        json!({"import_id": "bench", "app_object": "contact", "records": records}),
    )
    .expect("import request")
}

/// Imports `records` contacts into a fresh stack and measures it.
pub async fn import(records: usize) -> Import {
    let s = Stack::start(Backend::Embedded).await;
    s.connect(CONN, Environment::Production).await;
    let conn = s.conn(CONN);
    let req = request(records);
    s.sf.reset_counters(PROD_ORG).expect("reset counters");
    let started = Instant::now();
    let mut st = import::start(&s.app, &s.tenant, &conn, req)
        .await
        .expect("import");
    while !st.phase.is_final() {
        st = import::advance(&s.app, &s.tenant, &conn, &st.import_id)
            .await
            .expect("import continues");
    }
    let seconds = started.elapsed().as_secs_f64();
    let usage = s.sf.api_usage(PROD_ORG).expect("api usage");
    Import {
        records,
        created: st.created,
        failed: st.failed,
        calls: usage.used,
        per_endpoint: usage.counters,
        seconds,
    }
}

/// The import rows as a Markdown table.
pub fn table(rows: &[Import]) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "| import | created | failed | API calls | seconds | records/s |"
    );
    let _ = writeln!(out, "|---|---:|---:|---:|---:|---:|");
    for r in rows {
        let _ = writeln!(
            out,
            "| {} contacts | {} | {} | {} | {:.1} | {:.0} |",
            r.records,
            r.created,
            r.failed,
            r.calls,
            r.seconds,
            r.records as f64 / r.seconds.max(1e-9)
        );
    }
    for r in rows {
        let _ = writeln!(
            out,
            "\n{} contacts imported, calls per endpoint: {:?}",
            r.records, r.per_endpoint
        );
    }
    out
}
