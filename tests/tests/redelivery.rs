//! Issue 10's first two defects: a push redelivered after its Salesforce write committed
//! (a store failure, a lost response, a killed worker) writes nothing twice, and a second
//! demo set moves the deal's link to its new Opportunity, which the sale then closes.
//!
//! Run on the per-event message path (`Stack::start_per_event`): each test redelivers one
//! event's own message; `outbox.rs` covers a drain killed mid-chunk.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use crmsync_e2e::*;
use crmsync_service::push::{self, BatchOutcome};
use crmsync_service::{App, AppCredentials};
use crmsync_store::faulty::{StoreFault, StoreFaultPlan, with_faults};
use crmsync_store::{ConnectionId, Environment, ReceivedMessage, ReportStatus};
use serde_json::{Value, json};
use sf_emulator::FaultSpec;
use tokio::sync::Notify;

e2e!(
    a_create_redelivered_after_a_store_failure_leaves_one_record,
    a_sale_whose_response_was_lost_is_written_once,
    a_demo_set_killed_before_its_links_makes_one_opportunity,
    two_demo_sets_then_a_sale_close_the_newest_opportunity,
);

/// Fails (or hangs) the first call of one store operation; every other call proceeds.
struct FaultOnce {
    port: &'static str,
    operation: &'static str,
    fault: StoreFault,
    fired: AtomicBool,
    hung: Arc<Notify>,
}

impl StoreFaultPlan for FaultOnce {
    fn decide(&self, port: &'static str, operation: &'static str, _write: bool) -> StoreFault {
        if port != self.port
            || operation != self.operation
            || self.fired.swap(true, Ordering::SeqCst)
        {
            return StoreFault::Proceed;
        }
        if self.fault == StoreFault::Hang {
            self.hung.notify_one();
        }
        self.fault
    }
}

/// The stack's app with `fault` on the first `port.operation` call.
fn faulty_app(
    s: &Stack,
    port: &'static str,
    operation: &'static str,
    fault: StoreFault,
) -> (Arc<App>, Arc<Notify>) {
    let hung = Arc::new(Notify::new());
    let plan = Arc::new(FaultOnce {
        port,
        operation,
        fault,
        fired: AtomicBool::new(false),
        hung: hung.clone(),
    });
    let credentials = AppCredentials {
        client_id: sf_emulator::demo::CLIENT_ID.into(),
        client_secret: Some(sf_emulator::demo::CLIENT_SECRET.into()),
    };
    let stores = with_faults(s.app.stores.clone(), plan);
    let app = App::new(s.app.settings.clone(), stores, credentials).expect("faulty app wires");
    (Arc::new(app), hung)
}

async fn connected(backend: Backend) -> Stack {
    let s = Stack::start_per_event(backend).await;
    s.connect("prod", Environment::Production).await;
    s
}

fn id_of(event: &Value) -> String {
    event["event_id"].as_str().unwrap().to_string()
}

/// Sends one event and receives its message (kept, to deliver it again).
async fn send_one(s: &Stack, event: Value) -> Vec<ReceivedMessage> {
    s.send_events("prod", vec![event]).await;
    let batch = s.receive_push(10).await;
    assert_eq!(batch.len(), 1, "{batch:#?}");
    batch
}

/// The redelivery: the same message through the healthy worker, which must finish it. It
/// comes after the queue's visibility timeout (sooner, the first attempt's fresh write
/// intent would have it retried as possibly still running).
async fn redeliver(s: &Stack, batch: &[ReceivedMessage]) -> BatchOutcome {
    s.advance(
        chrono::Duration::from_std(crmsync_service::parked::PUSH_VISIBILITY_TIMEOUT).unwrap()
            + chrono::Duration::seconds(1),
    );
    let outcome = push::push_batch(&s.app, inbound(batch)).await;
    assert!(outcome.retry.is_empty(), "{outcome:#?}");
    assert_eq!(outcome.outcomes.len(), 1, "{outcome:#?}");
    assert_eq!(
        outcome.outcomes[0].status,
        ReportStatus::Success,
        "{outcome:#?}"
    );
    s.ack_push(batch).await;
    outcome
}

async fn ids(s: &Stack, soql: &str) -> Vec<String> {
    s.soql(PROD_ORG, soql)
        .await
        .iter()
        .map(|r| r["Id"].as_str().unwrap().to_string())
        .collect()
}

