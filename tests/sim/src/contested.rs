//! Invariants 2 and 3 under the tenant's rules (profile feature `rules`): the person
//! Title, which the app and Salesforce users both edit, ends as the rules say on both sides.
//!
//! Per app contact, on its final person record P (its Contact once a demo set or sale made
//! one, else its Lead; a Contact converted from the person's Lead carries the Lead's
//! history too), with A* the app's last Title change on P and S* Salesforce users' last
//! (by commit):
//! - **Salesforce's final Title** is one the rules allow. One way app → Salesforce (or person
//!   pulls off, so crmsync never learns of Salesforce's edits): A*, or an S* committed after
//!   it. One way Salesforce → app: S* (the app's changes are never pushed). Both ways, by
//!   the conflict policy:
//!   - `most_recent`: the later of A* (`occurred_at`) and S* (`LastModifiedDate`); a tie
//!     goes to Salesforce, as in both of the code's directions. Also allowed: S* when a
//!     crmsync write of another field of P, sent before A*, landed at or after A*'s time,
//!     or a Salesforce user edited another field of P (its owner) at or after it
//!     (Salesforce's `LastModifiedDate` is per record, so the poll dates S* by that write).
//!   - `crm_wins`: S* stands against an app change made before S* reached the app (its
//!     first change-feed entry); A* made after it wins; at that very instant, either.
//!   - `app_wins`: A* stands against a Salesforce change made before A* reached
//!     Salesforce: A* when S* was committed before A* or is dated before it; else either
//!     (when A* reached Salesforce is not observed).
//! - **The app's view** (its own last change, with the change-feed entries that arrived
//!   after it applied on top) equals Salesforce's final Title when Title syncs both ways
//!   and person pulls are on; with Salesforce → app only, the feed's last Title is S*.
//! - **Nothing the rules keep out reaches the app**: no Title from Salesforce with app →
//!   Salesforce only, no update of a person with person pulls off.
//!
//! With Lead updates toggled off (`+toggles`), a Lead P is judged as Salesforce → app (the
//! app's creates carry no Title, so S* or none), and a Contact converted from such a Lead
//! is not judged.

use std::collections::BTreeMap;

use crmsync_core::config::ConflictPolicy;
use crmsync_store::{ChangeEntry, ChangeKind, ReportEntry, ReportStatus};
use serde_json::Value;

use crate::invariants::Violation;
use crate::model::{SentEvent, SfEdit};
use crate::rules::policy_name;
use crate::runner::World;

type Reports = BTreeMap<String, Option<ReportEntry>>;

fn succeeded(reports: &Reports, event: &SentEvent) -> bool {
    matches!(reports.get(&event.event_id), Some(Some(r)) if r.status == ReportStatus::Success)
}

/// A Title entry of the change feed for one record.
struct FeedTitle<'a> {
    entry: &'a ChangeEntry,
    value: Value,
}

/// Checks every app contact's person Title under the run's rules.
pub fn check(world: &World, reports: &Reports) -> Vec<Violation> {
    let mut out = Vec::new();
    for index in 0..world.model.records.len() {
        if let Some(v) = check_record(world, reports, index) {
            out.extend(v);
        }
    }
    out
}

