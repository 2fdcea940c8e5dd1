//! Bulk API 2.0 conformance: query jobs (states, CSV, locators, maxRecords, version), ingest
//! jobs (upload, UploadComplete, per-record results), strict errors and API metering.

mod common;

use common::*;
use serde_json::{Map, Value, json};
use sf_emulator::OrgSpec;

async fn setup(contacts: usize) -> (sf_emulator::Emulator, Api) {
    let emu = start_small(OrgSpec::new("b")).await;
    let rows = (0..contacts)
        .map(|i| {
            let mut m = Map::new();
            m.insert("LastName".into(), json!(format!("Doe, \"{i}\"")));
            m.insert("Email".into(), json!(format!("c{i}@x.example")));
            m
        })
        .collect();
    emu.admin()
        .insert_records("b", "Contact", rows)
        .expect("seed");
    let api = Api::new(&emu, token(&emu, "b", "admin@b.example"));
    (emu, api)
}

async fn raw(
    api: &Api,
    method: reqwest::Method,
    path: &str,
    content_type: &str,
    body: &str,
) -> (u16, String, reqwest::header::HeaderMap) {
    let resp = api
        .http
        .request(method, api.url(path))
        .bearer_auth(&api.token)
        .header("content-type", content_type)
        .body(body.to_string())
        .send()
        .await
        .expect("send");
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    (status, resp.text().await.expect("text"), headers)
}

async fn get(api: &Api, path: &str) -> (u16, String, reqwest::header::HeaderMap) {
    let resp = api
        .http
        .get(api.url(path))
        .bearer_auth(&api.token)
        .send()
        .await
        .expect("get");
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    (status, resp.text().await.expect("text"), headers)
}

fn header<'a>(h: &'a reqwest::header::HeaderMap, name: &str) -> &'a str {
    h.get(name).and_then(|v| v.to_str().ok()).unwrap_or("")
}

async fn create_query(api: &Api, body: Value) -> (u16, Value) {
    let (s, text, _) = raw(
        api,
        reqwest::Method::POST,
        "jobs/query",
        "application/json",
        &body.to_string(),
    )
    .await;
    (s, serde_json::from_str(&text).expect("json"))
}

#[tokio::test]
async fn a_query_job_goes_through_its_states_and_pages_by_locator() {
    let (emu, api) = setup(25).await;
    let (s, job) = create_query(
        &api,
        json!({"operation": "query", "query": "SELECT Id, LastName, Email FROM Contact"}),
    )
    .await;
    assert_eq!(s, 200, "{job}");
    assert_eq!(job["state"], "UploadComplete");
    assert_eq!(job["object"], "Contact");
    assert_eq!(job["columnDelimiter"], "COMMA");
    assert_eq!(job["lineEnding"], "LF");
    let id = job["id"].as_str().unwrap().to_string();
    assert!(id.starts_with("750"), "{id}");

    // Results before JobComplete are refused.
    let (s, text, _) = get(&api, &format!("jobs/query/{id}/results")).await;
    assert_eq!(s, 400, "{text}");
    assert!(text.contains("INVALIDJOBSTATE"), "{text}");

    let (_, info, _) = get(&api, &format!("jobs/query/{id}")).await;
    let info: Value = serde_json::from_str(&info).unwrap();
    assert_eq!(info["state"], "InProgress");
    let (_, info, _) = get(&api, &format!("jobs/query/{id}")).await;
    let info: Value = serde_json::from_str(&info).unwrap();
    assert_eq!(info["state"], "JobComplete");
    assert_eq!(info["numberRecordsProcessed"], 25);

    let mut locator: Option<String> = None;
    let mut rows = Vec::new();
    let mut sets = 0;
    loop {
        let path = match &locator {
            Some(l) => format!("jobs/query/{id}/results?maxRecords=10&locator={l}"),
            None => format!("jobs/query/{id}/results?maxRecords=10"),
        };
        let (s, body, h) = get(&api, &path).await;
        assert_eq!(s, 200, "{body}");
        assert_eq!(header(&h, "content-type"), "text/csv");
        let mut r = csv::Reader::from_reader(body.as_bytes());
        assert_eq!(
            r.headers().unwrap().iter().collect::<Vec<_>>(),
            ["Id", "LastName", "Email"]
        );
        let set: Vec<csv::StringRecord> = r.records().map(Result::unwrap).collect();
        assert_eq!(header(&h, "sforce-numberofrecords"), set.len().to_string());
        rows.extend(set);
        sets += 1;
        match header(&h, "sforce-locator") {
            "null" => break,
            l => locator = Some(l.to_string()),
        }
    }
    assert_eq!(sets, 3);
    assert_eq!(rows.len(), 25);
    assert!(rows.iter().any(|r| &r[1] == "Doe, \"7\""), "quotes survive");
    // A locator can be read again and gives the same set.
    let (_, again, _) = get(
        &api,
        &format!("jobs/query/{id}/results?maxRecords=10&locator=MTA="),
    )
    .await;
    assert!(
        again
            .lines()
            .nth(1)
            .unwrap()
            .contains(&rows[10][0].to_string())
    );
    // Each request was one metered call: create, 1 early results, 2 infos, 3 sets, 1 reread.
    let admin = emu.admin();
    assert_eq!(admin.api_count("b", "bulk.query.create").unwrap(), 1);
    assert_eq!(admin.api_count("b", "bulk.query.info").unwrap(), 2);
    assert_eq!(admin.api_count("b", "bulk.query.results").unwrap(), 5);
    assert_eq!(admin.api_usage("b").unwrap().used, 8);
}

