//! Shared test harness: an emulator on 127.0.0.1 and clients pointed at it.
#![allow(dead_code)]

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use crmsync_salesforce::{
    AccessToken, ClientConfig, HttpTimeouts, InMemoryTokenProvider, OAuthClient, OAuthConfig,
    RefreshToken, RetryPolicy, SfClient, TokenProvider, build_http_client,
};
use sf_emulator::{Emulator, EmulatorOptions};
use url::Url;

pub const ORG: &str = "demo";
pub const USER: &str = "admin@demo.example";

/// Every test body runs under this bound.
pub async fn bounded<T>(fut: impl Future<Output = T>) -> T {
    tokio::time::timeout(Duration::from_secs(60), fut)
        .await
        .expect("test exceeded its 60 s bound")
}

pub struct Harness {
    pub emu: Emulator,
    pub http: reqwest::Client,
    pub oauth: OAuthClient,
    pub login: Url,
    pub instance: Url,
}

pub fn fast_retry(max_attempts: u32) -> RetryPolicy {
    RetryPolicy {
        max_attempts,
        base_delay: Duration::from_millis(2),
        max_delay: Duration::from_millis(10),
    }
}

impl Harness {
    pub async fn start() -> Harness {
        Self::start_with(
            EmulatorOptions::demo(),
            HttpTimeouts {
                connect: Duration::from_secs(5),
                request: Duration::from_secs(20),
            },
        )
        .await
    }

    pub async fn start_with(opts: EmulatorOptions, timeouts: HttpTimeouts) -> Harness {
        let emu = Emulator::start(opts).await.expect("emulator starts");
        let http = build_http_client(&timeouts).unwrap();
        let oauth = OAuthClient::new(
            OAuthConfig::new(
                sf_emulator::demo::CLIENT_ID,
                Some(sf_emulator::demo::CLIENT_SECRET.to_string()),
                Url::parse("http://127.0.0.1:9/oauth/callback").unwrap(),
            ),
            http.clone(),
        );
        let login = Url::parse(&emu.login_url(ORG)).unwrap();
        let instance = Url::parse(&emu.base_url()).unwrap();
        Harness {
            emu,
            http,
            oauth,
            login,
            instance,
        }
    }

    pub fn config(&self) -> ClientConfig {
        ClientConfig::new(self.instance.clone()).with_retry(fast_retry(3))
    }

    /// A provider holding freshly minted tokens for the demo admin.
    pub fn provider(&self) -> (Arc<InMemoryTokenProvider>, sf_emulator::admin::MintedTokens) {
        let minted = self
            .emu
            .admin()
            .mint_tokens(ORG, USER)
            .expect("mint tokens");
        let provider = InMemoryTokenProvider::new(
            self.oauth.clone(),
            self.login.clone(),
            Some(AccessToken::new(minted.access_token.clone())),
            RefreshToken::new(minted.refresh_token.clone()),
        );
        (provider, minted)
    }

    pub fn client_with(&self, config: ClientConfig, tokens: Arc<dyn TokenProvider>) -> SfClient {
        SfClient::new(self.http.clone(), config, tokens).unwrap()
    }

    /// A client for the demo admin with tiny retry delays.
    pub fn client(&self) -> (SfClient, Arc<InMemoryTokenProvider>) {
        let (provider, _) = self.provider();
        (self.client_with(self.config(), provider.clone()), provider)
    }

    pub async fn stop(self) {
        self.emu.shutdown().await;
    }
}

pub fn fields(value: serde_json::Value) -> serde_json::Map<String, serde_json::Value> {
    match value {
        serde_json::Value::Object(map) => map,
        other => panic!("not an object: {other}"),
    }
}