fn check_record(world: &World, reports: &Reports, index: usize) -> Option<Vec<Violation>> {
    let model = &world.model;
    let r = &model.records[index];
    if r.deleted_in_sf {
        return None;
    }
    let (object, id, fields) = ["Contact", "Lead"].iter().find_map(|object| {
        world
            .sf_find(object, "LastName", &r.last_name)
            .into_iter()
            .next()
            .map(|(id, f)| (*object, id, f))
    })?;
    if model.sf_undeleted.iter().any(|(_, u)| *u == id) {
        return None;
    }
    let events: Vec<&SentEvent> = model.events.iter().filter(|e| e.app_id == r.id).collect();
    // A Contact converted from the person's Lead (`convertLead`) starts with the Lead's
    // values: P's history is the Lead's, then the Contact's.
    let lead = (object == "Contact")
        .then(|| {
            world
                .sf_find("Lead", "LastName", &r.last_name)
                .into_iter()
                .find(|(_, f)| f.get("ConvertedContactId") == Some(&Value::String(id.clone())))
                .map(|(lead, _)| lead)
        })
        .flatten();
    let on_p = |sf_id: &str| sf_id == id || lead.as_deref() == Some(sf_id);
    // The app's changes that went to P: after the demo set or sale that made its Contact
    // (all of them when the Contact is the converted Lead).
    let converting: Vec<&&SentEvent> = events
        .iter()
        .filter(|e| matches!(e.kind, "demo_set" | "sale"))
        .collect();
    let cut = match (object, converting.first()) {
        ("Contact", Some(_)) if lead.is_some() => 0,
        ("Contact", Some(first)) => first.step,
        ("Lead", None) => 0,
        _ => return None,
    };
    if converting.iter().any(|e| !succeeded(reports, e)) {
        return None;
    }
    let app: Vec<&&SentEvent> = events
        .iter()
        .filter(|e| e.step > cut && e.fields.contains_key("title"))
        .collect();
    if app.iter().any(|e| !succeeded(reports, e)) {
        return None;
    }
    let sf: Vec<&SfEdit> = model
        .sf_edits
        .iter()
        .filter(|e| on_p(&e.sf_id) && e.sf_field == "Title")
        .collect();
    let feed_all: Vec<FeedTitle<'_>> = world
        .feed
        .iter()
        .filter(|e| on_p(&e.sf_id) && matches!(e.kind, ChangeKind::Upsert | ChangeKind::Drift))
        .filter_map(|entry| {
            let value = entry.payload["fields"].get("title")?.clone();
            Some(FeedTitle { entry, value })
        })
        .collect();
    // What reached the app contact: entries under its id. A record a Salesforce user
    // created reaches the app first as its own record (`sf-<Id>`) until the app's create
    // matches it; those entries are not the contact's.
    let feed: Vec<&FeedTitle<'_>> = feed_all
        .iter()
        .filter(|f| f.entry.app_id.as_deref() == Some(r.id.as_str()))
        .collect();
    let sf_final = fields.get("Title").cloned().unwrap_or(Value::Null);
    let rules = model.rules;
    let pulled = rules.title.inbound() && rules.pull_person_updates;
    // Lead updates toggled off (`+toggles`): the app's changes after its create never
    // reach a Lead, and a Contact converted from such a Lead starts from values this
    // model does not follow (what the converting graph wrote), so it is not judged.
    let lead_frozen = !model.toggles.lead_update_out;
    if lead_frozen && lead.is_some() {
        return None;
    }
    let frozen_lead = lead_frozen && object == "Lead";
    let pushed = rules.title.outbound() && !frozen_lead;
    let a_last = app.last().map(|e| &***e);
    let s_last = sf.last().copied();
    let who = format!("{object} {id} of {} (rules {})", r.id, rules.name());
    let mut out = Vec::new();

    // Nothing the rules keep out reaches the app.
    for f in &feed_all {
        let update = f.entry.payload["action"] == "update";
        let forbidden = (!rules.title.inbound() && !f.value.is_null())
            || (!rules.pull_person_updates && update);
        if forbidden {
            out.push(Violation {
                invariant: 3,
                message: format!(
                    "{who}: change-feed entry {} ({}) carries Title {} from Salesforce, which the rules keep from the app",
                    f.entry.seq, f.entry.payload["action"], f.value
                ),
            });
        }
    }

    // Salesforce's final Title.
    let allowed: Vec<Value> = if !pushed {
        vec![s_last.map_or(Value::Null, |s| s.value.clone())]
    } else {
        match (a_last, s_last) {
            (None, None) => return Some(out),
            (Some(a), None) => vec![a_value(a)],
            (None, Some(s)) => vec![s.value.clone()],
            (Some(a), Some(s)) if !pulled => {
                if s.step > a.step {
                    vec![a_value(a), s.value.clone()]
                } else {
                    vec![a_value(a)]
                }
            }
            (Some(a), Some(s)) => {
                let others: Vec<&SfEdit> = model
                    .sf_edits
                    .iter()
                    .filter(|e| on_p(&e.sf_id) && e.sf_field != "Title")
                    .collect();
                both_ways(rules.policy, a, s, &feed, &events, &others, reports)
            }
        }
    };
    if !allowed.contains(&sf_final) {
        out.push(Violation {
            invariant: 2,
            message: format!(
                "{who}: Salesforce's final Title is {sf_final}; under {} the model allows {allowed:?} (app's last: {}, Salesforce users' last: {})",
                policy_name(rules.policy),
                describe_app(a_last),
                describe_sf(s_last),
            ),
        });
    }

    // The app's view.
    let feed_last = feed.last();
    if pulled && pushed {
        let view = match (a_last, feed_last) {
            (Some(a), Some(f)) if f.entry.seq > a.feed_seq => Some(f.value.clone()),
            (Some(a), _) => Some(a_value(a)),
            (None, Some(f)) => Some(f.value.clone()),
            (None, None) => s_last.map(|s| s.value.clone()),
        };
        if let Some(view) = view
            && view != sf_final
        {
            out.push(Violation {
                invariant: 3,
                message: format!(
                    "{who}: the app's Title is {view} (its last change, then the feed), Salesforce's is {sf_final}: the two sides did not converge (app's last: {}, Salesforce users' last: {}, feed's last: {})",
                    describe_app(a_last),
                    describe_sf(s_last),
                    feed_last.map_or("none".into(), |f| format!(
                        "{} at seq {} ({})",
                        f.value, f.entry.seq, f.entry.at
                    )),
                ),
            });
        }
    } else if pulled && let Some(s) = s_last {
        // Salesforce's Title reaches the app under whichever record the entry names.
        let got = feed_all.last().map(|f| f.value.clone());
        if got.as_ref() != Some(&sf_final) {
            out.push(Violation {
                invariant: 3,
                message: format!(
                    "{who}: the feed's last Title is {got:?}; Salesforce holds {sf_final} (Salesforce users' last: {})",
                    describe_sf(Some(s))
                ),
            });
        }
    }
    Some(out)
}