async fn linked(s: &Stack, key: &str, app_id: &str) -> Option<String> {
    let conn = ConnectionId::new("prod").unwrap();
    s.app
        .stores
        .links
        .get_by_app(&s.tenant, &conn, key, app_id)
        .await
        .unwrap()
        .map(|l| l.sf_id)
}

/// (a) A Lead without email or phone (matching cannot find it again): the link write
/// fails after Salesforce committed it, the message comes back, and there is one Lead.
async fn a_create_redelivered_after_a_store_failure_leaves_one_record(backend: Backend) {
    let s = connected(backend).await;
    let event = app_event(
        "create",
        "contact",
        "app-plain",
        s.now(),
        json!({"first_name": "Pia", "last_name": "Plainrecord", "company_name": "Plain Co"}),
    );
    let event_id = id_of(&event);
    let batch = send_one(&s, event).await;
    let (faulty, _) = faulty_app(&s, "links", "create_if_absent", StoreFault::FailBefore);
    let first = push::push_batch(&faulty, inbound(&batch)).await;
    assert_eq!(
        first.retry.len(),
        1,
        "the store error redelivers: {first:#?}"
    );
    let leads = "SELECT Id FROM Lead WHERE LastName = 'Plainrecord'";
    assert_eq!(ids(&s, leads).await.len(), 1, "the create committed");

    let second = redeliver(&s, &batch).await;
    let leads = ids(&s, leads).await;
    assert_eq!(
        leads.len(),
        1,
        "redelivery adopts the committed Lead: {leads:?}"
    );
    assert_eq!(second.outcomes[0].sf_id.as_deref(), Some(leads[0].as_str()));
    assert_eq!(
        linked(&s, "contact.Lead", "app-plain").await.as_deref(),
        Some(leads[0].as_str())
    );
    let report = s.report("prod", &event_id).await.expect("reported");
    assert_eq!(report.status, ReportStatus::Success, "{report:#?}");
    // Delivered once more, the report makes it a duplicate.
    let third = push::push_batch(&s.app, inbound(&batch)).await;
    assert_eq!(third.duplicates, 1, "{third:#?}");
}

fn sale(s: &Stack, app_id: &str, company: &str) -> Value {
    let mut sale = app_event(
        "sale",
        "contact",
        app_id,
        s.now(),
        json!({"first_name": "Lou", "last_name": "Lost", "phone": "+1 555 0930",
               "email": format!("{app_id}@lost.example"), "company_name": company,
               "city": "Austin", "amount": 2200}),
    );
    sale["sale_items"] = json!([
        {"name": "Compiler licence", "quantity": 2, "unit_price": 500},
        {"name": "Compiler licence", "quantity": 2, "unit_price": 500},
        {"name": "Setup and training", "product_code": "SVC-ONB", "quantity": 1, "unit_price": 1200}
    ]);
    sale
}

/// (b) The sale's one composite request commits and its response is lost; the
/// redelivery leaves one Opportunity with one set of line items.
async fn a_sale_whose_response_was_lost_is_written_once(backend: Backend) {
    let s = connected(backend).await;
    let event = sale(&s, "app-lost", "Lost Response Co");
    let batch = send_one(&s, event).await;
    s.sf.set_faults(PROD_ORG, FaultSpec::none().commit_lost(1.0))
        .unwrap();
    let first = push::push_batch(&s.app, inbound(&batch)).await;
    s.sf.clear_faults(PROD_ORG).unwrap();
    assert_eq!(
        first.retry.len(),
        1,
        "the lost response redelivers: {first:#?}"
    );
    let opps = "SELECT Id FROM Opportunity WHERE Name = 'Lost Response Co'";
    assert_eq!(ids(&s, opps).await.len(), 1, "the composite committed");

    redeliver(&s, &batch).await;
    let opps = ids(&s, opps).await;
    assert_eq!(opps.len(), 1, "{opps:?}");
    let items = s
        .soql(
            PROD_ORG,
            &format!(
                "SELECT Id, Quantity, UnitPrice FROM OpportunityLineItem WHERE OpportunityId = '{}'",
                opps[0]
            ),
        )
        .await;
    assert_eq!(items.len(), 3, "one set of line items: {items:#?}");
    assert_eq!(
        s.count(PROD_ORG, "Account", "Name = 'Lost Response Co'")
            .await,
        1
    );
    assert_eq!(s.count(PROD_ORG, "Contact", "LastName = 'Lost'").await, 1);
    assert_eq!(
        linked(&s, "contact.Opportunity", "app-lost")
            .await
            .as_deref(),
        Some(opps[0].as_str())
    );
}

