//! Issue 13 item 9 (seed 002: "The integration regularly compares data between Salesforce
//! and Atlas ... it automatically updates the appropriate system"): the periodic drift
//! comparison, both ways.
//!
//! - Salesforce side (`crmsync_service::drift_scan`, in the poll): a value that moved
//!   without a `SystemModstamp` the poll could see (the emulator's admin `silent_edit`) is
//!   found by the rolling scan and fed once, as a `drift` change-feed entry; unchanged
//!   records, `app_only`, `dont_sync` and paused mappings are not fed; the scan resumes
//!   from its checkpoint and wraps around.
//! - App side (`POST …/drift-check`): the app's values that differ from what crmsync last
//!   carried, in outbound fields only, are queued as one update event and reach Salesforce.

use axum::http::{Method, StatusCode};
use chrono::Duration;
use crmsync_core::config::SyncRule;
use crmsync_e2e::*;
use crmsync_service::drift_scan::{DRIFT_PAGE, checkpoint_key};
use crmsync_service::http;
use crmsync_store::{ChangeEntry, ChangeKind, Environment};
use serde_json::{Map, Value, json};
use sf_emulator::schema::FieldType;

e2e!(
    a_silent_salesforce_edit_is_fed_once_and_nothing_else_is,
    the_inbound_toggles_hold_a_drifted_value_until_they_allow_it,
    the_scan_resumes_from_its_checkpoint_and_wraps_around,
    the_app_side_comparison_queues_exactly_the_differing_outbound_fields,
);

const EVERY: i64 = 60;

/// Leads only, compared every hour; `Title` app-only, `City` not synced.
async fn leads_only(s: &Stack) {
    s.connect("prod", Environment::Production).await;
    s.edit_config("prod", |c| {
        c.drift_check_interval_minutes = Some(EVERY as u32);
        for (name, o) in c.objects.iter_mut() {
            o.enabled = name == "Lead";
        }
        for m in &mut c.objects.get_mut("Lead").unwrap().fields {
            match m.salesforce_field.as_str() {
                "Title" => m.rule = SyncRule::AppOnly,
                "City" => m.rule = SyncRule::DontSync,
                _ => {}
            }
        }
    })
    .await;
}

fn values(v: Value) -> Map<String, Value> {
    v.as_object().cloned().expect("an object")
}

fn lead(s: &Stack, name: &str, n: u32) -> String {
    s.insert(
        PROD_ORG,
        "Lead",
        json!({"FirstName": "Drift", "LastName": name, "Company": format!("{name} Co"),
               "Phone": format!("+1 555 07{:02}", n % 100), "Title": "CEO", "City": "Paris",
               "Industry": "Energy"}),
    )
}

/// One due pass of the scan: how many `drift` entries each of `ids` got, and how many
/// records the pass compared.
async fn pass(s: &Stack, ids: [&str; 2]) -> ((usize, usize), u64) {
    s.advance(Duration::minutes(EVERY));
    let seq = s.last_seq().await;
    let run = s.poll("prod").await;
    let got = s.changes_after(seq).await;
    let fed = |id: &str| of_kind(&got, id, ChangeKind::Drift).len();
    let compared = run.drift.as_ref().map_or(0, |d| d.compared);
    ((fed(ids[0]), fed(ids[1])), compared)
}

/// A newer record moves the poll's cursor past the others and its five-minute overlap
/// window (the poll re-reads records stamped up to five minutes behind its cursor), so
/// only the drift scan can see a later silent edit.
async fn past_the_overlap(s: &Stack) {
    s.advance(Duration::minutes(6));
    lead(s, "Later", 99);
    let run = s.poll("prod").await;
    assert_eq!(run.drift, None, "the scan is not due yet: {run:#?}");
}

fn of_kind<'a>(entries: &'a [ChangeEntry], sf_id: &str, kind: ChangeKind) -> Vec<&'a ChangeEntry> {
    find_changes(entries, sf_id)
        .into_iter()
        .filter(|e| e.kind == kind)
        .collect()
}

