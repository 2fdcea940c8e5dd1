//! Issue 11, goal 3: a push books the real cost of its writes before making them. A sale
//! that passed the batch's gate (2 calls an event) but whose reads and composite write do
//! not fit in what is left of crmsync's share is parked, not written past the share; it
//! is written once when the budget frees up.

use crmsync_e2e::*;
use crmsync_service::guard;
use crmsync_store::{Environment, ReportStatus};
use serde_json::json;

e2e!(a_sale_that_does_not_fit_the_share_is_parked_then_written);

async fn a_sale_that_does_not_fit_the_share_is_parked_then_written(backend: Backend) {
    let s = Stack::start(backend).await;
    s.sf.set_daily_limit(PROD_ORG, 1_000).unwrap();
    s.connect("prod", Environment::Production).await;
    s.poll("prod").await; // records the org's limit
    let conn = s.connection("prod").await;

    // Leave exactly the batch gate's 2 calls of crmsync's share.
    let q = guard::quota(&s.app, &conn, 0).await.unwrap();
    assert!(q.crmsync_allowance > q.crmsync_used + 2, "{q:?}");
    let spend = q.crmsync_allowance - q.crmsync_used - 2;
    s.app
        .stores
        .quotas
        .add_calls(&conn.tenant, &conn.id, s.now().date_naive(), spend)
        .await
        .unwrap();

    let mut sale = app_event(
        "sale",
        "contact",
        "app-budget-sale",
        s.now(),
        json!({"first_name": "Sam", "last_name": "Budget", "phone": "+1 555 0701",
               "email": "budget@sale.example", "company_name": "Budget Sale Co",
               "city": "Austin", "amount": 1000}),
    );
    sale["sale_items"] = json!([{"name": "Compiler licence", "quantity": 1, "unit_price": 1000}]);
    let id = sale["event_id"].as_str().unwrap().to_string();
    s.send_events("prod", vec![sale]).await;
    let drained = s.drain_push().await;
    assert!(drained.retried.is_empty(), "{drained:#?}");
    let r = s.report("prod", &id).await.expect("reported");
    assert_eq!(r.status, ReportStatus::Parked, "{r:#?}");
    assert_eq!(r.code.as_deref(), Some("QUOTA_PAUSED"), "{r:#?}");
    assert_eq!(
        s.count(PROD_ORG, "Opportunity", "Name = 'Budget Sale Co'")
            .await,
        0
    );
    // Only the batch's planning reads (describe, owners, pricing, matching: booked as made,
    // inside the gate) may pass the share; no write does.
    let q = guard::quota(&s.app, &conn, 0).await.unwrap();
    assert!(
        q.crmsync_used <= q.crmsync_allowance + 6,
        "booked well past the share: {q:?}"
    );

    // A new day: the parked sale replays and is written once.
    s.advance(chrono::Duration::days(1));
    s.sf.set_api_used(PROD_ORG, 0).unwrap();
    s.poll("prod").await;
    s.drain_push().await;
    let r = s.report("prod", &id).await.expect("reported");
    assert_eq!(r.status, ReportStatus::Success, "{r:#?}");
    assert_eq!(
        s.count(PROD_ORG, "Opportunity", "Name = 'Budget Sale Co'")
            .await,
        1
    );
}
