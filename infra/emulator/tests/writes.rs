//! Writes over HTTP: single records, upsert, validation errors, collections, composite.

mod common;

use common::*;
use serde_json::{Value, json};
use sf_emulator::spec::{DuplicateRule, ValidationRule};
use sf_emulator::{
    OrgSpec,
    schema::{FieldDef, FieldType},
};

fn spec() -> OrgSpec {
    let mut ext = FieldDef::new("Ext_Id__c", FieldType::String);
    ext.length = Some(20);
    ext.external_id = true;
    ext.unique = true;
    OrgSpec::new("w")
        .product(sf_emulator::ProductSpec::new("Thing", "T-1", 10.0))
        .custom_field("Contact", ext)
        .validation_rule(ValidationRule {
            object: "Opportunity".into(),
            name: "Amount_Range".into(),
            field: "Amount".into(),
            min: Some(0.0),
            max: Some(10_000.0),
            message: "Amount must be between 0 and 10,000".into(),
        })
        .duplicate_rule(DuplicateRule {
            object: "Lead".into(),
            name: "Lead_Email".into(),
            fields: vec!["Email".into()],
        })
}

async fn setup() -> (sf_emulator::Emulator, Api) {
    let emu = start_small(spec()).await;
    let api = Api::new(&emu, token(&emu, "w", "admin@w.example"));
    (emu, api)
}

#[tokio::test]
async fn create_read_update_delete() {
    let (emu, api) = setup().await;
    let (s, b) = api
        .post(
            "sobjects/Contact",
            json!({"FirstName": "Ada", "LastName": "Lovelace", "Email": "ada@example.com"}),
        )
        .await;
    assert_eq!(s, 201, "{b}");
    assert_eq!(b["success"], true);
    assert_eq!(b["errors"], json!([]));
    let id = b["id"].as_str().expect("id").to_string();
    assert!(id.starts_with("003") && id.len() == 18);

    let (s, rec) = api.get(&format!("sobjects/Contact/{id}")).await;
    assert_eq!(s, 200);
    assert_eq!(rec["Name"], "Ada Lovelace");
    let owner = emu.admin().user_id("w", "admin@w.example").expect("user");
    assert_eq!(rec["OwnerId"], owner);
    assert_eq!(rec["CreatedById"], owner);
    let created = rec["SystemModstamp"].as_str().unwrap_or("").to_string();
    let (_, some) = api
        .get(&format!("sobjects/Contact/{id}?fields=Email,LastName"))
        .await;
    assert_eq!(some["Email"], "ada@example.com");
    assert!(some.get("FirstName").is_none());

    emu.admin().advance_clock(std::time::Duration::from_secs(5));
    let (s, b) = api
        .patch(
            &format!("sobjects/Contact/{id}"),
            json!({"Title": "Countess"}),
        )
        .await;
    assert_eq!((s, &b), (204, &Value::Null));
    let (_, rec) = api.get(&format!("sobjects/Contact/{id}")).await;
    assert_eq!(rec["Title"], "Countess");
    assert!(rec["SystemModstamp"].as_str().unwrap_or("") > created.as_str());
    assert_eq!(rec["LastModifiedDate"], rec["SystemModstamp"]);

    // 15-char Ids are accepted
    let (s, _) = api.get(&format!("sobjects/Contact/{}", &id[..15])).await;
    assert_eq!(s, 200);

    assert_eq!(api.delete(&format!("sobjects/Contact/{id}")).await.0, 204);
    let (s, b) = api
        .patch(&format!("sobjects/Contact/{id}"), json!({"Title": "x"}))
        .await;
    assert_eq!((s, error_code(&b)), (404, "ENTITY_IS_DELETED"));
    let (s, b) = api.delete(&format!("sobjects/Contact/{id}")).await;
    assert_eq!((s, error_code(&b)), (404, "ENTITY_IS_DELETED"));
    let (s, b) = api
        .patch("sobjects/Contact/003notanid", json!({"Title": "x"}))
        .await;
    assert_eq!((s, error_code(&b)), (400, "MALFORMED_ID"));
    let (s, b) = api.get("sobjects/Widget__c/describe").await;
    assert_eq!((s, error_code(&b)), (404, "NOT_FOUND"));
    let (s, b, _) = api
        .send(reqwest::Method::PUT, "sobjects/Account", Some(json!({})))
        .await;
    assert_eq!((s, error_code(&b)), (405, "METHOD_NOT_ALLOWED"));
    let (s, b) = api.get("nothing/here").await;
    assert_eq!((s, error_code(&b)), (404, "NOT_FOUND"));
}

