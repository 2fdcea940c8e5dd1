//! Issue 13, item 5: Lead conversion. A person crmsync pushed as a Lead that becomes a
//! Contact is converted (`convertLead`, SOAP) instead of being created a second time; a
//! conversion made in Salesforce moves crmsync's links on the next poll without a new app
//! record; a conversion whose answer was lost is not repeated.

use crmsync_e2e::*;
use crmsync_service::push;
use crmsync_store::{ChangeKind, Environment, ReportStatus};
use serde_json::{Value, json};
use sf_emulator::FaultSpec;

e2e!(
    a_sale_converts_the_persons_lead_instead_of_creating_a_contact,
    a_conversion_in_salesforce_moves_the_links_on_the_next_poll,
    a_conversion_whose_answer_was_lost_is_converted_once,
    a_conversion_merges_into_the_account_and_contact_the_cascade_matches,
    a_demo_set_into_the_held_phase_converts_and_opens_its_own_opportunity,
);

async fn connected(backend: Backend) -> Stack {
    let s = Stack::start(backend).await;
    s.connect("prod", Environment::Production).await;
    s
}

fn person(app_id: &str, last: &str) -> Value {
    json!({"first_name": "Lea", "last_name": last, "phone": "+1 555 0900",
           "email": format!("{app_id}@convert.example"), "company_name": format!("{last} Co"),
           "city": "Austin", "phase": "ColdCallCold"})
}

/// Pushes a new cold-call person: a Salesforce Lead, linked. Returns the Lead's id.
async fn pushed_lead(s: &Stack, app_id: &str, last: &str) -> String {
    let create = app_event("create", "contact", app_id, s.now(), person(app_id, last));
    s.send_events("prod", vec![create]).await;
    let drained = s.drain_push().await;
    assert!(drained.retried.is_empty(), "{drained:#?}");
    link(s, app_id, "Lead").await.expect("the Lead is linked")
}

async fn link(s: &Stack, app_id: &str, sf_object: &str) -> Option<String> {
    s.app
        .stores
        .links
        .get_by_app(
            &s.tenant,
            &s.conn("prod"),
            &format!("contact.{sf_object}"),
            app_id,
        )
        .await
        .unwrap()
        .map(|l| l.sf_id)
}

fn sale(s: &Stack, app_id: &str, last: &str) -> Value {
    let mut e = app_event("sale", "contact", app_id, s.now(), person(app_id, last));
    e["sale_items"] = json!([{"name": "Compiler licence", "quantity": 2, "unit_price": 1000}]);
    e
}

fn converts(s: &Stack) -> u64 {
    s.sf.api_count(PROD_ORG, "soap.convertLead").unwrap()
}

async fn a_sale_converts_the_persons_lead_instead_of_creating_a_contact(backend: Backend) {
    let s = connected(backend).await;
    let lead = pushed_lead(&s, "app-lea", "Convertible").await;
    let seq = s.last_seq().await;

    let event = sale(&s, "app-lea", "Convertible");
    let event_id = event["event_id"].as_str().unwrap().to_string();
    s.send_events("prod", vec![event]).await;
    let drained = s.drain_push().await;
    assert!(drained.retried.is_empty(), "{drained:#?}");
    let report = s.report("prod", &event_id).await.expect("reported");
    assert_eq!(report.status, ReportStatus::Success, "{report:#?}");
    assert_eq!(converts(&s), 1);

    // The Lead is converted; its Contact is the only one, and the person is linked to it.
    let l = s.record(PROD_ORG, "Lead", &lead);
    assert_eq!(l["IsConverted"], json!(true), "{l:?}");
    let contact = l["ConvertedContactId"].as_str().unwrap().to_string();
    let account = l["ConvertedAccountId"].as_str().unwrap().to_string();
    let contacts = s
        .soql(
            PROD_ORG,
            "SELECT Id, AccountId FROM Contact WHERE Email = 'app-lea@convert.example'",
        )
        .await;
    assert_eq!(contacts.len(), 1, "no second person: {contacts:?}");
    assert_eq!(contacts[0]["Id"], json!(contact));
    assert_eq!(
        s.count(PROD_ORG, "Account", "Name = 'Convertible Co'")
            .await,
        1
    );
    assert_eq!(link(&s, "app-lea", "Contact").await, Some(contact.clone()));
    assert_eq!(link(&s, "app-lea", "Account").await, Some(account));
    assert_eq!(
        link(&s, "app-lea", "Lead").await,
        None,
        "the Lead link is gone"
    );

    // The sale closed the Opportunity the conversion made, with its line item.
    let opp = l["ConvertedOpportunityId"]
        .as_str()
        .expect("an Opportunity");
    assert_eq!(
        link(&s, "app-lea", "Opportunity").await.as_deref(),
        Some(opp)
    );
    let o = s.record(PROD_ORG, "Opportunity", opp);
    assert_eq!(o["StageName"], json!("Closed Won"), "{o:?}");
    assert_eq!(
        s.count(
            PROD_ORG,
            "OpportunityLineItem",
            &format!("OpportunityId = '{opp}'")
        )
        .await,
        1
    );
    assert_eq!(
        s.count(PROD_ORG, "Opportunity", "Name = 'Convertible Co'")
            .await,
        1,
        "no second Opportunity"
    );

    // The app hears of it.
    let feed = s.changes_after(seq).await;
    let convert: Vec<_> = feed
        .iter()
        .filter(|e| e.kind == ChangeKind::Convert)
        .collect();
    assert_eq!(convert.len(), 1, "{feed:#?}");
    assert_eq!(convert[0].app_id.as_deref(), Some("app-lea"));
    assert_eq!(convert[0].payload["contact_id"], json!(contact));
    assert_eq!(convert[0].payload["source"], json!("crmsync"));
}

