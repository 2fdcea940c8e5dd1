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
    /// When each side last changed each field (conflict policy, per-record order). Absent
    /// on links written before it existed.
    #[serde(default)]
    pub times: LinkTimes,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Bumped by every write of the link (a created link has 1, links written before
    /// versions existed read as 0): [`crate::LinkStore::update_synced_if`] writes only
    /// over the version its caller read. Set by the store; what a caller passes is ignored
    /// except by `replace`, which stores one more than it.
    #[serde(default)]
    pub version: u64,
}

/// One side's last change to a field: when it was made, and when crmsync carried it to
/// the other side (pushed or polled).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldChange {
    pub at: DateTime<Utc>,
    pub synced_at: DateTime<Utc>,
}

/// Per-field change times of a link, keyed like `hashes` (Salesforce field names).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct LinkTimes {
    /// The app's changes (an event's `occurred_at`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub app: BTreeMap<String, FieldChange>,
    /// Salesforce's changes (`LastModifiedDate`, else `SystemModstamp`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub salesforce: BTreeMap<String, FieldChange>,
    /// The app's last value of the owner-keeping flag (`owners.keep_owner_field`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner_locked: Option<bool>,
    /// Hashes of the values a push is writing, by Salesforce field (see the core's
    /// `LinkTimes::pending`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub pending: BTreeMap<String, String>,
    /// When crmsync last told the app a value of the field back (see the core's
    /// `LinkTimes::fed`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub fed: BTreeMap<String, DateTime<Utc>>,
    /// The `occurred_at` of the app event whose write made the link (see the core's
    /// `LinkTimes::linked_by_event_at`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub linked_by_event_at: Option<DateTime<Utc>>,
    /// Refused Salesforce values the app was told about, by field → value hash (see the
    /// core's `LinkTimes::refused`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub refused: BTreeMap<String, String>,
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
