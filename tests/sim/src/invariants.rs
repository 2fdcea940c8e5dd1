//! The invariants, checked at quiescence against the model (never against crmsync's own
//! links: Salesforce records are found by the identity fields the app never changes).

use std::collections::BTreeMap;

use crmsync_core::config::{SyncConfig, SyncRule};
use crmsync_e2e::PROD_ORG;
use crmsync_store::{ChangeEntry, ChangeKind, ReportStatus};
use serde_json::{Map, Value};

use crate::model::{AppRecord, SentEvent};
use crate::runner::{CONN, World};

/// A push delivered more often than this is a retry loop, not a retry.
pub const MAX_DELIVERIES: u32 = 15;
const DEMO_STAGE: &str = "Qualification";
const SALE_STAGE: &str = "Closed Won";
/// Error codes the simulation's events never deserve, and why.
const NEVER_AN_ERROR: [(&str, &str); 2] = [
    (
        "SALE_ITEM_NOT_PRICED",
        "every sale item names an active product of the org's catalog",
    ),
    (
        "invalid_client",
        "a rejected client secret is the app's problem: the event must be retried, not failed",
    ),
];

/// One broken promise.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    /// The invariant's number in issue 10 (1 duplicates … 6 bounded).
    pub invariant: u8,
    pub message: String,
}

impl Violation {
    pub fn name(&self) -> &'static str {
        match self.invariant {
            1 => "no duplicates",
            2 => "no lost app change",
            3 => "no lost Salesforce change",
            4 => "order",
            5 => "app data kept",
            _ => "bounded",
        }
    }
}

impl std::fmt::Display for Violation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "[{} {}] {}", self.invariant, self.name(), self.message)
    }
}

struct Checker<'w> {
    world: &'w World,
    out: Vec<Violation>,
}

impl Checker<'_> {
    fn fail(&mut self, invariant: u8, message: String) {
        self.out.push(Violation { invariant, message });
    }

    fn live(&self, object: &str) -> Vec<(String, Map<String, Value>)> {
        self.world
            .stack
            .sf
            .records(PROD_ORG, object)
            .expect("emulator read")
            .into_iter()
            .filter(|(_, _, deleted)| !deleted)
            .map(|(id, f, _)| (id, f))
            .collect()
    }
}

fn text<'a>(fields: &'a Map<String, Value>, name: &str) -> Option<&'a str> {
    fields.get(name).and_then(Value::as_str)
}

/// Runs every check; an empty list means the run kept every promise.
pub async fn check(world: &World) -> Vec<Violation> {
    let mut c = Checker {
        world,
        out: Vec::new(),
    };
    let mut reports = BTreeMap::new();
    for e in &world.model.events {
        reports.insert(
            e.event_id.clone(),
            world.stack.report(CONN, &e.event_id).await,
        );
    }
    no_duplicates(&mut c);
    outcomes(&mut c, &reports);
    app_state(&mut c, &reports);
    salesforce_changes(&mut c);
    deletions_keep_app_data(&mut c);
    bounded(&mut c);
    if world.profile.rules {
        c.out.extend(crate::contested::check(world, &reports));
    }
    if world.profile.owners {
        c.out.extend(crate::owners::check(world, &reports));
    }
    if world.profile.toggles {
        c.out.extend(crate::toggles::check(world));
    }
    if world.profile.activities {
        c.out
            .extend(crate::activities::check(world, &reports).await);
    }
    c.out.extend(world.step_violations.iter().cloned());
    c.out
}