async fn a_conversion_in_salesforce_moves_the_links_on_the_next_poll(backend: Backend) {
    let s = connected(backend).await;
    s.poll("prod").await;
    let lead = pushed_lead(&s, "app-ines", "Elsewhere").await;
    let seq = s.last_seq().await;

    // A rep converts the Lead in Salesforce.
    let done = s.sf.convert_lead(PROD_ORG, &lead, false).unwrap();
    s.advance(chrono::Duration::minutes(1));
    let run = s.poll("prod").await;
    assert!(
        run.messages.iter().all(|m| !m.contains("failed")),
        "{run:#?}"
    );

    assert_eq!(
        link(&s, "app-ines", "Contact").await,
        Some(done.contact.clone())
    );
    assert_eq!(
        link(&s, "app-ines", "Account").await,
        Some(done.account.clone())
    );
    assert_eq!(link(&s, "app-ines", "Lead").await, None);
    let feed = s.changes_after(seq).await;
    let convert: Vec<_> = feed
        .iter()
        .filter(|e| e.kind == ChangeKind::Convert)
        .collect();
    assert_eq!(convert.len(), 1, "{feed:#?}");
    assert_eq!(convert[0].payload["source"], json!("salesforce"));
    // No new app record: nothing in the feed names another app id or asks for a create.
    assert!(
        feed.iter()
            .all(|e| e.app_id.as_deref().is_none_or(|a| a == "app-ines")
                && e.payload["action"] != json!("create")),
        "{feed:#?}"
    );

    // The app's next change goes to the Contact; no Lead or Contact is created.
    let update = app_event(
        "update",
        "contact",
        "app-ines",
        s.now(),
        json!({"last_name": "Elsewhere", "title": "Buyer"}),
    );
    let event_id = update["event_id"].as_str().unwrap().to_string();
    s.send_events("prod", vec![update]).await;
    s.drain_push().await;
    let report = s.report("prod", &event_id).await.expect("reported");
    assert_eq!(report.status, ReportStatus::Success, "{report:#?}");
    assert_eq!(
        s.record(PROD_ORG, "Contact", &done.contact)["Title"],
        json!("Buyer")
    );
    assert_eq!(
        s.count(PROD_ORG, "Contact", "Email = 'app-ines@convert.example'")
            .await,
        1
    );
    assert_eq!(
        s.count(PROD_ORG, "Lead", "Email = 'app-ines@convert.example'")
            .await,
        1
    );
    assert_eq!(converts(&s), 0, "crmsync converted nothing itself");
}

async fn a_conversion_whose_answer_was_lost_is_converted_once(backend: Backend) {
    let s = connected(backend).await;
    let lead = pushed_lead(&s, "app-lost", "Lostanswer").await;

    // The conversion commits and its answer is lost: the event comes back.
    s.sf.set_faults(PROD_ORG, FaultSpec::none().commit_lost(1.0))
        .unwrap();
    let event = sale(&s, "app-lost", "Lostanswer");
    let event_id = event["event_id"].as_str().unwrap().to_string();
    s.send_events("prod", vec![event.clone()]).await;
    let batch = s.receive_push(10).await;
    let first = push::push_batch(&s.app, inbound(&batch)).await;
    assert_eq!(first.retry.len(), 1, "{first:#?}");
    assert_eq!(
        s.record(PROD_ORG, "Lead", &lead)["IsConverted"],
        json!(true)
    );
    assert_eq!(link(&s, "app-lost", "Lead").await, Some(lead.clone()));

    // Redelivered after the visibility timeout: the Lead reads back as converted, and the
    // links move to what it became.
    s.sf.clear_faults(PROD_ORG).unwrap();
    s.advance(
        chrono::Duration::from_std(crmsync_service::parked::PUSH_VISIBILITY_TIMEOUT).unwrap()
            + chrono::Duration::seconds(1),
    );
    let second = push::push_batch(&s.app, inbound(&batch)).await;
    assert!(second.retry.is_empty(), "{second:#?}");
    s.ack_push(&batch).await;
    let report = s.report("prod", &event_id).await.expect("reported");
    assert_eq!(report.status, ReportStatus::Success, "{report:#?}");
    let l = s.record(PROD_ORG, "Lead", &lead);
    let contact = l["ConvertedContactId"].as_str().unwrap().to_string();
    assert_eq!(link(&s, "app-lost", "Contact").await, Some(contact));
    assert_eq!(
        s.count(PROD_ORG, "Contact", "Email = 'app-lost@convert.example'")
            .await,
        1
    );
    assert_eq!(
        s.count(PROD_ORG, "Account", "Name = 'Lostanswer Co'").await,
        1
    );
    // The redelivery's catch-up read of the Lead finds it converted (or, were it not read,
    // a second convertLead is refused as already done): one conversion, announced once.
    let after_redelivery = converts(&s);
    assert!(matches!(after_redelivery, 1 | 2), "{after_redelivery}");
    let announced = s
        .changes_after(0)
        .await
        .into_iter()
        .filter(|e| e.kind == ChangeKind::Convert)
        .count();
    assert_eq!(announced, 1);

    // The same event again is a duplicate: nothing converts.
    s.send_events("prod", vec![event]).await;
    s.drain_push().await;
    assert_eq!(converts(&s), after_redelivery);
    assert_eq!(
        s.count(PROD_ORG, "Contact", "Email = 'app-lost@convert.example'")
            .await,
        1
    );
}

