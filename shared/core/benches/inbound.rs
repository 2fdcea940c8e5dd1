//! Poll hot path: parse + inbound-map + serialize one ~1 KB, 30-field Salesforce record,
//! against the floor of a plain `serde_json::Value` parse + serialize of the same bytes.

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use crmsync_core::config::SyncConfig;
use crmsync_core::inbound::decide_inbound;
use crmsync_core::record::RawRecord;
use serde_json::Value;

/// A Lead as a SOQL query returns it: 30 fields, about 1 KB.
const RECORD: &[u8] = include_bytes!("lead_record.json");

fn bench(c: &mut Criterion) {
    let bytes = RECORD.to_vec();
    let mut cfg = SyncConfig::standard();
    cfg.owners
        .app_users
        .insert("rep@example.com".into(), "user-7".into());
    // Sanity: the mapped path produces a real decision.
    let raw = RawRecord::parse_slice(&bytes).unwrap();
    let d = decide_inbound(&cfg, "Lead", &raw, None, None).unwrap();
    assert!(
        matches!(d.action, crmsync_core::InboundAction::Create { .. }),
        "{d:?}"
    );
    eprintln!(
        "record: {} bytes, 30 fields; decision: {} bytes",
        bytes.len(),
        serde_json::to_vec(&d).unwrap().len()
    );

    let mut g = c.benchmark_group("inbound_record");
    g.throughput(Throughput::Elements(1));
    g.bench_function("floor_value_parse_serialize", |b| {
        b.iter(|| {
            let v: Value = serde_json::from_slice(black_box(&bytes)).unwrap();
            black_box(serde_json::to_vec(&v).unwrap())
        })
    });
    g.bench_function("parse_map_serialize", |b| {
        b.iter(|| {
            let raw = RawRecord::parse_slice(black_box(&bytes)).unwrap();
            let d = decide_inbound(&cfg, "Lead", &raw, None, None).unwrap();
            black_box(serde_json::to_vec(&d).unwrap())
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
