//! The per-connection sync configuration: which Salesforce objects sync to which app
//! objects, field mappings and their rules, owners, stages, conflicts and schedule.
//!
//! The JSON form is the stored and API form: `deny_unknown_fields` everywhere and a
//! `version` so that later shapes can be migrated explicitly.

mod custom_objects;
mod standard;
pub(crate) mod validate;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

pub use custom_objects::{CustomObjectsConfig, OrganizationConfig, SitesConfig};
pub use validate::{ConfigError, ConfigProblem};

use crate::transform::{FieldKind, ValueMap};
use crate::types::{AppObject, EventKind, FieldMap};

/// The config schema version this crate reads and writes.
pub const CONFIG_VERSION: u32 = 1;
/// The drift check's default interval per object page (`drift_check_interval_minutes`).
pub const DEFAULT_DRIFT_CHECK_MINUTES: u32 = 60;
/// Bounds of `drift_check_interval_minutes` when it is not 0 (off): a quarter hour to a week.
pub const DRIFT_CHECK_MINUTES_RANGE: std::ops::RangeInclusive<u32> = 15..=10_080;
/// Default records fetched per connection per poll run.
pub const DEFAULT_POLL_CAP: u32 = 1000;
/// Phases Sellfire accepts from Salesforce (seed 003, "Phase sync").
pub const SELLFIRE_INBOUND_PHASES: [&str; 5] = [
    "ColdCallCold",
    "Resting",
    "LongResting",
    "Retired",
    "Customer",
];

/// Salesforce objects crmsync knows, with the app object each maps to.
pub const STANDARD_OBJECTS: [(&str, AppObject); 7] = [
    ("Contact", AppObject::Contact),
    ("Lead", AppObject::Contact),
    ("Account", AppObject::Company),
    ("Opportunity", AppObject::Deal),
    ("OpportunityLineItem", AppObject::Deal),
    ("User", AppObject::User),
    ("Task", AppObject::Activity),
];

/// The app object a standard Salesforce object must map to (None for custom objects).
pub fn expected_app_object(sf_object: &str) -> Option<AppObject> {
    STANDARD_OBJECTS
        .iter()
        .find(|(n, _)| *n == sf_object)
        .map(|(_, a)| *a)
}

fn yes() -> bool {
    true
}

/// A tenant connection's sync configuration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SyncConfig {
    pub version: u32,
    /// Keyed by Salesforce object API name (`Contact`, `Lead`, `Site__c`, ...).
    #[serde(default)]
    pub objects: BTreeMap<String, ObjectConfig>,
    #[serde(default)]
    pub conflict_policy: ConflictPolicy,
    #[serde(default)]
    pub owners: OwnerMapping,
    /// Opportunity stage map, both ways (used by mappings with `use_stage_map`).
    #[serde(default)]
    pub stage_map: ValueMap,
    /// App fields that must be mapped before the sync may run, per app object.
    #[serde(default)]
    pub required_app_fields: BTreeMap<AppObject, Vec<String>>,
    #[serde(default = "default_poll_cap")]
    pub poll_cap: u32,
    #[serde(default)]
    pub frequency: SyncFrequency,
    /// This connection's own deletion-sweep interval (seed 002), in minutes; `None`: every
    /// tick of the stack's sweep schedule. The stack's tick is the floor.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sweep_interval_minutes: Option<u32>,
    /// How often each synced object's next page of linked records is compared with what
    /// crmsync last carried (drift, issue 13 item 9), in minutes; `None`: every
    /// [`DEFAULT_DRIFT_CHECK_MINUTES`]; `0`: off.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub drift_check_interval_minutes: Option<u32>,
    #[serde(default)]
    pub activity: ActivityConfig,
    #[serde(default)]
    pub matching: MatchingConfig,
    #[serde(default)]
    pub lead_routing: LeadRouting,
    #[serde(default)]
    pub opportunity: OpportunityConfig,
    /// Custom fields crmsync creates in the org (seed 004), see [`crate::provision`].
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub custom_fields: Vec<crate::provision::CustomFieldSpec>,
    /// When provisioning runs and who else gets the permission set.
    #[serde(
        default,
        skip_serializing_if = "crate::provision::ProvisioningConfig::is_default"
    )]
    pub provisioning: crate::provision::ProvisioningConfig,
    /// Seed 003's sites and Organization custom objects, written at a sale.
    #[serde(default, skip_serializing_if = "CustomObjectsConfig::is_empty")]
    pub custom_objects: CustomObjectsConfig,
}

