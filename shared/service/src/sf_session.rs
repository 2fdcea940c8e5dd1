//! Salesforce access per connection: one REST client per connection per process (its
//! describe cache survives across invocations), drawing bearer tokens from the vault.
//!
//! Access tokens live only in memory. Refreshes run under a lease so that two workers
//! never spend the same rotating refresh token, and the vault is written only when the
//! refresh token actually changed (Secrets Manager writes are rate-limited).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use crmsync_salesforce::{
    AccessToken, ClientConfig, LoginHosts, OAuthClient, RefreshToken, SfClient, SfError,
    TokenProvider,
};
use crmsync_store::{
    Connection, ConnectionId, ConnectionStatus, Secret, StoredToken, Stores, TenantId,
};
use url::Url;

use crate::error::ServiceError;

/// Longer than one token request may take (the HTTP client times out after 60 s), so a
/// slow refresh cannot lose its lease to a second refresher spending the same token.
/// The stable `alarm` field of the log line emitted when Salesforce refuses the connected
/// app's credentials (`invalid_client`); template.yaml's metric filter matches it.
pub const APP_CREDENTIALS_ALARM: &str = "ALARM_APP_CREDENTIALS_REFUSED";
const REFRESH_LEASE_TTL: Duration = Duration::from_secs(120);
const ROTATE_ATTEMPTS: u32 = 3;
const REFRESH_WAIT_STEP: Duration = Duration::from_millis(100);
const REFRESH_WAIT_STEPS: u32 = 50;

type ConnKey = (String, String);

/// Process-wide Salesforce plumbing: one HTTP client, one OAuth client, token and client caches.
pub struct SalesforceAccess {
    http: reqwest::Client,
    oauth: OAuthClient,
    hosts: LoginHosts,
    api_version: String,
    stores: Stores,
    tokens: Arc<Mutex<HashMap<ConnKey, AccessToken>>>,
    clients: Mutex<HashMap<ConnKey, SfClient>>,
    instance: String,
}

impl std::fmt::Debug for SalesforceAccess {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SalesforceAccess")
            .field("api_version", &self.api_version)
            .finish_non_exhaustive()
    }
}

impl SalesforceAccess {
    pub fn new(
        http: reqwest::Client,
        oauth: OAuthClient,
        hosts: LoginHosts,
        api_version: String,
        stores: Stores,
    ) -> Self {
        Self {
            http,
            oauth,
            hosts,
            api_version,
            stores,
            tokens: Arc::default(),
            clients: Mutex::default(),
            instance: uuid::Uuid::new_v4().to_string(),
        }
    }

    pub fn oauth(&self) -> &OAuthClient {
        &self.oauth
    }

    pub fn hosts(&self) -> &LoginHosts {
        &self.hosts
    }

    pub fn http(&self) -> &reqwest::Client {
        &self.http
    }

    pub fn api_version(&self) -> &str {
        &self.api_version
    }

    /// Remembers the access token a fresh connect produced, so the first calls need no refresh.
    pub fn remember_access_token(
        &self,
        tenant: &TenantId,
        connection: &ConnectionId,
        token: AccessToken,
    ) {
        self.tokens
            .lock()
            .expect("token cache")
            .insert(key(tenant, connection), token);
    }

    /// Drops cached state after disconnect or reconnect.
    pub fn forget(&self, tenant: &TenantId, connection: &ConnectionId) {
        let k = key(tenant, connection);
        self.tokens.lock().expect("token cache").remove(&k);
        self.clients.lock().expect("client cache").remove(&k);
    }

