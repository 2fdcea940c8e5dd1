//! The report and operator APIs through the router: authentication and tenant isolation,
//! admin provisioning, config validation, paging, re-push and JSON errors.

mod http_common;

use axum::http::StatusCode;
use chrono::{Duration, Utc};
use crmsync_core::SyncConfig;
use crmsync_service::http::{report_router, set_operator_key};
use crmsync_service::runs::{self, RunKind, RunStatus, RunSummary};
use crmsync_store::{ChangeKind, NewChange, QueueKind, ReportEntry, ReportStatus};
use http_common::*;
use serde_json::{Value, json};

const OPERATOR_KEY: &str = "op-key-for-tests-0123456789";

fn entry(
    tenant: &str,
    conn: &str,
    event_id: &str,
    status: ReportStatus,
    minutes_ago: i64,
    payload: Option<Value>,
) -> ReportEntry {
    let at = Utc::now() - Duration::minutes(minutes_ago);
    ReportEntry {
        tenant: tid(tenant),
        connection: cid(conn),
        event_id: event_id.into(),
        object: "Lead".into(),
        app_id: Some(format!("app-{event_id}")),
        sf_id: None,
        status,
        code: Some("REQUIRED_FIELD_MISSING".into()),
        reason: Some("LastName is required on create".into()),
        payload,
        created_at: at,
        updated_at: at,
        expires_at: None,
    }
}

