//! The app-side bulk import (`POST /v1/connections/{c}/imports`): 1,200 contacts go to
//! Salesforce through one Bulk API 2.0 ingest job, each success is linked, each failure is
//! reported with Salesforce's reason; a run killed between phases resumes from its
//! checkpoint (the request sent again, the CLI's wait, the minute poll) without a second
//! job, a duplicate record or a lost result; the import is idempotent by its id and a new
//! import of the same records leaves the linked ones alone.

use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use axum::http::{Method, StatusCode};
use crmsync_e2e::*;
use crmsync_service::import::{self, ImportRecord, ImportRequest, Phase};
use crmsync_service::links::link_app_key;
use crmsync_service::{App, AppCredentials, ServiceError, http};
use crmsync_store::{
    Checkpoint, CheckpointStore, ConnectionId, Environment, StoreError, StoreResult, Stores,
    TenantId,
};
use serde_json::{Value, json};

e2e!(
    an_import_links_successes_and_reports_failures,
    a_small_import_matches_by_email_and_phone_with_one_call,
    a_killed_import_resumes_without_duplicates,
);

fn records(prefix: &str, n: usize) -> Vec<ImportRecord> {
    (0..n)
        .map(|i| {
            serde_json::from_value(json!({
                "app_id": format!("{prefix}-{i}"),
                "fields": {"first_name": "Imp", "last_name": format!("Orted{i}"),
                           "email": format!("{prefix}{i}@import.example"),
                           "company_name": format!("{prefix} Co {i}")}
            }))
            .expect("record")
        })
        .collect()
}

fn request(id: &str, records: Vec<ImportRecord>) -> ImportRequest {
    ImportRequest {
        import_id: Some(id.into()),
        app_object: crmsync_core::types::AppObject::Contact,
        records,
    }
}

async fn leads_like(s: &Stack, prefix: &str) -> usize {
    s.count(PROD_ORG, "Lead", &format!("Email LIKE '{prefix}%'"))
        .await
}

