use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::ids::{ConnectionId, TenantId};

/// Where a connection stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
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
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Environment {
    Production,
    Sandbox,
}

/// The Salesforce user who authorised the connection.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ConnectedUser {
    pub id: String,
    pub username: String,
    pub email: Option<String>,
}

/// What kind of run succeeded ([`crate::ConnectionStore::record_sync`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SyncRun {
    Poll,
    Push,
}

/// A run's failure, as recorded on the connection with a status change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectionFailure {
    pub at: DateTime<Utc>,
    /// Salesforce's error code, when it gave one (`API_DISABLED_FOR_ORG`).
    pub code: Option<String>,
    pub message: String,
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
    /// When a poll or a push last succeeded.
    pub last_sync_at: Option<DateTime<Utc>>,
    /// When a poll last finished (the scheduler's "due" clock; pushes do not move it).
    /// Records written before it existed have none and are due at once (one early poll).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_poll_at: Option<DateTime<Utc>>,
    /// The sync config's poll frequency in minutes, copied here when the config changes
    /// (and checked by each poll) so the scheduler decides "due" from the connections
    /// index alone, with no config read per connection. `None`: every minute, the
    /// standard config's frequency.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub poll_minutes: Option<u32>,
    pub last_error: Option<String>,
    /// When a run (poll or push) last succeeded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_success_at: Option<DateTime<Utc>>,
    /// When a run last met a Salesforce error, and its code (health panel).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_failure_at: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_error_code: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// The sync switch: off, polls and sweeps do nothing and pushed events are refused
    /// (`SYNC_OFF`); test syncs and config work. Records from before the switch are on.
    #[serde(default = "sync_on")]
    pub sync_enabled: bool,
    /// The last provisioning run's outcome (fields, permission set); `None` before the first.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provisioning: Option<Provisioning>,
}

fn sync_on() -> bool {
    true
}

impl Connection {
    /// When the last poll finished, for scheduling.
    pub fn last_polled(&self) -> Option<DateTime<Utc>> {
        self.last_poll_at
    }
}

/// How provisioning the org went.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ProvisioningState {
    /// Every field exists and is granted to the integration user.
    Provisioned,
    /// Done except for fields reported in `issues` (e.g. one exists with another type).
    Partial,
    /// The org refused (permission, edition): syncing goes on without crmsync's key.
    Refused,
}

/// The outcome of the last provisioning run, kept on the connection.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Provisioning {
    pub state: ProvisioningState,
    /// Why the org refused (its error code and message).
    #[serde(default)]
    pub reason: Option<String>,
    pub at: DateTime<Utc>,
    /// Objects whose `Crmsync_App_Id__c` is present and writable: their creates upsert by it.
    #[serde(default)]
    pub key_objects: Vec<String>,
    /// Fields left as they were, with why (`Lead.Score__c exists as string, declared number`).
    #[serde(default)]
    pub issues: Vec<String>,
    /// Writes the run made (fields, permission set, grants, assignments): 0 on a re-run.
    #[serde(default)]
    pub changes: u32,
}
