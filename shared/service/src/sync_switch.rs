//! The sync on/off switch (seed 000: "never run a full sync first"; "fix them before
//! turning on the sync"). A new connection starts off ([`crate::settings::Settings::sync_on_connect`]):
//! test syncs, config edits and `config/status` work; polls and sweeps end `sync_off` and
//! pushed events are refused with `SYNC_OFF`. Turning it on checks the config against the
//! org first and refuses a config that is not ready, listing every problem.

use crmsync_store::{ConnectionId, TenantId};
use serde::Serialize;

use crate::app::App;
use crate::error::ServiceError;
use crate::reports;

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct SyncSwitch {
    pub connection: String,
    pub sync_enabled: bool,
}

/// Turns the connection's sync on (after the readiness check) or off.
pub async fn set_sync(
    app: &App,
    tenant: &TenantId,
    id: &ConnectionId,
    enabled: bool,
) -> Result<SyncSwitch, ServiceError> {
    if enabled {
        let status = reports::config_status(app, tenant, id).await?;
        let problems = not_ready_because(&status);
        if !problems.is_empty() {
            return Err(ServiceError::InvalidConfig(format!(
                "the sync stays off until the config is ready: {}",
                problems.join("; ")
            )));
        }
    }
    let updated = app
        .stores
        .connections
        .set_sync_enabled(tenant, id, enabled)
        .await
        .map_err(|e| match e {
            crmsync_store::StoreError::NotFound(what) => ServiceError::NotFound(what),
            other => other.into(),
        })?;
    tracing::info!(enabled, "sync switched");
    Ok(SyncSwitch {
        connection: id.as_str().to_string(),
        sync_enabled: updated.sync_enabled,
    })
}

/// Every reason `config/status` is not ready, each naming where it is.
fn not_ready_because(status: &reports::ConfigStatus) -> Vec<String> {
    let mut out: Vec<String> = status.readiness.iter().map(ToString::to_string).collect();
    for m in status
        .mappings
        .iter()
        .filter(|m| m.status != crmsync_core::preflight::Status::Ok)
    {
        out.push(format!(
            "mapping {}.{} ({}): {}",
            m.object,
            m.salesforce_field,
            m.app_field,
            m.problems.join(", ")
        ));
    }
    for d in &status.describe_problems {
        out.push(format!("{}: {}", d.object, d.message));
    }
    out
}
