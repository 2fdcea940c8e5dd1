//! Activities (issue 13 item 6): a call or email becomes a completed Task whose WhoId and
//! WhatId come from crmsync's links of the person and deal the event names by app id;
//! an unlinked person waits; a Lead never gets a WhatId; a second event of the same
//! activity updates its Task (never a second create, never the create-only subtype).

mod common;

use std::collections::BTreeMap;

use crmsync_core::activity::ActivityLinks;
use crmsync_core::config::SyncConfig;
use crmsync_core::event::AppEvent;
use crmsync_core::outbound::{
    OutboundContext, OutboundDecision, WriteOp, WritePlan, plan_outbound,
};
use crmsync_core::types::{AppObject, EventKind, Link};
use serde_json::{Value, json};

const CONTACT: &str = "003000000000001AAA";
const LEAD: &str = "00Q000000000001AAA";
const OPP: &str = "006000000000001AAA";
const DEAL_OPP: &str = "006000000000002AAA";
const TASK: &str = "00T000000000001AAA";

fn config() -> SyncConfig {
    let mut cfg = SyncConfig::standard();
    cfg.activity.enabled = true;
    cfg.activity.event_datetime_field = Some("EventDateTime__c".into());
    cfg
}

fn call(fields: Value) -> AppEvent {
    AppEvent {
        event_id: "ev-call".into(),
        kind: EventKind::Create,
        app_object: AppObject::Activity,
        app_id: "call-1".into(),
        occurred_at: "2026-11-21T07:57:32Z".into(),
        fields: serde_json::from_value(fields).unwrap(),
        sale_items: vec![],
        associated_contacts: vec![],
    }
}

fn link(id: &str) -> Link {
    Link {
        salesforce_id: id.into(),
        hashes: Default::default(),
        times: Default::default(),
    }
}

fn links(pairs: &[(&str, &str)]) -> BTreeMap<String, Link> {
    pairs
        .iter()
        .map(|(object, id)| (object.to_string(), link(id)))
        .collect()
}

fn decide(
    cfg: &SyncConfig,
    own: &BTreeMap<String, Link>,
    related: &ActivityLinks,
    ev: &AppEvent,
) -> OutboundDecision {
    let describes = common::describes();
    let dir = common::users();
    let ctx = OutboundContext {
        config: cfg,
        links: own,
        describes: &describes,
        owner_directory: &dir,
        now: chrono::Utc::now(),
        activity: Some(related),
    };
    plan_outbound(&ctx, ev)
}

fn written(d: OutboundDecision) -> WritePlan {
    match d {
        OutboundDecision::Write { plan } => plan,
        other => panic!("expected a Task write, got {other:#?}"),
    }
}

fn person(pairs: &[(&str, &str)]) -> ActivityLinks {
    ActivityLinks {
        person: links(pairs),
        deal: BTreeMap::new(),
    }
}

#[test]
fn a_call_about_a_linked_contact_is_a_completed_task_on_it() {
    let ev = call(
        json!({"contact_id": "c-1", "communication_type": "Call", "duration": 93.4,
        "disposition": "DemoSet", "disposition_start_time": "2023-03-01T08:00:00Z",
        "channel": "Outbound", "notes": "Booked a demo", "created_at": "2026-11-21T07:57:32Z",
        "phone": "555-0100", "schedule_start_time": "2026-12-03T15:00:00Z",
        "sf_owner_id": "005000000000001AAA"}),
    );
    let related = person(&[("Contact", CONTACT), ("Opportunity", OPP)]);
    let p = written(decide(&config(), &BTreeMap::new(), &related, &ev));
    assert_eq!(p.steps.len(), 1, "{p:#?}");
    let t = &p.steps[0];
    assert_eq!((t.object.as_str(), &t.op), ("Task", &WriteOp::Create));
    assert_eq!(t.fields["WhoId"], json!(CONTACT));
    assert_eq!(t.fields["WhatId"], json!(OPP), "the person's Opportunity");
    assert_eq!(t.fields["Status"], json!("Completed"));
    assert_eq!(t.fields["TaskSubtype"], json!("Call"));
    assert_eq!(t.fields["CallDurationInSeconds"], json!(93));
    assert_eq!(
        t.fields["CallDisposition"],
        json!("DemoSet (3/1/23 08:00:00)")
    );
    assert!(!t.fields.contains_key("CompletedDateTime"), "read-only");
    assert_eq!(t.fields["Phone"], json!("555-0100"));
    assert_eq!(t.fields["ActivityDate"], json!("2026-11-21"));
    assert_eq!(
        t.fields["EventDateTime__c"],
        json!("2026-12-03T15:00:00.000+0000")
    );
    assert_eq!(t.fields["OwnerId"], json!("005000000000001AAA"));
    let l = t.link.as_ref().expect("the activity is linked to its Task");
    assert_eq!(
        (l.app_object, l.app_id.as_str()),
        (AppObject::Activity, "call-1")
    );
    assert!(l.hashes.contains_key("Subject"), "{l:#?}");
}

