//! Owners (profile feature `owners`): the app changes a contact's owner, Salesforce users
//! reassign its person record, and the app keeps its owner on some contacts
//! (`owners.keep_owner_field`). Owners map by email: each of the org's three users
//! (`admin@`, `ava.sales@`, `omar.rep@demo.example`) has an app user (`owners.app_users`).
//!
//! Checked per app contact on its final person record P (its Contact, else its Lead):
//! - **Kept owner** (`keeps_owner`): no owner change from Salesforce reaches the app (no
//!   upsert under the contact carries `owner_id`), and when P's final owner is a Salesforce
//!   user's reassignment of P that the app does not hold (person pulls on), the change feed
//!   holds a `notice` naming `keep_owner_field` and that owner.
//! - **Otherwise** (owners two-way, person pulls on): the app's view (its last owner, with
//!   the feed's later `owner_id` entries of the contact applied on top) equals the app user
//!   of P's final `OwnerId` (invariant 2; 4 when the app's view is an earlier value).
//! - **Nothing unmapped**: P's final owner is one of the three users (no stray owner).

use std::collections::BTreeMap;

use crmsync_core::config::SyncConfig;
use crmsync_e2e::{PROD_ORG, Stack};
use crmsync_store::{ChangeKind, ReportEntry};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::Value;

use crate::invariants::Violation;
use crate::runner::World;

/// The app's users by the org user (username = email) they map to.
pub const APP_USERS: [(&str, &str); 3] = [
    (sf_emulator::demo::USERNAME, "u-admin"),
    (Stack::MAPPED_USER, "u-ava"),
    (Stack::UNMAPPED_USER, "u-omar"),
];
/// The app's boolean field that keeps its owner (seed 003: future scheduled events).
pub const KEEP_OWNER_FIELD: &str = "has_future_events";
/// Mixed into the seed for the owners' own RNG (the scenario's draws do not move).
const OWNERS_SALT: u64 = 0x6f77_6e65_7273_5f31;

/// Writes the owner mapping into the connection's config.
pub fn apply(config: &mut SyncConfig) {
    config.owners.enabled = true;
    config.owners.keep_owner_field = Some(KEEP_OWNER_FIELD.into());
    for (email, app_user) in APP_USERS {
        config
            .owners
            .app_users
            .insert(email.into(), app_user.into());
    }
}

/// Each contact's first owner and whether the app keeps it, from the seed's own RNG.
pub fn draw(seed: u64, records: &mut [crate::model::AppRecord]) {
    let mut rng = StdRng::seed_from_u64(seed ^ OWNERS_SALT);
    for r in records {
        r.owner = APP_USERS[rng.random_range(0..APP_USERS.len())]
            .1
            .to_string();
        r.keeps_owner = rng.random_bool(0.4);
    }
}

/// The org user id → app user id.
fn app_user_by_sf_id(world: &World) -> BTreeMap<String, &'static str> {
    APP_USERS
        .iter()
        .map(|(email, app_user)| (world.stack.user_id(PROD_ORG, email), *app_user))
        .collect()
}

/// The org user id of an app user.
pub fn sf_user_of(world: &World, index: usize) -> (String, &'static str) {
    let (email, _) = APP_USERS[index % APP_USERS.len()];
    (world.stack.user_id(PROD_ORG, email), email)
}

