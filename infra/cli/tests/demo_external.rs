//! `crmsync demo --sf-login-url`: the demo against an org it does not run itself. The
//! emulator stands in for that org; the test plays the person who opens the printed
//! authorize URL (the emulator approves at once and redirects to the demo's callback).

use std::process::Stdio;
use std::time::Duration;

use sf_emulator::{Emulator, EmulatorOptions};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::Command;

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_against_another_org_waits_for_the_person_to_authorize() {
    let emu = Emulator::start(EmulatorOptions::demo()).await.unwrap();
    let redirect = format!("http://127.0.0.1:{}/oauth/callback", free_port());
    let mut child = Command::new(env!("CARGO_BIN_EXE_crmsync"))
        .args([
            "demo",
            "--sf-login-url",
            &emu.login_url(sf_emulator::demo::ORG_ALIAS),
            "--client-id",
            sf_emulator::demo::CLIENT_ID,
            "--redirect-url",
            &redirect,
            "--json",
        ])
        .env("CRMSYNC_SF_CLIENT_SECRET", sf_emulator::demo::CLIENT_SECRET)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("crmsync demo starts");

    // Find the authorize URL the demo prints for a person.
    let stderr = child.stderr.take().unwrap();
    let mut lines = BufReader::new(stderr).lines();
    let url = tokio::time::timeout(Duration::from_secs(60), async {
        while let Some(line) = lines.next_line().await.unwrap() {
            let line = line.trim();
            if line.starts_with("http") && line.contains("/services/oauth2/authorize") {
                return line.to_string();
            }
        }
        panic!("the demo ended without printing an authorize URL");
    })
    .await
    .expect("authorize URL printed in time");
    assert!(
        url.starts_with(&emu.login_url(sf_emulator::demo::ORG_ALIAS)),
        "{url}"
    );
    let drain = tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });

    // "Open" it: the emulator redirects to the demo's callback listener.
    let landed = reqwest::get(&url)
        .await
        .expect("authorize and callback answer");
    assert!(landed.status().is_success(), "{:?}", landed.status());
    assert!(landed.url().as_str().starts_with(&redirect));

    let out = tokio::time::timeout(Duration::from_secs(90), child.wait_with_output())
        .await
        .expect("demo finished in time")
        .unwrap();
    let _ = drain.await;
    assert!(out.status.success(), "{out:?}");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON summary");
    assert_eq!(v["connection_status"], "Connected");
    assert_eq!(v["emulated"], false);
    assert!(
        v["deleted"].is_null(),
        "nothing is deleted in an org the demo does not own"
    );
    assert!(
        v["full_sync"]["total"]["objects"]["Contact"]["fetched"]
            .as_u64()
            .unwrap()
            > 0
    );
    assert!(
        emu.admin()
            .record_count(sf_emulator::demo::ORG_ALIAS, "Lead")
            .unwrap()
            > sf_emulator::demo_seed::LEADS,
        "the pushed Leads reached the org"
    );
    emu.shutdown().await;
}
