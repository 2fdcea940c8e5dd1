use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::secret::Secret;

/// What persists of a connection's OAuth grant. The access token is deliberately not
/// here: it is short-lived, cached in memory, and writing it would spend Secrets
/// Manager's write rate on every refresh.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredToken {
    pub refresh_token: Secret,
    pub instance_url: String,
    pub issued_at: DateTime<Utc>,
    /// Non-secret extras (scope, id URL, token type...).
    #[serde(default)]
    pub metadata: BTreeMap<String, String>,
}

/// Identifies one stored version, for compare-and-swap rotation.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct TokenVersion(pub String);

/// A token with the version it was read at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VersionedToken {
    pub token: StoredToken,
    pub version: TokenVersion,
}
