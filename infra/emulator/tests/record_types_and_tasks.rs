//! Record types (RecordType rows, RecordTypeId per org spec, describe's recordTypeInfos,
//! the default, refusals) and Task (call fields, derived IsClosed/CompletedDateTime,
//! polymorphic WhoId refusing another object's id).

mod common;

use common::*;
use serde_json::{Value, json};
use sf_emulator::{OrgSpec, RecordTypeSpec};

async fn setup(spec: OrgSpec) -> (sf_emulator::Emulator, Api) {
    let alias = spec.alias.clone();
    let emu = start_small(spec).await;
    let api = Api::new(&emu, token(&emu, &alias, &format!("admin@{alias}.example")));
    (emu, api)
}

fn typed() -> OrgSpec {
    OrgSpec::new("rt")
        .record_type(RecordTypeSpec::new("Lead", "Direct").as_default())
        .record_type(RecordTypeSpec::new("Lead", "Partner"))
        .record_type(RecordTypeSpec::new("Lead", "Retired").inactive())
        .record_type(RecordTypeSpec::new("Account", "Reseller"))
}

async fn rt_id(api: &Api, dev: &str) -> String {
    let (s, b) = api
        .query(&format!(
            "SELECT Id, Name, SobjectType, IsActive FROM RecordType WHERE DeveloperName = '{dev}'"
        ))
        .await;
    assert_eq!((s, b["totalSize"].clone()), (200, json!(1)), "{b}");
    b["records"][0]["Id"].as_str().unwrap().to_string()
}

fn error(b: &Value) -> (&str, &str, Value) {
    (
        error_code(b),
        b[0]["message"].as_str().unwrap_or(""),
        b[0]["fields"].clone(),
    )
}

#[tokio::test]
async fn record_types_are_queryable_described_defaulted_and_checked() {
    let (_emu, api) = setup(typed()).await;
    let direct = rt_id(&api, "Direct").await;
    let partner = rt_id(&api, "Partner").await;
    let retired = rt_id(&api, "Retired").await;
    let reseller = rt_id(&api, "Reseller").await;
    assert!(direct.starts_with("012") && direct.len() == 18, "{direct}");

    let (_, d) = api.get("sobjects/Lead/describe").await;
    let f = d["fields"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["name"] == "RecordTypeId")
        .expect("Lead has RecordTypeId");
    assert_eq!(f["referenceTo"], json!(["RecordType"]));
    assert_eq!(f["relationshipName"], json!("RecordType"));
    assert_eq!(
        (
            f["createable"].clone(),
            f["updateable"].clone(),
            f["nillable"].clone()
        ),
        (json!(true), json!(true), json!(true))
    );
    let infos = d["recordTypeInfos"].as_array().unwrap();
    let info = |id: &str| {
        infos
            .iter()
            .find(|i| i["recordTypeId"] == id)
            .unwrap()
            .clone()
    };
    assert_eq!(infos.len(), 4, "three record types and Master: {infos:#?}");
    assert_eq!(info(&direct)["defaultRecordTypeMapping"], json!(true));
    assert_eq!(info(&partner)["developerName"], json!("Partner"));
    assert_eq!(info(&retired)["active"], json!(false));
    let master = info("012000000000000AAA");
    assert_eq!(
        (master["master"].clone(), master["available"].clone()),
        (json!(true), json!(false))
    );
    for key in [
        "active",
        "available",
        "defaultRecordTypeMapping",
        "developerName",
        "master",
        "name",
        "recordTypeId",
        "urls",
    ] {
        assert!(info(&partner).get(key).is_some(), "{key}");
    }

    // Without one a record gets the default; a named active one sticks.
    let (s, b) = api
        .post("sobjects/Lead", json!({"LastName": "A", "Company": "C"}))
        .await;
    assert_eq!(s, 201, "{b}");
    let (_, a) = api
        .get(&format!("sobjects/Lead/{}", b["id"].as_str().unwrap()))
        .await;
    assert_eq!(a["RecordTypeId"], json!(direct));
    let (s, b) = api
        .post(
            "sobjects/Lead",
            json!({"LastName": "B", "Company": "C", "RecordTypeId": &partner[..15]}),
        )
        .await;
    assert_eq!(s, 201, "{b}");

    // Inactive, another object's, unknown and Master are refused the way Salesforce does.
    for bad in [
        retired,
        reseller,
        "012000000000099AAA".into(),
        "012000000000000AAA".into(),
    ] {
        let (s, b) = api
            .post(
                "sobjects/Lead",
                json!({"LastName": "X", "Company": "C", "RecordTypeId": bad}),
            )
            .await;
        assert_eq!(s, 400, "{b}");
        let (code, message, fields) = error(&b);
        assert_eq!(code, "INVALID_CROSS_REFERENCE_KEY", "{b}");
        assert_eq!(
            message,
            format!("Record Type ID: this ID value isn't valid for the user: {bad}")
        );
        assert_eq!(fields, json!(["RecordTypeId"]));
    }

    // RecordType itself is read-only through the data API.
    let (s, _) = api
        .post(
            "sobjects/RecordType",
            json!({"Name": "X", "DeveloperName": "X", "SobjectType": "Lead"}),
        )
        .await;
    assert_eq!(s, 400);
}

