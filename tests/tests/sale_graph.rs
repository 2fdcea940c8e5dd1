//! Issue 11: a batch's sales go as composite graphs, many in one request (one API call),
//! each all or none: a sale that Salesforce refuses leaves nothing behind and does not hold
//! up the others; two sales of one company in a batch still make one Account.

use crmsync_e2e::*;
use crmsync_store::{Environment, ReportStatus};
use serde_json::{Value, json};

e2e!(
    a_batch_of_sales_is_one_graph_request_and_each_is_all_or_none,
    two_sales_of_one_company_in_a_batch_make_one_account,
);

fn sale(s: &Stack, app_id: &str, company: &str, phone: &str, items: Value) -> Value {
    let mut sale = app_event(
        "sale",
        "contact",
        app_id,
        s.now(),
        json!({"first_name": "Gia", "last_name": format!("Graph {app_id}"), "phone": phone,
               "email": format!("{app_id}@graph.example"),
               "company_name": company, "city": "Austin", "amount": 1000}),
    );
    sale["sale_items"] = items;
    sale
}

async fn a_batch_of_sales_is_one_graph_request_and_each_is_all_or_none(backend: Backend) {
    let s = Stack::start(backend).await;
    s.connect("prod", Environment::Production).await;
    let retired = s
        .soql(
            PROD_ORG,
            "SELECT Id FROM PricebookEntry WHERE ProductCode = 'HW-PUNCH'",
        )
        .await;
    let retired = retired[0]["Id"].as_str().unwrap().to_string();
    let good = json!([{"name": "Compiler licence", "quantity": 1, "unit_price": 1000}]);
    let bad = json!([
        {"name": "Compiler licence", "quantity": 1, "unit_price": 1000},
        {"name": "Punch card reader", "pricebook_entry_id": retired, "quantity": 1, "unit_price": 250}
    ]);
    let events = vec![
        sale(&s, "app-g1", "Graph One Co", "+1 555 0801", good.clone()),
        sale(&s, "app-g2", "Graph Two Co", "+1 555 0802", bad),
        sale(&s, "app-g3", "Graph Three Co", "+1 555 0803", good),
    ];
    let ids: Vec<String> = events
        .iter()
        .map(|e| e["event_id"].as_str().unwrap().to_string())
        .collect();
    s.send_events("prod", events).await;
    s.sf.reset_counters(PROD_ORG).unwrap();
    s.drain_push().await;
    let usage = s.sf.api_usage(PROD_ORG).unwrap();
    assert_eq!(
        usage.counters.get("composite.graph"),
        Some(&1),
        "three sales, one graph request: {:?}",
        usage.counters
    );
    for (id, company) in [(&ids[0], "Graph One Co"), (&ids[2], "Graph Three Co")] {
        let r = s.report("prod", id).await.expect("reported");
        assert_eq!(r.status, ReportStatus::Success, "{r:#?}");
        assert_eq!(
            s.count(PROD_ORG, "Opportunity", &format!("Name = '{company}'"))
                .await,
            1
        );
    }
    let r = s.report("prod", &ids[1]).await.expect("reported");
    assert_eq!(r.status, ReportStatus::Error, "{r:#?}");
    assert_eq!(
        r.code.as_deref(),
        Some("FIELD_INTEGRITY_EXCEPTION"),
        "{r:#?}"
    );
    assert_eq!(
        s.count(PROD_ORG, "Account", "Name = 'Graph Two Co'").await,
        0
    );
    assert_eq!(
        s.count(PROD_ORG, "Opportunity", "Name = 'Graph Two Co'")
            .await,
        0
    );
}

async fn two_sales_of_one_company_in_a_batch_make_one_account(backend: Backend) {
    let s = Stack::start(backend).await;
    s.connect("prod", Environment::Production).await;
    let items = json!([{"name": "Compiler licence", "quantity": 1, "unit_price": 1000}]);
    let events = vec![
        sale(
            &s,
            "app-same-1",
            "Same Roof Co",
            "+1 555 0811",
            items.clone(),
        ),
        sale(&s, "app-same-2", "Same Roof Co", "+1 555 0811", items),
    ];
    let ids: Vec<String> = events
        .iter()
        .map(|e| e["event_id"].as_str().unwrap().to_string())
        .collect();
    s.send_events("prod", events).await;
    s.drain_push().await;
    for id in &ids {
        let r = s.report("prod", id).await.expect("reported");
        assert_eq!(r.status, ReportStatus::Success, "{r:#?}");
    }
    assert_eq!(
        s.count(PROD_ORG, "Account", "Name = 'Same Roof Co'").await,
        1
    );
}
