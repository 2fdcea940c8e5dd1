//! `crmsync dev` as a person would use it: start it, click the connect link, watch the poll
//! run, send a signed event, read its report, stop it with Ctrl-C.

use std::process::Stdio;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

const STEP: Duration = Duration::from_secs(60);

struct Banner {
    api: String,
    api_key: String,
    webhook_secret: String,
}

async fn read_banner(child: &mut Child) -> Banner {
    let stdout = child.stdout.take().expect("piped stdout");
    let mut lines = BufReader::new(stdout).lines();
    let mut api = None;
    let mut api_key = None;
    let mut webhook_secret = None;
    let read = async {
        while let Some(line) = lines.next_line().await.expect("stdout readable") {
            let words: Vec<&str> = line.split_whitespace().collect();
            match words.as_slice() {
                ["API", url] => api = Some(url.to_string()),
                ["API", "key", key] => api_key = Some(key.to_string()),
                ["webhook", "secret", s] => webhook_secret = Some(s.to_string()),
                _ => {}
            }
            if line.contains("Ctrl-C stops") {
                break;
            }
        }
    };
    tokio::time::timeout(STEP, read)
        .await
        .expect("banner printed in time");
    Banner {
        api: api.expect("API line"),
        api_key: api_key.expect("a new tenant's API key"),
        webhook_secret: webhook_secret.expect("a new tenant's webhook secret"),
    }
}

async fn eventually<F, Fut>(what: &str, mut check: F) -> serde_json::Value
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<serde_json::Value>>,
{
    let deadline = tokio::time::Instant::now() + STEP;
    loop {
        if let Some(v) = check().await {
            return v;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{what} did not happen within {STEP:?}"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dev_serves_connect_poll_ingest_reports_and_stops_on_ctrl_c() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_crmsync"))
        .args([
            "dev",
            "--port",
            "0",
            "--emulator-port",
            "0",
            "--in-memory",
            "--poll-every",
            "1s",
            "--sweep-every",
            "1h",
        ])
        .env("CRMSYNC_DEV_OPERATOR_KEY", "dev-operator-key-0123456789")
        .env("RUST_LOG", "warn")
        .env_remove("CRMSYNC_SF_CLIENT_ID")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("crmsync dev starts");
    let banner = read_banner(&mut child).await;
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap();

    // The connect link runs the whole OAuth flow through the emulator and lands on the callback.
    let page = http
        .get(format!("{}/dev/connect", banner.api))
        .send()
        .await
        .unwrap();
    assert!(page.status().is_success(), "{:?}", page.status());
    assert!(page.url().path().ends_with("/oauth/callback"));
    assert!(page.text().await.unwrap().contains("connected"));

    let auth = format!("Bearer {}", banner.api_key);
    // A new connection starts with its sync off; the admin turns it on.
    let switched: serde_json::Value = http
        .post(format!("{}/v1/connections/production/sync", banner.api))
        .header("authorization", auth.clone())
        .header("content-type", "application/json")
        .body(r#"{"enabled": true}"#)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(switched["sync_enabled"], true, "{switched}");
    let connection = eventually("the first poll", || {
        let (http, auth, api) = (http.clone(), auth.clone(), banner.api.clone());
        async move {
            let v: serde_json::Value = http
                .get(format!("{api}/v1/connections"))
                .header("authorization", auth)
                .send()
                .await
                .ok()?
                .json()
                .await
                .ok()?;
            let c = v["connections"][0].clone();
            (c["status"] == "Connected" && !c["last_sync_at"].is_null()).then_some(c)
        }
    })
    .await;
    assert_eq!(connection["org_name"], "Demo Company");

    // A signed event goes through ingest and the background push.
    let body = serde_json::json!({
        "connection": "production",
        "events": [{
            "event_id": "dev-ev-1", "kind": "create", "app_object": "contact", "app_id": "dev-c-1",
            "occurred_at": "2026-01-01T00:00:00Z",
            "fields": {"first_name": "Ada", "last_name": "Byron", "phone": "+44 20 7946 0999",
                       "email": "ada.byron@engines.example", "company_name": "Analytical Engines"}
        }]
    })
    .to_string();
    let t = chrono::Utc::now().timestamp();
    let sig = crmsync_service::signing::sign(&banner.webhook_secret, t, body.as_bytes());
    let accepted = http
        .post(format!("{}/events", banner.api))
        .header("content-type", "application/json")
        .header("x-crmsync-tenant", "demo")
        .header("x-crmsync-signature", sig)
        .body(body)
        .send()
        .await
        .unwrap();
    assert!(
        accepted.status().is_success(),
        "{:?}",
        accepted.text().await
    );
    let report = eventually("the event's success report", || {
        let (http, auth, api) = (http.clone(), auth.clone(), banner.api.clone());
        async move {
            let v: serde_json::Value = http
                .get(format!("{api}/v1/connections/production/reports/dev-ev-1"))
                .header("authorization", auth)
                .send()
                .await
                .ok()?
                .json()
                .await
                .ok()?;
            (v.to_string().contains("success")).then_some(v)
        }
    })
    .await;
    assert!(report.to_string().contains("dev-ev-1"), "{report}");

    // The operator API is on with the given key, and only with it.
    let create = |key: &'static str| {
        http.post(format!("{}/admin/tenants", banner.api))
            .header("authorization", format!("Bearer {key}"))
            .json(&serde_json::json!({"tenant_id": "second", "name": "Second Co"}))
            .send()
    };
    assert_eq!(
        create("not-the-operator-key-000").await.unwrap().status(),
        401
    );
    let created = create("dev-operator-key-0123456789").await.unwrap();
    assert_eq!(created.status(), 201);
    let issued: serde_json::Value = created.json().await.unwrap();
    assert_eq!(issued["tenant_id"], "second");
    assert!(issued["api_key"].as_str().is_some_and(|k| !k.is_empty()));

    // Ctrl-C stops it cleanly.
    let pid = child.id().expect("running").to_string();
    let status = std::process::Command::new("kill")
        .args(["-INT", &pid])
        .status()
        .unwrap();
    assert!(status.success());
    let exit = tokio::time::timeout(Duration::from_secs(20), child.wait())
        .await
        .expect("stopped within 20 s after Ctrl-C")
        .unwrap();
    assert!(exit.success(), "{exit:?}");
}
