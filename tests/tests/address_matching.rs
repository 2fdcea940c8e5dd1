//! Issue 13 item 9 (seed 002: "if no CRM ID match is found, it attempts to match the
//! Property by address"): a company that matches no Account by phone or by name connects
//! to the one Account at its street and postal code instead of creating a second one, when
//! the config names the app's address fields; two Accounts at the address stay ambiguous.

use crmsync_e2e::*;
use crmsync_store::{Environment, ReportStatus};
use serde_json::json;

e2e!(a_company_matches_the_one_account_at_its_address);

async fn a_company_matches_the_one_account_at_its_address(backend: Backend) {
    let s = Stack::start(backend).await;
    s.connect("prod", Environment::Production).await;
    s.edit_config("prod", |c| {
        c.matching.app_street_field = Some("street".into());
        c.matching.app_postal_code_field = Some("postal_code".into());
    })
    .await;
    let existing = s.insert(
        PROD_ORG,
        "Account",
        json!({"Name": "Quayside Holdings", "Phone": "+1 555 0700",
               "BillingStreet": "12 Quay Street, Suite 4", "BillingPostalCode": "LS1 4AB"}),
    );
    // Two Accounts share another address: no guess there.
    for name in ["Dock One", "Dock Two"] {
        s.insert(
            PROD_ORG,
            "Account",
            json!({"Name": name, "BillingStreet": "99 Dock Road", "BillingPostalCode": "LS2 9ZZ"}),
        );
    }
    let accounts_before = s.sf.record_count(PROD_ORG, "Account").unwrap();

    let at_quay = app_event(
        "create",
        "company",
        "co-quay",
        s.now(),
        json!({"company_name": "Harbour Properties", "phone": "+1 555 0999",
               "street": "12 Quay St. Ste 4", "postal_code": "ls1 4ab"}),
    );
    let at_dock = app_event(
        "create",
        "company",
        "co-dock",
        s.now(),
        json!({"company_name": "Dockside Lofts", "phone": "+1 555 0998",
               "street": "99 Dock Road", "postal_code": "LS2 9ZZ"}),
    );
    let (quay_id, dock_id) = (
        at_quay["event_id"].as_str().unwrap().to_string(),
        at_dock["event_id"].as_str().unwrap().to_string(),
    );
    s.send_events("prod", vec![at_quay, at_dock]).await;
    s.drain_push().await;

    let quay = s.report("prod", &quay_id).await.expect("reported");
    assert_eq!(quay.status, ReportStatus::Success, "{quay:?}");
    assert_eq!(quay.sf_id.as_deref(), Some(existing.as_str()), "{quay:?}");
    let dock = s.report("prod", &dock_id).await.expect("reported");
    assert_eq!(dock.status, ReportStatus::Success, "{dock:?}");
    assert_ne!(dock.sf_id.as_deref(), Some(existing.as_str()));
    // One new Account (the ambiguous address), none for the matched one.
    assert_eq!(
        s.sf.record_count(PROD_ORG, "Account").unwrap(),
        accounts_before + 1
    );
    let link = s
        .app
        .stores
        .links
        .get_by_sf_id(&s.tenant, &s.conn("prod"), &existing)
        .await
        .unwrap()
        .expect("the matched Account is linked");
    assert_eq!(link.app_id, "co-quay");
}
