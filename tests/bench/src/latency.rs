//! Push latency (issue 11): event accepted by ingest → record committed in the emulator, with
//! 0 ms and 100 ms added to every Salesforce call (the emulator's latency fault). Events
//! go one at a time (creates, every tenth a 2-item sale), and the push worker runs at once
//! on what ingest enqueued, so the figure is crmsync's own path (no worker idle sleep, no
//! queue wait). Unlike the call counts, these figures are timed: they are printed by the
//! binary only, never asserted in CI.

use std::fmt::Write as _;
use std::time::{Duration, Instant};

use crmsync_e2e::{PROD_ORG, inbound};
use crmsync_service::push;
use crmsync_store::ReportStatus;
use sf_emulator::FaultSpec;

use crate::{CONN, PUSH_BATCH, connected, create_event, sale_event};

/// One latency row.
#[derive(Debug, Clone)]
pub struct Latency {
    pub injected_ms: u64,
    pub samples: usize,
    pub p50: Duration,
    pub p99: Duration,
}

/// Both rows: 0 ms and 100 ms injected, `samples` events each.
pub async fn run(samples: usize) -> Vec<Latency> {
    vec![measure(0, samples).await, measure(100, samples).await]
}

async fn measure(injected_ms: u64, samples: usize) -> Latency {
    let s = connected().await;
    s.sf.set_faults(PROD_ORG, FaultSpec::none().latency(injected_ms))
        .expect("latency fault");
    let mut took = Vec::with_capacity(samples);
    for i in 0..samples {
        let app_id = format!("app-lat-{i}");
        let event = if i % 10 == 9 {
            sale_event(&s, &app_id, 7000 + i)
        } else {
            create_event(&s, &app_id, 9000 + i)
        };
        let id = event["event_id"].as_str().expect("event id").to_string();
        let accepted = Instant::now();
        s.send_events(CONN, vec![event]).await;
        loop {
            let received = s.receive_push(PUSH_BATCH).await;
            if received.is_empty() {
                break;
            }
            push::push_batch(&s.app, inbound(&received)).await;
            s.ack_push(&received).await;
        }
        took.push(accepted.elapsed());
        let r = s.report(CONN, &id).await.expect("reported");
        assert_eq!(r.status, ReportStatus::Success, "{r:#?}");
    }
    took.sort();
    Latency {
        injected_ms,
        samples,
        p50: percentile(&took, 50),
        p99: percentile(&took, 99),
    }
}

/// The nearest-rank percentile of sorted samples.
fn percentile(sorted: &[Duration], p: usize) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = (p * sorted.len()).div_ceil(100).max(1);
    sorted[rank - 1]
}

/// The latency rows as Markdown.
pub fn table(rows: &[Latency]) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "| push latency (accepted → committed) | events | p50 | p99 |"
    );
    let _ = writeln!(out, "|---|---:|---:|---:|");
    for r in rows {
        let _ = writeln!(
            out,
            "| {} ms injected per Salesforce call | {} | {:.2} s | {:.2} s |",
            r.injected_ms,
            r.samples,
            r.p50.as_secs_f64(),
            r.p99.as_secs_f64()
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_percentiles() {
        let ms: Vec<Duration> = (1..=100).map(Duration::from_millis).collect();
        assert_eq!(percentile(&ms, 50), Duration::from_millis(50));
        assert_eq!(percentile(&ms, 99), Duration::from_millis(99));
        assert_eq!(percentile(&ms[..1], 99), Duration::from_millis(1));
        assert_eq!(percentile(&[], 50), Duration::ZERO);
    }
}
