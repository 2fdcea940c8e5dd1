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

/// API usage from `Sforce-Limit-Info`, e.g. `api-usage=10018/100000; api-bursts=1/750` or
/// `api-usage=25/5000; per-app-api-usage=17/250(appName=sample-connected-app)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ApiUsage {
    /// Calls the whole org used in the rolling 24 h window (may exceed `max` during a burst).
    pub used: u64,
    /// The org's daily limit.
    pub max: u64,
    /// The connected app's own quota in this org, when the admin set one.
    pub per_app: Option<AppQuotaUsage>,
}

/// `per-app-api-usage=USED/MAX(appName=…)`: calls by this connected app against its quota.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AppQuotaUsage {
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

    /// Parses the header value. Entries are separated by `;` (a `,` is tolerated too);
    /// unknown entries such as `api-bursts` are skipped. `None` without an `api-usage` entry.
    pub fn parse_header(value: &str) -> Option<ApiUsage> {
        let mut org = None;
        let mut per_app = None;
        for entry in value.split([';', ',']) {
            let Some((key, rest)) = entry.trim().split_once('=') else {
                continue;
            };
            match key.trim() {
                "api-usage" => org = org.or(used_of_max(rest)),
                "per-app-api-usage" => {
                    // `17/250(appName=…)`: the app's name follows the counts.
                    let counts = rest.split_once('(').map_or(rest, |(c, _)| c);
                    per_app = per_app.or(used_of_max(counts));
                }
                _ => {}
            }
        }
        let (used, max) = org?;
        Some(ApiUsage {
            used,
            max,
            per_app: per_app.map(|(used, max)| AppQuotaUsage { used, max }),
        })
    }
}

/// `USED/MAX` as two numbers.
fn used_of_max(text: &str) -> Option<(u64, u64)> {
    let (used, max) = text.trim().split_once('/')?;
    Some((used.trim().parse().ok()?, max.trim().parse().ok()?))
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
    /// Each describe with when it was read ([`ClientConfig::describe_ttl`]).
    pub(crate) describes: Mutex<HashMap<String, (std::time::Instant, Arc<ObjectDescribe>)>>,
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

    fn usage(used: u64, max: u64) -> ApiUsage {
        ApiUsage {
            used,
            max,
            per_app: None,
        }
    }

    #[test]
    fn parses_the_bare_form() {
        assert_eq!(
            ApiUsage::parse_header("api-usage=25/15000"),
            Some(usage(25, 15000))
        );
    }

    #[test]
    fn parses_the_developer_guides_form_with_bursts() {
        assert_eq!(
            ApiUsage::parse_header("api-usage=10018/100000; api-bursts=1/750"),
            Some(usage(10018, 100000))
        );
        // During a burst the org may run past its limit.
        assert_eq!(
            ApiUsage::parse_header("api-usage=110018/100000; api-bursts=1/750"),
            Some(usage(110018, 100000))
        );
    }

    #[test]
    fn parses_a_per_app_quota() {
        assert_eq!(
            ApiUsage::parse_header(
                "api-usage=25/5000; per-app-api-usage=17/250(appName=sample-connected-app)"
            ),
            Some(ApiUsage {
                used: 25,
                max: 5000,
                per_app: Some(AppQuotaUsage { used: 17, max: 250 }),
            })
        );
        // Order and separator do not matter.
        assert_eq!(
            ApiUsage::parse_header("per-app-api-usage=1/10(appName=x), api-usage=7/100"),
            Some(ApiUsage {
                used: 7,
                max: 100,
                per_app: Some(AppQuotaUsage { used: 1, max: 10 }),
            })
        );
    }

    #[test]
    fn refuses_what_is_not_a_usage() {
        assert_eq!(ApiUsage::parse_header("garbage"), None);
        assert_eq!(ApiUsage::parse_header("api-bursts=1/750"), None);
        assert_eq!(ApiUsage::parse_header("api-usage=x/100"), None);
        assert_eq!(ApiUsage::parse_header(""), None);
    }
}