async fn an_import_links_successes_and_reports_failures(backend: Backend) {
    let s = Stack::start(backend).await;
    s.connect("prod", Environment::Production).await;
    let conn = s.conn("prod");
    // Five of the records are in the org already (same email, another case): matched,
    // updated and linked, not inserted. One email is on two Leads: reported, not guessed.
    // The org refuses a Lead whose company another Lead has: five of the records collide.
    s.sf.add_duplicate_rule(
        PROD_ORG,
        sf_emulator::spec::DuplicateRule {
            object: "Lead".into(),
            name: "Lead company".into(),
            fields: vec!["Company".into()],
        },
    )
    .expect("rule");
    let mut existing = Vec::new();
    for i in 0..5 {
        existing.push(s.insert(
            PROD_ORG,
            "Lead",
            json!({"LastName": "Already", "Company": "There", "Email": format!("IMP{i}@import.example")}),
        ));
    }
    for _ in 0..2 {
        s.insert(
            PROD_ORG,
            "Lead",
            json!({"LastName": "Twice", "Company": "Twice", "Email": "imp10@import.example"}),
        );
    }
    for i in 20..25 {
        s.insert(
            PROD_ORG,
            "Lead",
            json!({"LastName": "Taken", "Company": format!("imp Co {i}"), "Email": format!("taken{i}@else.example")}),
        );
    }
    s.sf.reset_counters(PROD_ORG).expect("reset");
    let api = Api::new(http::report_router(s.app.clone()));
    let key = s.credentials.api_key.clone();
    let path = "/v1/connections/prod/imports";
    let body = serde_json::to_value(request("first", records("imp", 1_200))).expect("body");
    let (status, st) = api
        .call(Method::POST, path, Some(&key), Some(body.clone()))
        .await;
    // 202 when the run's time ran out first (a slow store): sent again while `uploading`
    // (the matching's query job goes on), then the CLI's wait finishes it.
    let st = if status == StatusCode::ACCEPTED {
        let mut done = st;
        for _ in 0..20 {
            if done["phase"] == "uploading" {
                done = api
                    .call(Method::POST, path, Some(&key), Some(body.clone()))
                    .await
                    .1;
            } else if done["phase"] == "done" || done["phase"] == "failed" {
                break;
            } else {
                let next = import::advance(&s.app, &s.tenant, &conn, "first").await;
                done = serde_json::to_value(next.unwrap()).unwrap();
            }
        }
        done
    } else {
        assert_eq!(status, StatusCode::OK, "{st}");
        st
    };
    assert_eq!(st["phase"], "done", "{st}");
    // Matched records carry their Id: one job upserts by Id (updates them, inserts the rest).
    assert_eq!(st["operation"], "upsert");
    assert_eq!(st["sf_object"], "Lead");
    assert_eq!(
        st["uploaded"], 1_199,
        "the ambiguous record is not uploaded: {st}"
    );
    assert_eq!(st["matched"], 5, "{st}");
    assert_eq!(st["updated"], 5, "{st}");
    assert_eq!(st["created"], 1_189, "{st}");
    assert_eq!(st["failed"], 6);
    let failures = st["failures"].as_array().expect("failures");
    let mut failed: Vec<(&str, &str)> = failures
        .iter()
        .map(|f| {
            (
                f["app_id"].as_str().unwrap_or(""),
                f["code"].as_str().unwrap_or(""),
            )
        })
        .collect();
    failed.sort();
    assert_eq!(
        failed,
        [
            ("imp-10", "AMBIGUOUS_MATCH"),
            ("imp-20", "DUPLICATES_DETECTED"),
            ("imp-21", "DUPLICATES_DETECTED"),
            ("imp-22", "DUPLICATES_DETECTED"),
            ("imp-23", "DUPLICATES_DETECTED"),
            ("imp-24", "DUPLICATES_DETECTED"),
        ]
    );
    for f in failures {
        assert!(f["reason"].as_str().unwrap_or("").len() > 20, "{f}");
    }
    // One ingest job; the matching read the Leads with one query job (1,200 emails are
    // above the IN queries' 1,000 values), also when the request was sent again.
    assert_eq!(s.sf.api_count(PROD_ORG, "bulk.ingest.create").unwrap(), 1);
    assert_eq!(s.sf.api_count(PROD_ORG, "bulk.ingest.upload").unwrap(), 1);
    assert_eq!(s.sf.api_count(PROD_ORG, "bulk.query.create").unwrap(), 1);
    assert_eq!(leads_like(&s, "imp").await, 7 + 1_189, "no duplicates");
    // A matched record is linked and updated with the import's values.
    for (i, id) in existing.iter().enumerate() {
        let link = s
            .app
            .stores
            .links
            .get_by_app(
                &s.tenant,
                &conn,
                &link_app_key("contact", "Lead"),
                &format!("imp-{i}"),
            )
            .await
            .expect("read")
            .expect("linked");
        assert!(crmsync_core::sfid::same_id(&link.sf_id, id), "{link:?}");
        let lead = s.record(PROD_ORG, "Lead", &link.sf_id);
        assert_eq!(lead["LastName"], format!("Orted{i}"));
    }
    // Every success is linked to its record.
    let link = s
        .app
        .stores
        .links
        .get_by_app(
            &s.tenant,
            &conn,
            &link_app_key("contact", "Lead"),
            "imp-700",
        )
        .await
        .expect("read")
        .expect("linked");
    let lead = s.record(PROD_ORG, "Lead", &link.sf_id);
    assert_eq!(lead["Email"], "imp700@import.example");
    assert!(
        !link.hashes.is_empty(),
        "the link carries the written hashes"
    );
    // The status reads back; the same import id sent again changes nothing.
    let (code, again) = api.get("/v1/connections/prod/imports/first", &key).await;
    assert_eq!(code, StatusCode::OK);
    assert_eq!(again["created"], 1_189);
    let (_, resent) = api.call(Method::POST, path, Some(&key), Some(body)).await;
    assert_eq!(resent["created"], 1_189, "{resent}");
    assert_eq!(s.sf.api_count(PROD_ORG, "bulk.ingest.create").unwrap(), 1);
    // A new import of the same records: the linked ones are left to update events.
    let body = serde_json::to_value(request("second", records("imp", 1_200))).expect("body");
    let (_, second) = api.call(Method::POST, path, Some(&key), Some(body)).await;
    assert_eq!(second["skipped"], 1_194, "{second}");
    assert_eq!(second["created"], 0);
    assert_eq!(leads_like(&s, "imp").await, 7 + 1_189, "no duplicates");
    // Bad input is refused by name.
    let (code, err) = api
        .call(
            Method::POST,
            path,
            Some(&key),
            Some(json!({"app_object": "contact", "records": []})),
        )
        .await;
    assert_eq!(code, StatusCode::BAD_REQUEST);
    assert_eq!(err["error"]["field"], "records", "{err}");
    let twice = json!({"app_object": "contact", "records": [{"app_id": "a"}, {"app_id": "a"}]});
    let (code, err) = api.call(Method::POST, path, Some(&key), Some(twice)).await;
    assert_eq!(code, StatusCode::BAD_REQUEST);
    assert_eq!(err["error"]["field"], "records[1].app_id", "{err}");
    let unknown = json!({"app_object": "contact", "records": [{"app_id": "a", "colour": 1}]});
    let (code, _) = api
        .call(Method::POST, path, Some(&key), Some(unknown))
        .await;
    assert_eq!(code, StatusCode::BAD_REQUEST);
    let (code, _) = api.get("/v1/connections/prod/imports/nope", &key).await;
    assert_eq!(code, StatusCode::NOT_FOUND);
}

