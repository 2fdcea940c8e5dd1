//! Outbound write plans: seed 003's Lead-vs-Contact rule, demo-set and sale flows,
//! activities, the four sync rules, triggers, owners, and pre-flight rejection.

mod common;

use std::collections::BTreeMap;

use crmsync_core::config::{FieldConstraint, FieldMapping, SyncConfig, SyncRule};
use crmsync_core::event::{AppEvent, AssociatedContact, SaleItem};
use crmsync_core::hash::field_hash;
use crmsync_core::matching::MatchStep;
use crmsync_core::outbound::{
    Matcher, OutboundContext, OutboundDecision, Ref, WriteOp, WritePlan, plan_outbound,
};
use crmsync_core::preflight::SfErrorCode;
use crmsync_core::transform::FieldKind;
use crmsync_core::types::{AppObject, EventKind, FieldMap, Link};
use serde_json::{Value, json};

fn config() -> SyncConfig {
    let mut cfg = SyncConfig::standard();
    cfg.owners
        .app_users
        .insert("rep@example.com".into(), "user-7".into());
    cfg.activity.enabled = true;
    cfg.activity.event_datetime_field = Some("EventDateTime__c".into());
    cfg
}

fn event(kind: EventKind, fields: Value) -> AppEvent {
    AppEvent {
        event_id: "ev-1".into(),
        kind,
        app_object: AppObject::Contact,
        app_id: "lead-42".into(),
        occurred_at: "2026-11-21T07:57:32Z".into(),
        fields: serde_json::from_value(fields).unwrap(),
        sale_items: vec![],
        associated_contacts: vec![],
    }
}

fn person() -> Value {
    json!({"first_name":"Ada","last_name":"Lovelace","email":"ada@example.com","phone":"555-0100",
           "company_name":"Analytical Engines","city":"London","owner_id":"user-7"})
}

fn plan(cfg: &SyncConfig, links: &BTreeMap<String, Link>, ev: &AppEvent) -> OutboundDecision {
    let describes = common::describes();
    let dir = common::users();
    let ctx = OutboundContext {
        config: cfg,
        links,
        describes: &describes,
        owner_directory: &dir,
        now: chrono::Utc::now(),
        activity: None,
    };
    plan_outbound(&ctx, ev)
}

fn write_plan(d: OutboundDecision) -> WritePlan {
    match d {
        OutboundDecision::Write { plan } => plan,
        other => panic!("expected a write plan, got {other:#?}"),
    }
}

fn keys(p: &WritePlan) -> Vec<(&str, &str)> {
    p.steps
        .iter()
        .map(|s| (s.key.as_str(), s.object.as_str()))
        .collect()
}

#[test]
fn new_app_lead_becomes_salesforce_lead_matched_by_email_then_phone() {
    let p = write_plan(plan(
        &config(),
        &BTreeMap::new(),
        &event(EventKind::Create, person()),
    ));
    assert_eq!(keys(&p), vec![("lead", "Lead")]);
    let s = &p.steps[0];
    assert_eq!(s.fields["LastName"], json!("Lovelace"));
    assert_eq!(s.fields["Company"], json!("Analytical Engines"));
    assert_eq!(s.fields["OwnerId"], json!("005000000000001AAA"));
    let WriteOp::MatchThenWrite {
        matcher: Matcher::Keys { keys },
        create: true,
    } = &s.op
    else {
        panic!("{:?}", s.op)
    };
    let steps: Vec<MatchStep> = keys.iter().map(|(k, _)| *k).collect();
    assert_eq!(steps, vec![MatchStep::Email, MatchStep::Phone]);
    let link = s.link.as_ref().unwrap();
    assert_eq!(
        (link.app_object, link.app_id.as_str()),
        (AppObject::Contact, "lead-42")
    );
    assert_eq!(
        link.hashes["LastName"],
        field_hash(FieldKind::String, &json!("Lovelace"))
    );
}

#[test]
fn app_record_with_contact_id_updates_that_contact() {
    let mut f = person();
    f["sf_contact_id"] = json!("003000000000009AAA");
    let p = write_plan(plan(
        &config(),
        &BTreeMap::new(),
        &event(EventKind::Update, f),
    ));
    assert_eq!(keys(&p), vec![("contact", "Contact")]);
    assert_eq!(
        p.steps[0].op,
        WriteOp::Update {
            id: "003000000000009AAA".into()
        }
    );
}