pub fn check(world: &World, reports: &BTreeMap<String, Option<ReportEntry>>) -> Vec<Violation> {
    let mut out = Vec::new();
    let users = app_user_by_sf_id(world);
    let model = &world.model;
    let fail = |out: &mut Vec<Violation>, invariant: u8, message: String| {
        out.push(Violation { invariant, message })
    };
    for r in &model.records {
        if r.deleted_in_sf || !r.created {
            continue;
        }
        let Some((object, id, fields)) = ["Contact", "Lead"].iter().find_map(|object| {
            world
                .sf_find(object, "LastName", &r.last_name)
                .into_iter()
                .next()
                .map(|(id, f)| (*object, id, f))
        }) else {
            continue;
        };
        if model.sf_undeleted.iter().any(|(_, u)| *u == id) {
            continue;
        }
        let sf_owner = fields
            .get("OwnerId")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        let Some(final_user) = users.get(&sf_owner).copied() else {
            fail(
                &mut out,
                2,
                format!(
                    "{object} {id} of {} is owned by {sf_owner:?}, no user the app or Salesforce users chose",
                    r.id
                ),
            );
            continue;
        };
        // The app's own last owner, then the feed's later owner entries for the contact.
        let Some(last) = model
            .events
            .iter()
            .rfind(|e| e.app_id == r.id && e.fields.contains_key("owner_id"))
        else {
            continue;
        };
        let owner_entries: Vec<(u64, &str)> = world
            .feed
            .iter()
            .filter(|e| {
                e.kind == ChangeKind::Upsert
                    && e.app_id.as_deref() == Some(r.id.as_str())
                    && matches!(e.object.as_str(), "Lead" | "Contact")
            })
            .filter_map(|e| {
                e.payload["fields"]
                    .get("owner_id")
                    .and_then(Value::as_str)
                    .map(|v| (e.seq, v))
            })
            .collect();
        let mut view = last.fields["owner_id"].as_str().unwrap_or_default();
        for (seq, v) in &owner_entries {
            if *seq > last.feed_seq {
                view = v;
            }
        }
        if r.keeps_owner {
            if let Some((seq, v)) = owner_entries.first() {
                fail(
                    &mut out,
                    2,
                    format!(
                        "{} keeps its owner ({KEEP_OWNER_FIELD}), yet feed entry {seq} told the app Salesforce's owner {v}",
                        r.id
                    ),
                );
            }
            // A notice is owed when P's owner is a Salesforce user's reassignment the app
            // does not hold (not, say, crmsync's own create under Lead updates off), and
            // only with person pulls on: with them off no Salesforce update reaches the app,
            // and the skipped update tells of no refusal (`+rules+owners`, people seed 40).
            // Reassignments that end on the owner P had before them change nothing to refuse
            // (people seeds 1157, 4684: a "reassignment" to P's owner, or away and back, while
            // the app's own owner change never reached the Lead, Lead updates off).
            let reassignments: Vec<_> = model
                .sf_edits
                .iter()
                .filter(|e| e.sf_id == id && e.sf_field == "OwnerId")
                .collect();
            let reassigned = model.rules.pull_person_updates
                && reassignments.iter().any(|e| e.value == sf_owner.as_str())
                && reassignments.first().is_some_and(|e| {
                    e.before.as_ref().and_then(Value::as_str) != Some(sf_owner.as_str())
                });
            if final_user != view && reassigned {
                let email = APP_USERS
                    .iter()
                    .find(|(_, u)| *u == final_user)
                    .map(|(e, _)| *e)
                    .unwrap_or_default();
                let noticed = world.feed.iter().any(|e| {
                    e.kind == ChangeKind::Notice
                        && e.payload["rules"]
                            .as_array()
                            .is_some_and(|a| a.iter().any(|x| x == "keep_owner_field"))
                        && e.payload["refusals"].as_array().is_some_and(|a| {
                            a.iter()
                                .any(|x| x["field"] == "OwnerId" && x["value"] == email)
                        })
                });
                if !noticed {
                    fail(
                        &mut out,
                        2,
                        format!(
                            "{object} {id} of {} (which keeps its owner) ends owned by {email} ({final_user}), the app holds {view}, and no notice told the app of the refused owner change",
                            r.id
                        ),
                    );
                }
            }
            continue;
        }
        // An app change that ended as an error (with its reason) is the app's to redo.
        let last_ok = matches!(reports.get(&last.event_id), Some(Some(rep)) if rep.status == crmsync_store::ReportStatus::Success);
        let two_way = last_ok
            && model.rules.pull_person_updates
            && (object != "Lead" || model.toggles.lead_update_out);
        if two_way && final_user != view {
            let earlier = model
                .events
                .iter()
                .filter(|e| e.app_id == r.id && e.event_id != last.event_id)
                .any(|e| e.fields.get("owner_id").and_then(Value::as_str) == Some(final_user));
            fail(
                &mut out,
                if earlier { 4 } else { 2 },
                format!(
                    "{object} {id} of {} ends owned by {final_user}; the app's view is {view} (its last owner event {} sent {}; the feed's owner entries {owner_entries:?})",
                    r.id, last.event_id, last.fields["owner_id"]
                ),
            );
        }
    }
    out
}