    /// The REST client for a connection (built once per process per connection).
    pub fn client(&self, connection: &Connection) -> Result<SfClient, ServiceError> {
        let k = key(&connection.tenant, &connection.id);
        if let Some(c) = self.clients.lock().expect("client cache").get(&k)
            && c.config().instance_url.as_str().trim_end_matches('/')
                == connection.instance_url.trim_end_matches('/')
        {
            return Ok(c.clone());
        }
        let instance_url = Url::parse(&connection.instance_url)
            .map_err(|_| ServiceError::Internal("stored instance URL is not a URL".into()))?;
        let login_url = Url::parse(&connection.login_url)
            .map_err(|_| ServiceError::Internal("stored login URL is not a URL".into()))?;
        let provider = VaultTokenProvider {
            tenant: connection.tenant.clone(),
            connection: connection.id.clone(),
            login_url,
            oauth: self.oauth.clone(),
            stores: self.stores.clone(),
            cache: self.tokens.clone(),
            owner: format!("{}-{}", self.instance, uuid::Uuid::new_v4()),
        };
        let config = ClientConfig::new(instance_url).with_api_version(self.api_version.clone());
        let client = SfClient::new(self.http.clone(), config, Arc::new(provider))?;
        self.clients
            .lock()
            .expect("client cache")
            .insert(k, client.clone());
        Ok(client)
    }
}

fn key(tenant: &TenantId, connection: &ConnectionId) -> ConnKey {
    (tenant.as_str().to_string(), connection.as_str().to_string())
}

/// Draws tokens from the in-memory cache, refreshing from the vault's refresh token.
struct VaultTokenProvider {
    tenant: TenantId,
    connection: ConnectionId,
    login_url: Url,
    oauth: OAuthClient,
    stores: Stores,
    cache: Arc<Mutex<HashMap<ConnKey, AccessToken>>>,
    owner: String,
}

impl VaultTokenProvider {
    fn cached(&self) -> Option<AccessToken> {
        self.cache
            .lock()
            .expect("token cache")
            .get(&key(&self.tenant, &self.connection))
            .cloned()
    }

    fn lease_name(&self) -> String {
        crate::leases::lease_name(
            crate::leases::LeaseKind::Refresh,
            &self.tenant,
            &self.connection,
        )
    }

    async fn refresh_under_lease(
        &self,
        stale: Option<&AccessToken>,
    ) -> Result<AccessToken, SfError> {
        let lease_name = self.lease_name();
        let mut lease = None;
        for _ in 0..REFRESH_WAIT_STEPS {
            lease = self
                .stores
                .leases
                .acquire(&lease_name, &self.owner, REFRESH_LEASE_TTL)
                .await
                .map_err(store_to_sf)?;
            if lease.is_some() {
                break;
            }
            // Another worker in this process may have refreshed meanwhile.
            if let Some(current) = self.cached()
                && Some(&current) != stale
            {
                return Ok(current);
            }
            tokio::time::sleep(REFRESH_WAIT_STEP).await;
        }
        let Some(lease) = lease else {
            return Err(SfError::Retryable {
                status: None,
                code: "TOKEN_REFRESH_BUSY".into(),
                message: "another worker is refreshing this connection's token".into(),
            });
        };
        let result = self.refresh_now().await;
        let _ = self.stores.leases.release(&lease).await;
        result
    }

    /// Stores a rotated refresh token: a few tries with backoff; if the version moved
    /// (it should not, under the lease), a plain put. Failing all that, the connection
    /// will need a reconnect once the access token expires, so say so loudly.
    async fn persist_rotated(&self, expected: &crmsync_store::TokenVersion, token: &StoredToken) {
        let mut delay = Duration::from_millis(200);
        for attempt in 1..=ROTATE_ATTEMPTS {
            let result = match self
                .stores
                .vault
                .rotate(&self.tenant, &self.connection, expected, token)
                .await
            {
                Err(crmsync_store::StoreError::Conflict(_)) => self
                    .stores
                    .vault
                    .put(&self.tenant, &self.connection, token)
                    .await
                    .map(|_| ()),
                other => other.map(|_| ()),
            };
            match result {
                Ok(()) => return,
                Err(e) if attempt < ROTATE_ATTEMPTS => {
                    tracing::warn!(error = %e, attempt, "storing the rotated refresh token failed; retrying");
                    tokio::time::sleep(delay).await;
                    delay *= 4;
                }
                Err(e) => tracing::error!(
                    error = %e,
                    tenant = self.tenant.as_str(),
                    connection = self.connection.as_str(),
                    "the rotated refresh token could not be stored; the connection will need a reconnect when its access token expires"
                ),
            }
        }
    }

