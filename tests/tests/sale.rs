//! Issue 9, item 2: a sale is written whole or not at all.
//! Its line items are priced from the standard price book (PricebookEntryId on each item,
//! Pricebook2Id on the Opportunity); a sale with an item that cannot be priced is refused
//! before any write; a failure inside the one composite request leaves nothing behind.

use crmsync_e2e::*;
use crmsync_store::{Environment, ReportStatus};
use serde_json::{Value, json};

e2e!(
    a_sale_writes_priced_line_items,
    a_sale_with_an_unknown_product_writes_nothing,
    a_failing_line_item_rolls_back_the_whole_sale,
);

async fn connected(backend: Backend) -> Stack {
    let s = Stack::start(backend).await;
    s.connect("prod", Environment::Production).await;
    s
}

fn sale(s: &Stack, app_id: &str, company: &str, last_name: &str, items: Value) -> Value {
    let mut sale = app_event(
        "sale",
        "contact",
        app_id,
        s.now(),
        json!({"first_name": "Sam", "last_name": last_name, "phone": "+1 555 0700",
               "email": format!("{app_id}@sale.example"),
               "company_name": company, "city": "Austin", "amount": 4200}),
    );
    sale["sale_items"] = items;
    sale
}

const WRITTEN: [&str; 4] = ["Account", "Contact", "Opportunity", "OpportunityLineItem"];

fn counts(s: &Stack) -> Vec<usize> {
    WRITTEN
        .iter()
        .map(|o| s.sf.record_count(PROD_ORG, o).unwrap())
        .collect()
}

async fn nothing_written(s: &Stack, before: &[usize], company: &str) {
    assert_eq!(counts(s), before, "no new {WRITTEN:?} in the org");
    assert_eq!(
        s.count(PROD_ORG, "Account", &format!("Name = '{company}'"))
            .await,
        0
    );
}

async fn a_sale_writes_priced_line_items(backend: Backend) {
    let s = connected(backend).await;
    let book = s
        .soql(
            PROD_ORG,
            "SELECT Id FROM Pricebook2 WHERE IsStandard = true",
        )
        .await;
    assert_eq!(book.len(), 1, "{book:?}");
    let book = book[0]["Id"].clone();
    // One item by name, one by product code (the code wins over a different name).
    let event = sale(
        &s,
        "app-priced",
        "Priced Parts Inc",
        "Priced",
        json!([
            {"name": "Compiler licence", "quantity": 3, "unit_price": 1000},
            {"name": "Setup and training", "product_code": "SVC-ONB", "quantity": 1, "unit_price": 1200}
        ]),
    );
    let event_id = event["event_id"].as_str().unwrap().to_string();
    s.send_events("prod", vec![event]).await;
    let drained = s.drain_push().await;
    let report = s.report("prod", &event_id).await.expect("reported");
    assert_eq!(
        report.status,
        ReportStatus::Success,
        "{report:#?} {drained:#?}"
    );

    let account = s
        .soql(
            PROD_ORG,
            "SELECT Id FROM Account WHERE Name = 'Priced Parts Inc'",
        )
        .await;
    assert_eq!(account.len(), 1, "{account:?}");
    let account = account[0]["Id"].as_str().unwrap();
    let opps = s
        .soql(
            PROD_ORG,
            &format!(
                "SELECT Id, StageName, Pricebook2Id FROM Opportunity WHERE AccountId = '{account}'"
            ),
        )
        .await;
    assert_eq!(opps.len(), 1, "{opps:?}");
    assert_eq!(opps[0]["StageName"], json!("Closed Won"));
    assert_eq!(
        opps[0]["Pricebook2Id"], book,
        "the Opportunity is priced from the standard price book"
    );
    let opp = opps[0]["Id"].as_str().unwrap();
    let items = s
        .soql(
            PROD_ORG,
            &format!("SELECT Description, PricebookEntryId, ProductCode, Quantity FROM OpportunityLineItem WHERE OpportunityId = '{opp}' ORDER BY Description"),
        )
        .await;
    assert_eq!(items.len(), 2, "{items:?}");
    assert_eq!(items[0]["Description"], json!("Compiler licence"));
    assert_eq!(items[0]["ProductCode"], json!("CC-LIC"));
    assert_eq!(items[1]["ProductCode"], json!("SVC-ONB"));
    for item in &items {
        let entry = item["PricebookEntryId"].as_str().expect("an entry id");
        let found = s
            .soql(
                PROD_ORG,
                &format!("SELECT Pricebook2Id FROM PricebookEntry WHERE Id = '{entry}'"),
            )
            .await;
        assert_eq!(found[0]["Pricebook2Id"], book, "{item:?}");
    }
}