/// Under 1,000 values the matching is the push's batched `IN` queries: one composite call.
/// The connection's keys decide: email first, then phone (any stored format).
async fn a_small_import_matches_by_email_and_phone_with_one_call(backend: Backend) {
    let s = Stack::start(backend).await;
    s.connect("prod", Environment::Production).await;
    let conn = s.conn("prod");
    let by_email = s.insert(
        PROD_ORG,
        "Lead",
        json!({"LastName": "Old", "Company": "Old", "Email": "Small3@Import.example"}),
    );
    let by_phone = s.insert(
        PROD_ORG,
        "Lead",
        json!({"LastName": "Old", "Company": "Old", "Phone": "(555) 010-0007"}),
    );
    let mut recs = records("small", 20);
    recs[7]
        .fields
        .insert("phone".into(), json!("+1 555-010-0007"));
    s.sf.reset_counters(PROD_ORG).expect("reset");
    let mut st = import::start(&s.app, &s.tenant, &conn, request("small", recs))
        .await
        .expect("import");
    for _ in 0..20 {
        if st.phase.is_final() {
            break;
        }
        st = import::advance(&s.app, &s.tenant, &conn, "small")
            .await
            .expect("continues");
    }
    assert_eq!(st.phase, Phase::Done, "{st:?}");
    assert_eq!((st.matched, st.updated, st.created), (2, 2, 18), "{st:?}");
    assert_eq!(s.sf.api_count(PROD_ORG, "composite").unwrap(), 1);
    assert_eq!(s.sf.api_count(PROD_ORG, "bulk.query.create").unwrap(), 0);
    for (i, id) in [(3, &by_email), (7, &by_phone)] {
        let link = s
            .app
            .stores
            .links
            .get_by_app(
                &s.tenant,
                &conn,
                &link_app_key("contact", "Lead"),
                &format!("small-{i}"),
            )
            .await
            .expect("read")
            .expect("linked");
        assert!(crmsync_core::sfid::same_id(&link.sf_id, id), "{link:?}");
    }
    assert_eq!(
        leads_like(&s, "small").await,
        20,
        "18 new, 2 updated to the import's emails"
    );
}

