//! Runs the poll hot path in a loop for profilers (`perf`, `valgrind --tool=callgrind`):
//! `cargo run --release -p crmsync-core --example hotpath -- map|floor [iterations]`.

use std::hint::black_box;

use crmsync_core::config::SyncConfig;
use crmsync_core::inbound::decide_inbound;
use crmsync_core::record::RawRecord;
use serde_json::Value;

fn main() {
    let mut args = std::env::args().skip(1);
    let mode = args.next().unwrap_or_else(|| "map".into());
    let n: usize = args.next().and_then(|s| s.parse().ok()).unwrap_or(100_000);
    let bytes = include_bytes!("../benches/lead_record.json");
    let mut cfg = SyncConfig::standard();
    cfg.owners
        .app_users
        .insert("rep@example.com".into(), "user-7".into());
    let mut total = 0usize;
    if mode == "hash" {
        let v = serde_json::json!("Analytical Engines Ltd");
        let t = std::time::Instant::now();
        for _ in 0..n {
            total += crmsync_core::hash::field_hash(
                crmsync_core::transform::FieldKind::String,
                black_box(&v),
            )
            .len();
        }
        println!("hash: {:?} per call ({total})", t.elapsed() / n as u32);
        return;
    }
    for _ in 0..n {
        let out = if mode == "floor" {
            let v: Value = serde_json::from_slice(black_box(&bytes[..])).expect("json");
            serde_json::to_vec(&v).expect("serialisable")
        } else {
            let raw = RawRecord::parse_slice(black_box(&bytes[..])).expect("json");
            let d = decide_inbound(&cfg, "Lead", &raw, None, None).expect("decision");
            serde_json::to_vec(&d).expect("serialisable")
        };
        total += black_box(out).len();
    }
    println!("{mode}: {n} iterations, {total} bytes out");
}
