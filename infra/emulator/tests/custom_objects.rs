//! Custom objects defined per org (seed 003's `Site__c` under an Account) behave as in a
//! real org: listed and described as custom, written and queried through their `__r`
//! relationship, and refused strictly (unknown object, unknown field, wrong or missing
//! parent).

mod common;

use common::*;
use serde_json::{Value, json};
use sf_emulator::OrgSpec;
use sf_emulator::schema::ObjectDef;

fn site() -> ObjectDef {
    serde_json::from_value(json!({
        "name": "Site__c", "label": "Site",
        "fields": [
            {"name": "Account__c", "type": "reference", "referenceTo": ["Account"]},
            {"name": "Site_Key__c", "type": "string", "length": 255, "externalId": true}
        ]
    }))
    .expect("object definition")
}

async fn setup() -> (sf_emulator::Emulator, Api) {
    let emu = start_small(OrgSpec::new("co").custom_object(site())).await;
    let api = Api::new(&emu, token(&emu, "co", "admin@co.example"));
    (emu, api)
}

fn field<'a>(describe: &'a Value, name: &str) -> &'a Value {
    describe["fields"]
        .as_array()
        .and_then(|f| f.iter().find(|f| f["name"] == name))
        .unwrap_or_else(|| panic!("field {name} in {describe}"))
}

#[tokio::test]
async fn listed_and_described_as_custom_with_its_lookup() {
    let (_emu, api) = setup().await;
    let (s, list) = api.get("sobjects").await;
    assert_eq!(s, 200, "{list}");
    let entry = list["sobjects"]
        .as_array()
        .and_then(|l| l.iter().find(|o| o["name"] == "Site__c"))
        .cloned()
        .expect("Site__c listed");
    assert_eq!(entry["custom"], true);
    let prefix = entry["keyPrefix"].as_str().unwrap_or_default().to_string();
    assert_eq!(prefix.len(), 3, "{entry}");

    let (s, d) = api.get("sobjects/Site__c/describe").await;
    assert_eq!(s, 200, "{d}");
    assert_eq!(
        (d["name"].as_str(), d["custom"].as_bool()),
        (Some("Site__c"), Some(true))
    );
    assert_eq!(d["keyPrefix"], prefix.as_str());
    let lookup = field(&d, "Account__c");
    assert_eq!(lookup["type"], "reference");
    assert_eq!(lookup["referenceTo"], json!(["Account"]));
    assert_eq!(
        lookup["relationshipName"], "Account__r",
        "derived from the field name"
    );
    assert_eq!(field(&d, "Name")["type"], "string");

    let (_, account) = api.get("sobjects/Account/describe").await;
    let child = account["childRelationships"]
        .as_array()
        .and_then(|c| c.iter().find(|r| r["childSObject"] == "Site__c"))
        .cloned()
        .expect("Account lists its sites");
    assert_eq!(
        (child["field"].as_str(), child["relationshipName"].as_str()),
        (Some("Account__c"), Some("Sites__r"))
    );
}

#[tokio::test]
async fn written_under_an_account_and_queried_through_its_relationship() {
    let (_emu, api) = setup().await;
    let (s, acct) = api
        .post("sobjects/Account", json!({"Name": "Multi Site Co"}))
        .await;
    assert_eq!(s, 201, "{acct}");
    let acct = acct["id"].as_str().unwrap().to_string();
    let (s, b) = api
        .post(
            "composite/sobjects",
            json!({"allOrNone": false, "records": [
                {"attributes": {"type": "Site__c"}, "Name": "Austin", "Account__c": acct},
                {"attributes": {"type": "Site__c"}, "Name": "Dallas", "Account__c": acct}
            ]}),
        )
        .await;
    assert_eq!(s, 200, "{b}");
    assert!(
        b.as_array().unwrap().iter().all(|r| r["success"] == true),
        "{b}"
    );
    let (s, q) = api
        .query(&format!(
            "SELECT Name, Account__r.Name FROM Site__c WHERE Account__c = '{acct}' ORDER BY Name"
        ))
        .await;
    assert_eq!(s, 200, "{q}");
    assert_eq!(q["totalSize"], 2);
    assert_eq!(q["records"][0]["Name"], "Austin");
    assert_eq!(q["records"][1]["Account__r"]["Name"], "Multi Site Co");
    assert_eq!(q["records"][0]["attributes"]["type"], "Site__c");
}

#[tokio::test]
async fn strict_errors_as_a_real_org() {
    let (_emu, api) = setup().await;
    // An object the org does not have.
    let (s, b) = api.get("sobjects/Nope__c/describe").await;
    assert_eq!((s, error_code(&b)), (404, "NOT_FOUND"), "{b}");
    let (s, b) = api.post("sobjects/Nope__c", json!({"Name": "x"})).await;
    assert_eq!((s, error_code(&b)), (404, "NOT_FOUND"), "{b}");
    let (s, b) = api.query("SELECT Id FROM Nope__c").await;
    assert_eq!((s, error_code(&b)), (400, "INVALID_TYPE"), "{b}");
    // A field the object does not have.
    let (s, b) = api
        .post("sobjects/Site__c", json!({"Name": "x", "Floor__c": 3}))
        .await;
    assert_eq!((s, error_code(&b)), (400, "INVALID_FIELD"), "{b}");
    let (s, b) = api.query("SELECT Floor__c FROM Site__c").await;
    assert_eq!((s, error_code(&b)), (400, "INVALID_FIELD"), "{b}");
    // `__c` in a relationship path instead of `__r`.
    let (s, b) = api.query("SELECT Account__c.Name FROM Site__c").await;
    assert_eq!(s, 400, "{b}");
    // A parent of the wrong object, and one that does not exist.
    let (_, contact) = api
        .post("sobjects/Contact", json!({"LastName": "Wrong"}))
        .await;
    let contact = contact["id"].as_str().unwrap().to_string();
    let (s, b) = api
        .post(
            "sobjects/Site__c",
            json!({"Name": "x", "Account__c": contact}),
        )
        .await;
    assert_eq!(
        (s, error_code(&b)),
        (400, "FIELD_INTEGRITY_EXCEPTION"),
        "{b}"
    );
    let missing = format!("001{}", "0".repeat(15));
    let (s, b) = api
        .post(
            "sobjects/Site__c",
            json!({"Name": "x", "Account__c": missing}),
        )
        .await;
    assert_eq!(s, 400, "{b}");
    assert!(
        matches!(
            error_code(&b),
            "INVALID_CROSS_REFERENCE_KEY" | "MALFORMED_ID"
        ),
        "{b}"
    );
    let (_, q) = api.query("SELECT Id FROM Site__c").await;
    assert_eq!(q["totalSize"], 0, "nothing refused was written");
}
