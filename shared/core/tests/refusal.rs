//! Refusals (issue 13, item 11): the inbound decision lists each Salesforce change a rule
//! refused (the owner kept by `keep_owner_field`, an `app_only` field) once; the link
//! remembers it, so the same refusal read again is not listed; one that ends is forgotten.

mod common;

use chrono::{TimeZone, Utc};
use crmsync_core::config::{ConflictPolicy, SyncConfig, SyncRule};
use crmsync_core::inbound::{
    InboundAction, InboundDecision, decide_inbound, decide_inbound_linked,
};
use crmsync_core::refusal::RefusalRule;
use crmsync_core::types::{FieldChange, Link, OWNER_HASH_KEY};
use serde_json::{Value, json};

fn config() -> SyncConfig {
    let mut cfg = SyncConfig::standard();
    cfg.owners.keep_owner_field = Some("has_future_events".into());
    for (email, id) in [("rep@example.com", "user-7"), ("new@example.com", "user-8")] {
        cfg.owners.app_users.insert(email.into(), id.into());
    }
    cfg
}

/// The Lead as last synced, linked with its hashes (and `edit` applied to the link).
fn synced(cfg: &SyncConfig, edit: impl FnOnce(&mut Link)) -> Link {
    let first = decide_inbound(cfg, "Lead", &common::lead_record(), None, None).unwrap();
    let mut link = Link {
        salesforce_id: "00Q000000000001AAA".into(),
        hashes: first.link_hashes,
        times: Default::default(),
    };
    edit(&mut link);
    link
}

fn decide(cfg: &SyncConfig, record: &Value, link: &Link) -> InboundDecision {
    let now = Utc.with_ymd_and_hms(2026, 11, 30, 12, 0, 0).unwrap();
    decide_inbound_linked(cfg, "Lead", record, Some(link), now).unwrap()
}

/// The link as the service stores it after `d` (the refused values remembered).
fn after(link: &Link, d: &InboundDecision) -> Link {
    Link {
        salesforce_id: link.salesforce_id.clone(),
        hashes: d.link_hashes.clone(),
        times: d.link_times.clone(),
    }
}

#[test]
fn a_kept_owner_is_refused_once_and_a_new_owner_is_news_again() {
    let cfg = config();
    let link = synced(&cfg, |l| l.times.owner_locked = Some(true));
    let mut r = common::lead_record();
    r["Owner"]["Email"] = json!("new@example.com");

    let d = decide(&cfg, &r, &link);
    assert_eq!(d.action, InboundAction::NoChange, "{:?}", d.action);
    assert_eq!(d.refusals.len(), 1, "{:?}", d.refusals);
    let refusal = &d.refusals[0];
    assert_eq!(refusal.rule, RefusalRule::KeepOwnerField);
    assert_eq!(
        (refusal.field.as_str(), refusal.app_field.as_str()),
        ("OwnerId", "owner_id")
    );
    assert_eq!(refusal.setting, "has_future_events");
    assert_eq!(refusal.value, json!("new@example.com"));
    assert!(
        refusal.why().contains("keep_owner_field"),
        "{}",
        refusal.why()
    );
    assert!(d.link_times.refused.contains_key(OWNER_HASH_KEY));

    // Read again (overlap window, another field changed): told already.
    let told = after(&link, &d);
    r["Title"] = json!("Moved");
    let again = decide(&cfg, &r, &told);
    assert!(again.refusals.is_empty(), "{:?}", again.refusals);
    assert_eq!(again.link_times.refused, d.link_times.refused);

    // Another owner: refused and told again.
    r["Owner"]["Email"] = json!("rep2@example.com");
    let mut cfg2 = cfg.clone();
    cfg2.owners
        .app_users
        .insert("rep2@example.com".into(), "user-9".into());
    assert_eq!(decide(&cfg2, &r, &told).refusals.len(), 1);

    // The owner back to the synced one: the refusal ended and is forgotten.
    r["Owner"]["Email"] = json!("Rep@Example.com");
    let ended = decide(&cfg, &r, &told);
    assert!(ended.refusals.is_empty());
    assert!(
        ended.link_times.refused.is_empty(),
        "{:?}",
        ended.link_times
    );
}

#[test]
fn an_app_only_field_changed_in_salesforce_is_refused() {
    let mut cfg = config();
    let title = cfg
        .objects
        .get_mut("Lead")
        .unwrap()
        .fields
        .iter_mut()
        .find(|m| m.salesforce_field == "Title")
        .unwrap();
    title.rule = SyncRule::AppOnly;
    // The value last synced (two-way then) is in the link.
    let link = synced(&config(), |_| {});
    assert!(link.hashes.contains_key("Title"));

    // Unchanged: nothing refused.
    let same = decide(&cfg, &common::lead_record(), &link);
    assert!(same.refusals.is_empty(), "{:?}", same.refusals);

    let mut r = common::lead_record();
    r["Title"] = json!("Intern");
    let d = decide(&cfg, &r, &link);
    assert_eq!(d.refusals.len(), 1, "{:?}", d.refusals);
    assert_eq!(d.refusals[0].rule, RefusalRule::AppOnly);
    assert_eq!(d.refusals[0].value, json!("Intern"));
    assert_eq!(d.action, InboundAction::NoChange, "never applied");
    assert!(decide(&cfg, &r, &after(&link, &d)).refusals.is_empty());
}

#[test]
fn a_conflict_lost_and_a_value_not_accepted_are_refusals_too() {
    // most_recent: the app changed Title after Salesforce's edit was made.
    let mut cfg = config();
    cfg.conflict_policy = ConflictPolicy::MostRecent;
    let app_change = FieldChange {
        at: Utc.with_ymd_and_hms(2026, 11, 21, 8, 0, 0).unwrap(),
        synced_at: Utc.with_ymd_and_hms(2026, 11, 21, 8, 0, 1).unwrap(),
    };
    let link = synced(&cfg, |l| {
        l.times.app.insert("Title".into(), app_change);
    });
    let mut r = common::lead_record();
    r["Title"] = json!("Older edit"); // LastModifiedDate 07:57:32, before the app's 08:00
    let d = decide(&cfg, &r, &link);
    assert_eq!(d.refusals.len(), 1, "{:?}", d.refusals);
    let refusal = &d.refusals[0];
    assert_eq!(refusal.rule, RefusalRule::ConflictPolicy);
    assert_eq!(refusal.setting, "most_recent");
    assert_eq!(refusal.value, json!("Older edit"));
    assert!(refusal.why().contains("most_recent"), "{}", refusal.why());

    // A value outside the mapping's inbound_allow list.
    let mut cfg = config();
    let status = cfg
        .objects
        .get_mut("Lead")
        .unwrap()
        .fields
        .iter_mut()
        .find(|m| m.salesforce_field == "Status")
        .unwrap();
    status.values = None;
    status.inbound_allow = Some(vec!["Open - Not Contacted".into()]);
    let link = synced(&cfg, |_| {});
    let mut r = common::lead_record();
    r["Status"] = json!("Closed - Converted");
    let d = decide(&cfg, &r, &link);
    let allow: Vec<_> = d
        .refusals
        .iter()
        .filter(|r| r.rule == RefusalRule::InboundAllow)
        .collect();
    assert_eq!(allow.len(), 1, "{:?}", d.refusals);
    assert_eq!(allow[0].field, "Status");
    assert!(
        allow[0].setting.contains("Open - Not Contacted"),
        "{:?}",
        allow[0]
    );
}
