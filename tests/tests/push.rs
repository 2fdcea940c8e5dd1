//! Scenario 4: app events reach Salesforce through ingest → FIFO queue → push worker.
//! Seed 003's Lead-vs-Contact rule, the sale flow (account and contact cascades,
//! Opportunity Closed Won, line items), field rules both ways, a validation failure that is
//! reported with its reason without holding up the batch, and re-push after a config fix.

use crmsync_e2e::*;
use crmsync_service::parked;
use crmsync_store::{Environment, ReportStatus};
use serde_json::json;

e2e!(
    lead_or_contact_follows_seed_003,
    sale_connects_account_and_contact_and_closes_won,
    demo_set_then_sale_closes_the_same_opportunity,
    field_rules_hold_both_ways,
    validation_failure_is_reported_and_repush_succeeds_after_fix,
    a_batch_that_cannot_run_is_reported_not_cycled_to_the_dead_letter_queue,
);

async fn connected(backend: Backend) -> Stack {
    let s = Stack::start(backend).await;
    s.connect("prod", Environment::Production).await;
    s
}

async fn lead_or_contact_follows_seed_003(backend: Backend) {
    let s = connected(backend).await;
    let known_account = s.insert(PROD_ORG, "Account", json!({"Name": "Known Ltd"}));
    let known_contact = s.insert(
        PROD_ORG,
        "Contact",
        json!({"LastName": "Known", "Phone": "+1 555 0400", "AccountId": known_account}),
    );

    // A new lead in a cold-call phase → a Salesforce Lead.
    let cold = app_event(
        "create",
        "contact",
        "app-cold",
        s.now(),
        json!({"first_name": "Cole", "last_name": "Caller", "email": "cole@cold.example",
               "phone": "+1 555 0401", "company_name": "Cold Co", "phase": "ColdCallCold"}),
    );
    // A demo set moving it from a cold-call phase to the held phase → a Contact, with its
    // Account connected or created, and (preset: on) an Opportunity at the demo stage.
    let held = app_event(
        "demo_set",
        "contact",
        "app-held",
        s.now(),
        json!({"first_name": "Hana", "last_name": "Held", "email": "hana@held.example",
               "phone": "+1 555 0402", "company_name": "Held Co", "city": "Austin",
               "phase": "HeldPhase", "previous_phase": "ColdCallDM",
               "demo_at": "2026-12-03T15:00:00Z"}),
    );
    // A record carrying a Salesforce Contact id (CSV import) → that Contact, no Lead.
    let imported = app_event(
        "update",
        "contact",
        "app-imported",
        s.now(),
        json!({"last_name": "Known", "title": "CFO", "sf_contact_id": known_contact}),
    );
    let ids: Vec<String> = [&cold, &held, &imported]
        .iter()
        .map(|e| e["event_id"].as_str().unwrap().to_string())
        .collect();
    s.send_events("prod", vec![cold, held, imported]).await;
    let drained = s.drain_push().await;
    assert!(drained.retried.is_empty(), "{drained:#?}");
    for id in &ids {
        let r = s.report("prod", id).await.expect("every event is reported");
        assert_eq!(r.status, ReportStatus::Success, "{r:#?}");
    }

    assert_eq!(
        s.count(PROD_ORG, "Lead", "Email = 'cole@cold.example'")
            .await,
        1
    );
    assert_eq!(
        s.count(PROD_ORG, "Contact", "Email = 'cole@cold.example'")
            .await,
        0
    );

    assert_eq!(
        s.count(PROD_ORG, "Lead", "Email = 'hana@held.example'")
            .await,
        0
    );
    let contact = s
        .soql(
            PROD_ORG,
            "SELECT Id, AccountId FROM Contact WHERE Email = 'hana@held.example'",
        )
        .await;
    assert_eq!(contact.len(), 1, "{contact:?}");
    let accounts = s
        .soql(PROD_ORG, "SELECT Id FROM Account WHERE Name = 'Held Co'")
        .await;
    assert_eq!(accounts.len(), 1, "{accounts:?}");
    assert_eq!(contact[0]["AccountId"], accounts[0]["Id"]);
    let opp = s
        .soql(
            PROD_ORG,
            &format!(
                "SELECT Id, StageName, CloseDate FROM Opportunity WHERE AccountId = '{}'",
                accounts[0]["Id"].as_str().unwrap()
            ),
        )
        .await;
    assert_eq!(opp.len(), 1, "{opp:?}");
    assert_eq!(opp[0]["StageName"], json!("Qualification"));
    assert_eq!(opp[0]["CloseDate"], json!("2026-12-03"));

    assert_eq!(
        s.record(PROD_ORG, "Contact", &known_contact)["Title"],
        json!("CFO")
    );
    assert_eq!(s.count(PROD_ORG, "Lead", "LastName = 'Known'").await, 0);
    assert_eq!(s.count(PROD_ORG, "Contact", "LastName = 'Known'").await, 1);
}