#[tokio::test]
async fn query_jobs_are_validated_strictly() {
    let (_emu, api) = setup(1).await;
    for (body, code) in [
        (
            json!({"operation": "query", "query": "SELECT COUNT() FROM Contact"}),
            "INVALIDJOB",
        ),
        (
            json!({"operation": "query", "query": "SELECT Id FROM Contact LIMIT 5 OFFSET 2"}),
            "INVALIDJOB",
        ),
        (
            json!({"operation": "upsert", "query": "SELECT Id FROM Contact"}),
            "INVALIDJOB",
        ),
        (json!({"operation": "query"}), "INVALIDJOB"),
        (
            json!({"operation": "query", "query": "SELECT Nope__c FROM Contact"}),
            "INVALID_FIELD",
        ),
        (
            json!({"operation": "query", "query": "SELECT Id FROM Contact", "columnDelimiter": "SPACE"}),
            "INVALIDJOB",
        ),
        (
            json!({"operation": "query", "query": "SELECT Id FROM Contact", "lineEnding": "CR"}),
            "INVALIDJOB",
        ),
        (
            json!({"operation": "query", "query": "SELECT Id FROM Contact", "contentType": "JSON"}),
            "INVALIDJOB",
        ),
        (
            json!({"operation": "query", "query": "SELECT Id FROM Contact", "colour": "red"}),
            "JSON_PARSER_ERROR",
        ),
    ] {
        let (s, v) = create_query(&api, body.clone()).await;
        assert_eq!(s, 400, "{body} → {v}");
        assert_eq!(v[0]["errorCode"], code, "{body} → {v}");
    }
    let (s, text, _) = raw(
        &api,
        reqwest::Method::POST,
        "jobs/query",
        "text/plain",
        r#"{"operation":"query","query":"SELECT Id FROM Contact"}"#,
    )
    .await;
    assert_eq!(s, 415, "{text}");
    let (s, _, _) = get(&api, "jobs/query/750000000000000AAA").await;
    assert_eq!(s, 404);
}

#[tokio::test]
async fn results_need_the_jobs_api_version_and_a_valid_locator() {
    let (_emu, api) = setup(3).await;
    let (_, job) = create_query(
        &api,
        json!({"operation": "query", "query": "SELECT Id FROM Contact", "columnDelimiter": "PIPE", "lineEnding": "CRLF"}),
    )
    .await;
    let id = job["id"].as_str().unwrap().to_string();
    get(&api, &format!("jobs/query/{id}")).await;
    get(&api, &format!("jobs/query/{id}")).await;
    let other = api.base.replace("v62.0", "v61.0");
    let resp = api
        .http
        .get(format!("{other}/jobs/query/{id}/results"))
        .bearer_auth(&api.token)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 409);
    let (s, _, _) = get(&api, &format!("jobs/query/{id}/results?locator=bogus")).await;
    assert_eq!(s, 400);
    let (s, _, _) = get(&api, &format!("jobs/query/{id}/results?maxRecords=0")).await;
    assert_eq!(s, 400);
    let (s, body, h) = get(&api, &format!("jobs/query/{id}/results")).await;
    assert_eq!(s, 200);
    assert_eq!(header(&h, "sforce-locator"), "null");
    assert!(body.starts_with("\"Id\"\r\n\""), "{body:?}");
    // Abort after completion is refused as a real org does.
    let (s, text, _) = raw(
        &api,
        reqwest::Method::PATCH,
        &format!("jobs/query/{id}"),
        "application/json",
        r#"{"state":"Aborted"}"#,
    )
    .await;
    assert_eq!(s, 400);
    assert!(
        text.contains("Aborting already Completed Job not allowed"),
        "{text}"
    );
    let (s, _, _) = raw(
        &api,
        reqwest::Method::DELETE,
        &format!("jobs/query/{id}"),
        "application/json",
        "",
    )
    .await;
    assert_eq!(s, 204);
    let (s, _, _) = get(&api, &format!("jobs/query/{id}")).await;
    assert_eq!(s, 404);
}

