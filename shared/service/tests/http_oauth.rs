//! The browser side of connect: signed connect links and the OAuth callback's error pages.
//! (A full callback against the Salesforce emulator is in the end-to-end tests.)

mod http_common;

use axum::http::StatusCode;
use crmsync_service::http::{ConnectLink, connect_link_url, local_router, oauth_router};
use crmsync_store::Environment;
use http_common::*;
use url::Url;

fn link(return_to: Option<&str>, issued_at: i64) -> ConnectLink {
    ConnectLink {
        tenant: tid("acme"),
        connection: cid("sandbox-1"),
        environment: Environment::Sandbox,
        return_to: return_to.map(str::to_string),
        issued_at,
    }
}

fn path_and_query(url: &Url) -> String {
    format!("{}?{}", url.path(), url.query().unwrap_or_default())
}

#[tokio::test]
async fn a_signed_link_redirects_to_salesforce_and_tampering_is_refused() {
    let app = app().await;
    let acme = tenant(&app, "acme").await;
    let router = oauth_router(app.clone());
    let base = Url::parse("https://oauth.example/").unwrap();
    let now = chrono::Utc::now().timestamp();
    let good = connect_link_url(
        &base,
        &acme.webhook_secret,
        &link(Some("https://app.example/done"), now),
    );

    let r = call(&router, "GET", &path_and_query(&good), None, None).await;
    assert_eq!(r.status, StatusCode::FOUND, "{}", r.text);
    let location = Url::parse(r.headers["location"].to_str().unwrap()).unwrap();
    assert_eq!(
        location.host_str(),
        Some("test.salesforce.com"),
        "sandbox logs in on the test host"
    );
    let q: std::collections::HashMap<_, _> = location.query_pairs().into_owned().collect();
    assert_eq!(q["client_id"], "test-client");
    assert_eq!(q["code_challenge_method"], "S256");
    assert!(!q["state"].is_empty());
    // The state is stored bound to the tenant, connection and return address.
    let pending = app
        .stores
        .oauth_states
        .take(&q["state"])
        .await
        .unwrap()
        .expect("state stored");
    assert_eq!(pending.tenant, tid("acme"));
    assert_eq!(pending.connection, cid("sandbox-1"));
    assert_eq!(
        pending.return_to.as_deref(),
        Some("https://app.example/done")
    );

    // Another return address than the one signed, another secret, an old link.
    let tampered = path_and_query(&good).replace("app.example", "evil.example");
    let forged = connect_link_url(&base, "whsec_guess", &link(None, now));
    let old = connect_link_url(&base, &acme.webhook_secret, &link(None, now - 11 * 60));
    for uri in [tampered, path_and_query(&forged), path_and_query(&old)] {
        let r = call(&router, "GET", &uri, None, None).await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{uri}: {}", r.text);
        assert!(
            r.text.contains("<html>") || r.text.contains("<!doctype html>"),
            "{}",
            r.text
        );
    }
    let r = call(
        &router,
        "GET",
        "/connect/acme?env=prod&t=1&sig=00",
        None,
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(r.text.contains("env"), "{}", r.text);
}

#[tokio::test]
async fn callback_errors_are_small_html_pages() {
    let app = app().await;
    let router = oauth_router(app);
    let r = call(&router, "GET", "/oauth/callback?error=access_denied&error_description=end-user+denied+authorization&state=s1", None, None).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(
        r.text.contains("access_denied") && r.text.contains("end-user denied"),
        "{}",
        r.text
    );
    assert_eq!(r.headers["cache-control"], "no-store");

    let r = call(&router, "GET", "/oauth/callback?state=s1", None, None).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(r.text.contains("code"), "{}", r.text);

    let r = call(
        &router,
        "GET",
        "/oauth/callback?code=abc&state=never-issued&sfdc_community_url=x",
        None,
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{}", r.text);
    assert!(
        !r.text.contains("abc"),
        "the code is not echoed: {}",
        r.text
    );
}

#[tokio::test]
async fn the_local_router_serves_every_route_once() {
    let app = app().await;
    let acme = tenant(&app, "acme").await;
    let router = local_router(app);
    assert_eq!(
        call(&router, "GET", "/health", None, None).await.status,
        StatusCode::OK
    );
    assert_eq!(
        call(&router, "GET", "/v1/connections", Some(&acme.api_key), None)
            .await
            .status,
        StatusCode::OK
    );
    assert_eq!(
        call(&router, "POST", "/events", None, None).await.status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        call(&router, "GET", "/oauth/callback", None, None)
            .await
            .status,
        StatusCode::BAD_REQUEST
    );
    let r = call(&router, "GET", "/nope", None, None).await;
    assert_eq!(
        (r.status, r.error_code()),
        (StatusCode::NOT_FOUND, "not_found")
    );
}
