//! Scenario 8: the report API over HTTP (`tower::ServiceExt::oneshot` on the report
//! router). Every endpoint answers with sensible data, and one tenant's API key never
//! reads another tenant's connections, reports, changes or config, even when both
//! tenants name their connection the same.

use axum::http::{Method, StatusCode};
use crmsync_e2e::*;
use crmsync_service::{http, tenants};
use crmsync_store::{Environment, TenantId};
use serde_json::{Value, json};

e2e!(report_api_answers_and_isolates_tenants);

async fn report_api_answers_and_isolates_tenants(backend: Backend) {
    let s = Stack::start(backend).await;
    // Tell the two orgs apart in the quota view.
    s.sf.set_daily_limit(SANDBOX_ORG, 9_000).unwrap();
    let a_key = s.credentials.api_key.clone();
    // Tenant B: another customer, its own org, and the same connection name.
    let b = TenantId::new("globex").unwrap();
    let b_creds = tenants::create_tenant(&s.app, b.as_str(), "Globex")
        .await
        .unwrap();
    s.connect("prod", Environment::Production).await;
    s.connect_for(&b, "prod", Environment::Sandbox).await;
    for (tenant, _) in [(&s.tenant, 0), (&b, 1)] {
        crmsync_service::poll::poll_connection(&s.app, tenant, &s.conn("prod"))
            .await
            .unwrap();
    }

    // Some history for each tenant: a change, a success and an error report.
    s.advance(chrono::Duration::minutes(1));
    let a_lead = s.insert(
        PROD_ORG,
        "Lead",
        json!({"LastName": "Alpha", "Company": "Alpha Co", "Phone": "+1 555 1001"}),
    );
    let b_lead = s.insert(
        SANDBOX_ORG,
        "Lead",
        json!({"LastName": "Bravo", "Company": "Bravo Co", "Phone": "+1 555 2001"}),
    );
    let mut polls = Vec::new();
    for tenant in [&s.tenant, &b] {
        polls.push(
            crmsync_service::poll::poll_connection(&s.app, tenant, &s.conn("prod"))
                .await
                .unwrap(),
        );
    }
    let (a_poll, b_poll) = (&polls[0], &polls[1]);
    let a_ok = app_event(
        "create",
        "contact",
        "app-a-1",
        s.now(),
        json!({"last_name": "AlphaPush", "phone": "+1 555 1002", "company_name": "Alpha Co",
               "email": "alpha.push@alpha.example"}),
    );
    let a_bad = app_event(
        "create",
        "deal",
        "app-a-deal",
        s.now(),
        json!({"name": "Too Big", "stage": "qualification", "close_date": "2026-12-31",
               "amount": 99_999}),
    );
    let b_ok = app_event(
        "create",
        "contact",
        "app-b-1",
        s.now(),
        json!({"last_name": "BravoPush", "phone": "+1 555 2002", "company_name": "Bravo Co",
               "email": "bravo.push@bravo.example"}),
    );
    let id = |e: &Value| e["event_id"].as_str().unwrap().to_string();
    let (a_ok_id, a_bad_id, b_ok_id) = (id(&a_ok), id(&a_bad), id(&b_ok));
    s.send_events("prod", vec![a_ok, a_bad]).await;
    s.send_events_as(&b, &b_creds.webhook_secret, "prod", vec![b_ok])
        .await;
    s.drain_push().await;

    let api = Api::new(http::report_router(s.app.clone()));

    // Credentials are required.
    let (status, body) = api.call(Method::GET, "/v1/connections", None, None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    assert!(body["error"]["code"].is_string(), "{body}");
    let (status, _) = api.get("/v1/connections", "csk_not-a-real-key").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    // Connections.
    let list = ok("connections", api.get("/v1/connections", &a_key).await);
    let conns = list["connections"].as_array().expect("a list");
    assert_eq!(conns.len(), 1, "{list}");
    assert_eq!(conns[0]["connection"], json!("prod"));
    assert_eq!(conns[0]["status"], json!("Connected"));
    assert_eq!(conns[0]["org_name"], json!("Demo Company"));
    assert_eq!(conns[0]["org_id"], json!(s.sf.org_id(PROD_ORG).unwrap()));
    assert_eq!(conns[0]["instance_url"], json!(s.emulator.base_url()));
    assert!(conns[0]["last_sync_at"].is_string(), "{list}");
    let one = ok("connection", api.get("/v1/connections/prod", &a_key).await);
    assert_eq!(
        one["connected_user"]["username"],
        json!(sf_emulator::demo::USERNAME)
    );
    assert!(
        one.to_string().find("refresh").is_none(),
        "no tokens: {one}"
    );
    let theirs = ok(
        "connection",
        api.get("/v1/connections/prod", &b_creds.api_key).await,
    );
    assert_eq!(theirs["org_id"], json!(s.sf.org_id(SANDBOX_ORG).unwrap()));
    let (status, _) = api.get("/v1/connections/nope", &a_key).await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // Runs: both polls are in the history, newest first, with their status and counts.
    let runs = ok("runs", api.get("/v1/connections/prod/runs", &a_key).await);
    assert_eq!(runs["connection"], json!("prod"));
    assert!(runs["last_sync_at"].is_string(), "{runs}");
    assert_eq!(runs["history_recorded"], json!(true), "{runs}");
    let listed = runs["runs"].as_array().expect("a list");
    assert_eq!(listed.len(), 2, "two polls: {runs}");
    assert_run_is(&listed[0], a_poll);
    assert!(
        a_poll.objects["Lead"].fetched >= 1 && a_poll.objects["Lead"].created >= 1,
        "the second poll brought the new lead: {a_poll:?}"
    );
    assert_eq!(listed[1]["kind"], json!("poll"));
    assert!(
        listed[1]["started_at"].as_str() < listed[0]["started_at"].as_str(),
        "{runs}"
    );
    let first = ok(
        "runs",
        api.get("/v1/connections/prod/runs?limit=1", &a_key).await,
    );
    assert_eq!(first["runs"].as_array().unwrap().len(), 1, "{first}");
    let a_cursor = first["next_cursor"]
        .as_str()
        .expect("a next page")
        .to_string();
    let rest = ok(
        "runs",
        api.get(
            &format!("/v1/connections/prod/runs?limit=1&cursor={a_cursor}"),
            &a_key,
        )
        .await,
    );
    assert_eq!(rest["runs"][0], listed[1], "{rest}");

    // Reports: successes and errors with reasons, one entry in detail, re-push.
    let page = ok(
        "reports",
        api.get("/v1/connections/prod/reports?status=success", &a_key)
            .await,
    );
    let ids: Vec<&str> = page["entries"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["event_id"].as_str())
        .collect();
    assert_eq!(ids, vec![a_ok_id.as_str()], "{page}");
    let page = ok(
        "reports",
        api.get("/v1/connections/prod/reports?status=error", &a_key)
            .await,
    );
    let errors = page["entries"].as_array().unwrap();
    assert_eq!(errors.len(), 1, "{page}");
    assert_eq!(errors[0]["event_id"], json!(a_bad_id));
    assert_eq!(
        errors[0]["code"],
        json!("FIELD_CUSTOM_VALIDATION_EXCEPTION")
    );
    assert!(
        errors[0]["reason"]
            .as_str()
            .is_some_and(|r| r.contains("Amount must be between 0 and 10,000")),
        "{page}"
    );
    assert_eq!(errors[0]["repushable"], json!(true));
    let (status, body) = api
        .get("/v1/connections/prod/reports?status=bogus", &a_key)
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    let detail = ok(
        "report detail",
        api.get(&format!("/v1/connections/prod/reports/{a_bad_id}"), &a_key)
            .await,
    );
    assert_eq!(detail["event_id"], json!(a_bad_id));
    assert!(detail["event"].is_object(), "{detail}");
    let (status, body) = api
        .call(
            Method::POST,
            &format!("/v1/connections/prod/reports/{a_bad_id}/repush"),
            Some(&a_key),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    assert_eq!(body["event_id"], json!(a_bad_id));

    // Config: read, replace with the version guard, refuse stale and invalid ones.
    let cfg = ok(
        "config",
        api.get("/v1/connections/prod/config", &a_key).await,
    );
    let version = cfg["version"].as_u64().expect("a version");
    assert!(cfg["config"]["objects"]["Lead"].is_object(), "{cfg}");
    let mut edited = cfg["config"].clone();
    edited["poll_cap"] = json!(250);
    // A mapping whose types do not line up (a number into a picklist): status Issue.
    edited["objects"]["Lead"]["fields"]
        .as_array_mut()
        .unwrap()
        .push(json!({"app_field": "score", "salesforce_field": "Rating", "kind": "number"}));
    let (status, body) = api
        .call(
            Method::PUT,
            "/v1/connections/prod/config",
            Some(&a_key),
            Some(json!({"expected_version": version, "config": edited})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["version"], json!(version + 1));
    assert_eq!(body["config"]["poll_cap"], json!(250));
    let (status, body) = api
        .call(
            Method::PUT,
            "/v1/connections/prod/config",
            Some(&a_key),
            Some(json!({"expected_version": version, "config": edited})),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "stale version: {body}");
    let mut broken = edited.clone();
    broken["objects"]["Lead"]["app_object"] = json!("spaceship");
    let (status, body) = api
        .call(
            Method::PUT,
            "/v1/connections/prod/config",
            Some(&a_key),
            Some(json!({"expected_version": version + 1, "config": broken})),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    let status_view = ok(
        "config status",
        api.get("/v1/connections/prod/config/status", &a_key).await,
    );
    assert_eq!(status_view["version"], json!(version + 1));
    let mappings = status_view["mappings"].as_array().unwrap();
    let mapping = |sf_field: &str| {
        mappings
            .iter()
            .find(|m| m["object"] == json!("Lead") && m["salesforce_field"] == json!(sf_field))
            .unwrap_or_else(|| panic!("Lead.{sf_field} in {status_view}"))
    };
    assert_eq!(mapping("LastName")["status"], json!("Ok"), "{status_view}");
    assert_eq!(mapping("Rating")["status"], json!("Issue"), "{status_view}");
    assert!(
        !mapping("Rating")["problems"].as_array().unwrap().is_empty(),
        "the issue says why: {status_view}"
    );

    // Test sync over HTTP.
    let (status, run) = api
        .call(
            Method::POST,
            "/v1/connections/prod/test-sync",
            Some(&a_key),
            Some(json!({"objects": ["Lead"], "modified_within_hours": 1})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{run}");
    assert_eq!(run["kind"], json!("test_sync"));
    assert!(
        run["objects"]["Lead"]["fetched"].as_u64().unwrap() >= 1,
        "{run}"
    );
    // ...and it is the newest run in the history now.
    let runs = ok("runs", api.get("/v1/connections/prod/runs", &a_key).await);
    assert_eq!(runs["runs"].as_array().unwrap().len(), 3, "{runs}");
    assert_eq!(runs["runs"][0]["kind"], json!("test_sync"), "{runs}");
    assert_eq!(
        runs["runs"][0]["summary"]["objects"], run["objects"],
        "{runs}"
    );

    // Quota.
    let quota = ok("quota", api.get("/v1/connections/prod/quota", &a_key).await);
    assert_eq!(quota["connection"], json!("prod"));
    assert!(
        quota["crmsync_calls_today"].as_u64().unwrap() > 0,
        "{quota}"
    );
    assert_eq!(quota["paused"], json!(false));

    // The change feed, cursor-paged, only the caller's.
    let feed = ok(
        "changes",
        api.get("/v1/changes?after=0&limit=1", &a_key).await,
    );
    assert_eq!(feed["changes"].as_array().unwrap().len(), 1, "{feed}");
    assert_eq!(feed["has_more"], json!(true), "{feed}");
    let mut all = Vec::new();
    let mut after = 0;
    for _ in 0..50 {
        let page = ok(
            "changes",
            api.get(&format!("/v1/changes?after={after}&limit=2"), &a_key)
                .await,
        );
        all.extend(page["changes"].as_array().unwrap().iter().cloned());
        after = page["next_after"].as_u64().unwrap();
        if page["has_more"] != json!(true) {
            break;
        }
    }
    assert!(all.iter().any(|c| c["sf_id"] == json!(a_lead)), "{all:#?}");
    assert!(all.iter().all(|c| c["tenant"] == json!("acme")), "{all:#?}");
    assert!(!all.iter().any(|c| c["sf_id"] == json!(b_lead)), "{all:#?}");

    // No secret in any answer: refresh token, client secret, webhook secret.
    let refresh = s
        .app
        .stores
        .vault
        .get(&s.tenant, &s.conn("prod"))
        .await
        .unwrap()
        .expect("token stored")
        .token
        .refresh_token
        .expose()
        .to_string();
    let secrets = [
        refresh.as_str(),
        sf_emulator::demo::CLIENT_SECRET,
        s.credentials.webhook_secret.as_str(),
    ];
    for path in [
        "/v1/connections",
        "/v1/connections/prod",
        "/v1/connections/prod/runs",
        "/v1/connections/prod/reports?status=success",
        "/v1/connections/prod/reports?status=error",
        "/v1/connections/prod/config",
        "/v1/connections/prod/config/status",
        "/v1/connections/prod/quota",
        "/v1/changes?after=0&limit=1000",
    ] {
        let (_, body) = api.get(path, &a_key).await;
        let text = body.to_string();
        for secret in secrets {
            assert!(!text.contains(secret), "{path} leaks a secret");
        }
    }

    // Tenant B with its own key sees only its own world.
    let b_key = b_creds.api_key.as_str();
    let feed = ok(
        "changes",
        api.get("/v1/changes?after=0&limit=1000", b_key).await,
    );
    let b_changes = feed["changes"].as_array().unwrap();
    assert!(
        b_changes.iter().any(|c| c["sf_id"] == json!(b_lead)),
        "{feed}"
    );
    assert!(
        b_changes.iter().all(|c| c["tenant"] == json!("globex")),
        "{feed}"
    );
    let page = ok(
        "reports",
        api.get("/v1/connections/prod/reports?status=success", b_key)
            .await,
    );
    let ids: Vec<&str> = page["entries"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["event_id"].as_str())
        .collect();
    assert_eq!(ids, vec![b_ok_id.as_str()], "{page}");
    let page = ok(
        "reports",
        api.get("/v1/connections/prod/reports?status=error", b_key)
            .await,
    );
    assert!(page["entries"].as_array().unwrap().is_empty(), "{page}");
    let (status, body) = api
        .get(&format!("/v1/connections/prod/reports/{a_bad_id}"), b_key)
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "B read A's report: {body}");
    let (status, body) = api
        .call(
            Method::POST,
            &format!("/v1/connections/prod/reports/{a_ok_id}/repush"),
            Some(b_key),
            None,
        )
        .await;
    assert_eq!(
        status,
        StatusCode::NOT_FOUND,
        "B re-pushed A's event: {body}"
    );
    let b_cfg = ok(
        "config",
        api.get("/v1/connections/prod/config", b_key).await,
    );
    assert_ne!(
        b_cfg["config"]["poll_cap"],
        json!(250),
        "B sees A's config: {b_cfg}"
    );
    let b_list = ok("connections", api.get("/v1/connections", b_key).await);
    assert_eq!(b_list["connections"].as_array().unwrap().len(), 1);
    assert_eq!(
        b_list["connections"][0]["org_id"],
        json!(s.sf.org_id(SANDBOX_ORG).unwrap())
    );
    // B's run history holds B's polls only (not A's polls, not A's test sync), and A's
    // cursor does not page it.
    let b_runs = ok("runs", api.get("/v1/connections/prod/runs", b_key).await);
    let listed = b_runs["runs"].as_array().expect("a list");
    assert_eq!(listed.len(), 2, "B's two polls: {b_runs}");
    assert_run_is(&listed[0], b_poll);
    assert!(
        listed
            .iter()
            .all(|r| r["kind"] == json!("poll") && r["summary"]["tenant"] == json!("globex")),
        "B reads A's runs: {b_runs}"
    );
    let (status, body) = api
        .get(
            &format!("/v1/connections/prod/runs?limit=1&cursor={a_cursor}"),
            b_key,
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "B paged A's runs: {body}");
    let b_quota = ok("quota", api.get("/v1/connections/prod/quota", b_key).await);
    assert_eq!(b_quota["org_max"], json!(9_000), "B's org: {b_quota}");
    assert_eq!(quota["org_max"], json!(15_000), "A's org: {quota}");
}

/// A run of the history answers with the status and counts `run` finished with.
fn assert_run_is(listed: &Value, run: &crmsync_service::runs::RunSummary) {
    assert_eq!(listed["kind"], json!(run.kind.as_str()), "{listed}");
    assert_eq!(listed["status"], json!(run.status.as_str()), "{listed}");
    assert_eq!(listed["summary"]["tenant"], json!(run.tenant), "{listed}");
    assert_eq!(
        listed["summary"]["objects"],
        serde_json::to_value(&run.objects).unwrap(),
        "{listed}"
    );
    assert_eq!(
        listed["summary"]["api_calls"],
        json!(run.api_calls),
        "{listed}"
    );
    assert_eq!(listed["summary_truncated"], json!(false), "{listed}");
}
