//! Issue 13, item 7 (seed 003, "Multi-site / location sync"): at a sale, each value of
//! the app's multi-value `locations` field becomes one `Site__c` under the company's
//! Account, matched by Account and name so a redelivered or repeated sale creates
//! nothing twice; the "Organization" option makes one `Organization__c` for the company
//! and points the sites at it; and a custom object polls into an app object.

use crmsync_core::config::{
    CustomObjectsConfig, FieldMapping, ObjectConfig, OrganizationConfig, SitesConfig,
};
use crmsync_core::types::AppObject;
use crmsync_e2e::*;
use crmsync_service::{parked, push};
use crmsync_store::{ChangeKind, Environment, ReportStatus};
use serde_json::{Value, json};
use sf_emulator::schema::ObjectDef;

e2e!(
    a_sale_creates_one_site_per_location_and_never_twice,
    the_organization_option_makes_one_record_for_the_company,
    a_company_event_carrying_locations_writes_its_sites,
    a_site_field_the_org_lacks_is_reported_on_the_event,
    a_custom_object_is_polled_into_an_app_object,
    a_sale_reported_before_its_sites_finishes_them_when_delivered_again,
);

fn objects() -> Vec<ObjectDef> {
    let def = |v: Value| serde_json::from_value::<ObjectDef>(v).expect("object definition");
    vec![
        def(
            json!({"name": "Organization__c", "label": "Organization", "fields": [
                {"name": "Account__c", "type": "reference", "referenceTo": ["Account"]}
            ]}),
        ),
        def(json!({"name": "Site__c", "label": "Site", "fields": [
            {"name": "Account__c", "type": "reference", "referenceTo": ["Account"]},
            {"name": "Organization__c", "type": "reference", "referenceTo": ["Organization__c"]},
            {"name": "Site_Key__c", "type": "string", "length": 255}
        ]})),
    ]
}

async fn connected(backend: Backend) -> Stack {
    let options = StackOptions {
        custom_objects: objects(),
        ..StackOptions::default()
    };
    let s = Stack::start_with(backend, options).await;
    s.connect("prod", Environment::Production).await;
    s
}

fn sites() -> SitesConfig {
    SitesConfig {
        object: "Site__c".into(),
        parent_field: Some("Account__c".into()),
        app_list_field: "locations".into(),
        name_field: "Name".into(),
        key_field: Some("Site_Key__c".into()),
        organization_field: None,
    }
}

fn sale(s: &Stack, app_id: &str, company: &str, locations: Value) -> Value {
    let mut sale = app_event(
        "sale",
        "contact",
        app_id,
        s.now(),
        json!({"first_name": "Sia", "last_name": "Sites", "phone": "+1 555 0770",
               "email": format!("{app_id}@sites.example"), "company_name": company,
               "city": "Austin", "amount": 900, "locations": locations}),
    );
    sale["sale_items"] = json!([{"name": "Compiler licence", "quantity": 1, "unit_price": 900}]);
    sale
}

async fn push(s: &Stack, event: Value) -> String {
    let id = event["event_id"].as_str().unwrap().to_string();
    s.send_events("prod", vec![event]).await;
    let drained = s.drain_push().await;
    let report = s.report("prod", &id).await.expect("reported");
    assert_eq!(
        report.status,
        ReportStatus::Success,
        "{report:#?} {drained:#?}"
    );
    id
}

async fn account_of(s: &Stack, company: &str) -> String {
    let found = s
        .soql(
            PROD_ORG,
            &format!("SELECT Id FROM Account WHERE Name = '{company}'"),
        )
        .await;
    assert_eq!(found.len(), 1, "{found:?}");
    found[0]["Id"].as_str().unwrap().to_string()
}

async fn site_names(s: &Stack, account: &str) -> Vec<String> {
    s.soql(
        PROD_ORG,
        &format!("SELECT Name FROM Site__c WHERE Account__c = '{account}' ORDER BY Name"),
    )
    .await
    .iter()
    .map(|r| r["Name"].as_str().unwrap_or_default().to_string())
    .collect()
}

