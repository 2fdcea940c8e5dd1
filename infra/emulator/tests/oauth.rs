//! OAuth: authorize + PKCE, code reuse, refresh rotation, revoke, expiry, identity.

mod common;

use base64::Engine;
use common::*;
use serde_json::Value;
use sf_emulator::{Emulator, EmulatorOptions, OrgSpec, demo};
use sha2::{Digest, Sha256};
use std::time::Duration;

const REDIRECT: &str = "http://127.0.0.1:9/callback";

fn challenge(verifier: &str) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

/// Runs authorize and returns the `code` from the redirect (checking `state`).
async fn authorize(emu: &Emulator, alias: &str, verifier: &str) -> String {
    let resp = client()
        .get(format!(
            "{}/services/oauth2/authorize",
            emu.login_url(alias)
        ))
        .query(&[
            ("response_type", "code"),
            ("client_id", demo::CLIENT_ID),
            ("redirect_uri", REDIRECT),
            ("state", "st-123"),
            ("code_challenge", &challenge(verifier)),
            ("code_challenge_method", "S256"),
        ])
        .send()
        .await
        .expect("authorize");
    assert_eq!(resp.status(), 302);
    let loc = resp.headers()["location"]
        .to_str()
        .expect("location")
        .to_string();
    assert!(loc.starts_with(REDIRECT), "{loc}");
    let url = url::Url::parse(&loc).expect("url");
    let q: std::collections::HashMap<_, _> = url.query_pairs().into_owned().collect();
    assert_eq!(q.get("state").map(String::as_str), Some("st-123"));
    q.get("code").cloned().expect("code")
}

async fn exchange(emu: &Emulator, alias: &str, code: &str, verifier: Option<&str>) -> (u16, Value) {
    let mut form = vec![
        ("grant_type", "authorization_code"),
        ("code", code),
        ("client_id", demo::CLIENT_ID),
        ("redirect_uri", REDIRECT),
    ];
    if let Some(v) = verifier {
        form.push(("code_verifier", v));
    }
    let resp = client()
        .post(format!("{}/services/oauth2/token", emu.login_url(alias)))
        .form(&form)
        .send()
        .await
        .expect("token");
    let s = resp.status().as_u16();
    (s, resp.json().await.expect("json"))
}

async fn refresh(emu: &Emulator, alias: &str, rt: &str) -> (u16, Value) {
    let resp = client()
        .post(format!("{}/services/oauth2/token", emu.login_url(alias)))
        .form(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", rt),
            ("client_id", demo::CLIENT_ID),
            ("client_secret", demo::CLIENT_SECRET),
        ])
        .send()
        .await
        .expect("refresh");
    let s = resp.status().as_u16();
    (s, resp.json().await.expect("json"))
}

fn small() -> OrgSpec {
    OrgSpec::new("acme").name("Acme")
}

#[tokio::test]
async fn pkce_flow_issues_salesforce_shaped_tokens() {
    let emu = start_small(small()).await;
    let code = authorize(
        &emu,
        "acme",
        "verifier-0123456789-abcdefghijklmnopqrstuvwxyz",
    )
    .await;
    let (s, body) = exchange(
        &emu,
        "acme",
        &code,
        Some("verifier-0123456789-abcdefghijklmnopqrstuvwxyz"),
    )
    .await;
    assert_eq!(s, 200, "{body}");
    for k in [
        "access_token",
        "refresh_token",
        "instance_url",
        "id",
        "signature",
        "scope",
    ] {
        assert!(body[k].is_string(), "missing {k}: {body}");
    }
    assert_eq!(body["token_type"], "Bearer");
    assert!(body.get("expires_in").is_none());
    let issued = body["issued_at"].as_str().expect("issued_at string");
    assert!(issued.len() >= 13 && issued.chars().all(|c| c.is_ascii_digit()));
    assert_eq!(body["instance_url"], emu.base_url());
    let org_id = emu.admin().org_id("acme").expect("org");
    assert!(
        body["id"]
            .as_str()
            .unwrap_or("")
            .contains(&format!("/id/{org_id}/005"))
    );

    // identity URL with the access token
    let at = body["access_token"].as_str().unwrap_or("");
    let ident: Value = client()
        .get(body["id"].as_str().unwrap_or(""))
        .bearer_auth(at)
        .send()
        .await
        .expect("identity")
        .json()
        .await
        .expect("json");
    assert_eq!(ident["organization_id"], org_id);
    assert_eq!(ident["username"], "admin@acme.example");
    assert!(
        ident["urls"]["rest"]
            .as_str()
            .unwrap_or("")
            .contains("/services/data/v{version}/")
    );
    let versioned: Value = client()
        .get(body["id"].as_str().unwrap_or(""))
        .query(&[("version", "62.0"), ("oauth_token", at)])
        .send()
        .await
        .expect("identity")
        .json()
        .await
        .expect("json");
    assert!(
        versioned["urls"]["rest"]
            .as_str()
            .unwrap_or("")
            .ends_with("/services/data/v62.0/")
    );
    let bad = client()
        .get(body["id"].as_str().unwrap_or(""))
        .bearer_auth("nope")
        .send()
        .await
        .expect("identity");
    assert_eq!(bad.status(), 403);
    let info: Value = client()
        .get(format!(
            "{}/services/oauth2/userinfo",
            emu.login_url("acme")
        ))
        .bearer_auth(at)
        .send()
        .await
        .expect("userinfo")
        .json()
        .await
        .expect("json");
    assert_eq!(info["preferred_username"], "admin@acme.example");
    // the org name a connector reads after connecting
    let api = Api::new(&emu, at.to_string());
    let (s, q) = api.query("SELECT Name FROM Organization").await;
    assert_eq!(s, 200);
    assert_eq!(q["records"][0]["Name"], "Acme");
}

