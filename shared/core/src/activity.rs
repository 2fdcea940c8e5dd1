//! App calls and emails → completed Salesforce Tasks (seed 003 "Activity sync").
//!
//! The app names the person an activity is about, and the deal when there is one, by their
//! app ids (`activity.contact_field`, `activity.deal_field`). The Task's `WhoId` and
//! `WhatId` come from crmsync's own links of those records, never from Salesforce ids the
//! app sends. Salesforce's rules, and where they are written down:
//!
//! - `WhoId` is a Contact or a Lead (Object Reference, TaskWhoRelation: the relation
//!   "Refers to: Contact, Lead"; jsforce issue #1006 records the refusal of an Account id
//!   as `FIELD_INTEGRITY_EXCEPTION` "Name ID: id value of incorrect type" on `WhoId`).
//! - `WhatId` (an Account, Opportunity, …) must stay empty when `WhoId` is a Lead
//!   (rioeducation.com "Salesforce Activity WhatID & WhoID"; ZynBit's knowledge base: a
//!   Lead and an Account together fail with "field integrity exception: WhoId, WhatId").
//!   So a Task about a Lead goes without its deal, with a note.
//! - `TaskSubtype` (`Call`, `Email`) is set on create only. Not found quoted in the
//!   documentation search here; the project already relies on it (README, "Creates upsert
//!   by crmsync's key"), and the emulator's describe has it createable, not updateable,
//!   refusing it on update with `INVALID_FIELD_FOR_INSERT_UPDATE`. So a later event of the
//!   same activity updates the Task without it (harmless if Salesforce allowed it).
//! - `Status` `Completed` closes the Task; Salesforce stamps the read-only
//!   `CompletedDateTime` itself. `ActivityDate` is a date, the due date (Object
//!   Reference, Task: its timestamp "is always set to midnight in the Coordinated
//!   Universal Time (UTC) time zone").
//!
//! An activity whose person (or named deal) has no link yet waits
//! ([`crate::outbound::OutboundDecision::Waiting`]):
//! the service parks it and replays it once the link exists, so no Task is written
//! without a `WhoId`. Each activity is linked to its Task, so a second event of the same
//! activity (a redelivery, a re-send) updates that Task instead of creating another.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use crate::config::SyncConfig;
use crate::describe::ObjectDescribe;
use crate::event::AppEvent;
use crate::hash::field_hash;
use crate::outbound::{LinkUpdate, WriteOp, WriteStep};
use crate::transform::{FieldKind, SF_DATE_FORMAT, format_sf_datetime, parse_datetime};
use crate::types::{AppObject, FieldMap, FieldNote, Link};

/// Task fields Salesforce accepts on create only.
const CREATE_ONLY: [&str; 1] = ["TaskSubtype"];

/// The app records an activity event names, by app id.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Named {
    pub contact: Option<String>,
    pub deal: Option<String>,
}

/// Which app records `event` names (their links are what the service looks up).
pub fn named(config: &SyncConfig, event: &AppEvent) -> Named {
    Named {
        contact: event.text(&config.activity.contact_field),
        deal: event.text(&config.activity.deal_field),
    }
}

/// The links of the records an activity names, by Salesforce object, as the service read
/// them (`Contact`/`Lead`/`Opportunity` of the person; `Opportunity` of the deal).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ActivityLinks {
    pub person: BTreeMap<String, Link>,
    pub deal: BTreeMap<String, Link>,
}

/// Where the Task goes: its `WhoId`, its `WhatId` and a note on what was left out.
#[derive(Debug, Clone, PartialEq)]
pub struct Relations {
    pub who: String,
    pub what: Option<String>,
    pub note: Option<FieldNote>,
}

/// Why an activity cannot be written yet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Unready {
    /// It names no person: a Task without `WhoId` is never written.
    NoPerson(String),
    /// A record it names is not linked yet (its push has not run, or it is unknown).
    Waiting(String),
}

/// The Task's relations from crmsync's links: the person's Contact (else its Lead) is the
/// `WhoId`; the named deal's Opportunity (else the person's own) is the `WhatId`, unless
/// the `WhoId` is a Lead.
pub fn relations(
    config: &SyncConfig,
    event: &AppEvent,
    links: &ActivityLinks,
) -> Result<Relations, Unready> {
    let named = named(config, event);
    let contact_field = &config.activity.contact_field;
    let Some(person) = named.contact else {
        return Err(Unready::NoPerson(format!(
            "the activity names no contact (field `{contact_field}`); no Task is written without a WhoId"
        )));
    };
    let who = links
        .person
        .get("Contact")
        .or_else(|| links.person.get("Lead"));
    let Some(who) = who else {
        return Err(Unready::Waiting(format!(
            "waiting for contact `{person}` to be linked to a Salesforce Contact or Lead (its push has not run yet, or the app never sent it)"
        )));
    };
    // A deal can only be linked while Opportunity syncs; otherwise it is not waited for.
    let deal = named
        .deal
        .filter(|_| config.object("Opportunity").is_some());
    let deal_opportunity = match &deal {
        Some(deal) => match links.deal.get("Opportunity") {
            Some(l) => Some(l.salesforce_id.clone()),
            None => {
                return Err(Unready::Waiting(format!(
                    "waiting for deal `{deal}` to be linked to a Salesforce Opportunity (its push has not run yet, or the app never sent it)"
                )));
            }
        },
        None => None,
    };
    let what = deal_opportunity.or_else(|| {
        links
            .person
            .get("Opportunity")
            .map(|l| l.salesforce_id.clone())
    });
    let who_is_lead = !links.person.contains_key("Contact");
    if who_is_lead && let Some(what) = what {
        return Ok(Relations {
            who: who.salesforce_id.clone(),
            what: None,
            note: Some(FieldNote::new(
                "Task.WhatId",
                format!(
                    "not sent: a Task about a Lead cannot be related to a record (Opportunity {what})"
                ),
            )),
        });
    }
    Ok(Relations {
        who: who.salesforce_id.clone(),
        what,
        note: None,
    })
}

