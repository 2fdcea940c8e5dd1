use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::ids::{ConnectionId, TenantId};

/// Where a connection stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ConnectionStatus {
    Connected,
    /// Tokens were refused (`invalid_grant`): work is parked until an admin reconnects.
    ReconnectNeeded,
    Failed,
    /// Disconnected on purpose: no sync, data already synced is kept.
    Disconnected,
}

impl ConnectionStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            ConnectionStatus::Connected => "Connected",
            ConnectionStatus::ReconnectNeeded => "ReconnectNeeded",
            ConnectionStatus::Failed => "Failed",
            ConnectionStatus::Disconnected => "Disconnected",
        }
    }
}

/// Salesforce production or sandbox.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Environment {
    Production,
    Sandbox,
}

/// The Salesforce user who authorised the connection.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConnectedUser {
    pub id: String,
    pub username: String,
    pub email: Option<String>,
}

/// One tenant's link to one Salesforce org. Tokens are not here: see `TokenVault`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Connection {
    pub tenant: TenantId,
    pub id: ConnectionId,
    pub status: ConnectionStatus,
    pub environment: Environment,
    pub org_id: String,
    pub org_name: String,
    pub instance_url: String,
    pub login_url: String,
    pub user: ConnectedUser,
    /// Name of the Secrets Manager secret (or embedded vault entry) holding the tokens.
    pub secret_name: String,
    pub last_sync_at: Option<DateTime<Utc>>,
    /// The sync config's poll frequency in minutes, copied here when the config changes
    /// (and checked by each poll) so the scheduler decides "due" from the connections
    /// index alone, with no config read per connection. `None`: every minute, the
    /// standard config's frequency.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub poll_minutes: Option<u32>,
    pub last_error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}
