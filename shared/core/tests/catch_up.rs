//! The push's catch-up decision: pending app changes counted, Salesforce's value told back
//! to the app for one the push will refuse (`crmsync_core::catch_up`).

mod common;

use std::collections::BTreeMap;

use chrono::{DateTime, TimeZone, Utc};
use crmsync_core::catch_up::{RESTATED_NOTE, decide_inbound_catching_up};
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