fn default_poll_cap() -> u32 {
    DEFAULT_POLL_CAP
}

/// One Salesforce object's settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ObjectConfig {
    #[serde(default = "yes")]
    pub enabled: bool,
    pub app_object: AppObject,
    /// Record type used on create (none: the connected user's default).
    #[serde(default)]
    pub record_type_id: Option<String>,
    #[serde(default)]
    pub fields: Vec<FieldMapping>,
    /// Salesforce → app create/update toggles.
    #[serde(default)]
    pub inbound: DirectionToggles,
    /// Seed 002's import rule: a Salesforce record makes a new app record only when its
    /// owner is an app user (`owners.app_users`); others are skipped with the reason.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub only_app_user_owners: bool,
    /// App → Salesforce create/update toggles.
    #[serde(default)]
    pub outbound: DirectionToggles,
    /// Salesforce external-id field holding the app id; enables upsert.
    #[serde(default)]
    pub external_id_field: Option<String>,
    /// Constant app fields set on records from this object (e.g. `lead_type: "lead"`).
    #[serde(default)]
    #[schema(value_type = BTreeMap<String, serde_json::Value>)]
    pub app_defaults: FieldMap,
    /// Org constraints describe cannot show (validation-rule ranges), per Salesforce field.
    #[serde(default)]
    pub constraints: BTreeMap<String, FieldConstraint>,
}

impl ObjectConfig {
    pub fn new(app_object: AppObject, fields: Vec<FieldMapping>) -> Self {
        Self {
            enabled: true,
            app_object,
            record_type_id: None,
            fields,
            inbound: DirectionToggles::default(),
            only_app_user_owners: false,
            outbound: DirectionToggles::default(),
            external_id_field: None,
            app_defaults: FieldMap::new(),
            constraints: BTreeMap::new(),
        }
    }

    /// The mapping for a Salesforce field, if any.
    pub fn mapping_for_sf(&self, sf_field: &str) -> Option<&FieldMapping> {
        self.fields
            .iter()
            .find(|m| m.salesforce_field.eq_ignore_ascii_case(sf_field))
    }

    /// The first mapping that carries `app_field`, if any.
    pub fn mapping_for_app(&self, app_field: &str) -> Option<&FieldMapping> {
        self.fields
            .iter()
            .find(|m| m.app_field == app_field && m.rule != SyncRule::DontSync)
    }
}

/// Create/update switches for one direction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DirectionToggles {
    #[serde(default = "yes")]
    pub create: bool,
    #[serde(default = "yes")]
    pub update: bool,
}

impl Default for DirectionToggles {
    fn default() -> Self {
        Self {
            create: true,
            update: true,
        }
    }
}

/// Extra bounds the org enforces with validation rules (e.g. Amount 0–10,000).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FieldConstraint {
    #[serde(default)]
    pub min: Option<f64>,
    #[serde(default)]
    pub max: Option<f64>,
    #[serde(default)]
    pub max_length: Option<u32>,
}

/// The four sync rules of seed 003.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize, utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum SyncRule {
    /// Salesforce → app only, and never with a blank value.
    SalesforceUnlessBlank,
    /// App → Salesforce only.
    AppOnly,
    /// Both directions.
    #[default]
    TwoWay,
    /// Explicitly not synced.
    DontSync,
}

impl SyncRule {
    pub fn inbound(self) -> bool {
        matches!(self, SyncRule::SalesforceUnlessBlank | SyncRule::TwoWay)
    }
    pub fn outbound(self) -> bool {
        matches!(self, SyncRule::AppOnly | SyncRule::TwoWay)
    }
}

fn default_triggers() -> Vec<EventKind> {
    vec![EventKind::Create, EventKind::Update]
}

