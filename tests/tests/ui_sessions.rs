//! The admin page over HTTP (the report router, as the report function serves it): its
//! files load without credentials, and its signed session tokens (`POST /v1/ui-sessions`,
//! then `Authorization: Session <token>`) act for their own tenant only, within their
//! connection, until they expire or the tenant's credentials are rotated.

use axum::http::{Method, StatusCode};
use crmsync_e2e::*;
use crmsync_service::{http, tenants};
use crmsync_store::{Environment, TenantId};
use serde_json::{Value, json};

e2e!(admin_page_sessions_are_scoped_and_expire);

async fn session(api: &Api, token: &str, method: Method, path: &str) -> (StatusCode, Value) {
    let auth = format!("Session {token}");
    let reply = api
        .send(method, path, &[("authorization", &auth)], None)
        .await;
    (reply.status, reply.body)
}

async fn mint(api: &Api, key: &str, body: Value) -> (StatusCode, Value) {
    let auth = format!("Bearer {key}");
    let reply = api
        .send(
            Method::POST,
            "/v1/ui-sessions",
            &[("authorization", &auth), ("host", "127.0.0.1:8787")],
            Some(body.to_string().into_bytes()),
        )
        .await;
    (reply.status, reply.body)
}

async fn admin_page_sessions_are_scoped_and_expire(backend: Backend) {
    let s = Stack::start(backend).await;
    let api = Api::new(http::report_router(s.app.clone()));
    let a_key = s.credentials.api_key.clone();
    let b = TenantId::new("globex").unwrap();
    tenants::create_tenant(&s.app, b.as_str(), "Globex")
        .await
        .unwrap();
    s.connect("prod", Environment::Production).await;
    s.connect_for(&b, "prod", Environment::Sandbox).await;

    // The page and its files need no credentials; unknown files are JSON 404s.
    let page = api.send(Method::GET, "/ui/", &[], None).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.text.contains("/ui/app.js"), "{}", page.text);
    let csp = page.headers["content-security-policy"].to_str().unwrap();
    assert!(csp.contains("script-src 'self'"), "{csp}");
    assert_eq!(
        api.send(Method::GET, "/ui", &[], None).await.text,
        page.text
    );
    let js = api.send(Method::GET, "/ui/app.js", &[], None).await;
    assert_eq!(js.status, StatusCode::OK);
    assert!(
        js.headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/javascript")
    );
    let missing = api.send(Method::GET, "/ui/nope.js", &[], None).await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    assert_eq!(missing.body["error"]["code"], json!("not_found"));

    // Minting needs the API key and a sane lifetime.
    let (status, body) = mint(&api, &a_key, json!({"ttl_seconds": 7200})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(body["error"]["field"], json!("ttl_seconds"));
    let (status, minted) = mint(&api, &a_key, json!({"connection": "prod"})).await;
    assert_eq!(status, StatusCode::CREATED, "{minted}");
    let token = minted["token"].as_str().unwrap().to_string();
    assert_eq!(
        minted["url"],
        json!(format!("http://127.0.0.1:8787/ui#session={token}"))
    );
    let expires: chrono::DateTime<chrono::Utc> =
        serde_json::from_value(minted["expires_at"].clone()).unwrap();
    // Whole seconds: the token carries unix seconds.
    let ttl = (expires - s.now()).num_milliseconds();
    assert!(
        (899_000..=900_000).contains(&ttl),
        "15 minutes by default: {ttl} ms"
    );

    // The session acts for its tenant: A's connection, never B's of the same name.
    let (status, one) = session(&api, &token, Method::GET, "/v1/connections/prod").await;
    assert_eq!(status, StatusCode::OK, "{one}");
    assert_eq!(one["org_id"], json!(s.sf.org_id(PROD_ORG).unwrap()));
    let (status, list) = session(&api, &token, Method::GET, "/v1/connections").await;
    assert_eq!(status, StatusCode::OK, "{list}");
    assert_eq!(list["connections"].as_array().unwrap().len(), 1, "{list}");
    let (status, _) = session(&api, &token, Method::GET, "/v1/connections/prod/config").await;
    assert_eq!(status, StatusCode::OK);

    // Relabelled to tenant B (whose secret signs B's tokens), the token is refused.
    let relabelled = token.replacen(&format!("v1.{}.", s.tenant.as_str()), "v1.globex.", 1);
    assert_ne!(relabelled, token);
    let (status, body) = session(&api, &relabelled, Method::GET, "/v1/connections/prod").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    assert!(
        !body.to_string().contains(&token[token.len() - 16..]),
        "no token in errors: {body}"
    );

    // Outside its scope: other connections, the change feed, credentials, minting.
    for (method, path) in [
        (Method::GET, "/v1/connections/sandbox"),
        (Method::GET, "/v1/changes"),
        (Method::POST, "/v1/credentials/rotate"),
        (Method::POST, "/v1/ui-sessions"),
    ] {
        let (status, body) = session(&api, &token, method.clone(), path).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{method} {path}: {body}");
    }

    // It expires.
    s.advance(chrono::Duration::minutes(15));
    let (status, body) = session(&api, &token, Method::GET, "/v1/connections/prod").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("expired"),
        "{body}"
    );

    // Rotating the tenant's credentials ends every session at once.
    let (_, minted) = mint(&api, &a_key, json!({})).await;
    let token = minted["token"].as_str().unwrap().to_string();
    let (status, _) = session(&api, &token, Method::GET, "/v1/changes").await;
    assert_eq!(
        status,
        StatusCode::OK,
        "a session for every connection reads the feed"
    );
    let (status, _) = api
        .call(Method::POST, "/v1/credentials/rotate", Some(&a_key), None)
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, body) = session(&api, &token, Method::GET, "/v1/connections").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
}