async fn a_silent_salesforce_edit_is_fed_once_and_nothing_else_is(backend: Backend) {
    let s = Stack::start(backend).await;
    leads_only(&s).await;
    let drifted = lead(&s, "Moved", 1);
    let unchanged = lead(&s, "Still", 2);
    let app_only = lead(&s, "Kept", 3);
    let run = s.poll("prod").await;
    assert_eq!(
        run.drift, None,
        "the first pass waits one interval: {run:#?}"
    );
    past_the_overlap(&s).await;

    // An admin changes Industry's type: that mapping pauses (schema drift).
    s.sf.alter_field(PROD_ORG, "Lead", "Industry", |f| {
        f.ftype = FieldType::Double
    })
    .unwrap();
    let conn = s.connection("prod").await;
    s.app
        .salesforce
        .client(&conn)
        .unwrap()
        .invalidate_describe("Lead");
    // Values move where the poll cannot see them.
    let stamp = s.record(PROD_ORG, "Lead", &drifted)["SystemModstamp"].clone();
    s.sf.silent_edit(
        PROD_ORG,
        "Lead",
        &drifted,
        values(json!({"LastName": "Moved Again", "Title": "CFO", "City": "Rome", "Industry": 3.0})),
    )
    .unwrap();
    s.sf.silent_edit(
        PROD_ORG,
        "Lead",
        &app_only,
        values(json!({"Title": "Intern", "City": "Oslo"})),
    )
    .unwrap();
    assert_eq!(
        s.record(PROD_ORG, "Lead", &drifted)["SystemModstamp"],
        stamp
    );

    // The minute poll does not see them, and the scan is not due yet.
    s.advance(Duration::minutes(1));
    let seq = s.last_seq().await;
    let run = s.poll("prod").await;
    let got = s.changes_after(seq).await;
    assert!(find_changes(&got, &drifted).is_empty(), "{got:#?} {run:#?}");
    assert_eq!(run.drift, None, "not due: {run:#?}");

    // Due: the scan finds the one drifted record and feeds its inbound field, once.
    s.advance(Duration::minutes(EVERY));
    let seq = s.last_seq().await;
    let run = s.poll("prod").await;
    let got = s.changes_after(seq).await;
    let fed = of_kind(&got, &drifted, ChangeKind::Drift);
    assert_eq!(fed.len(), 1, "{got:#?} {run:#?}");
    let fields = fed[0].payload["fields"].as_object().unwrap();
    assert_eq!(
        fields.get("last_name"),
        Some(&json!("Moved Again")),
        "{fed:#?}"
    );
    for not_fed in ["title", "city", "industry"] {
        assert!(!fields.contains_key(not_fed), "{not_fed} fed: {fed:#?}");
    }
    assert!(find_changes(&got, &unchanged).is_empty(), "{got:#?}");
    assert!(
        of_kind(&got, &app_only, ChangeKind::Drift).is_empty()
            && of_kind(&got, &app_only, ChangeKind::Upsert).is_empty(),
        "{got:#?}"
    );
    let stats = run.drift.clone().expect("compared");
    assert!(stats.compared >= 3, "{run:#?}");
    assert_eq!(
        (stats.salesforce_drifted, stats.salesforce_fixed),
        (1, 1),
        "{run:#?}"
    );

    // The link now holds the fed value: the next pass feeds nothing.
    s.advance(Duration::minutes(EVERY));
    let seq = s.last_seq().await;
    let run = s.poll("prod").await;
    let got = s.changes_after(seq).await;
    assert!(find_changes(&got, &drifted).is_empty(), "{got:#?}");
    assert_eq!(run.drift.map(|d| d.salesforce_fixed), Some(0));
}