/// One app field ↔ Salesforce field mapping.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FieldMapping {
    pub app_field: String,
    pub salesforce_field: String,
    #[serde(default)]
    pub rule: SyncRule,
    /// App events that push this field (outbound only).
    #[serde(default = "default_triggers")]
    pub triggers: Vec<EventKind>,
    #[serde(default)]
    pub kind: FieldKind,
    /// Picklist value translation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub values: Option<ValueMap>,
    /// Translate through the config's stage map instead.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub use_stage_map: bool,
    /// App values accepted from Salesforce; others are skipped and noted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inbound_allow: Option<Vec<String>>,
    /// Outbound value used on create when the app sends none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default: Option<Value>,
}

impl FieldMapping {
    pub fn new(app_field: &str, salesforce_field: &str, rule: SyncRule, kind: FieldKind) -> Self {
        Self {
            app_field: app_field.to_string(),
            salesforce_field: salesforce_field.to_string(),
            rule,
            triggers: default_triggers(),
            kind,
            values: None,
            use_stage_map: false,
            inbound_allow: None,
            default: None,
        }
    }

    /// A two-way string mapping on create/update.
    pub fn two_way(app_field: &str, salesforce_field: &str) -> Self {
        Self::new(
            app_field,
            salesforce_field,
            SyncRule::TwoWay,
            FieldKind::String,
        )
    }

    /// Sellfire's phase field: all phases go out, only the allow-listed ones come in.
    pub fn sellfire_phase(salesforce_field: &str) -> Self {
        let mut m = Self::new(
            "phase",
            salesforce_field,
            SyncRule::TwoWay,
            FieldKind::Picklist,
        );
        m.inbound_allow = Some(
            SELLFIRE_INBOUND_PHASES
                .iter()
                .map(|s| s.to_string())
                .collect(),
        );
        m
    }

    pub fn with_triggers(mut self, triggers: &[EventKind]) -> Self {
        self.triggers = triggers.to_vec();
        self
    }

    pub fn fires_on(&self, kind: EventKind) -> bool {
        self.triggers.contains(&kind)
    }
}

/// Which side wins when both changed a two-way field since the last sync.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ConflictPolicy {
    CrmWins,
    AppWins,
    #[default]
    MostRecent,
}

impl ConflictPolicy {
    pub fn as_str(self) -> &'static str {
        match self {
            ConflictPolicy::CrmWins => "crm_wins",
            ConflictPolicy::AppWins => "app_wins",
            ConflictPolicy::MostRecent => "most_recent",
        }
    }
}

/// Owners are matched by email; the app's users are app data the config carries.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OwnerMapping {
    #[serde(default = "yes")]
    pub enabled: bool,
    /// App field holding the owner's app user id.
    #[serde(default = "default_owner_field")]
    pub app_field: String,
    #[serde(default)]
    pub rule: SyncRule,
    /// App user email (lower case) → app user id.
    #[serde(default)]
    pub app_users: BTreeMap<String, String>,
    /// App user id given to records whose Salesforce owner has no app user.
    #[serde(default)]
    pub default_owner: Option<String>,
    /// Boolean app field that, when true, refuses owner changes from Salesforce
    /// (seed 003: leads with future scheduled events keep their owner).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keep_owner_field: Option<String>,
}

fn default_owner_field() -> String {
    "owner_id".to_string()
}

impl Default for OwnerMapping {
    fn default() -> Self {
        Self {
            enabled: true,
            app_field: default_owner_field(),
            rule: SyncRule::TwoWay,
            app_users: BTreeMap::new(),
            default_owner: None,
            keep_owner_field: None,
        }
    }
}

impl OwnerMapping {
    /// App user id for a Salesforce owner email (case-insensitive).
    pub fn app_user_for_email(&self, email: &str) -> Option<&str> {
        let key = email.trim().to_ascii_lowercase();
        if let Some(id) = self.app_users.get(&key) {
            return Some(id.as_str());
        }
        self.app_users
            .iter()
            .find(|(e, _)| e.to_ascii_lowercase() == key)
            .map(|(_, id)| id.as_str())
    }

