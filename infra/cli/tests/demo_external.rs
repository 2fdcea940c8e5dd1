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

    // The demo waits up to two minutes of real time for the delete log's minute grain.
    let out = tokio::time::timeout(Duration::from_secs(240), child.wait_with_output())
        .await
        .expect("demo finished in time")
        .unwrap();
    let _ = drain.await;
    assert!(out.status.success(), "{out:?}");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON summary");
    assert_eq!(v["connection_status"], "Connected");
    assert_eq!(v["emulated"], false);
    // The sweep ran for real: the demo deleted only its own probe record, waited for the
    // delete log to cover it, and getDeleted found it.
    let probe = &v["deleted"];
    // An app contact is written as a Lead until a demo is set (seed 003).
    let object = probe["object"].as_str().expect("probe object");
    let probe_id = probe["id"].as_str().expect("probe id");
    let admin = emu.admin();
    let org = sf_emulator::demo::ORG_ALIAS;
    let probe_now = admin.get_record(org, object, probe_id).unwrap();
    assert!(
        probe_now.is_none_or(|r| r.get("IsDeleted") == Some(&serde_json::json!(true))),
        "the probe is deleted"
    );
    assert!(admin.api_count(org, "getDeleted").unwrap() > 0);
    assert_eq!(
        v["sweep"]["objects"][object]["unlinked"], 1,
        "the sweep unlinked the probe: {:#}",
        v["sweep"]
    );
    assert_eq!(
        admin.api_count(org, "sobject.delete").unwrap(),
        1,
        "the demo deletes nothing but its probe"
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
