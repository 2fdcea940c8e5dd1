//! Calling the axum routers in process (`tower::ServiceExt::oneshot`), as API Gateway would.

use axum::body::Body;
use axum::http::{HeaderMap, Method, Request, StatusCode};
use serde_json::Value;
use tower::ServiceExt;

/// A reply: status, headers and the body (JSON when it parses, else a string).
#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Value,
    pub text: String,
}

impl Reply {
    /// The `Location` header of a redirect.
    pub fn location(&self) -> &str {
        self.headers
            .get(axum::http::header::LOCATION)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_else(|| panic!("no Location: {self:?}"))
    }
}

/// One router under test.
#[derive(Clone)]
pub struct Api {
    router: axum::Router,
}

impl Api {
    pub fn new(router: axum::Router) -> Self {
        Self { router }
    }

    /// Sends one request; `headers` are extra `(name, value)` pairs.
    pub async fn send(
        &self,
        method: Method,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<Vec<u8>>,
    ) -> Reply {
        let mut req = Request::builder().method(method).uri(path);
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let req = match body {
            Some(b) => req
                .header("content-type", "application/json")
                .body(Body::from(b)),
            None => req.body(Body::empty()),
        }
        .expect("request builds");
        let reply = self
            .router
            .clone()
            .oneshot(req)
            .await
            .expect("the router answers");
        let status = reply.status();
        let headers = reply.headers().clone();
        let bytes = axum::body::to_bytes(reply.into_body(), 4 * 1024 * 1024)
            .await
            .expect("body reads");
        let text = String::from_utf8_lossy(&bytes).into_owned();
        let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        Reply {
            status,
            headers,
            body,
            text,
        }
    }

    /// A JSON call with an optional bearer key; returns status and JSON body.
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        key: Option<&str>,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let auth = key.map(|k| format!("Bearer {k}"));
        let headers: Vec<(&str, &str)> = auth
            .as_deref()
            .map(|a| vec![("authorization", a)])
            .unwrap_or_default();
        let reply = self
            .send(
                method,
                path,
                &headers,
                body.map(|b| b.to_string().into_bytes()),
            )
            .await;
        if !reply.text.is_empty() && reply.body.is_null() {
            panic!("{path}: not JSON: {}", reply.text);
        }
        (reply.status, reply.body)
    }

    pub async fn get(&self, path: &str, key: &str) -> (StatusCode, Value) {
        self.call(Method::GET, path, Some(key), None).await
    }
}

/// Asserts a 200 and returns the body.
pub fn ok(path: &str, (status, body): (StatusCode, Value)) -> Value {
    assert_eq!(status, StatusCode::OK, "{path}: {body}");
    body
}
