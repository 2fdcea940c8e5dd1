//! Connect, OAuth callback, reconnect and disconnect (flow 1 of the architecture).

use std::time::Duration;

use crmsync_salesforce::{
    ClientConfig, PkceVerifier, RefreshToken, Revocable, SfClient, StaticTokenProvider,
};
use crmsync_store::{
    ConnectedUser, Connection, ConnectionId, ConnectionStatus, Environment, OAuthState, Secret,
    StoredToken, TenantId,
};
use futures::StreamExt;
use serde::Serialize;
use url::Url;

use crate::app::App;
use crate::error::ServiceError;
use crate::{config_service, parked};

/// How long a connect link stays valid.
pub const STATE_TTL: Duration = Duration::from_secs(10 * 60);

pub fn parse_environment(raw: Option<&str>) -> Result<Environment, ServiceError> {
    match raw.unwrap_or("production") {
        "production" => Ok(Environment::Production),
        "sandbox" => Ok(Environment::Sandbox),
        _ => Err(ServiceError::bad_request(
            "env",
            "must be 'production' or 'sandbox'",
        )),
    }
}

fn login_base(app: &App, env: Environment) -> Url {
    match env {
        Environment::Production => app.salesforce.hosts().production.clone(),
        Environment::Sandbox => app.salesforce.hosts().sandbox.clone(),
    }
}

/// Starts a connect: stores a one-time `state` (bound to the tenant, with the PKCE verifier)
/// and returns the Salesforce authorize URL to send the admin's browser to.
pub async fn start(
    app: &App,
    tenant: &TenantId,
    connection: &ConnectionId,
    env: Environment,
    return_to: Option<String>,
) -> Result<Url, ServiceError> {
    if app.stores.tenants.get(tenant).await?.is_none() {
        return Err(ServiceError::NotFound(format!(
            "tenant {}",
            tenant.as_str()
        )));
    }
    if let Some(rt) = &return_to {
        let ok = Url::parse(rt)
            .map(|u| matches!(u.scheme(), "https" | "http"))
            .unwrap_or(false);
        if !ok || rt.len() > 2000 {
            return Err(ServiceError::bad_request(
                "return_to",
                "must be an absolute http(s) URL",
            ));
        }
    }
    let request = app
        .salesforce
        .oauth()
        .authorize_url(&login_base(app, env))?;
    let now = app.now();
    app.stores
        .oauth_states
        .put(&OAuthState {
            state: Secret::new(request.state.clone()),
            tenant: tenant.clone(),
            connection: connection.clone(),
            environment: env,
            pkce_verifier: Secret::new(request.pkce_verifier.secret()),
            return_to,
            created_at: now,
            expires_at: now + chrono::Duration::from_std(STATE_TTL).expect("small duration"),
        })
        .await?;
    Ok(request.url)
}

/// What the callback did.
#[derive(Debug, Clone, Serialize)]
pub struct Connected {
    pub tenant: String,
    pub connection: String,
    pub org_name: String,
    pub reconnected: bool,
    pub replayed_parked_events: usize,
    pub return_to: Option<String>,
}

