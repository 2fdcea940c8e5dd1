//! The push's catch-up decision: pending app changes counted, Salesforce's value told back
//! to the app for one the push will refuse (`crmsync_core::catch_up`).

mod common;

use std::collections::BTreeMap;

use chrono::{DateTime, TimeZone, Utc};
use crmsync_core::catch_up::{RESTATED_NOTE, decide_inbound_catching_up, pending_changes};
use crmsync_core::config::{ConflictPolicy, SyncConfig};
use crmsync_core::inbound::{InboundAction, decide_inbound};
use crmsync_core::types::{FieldChange, Link};
use serde_json::json;

fn at(secs: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 21, 8, 0, secs).unwrap()
}

/// A Lead linked in sync with Salesforce, whose Title (`CTO`) a poll delivered at
/// `fed_at`, changed by a Salesforce user at `sf_at`.
fn linked(cfg: &SyncConfig, sf_at: u32, fed_at: u32) -> Link {
    let synced = decide_inbound(cfg, "Lead", &common::lead_record(), None, None).unwrap();
    let mut link = Link {
        salesforce_id: "00Q000000000001AAA".into(),
        hashes: synced.link_hashes,
        times: Default::default(),
    };
    let change = FieldChange {
        at: at(sf_at),
        synced_at: at(fed_at),
    };
    link.times.salesforce.insert("Title".into(), change);
    link
}

fn pending_title(secs: u32) -> BTreeMap<String, FieldChange> {
    let change = FieldChange {
        at: at(secs),
        synced_at: at(50),
    };
    BTreeMap::from([("Title".to_string(), change)])
}

#[test]
fn a_pending_change_the_push_will_refuse_gets_salesforces_value_back() {
    // most_recent: an app change in the same second as Salesforce's (a tie) loses.
    let mut cfg = SyncConfig::standard();
    cfg.conflict_policy = ConflictPolicy::MostRecent;
    let link = linked(&cfg, 5, 5);
    let record = common::lead_record();
    let d = decide_inbound_catching_up(
        &cfg,
        "Lead",
        &record,
        Some(&link),
        &pending_title(5),
        at(50),
    )
    .unwrap();
    let InboundAction::Update { fields } = &d.action else {
        panic!("expected an update, got {:?}", d.action);
    };
    assert_eq!(fields["title"], json!("CTO"));
    assert!(d.notes.iter().any(|n| n.reason == RESTATED_NOTE));
    assert_eq!(d.link_times.fed.get("Title"), Some(&at(50)));
    // The pending change is not stored: the push stamps it when (if) it writes it.
    assert!(!d.link_times.app.contains_key("Title"));
}

#[test]
fn a_pending_change_the_push_will_write_or_one_made_before_the_value_arrived_tells_nothing() {
    let mut cfg = SyncConfig::standard();
    cfg.conflict_policy = ConflictPolicy::MostRecent;
    let record = common::lead_record();
    // Newer than Salesforce's change: the push writes it.
    let link = linked(&cfg, 5, 5);
    let d = decide_inbound_catching_up(
        &cfg,
        "Lead",
        &record,
        Some(&link),
        &pending_title(6),
        at(50),
    )
    .unwrap();
    assert_eq!(d.action, InboundAction::NoChange, "{:?}", d.action);
    // Refused, but the feed delivered Salesforce's value after the app made its change: the
    // app holds it already.
    let link = linked(&cfg, 5, 9);
    let d = decide_inbound_catching_up(
        &cfg,
        "Lead",
        &record,
        Some(&link),
        &pending_title(4),
        at(50),
    )
    .unwrap();
    assert_eq!(d.action, InboundAction::NoChange, "{:?}", d.action);
    // ... unless crmsync told the app another value back since then.
    let mut told = linked(&cfg, 5, 9);
    told.times.fed.insert("Title".into(), at(20));
    let d = decide_inbound_catching_up(
        &cfg,
        "Lead",
        &record,
        Some(&told),
        &pending_title(4),
        at(50),
    )
    .unwrap();
    assert!(
        matches!(d.action, InboundAction::Update { .. }),
        "{:?}",
        d.action
    );
}