#[tokio::test]
async fn bad_or_missing_verifier_and_reused_code_are_invalid_grant() {
    let emu = start_small(small()).await;
    let code = authorize(&emu, "acme", "right-verifier-right-verifier-right-verifier").await;
    let (s, body) = exchange(
        &emu,
        "acme",
        &code,
        Some("wrong-verifier-wrong-verifier-wrong-verifier"),
    )
    .await;
    assert_eq!(s, 400);
    assert_eq!(body["error"], "invalid_grant", "{body}");
    assert!(body["error_description"].is_string());

    let code = authorize(&emu, "acme", "right-verifier-right-verifier-right-verifier").await;
    let (s, body) = exchange(&emu, "acme", &code, None).await;
    assert_eq!((s, body["error"].as_str()), (400, Some("invalid_grant")));

    let v = "another-verifier-another-verifier-another";
    let code = authorize(&emu, "acme", v).await;
    assert_eq!(exchange(&emu, "acme", &code, Some(v)).await.0, 200);
    let (s, body) = exchange(&emu, "acme", &code, Some(v)).await;
    assert_eq!(
        (s, body["error"].as_str()),
        (400, Some("invalid_grant")),
        "reused code"
    );
}

#[tokio::test]
async fn expired_code_is_rejected() {
    let emu = start_small(small()).await;
    let v = "expiring-verifier-expiring-verifier-expiring";
    let code = authorize(&emu, "acme", v).await;
    emu.admin().advance_clock(Duration::from_secs(16 * 60));
    let (s, body) = exchange(&emu, "acme", &code, Some(v)).await;
    assert_eq!(s, 400);
    assert_eq!(body["error_description"], "expired authorization code");
}

#[tokio::test]
async fn refresh_with_rotation_retires_the_old_token() {
    let emu = start_small(small().rotate_refresh_tokens(true)).await;
    let v = "rotation-verifier-rotation-verifier-rotation";
    let code = authorize(&emu, "acme", v).await;
    let (_, first) = exchange(&emu, "acme", &code, Some(v)).await;
    let rt1 = first["refresh_token"].as_str().expect("rt").to_string();
    let (s, second) = refresh(&emu, "acme", &rt1).await;
    assert_eq!(s, 200, "{second}");
    let rt2 = second["refresh_token"]
        .as_str()
        .expect("rotated rt")
        .to_string();
    assert_ne!(rt1, rt2);
    let (s, body) = refresh(&emu, "acme", &rt1).await;
    assert_eq!((s, body["error"].as_str()), (400, Some("invalid_grant")));
    assert_eq!(body["error_description"], "expired access/refresh token");
    assert_eq!(refresh(&emu, "acme", &rt2).await.0, 200);
}

#[tokio::test]
async fn refresh_without_rotation_omits_refresh_token_and_sandbox_host_is_separate() {
    let emu = Emulator::start(
        EmulatorOptions::empty()
            .with_org(OrgSpec::new("prod"))
            .with_org(OrgSpec::new("sbx").sandbox(true)),
    )
    .await
    .expect("start");
    let prod = emu
        .admin()
        .mint_tokens("prod", "admin@prod.example")
        .expect("mint");
    let sbx = emu
        .admin()
        .mint_tokens("sbx", "admin@sbx.example")
        .expect("mint");
    let (s, body) = refresh(&emu, "prod", &prod.refresh_token).await;
    assert_eq!(s, 200);
    assert!(body.get("refresh_token").is_none(), "{body}");
    // the root login host is production: a sandbox token is refused there
    let resp = client()
        .post(format!("{}/services/oauth2/token", emu.base_url()))
        .form(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", sbx.refresh_token.as_str()),
            ("client_id", demo::CLIENT_ID),
        ])
        .send()
        .await
        .expect("refresh");
    assert_eq!(resp.status(), 400);
    assert_eq!(refresh(&emu, "sbx", &sbx.refresh_token).await.0, 200);
}