fn a_value(a: &SentEvent) -> Value {
    a.fields.get("title").cloned().unwrap_or(Value::Null)
}

fn describe_app(a: Option<&SentEvent>) -> String {
    a.map_or("none".into(), |a| {
        format!(
            "{} {} at {} (step {})",
            a.event_id,
            a_value(a),
            a.at,
            a.step
        )
    })
}

fn describe_sf(s: Option<&SfEdit>) -> String {
    s.map_or("none".into(), |s| {
        format!("{} at {} (step {})", s.value, s.at, s.step)
    })
}

/// The Titles the conflict policy allows when both sides changed P's Title.
fn both_ways(
    policy: ConflictPolicy,
    a: &SentEvent,
    s: &SfEdit,
    feed: &[&FeedTitle<'_>],
    events: &[&SentEvent],
    others: &[&SfEdit],
    reports: &Reports,
) -> Vec<Value> {
    let (app, crm) = (a_value(a), s.value.clone());
    match policy {
        ConflictPolicy::MostRecent => {
            if s.at >= a.at {
                return vec![crm];
            }
            // Another write of crmsync to the record, landing at or after A*'s time, dates
            // S* by the record's LastModifiedDate.
            // So does a Salesforce user's edit of another field of P at or after A*'s time
            // (an owner reassignment, `+owners`: people and deals seed 676).
            let dated_later = events.iter().any(|e| {
                e.step < a.step
                    && matches!(reports.get(&e.event_id), Some(Some(r))
                        if r.status == ReportStatus::Success && r.updated_at >= a.at)
            }) || others.iter().any(|e| e.at >= a.at);
            if dated_later {
                vec![app, crm]
            } else {
                vec![app]
            }
        }
        ConflictPolicy::CrmWins => {
            let reached = feed.iter().find(|f| f.value == crm).map(|f| f.entry.at);
            match reached {
                Some(t) if t < a.at => vec![app],
                // The code counts a change made at the instant the other side's value
                // arrived as made after it; with the sim's 1 s clock the order within the
                // instant is unknown.
                Some(t) if t == a.at => vec![app, crm],
                _ => vec![crm],
            }
        }
        ConflictPolicy::AppWins => {
            if s.step < a.step || s.at < a.at {
                vec![app]
            } else {
                vec![app, crm]
            }
        }
    }
}
