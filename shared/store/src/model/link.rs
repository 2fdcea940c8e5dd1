use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::ids::{ConnectionId, TenantId};

/// An app record paired with a Salesforce record, with hashes of the values last
/// synced (echo suppression). Keyed by `(app_object, app_id)`; also found by `sf_id`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Link {
    pub tenant: TenantId,
    pub connection: ConnectionId,
    pub app_object: String,
    pub app_id: String,
    pub sf_object: String,
    pub sf_id: String,
    pub hashes: BTreeMap<String, String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// Outcome of a create-if-absent: exactly one racing writer gets `Created`, the
/// others get the winner's link back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LinkCreate {
    Created(Link),
    Existing(Link),
}

impl LinkCreate {
    pub fn link(&self) -> &Link {
        match self {
            LinkCreate::Created(l) | LinkCreate::Existing(l) => l,
        }
    }

    pub fn into_link(self) -> Link {
        match self {
            LinkCreate::Created(l) | LinkCreate::Existing(l) => l,
        }
    }

    pub fn was_created(&self) -> bool {
        matches!(self, LinkCreate::Created(_))
    }
}