async fn a_sale_creates_one_site_per_location_and_never_twice(backend: Backend) {
    let s = connected(backend).await;
    s.edit_config("prod", |c| c.custom_objects.sites = Some(sites()))
        .await;
    let company = "Three Sites Co";
    let first = push(
        &s,
        sale(
            &s,
            "app-sites",
            company,
            json!(["Austin", "Dallas", "Waco"]),
        ),
    )
    .await;
    let account = account_of(&s, company).await;
    assert_eq!(site_names(&s, &account).await, ["Austin", "Dallas", "Waco"]);
    let keyed = s
        .soql(
            PROD_ORG,
            &format!(
                "SELECT Site_Key__c FROM Site__c WHERE Name = 'Austin' AND Account__c = '{account}'"
            ),
        )
        .await;
    assert_eq!(keyed[0]["Site_Key__c"], json!(format!("{account}:austin")));

    // The same event again (an operator's re-push runs it whatever its report says).
    parked::repush(&s.app, &s.tenant, &s.conn("prod"), &first)
        .await
        .expect("re-push");
    s.drain_push().await;
    assert_eq!(
        s.report("prod", &first).await.unwrap().status,
        ReportStatus::Success
    );
    assert_eq!(
        site_names(&s, &account).await,
        ["Austin", "Dallas", "Waco"],
        "a redelivered sale creates no site twice"
    );

    // A later sale of the company with a fourth location (spelled differently for the
    // others, as a multi-line text field) adds only the fourth.
    push(
        &s,
        sale(
            &s,
            "app-sites",
            company,
            json!("austin\nDallas \nWaco\nTemple"),
        ),
    )
    .await;
    assert_eq!(
        site_names(&s, &account).await,
        ["Austin", "Dallas", "Temple", "Waco"]
    );
    // A location removed in the app is left in Salesforce.
    push(&s, sale(&s, "app-sites", company, json!(["Austin"]))).await;
    assert_eq!(site_names(&s, &account).await.len(), 4);
    assert_eq!(s.count(PROD_ORG, "Site__c", "Name != null").await, 4);
}

async fn the_organization_option_makes_one_record_for_the_company(backend: Backend) {
    let s = connected(backend).await;
    s.edit_config("prod", |c| {
        c.custom_objects = CustomObjectsConfig {
            sites: Some(SitesConfig {
                organization_field: Some("Organization__c".into()),
                ..sites()
            }),
            organization: Some(OrganizationConfig {
                object: "Organization__c".into(),
                name_field: "Name".into(),
                app_name_field: "company_name".into(),
                account_field: Some("Account__c".into()),
            }),
        }
    })
    .await;
    let company = "Org Option Co";
    push(&s, sale(&s, "app-org", company, json!(["North", "South"]))).await;
    let account = account_of(&s, company).await;
    let orgs = s
        .soql(PROD_ORG, "SELECT Id, Name, Account__c FROM Organization__c")
        .await;
    assert_eq!(orgs.len(), 1, "{orgs:?}");
    assert_eq!(orgs[0]["Name"], json!(company));
    assert_eq!(orgs[0]["Account__c"], json!(account));
    let org_id = orgs[0]["Id"].as_str().unwrap().to_string();
    let sites = s
        .soql(
            PROD_ORG,
            "SELECT Name, Account__c, Organization__c, Organization__r.Name FROM Site__c ORDER BY Name",
        )
        .await;
    assert_eq!(sites.len(), 2, "{sites:?}");
    for site in &sites {
        assert_eq!(site["Account__c"], json!(account), "{site:?}");
        assert_eq!(site["Organization__c"], json!(org_id), "{site:?}");
        assert_eq!(site["Organization__r"]["Name"], json!(company));
    }

    // A second sale of the company (a new person) finds its Organization by Account.
    push(&s, sale(&s, "app-org-2", company, json!(["North", "East"]))).await;
    assert_eq!(
        s.count(PROD_ORG, "Organization__c", "Name != null").await,
        1
    );
    assert_eq!(site_names(&s, &account).await, ["East", "North", "South"]);
}

