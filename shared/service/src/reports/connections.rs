//! Connection details (the Connection Details panel) and the connection lookups the other
//! resources share.

use chrono::{DateTime, Utc};
use crmsync_salesforce::SfClient;
use crmsync_store::{
    ConnectedUser, Connection, ConnectionId, ConnectionStatus, Environment, TenantId,
};
use serde::Serialize;

use super::store_err;
use crate::app::App;
use crate::error::ServiceError;

/// The Connection Details panel: everything but secrets.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct ConnectionDetails {
    pub connection: String,
    /// `Connected | ReconnectNeeded | Failed | Disconnected`.
    pub status: ConnectionStatus,
    pub environment: Environment,
    pub org_id: String,
    pub org_name: String,
    pub instance_url: String,
    pub connected_user: ConnectedUser,
    /// When a poll or push last succeeded.
    pub last_sync_at: Option<DateTime<Utc>>,
    pub last_error: Option<String>,
    /// Health: the last success and the last failure (with Salesforce's error code).
    pub last_success_at: Option<DateTime<Utc>>,
    pub last_failure_at: Option<DateTime<Utc>>,
    pub last_error_code: Option<String>,
    /// The sync switch (`POST …/sync`).
    pub sync_enabled: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// The last provisioning run (`provisioned`, `partial`, `refused` with its reason).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub provisioning: Option<crmsync_store::Provisioning>,
}

impl From<&Connection> for ConnectionDetails {
    fn from(c: &Connection) -> Self {
        Self {
            connection: c.id.as_str().to_string(),
            status: c.status,
            environment: c.environment,
            org_id: c.org_id.clone(),
            org_name: c.org_name.clone(),
            instance_url: c.instance_url.clone(),
            connected_user: c.user.clone(),
            last_sync_at: c.last_sync_at,
            last_error: c.last_error.clone(),
            last_success_at: c.last_success_at,
            last_failure_at: c.last_failure_at,
            last_error_code: c.last_error_code.clone(),
            sync_enabled: c.sync_enabled,
            created_at: c.created_at,
            updated_at: c.updated_at,
            provisioning: c.provisioning.clone(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct ConnectionList {
    pub connections: Vec<ConnectionDetails>,
}

pub async fn list_connections(
    app: &App,
    tenant: &TenantId,
) -> Result<ConnectionList, ServiceError> {
    let mut found = app
        .stores
        .connections
        .list_for_tenant(tenant)
        .await
        .map_err(store_err)?;
    found.sort_by(|a, b| a.id.cmp(&b.id));
    Ok(ConnectionList {
        connections: found.iter().map(ConnectionDetails::from).collect(),
    })
}

/// The stored connection, or 404.
pub(super) async fn connection(
    app: &App,
    tenant: &TenantId,
    id: &ConnectionId,
) -> Result<Connection, ServiceError> {
    app.stores
        .connections
        .get(tenant, id)
        .await
        .map_err(store_err)?
        .ok_or_else(|| ServiceError::NotFound(format!("connection {}", id.as_str())))
}

pub async fn get_connection(
    app: &App,
    tenant: &TenantId,
    id: &ConnectionId,
) -> Result<ConnectionDetails, ServiceError> {
    Ok(ConnectionDetails::from(&connection(app, tenant, id).await?))
}

/// A connection that can talk to Salesforce now, with its client.
pub(super) async fn live_client(
    app: &App,
    tenant: &TenantId,
    id: &ConnectionId,
) -> Result<SfClient, ServiceError> {
    Ok(live_connection(app, tenant, id).await?.1)
}

/// [`live_client`] with its connection, so the caller can book the calls it makes (and the
/// `Sforce-Limit-Info` reading they bring: a raised limit is seen from any response).
pub(super) async fn live_connection(
    app: &App,
    tenant: &TenantId,
    id: &ConnectionId,
) -> Result<(Connection, SfClient), ServiceError> {
    let conn = connection(app, tenant, id).await?;
    match conn.status {
        ConnectionStatus::ReconnectNeeded => {
            Err(ServiceError::ReconnectNeeded(id.as_str().to_string()))
        }
        ConnectionStatus::Disconnected => Err(ServiceError::Conflict(format!(
            "connection {} is disconnected; connect it first",
            id.as_str()
        ))),
        ConnectionStatus::Connected | ConnectionStatus::Failed => {
            let client = app.salesforce.client(&conn)?;
            Ok((conn, client))
        }
    }
}
