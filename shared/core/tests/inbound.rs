//! Inbound decisions: seed 000 object mapping and owners, seed 003 rules and phases,
//! seed 004 conflict policies.

mod common;

use chrono::{TimeZone, Utc};
use crmsync_core::config::{ConflictPolicy, FieldMapping, SyncConfig, SyncRule};
use crmsync_core::inbound::{InboundAction, InboundError, SkipReason, decide_inbound};
use crmsync_core::record::RawRecord;
use crmsync_core::transform::FieldKind;
use crmsync_core::types::{AppObject, AppRecord, FieldMap, OWNER_HASH_KEY};
use serde_json::{Value, json};

fn config() -> SyncConfig {
    let mut cfg = SyncConfig::standard();
    cfg.owners
        .app_users
        .insert("rep@example.com".into(), "user-7".into());
    cfg.owners.default_owner = Some("ops-1".into());
    for o in ["Lead", "Contact"] {
        cfg.objects
            .get_mut(o)
            .unwrap()
            .fields
            .push(FieldMapping::sellfire_phase("Phase__c"));
    }
    cfg
}

fn fields_of(action: &InboundAction) -> &FieldMap {
    match action {
        InboundAction::Create { fields } | InboundAction::Update { fields } => fields,
        other => panic!("expected a write, got {other:?}"),
    }
}

#[test]
fn new_lead_creates_contact_with_lead_type_status_and_owner() {
    let d = decide_inbound(&config(), "Lead", &common::lead_record(), None, None).unwrap();
    assert_eq!(d.app_object, AppObject::Contact);
    assert_eq!(d.salesforce_id, "00Q000000000001AAA");
    let InboundAction::Create { fields } = &d.action else {
        panic!("{:?}", d.action)
    };
    assert_eq!(fields["lead_type"], json!("lead"));
    assert_eq!(fields["lead_status"], json!("Working - Contacted"));
    assert_eq!(fields["phone"], json!("(555) 010-0100"));
    assert_eq!(fields["company_name"], json!("Analytical Engines"));
    assert_eq!(
        fields["owner_id"],
        json!("user-7"),
        "owner matched by email, case-insensitively"
    );
    assert_eq!(d.unmapped_owner_email, None);
    assert!(d.link_hashes.contains_key("Phone") && d.link_hashes.contains_key(OWNER_HASH_KEY));
}

#[test]
fn contact_maps_to_contact_with_contact_type() {
    let mut r = common::lead_record();
    r["attributes"]["type"] = json!("Contact");
    r["MailingCity"] = json!("Leeds");
    let d = decide_inbound(&config(), "Contact", &r, None, None).unwrap();
    let f = fields_of(&d.action);
    assert_eq!(f["lead_type"], json!("contact"));
    assert_eq!(f["city"], json!("Leeds"));
    assert!(
        !f.contains_key("company_name"),
        "Contact has no Company mapping"
    );
}

#[test]
fn same_record_again_is_an_echo() {
    let cfg = config();
    let first = decide_inbound(&cfg, "Lead", &common::lead_record(), None, None).unwrap();
    let app = AppRecord {
        fields: fields_of(&first.action).clone(),
        modified_at: None,
    };
    let second = decide_inbound(
        &cfg,
        "Lead",
        &common::lead_record(),
        Some(&first.link_hashes),
        Some(&app),
    )
    .unwrap();
    assert_eq!(second.action, InboundAction::NoChange);
    assert_eq!(second.link_hashes, first.link_hashes);
}

#[test]
fn changed_field_only_updates_that_field() {
    let cfg = config();
    let first = decide_inbound(&cfg, "Lead", &common::lead_record(), None, None).unwrap();
    let app = AppRecord {
        fields: fields_of(&first.action).clone(),
        modified_at: None,
    };
    let mut r = common::lead_record();
    r["Title"] = json!("CEO");
    let d = decide_inbound(&cfg, "Lead", &r, Some(&first.link_hashes), Some(&app)).unwrap();
    assert_eq!(
        d.action,
        InboundAction::Update {
            fields: FieldMap::from([("title".into(), json!("CEO"))])
        }
    );
    assert_ne!(d.link_hashes["Title"], first.link_hashes["Title"]);
}