#[tokio::test]
async fn access_tokens_expire_and_revoke_works() {
    let emu = Emulator::start(
        EmulatorOptions::empty()
            .with_org(small())
            .access_token_ttl(Duration::from_secs(600)),
    )
    .await
    .expect("start");
    let t = emu
        .admin()
        .mint_tokens("acme", "admin@acme.example")
        .expect("mint");
    let api = Api::new(&emu, t.access_token.clone());
    assert_eq!(api.get("limits").await.0, 200);
    emu.admin().advance_clock(Duration::from_secs(601));
    let (s, body) = api.get("limits").await;
    assert_eq!(s, 401);
    assert_eq!(error_code(&body), "INVALID_SESSION_ID");
    assert_eq!(body[0]["message"], "Session expired or invalid");

    // refresh still works, then revoke the refresh token: it and its sessions die
    let (s, fresh) = refresh(&emu, "acme", &t.refresh_token).await;
    assert_eq!(s, 200);
    let api = Api::new(
        &emu,
        fresh["access_token"].as_str().unwrap_or("").to_string(),
    );
    assert_eq!(api.get("limits").await.0, 200);
    let resp = client()
        .post(format!("{}/services/oauth2/revoke", emu.login_url("acme")))
        .form(&[("token", t.refresh_token.as_str())])
        .send()
        .await
        .expect("revoke");
    assert_eq!(resp.status(), 200);
    assert_eq!(refresh(&emu, "acme", &t.refresh_token).await.0, 400);
    assert_eq!(api.get("limits").await.0, 401);
}

#[tokio::test]
async fn password_grant_login_form_and_chunked_token_body() {
    let emu = start_small(small().auto_approve(false)).await;
    let body = password_token(&emu, "acme", "admin@acme.example", "demo").await;
    assert!(body.get("refresh_token").is_none());
    // trailing slash on the token endpoint
    let resp = client()
        .post(format!("{}/services/oauth2/token/", emu.login_url("acme")))
        .form(&[
            ("grant_type", "password"),
            ("client_id", demo::CLIENT_ID),
            ("client_secret", demo::CLIENT_SECRET),
            ("username", "admin@acme.example"),
            ("password", "demo"),
        ])
        .send()
        .await
        .expect("token");
    assert_eq!(resp.status(), 200);
    let resp = client()
        .post(format!("{}/services/oauth2/token", emu.login_url("acme")))
        .form(&[
            ("grant_type", "password"),
            ("client_id", demo::CLIENT_ID),
            ("client_secret", demo::CLIENT_SECRET),
            ("username", "admin@acme.example"),
            ("password", "nope"),
        ])
        .send()
        .await
        .expect("token");
    assert_eq!(resp.status(), 400);
    let e: Value = resp.json().await.expect("json");
    assert_eq!(e["error"], "invalid_grant");
    assert_eq!(e["error_description"], "authentication failure");

    // no auto-approve: authorize shows a login form; posting credentials redirects with a code
    let url = format!("{}/services/oauth2/authorize", emu.login_url("acme"));
    let params = [
        ("response_type", "code"),
        ("client_id", demo::CLIENT_ID),
        ("redirect_uri", REDIRECT),
        ("state", "s1"),
    ];
    let page = client()
        .get(&url)
        .query(&params)
        .send()
        .await
        .expect("page");
    assert_eq!(page.status(), 200);
    assert!(page.text().await.unwrap_or_default().contains("<form"));
    let mut form: Vec<(&str, &str)> = params.to_vec();
    form.push(("username", "admin@acme.example"));
    form.push(("password", "demo"));
    let resp = client().post(&url).form(&form).send().await.expect("login");
    assert_eq!(resp.status(), 302);
    let loc = resp.headers()["location"]
        .to_str()
        .unwrap_or("")
        .to_string();
    let code = url::Url::parse(&loc)
        .expect("url")
        .query_pairs()
        .find(|(k, _)| k == "code")
        .map(|(_, v)| v.into_owned())
        .expect("code");

    // a chunked body (no Content-Length) with the client secret instead of PKCE
    let form_body = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs([
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("client_id", demo::CLIENT_ID),
            ("client_secret", demo::CLIENT_SECRET),
            ("redirect_uri", REDIRECT),
        ])
        .finish();
    let stream = chunked(form_body.into_bytes());
    let resp = client()
        .post(format!("{}/services/oauth2/token", emu.login_url("acme")))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(reqwest::Body::wrap_stream(stream))
        .send()
        .await
        .expect("chunked token");
    assert_eq!(resp.status(), 200);
    let tok: Value = resp.json().await.expect("json");
    assert!(tok["refresh_token"].is_string());
}

/// A two-chunk body stream (forces `Transfer-Encoding: chunked`).
fn chunked(
    bytes: Vec<u8>,
) -> impl futures::Stream<Item = Result<Vec<u8>, std::io::Error>> + Send + 'static {
    let mid = bytes.len() / 2;
    let (a, b) = bytes.split_at(mid);
    futures::stream::iter(vec![Ok(a.to_vec()), Ok(b.to_vec())])
}
