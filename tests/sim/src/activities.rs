//! Activities (profile feature `activities`): the app's calls and emails about a contact
//! become completed Tasks (`WhoId` from crmsync's link of the contact, `WhatId` from its
//! Opportunity). The app names the contact by its app id only, often before the contact's
//! push has run: the activity then parks `WAITING_FOR_LINK` until a poll sees the link. A
//! re-send (a new event for the same activity) updates the Task.
//!
//! Each event's notes (the Task's Description) are unique: `<activity id> note s<step>`.
//! Checked:
//! 1. **No duplicates**: at most one live Task per activity.
//! 2. **No lost app change**: an activity whose last event succeeded has its Task, holding
//!    that event's notes, related (`WhoId`) to a Lead or Contact of its contact; an event
//!    still parked (`WAITING_FOR_LINK`, or behind such an event of its activity) is allowed
//!    only while its contact has no link (the reported reason), else it waits after its
//!    cause is gone (6).

use std::collections::BTreeMap;

use crmsync_e2e::PROD_ORG;
use crmsync_store::{ReportEntry, ReportStatus};
use serde_json::{Map, Value, json};

use crate::invariants::Violation;
use crate::model::Activity;
use crate::runner::{CONN, World};

/// The notes (Task Description) of an activity's event at `step`.
fn notes(activity: &str, step: usize) -> String {
    format!("{activity} note s{step}")
}

impl World {
    /// The app logs a call or email about contact `app`, or (`resend`, when it has one)
    /// sends one of its earlier activities again with new notes.
    pub(crate) async fn app_activity(&mut self, app: usize, resend: bool, email: bool) {
        let contact = self.model.records[app].id.clone();
        let earlier = self
            .model
            .activities
            .iter()
            .rposition(|a| a.contact == contact);
        let index = match earlier {
            Some(i) if resend => i,
            _ => {
                self.model.activities.push(Activity {
                    id: format!("act-{}", self.step_no),
                    contact: contact.clone(),
                    events: Vec::new(),
                });
                self.model.activities.len() - 1
            }
        };
        let id = self.model.activities[index].id.clone();
        let mut fields = Map::new();
        fields.insert("contact_id".into(), json!(contact));
        fields.insert(
            "communication_type".into(),
            json!(if email { "email" } else { "call" }),
        );
        fields.insert("notes".into(), json!(notes(&id, self.step_no)));
        fields.insert("created_at".into(), json!(self.stack.now().to_rfc3339()));
        let event_id = self.send_as("activity", &id, "create", fields).await;
        self.model.activities[index].events.push(event_id);
    }

    /// Whether a parked report entry waits for a link that is legitimately absent: an
    /// activity whose contact is not linked (its create failed or wrote nothing, or a
    /// Salesforce user deleted its record). Such an entry does not hold up quiescence.
    /// The activity's later events park behind it (`BEHIND_PARKED`), or stay parked with
    /// their first cause (the replay leaves out a waiting activity's other events).
    pub(crate) async fn waits_for_absent_link(&self, entry: &ReportEntry) -> bool {
        let Some(contact) = self
            .model
            .events
            .iter()
            .find(|e| e.event_id == entry.event_id && e.app_object == "activity")
            .and_then(|e| e.fields.get("contact_id"))
            .and_then(Value::as_str)
        else {
            return false;
        };
        !self.contact_linked(contact).await
    }

    async fn contact_linked(&self, contact: &str) -> bool {
        for key in ["contact.Contact", "contact.Lead"] {
            let link = self
                .stack
                .app
                .stores
                .links
                .get_by_app(&self.stack.tenant, &self.stack.conn(CONN), key, contact)
                .await
                .expect("link read");
            if link.is_some() {
                return true;
            }
        }
        false
    }
}

pub async fn check(
    world: &World,
    reports: &BTreeMap<String, Option<ReportEntry>>,
) -> Vec<Violation> {
    let mut out = Vec::new();
    let tasks: Vec<(String, Map<String, Value>)> = world
        .stack
        .sf
        .records(PROD_ORG, "Task")
        .expect("emulator read")
        .into_iter()
        .filter(|(_, _, deleted)| !deleted)
        .map(|(id, f, _)| (id, f))
        .collect();
    for a in &world.model.activities {
        let prefix = format!("{} note ", a.id);
        let mine: Vec<&(String, Map<String, Value>)> = tasks
            .iter()
            .filter(|(_, f)| {
                f.get("Description")
                    .and_then(Value::as_str)
                    .is_some_and(|d| d.starts_with(&prefix))
            })
            .collect();
        if mine.len() > 1 {
            let ids: Vec<&String> = mine.iter().map(|(id, _)| id).collect();
            out.push(Violation {
                invariant: 1,
                message: format!("activity {} has {} Tasks: {ids:?}", a.id, mine.len()),
            });
        }
        let Some(record) = world.model.record(&a.contact) else {
            continue;
        };
        let Some(last) = a.events.last() else {
            continue;
        };
        let report = reports.get(last).cloned().flatten();
        match report.as_ref().map(|r| r.status) {
            Some(ReportStatus::Success) if !record.deleted_in_sf => {
                let event = world.model.events.iter().find(|e| e.event_id == *last);
                let want = event.and_then(|e| e.fields.get("notes")).cloned();
                let Some((task, fields)) = mine.first() else {
                    out.push(Violation {
                        invariant: 2,
                        message: format!(
                            "activity {}'s event {last} succeeded but no Task holds its notes' activity",
                            a.id
                        ),
                    });
                    continue;
                };
                let got = fields.get("Description").cloned();
                if got != want {
                    // An earlier event's notes over the last one's: order (4).
                    let earlier = a.events.iter().any(|e| {
                        world.model.events.iter().any(|s| {
                            s.event_id == *e
                                && s.event_id != *last
                                && s.fields.get("notes") == got.as_ref()
                        })
                    });
                    out.push(Violation {
                        invariant: if earlier { 4 } else { 2 },
                        message: format!(
                            "Task {task} of activity {} holds {:?}; its last event {last} sent {want:?} and succeeded",
                            a.id,
                            fields.get("Description")
                        ),
                    });
                }
                let who = fields.get("WhoId").and_then(Value::as_str).unwrap_or("");
                let persons: Vec<String> = ["Lead", "Contact"]
                    .iter()
                    .flat_map(|o| world.stack.sf.records(PROD_ORG, o).expect("emulator read"))
                    .filter(|(_, f, _)| {
                        f.get("LastName").and_then(Value::as_str) == Some(record.last_name.as_str())
                    })
                    .map(|(id, _, _)| id)
                    .collect();
                if !persons.iter().any(|p| p == who) {
                    out.push(Violation {
                        invariant: 2,
                        message: format!(
                            "Task {task} of activity {} is related to {who:?}, not to a Lead or Contact of {} ({persons:?})",
                            a.id, a.contact
                        ),
                    });
                }
            }
            Some(ReportStatus::Parked) => {
                let entry = report.expect("a report");
                if !world.waits_for_absent_link(&entry).await {
                    out.push(Violation {
                        invariant: 6,
                        message: format!(
                            "activity {}'s event {last} is still parked ({}) although its contact {} is linked (its cause is gone)",
                            a.id,
                            entry.code.unwrap_or_default(),
                            a.contact
                        ),
                    });
                }
            }
            _ => {}
        }
    }
    out
}