#[test]
fn unmapped_owner_gets_default_owner_and_is_reported() {
    let mut r = common::lead_record();
    r["Owner"]["Email"] = json!("stranger@example.com");
    let d = decide_inbound(&config(), "Lead", &r, None, None).unwrap();
    assert_eq!(fields_of(&d.action)["owner_id"], json!("ops-1"));
    assert_eq!(
        d.unmapped_owner_email.as_deref(),
        Some("stranger@example.com")
    );

    let mut cfg = config();
    cfg.owners.default_owner = None;
    let d = decide_inbound(&cfg, "Lead", &r, None, None).unwrap();
    assert!(!fields_of(&d.action).contains_key("owner_id"));
    assert!(
        d.notes
            .iter()
            .any(|n| n.reason.contains("no default owner"))
    );
}

#[test]
fn salesforce_unless_blank_never_clears_but_two_way_does() {
    let cfg = config();
    let first = decide_inbound(&cfg, "Lead", &common::lead_record(), None, None).unwrap();
    let app = AppRecord {
        fields: fields_of(&first.action).clone(),
        modified_at: None,
    };
    let mut r = common::lead_record();
    r["LeadSource"] = Value::Null; // SalesforceUnlessBlank
    r["Title"] = json!(""); // TwoWay
    let d = decide_inbound(&cfg, "Lead", &r, Some(&first.link_hashes), Some(&app)).unwrap();
    let f = fields_of(&d.action);
    assert!(!f.contains_key("lead_source"));
    assert_eq!(f["title"], Value::Null);
}

#[test]
fn app_only_and_dont_sync_fields_never_come_in() {
    let mut cfg = config();
    let lead = cfg.objects.get_mut("Lead").unwrap();
    for m in &mut lead.fields {
        match m.salesforce_field.as_str() {
            "Title" => m.rule = SyncRule::AppOnly,
            "Email" => m.rule = SyncRule::DontSync,
            _ => {}
        }
    }
    let d = decide_inbound(&cfg, "Lead", &common::lead_record(), None, None).unwrap();
    let f = fields_of(&d.action);
    assert!(!f.contains_key("title") && !f.contains_key("email"));
    assert!(f.contains_key("first_name"));
}

#[test]
fn only_allow_listed_phases_come_in() {
    let cfg = config();
    let mut r = common::lead_record();
    r["Phase__c"] = json!("HeldPhase");
    let d = decide_inbound(&cfg, "Lead", &r, None, None).unwrap();
    assert!(!fields_of(&d.action).contains_key("phase"));
    assert!(
        d.notes
            .iter()
            .any(|n| n.field == "Phase__c" && n.reason.contains("not accepted"))
    );
    assert!(!d.link_hashes.contains_key("Phase__c"));
    for phase in [
        "ColdCallCold",
        "Resting",
        "LongResting",
        "Retired",
        "Customer",
    ] {
        r["Phase__c"] = json!(phase);
        let d = decide_inbound(&cfg, "Lead", &r, None, None).unwrap();
        assert_eq!(fields_of(&d.action)["phase"], json!(phase));
    }
}

fn conflict(policy: ConflictPolicy, app_modified_hour: u32) -> InboundAction {
    let mut cfg = config();
    cfg.conflict_policy = policy;
    let first = decide_inbound(&cfg, "Lead", &common::lead_record(), None, None).unwrap();
    // Both sides changed Phone since the last sync. Salesforce changed it at 07:57.
    let mut app_fields = fields_of(&first.action).clone();
    app_fields.insert("phone".into(), json!("555-APP"));
    let app = AppRecord {
        fields: app_fields,
        modified_at: Some(
            Utc.with_ymd_and_hms(2026, 11, 21, app_modified_hour, 0, 0)
                .unwrap(),
        ),
    };
    let mut r = common::lead_record();
    r["Phone"] = json!("555-CRM");
    decide_inbound(&cfg, "Lead", &r, Some(&first.link_hashes), Some(&app))
        .unwrap()
        .action
}

#[test]
fn conflict_policies() {
    let crm = InboundAction::Update {
        fields: FieldMap::from([("phone".into(), json!("555-CRM"))]),
    };
    assert_eq!(conflict(ConflictPolicy::CrmWins, 9), crm);
    assert_eq!(
        conflict(ConflictPolicy::AppWins, 6),
        InboundAction::NoChange
    );
    assert_eq!(
        conflict(ConflictPolicy::MostRecent, 6),
        crm,
        "Salesforce (07:57) is newer than the app (06:00)"
    );
    assert_eq!(
        conflict(ConflictPolicy::MostRecent, 9),
        InboundAction::NoChange,
        "the app (09:00) is newer"
    );
}

