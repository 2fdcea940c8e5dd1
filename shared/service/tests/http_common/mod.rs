//! Shared fixtures of the HTTP tests: an App on embedded stores, tenants, connections and
//! a one-shot request helper.
#![allow(dead_code)]

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use chrono::Utc;
use crmsync_service::tenants::{self, IssuedCredentials};
use crmsync_service::{App, AppCredentials, Settings};
use crmsync_store::{
    ConnectedUser, Connection, ConnectionId, ConnectionStatus, Environment, Stores, TenantId,
};
use serde_json::Value;
use tower::ServiceExt;

pub async fn app() -> Arc<App> {
    let stores = Stores::embedded(None).await.expect("embedded stores");
    let credentials = AppCredentials {
        client_id: "test-client".into(),
        client_secret: None,
    };
    Arc::new(App::new(Settings::default(), stores, credentials).expect("app"))
}

pub async fn tenant(app: &App, id: &str) -> IssuedCredentials {
    tenants::create_tenant(app, id, &format!("{id} Inc"))
        .await
        .expect("tenant")
}

pub fn tid(id: &str) -> TenantId {
    TenantId::new(id).unwrap()
}

pub fn cid(id: &str) -> ConnectionId {
    ConnectionId::new(id).unwrap()
}

/// A stored connection (no tokens: these tests never call Salesforce).
pub async fn connection(app: &App, tenant: &str, id: &str) -> Connection {
    let now = Utc::now();
    let c = Connection {
        tenant: tid(tenant),
        id: cid(id),
        status: ConnectionStatus::Connected,
        environment: Environment::Production,
        org_id: "00D000000000001".into(),
        org_name: format!("{tenant} org"),
        instance_url: "https://example.my.salesforce.com".into(),
        login_url: "https://login.salesforce.com".into(),
        user: ConnectedUser {
            id: "005000000000001".into(),
            username: "admin@example.com".into(),
            email: None,
        },
        secret_name: format!("crmsync/{tenant}/{id}"),
        last_sync_at: Some(now),
        last_poll_at: Some(now),
        poll_minutes: None,
        last_error: None,
        last_success_at: None,
        last_failure_at: None,
        last_error_code: None,
        created_at: now,
        updated_at: now,
        provisioning: None,
        sync_enabled: true,
    };
    app.stores.connections.put(&c).await.expect("connection");
    c
}

pub struct Reply {
    pub status: StatusCode,
    pub headers: axum::http::HeaderMap,
    pub json: Value,
    pub text: String,
}

impl Reply {
    /// The error body's field / code / message (panics with the body when absent).
    pub fn error_code(&self) -> &str {
        self.json["error"]["code"]
            .as_str()
            .unwrap_or_else(|| panic!("no error code in {}", self.text))
    }
    pub fn error_field(&self) -> &str {
        self.json["error"]["field"]
            .as_str()
            .unwrap_or_else(|| panic!("no error field in {}", self.text))
    }
}

pub async fn send(router: &Router, request: Request<Body>) -> Reply {
    let response = tokio::time::timeout(
        std::time::Duration::from_secs(20),
        router.clone().oneshot(request),
    )
    .await
    .expect("request finished in time")
    .expect("infallible");
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .expect("body");
    let text = String::from_utf8_lossy(&bytes).to_string();
    let json = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    Reply {
        status,
        headers,
        json,
        text,
    }
}

/// A JSON request with an optional bearer key.
pub async fn call(
    router: &Router,
    method: &str,
    uri: &str,
    key: Option<&str>,
    body: Option<Value>,
) -> Reply {
    let mut builder = Request::builder().method(method).uri(uri);
    if let Some(key) = key {
        builder = builder.header(header::AUTHORIZATION, format!("Bearer {key}"));
    }
    let body = match body {
        Some(v) => {
            builder = builder.header(header::CONTENT_TYPE, "application/json");
            Body::from(v.to_string())
        }
        None => Body::empty(),
    };
    send(router, builder.body(body).unwrap()).await
}
