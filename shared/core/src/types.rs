//! Small shared vocabulary: app objects, event kinds, field maps and link state.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// A record's fields, by field name, as JSON values.
pub type FieldMap = BTreeMap<String, Value>;

/// Hashes of the values crmsync last wrote or read, by Salesforce field name
/// (plus the pseudo-field [`OWNER_HASH_KEY`]). Absent when a record is unlinked.
pub type LinkHashes = BTreeMap<String, String>;

/// Link-hash key under which the owner's (lower-cased) email hash is kept.
pub const OWNER_HASH_KEY: &str = "Owner.Email";

/// The app-side object a Salesforce object maps to.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum AppObject {
    Contact,
    Company,
    Deal,
    User,
    Activity,
    /// A place of business (a company's sites; seed 003's multi-site sync), fed inbound
    /// from a custom object such as `Site__c`.
    Location,
}

impl AppObject {
    pub fn as_str(self) -> &'static str {
        match self {
            AppObject::Contact => "contact",
            AppObject::Company => "company",
            AppObject::Deal => "deal",
            AppObject::User => "user",
            AppObject::Activity => "activity",
            AppObject::Location => "location",
        }
    }
}

/// What happened in the app; also the trigger a field mapping can listen to.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    Create,
    Update,
    DemoSet,
    Sale,
}

/// One link between an app record and a Salesforce record.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Link {
    pub salesforce_id: String,
    #[serde(default)]
    pub hashes: LinkHashes,
    /// When each side last changed each field (conflict policy, per-record order).
    #[serde(default)]
    pub times: LinkTimes,
}

/// One side's last change to a field: when it was made, and when crmsync carried it to
/// the other side (pushed to Salesforce, or polled into the change feed).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldChange {
    pub at: DateTime<Utc>,
    pub synced_at: DateTime<Utc>,
}

/// Per-field change times of a link, keyed like [`LinkHashes`].
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct LinkTimes {
    /// The app's changes (an event's `occurred_at`).
    #[serde(default)]
    pub app: BTreeMap<String, FieldChange>,
    /// Salesforce's changes (`LastModifiedDate`, else `SystemModstamp`).
    #[serde(default)]
    pub salesforce: BTreeMap<String, FieldChange>,
    /// The app's last value of `owners.keep_owner_field` (None: never sent).
    #[serde(default)]
    pub owner_locked: Option<bool>,
    /// Hashes of the values a push is writing, by Salesforce field, recorded before the
    /// write and cleared when its result is linked. A poll that finds one of these values
    /// sees crmsync's own write (whose link update may have failed), not a user's change.
    #[serde(default)]
    pub pending: BTreeMap<String, String>,
    /// When crmsync last told the app a value of the field back through the change feed to
    /// settle a conflict (a Salesforce value the app's refused change lost to, or the app's
    /// own value written over one the feed had given it). A later write of an app change
    /// made before then is told back too, so the app never keeps a restated older value.
    #[serde(default)]
    pub fed: BTreeMap<String, DateTime<Utc>>,
    /// The `occurred_at` of the app event whose write made this link. A link moves to
    /// another record only for an event at least as new: a redelivered older event's
    /// record does not take it back (links only move forward in the app's time).
    #[serde(default)]
    pub linked_by_event_at: Option<DateTime<Utc>>,
    /// Salesforce values a rule refused inbound that the app was told about (a change-feed
    /// notice), by field (or [`OWNER_HASH_KEY`]) → the refused value's hash, so the same
    /// refusal is told once ([`crate::refusal`]).
    #[serde(default)]
    pub refused: BTreeMap<String, String>,
}

/// An app record as the service read it, for conflict resolution.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct AppRecord {
    pub fields: FieldMap,
    /// When the app last modified the record (for the most-recent conflict policy).
    #[serde(default)]
    pub modified_at: Option<chrono::DateTime<chrono::Utc>>,
}

/// Why a single field was not carried over, for reports.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct FieldNote {
    pub field: String,
    pub reason: String,
}

impl FieldNote {
    pub fn new(field: impl Into<String>, reason: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            reason: reason.into(),
        }
    }
}

/// True for JSON null, empty or whitespace-only strings and empty arrays.
pub fn is_blank(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::String(s) => s.trim().is_empty(),
        Value::Array(a) => a.is_empty(),
        _ => false,
    }
}