#[test]
fn unchanged_app_field_takes_salesforce_value_under_any_policy() {
    let mut cfg = config();
    cfg.conflict_policy = ConflictPolicy::AppWins;
    let first = decide_inbound(&cfg, "Lead", &common::lead_record(), None, None).unwrap();
    let app = AppRecord {
        fields: fields_of(&first.action).clone(),
        modified_at: Some(Utc::now()),
    };
    let mut r = common::lead_record();
    r["Phone"] = json!("555-NEW");
    let d = decide_inbound(&cfg, "Lead", &r, Some(&first.link_hashes), Some(&app)).unwrap();
    assert_eq!(fields_of(&d.action)["phone"], json!("555-NEW"));
}

#[test]
fn opportunity_maps_to_deal_through_stage_map() {
    let r = json!({"attributes":{"type":"Opportunity"},"Id":"006000000000001AAA","Name":"Big deal",
        "StageName":"Closed Won","Amount":12000.0,"CloseDate":"2026-12-01",
        "LastModifiedDate":"2026-11-21T07:57:32.000+0000","Owner":{"Email":"rep@example.com"}});
    let d = decide_inbound(&config(), "Opportunity", &r, None, None).unwrap();
    assert_eq!(d.app_object, AppObject::Deal);
    let f = fields_of(&d.action);
    assert_eq!(f["stage"], json!("won"));
    assert_eq!(f["amount"], json!(12000));
    assert_eq!(f["close_date"], json!("2026-12-01"));
    assert_eq!(f["owner_id"], json!("user-7"));
}

#[test]
fn record_without_phone_is_not_created() {
    let mut r = common::lead_record();
    r["Phone"] = Value::Null;
    let d = decide_inbound(&config(), "Lead", &r, None, None).unwrap();
    assert_eq!(
        d.action,
        InboundAction::Skipped {
            reason: SkipReason::MissingRequiredField {
                field: "phone".into()
            }
        }
    );
}

#[test]
fn direction_toggles_and_disabled_objects() {
    let mut cfg = config();
    cfg.objects.get_mut("Lead").unwrap().inbound.create = false;
    let d = decide_inbound(&cfg, "Lead", &common::lead_record(), None, None).unwrap();
    assert_eq!(
        d.action,
        InboundAction::Skipped {
            reason: SkipReason::InboundCreateDisabled
        }
    );
    cfg.objects.get_mut("Lead").unwrap().enabled = false;
    let d = decide_inbound(&cfg, "Lead", &common::lead_record(), None, None).unwrap();
    assert!(matches!(
        d.action,
        InboundAction::Skipped {
            reason: SkipReason::ObjectNotEnabled { .. }
        }
    ));
}

#[test]
fn wrong_type_and_missing_id() {
    let d = decide_inbound(&config(), "Contact", &common::lead_record(), None, None).unwrap();
    assert!(matches!(
        d.action,
        InboundAction::Skipped {
            reason: SkipReason::WrongObjectType { .. }
        }
    ));
    let mut r = common::lead_record();
    r.as_object_mut().unwrap().remove("Id");
    assert_eq!(
        decide_inbound(&config(), "Lead", &r, None, None).unwrap_err(),
        InboundError::MissingId
    );
}

#[test]
fn raw_record_decides_like_value() {
    let text = common::lead_record().to_string();
    let raw = RawRecord::parse(&text).unwrap();
    let a = decide_inbound(&config(), "Lead", &raw, None, None).unwrap();
    let b = decide_inbound(&config(), "Lead", &common::lead_record(), None, None).unwrap();
    assert_eq!(a, b);
}

#[test]
fn bad_values_are_noted_not_fatal() {
    let mut cfg = config();
    cfg.objects
        .get_mut("Lead")
        .unwrap()
        .fields
        .push(FieldMapping::new(
            "employees",
            "NumberOfEmployees",
            SyncRule::TwoWay,
            FieldKind::Number,
        ));
    let mut r = common::lead_record();
    r["NumberOfEmployees"] = json!({"odd": true});
    let d = decide_inbound(&cfg, "Lead", &r, None, None).unwrap();
    assert!(fields_of(&d.action).contains_key("phone"));
    assert!(d.notes.iter().any(|n| n.field == "NumberOfEmployees"));
}

