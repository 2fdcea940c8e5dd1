//! The bulk backfill: an initial import whose first REST page fills the cap, and whose rest
//! counts above the threshold, goes through one Bulk API 2.0 query job, resumes across
//! poll runs from its checkpoint (a run budget of zero stops after the first chunk of
//! rows), applies each record once through the poll's mapping, linking and change feed,
//! moves the cursor to the highest record, and hands later polls back to REST.

use std::collections::BTreeSet;
use std::sync::Arc;

use crmsync_e2e::*;
use crmsync_service::{App, AppCredentials, Settings, poll};
use crmsync_store::{CursorPosition, Environment};
use serde_json::{Map, Value, json};

e2e!(an_initial_import_runs_as_a_bulk_job_across_runs);

const LEADS: usize = 600;

fn lead(i: usize) -> Map<String, Value> {
    let v = json!({"FirstName": "Bulk", "LastName": format!("Lead{i}"), "Company": format!("Bulk Co {i}"),
           "Email": format!("bulk.lead{i}@bulk.example"), "Phone": format!("+1 555 03{i:04}")});
    v.as_object().cloned().unwrap_or_default()
}

async fn an_initial_import_runs_as_a_bulk_job_across_runs(backend: Backend) {
    let s = Stack::start(backend).await;
    s.connect("prod", Environment::Production).await;
    let leads =
        s.sf.insert_records(PROD_ORG, "Lead", (0..LEADS).map(lead).collect())
            .expect("seed leads");
    // Small thresholds so a few hundred records exercise the whole path: above 100
    // records is bulk; each run stops at its first check of the clock.
    let settings = Settings {
        poll_cap: 50,
        bulk_threshold: 100,
        bulk_run_budget: std::time::Duration::ZERO,
        bulk_set_records: 1000,
        ..s.app.settings.clone()
    };
    let credentials = AppCredentials {
        client_id: sf_emulator::demo::CLIENT_ID.into(),
        client_secret: Some(sf_emulator::demo::CLIENT_SECRET.into()),
    };
    let app = Arc::new(App::new(settings, s.app.stores.clone(), credentials).expect("app"));
    let conn = s.conn("prod");
    s.sf.reset_counters(PROD_ORG).expect("reset");
    let run_poll = || async {
        poll::poll_connection(&app, &s.tenant, &conn)
            .await
            .expect("poll")
    };
    let checkpoint = || async {
        app.stores
            .checkpoints
            .get(&s.tenant, &conn, "bulk:Lead")
            .await
            .expect("checkpoint read")
    };

    let lead_changes = |all: Vec<crmsync_store::ChangeEntry>| {
        all.into_iter()
            .filter(|c| c.object == "Lead")
            .collect::<Vec<_>>()
    };

    // Run 1: REST, the cap (50) filled: a backlog mark, no job, no count yet.
    run_poll().await;
    assert_eq!(lead_changes(s.changes_after(0).await).len(), 50);
    let cp = checkpoint().await.expect("backlog marked");
    assert_eq!(cp.value["kind"], "backlog", "{cp:?}");
    assert_eq!(s.sf.api_count(PROD_ORG, "bulk.query.create").unwrap(), 0);

    // Run 2: count (550 > 100), create the job, one status read (InProgress): no rows.
    let run = run_poll().await;
    let started = run
        .messages
        .iter()
        .any(|m| m.contains("550 records to pull"));
    assert!(started, "{run:#?}");
    let cp = checkpoint().await.expect("job checkpoint kept");
    assert_eq!(cp.value["kind"], "job", "{cp:?}");
    assert_eq!(lead_changes(s.changes_after(0).await).len(), 50);

    // Run 3: JobComplete, the first set, 500 rows (one chunk), then the budget is spent.
    run_poll().await;
    let cp = checkpoint().await.expect("still running");
    assert_eq!(cp.value["rows_done"], 500, "{cp:?}");
    assert_eq!(lead_changes(s.changes_after(0).await).len(), 550);

    // Run 4: the same set read again from its locator, the rest applied, the job done.
    let run = run_poll().await;
    let done = run
        .messages
        .iter()
        .any(|m| m.contains("done, 550 records applied"));
    assert!(done, "{run:#?}");
    assert!(checkpoint().await.is_none(), "checkpoint cleared");
    let changes = lead_changes(s.changes_after(0).await);
    let ids: BTreeSet<&str> = changes.iter().map(|c| c.sf_id.as_str()).collect();
    assert_eq!(changes.len(), LEADS, "each record once");
    assert_eq!(
        ids,
        leads.iter().map(String::as_str).collect::<BTreeSet<_>>()
    );
    for c in &changes {
        assert_eq!(str_field(&c.payload, "action"), Some("create"));
        assert_eq!(str_field(&c.payload["fields"], "lead_type"), Some("lead"));
    }
    let link = app
        .stores
        .links
        .get_by_sf_id(&s.tenant, &conn, &leads[123])
        .await
        .expect("link read")
        .expect("linked");
    assert_eq!(link.sf_object, "Lead");
    // The cursor sits on the highest (SystemModstamp, Id) of the import.
    let last = leads.iter().max().expect("ids").clone();
    let cursor = app
        .stores
        .cursors
        .get(&s.tenant, &conn, "Lead")
        .await
        .expect("cursor");
    assert_eq!(
        cursor.position.map(|p: CursorPosition| p.last_id),
        Some(last)
    );
    let count = |e: &str| s.sf.api_count(PROD_ORG, e).expect("count");
    assert_eq!(count("bulk.query.create"), 1);
    assert_eq!(count("bulk.query.info"), 2);
    assert_eq!(count("bulk.query.results"), 2, "the first set read twice");

    // Later polls are REST again: an edit arrives once, no new job.
    s.advance(chrono::Duration::minutes(1));
    s.update(
        PROD_ORG,
        "Lead",
        &leads[7],
        json!({"Company": "Renamed Co"}),
    );
    let before = s.last_seq().await;
    run_poll().await;
    let after: Vec<_> = lead_changes(s.changes_after(before).await);
    assert_eq!(after.len(), 1, "{after:#?}");
    assert_eq!(after[0].sf_id, leads[7]);
    assert_eq!(count("bulk.query.create"), 1);
}