async fn a_company_event_carrying_locations_writes_its_sites(backend: Backend) {
    let s = connected(backend).await;
    s.edit_config("prod", |c| c.custom_objects.sites = Some(sites()))
        .await;
    let company = "Company Event Sites";
    let create = app_event(
        "create",
        "company",
        "co-1",
        s.now(),
        json!({"company_name": company, "phone": "+1 555 0780", "locations": ["Plano"]}),
    );
    push(&s, create).await;
    let account = account_of(&s, company).await;
    assert_eq!(site_names(&s, &account).await, ["Plano"]);
    // An update without the list field writes no site and reads none.
    let rename = app_event(
        "update",
        "company",
        "co-1",
        s.now(),
        json!({"phone": "+1 555 0781"}),
    );
    push(&s, rename).await;
    let update = app_event(
        "update",
        "company",
        "co-1",
        s.now(),
        json!({"locations": "Plano\nFrisco"}),
    );
    push(&s, update).await;
    assert_eq!(site_names(&s, &account).await, ["Frisco", "Plano"]);
}

async fn a_site_field_the_org_lacks_is_reported_on_the_event(backend: Backend) {
    let s = connected(backend).await;
    s.edit_config("prod", |c| {
        c.custom_objects.sites = Some(SitesConfig {
            parent_field: Some("Acct__c".into()),
            ..sites()
        })
    })
    .await;
    let event = sale(&s, "app-bad-site", "Bad Site Field Co", json!(["Austin"]));
    let id = event["event_id"].as_str().unwrap().to_string();
    s.send_events("prod", vec![event]).await;
    s.drain_push().await;
    let report = s.report("prod", &id).await.expect("reported");
    assert_eq!(report.status, ReportStatus::Error, "{report:#?}");
    assert_eq!(report.code.as_deref(), Some("INVALID_FIELD"), "{report:#?}");
    let reason = report.reason.unwrap_or_default();
    assert!(
        reason.contains("Acct__c") && reason.contains("re-push"),
        "{reason}"
    );
    // The sale itself was written; no site was.
    account_of(&s, "Bad Site Field Co").await;
    assert_eq!(s.count(PROD_ORG, "Site__c", "Name != null").await, 0);

    // An object the org lacks is Salesforce's NOT_FOUND, on the next sale's report.
    s.edit_config("prod", |c| {
        c.custom_objects.sites = Some(SitesConfig {
            object: "Location__c".into(),
            ..sites()
        })
    })
    .await;
    let other = sale(&s, "app-no-object", "No Object Co", json!(["Austin"]));
    let other_id = other["event_id"].as_str().unwrap().to_string();
    s.send_events("prod", vec![other]).await;
    s.drain_push().await;
    let report = s.report("prod", &other_id).await.expect("reported");
    assert_eq!(
        (report.status, report.code.as_deref()),
        (ReportStatus::Error, Some("NOT_FOUND")),
        "{report:#?}"
    );

    // Fixed config, then the operator's re-push writes the site.
    s.edit_config("prod", |c| c.custom_objects.sites = Some(sites()))
        .await;
    parked::repush(&s.app, &s.tenant, &s.conn("prod"), &id)
        .await
        .expect("re-push");
    s.drain_push().await;
    assert_eq!(
        s.report("prod", &id).await.unwrap().status,
        ReportStatus::Success
    );
    assert_eq!(s.count(PROD_ORG, "Site__c", "Name = 'Austin'").await, 1);
}