#[tokio::test]
async fn an_org_without_record_types_has_no_record_type_id() {
    let (_emu, api) = setup(OrgSpec::new("plain")).await;
    let (_, d) = api.get("sobjects/Lead/describe").await;
    assert!(
        d["fields"]
            .as_array()
            .unwrap()
            .iter()
            .all(|f| f["name"] != "RecordTypeId")
    );
    let infos = d["recordTypeInfos"].as_array().unwrap();
    assert_eq!(infos.len(), 1);
    assert_eq!(
        (
            infos[0]["master"].clone(),
            infos[0]["defaultRecordTypeMapping"].clone()
        ),
        (json!(true), json!(true))
    );
    let (s, b) = api.query("SELECT Id FROM RecordType").await;
    assert_eq!((s, b["totalSize"].clone()), (200, json!(0)), "{b}");
    let (s, b) = api
        .post(
            "sobjects/Lead",
            json!({"LastName": "X", "Company": "C", "RecordTypeId": "012000000000000AAA"}),
        )
        .await;
    assert_eq!((s, error_code(&b)), (400, "INVALID_FIELD"), "{b}");
}

#[tokio::test]
async fn a_completed_call_task_is_closed_and_stamped() {
    let (_emu, api) = setup(OrgSpec::new("tk")).await;
    let (_, c) = api
        .post("sobjects/Contact", json!({"LastName": "Who"}))
        .await;
    let contact = c["id"].as_str().unwrap().to_string();
    let (_, a) = api.post("sobjects/Account", json!({"Name": "What"})).await;
    let account = a["id"].as_str().unwrap().to_string();
    let (s, b) = api
        .post(
            "sobjects/Task",
            json!({"WhoId": contact, "WhatId": account, "Subject": "Call", "TaskSubtype": "Call",
                   "Status": "Completed", "CallDurationInSeconds": 61, "CallType": "Inbound",
                   "CallDisposition": "Left a message", "ActivityDate": "2026-11-21"}),
        )
        .await;
    assert_eq!(s, 201, "{b}");
    let task = b["id"].as_str().unwrap().to_string();
    assert!(task.starts_with("00T"));
    let (_, q) = api
        .query(&format!(
            "SELECT IsClosed, CompletedDateTime, Priority, Who.Name, What.Name FROM Task WHERE Id = '{task}'"
        ))
        .await;
    let t = &q["records"][0];
    assert_eq!(t["IsClosed"], json!(true), "{t}");
    assert!(t["CompletedDateTime"].is_string(), "{t}");
    assert_eq!(t["Priority"], json!("Normal"));
    assert_eq!(
        (t["Who"]["Name"].clone(), t["What"]["Name"].clone()),
        (json!("Who"), json!("What"))
    );
    // Salesforce derives AccountId: here the WhatId is the Account itself.
    let (_, q) = api
        .query(&format!("SELECT AccountId FROM Task WHERE Id = '{task}'"))
        .await;
    assert_eq!(q["records"][0]["AccountId"], json!(account), "{q}");

    // Reopening clears the stamp; TaskSubtype and CompletedDateTime are not updateable.
    let (s, b) = api
        .patch(
            &format!("sobjects/Task/{task}"),
            json!({"Status": "In Progress"}),
        )
        .await;
    assert_eq!(s, 204, "{b}");
    let (_, r) = api.get(&format!("sobjects/Task/{task}")).await;
    assert_eq!(
        (r["IsClosed"].clone(), r["CompletedDateTime"].clone()),
        (json!(false), Value::Null)
    );
    for field in [
        json!({"TaskSubtype": "Email"}),
        json!({"CompletedDateTime": "2026-11-21T00:00:00Z"}),
    ] {
        let (s, b) = api.patch(&format!("sobjects/Task/{task}"), field).await;
        assert_eq!(
            (s, error_code(&b)),
            (400, "INVALID_FIELD_FOR_INSERT_UPDATE"),
            "{b}"
        );
    }

    // A new task defaults to Not Started; bad picklist values are refused.
    let (s, b) = api.post("sobjects/Task", json!({"Subject": "Todo"})).await;
    assert_eq!(s, 201, "{b}");
    let (_, r) = api
        .get(&format!("sobjects/Task/{}", b["id"].as_str().unwrap()))
        .await;
    assert_eq!(
        (r["Status"].clone(), r["IsClosed"].clone()),
        (json!("Not Started"), json!(false))
    );
    let (s, b) = api
        .post(
            "sobjects/Task",
            json!({"Subject": "x", "CallType": "Sideways"}),
        )
        .await;
    assert_eq!(
        (s, error_code(&b)),
        (400, "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST"),
        "{b}"
    );
}