/// 1: at most one Salesforce record per app record and object.
fn no_duplicates(c: &mut Checker<'_>) {
    let count_by = |records: &[(String, Map<String, Value>)], field: &str| {
        let mut n: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for (id, f) in records {
            if let Some(v) = text(f, field) {
                n.entry(v.to_string()).or_default().push(id.clone());
            }
        }
        n
    };
    let leads = count_by(&c.live("Lead"), "LastName");
    let contacts = count_by(&c.live("Contact"), "LastName");
    let accounts = count_by(&c.live("Account"), "Name");
    let opportunities = count_by(&c.live("Opportunity"), "Name");
    let items = count_by(&c.live("OpportunityLineItem"), "Description");
    let mut dups = Vec::new();
    for r in &c.world.model.records {
        for (object, map, key) in [
            ("Lead", &leads, &r.last_name),
            ("Contact", &contacts, &r.last_name),
            ("Account", &accounts, &r.company),
        ] {
            if let Some(ids) = map.get(key)
                && ids.len() > 1
            {
                dups.push(format!(
                    "app contact {} has {} {object}s ({key}): {ids:?}",
                    r.id,
                    ids.len()
                ));
            }
        }
        for cycle in 1..=r.cycles {
            let name = r.opportunity_name(cycle);
            if let Some(ids) = opportunities.get(&name)
                && ids.len() > 1
            {
                dups.push(format!(
                    "app contact {} has {} Opportunities named {name}: {ids:?}",
                    r.id,
                    ids.len()
                ));
            }
        }
    }
    for (name, ids) in &items {
        if ids.len() > 1 {
            dups.push(format!(
                "line item {name} exists {} times: {ids:?}",
                ids.len()
            ));
        }
    }
    for created in &c.world.model.sf_created {
        if let Some(ids) = contacts.get(&created.last_name)
            && ids.len() > 1
        {
            dups.push(format!(
                "the Salesforce user's Contact {} exists {} times",
                created.last_name,
                ids.len()
            ));
        }
    }
    for d in dups {
        c.fail(1, d);
    }
}

/// 2 and 6: every accepted event ends with a success, an error with its reason, or parked
/// (and nothing is still parked once the cause is gone).
fn outcomes(c: &mut Checker<'_>, reports: &BTreeMap<String, Option<crmsync_store::ReportEntry>>) {
    for e in &c.world.model.events {
        match reports.get(&e.event_id).cloned().flatten() {
            None => c.fail(
                2,
                format!(
                    "event {} ({} {}) was accepted but never reported",
                    e.event_id, e.kind, e.app_id
                ),
            ),
            // A parked activity (waiting for its contact's link, or behind an event of its
            // that waits): `activities.rs` judges it.
            Some(r) if r.status == ReportStatus::Parked && e.app_object == "activity" => {}
            Some(r) if r.status == ReportStatus::Parked => c.fail(
                6,
                format!(
                    "event {} is still parked ({}) after its cause is gone",
                    e.event_id,
                    r.code.unwrap_or_default()
                ),
            ),
            Some(r) if r.status == ReportStatus::Error => {
                if r.reason.as_deref().is_none_or(|s| s.trim().is_empty()) {
                    c.fail(2, format!("event {} failed without a reason", e.event_id));
                }
                if let Some(code) = r.code.as_deref()
                    && let Some((_, why)) = NEVER_AN_ERROR.iter().find(|(c, _)| *c == code)
                {
                    c.fail(
                        2,
                        format!(
                            "event {} ({} {}) ended as an error {code}: {why}",
                            e.event_id, e.kind, e.app_id
                        ),
                    );
                }
                if r.code.as_deref() == Some("REQUEST_LIMIT_EXCEEDED")
                    || r.reason
                        .as_deref()
                        .is_some_and(|s| s.contains("REQUEST_LIMIT_EXCEEDED"))
                {
                    c.fail(
                        2,
                        format!(
                            "event {} ({} {}) ended as an error because the API limit was spent; it must be parked and replayed when the limit resets",
                            e.event_id, e.kind, e.app_id
                        ),
                    );
                }
            }
            Some(_) => {}
        }
    }
}

fn succeeded(
    reports: &BTreeMap<String, Option<crmsync_store::ReportEntry>>,
    event: &SentEvent,
) -> bool {
    matches!(reports.get(&event.event_id), Some(Some(r)) if r.status == ReportStatus::Success)
}