/// A checkpoint store that fails, once each, the writes of the import's state that match
/// the kills in order: the run dies there, as a Lambda killed between two steps does.
struct Killer {
    inner: Arc<dyn CheckpointStore>,
    kills: Mutex<Vec<(&'static str, Value)>>,
}

#[async_trait]
impl CheckpointStore for Killer {
    async fn get(
        &self,
        tenant: &TenantId,
        connection: &ConnectionId,
        name: &str,
    ) -> StoreResult<Option<Checkpoint>> {
        self.inner.get(tenant, connection, name).await
    }
    async fn put(
        &self,
        tenant: &TenantId,
        connection: &ConnectionId,
        name: &str,
        value: Value,
    ) -> StoreResult<()> {
        {
            let mut kills = self.kills.lock().unwrap();
            if let Some((field, want)) = kills.first()
                && name == "import:killed"
                && value[*field] == *want
            {
                kills.remove(0);
                return Err(StoreError::Unavailable {
                    service: "test",
                    operation: "put",
                    message: "killed".into(),
                });
            }
        }
        self.inner.put(tenant, connection, name, value).await
    }
    async fn delete(
        &self,
        tenant: &TenantId,
        connection: &ConnectionId,
        name: &str,
    ) -> StoreResult<()> {
        self.inner.delete(tenant, connection, name).await
    }
}

async fn a_killed_import_resumes_without_duplicates(backend: Backend) {
    let s = Stack::start(backend).await;
    s.connect("prod", Environment::Production).await;
    let conn = s.conn("prod");
    let killer = Arc::new(Killer {
        inner: s.app.stores.checkpoints.clone(),
        kills: Mutex::new(vec![
            // After the close, before its checkpoint: the job is closed, the state says not.
            ("phase", json!("processing")),
            // The job final, before its checkpoint.
            ("phase", json!("recording")),
            // The first 500 results linked, before the cursor moved.
            ("successes_done", json!(500)),
        ]),
    });
    let stores = Stores {
        checkpoints: killer.clone(),
        ..s.app.stores.clone()
    };
    let credentials = AppCredentials {
        client_id: sf_emulator::demo::CLIENT_ID.into(),
        client_secret: Some(sf_emulator::demo::CLIENT_SECRET.into()),
    };
    let app = Arc::new(App::new(s.app.settings.clone(), stores, credentials).expect("app"));
    let recs = records("kill", 600);
    s.sf.reset_counters(PROD_ORG).expect("reset");

    // Killed after the close: the app sends the import again; the closed job goes on.
    let killed = import::start(&app, &s.tenant, &conn, request("killed", recs.clone())).await;
    assert!(matches!(killed, Err(ServiceError::Store(_))), "{killed:?}");
    let mid = import::status(&app, &s.tenant, &conn, "killed")
        .await
        .unwrap();
    assert_eq!(mid.phase, Phase::Uploading);
    // Killed when the job is final (before its checkpoint).
    let killed = import::start(&app, &s.tenant, &conn, request("killed", recs.clone())).await;
    assert!(matches!(killed, Err(ServiceError::Store(_))), "{killed:?}");
    // Killed mid-recording: the CLI's wait continues it and dies after 500 links.
    let killed = import::advance(&app, &s.tenant, &conn, "killed").await;
    assert!(matches!(killed, Err(ServiceError::Store(_))), "{killed:?}");
    let mid = import::status(&app, &s.tenant, &conn, "killed")
        .await
        .unwrap();
    assert_eq!((mid.phase, mid.created), (Phase::Recording, 0), "{mid:?}");
    assert!(
        killer.kills.lock().unwrap().is_empty(),
        "every kill happened"
    );

    // The minute poll finishes it. (On moto the CLI's wait does: the poll would also pull
    // the 600 new Leads into the change feed, minutes of moto calls.)
    if backend == Backend::Embedded {
        let run = crmsync_service::poll::poll_connection(&app, &s.tenant, &conn)
            .await
            .expect("poll");
        assert!(
            run.messages
                .iter()
                .any(|m| m.contains("import killed: Done")),
            "{:?}",
            run.messages
        );
    } else {
        // A run stops when its time is up (moto is slow); each one goes on from the cursor.
        for _ in 0..10 {
            let st = import::advance(&app, &s.tenant, &conn, "killed")
                .await
                .expect("continued");
            if st.phase.is_final() {
                break;
            }
        }
    }
    let done = import::status(&app, &s.tenant, &conn, "killed")
        .await
        .unwrap();
    assert_eq!(done.phase, Phase::Done);
    assert_eq!((done.created, done.failed), (600, 0), "{done:?}");
    // One job, uploaded once; each record once in Salesforce, each linked.
    assert_eq!(s.sf.api_count(PROD_ORG, "bulk.ingest.create").unwrap(), 1);
    assert_eq!(s.sf.api_count(PROD_ORG, "bulk.ingest.upload").unwrap(), 1);
    assert_eq!(leads_like(&s, "kill").await, 600);
    for i in [0, 499, 500, 599] {
        let link = app
            .stores
            .links
            .get_by_app(
                &s.tenant,
                &conn,
                &link_app_key("contact", "Lead"),
                &format!("kill-{i}"),
            )
            .await
            .expect("read");
        assert!(link.is_some(), "kill-{i} linked");
    }
    // The next poll finds no import left: no import call.
    if backend == Backend::Embedded {
        let before = s.sf.api_count(PROD_ORG, "bulk.ingest.info").unwrap();
        crmsync_service::poll::poll_connection(&app, &s.tenant, &conn)
            .await
            .expect("poll");
        assert_eq!(
            s.sf.api_count(PROD_ORG, "bulk.ingest.info").unwrap(),
            before
        );
    }
}