#[test]
fn demo_set_moving_to_held_phase_creates_contact_account_and_qualification_opportunity() {
    let mut f = person();
    f["phase"] = json!("HeldPhase");
    f["previous_phase"] = json!("ColdCallDM");
    f["demo_at"] = json!("2026-12-03T15:00:00-05:00");
    let p = write_plan(plan(
        &config(),
        &BTreeMap::new(),
        &event(EventKind::DemoSet, f),
    ));
    assert_eq!(
        keys(&p),
        vec![
            ("account", "Account"),
            ("contact", "Contact"),
            ("opportunity", "Opportunity")
        ]
    );
    let acct = &p.steps[0];
    assert_eq!(acct.fields["Name"], json!("Analytical Engines"));
    assert_eq!(acct.fields["Phone"], json!("555-0100"));
    let WriteOp::MatchThenWrite {
        matcher: Matcher::Account { query, lookups },
        ..
    } = &acct.op
    else {
        panic!()
    };
    assert_eq!(query.city.as_deref(), Some("London"));
    assert_eq!(lookups.len(), 2);
    let contact = &p.steps[1];
    assert_eq!(contact.references["AccountId"], 0);
    assert!(matches!(
        &contact.op,
        WriteOp::MatchThenWrite {
            matcher: Matcher::Contact {
                account: Some(Ref::Step(0)),
                ..
            },
            ..
        }
    ));
    let opp = &p.steps[2];
    assert_eq!(opp.op, WriteOp::Create);
    assert_eq!(opp.fields["StageName"], json!("Qualification"));
    assert_eq!(
        opp.fields["CloseDate"],
        json!("2026-12-03"),
        "CloseDate is the demo's date"
    );
    assert_eq!(opp.fields["Name"], json!("Analytical Engines"));
    assert_eq!(
        (opp.references["AccountId"], opp.references["ContactId"]),
        (0, 1)
    );
}

#[test]
fn demo_set_from_a_non_cold_call_phase_stays_a_lead() {
    let mut f = person();
    f["phase"] = json!("HeldPhase");
    f["previous_phase"] = json!("Resting");
    let p = write_plan(plan(
        &config(),
        &BTreeMap::new(),
        &event(EventKind::DemoSet, f),
    ));
    assert_eq!(keys(&p), vec![("lead", "Lead")]);
}

#[test]
fn demo_set_opportunity_is_off_by_default() {
    let mut cfg = config();
    cfg.opportunity = Default::default();
    let p = write_plan(plan(
        &cfg,
        &BTreeMap::new(),
        &event(EventKind::DemoSet, person()),
    ));
    assert_eq!(
        keys(&p),
        vec![("account", "Account"), ("contact", "Contact")]
    );
}

fn sale_event() -> AppEvent {
    let mut ev = event(EventKind::Sale, person());
    ev.fields.insert("amount".into(), json!(1500));
    ev.sale_items = vec![
        SaleItem {
            name: "Widget".into(),
            product_code: None,
            pricebook_entry_id: Some("01u000000000001AAA".into()),
            product_id: None,
            quantity: 2.0,
            unit_price: 500.0,
            fields: FieldMap::new(),
        },
        SaleItem {
            name: "Setup".into(),
            product_code: None,
            pricebook_entry_id: Some("01u000000000002AAA".into()),
            product_id: None,
            quantity: 1.0,
            unit_price: 500.0,
            fields: FieldMap::new(),
        },
    ];
    ev.associated_contacts = vec![AssociatedContact {
        app_id: Some("lead-43".into()),
        fields: serde_json::from_value(json!({"last_name":"Byron","phone":"555-0101"})).unwrap(),
    }];
    ev
}

#[test]
fn sale_connects_account_contacts_creates_closed_won_opportunity_and_line_items() {
    let p = write_plan(plan(&config(), &BTreeMap::new(), &sale_event()));
    assert_eq!(
        keys(&p),
        vec![
            ("account", "Account"),
            ("contact", "Contact"),
            ("associated_contact[0]", "Contact"),
            ("opportunity", "Opportunity"),
            ("line_item[0]", "OpportunityLineItem"),
            ("line_item[1]", "OpportunityLineItem"),
        ]
    );
    assert_eq!(p.steps[2].references["AccountId"], 0);
    assert_eq!(p.steps[2].link.as_ref().unwrap().app_id, "lead-43");
    let opp = &p.steps[3];
    assert_eq!(opp.fields["StageName"], json!("Closed Won"));
    assert_eq!(opp.fields["Amount"], json!(1500));
    assert_eq!(opp.fields["CloseDate"], json!("2026-11-21"));
    assert_eq!(opp.references["ContactId"], 1);
    for li in &p.steps[4..] {
        assert_eq!(li.references["OpportunityId"], 3);
        assert!(li.fields.contains_key("PricebookEntryId"));
    }
    assert_eq!(p.steps[4].fields["Quantity"], json!(2.0));
}