#[tokio::test]
async fn validation_errors() {
    let (_emu, api) = setup().await;
    let cases: Vec<(&str, Value, &str, Option<&str>)> = vec![
        (
            "sobjects/Contact",
            json!({"FirstName": "x"}),
            "REQUIRED_FIELD_MISSING",
            Some("LastName"),
        ),
        (
            "sobjects/Lead",
            json!({"LastName": "x"}),
            "REQUIRED_FIELD_MISSING",
            Some("Company"),
        ),
        (
            "sobjects/Opportunity",
            json!({"Name": "x"}),
            "REQUIRED_FIELD_MISSING",
            Some("StageName"),
        ),
        (
            "sobjects/Account",
            json!({"Name": "x".repeat(256)}),
            "STRING_TOO_LONG",
            Some("Name"),
        ),
        (
            "sobjects/Opportunity",
            json!({"Name": "o", "StageName": "Dreaming", "CloseDate": "2026-01-01"}),
            "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
            Some("StageName"),
        ),
        (
            "sobjects/Opportunity",
            json!({"Name": "o", "StageName": "Prospecting", "CloseDate": "2026-01-01", "Amount": 10001}),
            "FIELD_CUSTOM_VALIDATION_EXCEPTION",
            Some("Amount"),
        ),
        (
            "sobjects/Contact",
            json!({"LastName": "x", "Bogus__c": 1}),
            "INVALID_FIELD",
            Some("Bogus__c"),
        ),
        (
            "sobjects/Contact",
            json!({"LastName": "x", "AccountId": "001bad"}),
            "MALFORMED_ID",
            Some("AccountId"),
        ),
        (
            "sobjects/Contact",
            json!({"LastName": "x", "Email": "not-an-email"}),
            "INVALID_EMAIL_ADDRESS",
            Some("Email"),
        ),
        (
            "sobjects/Contact",
            json!({"LastName": "x", "CreatedDate": "2020-01-01T00:00:00Z"}),
            "INVALID_FIELD_FOR_INSERT_UPDATE",
            Some("CreatedDate"),
        ),
    ];
    for (path, body, code, field) in cases {
        let (s, b) = api.post(path, body.clone()).await;
        assert_eq!(s, 400, "{path} {body}: {b}");
        assert_eq!(error_code(&b), code, "{path} {body}: {b}");
        if let Some(f) = field {
            assert_eq!(b[0]["fields"][0], f, "{b}");
        }
    }
    // unique external id and duplicate rules
    assert_eq!(
        api.post(
            "sobjects/Contact",
            json!({"LastName": "a", "Ext_Id__c": "E1"})
        )
        .await
        .0,
        201
    );
    let (s, b) = api
        .post(
            "sobjects/Contact",
            json!({"LastName": "b", "Ext_Id__c": "e1"}),
        )
        .await;
    assert_eq!((s, error_code(&b)), (400, "DUPLICATE_VALUE"));
    assert_eq!(
        api.post(
            "sobjects/Lead",
            json!({"LastName": "a", "Company": "c", "Email": "l@x.example"})
        )
        .await
        .0,
        201
    );
    let (s, b) = api
        .post(
            "sobjects/Lead",
            json!({"LastName": "b", "Company": "c", "Email": "L@X.example"}),
        )
        .await;
    assert_eq!((s, error_code(&b)), (400, "DUPLICATES_DETECTED"));
    // an update may not blank a required field
    let (_, b) = api.post("sobjects/Account", json!({"Name": "keep"})).await;
    let id = b["id"].as_str().unwrap_or("");
    let (s, b) = api
        .patch(&format!("sobjects/Account/{id}"), json!({"Name": null}))
        .await;
    assert_eq!((s, error_code(&b)), (400, "REQUIRED_FIELD_MISSING"));
}

