//! The application context: settings, stores and Salesforce access, built once per cold
//! start (Lambda) or once per process (CLI) and shared by every use case.

use std::sync::Arc;

use crmsync_salesforce::{HttpTimeouts, LoginHosts, OAuthClient, OAuthConfig, build_http_client};
use crmsync_store::{AwsClients, AwsSettings, Stores};
use url::Url;

use crate::error::ServiceError;
use crate::settings::{self, Settings};
use crate::sf_session::SalesforceAccess;

/// The connected app's credentials (client id and secret).
#[derive(Clone, serde::Deserialize)]
pub struct AppCredentials {
    pub client_id: String,
    pub client_secret: Option<String>,
}

impl std::fmt::Debug for AppCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppCredentials")
            .field("client_id", &self.client_id)
            .field(
                "client_secret",
                &self.client_secret.as_ref().map(|_| "[redacted]"),
            )
            .finish()
    }
}

/// Everything a use case needs. Cheap to share behind an `Arc`.
#[derive(Debug)]
pub struct App {
    pub settings: Settings,
    pub stores: Stores,
    pub salesforce: SalesforceAccess,
    /// Owner directories per connection, reused for a TTL (issue 11).
    pub owner_cache: crate::push::owners::OwnerCache,
}

impl App {
    /// Wires the AWS adapters from the environment the SAM template sets. Fails fast, with
    /// the variable's name, when the environment is incomplete.
    pub async fn from_env(function: &str) -> Result<Self, ServiceError> {
        let settings = Settings::from_env()?;
        // Variables without a usable default must be present for the functions that read them.
        let must_be_set = [
            settings::TABLE,
            settings::PUSH_QUEUE_URL,
            settings::POLL_QUEUE_URL,
            settings::SWEEP_QUEUE_URL,
            settings::OAUTH_REDIRECT_URL,
        ];
        for var in settings::required_env(function) {
            let unset = std::env::var(var)
                .map(|v| v.trim().is_empty())
                .unwrap_or(true);
            if must_be_set.contains(var) && unset {
                return Err(ServiceError::settings(
                    var,
                    "set (the SAM template sets it)",
                ));
            }
        }
        let clients = AwsClients::from_env().await;
        Self::from_clients(function, settings, &clients).await
    }

    /// [`App::from_env`] for the report function, which also reads the operator key hash
    /// (from the secret named by `CRMSYNC_OPERATOR_KEY_SECRET_ID`) with the same clients.
    /// `None` when no operator secret is configured: `/admin` is then disabled.
    pub async fn report_from_env() -> Result<(Self, Option<String>), ServiceError> {
        let settings = Settings::from_env()?;
        let clients = AwsClients::from_env().await;
        let operator_hash = match settings.operator_key_secret_id.as_deref() {
            Some(id) if !id.trim().is_empty() => Some(read_operator_key_hash(&clients, id).await?),
            _ => None,
        };
        let app = Self::from_clients("report", settings, &clients).await?;
        Ok((app, operator_hash))
    }

    async fn from_clients(
        function: &str,
        settings: Settings,
        clients: &AwsClients,
    ) -> Result<Self, ServiceError> {
        let stores = Stores::aws(clients, &aws_settings(&settings));
        let credentials = if function == "ingest" {
            // ingest never talks to Salesforce.
            AppCredentials {
                client_id: String::new(),
                client_secret: None,
            }
        } else {
            read_app_credentials(clients, &settings.sf_app_secret_id).await?
        };
        Self::new(settings, stores, credentials)
    }

    /// Wires an app from parts (the CLI, tests).
    pub fn new(
        settings: Settings,
        stores: Stores,
        credentials: AppCredentials,
    ) -> Result<Self, ServiceError> {
        let http = build_http_client(&HttpTimeouts::default())?;
        let redirect = if settings.oauth_redirect_url.is_empty() {
            "http://127.0.0.1/oauth/callback"
        } else {
            settings.oauth_redirect_url.as_str()
        };
        let redirect = Url::parse(redirect)
            .map_err(|_| ServiceError::settings(settings::OAUTH_REDIRECT_URL, "an absolute URL"))?;
        let mut oauth_config = OAuthConfig::new(
            credentials.client_id.clone(),
            credentials.client_secret.clone(),
            redirect,
        );
        oauth_config.scopes = vec![
            "api".into(),
            // The identity URL (connected user, org) needs `id`.
            "id".into(),
            "refresh_token".into(),
            "offline_access".into(),
        ];
        let oauth = OAuthClient::new(oauth_config, http.clone());
        let hosts = LoginHosts {
            production: Url::parse(&settings.sf_login_url)
                .map_err(|_| ServiceError::settings(settings::SF_LOGIN_URL, "an absolute URL"))?,
            sandbox: Url::parse(&settings.sf_sandbox_login_url).map_err(|_| {
                ServiceError::settings(settings::SF_SANDBOX_LOGIN_URL, "an absolute URL")
            })?,
        };
        let salesforce = SalesforceAccess::new(
            http,
            oauth,
            hosts,
            settings.sf_api_version.clone(),
            stores.clone(),
        );
        Ok(Self {
            settings,
            stores,
            salesforce,
            owner_cache: Default::default(),
        })
    }

    pub fn now(&self) -> chrono::DateTime<chrono::Utc> {
        self.stores.clock.now()
    }
}

pub fn aws_settings(settings: &Settings) -> AwsSettings {
    AwsSettings {
        table: settings.table.clone(),
        push_queue_url: settings.push_queue_url.clone(),
        poll_queue_url: settings.poll_queue_url.clone(),
        sweep_queue_url: settings.sweep_queue_url.clone(),
        secret_prefix: settings.secret_prefix.clone(),
        kms_key_id: settings.kms_key_id.clone(),
    }
}

async fn read_app_credentials(
    clients: &AwsClients,
    secret_id: &str,
) -> Result<AppCredentials, ServiceError> {
    let raw = crmsync_store::aws::read_secret_string(clients, secret_id)
        .await?
        .ok_or_else(|| {
            ServiceError::settings(settings::SF_APP_SECRET_ID, "the id of an existing secret")
        })?;
    serde_json::from_str(&raw).map_err(|_| {
        ServiceError::settings(
            settings::SF_APP_SECRET_ID,
            "a secret whose value is JSON {\"client_id\": …, \"client_secret\": …}",
        )
    })
}

/// The operator key secret holds the SHA-256 hex digest of the operator key (README, Deploy).
async fn read_operator_key_hash(
    clients: &AwsClients,
    secret_id: &str,
) -> Result<String, ServiceError> {
    let wrong = || {
        ServiceError::settings(
            settings::OPERATOR_KEY_SECRET_ID,
            "the id of a secret holding the operator key's SHA-256 hex digest",
        )
    };
    let raw = crmsync_store::aws::read_secret_string(clients, secret_id)
        .await?
        .ok_or_else(wrong)?;
    let digest = raw.trim().to_ascii_lowercase();
    if digest.len() == 64 && digest.bytes().all(|b| b.is_ascii_hexdigit()) {
        Ok(digest)
    } else {
        Err(wrong())
    }
}

/// Shared handle used by the Lambdas.
pub type SharedApp = Arc<App>;