#[test]
fn a_pending_owner_change_the_push_will_refuse_gets_salesforces_owner_back() {
    // most_recent: the app changes the owner in the second a poll delivered Salesforce's
    // reassignment (a tie, Salesforce's): the app is told Salesforce's owner (sim `+owners`).
    let mut cfg = SyncConfig::standard();
    cfg.conflict_policy = ConflictPolicy::MostRecent;
    cfg.owners
        .app_users
        .insert("rep@example.com".into(), "user-7".into());
    cfg.owners.keep_owner_field = Some("has_future_events".into());
    let record = common::lead_record();
    let mut link = linked(&cfg, 5, 5);
    let change = FieldChange {
        at: at(5),
        synced_at: at(5),
    };
    link.times.salesforce.insert("Owner.Email".into(), change);
    let mut pending = pending_title(6);
    pending.insert(
        "Owner.Email".into(),
        FieldChange {
            at: at(5),
            synced_at: at(50),
        },
    );
    let d =
        decide_inbound_catching_up(&cfg, "Lead", &record, Some(&link), &pending, at(50)).unwrap();
    let InboundAction::Update { fields } = &d.action else {
        panic!("expected an update, got {:?}", d.action);
    };
    assert_eq!(fields.get("owner_id"), Some(&json!("user-7")));
    assert!(
        !fields.contains_key("title"),
        "the Title's change is newer: {fields:?}"
    );
    assert_eq!(d.link_times.fed.get("Owner.Email"), Some(&at(50)));
    // A record that keeps its owner is never told Salesforce's.
    link.times.owner_locked = Some(true);
    let d =
        decide_inbound_catching_up(&cfg, "Lead", &record, Some(&link), &pending, at(50)).unwrap();
    assert_eq!(d.action, InboundAction::NoChange, "{:?}", d.action);
}

#[test]
fn a_pending_owner_change_is_one_the_push_writes_not_an_echo_of_the_last_sync() {
    // A sale carries the contact's owner unchanged: not pending (sim `+owners` deals seed
    // 3057: the unchanged owner refused a Salesforce user's reassignment of a contact that
    // keeps its owner).
    let mut cfg = SyncConfig::standard();
    cfg.owners
        .app_users
        .insert("rep@example.com".into(), "user-7".into());
    cfg.owners
        .app_users
        .insert("ava@example.com".into(), "user-8".into());
    let link = linked(&cfg, 5, 5);
    let obj = cfg.object("Lead").unwrap();
    let event = |fields: serde_json::Value| crmsync_core::event::AppEvent {
        event_id: "e1".into(),
        kind: crmsync_core::types::EventKind::Sale,
        app_object: crmsync_core::types::AppObject::Contact,
        app_id: "c-1".into(),
        occurred_at: "2026-11-21T08:00:06Z".into(),
        fields: serde_json::from_value(fields).unwrap(),
        sale_items: vec![],
        associated_contacts: vec![],
    };
    let change = FieldChange {
        at: at(6),
        synced_at: at(50),
    };
    // The owner only: a mapped field counts even when it echoes (its read catches up a Lead
    // the batch converts).
    let same = event(json!({"owner_id": "user-7", "title": "CTO"}));
    let pending = pending_changes(&cfg, obj, &same, &link, change);
    assert_eq!(
        pending.keys().map(String::as_str).collect::<Vec<_>>(),
        vec!["Title"]
    );
    let changed = event(json!({"owner_id": "user-8", "title": "CEO"}));
    let pending = pending_changes(&cfg, obj, &changed, &link, change);
    assert_eq!(
        pending.keys().map(String::as_str).collect::<Vec<_>>(),
        vec!["Owner.Email", "Title"]
    );
}
