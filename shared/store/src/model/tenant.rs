use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::ids::TenantId;

/// A customer of the app. Only the API key's hash is stored, never the key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tenant {
    pub id: TenantId,
    pub name: String,
    pub api_key_hash: String,
    /// Where the webhook signing secret lives (a secret name/ARN), not the secret.
    pub webhook_secret_ref: String,
    pub created_at: DateTime<Utc>,
}
