//! The REST client handle: one per connection, cheap to clone, sharing the process's
//! reqwest client.

use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use url::Url;

use crate::config::ClientConfig;
use crate::describe::ObjectDescribe;
use crate::error::SfError;
use crate::token::TokenProvider;

/// API usage from `Sforce-Limit-Info: api-usage=USED/MAX`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ApiUsage {
    pub used: u64,
    pub max: u64,
}

impl ApiUsage {
    /// Share of the daily limit used, 0.0..=1.0 (1.0 when max is 0).
    pub fn fraction(&self) -> f64 {
        if self.max == 0 {
            1.0
        } else {
            self.used as f64 / self.max as f64
        }
    }

    /// Parses the header value, e.g. `api-usage=25/15000` (other entries are ignored).
    pub fn parse_header(value: &str) -> Option<ApiUsage> {
        value.split(',').find_map(|part| {
            let (key, rest) = part.trim().split_once('=')?;
            if key.trim() != "api-usage" {
                return None;
            }
            let (used, max) = rest.trim().split_once('/')?;
            Some(ApiUsage {
                used: used.trim().parse().ok()?,
                max: max.trim().parse().ok()?,
            })
        })
    }
}

/// Called after every response that carried `Sforce-Limit-Info`.
pub type UsageHook = Arc<dyn Fn(ApiUsage) + Send + Sync>;

/// Salesforce REST client for one connection.
#[derive(Clone)]
pub struct SfClient {
    pub(crate) inner: Arc<Inner>,
}

pub(crate) struct Inner {
    pub(crate) http: reqwest::Client,
    pub(crate) config: ClientConfig,
    pub(crate) data_base: Url,
    pub(crate) tokens: Arc<dyn TokenProvider>,
    pub(crate) usage: Mutex<Option<ApiUsage>>,
    pub(crate) usage_hook: Option<UsageHook>,
    pub(crate) requests: AtomicU64,
    pub(crate) describes: Mutex<HashMap<String, Arc<ObjectDescribe>>>,
}

impl fmt::Debug for SfClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SfClient")
            .field("data_base", &self.inner.data_base.as_str())
            .finish_non_exhaustive()
    }
}

/// Builds an [`SfClient`].
pub struct SfClientBuilder {
    http: reqwest::Client,
    config: ClientConfig,
    tokens: Arc<dyn TokenProvider>,
    usage_hook: Option<UsageHook>,
}

impl SfClientBuilder {
    /// Called with the latest usage after each response (e.g. to update a quota counter).
    pub fn usage_hook(mut self, hook: impl Fn(ApiUsage) + Send + Sync + 'static) -> Self {
        self.usage_hook = Some(Arc::new(hook));
        self
    }

    pub fn build(self) -> Result<SfClient, SfError> {
        let data_base = self.config.data_base()?;
        Ok(SfClient {
            inner: Arc::new(Inner {
                http: self.http,
                config: self.config,
                data_base,
                tokens: self.tokens,
                usage: Mutex::new(None),
                usage_hook: self.usage_hook,
                requests: AtomicU64::new(0),
                describes: Mutex::new(HashMap::new()),
            }),
        })
    }
}

impl SfClient {
    /// `http` should be the process-wide client from [`crate::build_http_client`].
    pub fn builder(
        http: reqwest::Client,
        config: ClientConfig,
        tokens: Arc<dyn TokenProvider>,
    ) -> SfClientBuilder {
        SfClientBuilder {
            http,
            config,
            tokens,
            usage_hook: None,
        }
    }

    pub fn new(
        http: reqwest::Client,
        config: ClientConfig,
        tokens: Arc<dyn TokenProvider>,
    ) -> Result<SfClient, SfError> {
        Self::builder(http, config, tokens).build()
    }

    pub fn config(&self) -> &ClientConfig {
        &self.inner.config
    }

    /// `{instance}/services/data/vNN.0/`.
    pub fn data_base_url(&self) -> &Url {
        &self.inner.data_base
    }

    /// The usage Salesforce reported on the most recent response.
    pub fn last_api_usage(&self) -> Option<ApiUsage> {
        *self.inner.usage.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// HTTP requests this client has sent (retries included), for per-run budgeting.
    pub fn requests_sent(&self) -> u64 {
        self.inner.requests.load(Ordering::Relaxed)
    }

    pub(crate) fn record_usage(&self, usage: ApiUsage) {
        *self.inner.usage.lock().unwrap_or_else(|p| p.into_inner()) = Some(usage);
        if let Some(hook) = &self.inner.usage_hook {
            hook(usage);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_limit_info() {
        assert_eq!(
            ApiUsage::parse_header("api-usage=25/15000"),
            Some(ApiUsage {
                used: 25,
                max: 15000
            })
        );
        assert_eq!(
            ApiUsage::parse_header("per-app-api-usage=1/10(appName=x), api-usage=7/100"),
            Some(ApiUsage { used: 7, max: 100 })
        );
        assert_eq!(ApiUsage::parse_header("garbage"), None);
    }
}