/// 2 and 4: Salesforce's final state equals the model's: the latest value the app sent
/// (when that event succeeded), each demo cycle's Opportunity, each sale's line items.
fn app_state(c: &mut Checker<'_>, reports: &BTreeMap<String, Option<crmsync_store::ReportEntry>>) {
    let opportunities = c.live("Opportunity");
    let items = c.live("OpportunityLineItem");
    for r in c.world.model.records.clone() {
        if r.deleted_in_sf {
            continue;
        }
        let events: Vec<&SentEvent> = c
            .world
            .model
            .events
            .iter()
            .filter(|e| e.app_id == r.id)
            .collect();
        if events.is_empty() {
            continue;
        }
        person_state(c, &r, &events, reports);
        for cycle in 1..=r.cycles {
            let name = r.opportunity_name(cycle);
            let of_cycle: Vec<&&SentEvent> =
                events.iter().filter(|e| e.cycle == Some(cycle)).collect();
            let sale = of_cycle.iter().find(|e| e.kind == "sale");
            let demo = of_cycle.iter().find(|e| e.kind == "demo_set");
            let opp = opportunities
                .iter()
                .find(|(_, f)| text(f, "Name") == Some(name.as_str()));
            let expected_stage = match (demo, sale) {
                (_, Some(s)) if succeeded(reports, s) => Some(SALE_STAGE),
                (Some(d), None) if succeeded(reports, d) => Some(DEMO_STAGE),
                _ => None,
            };
            let Some(stage) = expected_stage else {
                continue;
            };
            match opp {
                None => c.fail(
                    2,
                    format!(
                        "{}'s cycle {cycle} succeeded but Opportunity {name} does not exist",
                        r.id
                    ),
                ),
                Some((id, f)) if text(f, "StageName") != Some(stage) => {
                    let others: Vec<String> = opportunities
                        .iter()
                        .filter(|(_, f)| {
                            text(f, "Name")
                                .is_some_and(|n| n.starts_with(&format!("Opp-{}-", r.id)))
                        })
                        .map(|(id, f)| {
                            format!(
                                "{id} {} {}",
                                text(f, "Name").unwrap_or(""),
                                text(f, "StageName").unwrap_or("")
                            )
                        })
                        .collect();
                    c.fail(
                        2,
                        format!(
                            "Opportunity {name} ({id}) of {}'s cycle {cycle} is at stage {:?}, the model expects {stage:?} (its Opportunities: {others:?})",
                            r.id,
                            text(f, "StageName")
                        ),
                    );
                }
                Some((id, _)) => {
                    if let Some(s) = sale
                        && succeeded(reports, s)
                    {
                        for item in &s.items {
                            let on_opp = items.iter().any(|(_, f)| {
                                text(f, "Description") == Some(item.as_str())
                                    && text(f, "OpportunityId") == Some(id.as_str())
                            });
                            if !on_opp {
                                c.fail(
                                    2,
                                    format!(
                                        "sale {} succeeded but line item {item} is not on Opportunity {name} ({id})",
                                        s.event_id
                                    ),
                                );
                            }
                        }
                    }
                }
            }
        }
    }
}

fn person_state(
    c: &mut Checker<'_>,
    r: &AppRecord,
    events: &[&SentEvent],
    reports: &BTreeMap<String, Option<crmsync_store::ReportEntry>>,
) {
    let carrying: Vec<&&SentEvent> = events
        .iter()
        .filter(|e| e.fields.contains_key("first_name"))
        .collect();
    let Some(last) = carrying.last() else {
        return;
    };
    if !succeeded(reports, last) {
        return;
    }
    let want = last.fields["first_name"].clone();
    let person = ["Contact", "Lead"].iter().find_map(|object| {
        c.live(object)
            .into_iter()
            .find(|(_, f)| text(f, "LastName") == Some(r.last_name.as_str()))
            .map(|(id, f)| (*object, id, f))
    });
    let toggles = c.world.model.toggles;
    let Some((object, id, fields)) = person else {
        if !toggles.lead_create_out {
            // Lead creates are off: a contact without a demo set has no record.
            return;
        }
        c.fail(
            2,
            format!(
                "{}'s event {} succeeded but {} has no Lead or Contact",
                r.id, last.event_id, r.id
            ),
        );
        return;
    };
    let got = fields.get("FirstName").cloned().unwrap_or(Value::Null);
    if got == want || (object == "Lead" && !toggles.lead_update_out) {
        return;
    }
    let earlier = carrying
        .iter()
        .rev()
        .skip(1)
        .find(|e| e.fields.get("first_name") == Some(&got));
    match earlier {
        Some(e) => c.fail(
            4,
            format!(
                "{object} {id} of {} has FirstName {got} from the earlier event {} (step {}); the later event {} (step {}) sent {want} and succeeded",
                r.id, e.event_id, e.step, last.event_id, last.step
            ),
        ),
        None => c.fail(
            2,
            format!(
                "{object} {id} of {} has FirstName {got}; the last event {} sent {want} and succeeded",
                r.id, last.event_id
            ),
        ),
    }
}

