//! Products and price books: every org has a standard price book; an OpportunityLineItem
//! needs an active entry of its Opportunity's price book (FIELD_INTEGRITY_EXCEPTION
//! otherwise); a composite with allOrNone that fails on a line item leaves nothing behind.

mod common;

use common::*;
use serde_json::{Value, json};
use sf_emulator::{OrgSpec, ProductSpec};

fn spec() -> OrgSpec {
    OrgSpec::new("p")
        .product(ProductSpec::new("Gadget", "GAD-1", 100.0))
        .product(ProductSpec::new("Retired", "OLD-1", 50.0).inactive())
}

async fn setup() -> (sf_emulator::Emulator, Api) {
    let emu = start_small(spec()).await;
    let api = Api::new(&emu, token(&emu, "p", "admin@p.example"));
    (emu, api)
}

fn id(body: &Value) -> String {
    body["id"]
        .as_str()
        .unwrap_or_else(|| panic!("no id in {body}"))
        .to_string()
}

async fn one(api: &Api, soql: &str) -> Value {
    let (s, b) = api.query(soql).await;
    assert_eq!(s, 200, "{soql}: {b}");
    assert_eq!(b["totalSize"], 1, "{soql}: {b}");
    b["records"][0].clone()
}

async fn new_opportunity(api: &Api, name: &str) -> String {
    let (s, b) = api
        .post(
            "sobjects/Opportunity",
            json!({"Name": name, "StageName": "Closed Won", "CloseDate": "2026-11-30", "Amount": 100}),
        )
        .await;
    assert_eq!(s, 201, "{b}");
    id(&b)
}

#[tokio::test]
async fn catalog_objects_have_salesforce_key_prefixes_and_a_standard_price_book() {
    let (_emu, api) = setup().await;
    let book = one(
        &api,
        "SELECT Id, Name, IsActive FROM Pricebook2 WHERE IsStandard = true",
    )
    .await;
    assert!(book["Id"].as_str().unwrap().starts_with("01s"), "{book}");
    assert_eq!(book["Name"], "Standard Price Book");
    let entry = one(
        &api,
        "SELECT Id, Product2Id, Pricebook2Id, UnitPrice, IsActive, ProductCode, Name FROM PricebookEntry WHERE ProductCode = 'GAD-1'",
    )
    .await;
    assert!(entry["Id"].as_str().unwrap().starts_with("01u"), "{entry}");
    assert!(entry["Product2Id"].as_str().unwrap().starts_with("01t"));
    assert_eq!(entry["Pricebook2Id"], book["Id"]);
    assert_eq!(entry["Name"], "Gadget", "the entry mirrors its product");
    assert_eq!(entry["UnitPrice"].as_f64(), Some(100.0));

    // IsStandard is Salesforce's to set.
    let (s, b) = api
        .post(
            "sobjects/Pricebook2",
            json!({"Name": "Fake standard", "IsStandard": true}),
        )
        .await;
    assert_eq!(
        (s, error_code(&b)),
        (400, "INVALID_FIELD_FOR_INSERT_UPDATE"),
        "{b}"
    );
}