/// The Task's fields for `event` (seed 003's activity table), related as `relations` says.
pub fn task_fields(
    config: &SyncConfig,
    event: &AppEvent,
    relations: &Relations,
    task_describe: Option<&ObjectDescribe>,
) -> FieldMap {
    let mut t = FieldMap::new();
    t.insert("WhoId".into(), json!(relations.who));
    if let Some(what) = &relations.what {
        t.insert("WhatId".into(), json!(what));
    }
    if let Some(owner) = event.text(crate::event::SF_OWNER_ID_FIELD) {
        t.insert("OwnerId".into(), json!(owner));
    }
    let comm = event
        .text("communication_type")
        .unwrap_or_else(|| "Call".into());
    let subtype = if comm.eq_ignore_ascii_case("email") {
        "Email"
    } else {
        "Call"
    };
    t.insert("Subject".into(), json!(comm));
    t.insert("TaskSubtype".into(), json!(subtype));
    t.insert("Type".into(), json!(subtype));
    t.insert("Status".into(), json!("Completed"));
    if let Some(d) = event.fields.get("duration").and_then(Value::as_f64) {
        t.insert("CallDurationInSeconds".into(), json!(d.round() as i64));
    }
    if let Some(kind) = event.text("disposition") {
        let text = match event
            .text("disposition_start_time")
            .and_then(|s| parse_datetime(&s))
        {
            Some(at) => format!("{kind} ({})", at.format("%-m/%-d/%y %H:%M:%S")),
            None => kind,
        };
        t.insert("CallDisposition".into(), json!(text));
    }
    if let Some(c) = event.text("channel") {
        t.insert("CallType".into(), json!(c));
    }
    if let Some(n) = event.text("notes") {
        t.insert("Description".into(), json!(n));
    }
    if let Some(at) = event
        .text("created_at")
        .and_then(|s| parse_datetime(&s))
        .or_else(|| event.occurred_at())
    {
        // CompletedDateTime is read-only: Salesforce stamps it when the task is saved Completed.
        t.insert(
            "ActivityDate".into(),
            json!(at.format(SF_DATE_FORMAT).to_string()),
        );
    }
    // Task has no standard Phone field; send it only to an org whose describe has one.
    let task_has_phone = task_describe.is_some_and(|d| d.field("Phone").is_some());
    if let Some(p) = event.text("phone").filter(|_| task_has_phone) {
        t.insert("Phone".into(), json!(p));
    }
    if let (Some(field), Some(at)) = (
        &config.activity.event_datetime_field,
        event
            .text("schedule_start_time")
            .and_then(|s| parse_datetime(&s)),
    ) {
        t.insert(field.clone(), json!(format_sf_datetime(&at)));
    }
    t
}

/// The activity's Task write: a create, or, once the activity is linked to its Task
/// (`task`), an update of what changed since (None: nothing did).
pub fn task_step(event: &AppEvent, fields: FieldMap, task: Option<&Link>) -> Option<WriteStep> {
    let hashes: BTreeMap<String, String> = fields
        .iter()
        .map(|(k, v)| (k.clone(), field_hash(FieldKind::String, v)))
        .collect();
    let (op, fields) = match task {
        None => (WriteOp::Create, fields),
        Some(link) => {
            let changed: FieldMap = fields
                .into_iter()
                .filter(|(k, _)| !CREATE_ONLY.contains(&k.as_str()))
                .filter(|(k, _)| link.hashes.get(k) != hashes.get(k))
                .collect();
            if changed.is_empty() {
                return None;
            }
            let id = link.salesforce_id.clone();
            (WriteOp::Update { id }, changed)
        }
    };
    let mut stored = task.map(|l| l.hashes.clone()).unwrap_or_default();
    stored.extend(hashes);
    Some(WriteStep {
        key: "task".into(),
        object: "Task".into(),
        op,
        fields,
        references: BTreeMap::new(),
        link: Some(LinkUpdate {
            app_object: AppObject::Activity,
            app_id: event.app_id.clone(),
            hashes: stored,
            times: task.map(|l| l.times.clone()).unwrap_or_default(),
            restate: FieldMap::new(),
            restatable: BTreeMap::new(),
        }),
    })
}