#[tokio::test]
async fn upsert_by_external_id_and_id_lookup() {
    let (emu, api) = setup().await;
    let (s, b) = api
        .patch("sobjects/Contact/Ext_Id__c/X-1", json!({"LastName": "One"}))
        .await;
    assert_eq!(s, 201, "{b}");
    assert_eq!(b["created"], true);
    let id = b["id"].as_str().unwrap_or("").to_string();
    let (s, b) = api
        .patch("sobjects/Contact/Ext_Id__c/X-1", json!({"LastName": "Uno"}))
        .await;
    assert_eq!((s, b["created"].as_bool()), (200, Some(false)));
    assert_eq!(b["id"], id);
    // idLookup (Email) with two matches → 300 with both URLs
    for n in ["a", "b"] {
        emu.admin()
            .insert_record(
                "w",
                "Contact",
                json!({"LastName": n, "Email": "same@x.example"})
                    .as_object()
                    .cloned()
                    .unwrap_or_default(),
            )
            .expect("insert");
    }
    let (s, b) = api
        .patch(
            "sobjects/Contact/Email/same@x.example",
            json!({"Title": "t"}),
        )
        .await;
    assert_eq!(s, 300, "{b}");
    assert_eq!(b.as_array().map(Vec::len), Some(2));
    assert!(
        b[0].as_str()
            .unwrap_or("")
            .starts_with("/services/data/v62.0/sobjects/Contact/003")
    );
    // a non-external field cannot be an upsert key
    let (s, b) = api
        .patch("sobjects/Contact/LastName/Uno", json!({"Title": "t"}))
        .await;
    assert_eq!((s, error_code(&b)), (400, "INVALID_FIELD"));
}

#[tokio::test]
async fn collections_with_and_without_all_or_none() {
    let (emu, api) = setup().await;
    let (s, b) = api
        .post(
            "composite/sobjects",
            json!({"allOrNone": false, "records": [
                {"attributes": {"type": "Contact"}, "LastName": "Ok"},
                {"attributes": {"type": "Contact"}, "FirstName": "NoLast"},
                {"attributes": {"type": "Account"}, "Name": "Acc"}
            ]}),
        )
        .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b[0]["success"], true);
    assert_eq!(b[1]["success"], false);
    assert_eq!(b[1]["errors"][0]["statusCode"], "REQUIRED_FIELD_MISSING");
    assert!(b[1]["errors"][0].get("errorCode").is_none());
    assert_eq!(b[2]["success"], true);
    let ok_id = b[0]["id"].as_str().unwrap_or("").to_string();

    let before = emu.admin().record_count("w", "Contact").expect("count");
    let (_, b) = api
        .post(
            "composite/sobjects",
            json!({"allOrNone": true, "records": [
                {"attributes": {"type": "Contact"}, "LastName": "Rolled"},
                {"attributes": {"type": "Contact"}, "LastName": "x".repeat(81)}
            ]}),
        )
        .await;
    assert_eq!(
        b[0]["errors"][0]["statusCode"],
        "ALL_OR_NONE_OPERATION_ROLLED_BACK"
    );
    assert_eq!(b[1]["errors"][0]["statusCode"], "STRING_TOO_LONG");
    assert_eq!(
        emu.admin().record_count("w", "Contact").expect("count"),
        before
    );

    let (s, b) = api
        .patch(
            "composite/sobjects",
            json!({"records": [
                {"attributes": {"type": "Contact"}, "Id": ok_id, "Title": "T"},
                {"attributes": {"type": "Contact"}, "Id": "003000000000000AAA", "Title": "T"}
            ]}),
        )
        .await;
    assert_eq!(s, 200);
    assert_eq!(b[0]["success"], true);
    assert_eq!(b[1]["success"], false);

    let (s, b) = api
        .patch(
            "composite/sobjects/Contact/Ext_Id__c",
            json!({"records": [
                {"attributes": {"type": "Contact"}, "Ext_Id__c": "C-1", "LastName": "New"},
                {"attributes": {"type": "Contact"}, "Ext_Id__c": "C-1", "LastName": "Again"}
            ]}),
        )
        .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b[0]["created"], true);
    assert_eq!(b[1]["created"], false);

    let (s, b) = api
        .delete(&format!(
            "composite/sobjects?ids={ok_id},001000000000000AAA&allOrNone=false"
        ))
        .await;
    assert_eq!(s, 200);
    assert_eq!(b[0]["success"], true);
    assert_eq!(b[1]["success"], false);

    let many: Vec<Value> = (0..201)
        .map(|i| json!({"attributes": {"type": "Contact"}, "LastName": format!("n{i}")}))
        .collect();
    let (s, b) = api
        .post("composite/sobjects", json!({"records": many}))
        .await;
    assert_eq!((s, error_code(&b)), (400, "EXCEEDED_ID_LIMIT"));
}

