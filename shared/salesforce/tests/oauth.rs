//! OAuth: authorize URL per login host, refresh with and without rotation, revoke, identity.

mod common;

use std::collections::HashMap;

use common::{Harness, ORG, USER, bounded};
use crmsync_salesforce::{
    LoginHost, LoginHosts, OAuthClient, OAuthConfig, RefreshToken, Revocable, build_http_client,
};
use url::Url;

fn params(url: &Url) -> HashMap<String, String> {
    url.query_pairs().into_owned().collect()
}

#[test]
fn authorize_url_per_login_host() {
    let http = build_http_client(&Default::default()).unwrap();
    let oauth = OAuthClient::new(
        OAuthConfig::new(
            "my-client",
            Some("s3cr3t".into()),
            Url::parse("https://app.example.com/oauth/callback").unwrap(),
        ),
        http,
    );
    let hosts = LoginHosts::default();
    let custom = Url::parse("https://acme.my.salesforce.com").unwrap();
    for (host, expected) in [
        (
            LoginHost::Production,
            "https://login.salesforce.com/services/oauth2/authorize",
        ),
        (
            LoginHost::Sandbox,
            "https://test.salesforce.com/services/oauth2/authorize",
        ),
        (
            LoginHost::Custom(custom),
            "https://acme.my.salesforce.com/services/oauth2/authorize",
        ),
    ] {
        let req = oauth.authorize_url(&hosts.resolve(&host)).unwrap();
        let base = format!(
            "{}://{}{}",
            req.url.scheme(),
            req.url.host_str().unwrap(),
            req.url.path()
        );
        assert_eq!(base, expected);
        let p = params(&req.url);
        assert_eq!(p["response_type"], "code");
        assert_eq!(p["client_id"], "my-client");
        assert_eq!(p["redirect_uri"], "https://app.example.com/oauth/callback");
        assert_eq!(p["state"], req.state);
        assert_eq!(p["code_challenge_method"], "S256");
        assert!(p["code_challenge"].len() >= 43);
        assert!(p["scope"].split(' ').any(|s| s == "refresh_token"));
        assert!(
            !req.url.as_str().contains("s3cr3t"),
            "secret stays out of the URL"
        );
        assert!(!format!("{req:?}").contains(&req.pkce_verifier.secret().to_string()));
    }
    // Fresh state and verifier every time.
    let a = oauth.authorize_url(&hosts.production).unwrap();
    let b = oauth.authorize_url(&hosts.production).unwrap();
    assert_ne!(a.state, b.state);
    assert_ne!(a.pkce_verifier, b.pkce_verifier);
}

#[tokio::test]
async fn refresh_without_rotation_keeps_the_refresh_token() {
    bounded(async {
        let h = Harness::start().await;
        h.emu.admin().set_refresh_rotation(ORG, false).unwrap();
        let minted = h.emu.admin().mint_tokens(ORG, USER).unwrap();
        let refresh = RefreshToken::new(minted.refresh_token.clone());
        let set = h.oauth.refresh(&h.login, &refresh).await.unwrap();
        assert!(
            set.refresh_token.is_none(),
            "no rotation → no new refresh token"
        );
        assert_ne!(set.access_token.secret(), minted.access_token);
        assert_eq!(
            set.instance_url.as_str().trim_end_matches('/'),
            h.emu.base_url()
        );
        assert!(
            set.issued_at.is_some(),
            "issued_at (epoch ms string) parsed"
        );
        // The same refresh token still works.
        h.oauth.refresh(&h.login, &refresh).await.unwrap();
        h.stop().await;
    })
    .await;
}

#[tokio::test]
async fn refresh_with_rotation_retires_the_old_token() {
    bounded(async {
        let h = Harness::start().await;
        h.emu.admin().set_refresh_rotation(ORG, true).unwrap();
        let (provider, minted) = h.provider();
        let old = RefreshToken::new(minted.refresh_token.clone());
        h.emu.admin().expire_access_token(&minted.access_token);
        let client = h.client_with(h.config(), provider.clone());
        client.limits().await.expect("refreshed transparently");
        let rotated = provider.refresh_token().await;
        assert_ne!(rotated, old, "provider keeps the rotated refresh token");

        let err = h
            .oauth
            .refresh(&h.login, &old)
            .await
            .expect_err("old refresh token is dead after rotation");
        assert!(err.is_reconnect_needed(), "{err:?}");
        assert_eq!(err.code(), Some("invalid_grant"));
        h.oauth
            .refresh(&h.login, &rotated)
            .await
            .expect("new one works");
        h.stop().await;
    })
    .await;
}

#[tokio::test]
async fn revoke_then_refresh_needs_reconnect() {
    bounded(async {
        let h = Harness::start().await;
        let minted = h.emu.admin().mint_tokens(ORG, USER).unwrap();
        let refresh = RefreshToken::new(minted.refresh_token.clone());
        h.oauth
            .revoke(&h.login, Revocable::Refresh(refresh.clone()))
            .await
            .unwrap();
        let err = h
            .oauth
            .refresh(&h.login, &refresh)
            .await
            .expect_err("revoked");
        assert!(err.is_reconnect_needed(), "{err:?}");
        assert!(!format!("{err:?}").contains(&minted.refresh_token));
        // Revoking again is not an error (disconnect is idempotent).
        h.oauth
            .revoke(&h.login, Revocable::Refresh(refresh))
            .await
            .unwrap();
        h.stop().await;
    })
    .await;
}