/// Finishes a connect: checks the state once, exchanges the code, reads identity and org
/// name, stores the refresh token, marks the connection Connected and describes the
/// enabled objects. A reconnect keeps the mappings and replays work parked meanwhile.
pub async fn callback(app: &App, code: &str, state: &str) -> Result<Connected, ServiceError> {
    if code.is_empty() || code.len() > 1000 {
        return Err(ServiceError::bad_request("code", "missing or malformed"));
    }
    let pending = app.stores.oauth_states.take(state).await?.ok_or_else(|| {
        ServiceError::Unauthorized("unknown, expired or already used OAuth state".into())
    })?;
    let login = login_base(app, pending.environment);
    let verifier = PkceVerifier::new(pending.pkce_verifier.expose());
    let tokens = app
        .salesforce
        .oauth()
        .exchange_code(&login, code, &verifier)
        .await?;
    let refresh = tokens.refresh_token.clone().ok_or_else(|| {
        ServiceError::bad_request(
            "scope",
            "Salesforce issued no refresh token: the connected app must allow the refresh_token scope",
        )
    })?;
    let identity = app
        .salesforce
        .oauth()
        .identity(&tokens.identity_url, &tokens.access_token)
        .await?;
    let probe = SfClient::new(
        app.salesforce.http().clone(),
        ClientConfig::new(tokens.instance_url.clone())
            .with_api_version(app.salesforce.api_version()),
        std::sync::Arc::new(StaticTokenProvider::new(tokens.access_token.clone())),
    )?;
    let org_name = org_name(&probe).await?;

    let tenant = pending.tenant.clone();
    let id = pending.connection.clone();
    let previous = app.stores.connections.get(&tenant, &id).await?;
    if let Some(prev) = &previous
        && !prev.org_id.is_empty()
        && prev.org_id != identity.organization_id
    {
        // Links point at the old org's record ids; mixing orgs would corrupt them.
        let _ = app
            .salesforce
            .oauth()
            .revoke(&login, Revocable::Refresh(refresh))
            .await;
        return Err(ServiceError::Conflict(format!(
            "connection {} is linked to another Salesforce org; disconnect it or use a new connection id",
            id.as_str()
        )));
    }
    let now = app.now();
    let stored = StoredToken {
        refresh_token: Secret::new(refresh.secret()),
        instance_url: tokens.instance_url.to_string(),
        issued_at: tokens.issued_at.unwrap_or(now),
        metadata: [
            ("org_id".to_string(), identity.organization_id.clone()),
            ("user_id".to_string(), identity.user_id.clone()),
        ]
        .into(),
    };
    app.stores.vault.put(&tenant, &id, &stored).await?;
    let connection = Connection {
        tenant: tenant.clone(),
        id: id.clone(),
        status: ConnectionStatus::Connected,
        environment: pending.environment,
        org_id: identity.organization_id.clone(),
        org_name: org_name.clone(),
        instance_url: tokens
            .instance_url
            .as_str()
            .trim_end_matches('/')
            .to_string(),
        login_url: login.as_str().trim_end_matches('/').to_string(),
        user: ConnectedUser {
            id: identity.user_id.clone(),
            username: identity.username.clone(),
            email: identity.email.clone(),
        },
        secret_name: app.stores.vault.secret_name(&tenant, &id),
        last_sync_at: previous.as_ref().and_then(|p| p.last_sync_at),
        last_poll_at: previous.as_ref().and_then(|p| p.last_poll_at),
        poll_minutes: previous.as_ref().and_then(|p| p.poll_minutes),
        last_error: None,
        last_success_at: previous.as_ref().and_then(|p| p.last_success_at),
        last_failure_at: previous.as_ref().and_then(|p| p.last_failure_at),
        last_error_code: previous.as_ref().and_then(|p| p.last_error_code.clone()),
        created_at: previous.as_ref().map(|p| p.created_at).unwrap_or(now),
        updated_at: now,
        provisioning: previous.as_ref().and_then(|p| p.provisioning.clone()),
        // A reconnect keeps the switch; a new connection starts off unless the stack says.
        sync_enabled: previous
            .as_ref()
            .map_or(app.settings.sync_on_connect, |p| p.sync_enabled),
    };
    app.stores.connections.put(&connection).await?;
    // The org name's query carried `Sforce-Limit-Info`: a (re)connect records the org's
    // limit at once (a limit raised during a pause lifts it), at no extra call.
    crate::guard::book_calls(app, &connection, &probe, 0).await;
    app.salesforce.forget(&tenant, &id);
    app.salesforce
        .remember_access_token(&tenant, &id, tokens.access_token.clone());

    // Reconnect keeps the mappings; a first connect gets the standard preset.
    let config = config_service::load_or_init(app, &tenant, &id).await?;
    let client = app.salesforce.client(&connection)?;
    let before = client.requests_sent();
    for (object, _) in config.config.enabled_objects() {
        client.describe(object).await?;
    }
    crate::guard::book_calls(app, &connection, &client, before).await;
    if config.config.provisioning.on_connect {
        // A refusal is recorded on the connection; only a failure (e.g. Salesforce down)
        // is logged here, since the connect itself succeeded and the endpoint can retry.
        if let Err(e) = crate::provision::provision(app, &tenant, &id).await {
            tracing::warn!(connection = id.as_str(), error = %e, "provisioning after connect failed");
        }
    }
    let replayed = parked::replay(app, &tenant, &id).await?;
    Ok(Connected {
        tenant: tenant.as_str().to_string(),
        connection: id.as_str().to_string(),
        org_name,
        reconnected: previous.is_some(),
        replayed_parked_events: replayed,
        return_to: pending.return_to,
    })
}

async fn org_name(client: &SfClient) -> Result<String, ServiceError> {
    let mut pages = client.query("SELECT Name FROM Organization LIMIT 1");
    if let Some(page) = pages.next().await
        && let Some(name) = page?.records.first().and_then(|r| r.get_str("Name"))
    {
        return Ok(name.to_string());
    }
    Ok(String::new())
}

/// Revokes the token and stops the sync; records already synced stay where they are.
pub async fn disconnect(
    app: &App,
    tenant: &TenantId,
    id: &ConnectionId,
) -> Result<(), ServiceError> {
    let connection = app
        .stores
        .connections
        .get(tenant, id)
        .await?
        .ok_or_else(|| ServiceError::NotFound(format!("connection {}", id.as_str())))?;
    if let Some(stored) = app.stores.vault.get(tenant, id).await?
        && let Ok(login) = Url::parse(&connection.login_url)
    {
        let token = RefreshToken::new(stored.token.refresh_token.expose());
        if let Err(e) = app
            .salesforce
            .oauth()
            .revoke(&login, Revocable::Refresh(token))
            .await
        {
            tracing::warn!(tenant = tenant.as_str(), connection = id.as_str(), error = %e, "revoke failed; deleting the token anyway");
        }
    }
    app.stores.vault.delete(tenant, id).await?;
    app.stores
        .connections
        .update_status(tenant, id, None, ConnectionStatus::Disconnected, None)
        .await?;
    app.salesforce.forget(tenant, id);
    Ok(())
}