async fn ingest_job(api: &Api, body: Value) -> String {
    let (s, text, _) = raw(
        api,
        reqwest::Method::POST,
        "jobs/ingest",
        "application/json",
        &body.to_string(),
    )
    .await;
    assert_eq!(s, 200, "{text}");
    let v: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(v["state"], "Open");
    assert!(v["contentUrl"].as_str().unwrap().ends_with("/batches"));
    v["id"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn an_insert_job_reports_each_record() {
    let (emu, api) = setup(0).await;
    let id = ingest_job(
        &api,
        json!({"object": "Contact", "operation": "insert", "lineEnding": "LF"}),
    )
    .await;
    let batches = format!("jobs/ingest/{id}/batches");
    let (s, _, _) = raw(
        &api,
        reqwest::Method::PUT,
        &batches,
        "application/json",
        "LastName\nA\n",
    )
    .await;
    assert_eq!(s, 415, "an upload must be text/csv");
    let csv_data = "LastName,Email\nAda,ada@x.example\n,blank@x.example\nBob,bob@x.example\n";
    let (s, _, _) = raw(&api, reqwest::Method::PUT, &batches, "text/csv", csv_data).await;
    assert_eq!(s, 201);
    let (s, text, _) = raw(
        &api,
        reqwest::Method::PATCH,
        &format!("jobs/ingest/{id}"),
        "application/json",
        r#"{"state":"UploadComplete"}"#,
    )
    .await;
    assert_eq!(s, 200, "{text}");
    // No more data once upload is complete.
    let (s, text, _) = raw(&api, reqwest::Method::PUT, &batches, "text/csv", csv_data).await;
    assert_eq!(s, 400);
    assert!(text.contains("INVALIDJOBSTATE"));
    let (_, info, _) = get(&api, &format!("jobs/ingest/{id}")).await;
    assert!(info.contains("\"InProgress\""), "{info}");
    let (_, info, _) = get(&api, &format!("jobs/ingest/{id}")).await;
    let info: Value = serde_json::from_str(&info).unwrap();
    assert_eq!(info["state"], "JobComplete");
    assert_eq!(info["numberRecordsProcessed"], 3);
    assert_eq!(info["numberRecordsFailed"], 1);

    let (_, ok, _) = get(&api, &format!("jobs/ingest/{id}/successfulResults/")).await;
    let mut r = csv::Reader::from_reader(ok.as_bytes());
    assert_eq!(
        r.headers().unwrap().iter().collect::<Vec<_>>(),
        ["sf__Id", "sf__Created", "LastName", "Email"]
    );
    let ok: Vec<csv::StringRecord> = r.records().map(Result::unwrap).collect();
    assert_eq!(ok.len(), 2);
    assert_eq!(&ok[0][1], "true");
    let created = emu.admin().get_record("b", "Contact", &ok[0][0]).unwrap();
    assert_eq!(created.unwrap()["LastName"], "Ada");

    let (_, failed, _) = get(&api, &format!("jobs/ingest/{id}/failedResults/")).await;
    let mut r = csv::Reader::from_reader(failed.as_bytes());
    assert_eq!(
        r.headers().unwrap().iter().collect::<Vec<_>>(),
        ["sf__Id", "sf__Error", "LastName", "Email"]
    );
    let failed: Vec<csv::StringRecord> = r.records().map(Result::unwrap).collect();
    assert_eq!(failed.len(), 1);
    assert!(
        failed[0][1].starts_with("REQUIRED_FIELD_MISSING"),
        "{:?}",
        &failed[0]
    );
    assert_eq!(&failed[0][3], "blank@x.example");
    assert_eq!(emu.admin().record_count("b", "Contact").unwrap(), 2);
}

#[tokio::test]
async fn an_unknown_column_fails_the_job_and_leaves_rows_unprocessed() {
    let (emu, api) = setup(0).await;
    let id = ingest_job(&api, json!({"object": "Contact", "operation": "insert"})).await;
    raw(
        &api,
        reqwest::Method::PUT,
        &format!("jobs/ingest/{id}/batches"),
        "text/csv",
        "LastName,Shoe__c\nA,42\n",
    )
    .await;
    raw(
        &api,
        reqwest::Method::PATCH,
        &format!("jobs/ingest/{id}"),
        "application/json",
        r#"{"state":"UploadComplete"}"#,
    )
    .await;
    let (_, info, _) = get(&api, &format!("jobs/ingest/{id}")).await;
    let info: Value = serde_json::from_str(&info).unwrap();
    assert_eq!(info["state"], "Failed");
    assert!(info["errorMessage"].as_str().unwrap().contains("Shoe__c"));
    let (_, rows, _) = get(&api, &format!("jobs/ingest/{id}/unprocessedrecords/")).await;
    assert_eq!(rows.lines().count(), 2, "{rows}");
    assert_eq!(emu.admin().record_count("b", "Contact").unwrap(), 0);
    // Upsert needs its external id field.
    let (s, text, _) = raw(
        &api,
        reqwest::Method::POST,
        "jobs/ingest",
        "application/json",
        r#"{"object":"Contact","operation":"upsert"}"#,
    )
    .await;
    assert_eq!(s, 400, "{text}");
}

#[tokio::test]
async fn an_ingest_job_takes_one_upload_in_its_line_ending() {
    let (emu, api) = setup(0).await;
    let close = |id: String| {
        let api = &api;
        async move {
            raw(
                api,
                reqwest::Method::PATCH,
                &format!("jobs/ingest/{id}"),
                "application/json",
                r#"{"state":"UploadComplete"}"#,
            )
            .await
        }
    };
    // A second PUT to the same job is refused, as a real org does.
    let id = ingest_job(&api, json!({"object": "Contact", "operation": "insert"})).await;
    let batches = format!("jobs/ingest/{id}/batches");
    let (s, _, _) = raw(
        &api,
        reqwest::Method::PUT,
        &batches,
        "text/csv",
        "LastName\nA\n",
    )
    .await;
    assert_eq!(s, 201);
    let (s, text, _) = raw(
        &api,
        reqwest::Method::PUT,
        &batches,
        "text/csv",
        "LastName\nB\n",
    )
    .await;
    assert_eq!(s, 400, "{text}");
    assert!(text.contains("Found multiple contents for job"), "{text}");
    // CRLF data in an LF job: the job fails when closed, nothing is written.
    let id = ingest_job(&api, json!({"object": "Contact", "operation": "insert"})).await;
    let batches = format!("jobs/ingest/{id}/batches");
    let (s, _, _) = raw(
        &api,
        reqwest::Method::PUT,
        &batches,
        "text/csv",
        "LastName\r\nCrlf\r\n",
    )
    .await;
    assert_eq!(s, 201);
    close(id.clone()).await;
    let (_, info, _) = get(&api, &format!("jobs/ingest/{id}")).await;
    let info: Value = serde_json::from_str(&info).unwrap();
    assert_eq!(info["state"], "Failed");
    assert_eq!(
        info["errorMessage"],
        "ClientInputError : LineEnding is invalid on user data. Current LineEnding setting is LF"
    );
    assert_eq!(emu.admin().record_count("b", "Contact").unwrap(), 0);
    // The same data in a CRLF job with a semicolon delimiter goes in.
    let id = ingest_job(
        &api,
        json!({"object": "Contact", "operation": "insert", "lineEnding": "CRLF", "columnDelimiter": "SEMICOLON"}),
    )
    .await;
    let batches = format!("jobs/ingest/{id}/batches");
    raw(
        &api,
        reqwest::Method::PUT,
        &batches,
        "text/csv",
        "LastName;Title\r\nCrlf;\"A;B\"\r\n",
    )
    .await;
    close(id.clone()).await;
    get(&api, &format!("jobs/ingest/{id}")).await;
    let (_, info, _) = get(&api, &format!("jobs/ingest/{id}")).await;
    assert!(info.contains("\"JobComplete\""), "{info}");
    let (_, ok, _) = get(&api, &format!("jobs/ingest/{id}/successfulResults/")).await;
    assert!(
        ok.starts_with("\"sf__Id\";\"sf__Created\";\"LastName\";\"Title\"\r\n")
            || ok.starts_with("sf__Id;sf__Created;LastName;Title\r\n"),
        "{ok:?}"
    );
    assert_eq!(emu.admin().record_count("b", "Contact").unwrap(), 1);
}