async fn sale_connects_account_and_contact_and_closes_won(backend: Backend) {
    let s = connected(backend).await;
    // Candidates: the phone matches one Account whose name matches (connect); a namesake
    // elsewhere must not be chosen. Under it, two contacts share the phone; the last name
    // picks one.
    let phone = "+1 555 0500";
    let account = s.insert(
        PROD_ORG,
        "Account",
        json!({"Name": "Cascade Corp", "Phone": phone, "BillingCity": "Austin"}),
    );
    s.insert(
        PROD_ORG,
        "Account",
        json!({"Name": "Cascade Corp", "Phone": "+1 555 0599", "BillingCity": "Boston"}),
    );
    let rivera = s.insert(
        PROD_ORG,
        "Contact",
        json!({"LastName": "Rivera", "FirstName": "Rosa", "Phone": phone, "AccountId": account}),
    );
    s.insert(
        PROD_ORG,
        "Contact",
        json!({"LastName": "Other", "Phone": phone, "AccountId": account}),
    );

    let mut sale = app_event(
        "sale",
        "contact",
        "app-sale-1",
        s.now(),
        json!({"first_name": "Rosa", "last_name": "Rivera", "phone": phone,
               "company_name": "Cascade Corp", "city": "Austin",
               "name": "Cascade Corp - Widgets", "amount": 4200}),
    );
    sale["sale_items"] = json!([
        {"name": "Widget Pro", "quantity": 2, "unit_price": 1500},
        {"name": "Onboarding", "quantity": 1, "unit_price": 1200}
    ]);
    let event_id = sale["event_id"].as_str().unwrap().to_string();
    s.send_events("prod", vec![sale]).await;
    let drained = s.drain_push().await;
    let report = s.report("prod", &event_id).await.expect("reported");
    assert_eq!(
        report.status,
        ReportStatus::Success,
        "{report:#?} {drained:#?}"
    );

    assert_eq!(
        s.count(PROD_ORG, "Account", "Name = 'Cascade Corp'").await,
        2,
        "the sale connected to the existing Account"
    );
    assert_eq!(
        s.count(PROD_ORG, "Contact", "LastName = 'Rivera'").await,
        1,
        "the sale connected to the existing Contact"
    );
    let opps = s
        .soql(
            PROD_ORG,
            &format!("SELECT Id, Name, StageName, AccountId, Amount FROM Opportunity WHERE AccountId = '{account}'"),
        )
        .await;
    assert_eq!(opps.len(), 1, "{opps:?}");
    assert_eq!(opps[0]["StageName"], json!("Closed Won"));
    assert_eq!(opps[0]["Name"], json!("Cascade Corp - Widgets"));
    assert_eq!(opps[0]["Amount"].as_f64(), Some(4200.0));
    let opp_id = opps[0]["Id"].as_str().unwrap();
    let items = s
        .soql(
            PROD_ORG,
            &format!("SELECT Description, Quantity, UnitPrice FROM OpportunityLineItem WHERE OpportunityId = '{opp_id}' ORDER BY Description"),
        )
        .await;
    assert_eq!(items.len(), 2, "{items:?}");
    assert_eq!(items[0]["Description"], json!("Onboarding"));
    assert_eq!(items[1]["Description"], json!("Widget Pro"));
    assert_eq!(items[1]["Quantity"].as_f64(), Some(2.0));
    // The contact that matched is the one the sale linked.
    let links = s
        .app
        .stores
        .links
        .get_by_sf_id(&s.tenant, &s.conn("prod"), &rivera)
        .await
        .unwrap()
        .expect("the matched contact is linked");
    assert_eq!(links.app_id, "app-sale-1");

    // A sale for an unknown business creates the whole chain.
    let mut sale = app_event(
        "sale",
        "contact",
        "app-sale-2",
        s.now(),
        json!({"first_name": "Nia", "last_name": "Newman", "phone": "+1 555 0510",
               "company_name": "Brand New Bakery", "city": "Chicago", "amount": 900}),
    );
    sale["sale_items"] = json!([{"name": "Widget Pro", "quantity": 1, "unit_price": 900}]);
    let event_id = sale["event_id"].as_str().unwrap().to_string();
    s.send_events("prod", vec![sale]).await;
    s.drain_push().await;
    let report = s.report("prod", &event_id).await.expect("reported");
    assert_eq!(report.status, ReportStatus::Success, "{report:#?}");
    let acc = s
        .soql(
            PROD_ORG,
            "SELECT Id FROM Account WHERE Name = 'Brand New Bakery'",
        )
        .await;
    assert_eq!(acc.len(), 1);
    let acc = acc[0]["Id"].as_str().unwrap();
    assert_eq!(
        s.count(
            PROD_ORG,
            "Contact",
            &format!("AccountId = '{acc}' AND LastName = 'Newman'")
        )
        .await,
        1
    );
    assert_eq!(
        s.count(
            PROD_ORG,
            "Opportunity",
            &format!("AccountId = '{acc}' AND StageName = 'Closed Won'")
        )
        .await,
        1
    );
}

