//! Salesforce changes a rule refused inbound, and how the app is told (seed 003's
//! notices: "Sellfire will not accept a change in ownership from Salesforce, and an email
//! notification will be sent").
//!
//! The inbound decision lists each refusal ([`Refusal`]); the link remembers the refused
//! values the app was told about ([`crate::types::LinkTimes::refused`]), so the same
//! unchanged refusal is told once, not on every poll that reads the record again (the
//! overlap window, another field's change). A new value refused is told again; a refusal
//! that ends (the value is accepted, or echoes the app's) is forgotten.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::types::OWNER_HASH_KEY;

/// The rule that refused a Salesforce change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RefusalRule {
    /// `owners.keep_owner_field` is true on the app record: owner changes are refused.
    KeepOwnerField,
    /// The field's rule is `app_only`: the app's value is the one kept.
    AppOnly,
    /// The value is not in the mapping's `inbound_allow` list.
    InboundAllow,
    /// The app changed the field too, and `conflict_policy` kept the app's value.
    ConflictPolicy,
}

impl RefusalRule {
    pub fn as_str(self) -> &'static str {
        match self {
            RefusalRule::KeepOwnerField => "keep_owner_field",
            RefusalRule::AppOnly => "app_only",
            RefusalRule::InboundAllow => "inbound_allow",
            RefusalRule::ConflictPolicy => "conflict_policy",
        }
    }
}

/// One Salesforce change a rule refused.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Refusal {
    /// The Salesforce field (`OwnerId` for an owner change).
    pub field: String,
    /// The app field it maps to.
    pub app_field: String,
    pub rule: RefusalRule,
    /// The rule's setting, for the sentence: the flag field, the policy, the allowed values.
    pub setting: String,
    /// The refused value as Salesforce holds it (the owner's email for an owner change).
    pub value: Value,
    /// The key the link remembers it by, and the refused value's hash.
    #[serde(skip)]
    pub key: String,
    #[serde(skip)]
    pub hash: String,
}

impl Refusal {
    /// Why, in words: "owners.keep_owner_field `has_future_events` is true on the app record".
    pub fn why(&self) -> String {
        match self.rule {
            RefusalRule::KeepOwnerField => format!(
                "owners.keep_owner_field `{}` is true on the app record",
                self.setting
            ),
            RefusalRule::AppOnly => format!(
                "the mapping of `{}` is app_only (the app's value is kept)",
                self.app_field
            ),
            RefusalRule::InboundAllow => format!(
                "the value is not among those accepted from Salesforce for `{}` ({})",
                self.app_field, self.setting
            ),
            RefusalRule::ConflictPolicy => format!(
                "conflict_policy {} kept the app's newer value of `{}`",
                self.setting, self.app_field
            ),
        }
    }
}

/// The refused values to remember on the link after a decision: exactly those refused now.
pub fn remembered(refusals: &[Refusal]) -> BTreeMap<String, String> {
    refusals
        .iter()
        .map(|r| (r.key.clone(), r.hash.clone()))
        .collect()
}

/// The refusals the app was not told about yet (the link remembers what it was told).
pub fn untold(refusals: Vec<Refusal>, told: &BTreeMap<String, String>) -> Vec<Refusal> {
    refusals
        .into_iter()
        .filter(|r| told.get(&r.key) != Some(&r.hash))
        .collect()
}

/// The Salesforce field a refusal key names (the owner's pseudo-field is `OwnerId`).
pub fn field_of(key: &str) -> &str {
    if key == OWNER_HASH_KEY {
        "OwnerId"
    } else {
        key
    }
}

/// The notice sentence: connection, object and id, the app record, fields and rule.
pub fn sentence(
    connection: &str,
    sf_object: &str,
    sf_id: &str,
    app: Option<(&str, &str)>,
    refusals: &[Refusal],
) -> String {
    let fields: Vec<&str> = refusals.iter().map(|r| r.field.as_str()).collect();
    let whose = match app {
        Some((object, id)) => format!(" (app {object} `{id}`)"),
        None => String::new(),
    };
    let why: Vec<String> = refusals
        .iter()
        .map(|r| format!("{}: {}", r.field, r.why()))
        .collect();
    format!(
        "Connection `{connection}`: a Salesforce change to {sf_object} {sf_id}{whose} was not applied to the app ({}). Why: {}.",
        fields.join(", "),
        why.join("; ")
    )
}
