//! Tenant provisioning and authentication: API keys (stored hashed) for the report API,
//! webhook signing secrets for ingest.

use crmsync_store::{Secret, StoredToken, Tenant, TenantId};
use serde::Serialize;

use crate::api_keys::{hash_key, new_api_key, new_webhook_secret};
use crate::app::App;
use crate::error::ServiceError;

/// The webhook secret is kept in the vault under this pseudo-connection, so it sits with the
/// other secrets (Secrets Manager in AWS) rather than in the table.
const WEBHOOK_VAULT_CONNECTION: &str = "webhook";

/// Credentials shown once, at creation or rotation. `Debug` redacts them, so a stray log
/// line cannot leak them.
#[derive(Clone, Serialize, utoipa::ToSchema)]
pub struct IssuedCredentials {
    pub tenant_id: String,
    pub api_key: String,
    pub webhook_secret: String,
}

impl std::fmt::Debug for IssuedCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IssuedCredentials")
            .field("tenant_id", &self.tenant_id)
            .field("api_key", &"<redacted>")
            .field("webhook_secret", &"<redacted>")
            .finish()
    }
}

/// Tenant ids starting with `_` are crmsync's own (e.g. the operator key's vault entry).
const RESERVED_TENANT_PREFIX: char = '_';

pub fn parse_tenant_id(raw: &str) -> Result<TenantId, ServiceError> {
    if raw.starts_with(RESERVED_TENANT_PREFIX) {
        return Err(ServiceError::bad_request(
            "tenant",
            "must not start with '_' (reserved for crmsync)",
        ));
    }
    TenantId::new(raw).map_err(|_| {
        ServiceError::bad_request("tenant", "must be 1 to 64 letters, digits, '-' or '_'")
    })
}

/// Creates a tenant (refuses an existing id) and issues its credentials.
pub async fn create_tenant(
    app: &App,
    tenant_id: &str,
    name: &str,
) -> Result<IssuedCredentials, ServiceError> {
    let id = parse_tenant_id(tenant_id)?;
    if name.trim().is_empty() || name.len() > 200 {
        return Err(ServiceError::bad_request(
            "name",
            "must be 1 to 200 characters",
        ));
    }
    if app.stores.tenants.get(&id).await?.is_some() {
        return Err(ServiceError::Conflict(format!(
            "tenant {tenant_id} already exists"
        )));
    }
    let api_key = new_api_key();
    let webhook_secret = new_webhook_secret();
    // The tenant first, conditionally: of two concurrent creates only the winner goes on to
    // store its webhook secret, so the loser cannot overwrite the winner's.
    app.stores
        .tenants
        .create(&Tenant {
            id: id.clone(),
            name: name.trim().to_string(),
            api_key_hash: hash_key(&api_key),
            webhook_secret_ref: app.stores.vault.secret_name(&id, &webhook_connection()),
            created_at: app.now(),
        })
        .await
        .map_err(|e| match e {
            crmsync_store::StoreError::Conflict(_) => {
                ServiceError::Conflict(format!("tenant {tenant_id} already exists"))
            }
            other => other.into(),
        })?;
    // If this fails the tenant exists without a secret; rotating its credentials repairs it.
    store_webhook_secret(app, &id, &webhook_secret).await?;
    Ok(IssuedCredentials {
        tenant_id: tenant_id.to_string(),
        api_key,
        webhook_secret,
    })
}

/// Issues a new API key and webhook secret; the old ones stop working at once.
pub async fn rotate_credentials(
    app: &App,
    tenant: &TenantId,
) -> Result<IssuedCredentials, ServiceError> {
    if app.stores.tenants.get(tenant).await?.is_none() {
        return Err(ServiceError::NotFound(format!(
            "tenant {}",
            tenant.as_str()
        )));
    }
    let api_key = new_api_key();
    let webhook_secret = new_webhook_secret();
    store_webhook_secret(app, tenant, &webhook_secret).await?;
    app.stores
        .tenants
        .rotate_api_key(tenant, &hash_key(&api_key))
        .await?;
    Ok(IssuedCredentials {
        tenant_id: tenant.as_str().to_string(),
        api_key,
        webhook_secret,
    })
}

/// Resolves a bearer API key to its tenant.
pub async fn authenticate(app: &App, api_key: &str) -> Result<Tenant, ServiceError> {
    if api_key.is_empty() || api_key.len() > 200 {
        return Err(ServiceError::Unauthorized(
            "missing or malformed API key".into(),
        ));
    }
    let hash = hash_key(api_key);
    let unknown = || ServiceError::Unauthorized("unknown API key".into());
    let found = app
        .stores
        .tenants
        .find_by_api_key_hash(&hash)
        .await?
        .ok_or_else(unknown)?;
    // The key index is eventually consistent: confirm against the tenant item (a strongly
    // consistent read), so a rotated-out key stops working at once.
    let current = app
        .stores
        .tenants
        .get(&found.id)
        .await?
        .ok_or_else(unknown)?;
    if current.api_key_hash == hash {
        Ok(current)
    } else {
        Err(unknown())
    }
}

/// The tenant's webhook signing secret.
pub async fn webhook_secret(app: &App, tenant: &TenantId) -> Result<String, ServiceError> {
    let conn = webhook_connection();
    let stored = app
        .stores
        .vault
        .get(tenant, &conn)
        .await?
        .ok_or_else(|| ServiceError::Unauthorized("unknown tenant".into()))?;
    Ok(stored.token.refresh_token.expose().to_string())
}

async fn store_webhook_secret(
    app: &App,
    tenant: &TenantId,
    secret: &str,
) -> Result<String, ServiceError> {
    let conn = webhook_connection();
    let token = StoredToken {
        refresh_token: Secret::new(secret),
        instance_url: String::new(),
        issued_at: app.now(),
        metadata: [("kind".to_string(), "webhook-signing-secret".to_string())].into(),
    };
    app.stores.vault.put(tenant, &conn, &token).await?;
    Ok(app.stores.vault.secret_name(tenant, &conn))
}

fn webhook_connection() -> crmsync_store::ConnectionId {
    crmsync_store::ConnectionId::new(WEBHOOK_VAULT_CONNECTION).expect("constant id is valid")
}

/// Connection ids a tenant may use; `webhook` is reserved for the signing secret.
pub fn parse_connection_id(raw: &str) -> Result<crmsync_store::ConnectionId, ServiceError> {
    if raw == WEBHOOK_VAULT_CONNECTION {
        return Err(ServiceError::bad_request(
            "connection",
            "'webhook' is reserved",
        ));
    }
    crmsync_store::ConnectionId::new(raw).map_err(|_| {
        ServiceError::bad_request("connection", "must be 1 to 64 letters, digits, '-' or '_'")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reserved_and_malformed_tenant_ids_are_refused_by_name() {
        for bad in ["_crmsync", "_anything", "", "a#b", "a b"] {
            let err = parse_tenant_id(bad).unwrap_err().to_string();
            assert!(err.contains("tenant"), "{bad:?}: {err}");
        }
        assert_eq!(parse_tenant_id("acme-1").unwrap().as_str(), "acme-1");
    }

    #[test]
    fn issued_credentials_debug_redacts_secrets() {
        let issued = IssuedCredentials {
            tenant_id: "acme".into(),
            api_key: "csk_live_secret".into(),
            webhook_secret: "whsec_secret".into(),
        };
        let shown = format!("{issued:?}");
        assert!(shown.contains("acme"));
        assert!(
            !shown.contains("csk_live_secret") && !shown.contains("whsec_secret"),
            "{shown}"
        );
    }
}