async fn field_rules_hold_both_ways(backend: Backend) {
    let s = connected(backend).await;
    // Contact.Title: the app owns it (AppOnly). LeadSource: Salesforce unless blank (preset).
    s.edit_config("prod", |c| {
        let contact = c.objects.get_mut("Contact").unwrap();
        contact
            .fields
            .iter_mut()
            .find(|m| m.salesforce_field == "Title")
            .unwrap()
            .rule = crmsync_core::config::SyncRule::AppOnly;
    })
    .await;
    s.poll("prod").await;

    // Outbound: a SalesforceUnlessBlank field is not pushed.
    let ev = app_event(
        "create",
        "contact",
        "app-rules-1",
        s.now(),
        json!({"last_name": "Rules", "phone": "+1 555 0600", "email": "rules@rules.example",
               "company_name": "Rules Inc", "lead_source": "App Signup"}),
    );
    s.send_events("prod", vec![ev]).await;
    let drained = s.drain_push().await;
    let sf_id = drained.outcomes[0].sf_id.clone().expect("written");
    let lead = s.record(PROD_ORG, "Lead", &sf_id);
    assert_eq!(lead["LastName"], json!("Rules"));
    assert_ne!(
        lead.get("LeadSource"),
        Some(&json!("App Signup")),
        "a SalesforceUnlessBlank field was pushed: {lead:?}"
    );

    // Inbound: an AppOnly field is not pulled in; a SalesforceUnlessBlank one is, unless blank.
    s.advance(chrono::Duration::minutes(1));
    let contact = s.insert(
        PROD_ORG,
        "Contact",
        json!({"LastName": "Inbound", "Phone": "+1 555 0601", "Title": "Chief Hidden Officer",
               "LeadSource": "Partner Referral"}),
    );
    let before = s.last_seq().await;
    s.poll("prod").await;
    let got = s.changes_after(before).await;
    let mine = find_changes(&got, &contact);
    assert_eq!(mine.len(), 1, "{got:#?}");
    let fields = &mine[0].payload["fields"];
    assert_eq!(str_field(fields, "last_name"), Some("Inbound"));
    assert!(
        fields.get("title").is_none(),
        "AppOnly field pulled in: {fields}"
    );
    assert_eq!(str_field(fields, "lead_source"), Some("Partner Referral"));

    s.advance(chrono::Duration::minutes(1));
    s.update(
        PROD_ORG,
        "Contact",
        &contact,
        json!({"LeadSource": null, "FirstName": "Ina"}),
    );
    let before = s.last_seq().await;
    s.poll("prod").await;
    let got = s.changes_after(before).await;
    let mine = find_changes(&got, &contact);
    assert_eq!(mine.len(), 1, "{got:#?}");
    let fields = &mine[0].payload["fields"];
    assert_eq!(str_field(fields, "first_name"), Some("Ina"));
    assert!(
        fields.get("lead_source").is_none(),
        "a blank SalesforceUnlessBlank value was pulled in: {fields}"
    );
}