async fn the_inbound_toggles_hold_a_drifted_value_until_they_allow_it(backend: Backend) {
    let s = Stack::start(backend).await;
    leads_only(&s).await;
    let id = lead(&s, "Toggled", 5);
    s.poll("prod").await;
    past_the_overlap(&s).await;
    // Inbound updates are off while Salesforce's value moves unseen.
    s.edit_config("prod", |c| {
        c.objects.get_mut("Lead").unwrap().inbound.update = false
    })
    .await;
    s.sf.silent_edit(
        PROD_ORG,
        "Lead",
        &id,
        values(json!({"LastName": "Toggled Later"})),
    )
    .unwrap();
    s.advance(Duration::minutes(EVERY));
    let seq = s.last_seq().await;
    let run = s.poll("prod").await;
    let got = s.changes_after(seq).await;
    assert!(find_changes(&got, &id).is_empty(), "{got:#?}");
    let stats = run.drift.clone().expect("compared");
    assert_eq!(
        (stats.salesforce_drifted, stats.salesforce_fixed),
        (1, 0),
        "{run:#?}"
    );
    assert!(
        run.skip_reasons
            .keys()
            .any(|r| r.contains("updating app records from Salesforce is off")),
        "{run:#?}"
    );

    // Turned back on, the next pass brings the value the app missed.
    s.edit_config("prod", |c| {
        c.objects.get_mut("Lead").unwrap().inbound.update = true
    })
    .await;
    s.advance(Duration::minutes(EVERY));
    let seq = s.last_seq().await;
    s.poll("prod").await;
    let got = s.changes_after(seq).await;
    let fed = of_kind(&got, &id, ChangeKind::Drift);
    assert_eq!(fed.len(), 1, "{got:#?}");
    assert_eq!(fed[0].payload["fields"]["last_name"], "Toggled Later");
}

async fn the_scan_resumes_from_its_checkpoint_and_wraps_around(backend: Backend) {
    let s = Stack::start(backend).await;
    leads_only(&s).await;
    // Two pages of Leads; without a phone (a required app field) they stay unlinked, so
    // only the two given one below are compared (and the store work stays small).
    for n in 0..250 {
        s.insert(
            PROD_ORG,
            "Lead",
            json!({"LastName": format!("Row{n:03}"), "Company": "Rows Co"}),
        );
    }
    s.poll("prod").await;
    let ids: Vec<String> = s
        .soql(PROD_ORG, "SELECT Id FROM Lead ORDER BY Id")
        .await
        .iter()
        .map(|r| r["Id"].as_str().unwrap().to_string())
        .collect();
    let page = DRIFT_PAGE as usize;
    assert!(
        ids.len() > page && ids.len() < 2 * page,
        "two pages: {}",
        ids.len()
    );
    let (early, late) = (ids[10].clone(), ids[ids.len() - 1].clone());
    for (n, id) in [&early, &late].into_iter().enumerate() {
        s.update(
            PROD_ORG,
            "Lead",
            id,
            json!({"Phone": format!("+1 555 078{n}")}),
        );
    }
    s.advance(Duration::minutes(1));
    let run = s.poll("prod").await;
    assert_eq!(run.objects["Lead"].created, 2, "{run:#?}");
    past_the_overlap(&s).await;
    let checkpoint = || async {
        s.app
            .stores
            .cursors
            .get(&s.tenant, &s.conn("prod"), &checkpoint_key("Lead"))
            .await
            .unwrap()
            .recalc
            .expect("a checkpoint")
    };
    let shift = |id: &str, name: &str| {
        s.sf.silent_edit(PROD_ORG, "Lead", id, values(json!({"LastName": name})))
            .unwrap()
    };
    shift(&early, "Shifted");
    shift(&late, "Shifted");
    // The first pass reads the first page only.
    let (fed, compared) = pass(&s, [&early, &late]).await;
    assert_eq!(fed, (1, 0));
    assert_eq!(compared, 1, "the linked record of the first page");
    assert_eq!(
        checkpoint().await.after.as_deref(),
        Some(ids[page - 1].as_str())
    );

    // The next resumes after the checkpoint: the second page, short, ends the pass.
    let (fed, compared) = pass(&s, [&early, &late]).await;
    assert_eq!(fed, (0, 1));
    assert_eq!(
        compared, 2,
        "the second page's linked records, the later one too"
    );
    assert_eq!(
        checkpoint().await.after,
        None,
        "a short last page ends the pass"
    );

    // `config/status` shows where the scan stands.
    let api = Api::new(http::report_router(s.app.clone()));
    let (status, body) = api
        .get("/v1/connections/prod/config/status", &s.credentials.api_key)
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["drift_check"]["interval_minutes"], EVERY, "{body}");
    assert_eq!(
        body["drift_check"]["objects"],
        json!([{"object": "Lead", "last_page_at": s.now(), "resume_after": null}]),
        "{body}"
    );

    // Then it wraps around to the first page.
    shift(&early, "Shifted Again");
    shift(&late, "Shifted Again");
    let (fed, _) = pass(&s, [&early, &late]).await;
    assert_eq!(fed, (1, 0));
    assert_eq!(
        checkpoint().await.after.as_deref(),
        Some(ids[page - 1].as_str())
    );
}