async fn a_conversion_merges_into_the_account_and_contact_the_cascade_matches(backend: Backend) {
    let s = connected(backend).await;
    // The company and the person already exist as an Account and a Contact under it
    // (seed 003: phone then name; phone then last name under the Account).
    let account = s.insert(
        PROD_ORG,
        "Account",
        json!({"Name": "Matched Co", "Phone": "+1 555 0900", "BillingCity": "Austin"}),
    );
    let contact = s.insert(
        PROD_ORG,
        "Contact",
        json!({"LastName": "Matched", "Phone": "+1 555 0900", "AccountId": account}),
    );
    let lead = pushed_lead(&s, "app-mat", "Matched").await;

    let event = sale(&s, "app-mat", "Matched");
    let event_id = event["event_id"].as_str().unwrap().to_string();
    s.send_events("prod", vec![event]).await;
    let drained = s.drain_push().await;
    assert!(drained.retried.is_empty(), "{drained:#?}");
    let report = s.report("prod", &event_id).await.expect("reported");
    assert_eq!(report.status, ReportStatus::Success, "{report:#?}");

    let l = s.record(PROD_ORG, "Lead", &lead);
    assert_eq!(l["IsConverted"], json!(true), "{l:?}");
    assert_eq!(
        l["ConvertedAccountId"],
        json!(account),
        "merged into the matched Account"
    );
    assert_eq!(
        l["ConvertedContactId"],
        json!(contact),
        "merged into the matched Contact"
    );
    assert_eq!(s.count(PROD_ORG, "Account", "Name = 'Matched Co'").await, 1);
    assert_eq!(
        s.count(PROD_ORG, "Contact", "LastName = 'Matched'").await,
        1
    );
    assert_eq!(link(&s, "app-mat", "Contact").await, Some(contact.clone()));
    assert_eq!(link(&s, "app-mat", "Account").await, Some(account));
    // Merging filled the Contact's blanks from the Lead (its email).
    assert_eq!(
        s.record(PROD_ORG, "Contact", &contact)["Email"],
        json!("app-mat@convert.example")
    );
}

async fn a_demo_set_into_the_held_phase_converts_and_opens_its_own_opportunity(backend: Backend) {
    let s = connected(backend).await;
    let lead = pushed_lead(&s, "app-demo", "Demoed").await;
    let mut fields = person("app-demo", "Demoed");
    fields["phase"] = json!("HeldPhase");
    fields["previous_phase"] = json!("ColdCallDM");
    fields["demo_at"] = json!("2026-12-10T15:00:00Z");
    fields["name"] = json!("Demoed demo");
    let event = app_event("demo_set", "contact", "app-demo", s.now(), fields);
    let event_id = event["event_id"].as_str().unwrap().to_string();
    s.send_events("prod", vec![event]).await;
    let drained = s.drain_push().await;
    assert!(drained.retried.is_empty(), "{drained:#?}");
    let report = s.report("prod", &event_id).await.expect("reported");
    assert_eq!(report.status, ReportStatus::Success, "{report:#?}");

    let l = s.record(PROD_ORG, "Lead", &lead);
    assert_eq!(l["IsConverted"], json!(true), "{l:?}");
    assert_eq!(
        l.get("ConvertedOpportunityId")
            .cloned()
            .unwrap_or(Value::Null),
        Value::Null,
        "the demo set's Opportunity is its own, not the conversion's"
    );
    let contact = l["ConvertedContactId"].as_str().unwrap().to_string();
    assert_eq!(link(&s, "app-demo", "Contact").await, Some(contact));
    assert_eq!(
        s.count(PROD_ORG, "Contact", "Email = 'app-demo@convert.example'")
            .await,
        1
    );
    let opps = s
        .soql(
            PROD_ORG,
            "SELECT Id, StageName, CloseDate FROM Opportunity WHERE Name = 'Demoed demo'",
        )
        .await;
    assert_eq!(opps.len(), 1, "{opps:?}");
    assert_eq!(opps[0]["CloseDate"], json!("2026-12-10"));
    assert_eq!(
        link(&s, "app-demo", "Opportunity").await.as_deref(),
        opps[0]["Id"].as_str()
    );
}