#[tokio::test]
async fn composite_references_rollback_and_one_call() {
    let (emu, api) = setup().await;
    emu.admin().reset_counters("w").expect("reset");
    let (s, b) = api
        .post(
            "composite",
            json!({"allOrNone": false, "compositeRequest": [
                {"method": "POST", "url": "/services/data/v62.0/sobjects/Account", "referenceId": "acct", "body": {"Name": "Parent"}},
                {"method": "POST", "url": "/services/data/v62.0/sobjects/Contact", "referenceId": "c", "body": {"LastName": "Kid", "AccountId": "@{acct.id}"}},
                {"method": "GET", "url": "/services/data/v62.0/query?q=SELECT+Account.Name+FROM+Contact+WHERE+Id='@{c.id}'", "referenceId": "q"}
            ]}),
        )
        .await;
    assert_eq!(s, 200, "{b}");
    let r = &b["compositeResponse"];
    assert_eq!(r[0]["httpStatusCode"], 201);
    assert_eq!(r[1]["httpStatusCode"], 201);
    assert_eq!(r[2]["body"]["records"][0]["Account"]["Name"], "Parent");
    let usage = emu.admin().api_usage("w").expect("usage");
    assert_eq!(usage.used, 1, "composite counts as one call: {usage:?}");

    let accounts = emu.admin().record_count("w", "Account").expect("n");
    let (_, b) = api
        .post(
            "composite",
            json!({"allOrNone": true, "compositeRequest": [
                {"method": "POST", "url": "/services/data/v62.0/sobjects/Account", "referenceId": "a", "body": {"Name": "Gone"}},
                {"method": "POST", "url": "/services/data/v62.0/sobjects/Contact", "referenceId": "b", "body": {"FirstName": "NoLast"}}
            ]}),
        )
        .await;
    let r = &b["compositeResponse"];
    assert_eq!(r[0]["httpStatusCode"], 400);
    assert_eq!(r[0]["body"][0]["errorCode"], "PROCESSING_HALTED");
    assert_eq!(r[1]["body"][0]["errorCode"], "REQUIRED_FIELD_MISSING");
    assert_eq!(
        emu.admin().record_count("w", "Account").expect("n"),
        accounts
    );

    let queries: Vec<Value> = (0..6).map(|i| json!({"method": "GET", "url": "/services/data/v62.0/query?q=SELECT+Id+FROM+Account", "referenceId": format!("q{i}")})).collect();
    let (s, b) = api
        .post("composite", json!({"compositeRequest": queries}))
        .await;
    assert_eq!((s, error_code(&b)), (400, "INVALID_BATCH_REQUEST"));
    let subs: Vec<Value> = (0..26).map(|i| json!({"method": "GET", "url": "/services/data/v62.0/limits", "referenceId": format!("r{i}")})).collect();
    let (s, _) = api
        .post("composite", json!({"compositeRequest": subs}))
        .await;
    assert_eq!(s, 400);
}