#[tokio::test]
async fn identity_names_user_and_org() {
    bounded(async {
        let h = Harness::start().await;
        let minted = h.emu.admin().mint_tokens(ORG, USER).unwrap();
        let identity = h
            .oauth
            .identity(
                &Url::parse(&minted.id).unwrap(),
                &crmsync_salesforce::AccessToken::new(minted.access_token.clone()),
            )
            .await
            .unwrap();
        assert_eq!(identity.username, USER);
        assert_eq!(identity.user_id, h.emu.admin().user_id(ORG, USER).unwrap());
        assert_eq!(identity.organization_id, h.emu.admin().org_id(ORG).unwrap());
        assert!(identity.email.is_some());
        assert!(identity.display_name.is_some());

        let err = h
            .oauth
            .identity(
                &Url::parse(&minted.id).unwrap(),
                &crmsync_salesforce::AccessToken::new("bogus"),
            )
            .await
            .expect_err("bad token");
        assert!(err.is_auth(), "{err:?}");
        h.stop().await;
    })
    .await;
}

#[tokio::test]
async fn bad_client_secret_is_the_apps_credentials_problem() {
    bounded(async {
        let h = Harness::start().await;
        let minted = h.emu.admin().mint_tokens(ORG, USER).unwrap();
        let wrong = OAuthClient::new(
            OAuthConfig::new(
                sf_emulator::demo::CLIENT_ID,
                Some("wrong-secret".into()),
                Url::parse("http://127.0.0.1:9/cb").unwrap(),
            ),
            h.http.clone(),
        );
        let err = wrong
            .refresh(&h.login, &RefreshToken::new(minted.refresh_token.clone()))
            .await
            .expect_err("wrong secret");
        // The app's credentials, not the org's consent: no reconnect, retried, alarmed.
        assert!(
            err.is_app_credentials() && !err.is_reconnect_needed(),
            "{err:?}"
        );
        assert!(!format!("{err:?}").contains("wrong-secret"));
        h.stop().await;
    })
    .await;
}

/// Logs in on the emulator's authorize form like a browser and returns the callback query.
async fn authorize_as_user(h: &Harness, url: &Url) -> HashMap<String, String> {
    let response = h
        .http
        .post(url.clone())
        .form(&[
            ("username", USER),
            ("password", sf_emulator::demo::PASSWORD),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(
        response.status().as_u16(),
        302,
        "login redirects to the callback"
    );
    let location = response.headers()["location"].to_str().unwrap().to_string();
    let callback = Url::parse(&location).unwrap();
    assert!(
        location.starts_with("http://127.0.0.1:9/oauth/callback"),
        "{location}"
    );
    params(&callback)
}

#[tokio::test]
async fn web_server_flow_with_pkce() {
    bounded(async {
        let h = Harness::start().await;
        let request = h.oauth.authorize_url(&h.login).unwrap();
        let callback = authorize_as_user(&h, &request.url).await;
        assert_eq!(callback["state"], request.state, "state round-trips");

        let tokens = h
            .oauth
            .exchange_code(&h.login, &callback["code"], &request.pkce_verifier)
            .await
            .unwrap();
        assert!(
            tokens.refresh_token.is_some(),
            "code grant returns a refresh token"
        );
        assert_eq!(
            tokens.instance_url.as_str().trim_end_matches('/'),
            h.emu.base_url()
        );
        assert!(tokens.issued_at.is_some());
        assert!(!format!("{tokens:?}").contains(tokens.access_token.secret()));

        let identity = h
            .oauth
            .identity(&tokens.identity_url, &tokens.access_token)
            .await
            .unwrap();
        assert_eq!(identity.username, USER);

        // The code is single-use.
        let err = h
            .oauth
            .exchange_code(&h.login, &callback["code"], &request.pkce_verifier)
            .await
            .expect_err("code reuse");
        assert!(err.is_reconnect_needed(), "{err:?}");

        // Data calls with the new tokens.
        let provider = crmsync_salesforce::InMemoryTokenProvider::new(
            h.oauth.clone(),
            h.login.clone(),
            Some(tokens.access_token.clone()),
            tokens.refresh_token.clone().unwrap(),
        );
        let client = h.client_with(
            crmsync_salesforce::ClientConfig::new(tokens.instance_url.clone()),
            provider,
        );
        assert!(!client.org_name().await.unwrap().is_empty());
        h.stop().await;
    })
    .await;
}

#[tokio::test]
async fn wrong_pkce_verifier_is_invalid_grant() {
    bounded(async {
        let h = Harness::start().await;
        let request = h.oauth.authorize_url(&h.login).unwrap();
        let other = h.oauth.authorize_url(&h.login).unwrap();
        let callback = authorize_as_user(&h, &request.url).await;
        let err = h
            .oauth
            .exchange_code(&h.login, &callback["code"], &other.pkce_verifier)
            .await
            .expect_err("verifier does not match the challenge");
        assert!(err.is_reconnect_needed(), "{err:?}");
        assert_eq!(err.code(), Some("invalid_grant"));
        h.stop().await;
    })
    .await;
}
