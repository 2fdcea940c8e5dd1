//! Record types (issue 9, item 6): a config with `record_type_id` for Lead creates Leads of
//! that record type; one the org lacks (unknown, inactive or another object's) is reported
//! by the config status before any push, and a push refuses it naming the config path.

use crmsync_e2e::*;
use crmsync_service::reports::config_status;
use crmsync_store::{Environment, ReportStatus};
use serde_json::json;
use sf_emulator::RecordTypeSpec;

e2e!(
    a_lead_lands_with_the_configured_record_type,
    a_record_type_the_org_lacks_is_reported_clearly,
);

async fn with_record_types(backend: Backend) -> Stack {
    let options = StackOptions {
        record_types: vec![
            RecordTypeSpec::new("Lead", "Direct_Lead").as_default(),
            RecordTypeSpec::new("Lead", "Partner_Lead"),
            RecordTypeSpec::new("Lead", "Retired_Lead").inactive(),
            RecordTypeSpec::new("Account", "Reseller"),
        ],
        ..StackOptions::default()
    };
    let s = Stack::start_with(backend, options).await;
    s.connect("prod", Environment::Production).await;
    s
}

async fn record_type(s: &Stack, developer_name: &str) -> String {
    let rows = s
        .soql(
            PROD_ORG,
            &format!("SELECT Id FROM RecordType WHERE DeveloperName = '{developer_name}'"),
        )
        .await;
    assert_eq!(rows.len(), 1, "{developer_name}: {rows:?}");
    rows[0]["Id"].as_str().unwrap().to_string()
}

/// Pushes a new cold-call lead (its own phone, so no earlier lead matches); returns its
/// event id.
async fn push_lead(s: &Stack, app_id: &str, email: &str, phone: &str) -> String {
    let event = app_event(
        "create",
        "contact",
        app_id,
        s.now(),
        json!({"last_name": "Typed", "email": email, "phone": phone,
               "company_name": "Typed Co", "phase": "ColdCallCold"}),
    );
    let event_id = event["event_id"].as_str().unwrap().to_string();
    s.send_events("prod", vec![event]).await;
    let drained = s.drain_push().await;
    assert!(drained.retried.is_empty(), "{drained:#?}");
    event_id
}

async fn a_lead_lands_with_the_configured_record_type(backend: Backend) {
    let s = with_record_types(backend).await;
    let partner = record_type(&s, "Partner_Lead").await;
    let direct = record_type(&s, "Direct_Lead").await;
    s.edit_config("prod", |c| {
        c.objects.get_mut("Lead").unwrap().record_type_id = Some(partner.clone())
    })
    .await;
    let status = config_status(&s.app, &s.tenant, &s.conn("prod"))
        .await
        .expect("config status");
    assert!(
        status
            .readiness
            .iter()
            .all(|p| !p.path.contains("record_type_id")),
        "{status:#?}"
    );

    let event_id = push_lead(&s, "app-partner", "pat@partner.example", "+1 555 0601").await;
    let report = s.report("prod", &event_id).await.expect("reported");
    assert_eq!(report.status, ReportStatus::Success, "{report:#?}");
    let lead = s
        .soql(
            PROD_ORG,
            "SELECT Id, RecordTypeId, RecordType.DeveloperName FROM Lead WHERE Email = 'pat@partner.example'",
        )
        .await;
    assert_eq!(lead.len(), 1, "{lead:?}");
    assert_eq!(lead[0]["RecordTypeId"], json!(partner));
    assert_eq!(
        lead[0]["RecordType"]["DeveloperName"],
        json!("Partner_Lead")
    );

    // Without a configured record type Salesforce assigns the default.
    s.edit_config("prod", |c| {
        c.objects.get_mut("Lead").unwrap().record_type_id = None
    })
    .await;
    push_lead(&s, "app-direct", "dee@direct.example", "+1 555 0602").await;
    let lead = s
        .soql(
            PROD_ORG,
            "SELECT RecordTypeId FROM Lead WHERE Email = 'dee@direct.example'",
        )
        .await;
    assert_eq!(lead[0]["RecordTypeId"], json!(direct), "{lead:?}");

    // The poll selects RecordTypeId for an object with a configured record type.
    s.edit_config("prod", |c| {
        c.objects.get_mut("Lead").unwrap().record_type_id = Some(partner.clone())
    })
    .await;
    s.advance(chrono::Duration::minutes(1));
    s.poll("prod").await;
}

async fn a_record_type_the_org_lacks_is_reported_clearly(backend: Backend) {
    let s = with_record_types(backend).await;
    let retired = record_type(&s, "Retired_Lead").await;
    let reseller = record_type(&s, "Reseller").await;
    for (i, lacking) in [retired, reseller, "012000000000099AAA".to_string()]
        .into_iter()
        .enumerate()
    {
        s.edit_config("prod", |c| {
            c.objects.get_mut("Lead").unwrap().record_type_id = Some(lacking.clone())
        })
        .await;
        let status = config_status(&s.app, &s.tenant, &s.conn("prod"))
            .await
            .expect("config status");
        assert!(!status.ready, "{status:#?}");
        let problem = status
            .readiness
            .iter()
            .find(|p| p.path == "objects.Lead.record_type_id")
            .unwrap_or_else(|| panic!("{lacking}: no record type problem in {status:#?}"));
        assert!(problem.message.contains(&lacking), "{problem:?}");

        let email = format!("lack{i}@lacking.example");
        let event_id = push_lead(
            &s,
            &format!("app-lack-{i}"),
            &email,
            &format!("+1 555 061{i}"),
        )
        .await;
        let report = s.report("prod", &event_id).await.expect("reported");
        assert_eq!(report.status, ReportStatus::Error, "{report:#?}");
        let reason = report.reason.clone().unwrap_or_default();
        assert!(
            reason.contains("record_type_id") && reason.contains(&lacking),
            "{report:#?}"
        );
        assert_eq!(
            s.count(PROD_ORG, "Lead", &format!("Email = '{email}'"))
                .await,
            0
        );
    }
}
