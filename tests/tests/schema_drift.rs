//! Issue 13 item 2: schema drift. A mapped custom field deleted in the org no longer fails
//! every poll: that mapping pauses with its reason (the run says so, `config/status` shows
//! Issue), and the rest keeps syncing both ways. The poll notices at once, through the
//! `INVALID_FIELD` its cached describe earns, and a push leaves the field out with a note.
//! A field whose type changed, or a restricted picklist narrowed under a value map, pauses
//! the same way once the describe is refreshed; unmapped custom fields are listed as
//! available.

use crmsync_core::config::{FieldMapping, SyncRule};
use crmsync_core::provision::{CustomFieldSpec, CustomFieldType};
use crmsync_core::transform::{FieldKind, ValueMap};
use crmsync_e2e::*;
use crmsync_service::{http, provision};
use crmsync_store::{Environment, ReportStatus};
use serde_json::json;
use sf_emulator::schema::FieldType;

e2e!(
    a_deleted_field_pauses_its_mapping_and_the_rest_syncs,
    a_changed_type_or_a_narrowed_picklist_pauses_only_that_mapping,
);

const FIELD: &str = "Drift_Score__c";

async fn a_deleted_field_pauses_its_mapping_and_the_rest_syncs(backend: Backend) {
    let s = Stack::start(backend).await;
    s.connect("prod", Environment::Production).await;
    s.edit_config("prod", |c| {
        c.custom_fields = vec![CustomFieldSpec {
            object: "Lead".into(),
            api_name: FIELD.into(),
            label: "Drift Score".into(),
            kind: CustomFieldType::Number,
            length: None,
            precision: Some(5),
            scale: Some(0),
            values: Vec::new(),
        }];
        c.objects
            .get_mut("Lead")
            .unwrap()
            .fields
            .push(FieldMapping::new(
                "drift_score",
                FIELD,
                SyncRule::TwoWay,
                FieldKind::Number,
            ));
    })
    .await;
    provision::provision(&s.app, &s.tenant, &s.conn("prod"))
        .await
        .expect("provisioning runs");
    s.poll("prod").await;

    // The field syncs while it exists.
    s.advance(chrono::Duration::minutes(1));
    let lead = s.insert(
        PROD_ORG,
        "Lead",
        json!({"FirstName": "Dora", "LastName": "Drift", "Company": "Drift Co",
               "Email": "dora@drift.example", "Phone": "+1 555 0142", FIELD: 5}),
    );
    let seq = s.last_seq().await;
    let first = s.poll("prod").await;
    let changes = s.changes_after(seq).await;
    let change = find_changes(&changes, &lead);
    assert_eq!(change.len(), 1, "{changes:?} {first:?}");
    assert_eq!(
        change[0].payload["fields"]["drift_score"].as_f64(),
        Some(5.0),
        "{changes:?}"
    );

    // An admin deletes the field in Salesforce.
    let conn = s.connection("prod").await;
    let client = s.app.salesforce.client(&conn).unwrap();
    let rows = client.custom_fields(&["Lead"]).await.unwrap();
    let row = rows
        .iter()
        .find(|r| r.developer_name == "Drift_Score")
        .expect("the provisioned field");
    let token = s.sf.mint_tokens(PROD_ORG, &conn.user.username).unwrap();
    let deleted = reqwest::Client::new()
        .delete(format!(
            "{}/services/data/v62.0/tooling/sobjects/CustomField/{}",
            token.instance_url, row.id
        ))
        .bearer_auth(&token.access_token)
        .send()
        .await
        .unwrap();
    assert!(deleted.status().is_success(), "{}", deleted.status());

    // The next poll still syncs the other fields, and says which mapping paused.
    s.advance(chrono::Duration::minutes(1));
    s.update(PROD_ORG, "Lead", &lead, json!({"LastName": "Drifted"}));
    let seq = s.last_seq().await;
    let run = s.poll("prod").await;
    assert!(
        run.messages
            .iter()
            .any(|m| m.contains("Lead.Drift_Score__c") && m.contains("paused")),
        "{run:?}"
    );
    let changes = s.changes_after(seq).await;
    let change = find_changes(&changes, &lead);
    assert_eq!(change.len(), 1, "{changes:?}");
    assert_eq!(
        change[0].payload["fields"]["last_name"], "Drifted",
        "{changes:?}"
    );
    assert!(change[0].payload["fields"].get("drift_score").is_none());
    // And the minute after, too (no poll fails on it).
    s.advance(chrono::Duration::minutes(1));
    s.poll("prod").await;

    // config/status shows the mapping's Issue.
    let api = Api::new(http::report_router(s.app.clone()));
    let status = ok(
        "config/status",
        api.get("/v1/connections/prod/config/status", &s.credentials.api_key)
            .await,
    );
    let mapping = status["mappings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["salesforce_field"] == FIELD)
        .unwrap_or_else(|| panic!("{status}"));
    assert_eq!(mapping["status"], "Issue", "{mapping}");
    assert_eq!(status["ready"], false);

    // A push writes the other fields and notes the paused mapping.
    let app_id = change[0].app_id.clone().expect("the app record");
    let event = app_event(
        "update",
        "contact",
        &app_id,
        s.now(),
        json!({"last_name": "FromApp", "drift_score": 9}),
    );
    let event_id = event["event_id"].as_str().unwrap().to_string();
    s.send_events("prod", vec![event]).await;
    s.drain_push().await;
    let report = s.report("prod", &event_id).await.expect("reported");
    assert_eq!(report.status, ReportStatus::Success, "{report:?}");
    assert_eq!(s.record(PROD_ORG, "Lead", &lead)["LastName"], "FromApp");
}

const TIER: &str = "Loyalty_Tier__c";

async fn a_changed_type_or_a_narrowed_picklist_pauses_only_that_mapping(backend: Backend) {
    let s = Stack::start(backend).await;
    s.connect("prod", Environment::Production).await;
    s.edit_config("prod", |c| {
        // A new custom field nobody maps yet.
        c.custom_fields = vec![CustomFieldSpec {
            object: "Lead".into(),
            api_name: TIER.into(),
            label: "Loyalty Tier".into(),
            kind: CustomFieldType::Text,
            length: Some(40),
            precision: None,
            scale: None,
            values: Vec::new(),
        }];
        let status = c
            .objects
            .get_mut("Lead")
            .unwrap()
            .fields
            .iter_mut()
            .find(|m| m.salesforce_field == "Status")
            .expect("the standard config maps Lead.Status");
        status.values = Some(ValueMap::both_ways([
            ("open", "Open - Not Contacted"),
            ("working", "Working - Contacted"),
        ]));
    })
    .await;
    provision::provision(&s.app, &s.tenant, &s.conn("prod"))
        .await
        .expect("provisioning runs");
    let api = Api::new(http::report_router(s.app.clone()));
    let status = ok(
        "config/status",
        api.get("/v1/connections/prod/config/status", &s.credentials.api_key)
            .await,
    );
    assert_eq!(status["ready"], true, "{status}");
    let available = status["available_fields"].as_array().expect("listed");
    assert!(
        available
            .iter()
            .any(|f| f["object"] == "Lead" && f["field"] == TIER && f["field_type"] == "string"),
        "{status}"
    );
    assert!(
        !available.iter().any(|f| f["field"] == "Crmsync_App_Id__c"),
        "crmsync's own key is not offered: {status}"
    );

    // A Lead the poll links.
    s.poll("prod").await;
    s.advance(chrono::Duration::minutes(1));
    let lead = s.insert(
        PROD_ORG,
        "Lead",
        json!({"FirstName": "Tess", "LastName": "Typed", "Company": "Types Co",
               "Email": "tess@types.example", "Phone": "+1 555 0177", "Title": "Buyer",
               "Status": "Open - Not Contacted"}),
    );
    let seq = s.last_seq().await;
    let linked = s.poll("prod").await;
    let changes = s.changes_after(seq).await;
    let app_id = find_changes(&changes, &lead)
        .first()
        .unwrap_or_else(|| panic!("{linked:?}"))
        .app_id
        .clone()
        .expect("linked");

    // An admin changes Title to a number and drops a status value the value map sends.
    s.sf.alter_field(PROD_ORG, "Lead", "Title", |f| f.ftype = FieldType::Double)
        .unwrap();
    s.sf.alter_field(PROD_ORG, "Lead", "Status", |f| {
        f.picklist_values.retain(|v| v != "Working - Contacted")
    })
    .unwrap();
    // Describes are refreshed on their schedule (15 minutes).
    s.advance(chrono::Duration::minutes(16));

    let status = ok(
        "config/status",
        api.get("/v1/connections/prod/config/status", &s.credentials.api_key)
            .await,
    );
    let mapping = |field: &str| {
        status["mappings"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["object"] == "Lead" && m["salesforce_field"] == field)
            .cloned()
            .unwrap_or_else(|| panic!("{field}: {status}"))
    };
    let title = mapping("Title");
    assert_eq!(title["status"], "Issue", "{title}");
    assert!(
        title["problems"].to_string().contains("type mismatch"),
        "{title}"
    );
    let lead_status = mapping("Status");
    assert_eq!(lead_status["status"], "Issue", "{lead_status}");
    assert!(
        lead_status["problems"]
            .to_string()
            .contains("Working - Contacted"),
        "{lead_status}"
    );
    assert_eq!(mapping("LastName")["status"], "Ok");
    assert_eq!(status["ready"], false);

    // A push writes the rest; the paused mapping and the narrowed value are noted.
    let event = app_event(
        "update",
        "contact",
        &app_id,
        s.now(),
        json!({"last_name": "Pushed", "title": "CEO", "lead_status": "working"}),
    );
    let event_id = event["event_id"].as_str().unwrap().to_string();
    s.send_events("prod", vec![event]).await;
    s.drain_push().await;
    let report = s.report("prod", &event_id).await.expect("reported");
    assert_eq!(report.status, ReportStatus::Success, "{report:?}");
    let said = format!("{report:?}");
    assert!(
        said.contains("Lead.Title paused") && said.contains("double"),
        "{said}"
    );
    assert!(said.contains("narrowed"), "{said}");
    let record = s.record(PROD_ORG, "Lead", &lead);
    assert_eq!(record["LastName"], "Pushed");
    assert_eq!(record["Title"], "Buyer", "the paused mapping wrote nothing");
    assert_eq!(record["Status"], "Open - Not Contacted");

    // The poll pulls the rest and says which mapping paused, every minute without failing.
    s.advance(chrono::Duration::minutes(1));
    s.update(PROD_ORG, "Lead", &lead, json!({"FirstName": "Tessa"}));
    let seq = s.last_seq().await;
    let run = s.poll("prod").await;
    assert!(
        run.messages
            .iter()
            .any(|m| m.contains("Lead.Title paused") && m.contains("type changed")),
        "{run:?}"
    );
    let changes = s.changes_after(seq).await;
    let change = find_changes(&changes, &lead);
    assert_eq!(change.len(), 1, "{changes:?}");
    assert_eq!(change[0].payload["fields"]["first_name"], "Tessa");
    assert!(
        change[0].payload["fields"].get("title").is_none(),
        "{changes:?}"
    );
}