fn demo_set(s: &Stack, app_id: &str, demo_at: &str) -> Value {
    app_event(
        "demo_set",
        "contact",
        app_id,
        s.now(),
        json!({"first_name": "Dee", "last_name": "Demo", "phone": "+1 555 0940",
               "email": format!("{app_id}@demo-cycle.example"), "company_name": "Demo Cycle Co",
               "city": "Denver", "phase": "HeldPhase", "previous_phase": "ColdCallWorkingNum",
               "demo_at": demo_at}),
    )
}

/// (c) The worker is killed (its future dropped, as a Lambda timeout does) after the
/// composite committed and before the first link was written.
async fn a_demo_set_killed_before_its_links_makes_one_opportunity(backend: Backend) {
    let s = connected(backend).await;
    let batch = send_one(&s, demo_set(&s, "app-killed", "2026-12-10T10:00:00Z")).await;
    let (faulty, hung) = faulty_app(&s, "links", "create_if_absent", StoreFault::Hang);
    tokio::select! {
        outcome = push::push_batch(&faulty, inbound(&batch)) => {
            panic!("the worker should have been killed at its first link write: {outcome:#?}")
        }
        _ = hung.notified() => {}
    }
    let opps = "SELECT Id FROM Opportunity WHERE Name = 'Demo Cycle Co'";
    assert_eq!(ids(&s, opps).await.len(), 1, "the composite committed");

    redeliver(&s, &batch).await;
    let opps = ids(&s, opps).await;
    assert_eq!(opps.len(), 1, "{opps:?}");
    assert_eq!(
        linked(&s, "contact.Opportunity", "app-killed")
            .await
            .as_deref(),
        Some(opps[0].as_str())
    );
    assert_eq!(
        s.count(PROD_ORG, "Account", "Name = 'Demo Cycle Co'").await,
        1
    );
    assert_eq!(s.count(PROD_ORG, "Contact", "LastName = 'Demo'").await, 1);
}

/// (d) Each demo set starts a new cycle with a new Opportunity; the link follows the
/// newest, and the sale closes it, leaving the older one as it was.
async fn two_demo_sets_then_a_sale_close_the_newest_opportunity(backend: Backend) {
    let s = connected(backend).await;
    s.send_events(
        "prod",
        vec![demo_set(&s, "app-twice", "2026-12-10T10:00:00Z")],
    )
    .await;
    s.drain_push().await;
    let opps = "SELECT Id FROM Opportunity WHERE Name = 'Demo Cycle Co'";
    let first = ids(&s, opps).await;
    assert_eq!(first.len(), 1, "{first:?}");
    s.advance(chrono::Duration::days(30));
    s.send_events(
        "prod",
        vec![demo_set(&s, "app-twice", "2027-01-20T10:00:00Z")],
    )
    .await;
    s.drain_push().await;
    let both = ids(&s, opps).await;
    assert_eq!(
        both.len(),
        2,
        "a second cycle, a second Opportunity: {both:?}"
    );
    let newest = both.iter().find(|id| **id != first[0]).unwrap().clone();
    assert_eq!(
        linked(&s, "contact.Opportunity", "app-twice").await,
        Some(newest.clone()),
        "the link follows the newest cycle"
    );

    let mut sale = app_event(
        "sale",
        "contact",
        "app-twice",
        s.now(),
        json!({"first_name": "Dee", "last_name": "Demo", "phone": "+1 555 0940",
               "company_name": "Demo Cycle Co", "city": "Denver", "amount": 900}),
    );
    sale["sale_items"] = json!([{"name": "Compiler licence", "quantity": 1, "unit_price": 900}]);
    let sale_id = id_of(&sale);
    s.send_events("prod", vec![sale]).await;
    s.drain_push().await;
    let r = s.report("prod", &sale_id).await.expect("reported");
    assert_eq!(r.status, ReportStatus::Success, "{r:#?}");
    let stage = |id: String| {
        let s = &s;
        async move {
            s.soql(
                PROD_ORG,
                &format!("SELECT StageName FROM Opportunity WHERE Id = '{id}'"),
            )
            .await[0]["StageName"]
                .clone()
        }
    };
    assert_eq!(stage(newest.clone()).await, json!("Closed Won"));
    assert_eq!(
        stage(first[0].clone()).await,
        json!("Qualification"),
        "the older cycle's Opportunity is left as it was"
    );
    assert_eq!(
        s.count(
            PROD_ORG,
            "OpportunityLineItem",
            &format!("OpportunityId = '{newest}'")
        )
        .await,
        1
    );
}
