use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::ids::{ConnectionId, TenantId};
use crate::model::Environment;
use crate::secret::Secret;

/// A pending OAuth authorisation: bound to a tenant and connection, taken once.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OAuthState {
    /// The random `state` parameter (also the key).
    pub state: Secret,
    pub tenant: TenantId,
    pub connection: ConnectionId,
    pub environment: Environment,
    pub pkce_verifier: Secret,
    pub return_to: Option<String>,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

/// A held lease. Valid until `expires_at`; renew before then or lose it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Lease {
    pub name: String,
    pub owner: String,
    pub expires_at: DateTime<Utc>,
}