#[tokio::test]
async fn describe_metadata() {
    let (_emu, api) = setup().await;
    let (s, d) = api.get("sobjects/Contact/describe").await;
    assert_eq!(s, 200);
    let field = |n: &str| {
        d["fields"]
            .as_array()
            .and_then(|a| a.iter().find(|f| f["name"] == n))
            .cloned()
            .unwrap_or(Value::Null)
    };
    assert_eq!(field("Email")["idLookup"], true);
    assert_eq!(field("LastName")["nillable"], false);
    assert_eq!(field("LastName")["length"], 80);
    assert_eq!(field("AccountId")["relationshipName"], "Account");
    assert_eq!(field("AccountId")["referenceTo"], json!(["Account"]));
    assert_eq!(field("OwnerId")["relationshipName"], "Owner");
    assert_eq!(field("OwnerId")["defaultedOnCreate"], true);
    assert_eq!(field("Ext_Id__c")["externalId"], true);
    assert_eq!(field("Ext_Id__c")["custom"], true);
    assert_eq!(
        d["urls"]["describe"],
        "/services/data/v62.0/sobjects/Contact/describe"
    );
    let (_, o) = api.get("sobjects/Opportunity/describe").await;
    let stage = o["fields"]
        .as_array()
        .and_then(|a| a.iter().find(|f| f["name"] == "StageName"))
        .cloned()
        .unwrap_or(Value::Null);
    assert_eq!(stage["restrictedPicklist"], true);
    assert!(
        stage["picklistValues"]
            .as_array()
            .is_some_and(|p| p.iter().any(|v| v["value"] == "Closed Won"))
    );
    let (_, g) = api.get("sobjects/").await;
    let prefixes: Vec<(String, String)> = g["sobjects"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|o| {
            (
                o["name"].as_str().unwrap_or("").to_string(),
                o["keyPrefix"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect();
    for (n, p) in [
        ("Account", "001"),
        ("Contact", "003"),
        ("Lead", "00Q"),
        ("Opportunity", "006"),
        ("OpportunityLineItem", "00k"),
        ("User", "005"),
        ("Task", "00T"),
        ("Organization", "00D"),
    ] {
        assert!(
            prefixes.contains(&(n.to_string(), p.to_string())),
            "{n} {p}"
        );
    }
}

#[tokio::test]
async fn deleting_an_account_cascades_to_contacts_and_opportunities() {
    let (emu, api) = setup().await;
    let (_, a) = api
        .post("sobjects/Account", json!({"Name": "Parent"}))
        .await;
    let acct = a["id"].as_str().unwrap_or("").to_string();
    let (_, c) = api
        .post(
            "sobjects/Contact",
            json!({"LastName": "Kid", "AccountId": acct}),
        )
        .await;
    let (_, o) = api
        .post("sobjects/Opportunity", json!({"Name": "Deal", "StageName": "Prospecting", "CloseDate": "2026-12-01", "AccountId": acct}))
        .await;
    let (_, entries) = api.query("SELECT Id FROM PricebookEntry").await;
    let (_, l) = api
        .post(
            "sobjects/OpportunityLineItem",
            json!({"OpportunityId": o["id"], "Quantity": 2, "UnitPrice": 10,
                   "PricebookEntryId": entries["records"][0]["Id"]}),
        )
        .await;
    assert!(l["id"].is_string(), "{l}");
    let (_, other) = api
        .post("sobjects/Contact", json!({"LastName": "Unrelated"}))
        .await;
    assert_eq!(api.delete(&format!("sobjects/Account/{acct}")).await.0, 204);
    for (t, id) in [
        ("Contact", &c["id"]),
        ("Opportunity", &o["id"]),
        ("OpportunityLineItem", &l["id"]),
    ] {
        let rec = emu
            .admin()
            .get_record("w", t, id.as_str().unwrap_or(""))
            .expect("get")
            .expect("kept in the recycle bin");
        assert_eq!(rec["IsDeleted"], true, "{t}");
    }
    let (s, _) = api
        .get(&format!(
            "sobjects/Contact/{}",
            other["id"].as_str().unwrap_or("")
        ))
        .await;
    assert_eq!(s, 200);
}

#[tokio::test]
async fn inactive_users_cannot_own_records_or_log_in() {
    let (emu, api) = setup().await;
    let admin = emu.admin();
    let rep = admin
        .add_user(
            "w",
            sf_emulator::UserSpec::new("rep@w.example", "pw").named("Rep", "One"),
        )
        .expect("user");
    let (s, b) = api
        .post(
            "sobjects/Contact",
            json!({"LastName": "Owned", "OwnerId": rep}),
        )
        .await;
    assert_eq!(s, 201, "{b}");
    let contact = b["id"].as_str().unwrap_or("").to_string();
    assert!(password_token(&emu, "w", "rep@w.example", "pw").await["access_token"].is_string());

    admin
        .update_record(
            "w",
            "User",
            &rep,
            json!({"IsActive": false})
                .as_object()
                .cloned()
                .unwrap_or_default(),
        )
        .expect("deactivate");
    let (s, b) = api
        .post(
            "sobjects/Contact",
            json!({"LastName": "New", "OwnerId": rep}),
        )
        .await;
    assert_eq!((s, error_code(&b)), (400, "INACTIVE_OWNER_OR_USER"));
    // a record already owned by the user stays editable
    let (s, _) = api
        .patch(
            &format!("sobjects/Contact/{contact}"),
            json!({"Title": "Still fine"}),
        )
        .await;
    assert_eq!(s, 204);
    let resp = client()
        .post(format!("{}/services/oauth2/token", emu.login_url("w")))
        .form(&[
            ("grant_type", "password"),
            ("client_id", sf_emulator::demo::CLIENT_ID),
            ("client_secret", sf_emulator::demo::CLIENT_SECRET),
            ("username", "rep@w.example"),
            ("password", "pw"),
        ])
        .send()
        .await
        .expect("token");
    assert_eq!(resp.status(), 400);
}

#[tokio::test]
async fn converted_leads_and_picklist_defaults() {
    let (emu, api) = setup().await;
    let (s, b) = api
        .post("sobjects/Lead", json!({"LastName": "L", "Company": "C"}))
        .await;
    assert_eq!(s, 201);
    let id = b["id"].as_str().unwrap_or("").to_string();
    let (_, lead) = api.get(&format!("sobjects/Lead/{id}")).await;
    assert_eq!(lead["Status"], "Open - Not Contacted");
    assert_eq!(lead["IsConverted"], false);
    let (s, b) = api.post("sobjects/Task", json!({"Subject": "Call"})).await;
    assert_eq!(s, 201, "{b}");
    let (_, task) = api
        .get(&format!("sobjects/Task/{}", b["id"].as_str().unwrap_or("")))
        .await;
    assert_eq!(
        (task["Status"].as_str(), task["Priority"].as_str()),
        (Some("Not Started"), Some("Normal"))
    );
    // the API cannot convert; an admin can, and then the lead is frozen
    let (s, b) = api
        .patch(&format!("sobjects/Lead/{id}"), json!({"IsConverted": true}))
        .await;
    assert_eq!(
        (s, error_code(&b)),
        (400, "INVALID_FIELD_FOR_INSERT_UPDATE")
    );
    emu.admin()
        .update_record(
            "w",
            "Lead",
            &id,
            json!({"IsConverted": true})
                .as_object()
                .cloned()
                .unwrap_or_default(),
        )
        .expect("convert");
    let (s, b) = api
        .patch(&format!("sobjects/Lead/{id}"), json!({"Title": "x"}))
        .await;
    assert_eq!((s, error_code(&b)), (400, "CANNOT_UPDATE_CONVERTED_LEAD"));
    let (_, d) = api.get("sobjects/Lead/describe").await;
    let status = d["fields"]
        .as_array()
        .and_then(|a| a.iter().find(|f| f["name"] == "Status"))
        .cloned()
        .unwrap_or(Value::Null);
    let default: Vec<&Value> = status["picklistValues"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|p| p["defaultValue"] == true)
        .map(|p| &p["value"])
        .collect();
    assert_eq!(default, [&json!("Open - Not Contacted")]);
}

#[tokio::test]
async fn lookups_are_checked_when_set() {
    let (emu, api) = setup().await;
    let (s, b) = api
        .post(
            "sobjects/Contact",
            json!({"LastName": "x", "AccountId": "001000000000000AAA"}),
        )
        .await;
    assert_eq!((s, error_code(&b)), (400, "INVALID_CROSS_REFERENCE_KEY"));
    // a task about an opportunity that is later deleted stays editable
    let (_, o) = api
        .post(
            "sobjects/Opportunity",
            json!({"Name": "D", "StageName": "Prospecting", "CloseDate": "2026-12-01"}),
        )
        .await;
    let opp = o["id"].as_str().unwrap_or("").to_string();
    let (s, t) = api
        .post("sobjects/Task", json!({"Subject": "Call", "WhatId": opp}))
        .await;
    assert_eq!(s, 201, "{t}");
    emu.admin()
        .delete_record("w", "Opportunity", &opp)
        .expect("delete");
    let (s, b) = api
        .patch(
            &format!("sobjects/Task/{}", t["id"].as_str().unwrap_or("")),
            json!({"Subject": "Call again"}),
        )
        .await;
    assert_eq!(s, 204, "{b}");
}