    async fn refresh_now(&self) -> Result<AccessToken, SfError> {
        let stored = self
            .stores
            .vault
            .get(&self.tenant, &self.connection)
            .await
            .map_err(store_to_sf)?
            .ok_or_else(|| SfError::Auth {
                reconnect_needed: true,
                code: "NO_TOKEN".into(),
                message: "no refresh token is stored for this connection".into(),
            })?;
        let refresh = RefreshToken::new(stored.token.refresh_token.expose());
        match self.oauth.refresh(&self.login_url, &refresh).await {
            Ok(set) => {
                // Cached first: if Salesforce rotated (and so spent) the old refresh token,
                // the access token stays usable whatever happens to the vault write below.
                self.cache.lock().expect("token cache").insert(
                    key(&self.tenant, &self.connection),
                    set.access_token.clone(),
                );
                if let Some(rotated) = set
                    .refresh_token
                    .as_ref()
                    .filter(|r| r.secret() != refresh.secret())
                {
                    let token = StoredToken {
                        refresh_token: Secret::new(rotated.secret()),
                        instance_url: set.instance_url.to_string(),
                        issued_at: set.issued_at.unwrap_or_else(chrono::Utc::now),
                        metadata: stored.token.metadata.clone(),
                    };
                    self.persist_rotated(&stored.version, &token).await;
                }
                Ok(set.access_token)
            }
            Err(e) if e.is_reconnect_needed() => {
                let _ = self
                    .stores
                    .connections
                    // Only a Connected connection turns ReconnectNeeded (never a
                    // Disconnected one).
                    .update_status(
                        &self.tenant,
                        &self.connection,
                        Some(ConnectionStatus::Connected),
                        ConnectionStatus::ReconnectNeeded,
                        Some(crmsync_store::ConnectionFailure {
                            at: self.stores.clock.now(),
                            code: e.code().map(str::to_string),
                            message: format!("token refresh refused: {e}"),
                        }),
                    )
                    .await;
                Err(e)
            }
            Err(e) if e.is_app_credentials() => {
                // One alarm per refused refresh; the template's metric filter counts them.
                tracing::error!(
                    alarm = APP_CREDENTIALS_ALARM,
                    code = e.code().unwrap_or_default(),
                    tenant = self.tenant.as_str(),
                    connection = self.connection.as_str(),
                    "Salesforce refused the connected app's credentials; connections stay Connected and work retries until the app secret is fixed"
                );
                Err(e)
            }
            Err(e) => Err(e),
        }
    }
}

#[async_trait]
impl TokenProvider for VaultTokenProvider {
    async fn access_token(&self) -> Result<AccessToken, SfError> {
        match self.cached() {
            Some(t) => Ok(t),
            None => self.refresh_under_lease(None).await,
        }
    }

    async fn refresh(&self, stale: &AccessToken) -> Result<AccessToken, SfError> {
        if let Some(current) = self.cached()
            && &current != stale
        {
            return Ok(current);
        }
        self.refresh_under_lease(Some(stale)).await
    }
}

/// The token provider speaks `SfError`; store details (secret names, ARNs) are logged
/// here and never carried into errors that reach tenants.
fn store_to_sf(e: crmsync_store::StoreError) -> SfError {
    tracing::warn!(error = %e, "token vault access failed");
    if e.is_retryable() {
        SfError::Retryable {
            status: None,
            code: "STATE_STORE".into(),
            message: "the token store is unavailable; retry later".into(),
        }
    } else {
        SfError::Config {
            message: "the connection's tokens could not be read or written".into(),
        }
    }
}
