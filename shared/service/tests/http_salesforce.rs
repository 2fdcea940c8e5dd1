//! Report API routes that read Salesforce (config status, lookup), against the emulator.
//! The connection is set up with minted tokens, as a finished OAuth callback would leave it.

mod http_common;

use axum::http::StatusCode;
use chrono::Utc;
use crmsync_salesforce::AccessToken;
use crmsync_service::http::report_router;
use crmsync_store::{Secret, StoredToken};
use http_common::*;
use serde_json::json;
use sf_emulator::{Emulator, EmulatorOptions};

async fn connected(app: &crmsync_service::App, emulator: &Emulator) {
    let tokens = emulator
        .admin()
        .mint_tokens("demo", sf_emulator::demo::USERNAME)
        .expect("tokens");
    let mut c = connection(app, "acme", "production").await;
    c.instance_url = emulator.base_url().trim_end_matches('/').to_string();
    c.login_url = emulator.login_url("demo").trim_end_matches('/').to_string();
    app.stores.connections.put(&c).await.unwrap();
    let token = StoredToken {
        refresh_token: Secret::new(tokens.refresh_token.clone()),
        instance_url: c.instance_url.clone(),
        issued_at: Utc::now(),
        metadata: Default::default(),
    };
    app.stores
        .vault
        .put(&c.tenant, &c.id, &token)
        .await
        .unwrap();
    app.salesforce
        .remember_access_token(&c.tenant, &c.id, AccessToken::new(tokens.access_token));
}

#[tokio::test]
async fn config_status_and_lookup_read_describe_and_records() {
    let emulator = tokio::time::timeout(
        std::time::Duration::from_secs(30),
        Emulator::start(EmulatorOptions::demo()),
    )
    .await
    .expect("emulator started in time")
    .expect("emulator");
    let app = app().await;
    let acme = tenant(&app, "acme").await;
    connected(&app, &emulator).await;
    let router = report_router(app.clone());
    let key = Some(acme.api_key.as_str());

    let status = call(
        &router,
        "GET",
        "/v1/connections/production/config/status",
        key,
        None,
    )
    .await;
    assert_eq!(status.status, StatusCode::OK, "{}", status.text);
    let mappings = status.json["mappings"].as_array().unwrap();
    assert!(!mappings.is_empty());
    assert!(
        mappings.iter().any(|m| m["object"] == "Lead"
            && m["salesforce_field"] == "LastName"
            && m["status"] == "Ok"),
        "{}",
        status.text
    );
    assert!(
        status.json["picklists"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["salesforce_field"] == "Industry")
    );

    let account_id = emulator
        .admin()
        .insert_record(
            "demo",
            "Account",
            json!({"Name": "O'Brien & Sons", "Phone": "+15550100"})
                .as_object()
                .unwrap()
                .clone(),
        )
        .expect("account");
    let found = call(
        &router,
        "GET",
        &format!("/v1/connections/production/lookup?object=Account&field=Id&value={account_id}"),
        key,
        None,
    )
    .await;
    assert_eq!(found.status, StatusCode::OK, "{}", found.text);
    assert_eq!(found.json["id"], account_id.as_str());
    assert_eq!(found.json["app_object"], "company");
    assert_eq!(
        found.json["fields"]["company_name"], "O'Brien & Sons",
        "{}",
        found.text
    );

    let r = call(
        &router,
        "GET",
        "/v1/connections/production/lookup?object=Account&field=Name&value=x",
        key,
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
    assert_eq!(r.error_field(), "field");
    let r = call(
        &router,
        "GET",
        "/v1/connections/production/lookup?object=Account&field=Nope__c&value=x",
        key,
        None,
    )
    .await;
    assert_eq!(r.error_field(), "field");
    let r = call(
        &router,
        "GET",
        "/v1/connections/production/lookup?object=Account&field=Id",
        key,
        None,
    )
    .await;
    assert_eq!(r.error_field(), "value");
    let r = call(
        &router,
        "GET",
        "/v1/connections/production/lookup?object=Account&field=Id&value=001000000000000AAA",
        key,
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.text);

    let r = call(
        &router,
        "POST",
        "/v1/connections/production/test-sync",
        key,
        Some(json!({"objects": ["Lead"], "colour": 1})),
    )
    .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
    assert_eq!(r.error_field(), "colour");
    // A filter on a field the object does not have is the caller's mistake: 400.
    let r = call(
        &router,
        "POST",
        "/v1/connections/production/test-sync",
        key,
        Some(json!({"objects": ["Lead"], "filter": {"NoSuchField__c": "x"}})),
    )
    .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
    assert_eq!(r.error_field(), "filter.NoSuchField__c", "{}", r.text);
    // So is a value that is not of the field's type; it names the field and the type.
    let r = call(
        &router,
        "POST",
        "/v1/connections/production/test-sync",
        key,
        Some(json!({"objects": ["Lead"], "filter": {"CreatedDate": "yesterday"}})),
    )
    .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
    assert_eq!(r.error_field(), "filter.CreatedDate", "{}", r.text);
    assert!(r.text.contains("date-time"), "{}", r.text);
    let run = call(
        &router,
        "POST",
        "/v1/connections/production/test-sync",
        key,
        Some(json!({"objects": ["Lead"], "modified_within_hours": 24, "limit": 5})),
    )
    .await;
    assert_eq!(run.status, StatusCode::OK, "{}", run.text);
    assert_eq!(run.json["kind"], "test_sync");
    assert_eq!(run.json["connection"], "production");
    emulator.shutdown().await;
}