async fn validation_failure_is_reported_and_repush_succeeds_after_fix(backend: Backend) {
    let s = connected(backend).await;
    let deal = |app_id: &str, name: &str, amount: f64| {
        app_event(
            "create",
            "deal",
            app_id,
            s.now(),
            json!({"name": name, "stage": "qualification", "close_date": "2026-12-15",
                   "amount": amount}),
        )
    };
    let big = deal("app-deal-big", "Big Deal", 25_000.0);
    let small = deal("app-deal-small", "Small Deal", 5_000.0);
    let person = app_event(
        "create",
        "contact",
        "app-bystander",
        s.now(),
        json!({"last_name": "Bystander", "phone": "+1 555 0700", "company_name": "By Co",
               "email": "by@stander.example"}),
    );
    let big_id = big["event_id"].as_str().unwrap().to_string();
    let others: Vec<String> = [&small, &person]
        .iter()
        .map(|e| e["event_id"].as_str().unwrap().to_string())
        .collect();
    s.send_events("prod", vec![big, small, person]).await;
    let drained = s.drain_push().await;
    assert!(drained.retried.is_empty(), "{drained:#?}");

    let failed = s.report("prod", &big_id).await.expect("reported");
    assert_eq!(failed.status, ReportStatus::Error, "{failed:#?}");
    assert_eq!(
        failed.code.as_deref(),
        Some("FIELD_CUSTOM_VALIDATION_EXCEPTION"),
        "{failed:#?}"
    );
    let reason = failed.reason.clone().unwrap_or_default();
    assert!(
        reason.contains("Amount must be between 0 and 10,000"),
        "the reason is Salesforce's: {reason}"
    );
    assert!(failed.payload.is_some(), "kept for re-push");
    for id in &others {
        let ok = s.report("prod", id).await.expect("reported");
        assert_eq!(ok.status, ReportStatus::Success, "{ok:#?}");
    }
    assert_eq!(
        s.count(PROD_ORG, "Opportunity", "Name = 'Small Deal'")
            .await,
        1
    );
    assert_eq!(
        s.count(PROD_ORG, "Opportunity", "Name = 'Big Deal'").await,
        0
    );
    assert_eq!(s.count(PROD_ORG, "Lead", "LastName = 'Bystander'").await, 1);

    // Fix the config (stop sending Amount), re-push the failed event.
    s.edit_config("prod", |c| {
        c.objects
            .get_mut("Opportunity")
            .unwrap()
            .fields
            .retain(|m| m.salesforce_field != "Amount");
    })
    .await;
    parked::repush(&s.app, &s.tenant, &s.conn("prod"), &big_id)
        .await
        .expect("re-push accepted");
    let drained = s.drain_push().await;
    assert!(drained.retried.is_empty(), "{drained:#?}");
    let fixed = s.report("prod", &big_id).await.expect("reported");
    assert_eq!(fixed.status, ReportStatus::Success, "{fixed:#?}");
    let opps = s
        .soql(
            PROD_ORG,
            "SELECT Id, Amount FROM Opportunity WHERE Name = 'Big Deal'",
        )
        .await;
    assert_eq!(opps.len(), 1, "{opps:?}");
    assert!(
        opps[0].get("Amount").is_none_or(|v| v.is_null()),
        "{opps:?}"
    );
    assert_eq!(fixed.sf_id.as_deref(), opps[0]["Id"].as_str());
}