#[test]
fn deletion_clears_only_crm_sourced_fields() {
    let cleared = crmsync_core::inbound::fields_cleared_on_delete(&config(), "Lead");
    assert_eq!(
        cleared,
        vec!["lead_source".to_string(), "sf_lead_id".to_string()]
    );
    assert!(crmsync_core::inbound::fields_cleared_on_delete(&config(), "Nope__c").is_empty());
}

#[test]
fn owner_change_refused_while_future_events_exist() {
    let mut cfg = config();
    cfg.owners.keep_owner_field = Some("has_future_events".into());
    cfg.owners
        .app_users
        .insert("new@example.com".into(), "user-8".into());
    let first = decide_inbound(&cfg, "Lead", &common::lead_record(), None, None).unwrap();
    let mut app_fields = fields_of(&first.action).clone();
    app_fields.insert("has_future_events".into(), json!(true));
    let app = AppRecord {
        fields: app_fields.clone(),
        modified_at: None,
    };
    let mut r = common::lead_record();
    r["Owner"]["Email"] = json!("new@example.com");
    let d = decide_inbound(&cfg, "Lead", &r, Some(&first.link_hashes), Some(&app)).unwrap();
    assert_eq!(d.action, InboundAction::NoChange);
    assert!(
        d.notes
            .iter()
            .any(|n| n.reason.contains("future scheduled events"))
    );
    // Without future events the owner moves.
    app_fields.insert("has_future_events".into(), json!(false));
    let app = AppRecord {
        fields: app_fields,
        modified_at: None,
    };
    let d = decide_inbound(&cfg, "Lead", &r, Some(&first.link_hashes), Some(&app)).unwrap();
    assert_eq!(fields_of(&d.action)["owner_id"], json!("user-8"));
}

#[test]
fn linked_record_blank_in_never_synced_fields_changes_nothing() {
    // A record crmsync pushed comes back with the fields it never sent still empty: no
    // clearing of app values the app never told Salesforce about.
    let cfg = config();
    let first = decide_inbound(&cfg, "Lead", &common::lead_record(), None, None).unwrap();
    let mut pushed_hashes = first.link_hashes.clone();
    pushed_hashes.remove("Title");
    let mut r = common::lead_record();
    r["Title"] = Value::Null;
    let d = decide_inbound(&cfg, "Lead", &r, Some(&pushed_hashes), None).unwrap();
    assert_eq!(d.action, InboundAction::NoChange, "{:?}", d.action);
    assert!(
        d.link_hashes.contains_key("Title"),
        "the blank is now known"
    );

    // Once synced, clearing it in Salesforce does reach the app (two-way).
    let d = decide_inbound(&cfg, "Lead", &r, Some(&first.link_hashes), None).unwrap();
    assert_eq!(fields_of(&d.action)["title"], Value::Null);
}

#[test]
fn a_pending_write_found_in_salesforce_is_crmsyncs_own_not_a_users_change() {
    // crmsync wrote Title, but linking the result failed: the link still has the old hash
    // and marks the written value pending. The poll must adopt it, not report it.
    let cfg = config();
    let first = decide_inbound(&cfg, "Lead", &common::lead_record(), None, None).unwrap();
    let mut r = common::lead_record();
    r["Title"] = json!("Written by crmsync");
    let written = decide_inbound(&cfg, "Lead", &r, Some(&first.link_hashes), None).unwrap();
    let mut link = crmsync_core::types::Link {
        salesforce_id: "00Q000000000001AAA".into(),
        hashes: first.link_hashes.clone(),
        times: Default::default(),
    };
    link.times
        .pending
        .insert("Title".into(), written.link_hashes["Title"].clone());
    let now = Utc.with_ymd_and_hms(2026, 11, 30, 12, 0, 0).unwrap();
    let d =
        crmsync_core::inbound::decide_inbound_linked(&cfg, "Lead", &r, Some(&link), now).unwrap();
    assert_eq!(d.action, InboundAction::NoChange, "{:?}", d.action);
    assert_eq!(d.link_hashes["Title"], written.link_hashes["Title"]);
    assert!(d.link_times.pending.is_empty());
    assert!(!d.link_times.salesforce.contains_key("Title"));

    // A user's later edit of the same field is a change again.
    r["Title"] = json!("Edited by a user");
    let d =
        crmsync_core::inbound::decide_inbound_linked(&cfg, "Lead", &r, Some(&link), now).unwrap();
    assert_eq!(fields_of(&d.action)["title"], json!("Edited by a user"));
}