#[tokio::test]
async fn requests_without_or_with_a_bad_key_are_refused() {
    let app = app().await;
    tenant(&app, "acme").await;
    let router = report_router(app);
    let r = call(&router, "GET", "/v1/connections", None, None).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert_eq!(r.error_code(), "unauthorized");
    assert_eq!(r.headers["www-authenticate"], "Bearer");
    let r = call(
        &router,
        "GET",
        "/v1/connections",
        Some("csk_not-a-key"),
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    let r = call(&router, "GET", "/v1/changes", Some(""), None).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn a_tenant_key_never_reads_another_tenants_data() {
    let app = app().await;
    let acme = tenant(&app, "acme").await;
    let globex = tenant(&app, "globex").await;
    connection(&app, "acme", "production").await;
    app.stores
        .reports
        .write(&entry(
            "acme",
            "production",
            "ev-1",
            ReportStatus::Error,
            1,
            None,
        ))
        .await
        .unwrap();
    app.stores
        .changes
        .append(
            &tid("acme"),
            vec![NewChange {
                connection: cid("production"),
                object: "Lead".into(),
                sf_id: "00Q000000000001".into(),
                app_id: None,
                kind: ChangeKind::Upsert,
                payload: json!({"last_name": "Lee"}),
            }],
        )
        .await
        .unwrap();
    let router = report_router(app);

    let mine = call(&router, "GET", "/v1/connections", Some(&acme.api_key), None).await;
    assert_eq!(mine.status, StatusCode::OK, "{}", mine.text);
    assert_eq!(mine.json["connections"][0]["connection"], "production");
    assert_eq!(mine.json["connections"][0]["status"], "Connected");
    assert!(
        !mine.text.contains("crmsync/acme"),
        "secret name leaked: {}",
        mine.text
    );

    let theirs = call(
        &router,
        "GET",
        "/v1/connections",
        Some(&globex.api_key),
        None,
    )
    .await;
    assert_eq!(theirs.json["connections"], json!([]));
    for uri in [
        "/v1/connections/production",
        "/v1/connections/production/reports/ev-1",
        "/v1/connections/production/reports?status=error",
        "/v1/connections/production/config",
        "/v1/connections/production/quota",
        "/v1/connections/production/runs",
    ] {
        let r = call(&router, "GET", uri, Some(&globex.api_key), None).await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{uri}: {}", r.text);
        assert_eq!(r.error_code(), "not_found");
        let r = call(&router, "GET", uri, Some(&acme.api_key), None).await;
        assert_eq!(r.status, StatusCode::OK, "{uri}: {}", r.text);
    }
    let r = call(
        &router,
        "POST",
        "/v1/connections/production/reports/ev-1/repush",
        Some(&globex.api_key),
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let feed = call(&router, "GET", "/v1/changes", Some(&globex.api_key), None).await;
    assert_eq!(feed.json["changes"], json!([]));
    let feed = call(&router, "GET", "/v1/changes", Some(&acme.api_key), None).await;
    assert_eq!(feed.json["changes"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn operator_creates_tenants_whose_credentials_work() {
    let app = app().await;
    let router = report_router(app.clone());
    let body = json!({"tenant_id": "initech", "name": "Initech"});

    let r = call(
        &router,
        "POST",
        "/admin/tenants",
        Some(OPERATOR_KEY),
        Some(body.clone()),
    )
    .await;
    assert_eq!(
        r.status,
        StatusCode::UNAUTHORIZED,
        "operator API must be off without a key: {}",
        r.text
    );
    set_operator_key(&app, OPERATOR_KEY).await.unwrap();
    let r = call(
        &router,
        "POST",
        "/admin/tenants",
        Some("wrong-operator-key-0000"),
        Some(body.clone()),
    )
    .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    let r = call(&router, "POST", "/admin/tenants", None, Some(body.clone())).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);

    let r = call(
        &router,
        "POST",
        "/admin/tenants",
        Some(OPERATOR_KEY),
        Some(json!({"tenant_id": "x", "name": "X", "plan": "gold"})),
    )
    .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(r.error_field(), "plan");
    let r = call(
        &router,
        "POST",
        "/admin/tenants",
        Some(OPERATOR_KEY),
        Some(json!({"tenant_id": "_crmsync", "name": "X"})),
    )
    .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(r.error_field(), "tenant_id");

    let created = call(
        &router,
        "POST",
        "/admin/tenants",
        Some(OPERATOR_KEY),
        Some(body.clone()),
    )
    .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text);
    let key = created.json["api_key"].as_str().unwrap().to_string();
    assert!(
        created.json["webhook_secret"]
            .as_str()
            .unwrap()
            .starts_with("whsec_")
    );
    let again = call(
        &router,
        "POST",
        "/admin/tenants",
        Some(OPERATOR_KEY),
        Some(body),
    )
    .await;
    assert_eq!(again.status, StatusCode::CONFLICT);

    let r = call(&router, "GET", "/v1/connections", Some(&key), None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);

    // Rotation by the operator: the old key stops working at once.
    let rotated = call(
        &router,
        "POST",
        "/admin/tenants/initech/rotate",
        Some(OPERATOR_KEY),
        None,
    )
    .await;
    assert_eq!(rotated.status, StatusCode::OK, "{}", rotated.text);
    let new_key = rotated.json["api_key"].as_str().unwrap().to_string();
    assert_eq!(
        call(&router, "GET", "/v1/connections", Some(&key), None)
            .await
            .status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        call(&router, "GET", "/v1/connections", Some(&new_key), None)
            .await
            .status,
        StatusCode::OK
    );
    // Rotation by the tenant itself.
    let own = call(
        &router,
        "POST",
        "/v1/credentials/rotate",
        Some(&new_key),
        None,
    )
    .await;
    assert_eq!(own.status, StatusCode::OK);
    assert_eq!(
        call(&router, "GET", "/v1/connections", Some(&new_key), None)
            .await
            .status,
        StatusCode::UNAUTHORIZED
    );
    let unknown = call(
        &router,
        "POST",
        "/admin/tenants/nobody/rotate",
        Some(OPERATOR_KEY),
        None,
    )
    .await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn config_put_names_every_bad_path_and_guards_versions() {
    let app = app().await;
    let acme = tenant(&app, "acme").await;
    connection(&app, "acme", "production").await;
    let router = report_router(app);
    let key = Some(acme.api_key.as_str());

    let got = call(
        &router,
        "GET",
        "/v1/connections/production/config",
        key,
        None,
    )
    .await;
    assert_eq!(got.status, StatusCode::OK, "{}", got.text);
    assert_eq!(got.json["version"], 0);
    let standard = serde_json::to_value(SyncConfig::standard()).unwrap();
    assert_eq!(got.json["config"], standard);

    let mut unknown = standard.clone();
    unknown["objects"]["Lead"]["fields"][0]["colour"] = json!("red");
    let r = call(
        &router,
        "PUT",
        "/v1/connections/production/config",
        key,
        Some(json!({"expected_version": 0, "config": unknown})),
    )
    .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
    assert_eq!(
        r.json["error"]["problems"][0]["path"], "config.objects.Lead.fields[0].colour",
        "{}",
        r.text
    );

    let mut invalid = standard.clone();
    invalid["objects"]["Lead"]["fields"][1]["salesforce_field"] = json!("Not A Field!");
    invalid["poll_cap"] = json!(0);
    let r = call(
        &router,
        "PUT",
        "/v1/connections/production/config",
        key,
        Some(json!({"expected_version": 0, "config": invalid})),
    )
    .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
    assert_eq!(r.error_code(), "invalid_config");
    let paths: Vec<&str> = r.json["error"]["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["path"].as_str().unwrap())
        .collect();
    assert!(paths.contains(&"config.poll_cap"), "{paths:?}");
    assert!(
        paths
            .iter()
            .any(|p| p.starts_with("config.objects.Lead.fields[1]")),
        "{paths:?}"
    );

    let r = call(
        &router,
        "PUT",
        "/v1/connections/production/config",
        key,
        Some(json!({"expected_versoin": 0, "config": standard})),
    )
    .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(r.error_field(), "expected_versoin");

    let saved = call(
        &router,
        "PUT",
        "/v1/connections/production/config",
        key,
        Some(json!({"expected_version": 0, "config": standard})),
    )
    .await;
    assert_eq!(saved.status, StatusCode::OK, "{}", saved.text);
    assert_eq!(saved.json["version"], 1);
    let stale = call(
        &router,
        "PUT",
        "/v1/connections/production/config",
        key,
        Some(json!({"expected_version": 0, "config": standard})),
    )
    .await;
    assert_eq!(stale.status, StatusCode::CONFLICT, "{}", stale.text);
    let got = call(
        &router,
        "GET",
        "/v1/connections/production/config",
        key,
        None,
    )
    .await;
    assert_eq!(got.json["version"], 1);
}

#[tokio::test]
async fn report_listing_pages_with_an_opaque_cursor() {
    let app = app().await;
    let acme = tenant(&app, "acme").await;
    connection(&app, "acme", "production").await;
    for i in 0..5 {
        app.stores
            .reports
            .write(&entry(
                "acme",
                "production",
                &format!("err-{i}"),
                ReportStatus::Error,
                i,
                None,
            ))
            .await
            .unwrap();
    }
    app.stores
        .reports
        .write(&entry(
            "acme",
            "production",
            "ok-1",
            ReportStatus::Success,
            0,
            None,
        ))
        .await
        .unwrap();
    let router = report_router(app);
    let key = Some(acme.api_key.as_str());

    let mut seen = Vec::new();
    let mut uri = "/v1/connections/production/reports?status=error&limit=2".to_string();
    for _ in 0..5 {
        let page = call(&router, "GET", &uri, key, None).await;
        assert_eq!(page.status, StatusCode::OK, "{}", page.text);
        let entries = page.json["entries"].as_array().unwrap();
        assert!(entries.len() <= 2);
        for e in entries {
            assert_eq!(e["status"], "error");
            assert_eq!(e["reason"], "LastName is required on create");
            seen.push(e["event_id"].as_str().unwrap().to_string());
        }
        match page.json["next_cursor"].as_str() {
            Some(cursor) => {
                // A cursor of one listing is refused by another.
                let other = call(
                    &router,
                    "GET",
                    &format!("/v1/connections/production/reports?status=success&cursor={cursor}"),
                    key,
                    None,
                )
                .await;
                assert_eq!(other.status, StatusCode::BAD_REQUEST);
                assert_eq!(other.error_field(), "cursor");
                uri = format!(
                    "/v1/connections/production/reports?status=error&limit=2&cursor={cursor}"
                );
            }
            None => break,
        }
    }
    assert_eq!(
        seen,
        vec!["err-0", "err-1", "err-2", "err-3", "err-4"],
        "newest first, each once"
    );

    let one = call(
        &router,
        "GET",
        "/v1/connections/production/reports/err-3",
        key,
        None,
    )
    .await;
    assert_eq!(one.status, StatusCode::OK);
    assert_eq!(one.json["code"], "REQUIRED_FIELD_MISSING");

    for (uri, field) in [
        ("/v1/connections/production/reports", "status"),
        ("/v1/connections/production/reports?status=broken", "status"),
        (
            "/v1/connections/production/reports?status=error&limit=0",
            "limit",
        ),
        (
            "/v1/connections/production/reports?status=error&limit=ten",
            "limit",
        ),
        (
            "/v1/connections/production/reports?status=error&from=yesterday",
            "from",
        ),
        (
            "/v1/connections/production/reports?status=error&colour=red",
            "colour",
        ),
        (
            "/v1/connections/bad%20id/reports?status=error",
            "connection",
        ),
    ] {
        let r = call(&router, "GET", uri, key, None).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{uri}: {}", r.text);
        assert_eq!(r.error_field(), field, "{uri}");
    }
}

#[tokio::test]
async fn change_feed_pages_by_sequence() {
    let app = app().await;
    let acme = tenant(&app, "acme").await;
    let changes = (0..5)
        .map(|i| NewChange {
            connection: cid("production"),
            object: "Contact".into(),
            sf_id: format!("003{i:012}"),
            app_id: Some(format!("c{i}")),
            kind: ChangeKind::Upsert,
            payload: json!({"n": i}),
        })
        .collect();
    app.stores
        .changes
        .append(&tid("acme"), changes)
        .await
        .unwrap();
    let router = report_router(app);
    let key = Some(acme.api_key.as_str());

    let mut after = 0;
    let mut got = Vec::new();
    loop {
        let page = call(
            &router,
            "GET",
            &format!("/v1/changes?after={after}&limit=2"),
            key,
            None,
        )
        .await;
        assert_eq!(page.status, StatusCode::OK, "{}", page.text);
        for c in page.json["changes"].as_array().unwrap() {
            got.push(c["payload"]["n"].as_u64().unwrap());
        }
        after = page.json["next_after"].as_u64().unwrap();
        if !page.json["has_more"].as_bool().unwrap() {
            break;
        }
        assert!(got.len() < 10, "paging does not end");
    }
    assert_eq!(got, vec![0, 1, 2, 3, 4]);
    let r = call(&router, "GET", "/v1/changes?after=-1", key, None).await;
    assert_eq!(r.error_field(), "after");
    let r = call(&router, "GET", "/v1/changes?limit=5000", key, None).await;
    assert_eq!(r.error_field(), "limit");
}

#[tokio::test]
async fn repush_enqueues_known_events_and_404s_unknown_ones() {
    let app = app().await;
    let acme = tenant(&app, "acme").await;
    connection(&app, "acme", "production").await;
    let message = json!({
        "tenant": "acme",
        "connection": "production",
        "event": {"event_id": "ev-9", "kind": "sale", "app_object": "contact", "app_id": "c9",
                  "occurred_at": "2026-11-22T10:00:00Z", "fields": {"last_name": "Lee"}}
    });
    app.stores
        .reports
        .write(&entry(
            "acme",
            "production",
            "ev-9",
            ReportStatus::Error,
            1,
            Some(message),
        ))
        .await
        .unwrap();
    let router = report_router(app.clone());
    let key = Some(acme.api_key.as_str());

    let r = call(
        &router,
        "POST",
        "/v1/connections/production/reports/nope/repush",
        key,
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.text);
    assert_eq!(r.error_code(), "not_found");
    assert!(
        app.stores
            .queues
            .receive(QueueKind::Push, 10)
            .await
            .unwrap()
            .is_empty()
    );

    let r = call(
        &router,
        "POST",
        "/v1/connections/production/reports/ev-9/repush",
        key,
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.text);
    let queued = app
        .stores
        .queues
        .receive(QueueKind::Push, 10)
        .await
        .unwrap();
    assert_eq!(queued.len(), 1, "one nudge");
    let nudge: Value = serde_json::from_str(&queued[0].body).unwrap();
    assert_eq!(nudge["nudge"], "outbox");
    // The event itself waits in the connection's outbox.
    let outbox = app
        .stores
        .outbox
        .oldest(&tid("acme"), &cid("production"), 10)
        .await
        .unwrap();
    assert_eq!(outbox.len(), 1);
    let body: Value = serde_json::from_str(&outbox[0].body).unwrap();
    assert_eq!(body["event"]["event_id"], "ev-9");
    assert_eq!(body["repush_id"], r.json["repush_id"]);
}

#[tokio::test]
async fn quota_runs_and_connection_details_read_the_store() {
    let app = app().await;
    let acme = tenant(&app, "acme").await;
    connection(&app, "acme", "production").await;
    let today = Utc::now().date_naive();
    app.stores
        .quotas
        .add_calls(&tid("acme"), &cid("production"), today, 120)
        .await
        .unwrap();
    app.stores
        .quotas
        .record_limit(
            &tid("acme"),
            &cid("production"),
            crmsync_store::LimitReading {
                used: 1_000,
                max: 15_000,
                app: None,
            },
        )
        .await
        .unwrap();
    let router = report_router(app);
    let key = Some(acme.api_key.as_str());

    let q = call(
        &router,
        "GET",
        "/v1/connections/production/quota",
        key,
        None,
    )
    .await;
    assert_eq!(q.status, StatusCode::OK, "{}", q.text);
    assert_eq!(q.json["crmsync_calls_today"], 120);
    assert_eq!(q.json["crmsync_allowance"], 7_500);
    assert_eq!(q.json["crmsync_remaining"], 7_380);
    assert_eq!(q.json["org_max"], 15_000);
    assert_eq!(q.json["paused"], false);

    let runs = call(&router, "GET", "/v1/connections/production/runs", key, None).await;
    assert_eq!(runs.status, StatusCode::OK);
    assert!(runs.json["last_sync_at"].is_string());

    let details = call(&router, "GET", "/v1/connections/production", key, None).await;
    assert_eq!(details.json["org_name"], "acme org");
    assert_eq!(
        details.json["connected_user"]["username"],
        "admin@example.com"
    );
    assert_eq!(details.json["environment"], "production");
}

#[tokio::test]
async fn unknown_routes_and_methods_answer_json() {
    let app = app().await;
    let acme = tenant(&app, "acme").await;
    let router = report_router(app);
    let r = call(&router, "GET", "/v2/nothing", Some(&acme.api_key), None).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert_eq!(r.error_code(), "not_found");
    let r = call(
        &router,
        "DELETE",
        "/v1/connections",
        Some(&acme.api_key),
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::METHOD_NOT_ALLOWED, "{}", r.text);
    assert_eq!(r.error_code(), "method_not_allowed");
    // `/v1/health` is the one API Gateway routes to the report function.
    for path in ["/health", "/v1/health"] {
        let r = call(&router, "GET", path, None, None).await;
        assert_eq!(
            (r.status, r.json["status"].as_str()),
            (StatusCode::OK, Some("ok")),
            "{path}"
        );
    }
}

/// A finished run of `tenant/production`, `minutes_ago` minutes back.
fn finished_run(tenant: &str, minutes_ago: i64, status: RunStatus, fetched: u64) -> RunSummary {
    let start = Utc::now() - Duration::minutes(minutes_ago);
    let mut run = RunSummary::new(tenant, "production", RunKind::Poll, start);
    run.status = status;
    run.finished_at = start + Duration::seconds(20);
    run.stats("Lead").fetched = fetched;
    run.stats("Lead").created = fetched / 2;
    run.api_calls = 3;
    run
}

#[tokio::test]
async fn run_history_pages_newest_first_and_stays_with_its_tenant() {
    let app = app().await;
    let acme = tenant(&app, "acme").await;
    let globex = tenant(&app, "globex").await;
    connection(&app, "acme", "production").await;
    connection(&app, "globex", "production").await;
    let statuses = [
        RunStatus::Completed,
        RunStatus::Capped,
        RunStatus::NotReady,
        RunStatus::Failed,
        RunStatus::Completed,
    ];
    for (i, status) in statuses.into_iter().enumerate() {
        let i = i as i64;
        runs::save(
            &app,
            &finished_run("acme", 50 - i * 10, status, 10 + i as u64),
        )
        .await;
    }
    // Another worker held the lease, or the budget is spent: nothing happened, not history.
    runs::save(&app, &finished_run("acme", 1, RunStatus::Busy, 0)).await;
    runs::save(&app, &finished_run("acme", 2, RunStatus::QuotaPaused, 0)).await;
    runs::save(&app, &finished_run("globex", 5, RunStatus::Completed, 99)).await;
    let router = report_router(app);
    let key = Some(acme.api_key.as_str());

    let mut seen = Vec::new();
    let mut uri = "/v1/connections/production/runs?limit=2".to_string();
    for _ in 0..5 {
        let page = call(&router, "GET", &uri, key, None).await;
        assert_eq!(page.status, StatusCode::OK, "{}", page.text);
        assert_eq!(page.json["history_recorded"], true);
        assert!(page.json["last_sync_at"].is_string(), "{}", page.text);
        let runs = page.json["runs"].as_array().unwrap();
        assert!(runs.len() <= 2, "{}", page.text);
        for r in runs {
            assert_eq!(r["kind"], "poll");
            assert_eq!(r["summary"]["tenant"], "acme");
            assert_eq!(r["summary"]["status"], r["status"]);
            assert_eq!(r["summary"]["api_calls"], 3);
            assert_eq!(r["summary_truncated"], false);
            seen.push((
                r["status"].as_str().unwrap().to_string(),
                r["summary"]["objects"]["Lead"]["fetched"].as_u64().unwrap(),
            ));
        }
        match page.json["next_cursor"].as_str() {
            Some(cursor) => {
                // Another tenant cannot continue this listing, even for a connection
                // of the same name.
                let theirs = call(
                    &router,
                    "GET",
                    &format!("/v1/connections/production/runs?cursor={cursor}"),
                    Some(&globex.api_key),
                    None,
                )
                .await;
                assert_eq!(theirs.status, StatusCode::BAD_REQUEST, "{}", theirs.text);
                assert_eq!(theirs.error_field(), "cursor");
                uri = format!("/v1/connections/production/runs?limit=2&cursor={cursor}");
            }
            None => break,
        }
    }
    let expected: Vec<(String, u64)> = [
        ("completed", 14),
        ("failed", 13),
        ("not_ready", 12),
        ("capped", 11),
        ("completed", 10),
    ]
    .iter()
    .map(|(s, n)| (s.to_string(), *n))
    .collect();
    assert_eq!(
        seen, expected,
        "newest first, each once, no busy or quota-paused poll"
    );

    let theirs = call(
        &router,
        "GET",
        "/v1/connections/production/runs",
        Some(&globex.api_key),
        None,
    )
    .await;
    assert_eq!(theirs.status, StatusCode::OK, "{}", theirs.text);
    let runs = theirs.json["runs"].as_array().unwrap();
    assert_eq!(runs.len(), 1, "{}", theirs.text);
    assert_eq!(runs[0]["summary"]["tenant"], "globex");
    assert_eq!(runs[0]["summary"]["objects"]["Lead"]["fetched"], 99);

    for (uri, field) in [
        ("/v1/connections/production/runs?limit=0", "limit"),
        ("/v1/connections/production/runs?limit=1001", "limit"),
        ("/v1/connections/production/runs?limit=two", "limit"),
        (
            "/v1/connections/production/runs?cursor=not-a-cursor",
            "cursor",
        ),
    ] {
        let r = call(&router, "GET", uri, key, None).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{uri}: {}", r.text);
        assert_eq!(r.error_field(), field, "{uri}: {}", r.text);
    }
    let r = call(
        &router,
        "GET",
        "/v1/connections/production/runs?status=error",
        key,
        None,
    )
    .await;
    assert_eq!(
        r.status,
        StatusCode::BAD_REQUEST,
        "unknown params: {}",
        r.text
    );
}

/// Every /v1 route refuses an unknown query parameter by name, before doing anything:
/// a typo never silently changes what a request means (or disconnects, or rotates).
#[tokio::test]
async fn every_route_refuses_unknown_query_parameters() {
    let app = app().await;
    let acme = tenant(&app, "acme").await;
    connection(&app, "acme", "production").await;
    app.stores
        .reports
        .write(&entry(
            "acme",
            "production",
            "ev-1",
            ReportStatus::Error,
            1,
            None,
        ))
        .await
        .unwrap();
    let router = report_router(app.clone());
    let key = Some(acme.api_key.as_str());

    let r = call(
        &router,
        "GET",
        "/v1/connections/production/quota?bogus=1",
        key,
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
    assert_eq!(r.error_field(), "bogus", "{}", r.text);
    assert!(r.text.contains("unknown query parameter"), "{}", r.text);

    let routes: [(&str, &str, Option<Value>); 14] = [
        ("GET", "/v1/connections", None),
        ("GET", "/v1/connections/production", None),
        (
            "POST",
            "/v1/connections/production/connect",
            Some(json!({})),
        ),
        ("POST", "/v1/connections/production/disconnect", None),
        ("GET", "/v1/connections/production/reports/ev-1", None),
        (
            "POST",
            "/v1/connections/production/reports/ev-1/repush",
            None,
        ),
        ("GET", "/v1/connections/production/config", None),
        (
            "PUT",
            "/v1/connections/production/config",
            Some(json!({"expected_version": 0, "config": {}})),
        ),
        ("GET", "/v1/connections/production/config/status", None),
        (
            "POST",
            "/v1/connections/production/test-sync",
            Some(json!({})),
        ),
        ("GET", "/v1/connections/production/quota", None),
        ("POST", "/v1/connections/production/provision", None),
        ("POST", "/v1/credentials/rotate", None),
        ("GET", "/v1/changes", None),
    ];
    for (method, path, body) in routes {
        let uri = format!("{path}?bogus=1");
        let r = call(&router, method, &uri, key, body).await;
        assert_eq!(
            r.status,
            StatusCode::BAD_REQUEST,
            "{method} {uri}: {}",
            r.text
        );
        assert_eq!(r.error_field(), "bogus", "{method} {uri}: {}", r.text);
    }

    // Nothing happened: the key still works and the connection is still connected.
    let r = call(&router, "GET", "/v1/connections/production", key, None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.json["status"], "Connected", "{}", r.text);
}
