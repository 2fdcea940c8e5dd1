//! Loading, initialising and replacing a connection's sync config (stored versioned).

use crmsync_core::config::SyncConfig;
use crmsync_store::{ConnectionId, TenantId};
use serde::Serialize;

use crate::app::App;
use crate::error::ServiceError;

/// A config with the store version it was read at (for optimistic concurrency).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct VersionedConfig {
    pub version: u64,
    pub config: SyncConfig,
}

pub async fn load(
    app: &App,
    tenant: &TenantId,
    id: &ConnectionId,
) -> Result<Option<VersionedConfig>, ServiceError> {
    let Some(stored) = app.stores.configs.get_latest(tenant, id).await? else {
        return Ok(None);
    };
    let config: SyncConfig = serde_json::from_value(stored.config)
        .map_err(|e| ServiceError::Internal(format!("stored sync config does not parse: {e}")))?;
    Ok(Some(VersionedConfig {
        version: stored.version,
        config,
    }))
}

/// The connection's config, storing the standard preset if it has none yet.
pub async fn load_or_init(
    app: &App,
    tenant: &TenantId,
    id: &ConnectionId,
) -> Result<VersionedConfig, ServiceError> {
    if let Some(found) = load(app, tenant, id).await? {
        return Ok(found);
    }
    let config = SyncConfig::standard();
    let value = serde_json::to_value(&config).map_err(|e| ServiceError::Internal(e.to_string()))?;
    match app.stores.configs.put(tenant, id, 0, value).await {
        Ok(stored) => Ok(VersionedConfig {
            version: stored.version,
            config,
        }),
        // Someone else initialised it first: use theirs.
        Err(crmsync_store::StoreError::Conflict(_)) => load(app, tenant, id)
            .await?
            .ok_or_else(|| ServiceError::Internal("config vanished after a conflict".into())),
        Err(e) => Err(e.into()),
    }
}

/// Replaces the config after validating it. `expected_version` guards against lost updates.
pub async fn replace(
    app: &App,
    tenant: &TenantId,
    id: &ConnectionId,
    expected_version: u64,
    raw: &serde_json::Value,
) -> Result<VersionedConfig, ServiceError> {
    let config: SyncConfig = serde_json::from_value(raw.clone())
        .map_err(|e| ServiceError::bad_request("config", e.to_string()))?;
    if let Err(problems) = config.validate() {
        return Err(ServiceError::InvalidConfig(problems.to_string()));
    }
    let value = serde_json::to_value(&config).map_err(|e| ServiceError::Internal(e.to_string()))?;
    let stored = app
        .stores
        .configs
        .put(tenant, id, expected_version, value)
        .await
        .map_err(|e| match e {
            crmsync_store::StoreError::Conflict(_) => ServiceError::Conflict(format!(
                "the config changed since version {expected_version}; reload and retry"
            )),
            other => other.into(),
        })?;
    // The scheduler reads the frequency from the connection record; a failed copy is
    // repaired by the next poll, which compares it with the config it loads.
    let minutes = u32::try_from(config.frequency.minutes()).unwrap_or(1);
    if let Err(e) = app
        .stores
        .connections
        .set_poll_minutes(tenant, id, minutes)
        .await
    {
        tracing::warn!(tenant = tenant.as_str(), connection = id.as_str(), error = %e, "poll frequency not copied to the connection; the next poll repairs it");
    }
    Ok(VersionedConfig {
        version: stored.version,
        config,
    })
}
