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
    if mode == "compare" {
        // Interleaved batches, best batch per side: robust on a busy machine.
        let floor = || {
            let v: Value = serde_json::from_slice(black_box(&bytes[..])).expect("json");
            black_box(serde_json::to_vec(&v).expect("serialisable"));
        };
        let map = || {
            let raw = RawRecord::parse_slice(black_box(&bytes[..])).expect("json");
            let d = decide_inbound(&cfg, "Lead", &raw, None, None).expect("decision");
            black_box(serde_json::to_vec(&d).expect("serialisable"));
        };
        let (mut best_floor, mut best_map) = (f64::MAX, f64::MAX);
        for _ in 0..n.max(1) {
            let t = std::time::Instant::now();
            for _ in 0..200 {
                floor();
            }
            best_floor = best_floor.min(t.elapsed().as_nanos() as f64 / 200.0);
            let t = std::time::Instant::now();
            for _ in 0..200 {
                map();
            }
            best_map = best_map.min(t.elapsed().as_nanos() as f64 / 200.0);
        }
        println!(
            "floor {:.0} ns ({:.0} rec/s), map {:.0} ns ({:.0} rec/s), ratio {:.2}",
            best_floor,
            1e9 / best_floor,
            best_map,
            1e9 / best_map,
            best_floor / best_map
        );
        return;
    }
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