#[test]
fn sale_after_demo_set_closes_the_linked_opportunity() {
    let links = BTreeMap::from([
        (
            "Account".to_string(),
            Link {
                salesforce_id: "001000000000001AAA".into(),
                ..Default::default()
            },
        ),
        (
            "Contact".to_string(),
            Link {
                salesforce_id: "003000000000001AAA".into(),
                ..Default::default()
            },
        ),
        (
            "Opportunity".to_string(),
            Link {
                salesforce_id: "006000000000001AAA".into(),
                ..Default::default()
            },
        ),
    ]);
    let mut ev = sale_event();
    ev.associated_contacts.clear();
    let p = write_plan(plan(&config(), &links, &ev));
    let opp = p.steps.iter().find(|s| s.key == "opportunity").unwrap();
    assert_eq!(
        opp.op,
        WriteOp::Update {
            id: "006000000000001AAA".into()
        }
    );
    assert_eq!(opp.fields["StageName"], json!("Closed Won"));
    let items: Vec<_> = p
        .steps
        .iter()
        .filter(|s| s.object == "OpportunityLineItem")
        .collect();
    assert_eq!(items.len(), 2);
    assert_eq!(
        items[0].fields["OpportunityId"],
        json!("006000000000001AAA")
    );
    assert!(items[0].references.is_empty());
}

#[test]
fn echo_of_last_sync_yields_nothing() {
    let cfg = config();
    let ev = event(EventKind::Update, person());
    let first = write_plan(plan(&cfg, &BTreeMap::new(), &ev));
    let hashes = first.steps[0].link.clone().unwrap().hashes;
    let links = BTreeMap::from([(
        "Lead".to_string(),
        Link {
            salesforce_id: "00Q000000000001AAA".into(),
            hashes,
            ..Default::default()
        },
    )]);
    assert!(matches!(
        plan(&cfg, &links, &ev),
        OutboundDecision::NoChange { .. }
    ));
    // One changed field → one-field update.
    let mut ev2 = ev.clone();
    ev2.fields.insert("title".into(), json!("CEO"));
    let p = write_plan(plan(&cfg, &links, &ev2));
    assert_eq!(
        p.steps[0].op,
        WriteOp::Update {
            id: "00Q000000000001AAA".into()
        }
    );
    assert_eq!(
        p.steps[0].fields,
        FieldMap::from([("Title".into(), json!("CEO"))])
    );
}

#[test]
fn writing_over_a_value_the_feed_delivered_after_the_app_change_tells_it_back() {
    // app_wins: the app's Title (made at 07:57:32) is written whatever Salesforce did; a poll
    // delivered Salesforce's Title after the app made its change, so the app may hold that
    // one: the write's link update restates the app's value.
    let mut cfg = config();
    cfg.conflict_policy = crmsync_core::config::ConflictPolicy::AppWins;
    let ev = event(EventKind::Update, person());
    let first = write_plan(plan(&cfg, &BTreeMap::new(), &ev));
    let hashes = first.steps[0].link.clone().unwrap().hashes;
    let t = |s: &str| chrono::DateTime::parse_from_rfc3339(s).unwrap().to_utc();
    let with_fed = |fed_at: &str| {
        let mut link = Link {
            salesforce_id: "00Q000000000001AAA".into(),
            hashes: hashes.clone(),
            ..Default::default()
        };
        let change = crmsync_core::types::FieldChange {
            at: t("2026-11-21T07:50:00Z"),
            synced_at: t(fed_at),
        };
        link.times.salesforce.insert("Title".into(), change);
        BTreeMap::from([("Lead".to_string(), link)])
    };
    let mut ev2 = ev.clone();
    ev2.fields.insert("title".into(), json!("CEO"));
    let p = write_plan(plan(&cfg, &with_fed("2026-11-21T07:58:00Z"), &ev2));
    let update = p.steps[0].link.clone().unwrap();
    assert_eq!(
        update.restate,
        FieldMap::from([("title".into(), json!("CEO"))])
    );
    assert!(update.times.fed.contains_key("Title"));
    // Delivered before the app made its change: the app saw it and changed it; nothing back.
    let p = write_plan(plan(&cfg, &with_fed("2026-11-21T07:57:00Z"), &ev2));
    let update = p.steps[0].link.clone().unwrap();
    assert!(update.restate.is_empty(), "{:?}", update.restate);
}

