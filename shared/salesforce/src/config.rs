//! Client configuration: hosts, API version, timeouts and retry policy.

use std::time::Duration;

use url::Url;

use crate::error::SfError;

pub const DEFAULT_LOGIN_URL: &str = "https://login.salesforce.com";
pub const DEFAULT_SANDBOX_LOGIN_URL: &str = "https://test.salesforce.com";
pub const DEFAULT_API_VERSION: &str = "62.0";

/// How one connection's REST calls are made.
#[derive(Clone, Debug)]
pub struct ClientConfig {
    /// `instance_url` from the token response, e.g. `https://acme.my.salesforce.com`.
    pub instance_url: Url,
    /// `62.0` style; `v` is added by the client.
    pub api_version: String,
    pub retry: RetryPolicy,
    /// `Sforce-Query-Options: batchSize` (200..=2000); `None` leaves Salesforce's default.
    pub query_batch_size: Option<u32>,
    /// How long a describe is reused before it is read again, so a field deleted, renamed
    /// or retyped in the org is noticed within this time by a warm container (and at once
    /// after `INVALID_FIELD`, by [`crate::SfClient::invalidate_describe`]).
    pub describe_ttl: std::time::Duration,
}

/// [`ClientConfig::describe_ttl`]'s default.
pub const DEFAULT_DESCRIBE_TTL: std::time::Duration = std::time::Duration::from_secs(15 * 60);

impl ClientConfig {
    pub fn new(instance_url: Url) -> Self {
        ClientConfig {
            instance_url,
            api_version: DEFAULT_API_VERSION.to_string(),
            retry: RetryPolicy::default(),
            query_batch_size: None,
            describe_ttl: DEFAULT_DESCRIBE_TTL,
        }
    }

    /// `CRMSYNC_SF_API_VERSION`, or [`DEFAULT_API_VERSION`].
    pub fn api_version_from_env() -> String {
        std::env::var("CRMSYNC_SF_API_VERSION")
            .ok()
            .filter(|v| !v.trim().is_empty())
            .unwrap_or_else(|| DEFAULT_API_VERSION.to_string())
    }

    pub fn with_api_version(mut self, version: impl Into<String>) -> Self {
        self.api_version = version.into();
        self
    }

    pub fn with_retry(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }

    pub fn with_describe_ttl(mut self, ttl: std::time::Duration) -> Self {
        self.describe_ttl = ttl;
        self
    }

    pub fn with_query_batch_size(mut self, size: u32) -> Self {
        self.query_batch_size = Some(size);
        self
    }

    /// `{instance}/services/data/vNN.0/`, checked.
    pub(crate) fn data_base(&self) -> Result<Url, SfError> {
        let version = self.api_version.trim_start_matches('v');
        let valid = version.split_once('.').is_some_and(|(a, b)| {
            !a.is_empty()
                && !b.is_empty()
                && a.chars().all(|c| c.is_ascii_digit())
                && b.chars().all(|c| c.is_ascii_digit())
        });
        if !valid {
            return Err(SfError::Config {
                message: format!("API version {:?} is not like 62.0", self.api_version),
            });
        }
        let base = ensure_trailing_slash(&self.instance_url);
        base.join(&format!("services/data/v{version}/"))
            .map_err(|e| SfError::Config {
                message: format!("instance URL: {e}"),
            })
    }
}

/// Exponential backoff with full jitter, for retryable errors only.
#[derive(Clone, Debug)]
pub struct RetryPolicy {
    /// Total attempts including the first (1 = no retry).
    pub max_attempts: u32,
    pub base_delay: Duration,
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 4,
            base_delay: Duration::from_millis(250),
            max_delay: Duration::from_secs(8),
        }
    }
}

impl RetryPolicy {
    pub fn none() -> Self {
        RetryPolicy {
            max_attempts: 1,
            ..RetryPolicy::default()
        }
    }

