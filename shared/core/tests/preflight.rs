//! Pre-flight checks, mapping status and picklist inspection against describe metadata.

mod common;

use std::collections::BTreeMap;

use crmsync_core::config::{FieldMapping, SyncConfig};
use crmsync_core::preflight::{
    SfErrorCode, Status, WriteKind, check_write, inspect_picklist, mapping_status,
};
use crmsync_core::transform::{FieldKind, ValueMap};
use crmsync_core::types::FieldMap;
use serde_json::{Value, json};

fn codes(object: &str, kind: WriteKind, fields: Value) -> Vec<(String, SfErrorCode)> {
    let d = &common::describes()[object];
    let fields: FieldMap = serde_json::from_value(fields).unwrap();
    check_write(d, kind, &fields, &[], &BTreeMap::new())
        .into_iter()
        .map(|e| (e.field, e.code))
        .collect()
}

#[test]
fn valid_lead_create_passes() {
    assert!(
        codes(
            "Lead",
            WriteKind::Create,
            json!({"LastName":"L","Company":"C","Status":"Open - Not Contacted"})
        )
        .is_empty()
    );
}

#[test]
fn each_error_code() {
    let c = codes(
        "Lead",
        WriteKind::Create,
        json!({"Company":"x".repeat(256),"Status":"Nope","Id":"00Q000000000001AAA","Bogus__c":1,"Email":{"a":1}}),
    );
    assert_eq!(
        c,
        vec![
            ("Bogus__c".into(), SfErrorCode::InvalidField),
            ("Company".into(), SfErrorCode::StringTooLong),
            ("Email".into(), SfErrorCode::InvalidTypeOnFieldInRecord),
            ("Id".into(), SfErrorCode::InvalidFieldForInsertUpdate),
            (
                "Status".into(),
                SfErrorCode::InvalidOrNullForRestrictedPicklist
            ),
            ("LastName".into(), SfErrorCode::RequiredFieldMissing),
        ]
    );
    // Exactly 255 characters is fine; update does not need required fields.
    assert!(
        codes(
            "Lead",
            WriteKind::Update,
            json!({"Company":"x".repeat(255)})
        )
        .is_empty()
    );
    // Clearing a required field on update.
    assert_eq!(
        codes("Lead", WriteKind::Update, json!({"LastName":null})),
        vec![("LastName".into(), SfErrorCode::RequiredFieldMissing)]
    );
}

#[test]
fn type_checks() {
    let bad = codes(
        "Opportunity",
        WriteKind::Update,
        json!({"CloseDate":"12/01/2026","Amount":"lots","AccountId":"nope"}),
    );
    assert_eq!(bad.len(), 3, "{bad:?}");
    assert!(
        bad.iter()
            .all(|(_, c)| *c == SfErrorCode::InvalidTypeOnFieldInRecord)
    );
    let ok = codes(
        "Opportunity",
        WriteKind::Update,
        json!({"CloseDate":"2026-12-01","Amount":"12.5","AccountId":"001000000000001AAA"}),
    );
    assert!(ok.is_empty(), "{ok:?}");
    // currency(18,2) allows 16 integer digits.
    assert_eq!(
        codes("Opportunity", WriteKind::Update, json!({"Amount":1e17})),
        vec![("Amount".into(), SfErrorCode::NumberOutsideValidRange)]
    );
}

#[test]
fn references_count_as_present_for_required_check() {
    let d = &common::describes()["OpportunityLineItem"];
    let fields: FieldMap = serde_json::from_value(json!({"Quantity":1,"UnitPrice":2})).unwrap();
    assert_eq!(
        check_write(d, WriteKind::Create, &fields, &[], &BTreeMap::new()).len(),
        1
    );
    assert!(
        check_write(
            d,
            WriteKind::Create,
            &fields,
            &["OpportunityId"],
            &BTreeMap::new()
        )
        .is_empty()
    );
}

#[test]
fn standard_mappings_are_ok_against_a_standard_org() {
    let status = mapping_status(&SyncConfig::standard(), &common::describes());
    let issues: Vec<_> = status
        .iter()
        .filter(|s| s.status == Status::Issue && s.object != "User")
        .collect();
    assert!(issues.is_empty(), "{issues:#?}");
    // User is not described in the fixtures.
    assert!(
        status
            .iter()
            .any(|s| s.object == "User"
                && s.problems == vec!["object not described yet".to_string()])
    );
}

#[test]
fn type_mismatch_and_missing_fields_are_issues() {
    let mut cfg = SyncConfig::standard();
    let acct = cfg.objects.get_mut("Account").unwrap();
    acct.fields.push(FieldMapping::new(
        "employee_count",
        "Tags__c",
        Default::default(),
        FieldKind::Number,
    ));
    acct.fields.push(FieldMapping::two_way("ghost", "Ghost__c"));
    let status = mapping_status(&cfg, &common::describes());
    let tags = status
        .iter()
        .find(|s| s.salesforce_field == "Tags__c")
        .unwrap();
    assert_eq!(tags.status, Status::Issue);
    assert!(
        tags.problems[0].contains("type mismatch"),
        "{:?}",
        tags.problems
    );
    let ghost = status
        .iter()
        .find(|s| s.salesforce_field == "Ghost__c")
        .unwrap();
    assert_eq!(ghost.status, Status::Issue);
}

#[test]
fn picklist_inspection_shows_both_sides() {
    let cfg = SyncConfig::standard();
    let d = common::describes();
    let mut m = FieldMapping::new(
        "industry",
        "Industry",
        Default::default(),
        FieldKind::Picklist,
    );
    let app = vec!["Technology".to_string(), "Farming".to_string()];
    let i = inspect_picklist(&cfg, &m, d["Account"].field("Industry").unwrap(), &app);
    assert!(!i.matches);
    assert_eq!(i.missing_in_salesforce, vec!["Farming".to_string()]);
    assert_eq!(i.missing_in_app, vec!["Retail".to_string()]);
    // A value map that lines them up.
    m.values = Some(ValueMap::both_ways([("Farming", "Retail")]));
    let i = inspect_picklist(&cfg, &m, d["Account"].field("Industry").unwrap(), &app);
    assert!(i.matches, "{i:?}");
    // Stage map.
    let stage = cfg.objects["Opportunity"]
        .mapping_for_sf("StageName")
        .unwrap();
    let app: Vec<String> = [
        "qualification",
        "needs_analysis",
        "proposal",
        "negotiation",
        "won",
        "lost",
        "Prospecting",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let i = inspect_picklist(
        &cfg,
        stage,
        d["Opportunity"].field("StageName").unwrap(),
        &app,
    );
    assert!(i.matches, "{i:?}");
}
