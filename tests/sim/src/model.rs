//! The model: what the app sent and what Salesforce users did, i.e. what the invariants
//! compare the real system's final state with.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde_json::Value;

use crate::rules::Rules;
use crate::toggles::Toggles;

/// One app contact. Its last name, company and phone identify its Salesforce records
/// (the app never changes them), so the checker can count duplicates without trusting links.
#[derive(Debug, Clone)]
pub struct AppRecord {
    pub id: String,
    pub last_name: String,
    pub company: String,
    /// The same number as `app_phone`, as Salesforce users format it.
    pub phone: String,
    /// The phone as the app writes it.
    pub app_phone: String,
    /// A Salesforce user created a Lead for this person first, with `phone` (another
    /// format of the same number).
    pub preexisting_lead: bool,
    pub email: Option<String>,
    pub first_name: String,
    /// A create event was accepted.
    pub created: bool,
    /// Demo cycles started (each demo set names its Opportunity `Opp-<id>-<cycle>`).
    pub cycles: u32,
    /// The latest cycle is open (demo set, no sale yet).
    pub open_cycle: bool,
    pub sales: u32,
    /// A Salesforce user deleted its person record: the app sends nothing more for it.
    pub deleted_in_sf: bool,
    /// The app's owner of the contact, an app user id (profile feature `owners`).
    pub owner: String,
    /// The app keeps its owner (`owners.keep_owner_field` true on every event): Salesforce
    /// users' owner changes are refused and told as notices (profile feature `owners`).
    pub keeps_owner: bool,
}

impl AppRecord {
    pub fn new(index: usize, with_email: bool) -> Self {
        let id = format!("a{index}");
        Self {
            last_name: format!("Last-{id}"),
            company: format!("Co-{id}"),
            app_phone: format!("+1 555 010 01{index:02}"),
            phone: format!("(555) 010-01{index:02}"),
            preexisting_lead: false,
            email: with_email.then(|| format!("{id}@sim.example")),
            first_name: format!("First-{id}-0"),
            created: false,
            cycles: 0,
            open_cycle: false,
            sales: 0,
            deleted_in_sf: false,
            owner: crate::owners::APP_USERS[0].1.to_string(),
            keeps_owner: false,
            id,
        }
    }

    pub fn opportunity_name(&self, cycle: u32) -> String {
        format!("Opp-{}-{cycle}", self.id)
    }
}

/// One event the app sent and ingest accepted.
#[derive(Debug, Clone)]
pub struct SentEvent {
    pub step: usize,
    pub event_id: String,
    /// The app record the event is for: an app contact's id, or an activity's.
    pub app_id: String,
    /// `contact` or `activity`.
    pub app_object: &'static str,
    pub kind: &'static str,
    /// App fields the event carries.
    pub fields: BTreeMap<String, Value>,
    /// For demo sets and sales: the cycle whose Opportunity the event writes.
    pub cycle: Option<u32>,
    /// For sales: the line items' descriptions.
    pub items: Vec<String>,
    /// Its `occurred_at`.
    pub at: DateTime<Utc>,
    /// The change feed's last sequence when the app sent it: entries after it reached the
    /// app after this change (the app applies them over it).
    pub feed_seq: u64,
}

/// A change a Salesforce user committed to one field.
#[derive(Debug, Clone)]
pub struct SfEdit {
    pub step: usize,
    pub object: String,
    pub sf_id: String,
    pub sf_field: String,
    pub app_field: String,
    pub value: Value,
    /// The field's value before the edit (`None`: not set).
    pub before: Option<Value>,
    /// The app record whose push created the Salesforce record (`None`: a Salesforce user did).
    pub owner: Option<String>,
    /// Its `LastModifiedDate` (a late commit's is in the past).
    pub at: DateTime<Utc>,
}

/// A record a Salesforce user created.
#[derive(Debug, Clone)]
pub struct SfCreated {
    pub step: usize,
    pub object: String,
    pub sf_id: String,
    pub last_name: String,
}

#[derive(Debug)]
pub struct Model {
    pub records: Vec<AppRecord>,
    pub events: Vec<SentEvent>,
    pub sf_edits: Vec<SfEdit>,
    pub sf_created: Vec<SfCreated>,
    /// `(object, sf_id, app_id)` deleted by a Salesforce user and not undeleted.
    pub sf_deleted: Vec<(String, String, String)>,
    /// Push deliveries per event id (for the bounded-retry check).
    pub deliveries: BTreeMap<String, u32>,
    /// Undeleted records `(object, sf_id)`.
    pub sf_undeleted: Vec<(String, String)>,
    /// The tenant's rules the run syncs under.
    pub rules: Rules,
    /// The tenant's create/update toggles (profile feature `toggles`).
    pub toggles: Toggles,
    /// App activities (calls, emails) by their app id, in the order first sent.
    pub activities: Vec<Activity>,
}

/// One app activity: each event sent for it (a re-send updates its Task).
#[derive(Debug, Clone)]
pub struct Activity {
    pub id: String,
    /// The app contact it is about (`contact_id`).
    pub contact: String,
    /// Its events' ids, in the order sent.
    pub events: Vec<String>,
}

impl Model {
    pub fn record(&self, app_id: &str) -> Option<&AppRecord> {
        self.records.iter().find(|r| r.id == app_id)
    }

    pub fn is_app_contact(&self, app_id: &str) -> bool {
        self.records.iter().any(|r| r.id == app_id)
    }
}
