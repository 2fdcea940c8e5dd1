//! Scenario 2: a test sync on a small segment (records modified in the last 24 hours) of
//! the demo org brings only that segment; owners map by email, unmapped owners get the
//! default owner and are listed; Lead → contact with lead type, Account → company linked
//! to its contacts, Opportunity → deal through the stage map.

use crmsync_core::config::{FieldMapping, SyncRule};
use crmsync_core::transform::FieldKind;
use crmsync_e2e::*;
use crmsync_service::poll::{TestSegment, test_sync};
use crmsync_service::runs::RunStatus;
use crmsync_store::Environment;
use serde_json::json;

e2e!(test_sync_brings_only_the_segment);

const MAPPED_APP_USER: &str = "app-user-ava";
const DEFAULT_OWNER: &str = "app-user-sales-ops";

async fn test_sync_brings_only_the_segment(backend: Backend) {
    let s = Stack::start_with(
        backend,
        StackOptions {
            demo_data: true,
            ..StackOptions::default()
        },
    )
    .await;
    s.connect("prod", Environment::Production).await;
    s.edit_config("prod", |c| {
        c.owners
            .app_users
            .insert(Stack::MAPPED_USER.into(), MAPPED_APP_USER.into());
        c.owners.default_owner = Some(DEFAULT_OWNER.into());
        // The app wants each contact's company: map the Account reference.
        c.objects
            .get_mut("Contact")
            .unwrap()
            .fields
            .push(FieldMapping::new(
                "company_sf_id",
                "AccountId",
                SyncRule::SalesforceUnlessBlank,
                FieldKind::String,
            ));
    })
    .await;

    // Age the demo data: everything generated is now at least 30 days old.
    s.advance(chrono::Duration::days(30));
    let mapped = s.user_id(PROD_ORG, Stack::MAPPED_USER);
    let unmapped = s.user_id(PROD_ORG, Stack::UNMAPPED_USER);

    // The segment: what changed in the last day.
    let lead_mapped = s.insert(
        PROD_ORG,
        "Lead",
        json!({"FirstName": "Lena", "LastName": "Segment", "Company": "Segment Co",
               "Email": "lena.segment@segment.example", "Phone": "+1 555 0101",
               "Status": "Working - Contacted", "OwnerId": mapped}),
    );
    let lead_unmapped = s.insert(
        PROD_ORG,
        "Lead",
        json!({"FirstName": "Omar", "LastName": "Unowned", "Company": "Elsewhere LLC",
               "Email": "omar.unowned@elsewhere.example", "Phone": "+1 555 0102",
               "Status": "Open - Not Contacted", "OwnerId": unmapped}),
    );
    let account = s.insert(
        PROD_ORG,
        "Account",
        json!({"Name": "Segment Widgets Ltd", "Phone": "+1 555 0110",
               "BillingCity": "Austin", "OwnerId": mapped}),
    );
    let contact_a = s.insert(
        PROD_ORG,
        "Contact",
        json!({"FirstName": "Cara", "LastName": "Widget", "Phone": "+1 555 0111",
               "Email": "cara@segmentwidgets.example", "AccountId": account, "OwnerId": mapped}),
    );
    let contact_b = s.insert(
        PROD_ORG,
        "Contact",
        json!({"FirstName": "Ben", "LastName": "Widget", "Phone": "+1 555 0112",
               "Email": "ben@segmentwidgets.example", "AccountId": account, "OwnerId": unmapped}),
    );
    let deal = s.insert(
        PROD_ORG,
        "Opportunity",
        json!({"Name": "Segment Widgets - Renewal", "AccountId": account,
               "StageName": "Closed Won", "Amount": 5000.0, "CloseDate": "2026-12-01",
               "OwnerId": mapped}),
    );

    let before = s.last_seq().await;
    let run = test_sync(
        &s.app,
        &s.tenant,
        &s.conn("prod"),
        TestSegment {
            objects: Some(vec![
                "Lead".into(),
                "Contact".into(),
                "Account".into(),
                "Opportunity".into(),
            ]),
            modified_within_hours: Some(24),
            ..TestSegment::default()
        },
    )
    .await
    .expect("test sync runs");
    assert_eq!(run.status, RunStatus::Completed, "{run:#?}");
    for (object, n) in [
        ("Lead", 2),
        ("Contact", 2),
        ("Account", 1),
        ("Opportunity", 1),
    ] {
        let stats = run.objects.get(object).cloned().unwrap_or_default();
        assert_eq!(stats.fetched, n, "{object}: {run:#?}");
        assert_eq!(stats.created, n, "{object}: {run:#?}");
        assert_eq!(stats.errors, 0, "{object}: {run:#?}");
    }
    assert!(
        run.unmapped_owners
            .iter()
            .any(|e| e.eq_ignore_ascii_case(Stack::UNMAPPED_USER)),
        "unmapped owner listed: {:?}",
        run.unmapped_owners
    );
    assert!(
        !run.unmapped_owners
            .iter()
            .any(|e| e.eq_ignore_ascii_case(Stack::MAPPED_USER)),
        "{:?}",
        run.unmapped_owners
    );

    // Only the segment reached the change feed: six records, none of the 670 demo ones.
    let changes = s.changes_after(before).await;
    let ids: std::collections::BTreeSet<&str> = changes.iter().map(|c| c.sf_id.as_str()).collect();
    let expected: std::collections::BTreeSet<&str> = [
        lead_mapped.as_str(),
        lead_unmapped.as_str(),
        account.as_str(),
        contact_a.as_str(),
        contact_b.as_str(),
        deal.as_str(),
    ]
    .into();
    assert_eq!(ids, expected, "{changes:#?}");
    assert_eq!(changes.len(), 6);

    let payload = |id: &str| find_changes(&changes, id)[0].payload.clone();
    let fields = |id: &str| payload(id)["fields"].clone();

    // Lead → contact with lead type; owners by email, default owner otherwise.
    let l = payload(&lead_mapped);
    assert_eq!(str_field(&l, "app_object"), Some("contact"));
    assert_eq!(str_field(&l, "action"), Some("create"));
    assert_eq!(str_field(&l["fields"], "lead_type"), Some("lead"));
    assert_eq!(str_field(&l["fields"], "last_name"), Some("Segment"));
    assert_eq!(
        str_field(&l["fields"], "email"),
        Some("lena.segment@segment.example")
    );
    assert_eq!(
        str_field(&l["fields"], "lead_status"),
        Some("Working - Contacted")
    );
    assert_eq!(str_field(&l["fields"], "owner_id"), Some(MAPPED_APP_USER));
    assert_eq!(
        str_field(&fields(&lead_unmapped), "owner_id"),
        Some(DEFAULT_OWNER)
    );

    // Account → company; its contacts carry the link to it.
    let a = payload(&account);
    assert_eq!(str_field(&a, "app_object"), Some("company"));
    assert_eq!(
        str_field(&a["fields"], "company_name"),
        Some("Segment Widgets Ltd")
    );
    for c in [&contact_a, &contact_b] {
        let p = payload(c);
        assert_eq!(str_field(&p, "app_object"), Some("contact"));
        assert_eq!(str_field(&p["fields"], "lead_type"), Some("contact"));
        assert_eq!(
            str_field(&p["fields"], "company_sf_id"),
            Some(account.as_str()),
            "contact {c} is linked to its company: {p}"
        );
    }
    assert_eq!(
        str_field(&fields(&contact_b), "owner_id"),
        Some(DEFAULT_OWNER)
    );

    // Opportunity → deal through the stage map.
    let d = payload(&deal);
    assert_eq!(str_field(&d, "app_object"), Some("deal"));
    assert_eq!(str_field(&d["fields"], "stage"), Some("won"));
    assert_eq!(d["fields"]["amount"].as_f64(), Some(5000.0));

    // A test sync does not move the pull cursors.
    for object in ["Lead", "Contact", "Account", "Opportunity"] {
        let cursor = s
            .app
            .stores
            .cursors
            .get(&s.tenant, &s.conn("prod"), object)
            .await
            .unwrap();
        assert_eq!(cursor.position, None, "{object}");
    }
}