    /// The Salesforce owner emails with no app user, sorted and de-duplicated: the
    /// "Unmapped owners" list to fix before turning the sync on.
    pub fn unmapped_owners<'a>(
        &self,
        salesforce_emails: impl IntoIterator<Item = &'a str>,
    ) -> Vec<String> {
        let mut out: Vec<String> = salesforce_emails
            .into_iter()
            .map(|e| e.trim().to_ascii_lowercase())
            .filter(|e| !e.is_empty() && self.app_user_for_email(e).is_none())
            .collect();
        out.sort();
        out.dedup();
        out
    }

    /// Email of an app user id (reverse of `app_users`).
    pub fn email_for_app_user(&self, app_user_id: &str) -> Option<&str> {
        self.app_users
            .iter()
            .find(|(_, id)| id.as_str() == app_user_id)
            .map(|(e, _)| e.as_str())
    }
}

/// How often a connection is polled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SyncFrequency {
    #[default]
    EveryMinute,
    #[serde(rename = "every_5_minutes")]
    Every5Minutes,
    #[serde(rename = "every_15_minutes")]
    Every15Minutes,
    Hourly,
}

impl SyncFrequency {
    pub fn minutes(self) -> i64 {
        match self {
            SyncFrequency::EveryMinute => 1,
            SyncFrequency::Every5Minutes => 5,
            SyncFrequency::Every15Minutes => 15,
            SyncFrequency::Hourly => 60,
        }
    }

    /// The frequency of [`Self::minutes`], if it is one.
    pub fn from_minutes(minutes: i64) -> Option<Self> {
        [
            SyncFrequency::EveryMinute,
            SyncFrequency::Every5Minutes,
            SyncFrequency::Every15Minutes,
            SyncFrequency::Hourly,
        ]
        .into_iter()
        .find(|f| f.minutes() == minutes)
    }

    /// Whether a connection last polled at `last_run` is due at `now`.
    /// A few seconds of slack keep a minutely scheduler from skipping runs.
    pub fn is_due(
        self,
        last_run: Option<chrono::DateTime<chrono::Utc>>,
        now: chrono::DateTime<chrono::Utc>,
    ) -> bool {
        match last_run {
            None => true,
            Some(t) => {
                now - t >= chrono::Duration::minutes(self.minutes()) - chrono::Duration::seconds(5)
            }
        }
    }
}

/// App calls and emails → Salesforce Tasks (seed 003 "Activity sync"; see
/// [`crate::activity`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ActivityConfig {
    #[serde(default)]
    pub enabled: bool,
    /// Custom Task field for the scheduled event time (seed: `EventDateTime__c`); none: not sent.
    #[serde(default)]
    pub event_datetime_field: Option<String>,
    /// The activity event field holding the app id of the person (a `contact`) it is about:
    /// its linked Contact, else Lead, is the Task's `WhoId`.
    #[serde(default = "default_activity_contact_field")]
    pub contact_field: String,
    /// The activity event field holding the app id of its deal, if any: the deal's linked
    /// Opportunity is the Task's `WhatId` (else the person's own Opportunity).
    #[serde(default = "default_activity_deal_field")]
    pub deal_field: String,
}

impl Default for ActivityConfig {
    fn default() -> Self {
        Self {
            enabled: false,
            event_datetime_field: None,
            contact_field: default_activity_contact_field(),
            deal_field: default_activity_deal_field(),
        }
    }
}

fn default_activity_contact_field() -> String {
    "contact_id".into()
}

fn default_activity_deal_field() -> String {
    "deal_id".into()
}

/// How records are matched when no link exists.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MatchingConfig {
    /// Order of keys tried for a lead/contact without a link.
    #[serde(default = "default_match_keys")]
    pub contact_keys: Vec<MatchKey>,
    #[serde(default = "default_phone")]
    pub app_phone_field: String,
    #[serde(default = "default_email")]
    pub app_email_field: String,
    #[serde(default = "default_last_name")]
    pub app_last_name_field: String,
    #[serde(default = "default_business")]
    pub app_business_name_field: String,
    #[serde(default = "default_city")]
    pub app_city_field: String,
    /// Account field the cascade compares the city with.
    #[serde(default = "default_account_city")]
    pub account_city_field: String,
    /// App fields of a company's street and postal code: when both are set, a company that
    /// matched neither by phone nor by name matches the one Account at that address
    /// (`BillingStreet`, `BillingPostalCode`; seed 002). Off when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub app_street_field: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub app_postal_code_field: Option<String>,
}

