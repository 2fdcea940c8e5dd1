//! Shared helpers for the HTTP tests: start an emulator, get tokens, call the API.
#![allow(dead_code)]

use serde_json::Value;
use sf_emulator::{Emulator, EmulatorOptions, OrgSpec, demo};
use std::time::Duration;

pub const V: &str = "v62.0";

pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(20))
        .build()
        .expect("client")
}

pub async fn start_demo() -> Emulator {
    Emulator::start(EmulatorOptions::demo())
        .await
        .expect("emulator starts")
}

/// A small org without demo data (fast) plus optional settings.
pub async fn start_small(spec: OrgSpec) -> Emulator {
    Emulator::start(EmulatorOptions::empty().with_org(spec))
        .await
        .expect("emulator starts")
}

pub async fn password_token(emu: &Emulator, alias: &str, username: &str, password: &str) -> Value {
    let resp = client()
        .post(format!("{}/services/oauth2/token", emu.login_url(alias)))
        .form(&[
            ("grant_type", "password"),
            ("client_id", demo::CLIENT_ID),
            ("client_secret", demo::CLIENT_SECRET),
            ("username", username),
            ("password", password),
        ])
        .send()
        .await
        .expect("token call");
    assert_eq!(resp.status(), 200);
    resp.json().await.expect("json")
}

/// An access token for the org's admin user.
pub fn token(emu: &Emulator, alias: &str, username: &str) -> String {
    emu.admin()
        .mint_tokens(alias, username)
        .expect("mint")
        .access_token
}

pub struct Api {
    pub base: String,
    pub token: String,
    pub http: reqwest::Client,
}

impl Api {
    pub fn new(emu: &Emulator, token: String) -> Self {
        Self {
            base: format!("{}/services/data/{V}", emu.base_url()),
            token,
            http: client(),
        }
    }
    pub fn url(&self, path: &str) -> String {
        format!("{}/{}", self.base, path.trim_start_matches('/'))
    }
    pub async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> (u16, Value, reqwest::header::HeaderMap) {
        let mut req = self
            .http
            .request(method, self.url(path))
            .bearer_auth(&self.token);
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await.expect("request");
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let text = resp.text().await.expect("body");
        let json = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or(Value::String(text))
        };
        (status, json, headers)
    }
    /// POST with one extra request header.
    pub async fn send_with_header(
        &self,
        path: &str,
        body: Value,
        (name, value): (&str, &str),
    ) -> (u16, Value, reqwest::header::HeaderMap) {
        let resp = self
            .http
            .post(self.url(path))
            .bearer_auth(&self.token)
            .header(name, value)
            .json(&body)
            .send()
            .await
            .expect("request");
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        (status, resp.json().await.unwrap_or(Value::Null), headers)
    }
    pub async fn get(&self, path: &str) -> (u16, Value) {
        let (s, b, _) = self.send(reqwest::Method::GET, path, None).await;
        (s, b)
    }
    pub async fn post(&self, path: &str, body: Value) -> (u16, Value) {
        let (s, b, _) = self.send(reqwest::Method::POST, path, Some(body)).await;
        (s, b)
    }
    pub async fn patch(&self, path: &str, body: Value) -> (u16, Value) {
        let (s, b, _) = self.send(reqwest::Method::PATCH, path, Some(body)).await;
        (s, b)
    }
    pub async fn delete(&self, path: &str) -> (u16, Value) {
        let (s, b, _) = self.send(reqwest::Method::DELETE, path, None).await;
        (s, b)
    }
    pub async fn query(&self, soql: &str) -> (u16, Value) {
        let resp = self
            .http
            .get(self.url("query"))
            .query(&[("q", soql)])
            .bearer_auth(&self.token)
            .send()
            .await
            .expect("query");
        let s = resp.status().as_u16();
        (s, resp.json().await.expect("json"))
    }
}

/// The errorCode of a top-level error array.
pub fn error_code(body: &Value) -> &str {
    body[0]["errorCode"].as_str().unwrap_or("<none>")
}