#[test]
fn sync_rules_and_triggers_decide_what_goes_out() {
    let mut cfg = config();
    let lead = cfg.objects.get_mut("Lead").unwrap();
    for m in &mut lead.fields {
        match m.salesforce_field.as_str() {
            "Title" => m.rule = SyncRule::DontSync,
            "Email" => m.rule = SyncRule::AppOnly,
            _ => {}
        }
    }
    lead.fields
        .push(FieldMapping::two_way("budget", "Budget__c").with_triggers(&[EventKind::Sale]));
    let mut f = person();
    f["title"] = json!("CTO");
    f["lead_source"] = json!("Web");
    f["budget"] = json!("10k");
    let p = write_plan(plan(&cfg, &BTreeMap::new(), &event(EventKind::Create, f)));
    let fields = &p.steps[0].fields;
    assert!(fields.contains_key("Email"), "AppOnly goes out");
    assert!(!fields.contains_key("Title"), "DontSync stays");
    assert!(
        !fields.contains_key("LeadSource"),
        "SalesforceUnlessBlank never goes out"
    );
    assert!(
        !fields.contains_key("Budget__c"),
        "sale-only trigger does not fire on create"
    );
}

#[test]
fn unmapped_owner_is_reported_and_left_to_salesforce() {
    let mut f = person();
    f["owner_id"] = json!("user-99");
    let p = write_plan(plan(
        &config(),
        &BTreeMap::new(),
        &event(EventKind::Create, f),
    ));
    assert!(!p.steps[0].fields.contains_key("OwnerId"));
    assert_eq!(p.unmapped_owners, vec!["app user user-99".to_string()]);
}

#[test]
fn external_id_upserts_and_record_type_is_set_on_create() {
    let mut cfg = config();
    let lead = cfg.objects.get_mut("Lead").unwrap();
    lead.external_id_field = Some("App_Id__c".into());
    lead.record_type_id = Some("012000000000001AAA".into());
    let p = write_plan(plan(
        &cfg,
        &BTreeMap::new(),
        &event(EventKind::Create, person()),
    ));
    assert_eq!(
        p.steps[0].op,
        WriteOp::Upsert {
            external_id_field: "App_Id__c".into(),
            external_id: "lead-42".into()
        }
    );
    assert_eq!(
        p.steps[0].fields["RecordTypeId"],
        json!("012000000000001AAA")
    );
}

fn rejected_codes(d: OutboundDecision) -> Vec<(String, SfErrorCode)> {
    match d {
        OutboundDecision::Rejected { errors, .. } => {
            errors.into_iter().map(|e| (e.field, e.code)).collect()
        }
        other => panic!("expected rejection, got {other:#?}"),
    }
}

#[test]
fn preflight_rejects_long_text_and_missing_required() {
    let mut f = person();
    f["company_name"] = json!("x".repeat(300));
    f.as_object_mut().unwrap().remove("last_name");
    let codes = rejected_codes(plan(
        &config(),
        &BTreeMap::new(),
        &event(EventKind::Create, f),
    ));
    assert!(
        codes.contains(&("Company".into(), SfErrorCode::StringTooLong)),
        "{codes:?}"
    );
    assert!(
        codes.contains(&("LastName".into(), SfErrorCode::RequiredFieldMissing)),
        "{codes:?}"
    );
}

#[test]
fn preflight_rejects_amount_outside_org_range() {
    let mut cfg = config();
    cfg.objects
        .get_mut("Opportunity")
        .unwrap()
        .constraints
        .insert(
            "Amount".into(),
            FieldConstraint {
                min: Some(0.0),
                max: Some(10_000.0),
                max_length: None,
            },
        );
    let mut ev = sale_event();
    ev.fields.insert("amount".into(), json!(11_000));
    let codes = rejected_codes(plan(&cfg, &BTreeMap::new(), &ev));
    assert_eq!(
        codes,
        vec![(
            "Amount".to_string(),
            SfErrorCode::FieldCustomValidationException
        )]
    );
}