async fn a_custom_object_is_polled_into_an_app_object(backend: Backend) {
    let s = connected(backend).await;
    s.edit_config("prod", |c| {
        c.objects.insert(
            "Site__c".into(),
            ObjectConfig::new(
                AppObject::Location,
                vec![
                    FieldMapping::two_way("name", "Name"),
                    FieldMapping::two_way("key", "Site_Key__c"),
                ],
            ),
        );
        c.objects.insert(
            "Organization__c".into(),
            ObjectConfig::new(
                AppObject::Company,
                vec![FieldMapping::two_way("company_name", "Name")],
            ),
        );
    })
    .await;
    let before = s.last_seq().await;
    s.advance(chrono::Duration::seconds(5));
    let org = s.insert(PROD_ORG, "Organization__c", json!({"Name": "Polled Org"}));
    let site = s.insert(
        PROD_ORG,
        "Site__c",
        json!({"Name": "Polled Site", "Organization__c": org, "Site_Key__c": "k-1"}),
    );
    s.advance(chrono::Duration::seconds(5));
    let run = s.poll("prod").await;
    let changes = s.changes_after(before).await;
    let one = |sf_id: &str| {
        let found = find_changes(&changes, sf_id);
        assert_eq!(found.len(), 1, "{run:#?} {changes:#?}");
        found[0].clone()
    };
    let site_change = one(&site);
    assert_eq!(site_change.kind, ChangeKind::Upsert);
    assert_eq!(site_change.object, "Site__c");
    assert_eq!(site_change.payload["app_object"], "location");
    assert_eq!(site_change.payload["action"], "create");
    assert_eq!(
        site_change.app_id.as_deref(),
        Some(format!("sf-{site}").as_str())
    );
    assert_eq!(site_change.payload["fields"]["name"], "Polled Site");
    assert_eq!(site_change.payload["fields"]["key"], "k-1");
    let org_change = one(&org);
    assert_eq!(org_change.payload["app_object"], "company");
    assert_eq!(org_change.payload["fields"]["company_name"], "Polled Org");

    // An edit in Salesforce comes through as an update of the same app record.
    s.advance(chrono::Duration::seconds(5));
    s.update(PROD_ORG, "Site__c", &site, json!({"Name": "Renamed Site"}));
    s.advance(chrono::Duration::seconds(5));
    let after = s.last_seq().await;
    s.poll("prod").await;
    let changes = s.changes_after(after).await;
    let renamed = find_changes(&changes, &site);
    assert_eq!(renamed.len(), 1, "{changes:#?}");
    assert_eq!(renamed[0].payload["fields"]["name"], "Renamed Site");
    assert_eq!(
        renamed[0].app_id.as_deref(),
        Some(format!("sf-{site}").as_str())
    );
}

/// The sites are written after the sale's report. A worker killed (or a store error)
/// between the two leaves a `Success` report and no sites, and the queue delivers the
/// message again: the redelivery, which skips the written sale, still writes the sites.
/// The state is made by reporting the sale before `sites` was configured.
async fn a_sale_reported_before_its_sites_finishes_them_when_delivered_again(backend: Backend) {
    let options = StackOptions {
        custom_objects: objects(),
        per_event_push: true,
        ..StackOptions::default()
    };
    let s = Stack::start_with(backend, options).await;
    s.connect("prod", Environment::Production).await;
    let company = "Late Sites Co";
    let event = sale(&s, "app-late-sites", company, json!(["Austin", "Dallas"]));
    let id = event["event_id"].as_str().unwrap().to_string();
    s.send_events("prod", vec![event]).await;
    let batch = s.receive_push(10).await;
    assert_eq!(batch.len(), 1, "{batch:#?}");
    let first = push::push_batch(&s.app, inbound(&batch)).await;
    assert_eq!(
        first.outcomes[0].status,
        ReportStatus::Success,
        "{first:#?}"
    );
    let account = account_of(&s, company).await;
    assert!(site_names(&s, &account).await.is_empty());

    s.edit_config("prod", |c| c.custom_objects.sites = Some(sites()))
        .await;
    s.advance(
        chrono::Duration::from_std(parked::PUSH_VISIBILITY_TIMEOUT).unwrap()
            + chrono::Duration::seconds(1),
    );
    let again = push::push_batch(&s.app, inbound(&batch)).await;
    assert!(again.retry.is_empty(), "{again:#?}");
    assert_eq!(site_names(&s, &account).await, ["Austin", "Dallas"]);
    let report = s.report("prod", &id).await.expect("reported");
    assert_eq!(report.status, ReportStatus::Success, "{report:#?}");
    // Once more: matched, nothing created twice.
    push::push_batch(&s.app, inbound(&batch)).await;
    assert_eq!(site_names(&s, &account).await, ["Austin", "Dallas"]);
}