async fn a_sale_with_an_unknown_product_writes_nothing(backend: Backend) {
    let s = connected(backend).await;
    let before = counts(&s);
    let event = sale(
        &s,
        "app-unpriced",
        "Unpriced Ltd",
        "Unpriced",
        json!([
            {"name": "Compiler licence", "quantity": 1, "unit_price": 1000},
            {"name": "Flux capacitor", "quantity": 1, "unit_price": 3200},
            {"name": "Punch card reader", "quantity": 1, "unit_price": 250}
        ]),
    );
    let event_id = event["event_id"].as_str().unwrap().to_string();
    s.send_events("prod", vec![event]).await;
    s.drain_push().await;
    let report = s.report("prod", &event_id).await.expect("reported");
    assert_eq!(report.status, ReportStatus::Error, "{report:#?}");
    assert_eq!(report.code.as_deref(), Some("SALE_ITEM_NOT_PRICED"));
    let reason = report.reason.clone().unwrap_or_default();
    assert!(
        reason.contains("line_item[1] \"Flux capacitor\"") && reason.contains("no such product"),
        "the reason names the unknown item: {reason}"
    );
    assert!(
        reason.contains("line_item[2] \"Punch card reader\"") && reason.contains("inactive"),
        "the reason names the inactive item: {reason}"
    );
    assert!(
        !reason.contains("Compiler licence"),
        "a priced item is not blamed: {reason}"
    );
    nothing_written(&s, &before, "Unpriced Ltd").await;
}

async fn a_failing_line_item_rolls_back_the_whole_sale(backend: Backend) {
    let s = connected(backend).await;
    // The app names an entry itself (trusted, not priced by crmsync); Salesforce refuses it
    // inside the composite, after the Account, Contact and Opportunity subrequests ran.
    let retired = s
        .soql(
            PROD_ORG,
            "SELECT Id FROM PricebookEntry WHERE ProductCode = 'HW-PUNCH'",
        )
        .await;
    let retired = retired[0]["Id"].as_str().unwrap().to_string();
    let before = counts(&s);
    let event = sale(
        &s,
        "app-rollback",
        "Rollback Robotics",
        "Rollback",
        json!([
            {"name": "Compiler licence", "quantity": 1, "unit_price": 1000},
            {"name": "Punch card reader", "pricebook_entry_id": retired, "quantity": 1, "unit_price": 250}
        ]),
    );
    let event_id = event["event_id"].as_str().unwrap().to_string();
    s.send_events("prod", vec![event]).await;
    s.drain_push().await;
    let report = s.report("prod", &event_id).await.expect("reported");
    assert_eq!(report.status, ReportStatus::Error, "{report:#?}");
    assert_eq!(
        report.code.as_deref(),
        Some("FIELD_INTEGRITY_EXCEPTION"),
        "{report:#?}"
    );
    let reason = report.reason.clone().unwrap_or_default();
    assert!(
        reason.contains("line_item[1]") && reason.contains("nothing was written"),
        "{reason}"
    );
    nothing_written(&s, &before, "Rollback Robotics").await;
    assert_eq!(report.sf_id, None, "no record to point at");
}