fn default_match_keys() -> Vec<MatchKey> {
    vec![MatchKey::ExternalId, MatchKey::Email, MatchKey::Phone]
}
fn default_phone() -> String {
    "phone".into()
}
fn default_email() -> String {
    "email".into()
}
fn default_last_name() -> String {
    "last_name".into()
}
fn default_business() -> String {
    "company_name".into()
}
fn default_city() -> String {
    "city".into()
}
fn default_account_city() -> String {
    "BillingCity".into()
}

impl Default for MatchingConfig {
    fn default() -> Self {
        Self {
            contact_keys: default_match_keys(),
            app_phone_field: default_phone(),
            app_email_field: default_email(),
            app_last_name_field: default_last_name(),
            app_business_name_field: default_business(),
            app_city_field: default_city(),
            account_city_field: default_account_city(),
            app_street_field: None,
            app_postal_code_field: None,
        }
    }
}

/// A key tried when matching a lead/contact.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum MatchKey {
    ExternalId,
    Email,
    Phone,
}

/// Seed 003's Lead-vs-Contact rule inputs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LeadRouting {
    #[serde(default = "d_phase")]
    pub phase_field: String,
    #[serde(default = "d_prev_phase")]
    pub previous_phase_field: String,
    #[serde(default = "d_held")]
    pub held_phase: String,
    #[serde(default = "d_cold")]
    pub cold_call_prefix: String,
    /// App field that may carry a Salesforce Contact id (e.g. from a CSV import).
    #[serde(default = "d_contact_id")]
    pub contact_id_field: String,
    /// App field that may carry a Salesforce Lead id.
    #[serde(default = "d_lead_id")]
    pub lead_id_field: String,
    /// When a person crmsync linked as a Lead must become a Contact (a sale, a known
    /// Contact id, a demo set into the held phase), convert that Lead (`convertLead`)
    /// instead of creating a second person. Off: a Contact is matched or created beside it.
    #[serde(default = "yes")]
    pub convert_leads: bool,
    /// The `convertedStatus` of a conversion: a Lead Status whose `IsConverted` is true
    /// in the org (new orgs have `Closed - Converted`).
    #[serde(default = "d_converted_status")]
    pub converted_status: String,
}

fn d_phase() -> String {
    "phase".into()
}
fn d_prev_phase() -> String {
    "previous_phase".into()
}
fn d_held() -> String {
    "HeldPhase".into()
}
fn d_cold() -> String {
    "ColdCall".into()
}
fn d_contact_id() -> String {
    "sf_contact_id".into()
}
fn d_lead_id() -> String {
    "sf_lead_id".into()
}
fn d_converted_status() -> String {
    "Closed - Converted".into()
}

impl Default for LeadRouting {
    fn default() -> Self {
        Self {
            phase_field: d_phase(),
            previous_phase_field: d_prev_phase(),
            held_phase: d_held(),
            cold_call_prefix: d_cold(),
            contact_id_field: d_contact_id(),
            lead_id_field: d_lead_id(),
            convert_leads: true,
            converted_status: d_converted_status(),
        }
    }
}

/// Opportunities created by demo sets and sales (seed 003 "Opportunity creation").
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OpportunityConfig {
    /// Create an Opportunity when a demo is set (off by default, as in the seed).
    #[serde(default)]
    pub create_at_demo_set: bool,
    /// Connect/create Account, Contact, Opportunity and line items on a sale.
    #[serde(default = "yes")]
    pub sync_sales: bool,
    #[serde(default = "d_demo_stage")]
    pub demo_stage: String,
    #[serde(default = "d_sale_stage")]
    pub sale_stage: String,
    /// App field with the demo's date/time (becomes CloseDate).
    #[serde(default = "d_demo_time")]
    pub demo_time_field: String,
    /// The price book a sale's line items are priced from: a `Pricebook2` name or Id.
    /// Unset: the org's standard price book.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub price_book: Option<String>,
}

