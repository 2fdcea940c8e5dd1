//! The demo's closing summary, as text tables or JSON.

use std::fmt::Write as _;

use crate::demo::DemoSummary;
use crate::output::{short_list, stats_table};

/// Section headers, in order (the binary's test checks them).
pub const SECTIONS: [&str; 9] = [
    "Test sync",
    "Full sync",
    "Push",
    "Sweep",
    "Schema drift",
    "Errors",
    "Unmapped owners",
    "Salesforce API calls",
    "Time",
];

pub fn render_demo(s: &DemoSummary, json: bool) -> String {
    if json {
        return serde_json::to_string_pretty(s).unwrap_or_default();
    }
    let mut out = String::new();
    let _ = writeln!(
        out,
        "\n== crmsync demo: tenant {}, connection {} → \"{}\" ({}) ==",
        s.tenant, s.connection, s.connected.org_name, s.connection_status
    );
    let _ = writeln!(
        out,
        "\n{} ({:?}, last 24 h, at most 25 per object)",
        SECTIONS[0], s.test_sync.status
    );
    out.push_str(&stats_table(&s.test_sync.objects));
    skip_lines(&mut out, &s.test_sync.skip_reasons);
    let _ = writeln!(
        out,
        "sync switch: {} (a new connection starts off; turned on after the test sync)",
        if s.sync_enabled { "on" } else { "off" }
    );
    let _ = writeln!(
        out,
        "\n{} ({} poll run(s), {:?})",
        SECTIONS[1], s.full_sync.runs, s.full_sync.total.status
    );
    out.push_str(&stats_table(&s.full_sync.total.objects));
    skip_lines(&mut out, &s.full_sync.total.skip_reasons);
    let _ = writeln!(
        out,
        "\n{} ({} events sent, {} accepted by ingest, {} batch(es); records = events per object)",
        SECTIONS[2], s.events_sent, s.events_accepted, s.push.batches
    );
    out.push_str(&stats_table(&s.push.objects));
    if s.push.parked + s.push.retried + s.push.duplicates > 0 {
        let _ = writeln!(
            out,
            "  parked {}, left for retry {}, duplicates {}",
            s.push.parked, s.push.retried, s.push.duplicates
        );
    }
    if !s.salesforce_counts.is_empty() {
        let changes: Vec<String> = s
            .salesforce_counts
            .iter()
            .filter(|(_, (b, a))| b != a)
            .map(|(o, (b, a))| format!("{o} {b} → {a}"))
            .collect();
        if !changes.is_empty() {
            let _ = writeln!(out, "  in Salesforce: {}", changes.join(", "));
        }
    }
    let _ = writeln!(out, "\n{} ({:?})", SECTIONS[3], s.sweep.status);
    if let Some(d) = &s.deleted {
        let _ = writeln!(
            out,
            "  deleted in Salesforce before the sweep: {} {}",
            d.object, d.id
        );
    }
    out.push_str(&stats_table(&s.sweep.objects));

    let _ = writeln!(out, "\n{}", SECTIONS[4]);
    match &s.schema_drift {
        Some(d) => {
            let _ = writeln!(out, "  {}; the next poll {}", d.change, d.poll_status);
            for m in &d.paused {
                let _ = writeln!(out, "  {m}");
            }
        }
        None => out.push_str("  skipped (a real org's schema is left alone)\n"),
    }

    let _ = writeln!(out, "\n{}", SECTIONS[5]);
    let mut any = false;
    for e in &s.push.errors {
        any = true;
        let _ = writeln!(
            out,
            "  push {} ({}): {}{}",
            e.event_id,
            e.object,
            e.code
                .as_deref()
                .map(|c| format!("[{c}] "))
                .unwrap_or_default(),
            e.reason
        );
    }
    for (phase, run) in [
        ("test sync", &s.test_sync),
        ("full sync", &s.full_sync.total),
        ("sweep", &s.sweep),
    ] {
        for m in &run.messages {
            any = true;
            let _ = writeln!(out, "  {phase}: {m}");
        }
    }
    if !any {
        out.push_str("  none\n");
    }

    let mut owners = s.full_sync.total.unmapped_owners.clone();
    for o in &s.test_sync.unmapped_owners {
        if !owners.iter().any(|x| x.eq_ignore_ascii_case(o)) {
            owners.push(o.clone());
        }
    }
    let _ = writeln!(out, "\n{} ({})", SECTIONS[6], owners.len());
    if owners.is_empty() {
        out.push_str("  none\n");
    } else {
        let _ = writeln!(out, "  {}", short_list(&owners, 4));
        out.push_str(
            "  (no app user has these emails: their records got the default owner; map them in the sync config)\n",
        );
    }

    let _ = writeln!(out, "\n{}", SECTIONS[7]);
    let _ = writeln!(
        out,
        "  crmsync counted {}: test sync {}, full sync {}, push {}, sweep {}, schema drift poll {}",
        s.crmsync_api_calls(),
        s.test_sync.api_calls,
        s.full_sync.total.api_calls,
        s.push.api_calls,
        s.sweep.api_calls,
        s.schema_drift.as_ref().map_or(0, |d| d.api_calls)
    );
    if let Some(api) = &s.emulator_api {
        let mut by: Vec<(&String, &u64)> = api.counters.iter().collect();
        by.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
        let top: Vec<String> = by.iter().map(|(k, v)| format!("{k} {v}")).collect();
        let _ = writeln!(
            out,
            "  the org counted {} of its {} daily limit (including OAuth and connect-time describes)",
            api.used, api.max
        );
        let _ = writeln!(out, "  by endpoint: {}", short_list(&top, 8));
    }
    let _ = writeln!(
        out,
        "\n{}\n  {:.1} s",
        SECTIONS[8],
        s.elapsed_ms as f64 / 1000.0
    );
    out
}

fn skip_lines(out: &mut String, reasons: &std::collections::BTreeMap<String, u64>) {
    for (reason, n) in reasons {
        let _ = writeln!(out, "  skipped {n}: {reason}");
    }
}