/// 3 and 4: every committed Salesforce change reaches the feed, last value last, tagged
/// with the right app record.
fn salesforce_changes(c: &mut Checker<'_>) {
    let world = c.world;
    let feed: &[ChangeEntry] = &world.feed;
    let gone = |sf_id: &str| {
        world.model.sf_deleted.iter().any(|(_, id, _)| id == sf_id)
            || world.model.sf_undeleted.iter().any(|(_, id)| id == sf_id)
    };
    // The last edit of each (record, field).
    let mut last_edits: BTreeMap<(String, String), &crate::model::SfEdit> = BTreeMap::new();
    for e in &world.model.sf_edits {
        last_edits.insert((e.sf_id.clone(), e.sf_field.clone()), e);
    }
    for ((sf_id, field), edit) in last_edits {
        if gone(&sf_id) {
            continue;
        }
        // Owners map to app users (`owners.rs` checks them); toggled-off pulls never reach
        // the app (`toggles.rs`).
        if field == "OwnerId" || !world.model.toggles.pulls_updates_of(&edit.object) {
            continue;
        }
        // Under drawn rules the person Title is both sides' field: `contested.rs` checks it.
        if world.profile.rules
            && field == "Title"
            && matches!(edit.object.as_str(), "Lead" | "Contact")
        {
            continue;
        }
        let Some(Some(current)) = world
            .stack
            .sf
            .get_record(PROD_ORG, &edit.object, &sf_id)
            .ok()
        else {
            continue;
        };
        let value = current.get(&field).cloned().unwrap_or(Value::Null);
        // A Lead crmsync converted before a poll read its edit: the edit reaches the app
        // with the Contact the conversion made ("The system automatically maps standard
        // lead fields to standard account, contact, and opportunity fields": SOAP API
        // Developer Guide, convertLead(), developer.salesforce.com).
        let converted_to = current
            .get("ConvertedContactId")
            .and_then(Value::as_str)
            .filter(|_| edit.object == "Lead");
        let last_of = |id: &str| {
            feed.iter().rev().find_map(|entry| {
                (entry.sf_id == id && matches!(entry.kind, ChangeKind::Upsert | ChangeKind::Drift))
                    .then(|| entry.payload["fields"].get(&edit.app_field).cloned())
                    .flatten()
            })
        };
        let carried = converted_to.is_some_and(|contact| {
            feed.iter().any(|entry| {
                entry.sf_id == contact
                    && matches!(entry.kind, ChangeKind::Upsert | ChangeKind::Drift)
                    && entry.payload["fields"].get(&edit.app_field) == Some(&value)
            })
        });
        let seen = match last_of(&sf_id) {
            _ if carried => Some(value.clone()),
            seen => seen,
        };
        match seen {
            None => c.fail(
                3,
                format!(
                    "{} {sf_id}.{field} = {value} (step {}) never reached the change feed",
                    edit.object, edit.step
                ),
            ),
            Some(v) if v != value => {
                let earlier = world
                    .model
                    .sf_edits
                    .iter()
                    .any(|e| e.sf_id == sf_id && e.sf_field == field && e.value == v);
                c.fail(
                    if earlier { 4 } else { 3 },
                    format!(
                        "the change feed's last {} for {} {sf_id} is {v}; Salesforce holds {value} (set at step {})",
                        edit.app_field, edit.object, edit.step
                    ),
                );
            }
            Some(_) => {}
        }
    }
    let creates_pulled = world.model.toggles.contact_create_in;
    for created in world.model.sf_created.iter().filter(|_| creates_pulled) {
        let reached = feed.iter().any(|e| {
            e.sf_id == created.sf_id
                && e.kind == ChangeKind::Upsert
                && e.payload["action"] == "create"
        });
        if !reached {
            c.fail(
                3,
                format!(
                    "the Salesforce user's new {} {} (step {}) never reached the change feed as a create",
                    created.object, created.sf_id, created.step
                ),
            );
        }
    }
    // Tags: a record the app's push created is reported under that app record.
    let mut owner_of: BTreeMap<String, (&'static str, String)> = BTreeMap::new();
    for r in &world.model.records {
        for object in ["Lead", "Contact"] {
            for (id, _) in world.sf_find(object, "LastName", &r.last_name) {
                owner_of.insert(id, ("person", r.id.clone()));
            }
        }
        for (id, _) in world.sf_find("Account", "Name", &r.company) {
            owner_of.insert(id, ("company", r.id.clone()));
        }
    }
    let mut reported = std::collections::BTreeSet::new();
    for entry in feed
        .iter()
        .filter(|e| matches!(e.kind, ChangeKind::Upsert | ChangeKind::Drift))
    {
        let app_object = entry.payload["app_object"].as_str().unwrap_or("");
        let payload_app_id = entry.payload["app_id"].as_str();
        if entry.app_id.as_deref() != payload_app_id {
            c.fail(
                3,
                format!(
                    "feed entry {} carries app_id {:?} but its payload says {payload_app_id:?}",
                    entry.seq, entry.app_id
                ),
            );
        }
        // A record linked under another app record (a contact's Account or Opportunity)
        // has no app record of its own: it names the one it belongs to in `linked_to`.
        let Some(app_id) = payload_app_id else {
            let linked = &entry.payload["linked_to"];
            let owner = linked["app_id"].as_str().unwrap_or("");
            if linked["app_object"].as_str().is_none() || !world.model.is_app_contact(owner) {
                c.fail(
                    3,
                    format!(
                        "feed entry {} for {} {} has no app_id and no linked_to naming an app contact: {linked}",
                        entry.seq, entry.object, entry.sf_id
                    ),
                );
            }
            continue;
        };
        let fresh = app_id == format!("sf-{}", entry.sf_id);
        let wrong = match (entry.object.as_str(), owner_of.get(&entry.sf_id)) {
            ("Lead" | "Contact", Some((_, owner))) => {
                !(fresh || (app_object == "contact" && app_id == owner))
            }
            ("Account" | "Opportunity", _) => {
                !fresh && world.model.is_app_contact(app_id) && app_object != "contact"
            }
            _ => false,
        };
        if wrong && reported.insert((entry.sf_id.clone(), app_object.to_string())) {
            c.fail(
                3,
                format!(
                    "feed entry {} for {} {} is tagged {{app_object: {app_object}, app_id: {app_id}}}: {app_id} is an app contact, not a {app_object}",
                    entry.seq, entry.object, entry.sf_id
                ),
            );
        }
    }
}

/// 5: a deletion in Salesforce never asks the app to clear two-way or app-owned values.
fn deletions_keep_app_data(c: &mut Checker<'_>) {
    // Under the run's rules: a Salesforce → app only Title is Salesforce's to clear.
    let mut config = SyncConfig::standard();
    c.world.model.rules.apply(&mut config);
    let mut bad = Vec::new();
    for entry in c
        .world
        .feed
        .iter()
        .filter(|e| e.payload["action"] == "unlink" || e.kind == ChangeKind::Unlink)
    {
        let Some(object) = config.object(&entry.object) else {
            continue;
        };
        let cleared: Vec<&str> = entry.payload["clear_fields"]
            .as_array()
            .map(|a| a.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        let kept_fields: Vec<&str> = cleared
            .into_iter()
            .filter(|f| {
                object.fields.iter().any(|m| {
                    m.app_field == *f && matches!(m.rule, SyncRule::TwoWay | SyncRule::AppOnly)
                })
            })
            .collect();
        if !kept_fields.is_empty() {
            bad.push(format!(
                "unlink entry {} for deleted {} {} asks the app to clear {kept_fields:?}, which are two-way or app-owned",
                entry.seq, entry.object, entry.sf_id
            ));
        }
    }
    for b in bad {
        c.fail(5, b);
    }
}

/// 6: quiescence was reached and no event was delivered without bound.
fn bounded(c: &mut Checker<'_>) {
    for p in c.world.settle_problems.clone() {
        c.fail(6, p);
    }
    for (event, n) in c.world.model.deliveries.clone() {
        if n > MAX_DELIVERIES {
            c.fail(
                6,
                format!("event {event} was delivered to the push worker {n} times"),
            );
        }
    }
}
