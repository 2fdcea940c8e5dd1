//! getUpdated/getDeleted windows, the daily limit, faults, counters and the HTTP admin API.

mod common;

use chrono::{DateTime, Duration as CDuration, SecondsFormat, TimeZone, Utc};
use common::*;
use serde_json::{Value, json};
use sf_emulator::{FaultSpec, OrgSpec};
use std::time::Duration;

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 1, 12, 0, 30)
        .single()
        .expect("time")
}

fn iso(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

async fn setup() -> (sf_emulator::Emulator, Api) {
    let emu = start_small(OrgSpec::new("c").daily_api_limit(50)).await;
    emu.admin().freeze_clock(t0());
    let api = Api::new(&emu, token(&emu, "c", "admin@c.example"));
    (emu, api)
}

async fn feed(api: &Api, kind: &str, start: DateTime<Utc>, end: DateTime<Utc>) -> (u16, Value) {
    let resp = api
        .http
        .get(api.url(&format!("sobjects/Account/{kind}/")))
        .query(&[("start", iso(start)), ("end", iso(end))])
        .bearer_auth(&api.token)
        .send()
        .await
        .expect("feed");
    let s = resp.status().as_u16();
    (s, resp.json().await.expect("json"))
}

#[tokio::test]
async fn get_updated_and_get_deleted_windows() {
    let (emu, api) = setup().await;
    let (_, a) = api.post("sobjects/Account", json!({"Name": "A"})).await;
    let (_, b) = api.post("sobjects/Account", json!({"Name": "B"})).await;
    let (a, b) = (
        a["id"].as_str().unwrap_or("").to_string(),
        b["id"].as_str().unwrap_or("").to_string(),
    );
    emu.admin().advance_clock(Duration::from_secs(120));
    assert_eq!(api.delete(&format!("sobjects/Account/{b}")).await.0, 204);
    emu.admin().advance_clock(Duration::from_secs(120));
    let now = emu.admin().now();

    let (s, up) = feed(&api, "updated", t0() - CDuration::minutes(5), now).await;
    assert_eq!(s, 200, "{up}");
    assert_eq!(up["ids"], json!([a]));
    // seconds are truncated: latestDateCovered is on a whole minute
    let latest = up["latestDateCovered"].as_str().unwrap_or("");
    assert!(latest.ends_with(":00.000+0000"), "{latest}");
    let (s, del) = feed(&api, "deleted", t0() - CDuration::minutes(5), now).await;
    assert_eq!(s, 200);
    assert_eq!(del["deletedRecords"][0]["id"], b);
    assert!(del["deletedRecords"][0]["deletedDate"].is_string());
    assert!(del["earliestDateAvailable"].is_string());

    // start must precede end
    let (s, e) = feed(&api, "updated", now, now - CDuration::minutes(1)).await;
    assert_eq!((s, error_code(&e)), (400, "INVALID_REPLICATION_DATE"));
    // seconds truncation: 12:00:10 → 12:00:50 is an empty window
    let (s, _) = feed(
        &api,
        "updated",
        t0() - CDuration::seconds(20),
        t0() + CDuration::seconds(20),
    )
    .await;
    assert_eq!(s, 400);
    // windows: 30 days for updated, 15 for deleted
    let (s, _) = feed(&api, "updated", now - CDuration::days(29), now).await;
    assert_eq!(s, 200);
    let (s, e) = feed(&api, "updated", now - CDuration::days(31), now).await;
    assert_eq!((s, error_code(&e)), (400, "INVALID_REPLICATION_DATE"));
    let (s, e) = feed(&api, "deleted", now - CDuration::days(16), now).await;
    assert_eq!((s, error_code(&e)), (400, "INVALID_REPLICATION_DATE"));
    // too many ids
    emu.admin().set_change_id_limit("c", 0).expect("limit");
    let (s, e) = feed(&api, "updated", t0() - CDuration::minutes(5), now).await;
    assert_eq!((s, error_code(&e)), (400, "EXCEEDED_ID_LIMIT"));
}

#[tokio::test]
async fn daily_limit_header_and_exhaustion() {
    let (emu, api) = setup().await;
    let (s, _, h) = api.send(reqwest::Method::GET, "limits", None).await;
    assert_eq!(s, 200);
    assert_eq!(h["sforce-limit-info"], "api-usage=1/50; api-bursts=0/750");
    let (_, l) = api.get("limits").await;
    assert_eq!(l["DailyApiRequests"]["Max"], 50);
    assert_eq!(l["DailyApiRequests"]["Remaining"], 48);
    emu.admin().exhaust_api_limit("c").expect("exhaust");
    let (s, b, h) = api
        .send(reqwest::Method::GET, "query?q=SELECT+Id+FROM+Account", None)
        .await;
    assert_eq!(s, 403);
    assert_eq!(error_code(&b), "REQUEST_LIMIT_EXCEEDED");
    assert_eq!(h["sforce-limit-info"], "api-usage=50/50; api-bursts=0/750");
    // the allowance is a rolling 24 hours
    emu.admin().advance_clock(Duration::from_secs(25 * 3600));
    let api = Api::new(&emu, token(&emu, "c", "admin@c.example"));
    let (s, _, h) = api.send(reqwest::Method::GET, "limits", None).await;
    assert_eq!(s, 200);
    assert_eq!(h["sforce-limit-info"], "api-usage=1/50; api-bursts=0/750");
    emu.admin().set_api_used("c", 49).expect("set");
    assert_eq!(api.get("limits").await.0, 200);
    assert_eq!(api.get("limits").await.0, 403);
}

#[tokio::test]
async fn faults_and_counters() {
    let (emu, api) = setup().await;
    let admin = emu.admin();
    admin
        .set_faults("c", FaultSpec::none().errors(503, 1.0))
        .expect("faults");
    let (s, b) = api.get("limits").await;
    assert_eq!((s, error_code(&b)), (503, "SERVER_UNAVAILABLE"));
    admin
        .set_faults("c", FaultSpec::none().errors(500, 1.0))
        .expect("faults");
    assert_eq!(api.get("limits").await.0, 500);
    admin
        .set_faults("c", FaultSpec::none().lock_rows(1.0))
        .expect("faults");
    assert_eq!(api.get("limits").await.0, 200, "reads are not locked");
    let (s, b) = api.post("sobjects/Account", json!({"Name": "x"})).await;
    assert_eq!((s, error_code(&b)), (400, "UNABLE_TO_LOCK_ROW"));
    let (s, b) = api
        .post(
            "composite/sobjects",
            json!({"records": [{"attributes": {"type": "Account"}, "Name": "y"}]}),
        )
        .await;
    assert_eq!(s, 200);
    assert_eq!(b[0]["errors"][0]["statusCode"], "UNABLE_TO_LOCK_ROW");
    assert_eq!(admin.record_count("c", "Account").expect("n"), 0);
    admin
        .set_faults("c", FaultSpec::none().unauthorized(true))
        .expect("faults");
    let (s, b) = api.get("limits").await;
    assert_eq!((s, error_code(&b)), (401, "INVALID_SESSION_ID"));
    admin
        .set_faults("c", FaultSpec::none().latency(150))
        .expect("faults");
    let started = std::time::Instant::now();
    assert_eq!(api.get("limits").await.0, 200);
    assert!(started.elapsed() >= Duration::from_millis(150));
    admin.clear_faults("c").expect("clear");
    admin.revoke_tokens("c").expect("revoke");
    assert_eq!(api.get("limits").await.0, 401);

    let usage = admin.api_usage("c").expect("usage");
    // 503, 500, the unlocked read and the slow one count; 401s (forced or revoked) do not
    assert_eq!(usage.counters.get("limits"), Some(&4), "{usage:?}");
    assert_eq!(usage.used, 6);
    assert_eq!(usage.counters.get("sobject.create"), Some(&1));
    assert_eq!(usage.counters.get("collections.create"), Some(&1));
    assert_eq!(admin.api_count("c", "query").expect("count"), 0);
}

#[tokio::test]
async fn http_admin_api() {
    let (emu, api) = setup().await;
    let http = client();
    let admin = |p: &str| format!("{}/__admin{p}", emu.base_url());
    let orgs: Value = http
        .get(admin("/orgs"))
        .send()
        .await
        .expect("orgs")
        .json()
        .await
        .expect("json");
    assert_eq!(orgs[0]["alias"], "c");
    assert_eq!(orgs[0]["loginUrl"], emu.login_url("c"));

    let r = http
        .post(admin("/orgs/c/records/Account"))
        .json(&json!({"Name": "Seeded"}))
        .send()
        .await
        .expect("insert");
    assert_eq!(r.status(), 201);
    let id = r.json::<Value>().await.expect("json")["id"]
        .as_str()
        .unwrap_or("")
        .to_string();
    let late = http
        .post(admin("/orgs/c/commit-late/Account"))
        .json(&json!({"id": id, "fields": {"Name": "Late"}, "systemModstamp": "2026-02-01T00:00:00Z"}))
        .send()
        .await
        .expect("late");
    assert_eq!(late.status(), 200);
    let rec: Value = http
        .get(admin(&format!("/orgs/c/records/Account/{id}")))
        .send()
        .await
        .expect("get")
        .json()
        .await
        .expect("json");
    assert_eq!(rec["Name"], "Late");
    assert_eq!(rec["SystemModstamp"], "2026-02-01T00:00:00.000+0000");

    emu.admin().advance_clock(Duration::from_secs(2));
    let touched: Value = http
        .post(admin(&format!("/orgs/c/records/Account/{id}/touch")))
        .send()
        .await
        .expect("touch")
        .json()
        .await
        .expect("json");
    let rec: Value = http
        .get(admin(&format!("/orgs/c/records/Account/{id}")))
        .send()
        .await
        .expect("get")
        .json()
        .await
        .expect("json");
    assert_eq!(rec["SystemModstamp"], touched["systemModstamp"]);
    assert_eq!(
        rec["LastModifiedDate"], "2026-02-01T00:00:00.000+0000",
        "a system write leaves LastModifiedDate"
    );
    assert_ne!(rec["SystemModstamp"], rec["LastModifiedDate"]);

    let put = http
        .put(admin("/orgs/c/faults"))
        .json(&json!({"errorRate": 1.0, "errorStatus": 503}))
        .send()
        .await
        .expect("faults");
    assert_eq!(put.status(), 204);
    assert_eq!(api.get("limits").await.0, 503);
    assert_eq!(
        http.delete(admin("/orgs/c/faults"))
            .send()
            .await
            .expect("clear")
            .status(),
        204
    );
    assert_eq!(api.get("limits").await.0, 200);

    let clock: Value = http
        .post(admin("/clock/advance"))
        .json(&json!({"seconds": 3600}))
        .send()
        .await
        .expect("clock")
        .json()
        .await
        .expect("json");
    assert!(
        clock["now"]
            .as_str()
            .unwrap_or("")
            .starts_with("2026-03-01T13:00"),
        "{clock}"
    );

    let s = http
        .put(admin("/orgs/c/settings"))
        .json(&json!({"dailyApiLimit": 7, "rotateRefreshTokens": true}))
        .send()
        .await
        .expect("settings");
    assert_eq!(s.status(), 204);
    let usage: Value = http
        .get(admin("/orgs/c/usage"))
        .send()
        .await
        .expect("usage")
        .json()
        .await
        .expect("json");
    assert_eq!(usage["max"], 7);
    assert!(usage["counters"]["limits"].as_u64().unwrap_or(0) >= 2);

    let u = http
        .post(admin("/orgs/c/users"))
        .json(&json!({"username": "rep@c.example", "password": "pw", "lastName": "Rep"}))
        .send()
        .await
        .expect("user");
    assert_eq!(u.status(), 200);
    let t: Value = http
        .post(admin("/orgs/c/tokens"))
        .json(&json!({"username": "rep@c.example"}))
        .send()
        .await
        .expect("mint")
        .json()
        .await
        .expect("json");
    let rep = Api::new(&emu, t["access_token"].as_str().unwrap_or("").to_string());
    let (s, b) = rep
        .post("sobjects/Account", json!({"Name": "By rep"}))
        .await;
    assert_eq!(s, 201);
    let rec: Value = http
        .get(admin(&format!(
            "/orgs/c/records/Account/{}",
            b["id"].as_str().unwrap_or("")
        )))
        .send()
        .await
        .expect("get")
        .json()
        .await
        .expect("json");
    let rep_id = emu.admin().user_id("c", "rep@c.example").expect("id");
    assert_eq!(rec["OwnerId"], rep_id);

    assert_eq!(
        http.post(admin("/orgs/c/limit/exhaust"))
            .send()
            .await
            .expect("exhaust")
            .status(),
        204
    );
    assert_eq!(api.get("limits").await.0, 403);
    assert_eq!(
        http.post(admin("/orgs/nope/limit/exhaust"))
            .send()
            .await
            .expect("404")
            .status(),
        404
    );
}

#[tokio::test]
async fn seed_file_yaml_and_multiple_orgs() {
    let dir = std::env::temp_dir().join(format!("sf-emulator-seed-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let path = dir.join("seed.yaml");
    std::fs::write(
        &path,
        r#"
orgs:
  - alias: one
    name: Org One
    users: [{username: a@one.example, password: pw, lastName: A}]
    customObjects:
      - name: Invoice__c
        fields: [{name: Total__c, type: currency}]
    records:
      Account: [{Name: Seeded One}]
  - alias: two
    name: Org Two
    dailyApiLimit: 100
    users: [{username: b@two.example, password: pw, lastName: B}]
"#,
    )
    .expect("write");
    let opts = sf_emulator::EmulatorOptions::empty()
        .with_seed_file(&path)
        .expect("seed");
    let emu = sf_emulator::Emulator::start(opts).await.expect("start");
    let one = Api::new(&emu, token(&emu, "one", "a@one.example"));
    let two = Api::new(&emu, token(&emu, "two", "b@two.example"));
    let (_, b) = one.query("SELECT Name FROM Account").await;
    assert_eq!(b["records"][0]["Name"], "Seeded One");
    let (_, b) = two.query("SELECT Name FROM Account").await;
    assert_eq!(b["totalSize"], 0, "orgs are isolated");
    let (s, b) = one
        .post(
            "sobjects/Invoice__c",
            json!({"Name": "INV-1", "Total__c": 12.5}),
        )
        .await;
    assert_eq!(s, 201, "{b}");
    assert!(b["id"].as_str().unwrap_or("").starts_with("a00"));
    let (_, b) = two.query("SELECT Name FROM Organization").await;
    assert_eq!(b["records"][0]["Name"], "Org Two");
    let (_, _, h) = two.send(reqwest::Method::GET, "limits", None).await;
    assert_eq!(h["sforce-limit-info"], "api-usage=3/100; api-bursts=0/750");
    // a bad seed names the problem
    std::fs::write(
        &path,
        "orgs:\n  - alias: x\n    records:\n      Contact: [{FirstName: NoLast}]\n",
    )
    .expect("write");
    let err = sf_emulator::Emulator::start(
        sf_emulator::EmulatorOptions::empty()
            .with_seed_file(&path)
            .expect("parse"),
    )
    .await
    .expect_err("invalid seed");
    assert!(err.to_string().contains("records.Contact[0]"), "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn example_seed_and_json_seed_load() {
    let example = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("seeds/example.yaml");
    let opts = sf_emulator::EmulatorOptions::empty()
        .with_seed_file(&example)
        .expect("example seed parses");
    let emu = sf_emulator::Emulator::start(opts)
        .await
        .expect("example seed starts");
    let api = Api::new(&emu, token(&emu, "acme", "rep@acme.example"));
    let (s, b) = api.query("SELECT Name, Tier__c FROM Account").await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["records"][0]["Tier__c"], "Gold");
    let (s, b) = api
        .post(
            "sobjects/Invoice__c",
            json!({"Name": "I-1", "Status__c": "Lost"}),
        )
        .await;
    assert_eq!(
        (s, error_code(&b)),
        (400, "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST")
    );
    let (_, acct) = api.query("SELECT Id FROM Account").await;
    let acct_id = acct["records"][0]["Id"].as_str().unwrap_or("").to_string();
    let (s, b) = api
        .post(
            "sobjects/Invoice__c",
            json!({"Name": "I-2", "Status__c": "Paid", "Account__c": acct_id}),
        )
        .await;
    assert_eq!(s, 201, "{b}");
    assert!(b["id"].as_str().unwrap_or("").starts_with("a01"));
    let (_, b) = api
        .query("SELECT Name, Account__r.Name FROM Invoice__c")
        .await;
    assert_eq!(b["records"][0]["Account__r"]["Name"], "Acme Rockets");
    drop(emu);

    let dir = std::env::temp_dir().join(format!("sf-emulator-json-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let path = dir.join("seed.json");
    std::fs::write(&path, r#"{"orgs":[{"alias":"j","name":"Json Org","users":[{"username":"j@j.example","password":"pw"}]}]}"#).expect("write");
    let emu = sf_emulator::Emulator::start(
        sf_emulator::EmulatorOptions::empty()
            .with_seed_file(&path)
            .expect("json"),
    )
    .await
    .expect("start");
    let api = Api::new(&emu, token(&emu, "j", "j@j.example"));
    let (_, b) = api.query("SELECT Name FROM Organization").await;
    assert_eq!(b["records"][0]["Name"], "Json Org");
    std::fs::write(&path, r#"{"orgs":[{"alias":"j","dailyApiLimit":"lots"}]}"#).expect("write");
    let err = sf_emulator::EmulatorOptions::empty()
        .with_seed_file(&path)
        .expect_err("bad type");
    assert!(err.to_string().contains("seed.json"), "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}