#[test]
fn preflight_rejects_restricted_picklist_and_pauses_unknown_fields() {
    let mut cfg = config();
    let lead = cfg.objects.get_mut("Lead").unwrap();
    lead.fields.push(FieldMapping::sellfire_phase("Phase__c"));
    lead.fields
        .push(FieldMapping::two_way("nickname", "Nickname__c"));
    let mut f = person();
    f["phase"] = json!("Sleeping");
    f["nickname"] = json!("Countess");
    let decision = plan(&cfg, &BTreeMap::new(), &event(EventKind::Create, f.clone()));
    let codes = rejected_codes(decision);
    assert!(codes.contains(&(
        "Phase__c".into(),
        SfErrorCode::InvalidOrNullForRestrictedPicklist
    )));
    // Schema drift: a mapped field the org lacks pauses that mapping, it is no rejection.
    assert!(
        !codes.iter().any(|(field, _)| field == "Nickname__c"),
        "{codes:?}"
    );
    f.as_object_mut().unwrap().remove("phase");
    match plan(&cfg, &BTreeMap::new(), &event(EventKind::Create, f)) {
        OutboundDecision::Write { plan: p } => {
            assert!(
                p.steps
                    .iter()
                    .all(|s| !s.fields.contains_key("Nickname__c")),
                "{p:#?}"
            );
            assert!(
                p.notes
                    .iter()
                    .any(|n| n.field == "nickname" && n.reason.contains("paused")),
                "{:?}",
                p.notes
            );
        }
        other => panic!("expected a write without the missing field, got {other:#?}"),
    }
}

#[test]
fn skipped_cases() {
    let mut ev = event(EventKind::Create, json!({}));
    ev.app_object = AppObject::User;
    assert!(matches!(
        plan(&config(), &BTreeMap::new(), &ev),
        OutboundDecision::Skipped { .. }
    ));
    let mut cfg = config();
    cfg.activity.enabled = false;
    ev.app_object = AppObject::Activity;
    assert!(matches!(
        plan(&cfg, &BTreeMap::new(), &ev),
        OutboundDecision::Skipped { .. }
    ));
}

#[test]
fn company_event_runs_account_cascade_and_deal_event_maps_stage() {
    let mut ev = event(
        EventKind::Create,
        json!({"company_name":"Acme","phone":"555","city":"Leeds"}),
    );
    ev.app_object = AppObject::Company;
    let p = write_plan(plan(&config(), &BTreeMap::new(), &ev));
    assert!(matches!(
        p.steps[0].op,
        WriteOp::MatchThenWrite {
            matcher: Matcher::Account { .. },
            create: true
        }
    ));

    let mut ev = event(
        EventKind::Create,
        json!({"name":"Deal","stage":"won","amount":"1,200","close_date":"2026-12-01"}),
    );
    ev.app_object = AppObject::Deal;
    let p = write_plan(plan(&config(), &BTreeMap::new(), &ev));
    assert_eq!(p.steps[0].fields["StageName"], json!("Closed Won"));
    assert_eq!(p.steps[0].fields["Amount"], json!(1200));
}

#[test]
fn writing_the_apps_owner_over_an_owner_the_feed_delivered_after_it_tells_it_back() {
    // most_recent: the app's owner (made at 07:57:32) is newer than Salesforce's
    // reassignment (07:50), which a poll delivered at 07:58, after the app's change: the
    // app may hold that owner, so the write restates the app's (sim `+owners`, seed 168).
    let mut cfg = config();
    cfg.owners.keep_owner_field = Some("has_future_events".into());
    let t = |s: &str| chrono::DateTime::parse_from_rfc3339(s).unwrap().to_utc();
    let mut link = Link {
        salesforce_id: "00Q000000000001AAA".into(),
        ..Default::default()
    };
    let change = crmsync_core::types::FieldChange {
        at: t("2026-11-21T07:50:00Z"),
        synced_at: t("2026-11-21T07:58:00Z"),
    };
    link.times.salesforce.insert("Owner.Email".into(), change);
    let links = BTreeMap::from([("Lead".to_string(), link)]);
    let owner = |keeps: bool| {
        event(
            EventKind::Update,
            json!({"owner_id": "user-7", "has_future_events": keeps}),
        )
    };
    let p = write_plan(plan(&cfg, &links, &owner(false)));
    assert_eq!(p.steps[0].fields["OwnerId"], json!("005000000000001AAA"));
    let update = p.steps[0].link.clone().unwrap();
    assert_eq!(
        update.restate,
        FieldMap::from([("owner_id".into(), json!("user-7"))])
    );
    assert!(update.times.fed.contains_key("Owner.Email"));
    // A contact that keeps its owner never hears Salesforce's: nothing to tell back.
    let p = write_plan(plan(&cfg, &links, &owner(true)));
    let update = p.steps[0].link.clone().unwrap();
    assert!(update.restate.is_empty(), "{:?}", update.restate);
    assert!(update.restatable.is_empty(), "{:?}", update.restatable);
}