async fn demo_set_then_sale_closes_the_same_opportunity(backend: Backend) {
    let s = connected(backend).await;
    let phone = "+1 555 1900";
    // The demo is set: Contact + Account + an Opportunity at the demo stage.
    let demo = app_event(
        "demo_set",
        "contact",
        "app-cycle",
        s.now(),
        json!({"first_name": "Cy", "last_name": "Cycle", "phone": phone,
               "email": "cy@cycle.example", "company_name": "Cycle Co", "city": "Denver",
               "phase": "HeldPhase", "previous_phase": "ColdCallWorkingNum",
               "demo_at": "2026-12-10T10:00:00Z"}),
    );
    s.send_events("prod", vec![demo]).await;
    s.drain_push().await;
    let account = s
        .soql(PROD_ORG, "SELECT Id FROM Account WHERE Name = 'Cycle Co'")
        .await;
    assert_eq!(account.len(), 1, "{account:?}");
    let account = account[0]["Id"].as_str().unwrap().to_string();
    let opps = s
        .soql(
            PROD_ORG,
            &format!("SELECT Id, StageName FROM Opportunity WHERE AccountId = '{account}'"),
        )
        .await;
    assert_eq!(opps.len(), 1, "{opps:?}");
    assert_eq!(opps[0]["StageName"], json!("Qualification"));
    let opp = opps[0]["Id"].as_str().unwrap().to_string();

    // The sale in the same cycle closes that Opportunity (seed 003), adds its line items,
    // and connects the lead's associated contact under the same Account.
    let mut sale = app_event(
        "sale",
        "contact",
        "app-cycle",
        s.now(),
        json!({"first_name": "Cy", "last_name": "Cycle", "phone": phone,
               "company_name": "Cycle Co", "city": "Denver", "amount": 3000}),
    );
    sale["sale_items"] = json!([{"name": "Annual plan", "quantity": 1, "unit_price": 3000}]);
    sale["associated_contacts"] = json!([
        {"app_id": "app-cycle-partner",
         "fields": {"first_name": "Pat", "last_name": "Partner", "phone": "+1 555 1901"}}
    ]);
    let sale_id = sale["event_id"].as_str().unwrap().to_string();
    s.send_events("prod", vec![sale]).await;
    let drained = s.drain_push().await;
    let r = s.report("prod", &sale_id).await.expect("reported");
    assert_eq!(r.status, ReportStatus::Success, "{r:#?} {drained:#?}");

    let opps = s
        .soql(
            PROD_ORG,
            &format!("SELECT Id, StageName, Amount FROM Opportunity WHERE AccountId = '{account}'"),
        )
        .await;
    assert_eq!(
        opps.len(),
        1,
        "the sale closes the cycle's Opportunity: {opps:?}"
    );
    assert_eq!(opps[0]["Id"], json!(opp));
    assert_eq!(opps[0]["StageName"], json!("Closed Won"));
    assert_eq!(opps[0]["Amount"].as_f64(), Some(3000.0));
    let items = s
        .soql(
            PROD_ORG,
            &format!("SELECT Description FROM OpportunityLineItem WHERE OpportunityId = '{opp}'"),
        )
        .await;
    assert_eq!(items.len(), 1, "{items:?}");
    assert_eq!(s.count(PROD_ORG, "Account", "Name = 'Cycle Co'").await, 1);
    assert_eq!(s.count(PROD_ORG, "Contact", "LastName = 'Cycle'").await, 1);
    assert_eq!(
        s.count(
            PROD_ORG,
            "Contact",
            &format!("LastName = 'Partner' AND AccountId = '{account}'")
        )
        .await,
        1,
        "the associated contact is under the same Account"
    );
}

/// A failure no retry can fix (here the config enables an object the org does not have,
/// so its describe answers NOT_FOUND) is reported per event, with the reason and the
/// payload kept for re-push, instead of being redelivered into the dead-letter queue.
async fn a_batch_that_cannot_run_is_reported_not_cycled_to_the_dead_letter_queue(backend: Backend) {
    let s = connected(backend).await;
    s.edit_config("prod", |c| {
        let mut missing = c.objects["Account"].clone();
        missing.fields.clear();
        c.objects.insert("Missing__c".into(), missing);
    })
    .await;
    let event = app_event(
        "create",
        "contact",
        "app-unlucky",
        s.now(),
        json!({"last_name": "Unlucky", "phone": "+1 555 0701", "email": "un@lucky.example"}),
    );
    let id = event["event_id"].as_str().unwrap().to_string();
    s.send_events("prod", vec![event]).await;
    let drained = s.drain_push().await;
    assert!(drained.retried.is_empty(), "not redelivered: {drained:#?}");
    let r = s.report("prod", &id).await.expect("reported");
    assert_eq!(r.status, ReportStatus::Error, "{r:#?}");
    assert!(
        r.reason
            .as_deref()
            .unwrap_or_default()
            .contains("Missing__c"),
        "{r:#?}"
    );
    assert!(r.payload.is_some(), "kept for re-push");
}