#[tokio::test]
async fn a_line_item_needs_an_active_entry_of_its_opportunitys_price_book() {
    let (_emu, api) = setup().await;
    let opp = new_opportunity(&api, "Deal").await;

    // Neither entry nor product: Salesforce's FIELD_INTEGRITY_EXCEPTION.
    let (s, b) = api
        .post(
            "sobjects/OpportunityLineItem",
            json!({"OpportunityId": opp, "Quantity": 1, "UnitPrice": 10}),
        )
        .await;
    assert_eq!(
        (s, error_code(&b)),
        (400, "FIELD_INTEGRITY_EXCEPTION"),
        "{b}"
    );
    assert!(
        b[0]["message"]
            .as_str()
            .unwrap()
            .contains("must specify pricebook entry id"),
        "{b}"
    );
    assert_eq!(b[0]["fields"], json!(["PricebookEntryId", "unknown"]));

    // An inactive entry is refused.
    let retired = one(
        &api,
        "SELECT Id FROM PricebookEntry WHERE ProductCode = 'OLD-1'",
    )
    .await;
    let (s, b) = api
        .post(
            "sobjects/OpportunityLineItem",
            json!({"OpportunityId": opp, "Quantity": 1, "UnitPrice": 10, "PricebookEntryId": retired["Id"]}),
        )
        .await;
    assert_eq!(
        (s, error_code(&b)),
        (400, "FIELD_INTEGRITY_EXCEPTION"),
        "{b}"
    );
    assert!(
        b[0]["message"].as_str().unwrap().contains("inactive"),
        "{b}"
    );

    // A product id resolves to its standard entry; the Opportunity takes that price book.
    let gadget = one(
        &api,
        "SELECT Id, Product2Id, Pricebook2Id FROM PricebookEntry WHERE ProductCode = 'GAD-1'",
    )
    .await;
    let (s, b) = api
        .post(
            "sobjects/OpportunityLineItem",
            json!({"OpportunityId": opp, "Quantity": 2, "Product2Id": gadget["Product2Id"]}),
        )
        .await;
    assert_eq!(s, 201, "{b}");
    let line = one(
        &api,
        &format!(
            "SELECT PricebookEntryId, ListPrice, UnitPrice, TotalPrice, Name FROM OpportunityLineItem WHERE Id = '{}'",
            id(&b)
        ),
    )
    .await;
    assert_eq!(line["PricebookEntryId"], gadget["Id"]);
    assert_eq!(
        line["UnitPrice"].as_f64(),
        Some(100.0),
        "the list price by default"
    );
    assert_eq!(line["TotalPrice"].as_f64(), Some(200.0));
    assert_eq!(line["Name"], "Deal Gadget");
    let o = one(
        &api,
        &format!("SELECT Pricebook2Id FROM Opportunity WHERE Id = '{opp}'"),
    )
    .await;
    assert_eq!(o["Pricebook2Id"], gadget["Pricebook2Id"]);

    // An entry of another price book than the Opportunity's is refused.
    let (_, b) = api
        .post(
            "sobjects/Pricebook2",
            json!({"Name": "Partners", "IsActive": true}),
        )
        .await;
    let partners = id(&b);
    let (s, b) = api
        .post(
            "sobjects/PricebookEntry",
            json!({"Pricebook2Id": partners, "Product2Id": gadget["Product2Id"], "UnitPrice": 80}),
        )
        .await;
    assert_eq!(s, 201, "{b}");
    let partner_entry = id(&b);
    let (s, b) = api
        .post(
            "sobjects/OpportunityLineItem",
            json!({"OpportunityId": opp, "Quantity": 1, "PricebookEntryId": partner_entry}),
        )
        .await;
    assert_eq!(
        (s, error_code(&b)),
        (400, "FIELD_INTEGRITY_EXCEPTION"),
        "{b}"
    );
    assert!(
        b[0]["message"]
            .as_str()
            .unwrap()
            .contains("different pricebook than the one assigned to the opportunity"),
        "{b}"
    );
}

#[tokio::test]
async fn composite_all_or_none_rolls_back_every_subrequest_when_a_line_item_fails() {
    let (emu, api) = setup().await;
    let admin = emu.admin();
    let before: Vec<usize> = ["Account", "Contact", "Opportunity", "OpportunityLineItem"]
        .iter()
        .map(|o| admin.record_count("p", o).unwrap())
        .collect();
    let gadget = one(
        &api,
        "SELECT Id FROM PricebookEntry WHERE ProductCode = 'GAD-1'",
    )
    .await;
    let v = "/services/data/v62.0";
    let (s, b) = api
        .post(
            "composite",
            json!({"allOrNone": true, "compositeRequest": [
                {"method": "POST", "url": format!("{v}/sobjects/Account"), "referenceId": "account", "body": {"Name": "Rollback Ltd"}},
                {"method": "POST", "url": format!("{v}/sobjects/Contact"), "referenceId": "contact", "body": {"LastName": "Gone", "AccountId": "@{account.id}"}},
                {"method": "POST", "url": format!("{v}/sobjects/Opportunity"), "referenceId": "opportunity", "body": {"Name": "Won", "StageName": "Closed Won", "CloseDate": "2026-11-30", "AccountId": "@{account.id}"}},
                {"method": "POST", "url": format!("{v}/sobjects/OpportunityLineItem"), "referenceId": "item0", "body": {"OpportunityId": "@{opportunity.id}", "Quantity": 1, "PricebookEntryId": gadget["Id"]}},
                {"method": "POST", "url": format!("{v}/sobjects/OpportunityLineItem"), "referenceId": "item1", "body": {"OpportunityId": "@{opportunity.id}", "Quantity": 1, "UnitPrice": 5}},
                {"method": "GET", "url": format!("{v}/limits"), "referenceId": "after"}
            ]}),
        )
        .await;
    assert_eq!(s, 200, "the composite itself succeeds: {b}");
    let r = b["compositeResponse"]
        .as_array()
        .expect("compositeResponse");
    assert_eq!(r.len(), 6);
    let statuses: Vec<u64> = r
        .iter()
        .map(|x| x["httpStatusCode"].as_u64().unwrap())
        .collect();
    assert_eq!(statuses, vec![400; 6], "{b}");
    let codes: Vec<&str> = r
        .iter()
        .map(|x| x["body"][0]["errorCode"].as_str().unwrap())
        .collect();
    assert_eq!(
        codes,
        vec![
            "PROCESSING_HALTED",
            "PROCESSING_HALTED",
            "PROCESSING_HALTED",
            "PROCESSING_HALTED",
            "FIELD_INTEGRITY_EXCEPTION",
            "PROCESSING_HALTED"
        ],
        "{b}"
    );
    assert_eq!(r[4]["referenceId"], "item1");
    let after: Vec<usize> = ["Account", "Contact", "Opportunity", "OpportunityLineItem"]
        .iter()
        .map(|o| admin.record_count("p", o).unwrap())
        .collect();
    assert_eq!(after, before, "nothing is left behind");
}
