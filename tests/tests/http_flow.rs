//! The whole product loop over the HTTP routers the Lambdas serve: the app's signed connect
//! link → Salesforce authorize → OAuth callback → back to the app; signed `POST /events`
//! (bad signatures and bad events refused by name); connect, credential rotation and
//! disconnect through the report API. Disconnect stops the sync and keeps what was synced.

use axum::http::{Method, StatusCode};
use crmsync_e2e::*;
use crmsync_service::http::{self, ConnectLink, connect_link_url};
use crmsync_service::runs::RunStatus;
use crmsync_service::{poll, signing};
use crmsync_store::{ConnectionStatus, Environment, ReportStatus};
use serde_json::json;
use url::Url;

e2e!(connect_ingest_and_disconnect_over_http);

async fn connect_ingest_and_disconnect_over_http(backend: Backend) {
    let s = Stack::start(backend).await;
    let oauth = Api::new(http::oauth_router(s.app.clone()));
    let ingest = Api::new(http::ingest_router(s.app.clone()));
    let report = Api::new(http::report_router(s.app.clone()));
    let secret = s.credentials.webhook_secret.clone();
    let key = s.credentials.api_key.clone();

    // The app signs a connect link for its admin.
    let base = Url::parse("https://crmsync.example").unwrap();
    let link = ConnectLink {
        tenant: s.tenant.clone(),
        connection: s.conn("prod"),
        environment: Environment::Production,
        return_to: Some("https://app.example/settings".into()),
        issued_at: s.now().timestamp(),
    };
    let url = connect_link_url(&base, &secret, &link);
    let path = &url[url::Position::BeforePath..];
    let start = oauth.send(Method::GET, path, &[], None).await;
    assert_eq!(start.status, StatusCode::FOUND, "{}", start.text);
    let authorize = Url::parse(start.location()).unwrap();
    assert!(
        authorize
            .as_str()
            .starts_with(&s.emulator.login_url(PROD_ORG)),
        "{authorize}"
    );
    assert!(
        authorize
            .query_pairs()
            .any(|(k, v)| k == "code_challenge_method" && v == "S256"),
        "PKCE: {authorize}"
    );

    // A tampered link is refused.
    let tampered = path.replace("connection=prod", "connection=evil");
    let refused = oauth.send(Method::GET, &tampered, &[], None).await;
    assert_eq!(refused.status, StatusCode::UNAUTHORIZED, "{}", refused.text);

    // Salesforce sends the admin back; crmsync finishes and returns to the app.
    let (code, state) = s.authorize(&authorize).await;
    let callback = format!(
        "/oauth/callback?code={}&state={}",
        urlencode(&code),
        urlencode(&state)
    );
    let back = oauth.send(Method::GET, &callback, &[], None).await;
    assert_eq!(back.status, StatusCode::FOUND, "{}", back.text);
    let back_to = Url::parse(back.location()).unwrap();
    assert_eq!(back_to.host_str(), Some("app.example"));
    assert!(
        back_to
            .query_pairs()
            .any(|(k, v)| k == "status" && v == "connected")
    );
    assert_eq!(
        s.connection("prod").await.status,
        ConnectionStatus::Connected
    );
    // Replaying the callback shows an error page that leaks nothing.
    let replay = oauth.send(Method::GET, &callback, &[], None).await;
    assert!(replay.status.is_client_error(), "{}", replay.text);
    assert!(!replay.text.contains(&code) && !replay.text.contains(&state));

    // The app posts signed events.
    let event = app_event(
        "create",
        "contact",
        "app-http-1",
        s.now(),
        json!({"last_name": "Http", "phone": "+1 555 1400", "company_name": "Http Co",
               "email": "http@http.example"}),
    );
    let body = serde_json::to_vec(&json!({"connection": "prod", "events": [event]})).unwrap();
    let sig = signing::sign(&secret, s.now().timestamp(), &body);
    let headers = [
        (signing::TENANT_HEADER, s.tenant.as_str()),
        (signing::SIGNATURE_HEADER, sig.as_str()),
    ];
    let accepted = ingest
        .send(Method::POST, "/events", &headers, Some(body.clone()))
        .await;
    assert_eq!(accepted.status, StatusCode::ACCEPTED, "{}", accepted.text);
    assert_eq!(accepted.body["accepted"], json!(1));
    let forged = signing::sign("not-the-secret", s.now().timestamp(), &body);
    let refused = ingest
        .send(
            Method::POST,
            "/events",
            &[
                (signing::TENANT_HEADER, s.tenant.as_str()),
                (signing::SIGNATURE_HEADER, forged.as_str()),
            ],
            Some(body.clone()),
        )
        .await;
    assert_eq!(refused.status, StatusCode::UNAUTHORIZED, "{}", refused.text);
    let mut bad = event_without_app_id(&s);
    bad["kind"] = json!("create");
    let bad_body = serde_json::to_vec(&json!({"connection": "prod", "events": [bad]})).unwrap();
    let bad_sig = signing::sign(&secret, s.now().timestamp(), &bad_body);
    let refused = ingest
        .send(
            Method::POST,
            "/events",
            &[
                (signing::TENANT_HEADER, s.tenant.as_str()),
                (signing::SIGNATURE_HEADER, bad_sig.as_str()),
            ],
            Some(bad_body),
        )
        .await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST, "{}", refused.text);
    assert!(
        refused.text.contains("events[0].app_id"),
        "{}",
        refused.text
    );

    let drained = s.drain_push().await;
    assert_eq!(
        drained.outcomes.len(),
        1,
        "only the accepted event: {drained:#?}"
    );
    assert_eq!(s.count(PROD_ORG, "Lead", "LastName = 'Http'").await, 1);
    s.poll("prod").await;

    // Connect through the report API gives an authorize URL for the tenant's own connection.
    let (status, started) = report
        .call(
            Method::POST,
            "/v1/connections/sbx/connect",
            Some(&key),
            Some(json!({"env": "sandbox"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{started}");
    assert!(
        started["authorize_url"]
            .as_str()
            .unwrap()
            .starts_with(&s.emulator.login_url(SANDBOX_ORG)),
        "{started}"
    );

    // Rotating credentials: the new key works, the old one stops.
    let (status, rotated) = report
        .call(Method::POST, "/v1/credentials/rotate", Some(&key), None)
        .await;
    assert_eq!(status, StatusCode::OK, "{rotated}");
    let new_key = rotated["api_key"].as_str().unwrap().to_string();
    assert_ne!(new_key, key);
    let (status, _) = report.get("/v1/connections", &key).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    ok("connections", report.get("/v1/connections", &new_key).await);

    // Disconnect: the sync stops, nothing synced is deleted.
    let links_before = s
        .app
        .stores
        .links
        .get_by_app(&s.tenant, &s.conn("prod"), "contact.Lead", "app-http-1")
        .await
        .unwrap();
    assert!(links_before.is_some());
    let (status, after) = report
        .call(
            Method::POST,
            "/v1/connections/prod/disconnect",
            Some(&new_key),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{after}");
    assert_eq!(after["status"], json!("Disconnected"));
    assert!(
        s.sf.api_count(PROD_ORG, "oauth.revoke").unwrap() >= 1,
        "token revoked"
    );
    let run = poll::poll_connection(&s.app, &s.tenant, &s.conn("prod"))
        .await
        .unwrap();
    assert_eq!(run.status, RunStatus::NotConnected);
    let late = app_event(
        "update",
        "contact",
        "app-http-1",
        s.now(),
        json!({"last_name": "Http", "title": "After disconnect"}),
    );
    let late_id = late["event_id"].as_str().unwrap().to_string();
    // (rotation also replaced the webhook secret)
    let new_secret = rotated["webhook_secret"].as_str().unwrap().to_string();
    assert_ne!(new_secret, secret);
    s.send_events_as(&s.tenant, &new_secret, "prod", vec![late])
        .await;
    s.drain_push().await;
    let r = s.report("prod", &late_id).await.expect("reported");
    assert_eq!(r.status, ReportStatus::Error, "{r:#?}");
    assert_eq!(r.code.as_deref(), Some("DISCONNECTED"));
    assert_eq!(s.count(PROD_ORG, "Lead", "LastName = 'Http'").await, 1);
    assert!(
        s.app
            .stores
            .links
            .get_by_app(&s.tenant, &s.conn("prod"), "contact.Lead", "app-http-1")
            .await
            .unwrap()
            .is_some(),
        "links (what was synced) are kept"
    );
    assert!(
        !s.changes_after(0).await.is_empty(),
        "the change feed is kept"
    );
}

fn event_without_app_id(s: &Stack) -> serde_json::Value {
    let mut e = app_event(
        "create",
        "contact",
        "x",
        s.now(),
        json!({"last_name": "Bad"}),
    );
    e["app_id"] = json!("");
    e
}

fn urlencode(v: &str) -> String {
    url::form_urlencoded::byte_serialize(v.as_bytes()).collect()
}