async fn the_app_side_comparison_queues_exactly_the_differing_outbound_fields(backend: Backend) {
    let s = Stack::start(backend).await;
    s.connect("prod", Environment::Production).await;
    s.edit_config("prod", |c| c.drift_check_interval_minutes = Some(0))
        .await;
    s.poll("prod").await;
    let create = app_event(
        "create",
        "contact",
        "app-d",
        s.now(),
        json!({"first_name": "Dana", "last_name": "Drift", "email": "dana@drift.example",
               "phone": "+1 555 0790", "company_name": "Drift Co", "title": "Start",
               "city": "Oslo"}),
    );
    s.send_events("prod", vec![create]).await;
    let drained = s.drain_push().await;
    let sf_id = drained
        .outcomes
        .first()
        .and_then(|o| o.sf_id.clone())
        .unwrap_or_else(|| panic!("pushed: {drained:#?}"));
    s.advance(Duration::minutes(1));
    s.poll("prod").await;
    let object = s
        .app
        .stores
        .links
        .get_by_sf_id(&s.tenant, &s.conn("prod"), &sf_id)
        .await
        .unwrap()
        .expect("linked")
        .sf_object;

    // The app changed `title` where crmsync never saw it; `lead_source` is inbound only.
    s.advance(Duration::minutes(1));
    let api = Api::new(http::report_router(s.app.clone()));
    let body = json!({"records": [
        {"app_object": "contact", "app_id": "app-d", "modified_at": s.now().to_rfc3339(),
         "fields": {"first_name": "Dana", "last_name": "Drift", "title": "Changed",
                    "city": "Oslo", "lead_source": "Web"}},
        {"app_object": "contact", "app_id": "app-unknown", "modified_at": s.now().to_rfc3339(),
         "fields": {"title": "Nobody"}}
    ]});
    let check = || async {
        api.call(
            Method::POST,
            "/v1/connections/prod/drift-check",
            Some(&s.credentials.api_key),
            Some(body.clone()),
        )
        .await
    };
    let (status, first) = check().await;
    assert_eq!(status, StatusCode::OK, "{first}");
    assert_eq!(first["compared"], 1, "{first}");
    assert_eq!(
        first["not_linked"],
        json!(["contact:app-unknown"]),
        "{first}"
    );
    assert_eq!(first["queued"].as_array().unwrap().len(), 1, "{first}");
    assert_eq!(first["queued"][0]["fields"], json!(["title"]), "{first}");
    // The same values sent again queue the same event: the push applies it once.
    let (_, again) = check().await;
    assert_eq!(
        again["queued"][0]["event_id"],
        first["queued"][0]["event_id"]
    );

    let drained = s.drain_push().await;
    let event_id = first["queued"][0]["event_id"].as_str().unwrap();
    let report = s.report("prod", event_id).await.expect("reported");
    assert_eq!(
        report.status.as_str(),
        "success",
        "{report:#?} {drained:#?}"
    );
    let record = s.record(PROD_ORG, &object, &sf_id);
    assert_eq!(record["Title"], "Changed", "{record:#?}");
    let city = if object == "Lead" {
        "City"
    } else {
        "MailingCity"
    };
    assert_eq!(record.get(city), Some(&json!("Oslo")), "{record:#?}");
    assert_ne!(
        record.get("LeadSource"),
        Some(&json!("Web")),
        "an inbound-only field is not written"
    );

    // Now in step: nothing differs.
    let (_, after) = check().await;
    assert_eq!(after["compared"], 1, "{after}");
    assert_eq!(after["queued"], json!([]), "{after}");

    // Each request is a run in the history.
    let (status, runs) = api
        .get("/v1/connections/prod/runs", &s.credentials.api_key)
        .await;
    assert_eq!(status, StatusCode::OK, "{runs}");
    let checks: Vec<&Value> = runs["runs"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["kind"] == "drift_check")
        .collect();
    assert_eq!(checks.len(), 3, "{runs}");
    assert_eq!(checks[0]["summary"]["drift"]["app_fixed"], 0, "{runs}");
    assert_eq!(checks[2]["summary"]["drift"]["app_fixed"], 1, "{runs}");
}