fn d_demo_stage() -> String {
    "Qualification".into()
}
fn d_sale_stage() -> String {
    "Closed Won".into()
}
fn d_demo_time() -> String {
    "demo_at".into()
}

impl Default for OpportunityConfig {
    fn default() -> Self {
        Self {
            create_at_demo_set: false,
            sync_sales: true,
            demo_stage: d_demo_stage(),
            sale_stage: d_sale_stage(),
            demo_time_field: d_demo_time(),
            price_book: None,
        }
    }
}

impl SyncConfig {
    /// The drift check's interval per object page; `None` when it is off.
    pub fn drift_check_interval(&self) -> Option<chrono::Duration> {
        match self
            .drift_check_interval_minutes
            .unwrap_or(DEFAULT_DRIFT_CHECK_MINUTES)
        {
            0 => None,
            m => Some(chrono::Duration::minutes(i64::from(m))),
        }
    }

    /// An empty config of the current version (nothing enabled).
    pub fn empty() -> Self {
        Self {
            version: CONFIG_VERSION,
            objects: BTreeMap::new(),
            conflict_policy: ConflictPolicy::default(),
            owners: OwnerMapping::default(),
            stage_map: ValueMap::default(),
            required_app_fields: BTreeMap::new(),
            poll_cap: DEFAULT_POLL_CAP,
            frequency: SyncFrequency::default(),
            sweep_interval_minutes: None,
            drift_check_interval_minutes: None,
            activity: ActivityConfig::default(),
            matching: MatchingConfig::default(),
            lead_routing: LeadRouting::default(),
            opportunity: OpportunityConfig::default(),
            custom_fields: Vec::new(),
            provisioning: Default::default(),
            custom_objects: Default::default(),
        }
    }

    /// Parse and validate the JSON form.
    pub fn from_json(json: &str) -> Result<Self, ConfigError> {
        let cfg: SyncConfig =
            serde_json::from_str(json).map_err(|e| ConfigError::Parse(e.to_string()))?;
        cfg.validate()?;
        Ok(cfg)
    }

    /// An enabled object's settings.
    pub fn object(&self, sf_object: &str) -> Option<&ObjectConfig> {
        self.objects.get(sf_object).filter(|o| o.enabled)
    }

    /// Enabled objects, in name order.
    pub fn enabled_objects(&self) -> impl Iterator<Item = (&str, &ObjectConfig)> {
        self.objects
            .iter()
            .filter(|(_, o)| o.enabled)
            .map(|(n, o)| (n.as_str(), o))
    }

    /// The value map a mapping uses, if any.
    pub fn value_map_for<'a>(&'a self, m: &'a FieldMapping) -> Option<&'a ValueMap> {
        if m.use_stage_map {
            Some(&self.stage_map)
        } else {
            m.values.as_ref()
        }
    }

    /// Every app value the config names for a mapping (value map, inbound allow-list,
    /// default), for picklist inspection and narrowing checks.
    pub fn known_app_values(&self, m: &FieldMapping) -> Vec<String> {
        let mut values = std::collections::BTreeSet::new();
        if let Some(vm) = self.value_map_for(m) {
            values.extend(vm.to_salesforce.keys().cloned());
            values.extend(vm.to_app.values().cloned());
        }
        if let Some(allow) = &m.inbound_allow {
            values.extend(allow.iter().cloned());
        }
        if let Some(serde_json::Value::String(d)) = &m.default {
            values.insert(d.clone());
        }
        values.into_iter().collect()
    }

    /// The Salesforce value the config sends for an app value (its value map, else as is).
    pub fn salesforce_value_of(&self, m: &FieldMapping, app_value: &str) -> String {
        self.value_map_for(m)
            .and_then(|vm| vm.to_salesforce.get(app_value))
            .cloned()
            .unwrap_or_else(|| app_value.to_string())
    }
}