    /// Delay before attempt `attempt + 1` (attempt counts from 1): uniform in
    /// `[0, min(max, base * 2^(attempt-1))]`.
    pub fn backoff(&self, attempt: u32) -> Duration {
        use rand::Rng;
        let exp = self
            .base_delay
            .saturating_mul(1u32 << attempt.saturating_sub(1).min(16));
        let cap = exp.min(self.max_delay);
        let millis = cap.as_millis() as u64;
        if millis == 0 {
            return cap;
        }
        Duration::from_millis(rand::rng().random_range(0..=millis))
    }
}

/// Timeouts for the shared HTTP client.
#[derive(Clone, Debug)]
pub struct HttpTimeouts {
    pub connect: Duration,
    /// Whole request, headers to last body byte.
    pub request: Duration,
}

impl Default for HttpTimeouts {
    fn default() -> Self {
        HttpTimeouts {
            connect: Duration::from_secs(10),
            request: Duration::from_secs(60),
        }
    }
}

/// Builds the one reqwest client a process should share across connections.
/// Redirects are off: OAuth token endpoints must not redirect (SSRF), REST never does.
pub fn build_http_client(timeouts: &HttpTimeouts) -> Result<reqwest::Client, SfError> {
    reqwest::Client::builder()
        .connect_timeout(timeouts.connect)
        .timeout(timeouts.request)
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("crmsync/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| SfError::Config {
            message: format!("building HTTP client: {e}"),
        })
}

/// Which Salesforce login host a connection authenticates against.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LoginHost {
    Production,
    Sandbox,
    /// A My Domain (or emulator) login base, e.g. `https://acme.my.salesforce.com`.
    Custom(Url),
}

/// The production and sandbox login bases (overridable: `CRMSYNC_SF_LOGIN_URL`,
/// `CRMSYNC_SF_SANDBOX_LOGIN_URL`).
#[derive(Clone, Debug)]
pub struct LoginHosts {
    pub production: Url,
    pub sandbox: Url,
}

impl Default for LoginHosts {
    fn default() -> Self {
        LoginHosts {
            production: Url::parse(DEFAULT_LOGIN_URL).expect("constant URL"),
            sandbox: Url::parse(DEFAULT_SANDBOX_LOGIN_URL).expect("constant URL"),
        }
    }
}

impl LoginHosts {
    /// Reads `CRMSYNC_SF_LOGIN_URL` / `CRMSYNC_SF_SANDBOX_LOGIN_URL`, defaulting to
    /// Salesforce's hosts.
    pub fn from_env() -> Result<LoginHosts, SfError> {
        let read = |name: &str, default: &str| {
            let raw = std::env::var(name).unwrap_or_else(|_| default.to_string());
            Url::parse(&raw).map_err(|e| SfError::Config {
                message: format!("{name}: {e}"),
            })
        };
        Ok(LoginHosts {
            production: read("CRMSYNC_SF_LOGIN_URL", DEFAULT_LOGIN_URL)?,
            sandbox: read("CRMSYNC_SF_SANDBOX_LOGIN_URL", DEFAULT_SANDBOX_LOGIN_URL)?,
        })
    }

    pub fn resolve(&self, host: &LoginHost) -> Url {
        match host {
            LoginHost::Production => self.production.clone(),
            LoginHost::Sandbox => self.sandbox.clone(),
            LoginHost::Custom(url) => url.clone(),
        }
    }
}

pub(crate) fn ensure_trailing_slash(url: &Url) -> Url {
    let mut url = url.clone();
    if !url.path().ends_with('/') {
        let path = format!("{}/", url.path());
        url.set_path(&path);
    }
    url
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn data_base_adds_version() {
        let cfg = ClientConfig::new(Url::parse("https://x.example.com").unwrap());
        assert_eq!(
            cfg.data_base().unwrap().as_str(),
            "https://x.example.com/services/data/v62.0/"
        );
        let bad = cfg.with_api_version("62/../x");
        assert!(matches!(bad.data_base(), Err(SfError::Config { .. })));
    }

    #[test]
    fn backoff_is_bounded() {
        let p = RetryPolicy {
            max_attempts: 5,
            base_delay: Duration::from_millis(10),
            max_delay: Duration::from_millis(30),
        };
        for attempt in 1..10 {
            assert!(p.backoff(attempt) <= Duration::from_millis(30));
        }
    }
}