#[test]
fn the_named_deal_is_the_what_and_a_contact_beats_a_lead() {
    let ev = call(json!({"contact_id": "c-1", "deal_id": "d-9", "communication_type": "email"}));
    let related = ActivityLinks {
        person: links(&[("Lead", LEAD), ("Contact", CONTACT), ("Opportunity", OPP)]),
        deal: links(&[("Opportunity", DEAL_OPP)]),
    };
    let p = written(decide(&config(), &BTreeMap::new(), &related, &ev));
    let t = &p.steps[0];
    assert_eq!(t.fields["WhoId"], json!(CONTACT));
    assert_eq!(t.fields["WhatId"], json!(DEAL_OPP));
    assert_eq!(t.fields["TaskSubtype"], json!("Email"));
}

#[test]
fn a_task_about_a_lead_carries_no_what() {
    let ev = call(json!({"contact_id": "c-1", "deal_id": "d-9"}));
    let related = ActivityLinks {
        person: links(&[("Lead", LEAD)]),
        deal: links(&[("Opportunity", DEAL_OPP)]),
    };
    let p = written(decide(&config(), &BTreeMap::new(), &related, &ev));
    let t = &p.steps[0];
    assert_eq!(t.fields["WhoId"], json!(LEAD));
    assert!(!t.fields.contains_key("WhatId"), "{:?}", t.fields);
    assert!(
        p.notes
            .iter()
            .any(|n| n.field == "Task.WhatId" && n.reason.contains(DEAL_OPP)),
        "{:?}",
        p.notes
    );
}

#[test]
fn an_unlinked_person_or_deal_waits_and_no_person_is_skipped() {
    let cfg = config();
    let ev = call(json!({"contact_id": "c-404"}));
    match decide(&cfg, &BTreeMap::new(), &ActivityLinks::default(), &ev) {
        OutboundDecision::Waiting { reason } => assert!(reason.contains("`c-404`"), "{reason}"),
        other => panic!("expected to wait for the person, got {other:#?}"),
    }
    // No links given at all (a caller that did not load them) waits too.
    let describes = common::describes();
    let dir = common::users();
    let bare = OutboundContext {
        config: &cfg,
        links: &BTreeMap::new(),
        describes: &describes,
        owner_directory: &dir,
        now: chrono::Utc::now(),
        activity: None,
    };
    assert!(matches!(
        plan_outbound(&bare, &ev),
        OutboundDecision::Waiting { .. }
    ));

    let ev = call(json!({"contact_id": "c-1", "deal_id": "d-404"}));
    match decide(
        &cfg,
        &BTreeMap::new(),
        &person(&[("Contact", CONTACT)]),
        &ev,
    ) {
        OutboundDecision::Waiting { reason } => assert!(reason.contains("`d-404`"), "{reason}"),
        other => panic!("expected to wait for the deal, got {other:#?}"),
    }

    // With Opportunity sync off, a deal can never be linked: it is not waited for.
    let mut no_deals = cfg.clone();
    no_deals.objects.get_mut("Opportunity").unwrap().enabled = false;
    let p = written(decide(
        &no_deals,
        &BTreeMap::new(),
        &person(&[("Contact", CONTACT)]),
        &ev,
    ));
    assert!(!p.steps[0].fields.contains_key("WhatId"), "{p:#?}");

    let ev = call(json!({"sf_contact_id": CONTACT}));
    match decide(
        &cfg,
        &BTreeMap::new(),
        &person(&[("Contact", CONTACT)]),
        &ev,
    ) {
        OutboundDecision::Skipped { reason } => {
            assert!(reason.contains("`contact_id`"), "{reason}")
        }
        other => panic!("an app-supplied Salesforce id is not a WhoId: {other:#?}"),
    }
}

#[test]
fn a_second_event_of_a_linked_activity_updates_only_what_changed() {
    let cfg = config();
    let related = person(&[("Contact", CONTACT)]);
    let first = call(json!({"contact_id": "c-1", "notes": "First try"}));
    let p = written(decide(&cfg, &BTreeMap::new(), &related, &first));
    let created = p.steps[0].link.clone().unwrap();
    let own = BTreeMap::from([(
        "Task".to_string(),
        Link {
            salesforce_id: TASK.into(),
            hashes: created.hashes.clone(),
            times: Default::default(),
        },
    )]);

    // The same activity again: nothing to write.
    assert!(matches!(
        decide(&cfg, &own, &related, &first),
        OutboundDecision::NoChange { .. }
    ));

    // New notes: an update of the Task, without the create-only subtype.
    let mut second = call(json!({"contact_id": "c-1", "notes": "Called back",
                                 "communication_type": "email"}));
    second.event_id = "ev-call-2".into();
    let p = written(decide(&cfg, &own, &related, &second));
    let t = &p.steps[0];
    assert_eq!(
        t.op,
        WriteOp::Update {
            id: TASK.to_string()
        }
    );
    assert_eq!(t.fields["Description"], json!("Called back"));
    assert!(!t.fields.contains_key("TaskSubtype"), "{:?}", t.fields);
    assert!(!t.fields.contains_key("WhoId"), "unchanged: {:?}", t.fields);
}
