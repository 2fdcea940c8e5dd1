//! Shared fixtures: describe metadata like a Developer Edition org's, and records.
#![allow(dead_code)]

use std::collections::BTreeMap;

use crmsync_core::describe::{FieldDescribe, ObjectDescribe, PicklistValue};
use serde_json::{Value, json};

pub fn f(name: &str, ty: &str) -> FieldDescribe {
    FieldDescribe {
        name: name.into(),
        label: name.into(),
        field_type: ty.into(),
        length: if matches!(
            ty,
            "string" | "phone" | "email" | "url" | "picklist" | "textarea"
        ) {
            255
        } else {
            0
        },
        precision: if ty == "currency" { 18 } else { 0 },
        scale: if ty == "currency" { 2 } else { 0 },
        nillable: true,
        createable: true,
        updateable: true,
        ..Default::default()
    }
}

pub fn required(mut fd: FieldDescribe) -> FieldDescribe {
    fd.nillable = false;
    fd
}

pub fn picklist(name: &str, values: &[&str], restricted: bool) -> FieldDescribe {
    let mut fd = f(name, "picklist");
    fd.restricted_picklist = restricted;
    fd.picklist_values = values
        .iter()
        .map(|v| PicklistValue {
            value: v.to_string(),
            label: Some(v.to_string()),
            active: true,
            default_value: false,
        })
        .collect();
    fd
}

pub fn read_only(mut fd: FieldDescribe) -> FieldDescribe {
    fd.createable = false;
    fd.updateable = false;
    fd.nillable = false;
    fd
}

fn obj(name: &str, prefix: &str, mut fields: Vec<FieldDescribe>) -> ObjectDescribe {
    fields.insert(0, read_only(f("Id", "id")));
    fields.push(read_only(f("SystemModstamp", "datetime")));
    fields.push(read_only(f("LastModifiedDate", "datetime")));
    fields.push(f("OwnerId", "reference"));
    fields.push(f("RecordTypeId", "reference"));
    ObjectDescribe {
        name: name.into(),
        label: name.into(),
        key_prefix: Some(prefix.into()),
        fields,
        ..Default::default()
    }
}

pub fn describes() -> BTreeMap<String, ObjectDescribe> {
    let person = |extra: Vec<FieldDescribe>| {
        let mut v = vec![
            f("FirstName", "string"),
            required(f("LastName", "string")),
            f("Email", "email"),
            f("Phone", "phone"),
            f("Title", "string"),
            picklist("LeadSource", &["Web", "Phone Inquiry", "Other"], false),
            picklist(
                "Phase__c",
                &[
                    "ColdCallCold",
                    "ColdCallDM",
                    "HeldPhase",
                    "Resting",
                    "LongResting",
                    "Retired",
                    "Customer",
                ],
                true,
            ),
        ];
        v.extend(extra);
        v
    };
    let mut m = BTreeMap::new();
    let mut lead_status = picklist(
        "Status",
        &[
            "Open - Not Contacted",
            "Working - Contacted",
            "Closed - Converted",
        ],
        true,
    );
    lead_status.nillable = false;
    lead_status.defaulted_on_create = true;
    m.insert(
        "Lead".into(),
        obj(
            "Lead",
            "00Q",
            person(vec![
                required(f("Company", "string")),
                f("City", "string"),
                picklist("Industry", &["Technology", "Retail"], false),
                lead_status,
            ]),
        ),
    );
    m.insert(
        "Contact".into(),
        obj(
            "Contact",
            "003",
            person(vec![
                f("MailingCity", "string"),
                f("AccountId", "reference"),
            ]),
        ),
    );
    m.insert(
        "Account".into(),
        obj(
            "Account",
            "001",
            vec![
                required(f("Name", "string")),
                f("Phone", "phone"),
                f("BillingCity", "string"),
                picklist("Industry", &["Technology", "Retail"], false),
                f("Website", "url"),
                f("Tags__c", "multipicklist"),
            ],
        ),
    );
    let mut stage = picklist(
        "StageName",
        &[
            "Prospecting",
            "Qualification",
            "Needs Analysis",
            "Proposal/Price Quote",
            "Negotiation/Review",
            "Closed Won",
            "Closed Lost",
        ],
        true,
    );
    stage.nillable = false;
    m.insert(
        "Opportunity".into(),
        obj(
            "Opportunity",
            "006",
            vec![
                required(f("Name", "string")),
                stage,
                required(f("CloseDate", "date")),
                f("Amount", "currency"),
                f("AccountId", "reference"),
                f("ContactId", "reference"),
                picklist("LeadSource", &["Web", "Other"], false),
            ],
        ),
    );
    m.insert(
        "OpportunityLineItem".into(),
        obj(
            "OpportunityLineItem",
            "00k",
            vec![
                required(f("OpportunityId", "reference")),
                f("PricebookEntryId", "reference"),
                f("Product2Id", "reference"),
                required(f("Quantity", "double")),
                f("UnitPrice", "currency"),
                f("Description", "string"),
            ],
        ),
    );
    m.insert(
        "Task".into(),
        obj(
            "Task",
            "00T",
            vec![
                f("WhoId", "reference"),
                f("WhatId", "reference"),
                f("Subject", "string"),
                f("TaskSubtype", "picklist"),
                f("Type", "picklist"),
                f("Status", "picklist"),
                f("CallDurationInSeconds", "int"),
                f("CallDisposition", "string"),
                f("CallType", "picklist"),
                f("Description", "textarea"),
                f("CompletedDateTime", "datetime"),
                f("ActivityDate", "date"),
                f("Phone", "phone"),
                f("EventDateTime__c", "datetime"),
            ],
        ),
    );
    m
}

pub fn lead_record() -> Value {
    json!({
        "attributes": {"type": "Lead", "url": "/services/data/v62.0/sobjects/Lead/00Q000000000001AAA"},
        "Id": "00Q000000000001AAA",
        "SystemModstamp": "2026-11-21T07:57:32.000+0000",
        "LastModifiedDate": "2026-11-21T07:57:32.000+0000",
        "FirstName": "Ada",
        "LastName": "Lovelace",
        "Email": "ada@example.com",
        "Phone": "(555) 010-0100",
        "Title": "CTO",
        "Company": "Analytical Engines",
        "City": "London",
        "Industry": "Technology",
        "Status": "Working - Contacted",
        "LeadSource": "Web",
        "Owner": {"attributes": {"type": "User"}, "Email": "Rep@Example.com"}
    })
}

pub fn users() -> BTreeMap<String, String> {
    BTreeMap::from([(
        "rep@example.com".to_string(),
        "005000000000001AAA".to_string(),
    )])
}
