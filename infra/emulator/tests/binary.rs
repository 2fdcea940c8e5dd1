//! The `sf-emulator` binary: `--help` documents seeding, the admin API and faults; it serves
//! the demo org on the given port.

use std::process::Stdio;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, BufReader};

const BIN: &str = env!("CARGO_BIN_EXE_sf-emulator");

#[tokio::test]
async fn help_documents_seeding_admin_api_and_faults() {
    let out = tokio::time::timeout(
        Duration::from_secs(30),
        tokio::process::Command::new(BIN).arg("--help").output(),
    )
    .await
    .expect("in time")
    .expect("runs");
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    for needle in [
        "--port",
        "--seed-file",
        "SEEDING",
        "ADMIN API",
        "FAULTS",
        "/__admin/orgs/{alias}/faults",
        "commit-late",
        "admin@demo.example",
        "crmsync-demo",
    ] {
        assert!(text.contains(needle), "--help lacks {needle}:\n{text}");
    }
}

#[tokio::test]
async fn serves_the_demo_org() {
    let mut child = tokio::process::Command::new(BIN)
        .args(["--port", "0"])
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("spawn");
    let stdout = child.stdout.take().expect("stdout");
    let mut lines = BufReader::new(stdout).lines();
    let first = tokio::time::timeout(Duration::from_secs(30), lines.next_line())
        .await
        .expect("starts in time")
        .expect("read")
        .expect("a line");
    let base = first.rsplit(' ').next().expect("url").trim().to_string();
    assert!(base.starts_with("http://127.0.0.1:"), "{first}");
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .expect("client");
    let tok: serde_json::Value = http
        .post(format!("{base}/services/oauth2/token"))
        .form(&[
            ("grant_type", "password"),
            ("client_id", "crmsync-demo"),
            ("client_secret", "demo-secret"),
            ("username", "admin@demo.example"),
            ("password", "demo"),
        ])
        .send()
        .await
        .expect("token")
        .json()
        .await
        .expect("json");
    let at = tok["access_token"].as_str().expect("token");
    let q: serde_json::Value = http
        .get(format!("{base}/services/data/v62.0/query"))
        .query(&[("q", "SELECT COUNT() FROM Lead")])
        .bearer_auth(at)
        .send()
        .await
        .expect("query")
        .json()
        .await
        .expect("json");
    assert_eq!(q["totalSize"], sf_emulator::demo_seed::LEADS);
    child.kill().await.expect("stop");
}