#[tokio::test]
async fn a_who_id_of_another_object_is_a_field_integrity_exception() {
    let (_emu, api) = setup(OrgSpec::new("who")).await;
    let (_, a) = api
        .post("sobjects/Account", json!({"Name": "Not a person"}))
        .await;
    let account = a["id"].as_str().unwrap().to_string();
    let (s, b) = api
        .post("sobjects/Task", json!({"Subject": "x", "WhoId": account}))
        .await;
    assert_eq!(s, 400, "{b}");
    let (code, message, fields) = error(&b);
    assert_eq!(code, "FIELD_INTEGRITY_EXCEPTION");
    assert_eq!(
        message,
        format!("Name ID: id value of incorrect type: {account}")
    );
    assert_eq!(fields, json!(["WhoId"]));
    // The right object type that does not exist stays a cross-reference error.
    let (s, b) = api
        .post(
            "sobjects/Task",
            json!({"Subject": "x", "WhoId": "003000000000000AAA"}),
        )
        .await;
    assert_eq!(
        (s, error_code(&b)),
        (400, "INVALID_CROSS_REFERENCE_KEY"),
        "{b}"
    );
}

#[tokio::test]
async fn a_task_about_a_lead_cannot_be_related_to_a_record() {
    let (_emu, api) = setup(OrgSpec::new("lwhat")).await;
    let (_, l) = api
        .post(
            "sobjects/Lead",
            json!({"LastName": "Prospect", "Company": "Prospects Ltd"}),
        )
        .await;
    let lead = l["id"].as_str().unwrap().to_string();
    let (_, a) = api
        .post("sobjects/Account", json!({"Name": "Related Inc"}))
        .await;
    let account = a["id"].as_str().unwrap().to_string();
    let (s, b) = api
        .post(
            "sobjects/Task",
            json!({"Subject": "Call", "WhoId": lead, "WhatId": account, "Status": "Completed"}),
        )
        .await;
    assert_eq!(s, 400, "{b}");
    let (code, _, fields) = error(&b);
    assert_eq!(code, "FIELD_INTEGRITY_EXCEPTION");
    assert_eq!(fields, json!(["WhoId", "WhatId"]));
    assert_eq!(
        api.query("SELECT Id FROM Task").await.1["totalSize"],
        json!(0)
    );

    // The Lead alone is fine; so is adding a WhatId once the Who is not a Lead.
    let (s, b) = api
        .post("sobjects/Task", json!({"Subject": "Call", "WhoId": lead}))
        .await;
    assert_eq!(s, 201, "{b}");
    let task = b["id"].as_str().unwrap().to_string();
    let (s, b) = api
        .patch(&format!("sobjects/Task/{task}"), json!({"WhatId": account}))
        .await;
    assert_eq!(
        (s, error_code(&b)),
        (400, "FIELD_INTEGRITY_EXCEPTION"),
        "an update is held to the rule too: {b}"
    );
    let (s, b) = api
        .patch(
            &format!("sobjects/Task/{task}"),
            json!({"WhoId": null, "WhatId": account}),
        )
        .await;
    assert_eq!(s, 204, "{b}");
}
