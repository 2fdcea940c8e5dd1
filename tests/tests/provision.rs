//! Issue 12: provisioning the org (crmsync's key field, the config's custom fields, the
//! Crmsync_Integration permission set), its idempotence, field-level security, a field of
//! another type, and the refused path (syncing goes on without the key).

use axum::http::{Method, StatusCode};
use crmsync_core::provision::{CustomFieldSpec, CustomFieldType};
use crmsync_e2e::*;
use crmsync_service::{http, provision};
use crmsync_store::{Environment, ProvisioningState, ReportStatus};
use serde_json::json;

e2e!(
    provisioning_creates_fields_and_grants_them,
    a_second_run_writes_nothing,
    a_field_stays_hidden_until_the_permission_set_is_assigned,
    a_field_of_another_type_is_reported_not_changed,
    a_refused_provisioning_keeps_the_sync_working_and_says_why,
    a_connect_provisions_when_the_config_asks,
);

/// Counts of the Salesforce writes provisioning can make.
const WRITE_ENDPOINTS: &[&str] = &["tooling.create", "sobject.create", "sobject.update"];

fn declared() -> Vec<CustomFieldSpec> {
    let spec = |api: &str, label: &str, kind, values: &[&str]| CustomFieldSpec {
        object: "Lead".into(),
        api_name: api.into(),
        label: label.into(),
        kind,
        length: None,
        precision: if kind == CustomFieldType::Number {
            Some(5)
        } else {
            None
        },
        scale: None,
        values: values.iter().map(|v| v.to_string()).collect(),
    };
    vec![
        spec(
            "GPTWeb_AI_Score__c",
            "AI Score",
            CustomFieldType::Number,
            &[],
        ),
        spec("GPTWeb_Is_DQL__c", "Is DQL", CustomFieldType::Checkbox, &[]),
        spec(
            "GPTWeb_Last_Visit__c",
            "Last Visit",
            CustomFieldType::Datetime,
            &[],
        ),
        spec(
            "GPTWeb_Engagement_Level__c",
            "Engagement",
            CustomFieldType::Picklist,
            &["High", "Low"],
        ),
    ]
}

async fn connected(backend: Backend) -> Stack {
    let s = Stack::start(backend).await;
    s.connect("prod", Environment::Production).await;
    s.edit_config("prod", |c| c.custom_fields = declared())
        .await;
    s
}

fn writes(s: &Stack) -> u64 {
    WRITE_ENDPOINTS
        .iter()
        .map(|e| s.sf.api_count(PROD_ORG, e).unwrap())
        .sum()
}

async fn config_status(s: &Stack) -> serde_json::Value {
    let api = Api::new(http::report_router(s.app.clone()));
    ok(
        "config/status",
        api.get("/v1/connections/prod/config/status", &s.credentials.api_key)
            .await,
    )
}

async fn provisioning_creates_fields_and_grants_them(backend: Backend) {
    let s = connected(backend).await;
    let api = Api::new(http::report_router(s.app.clone()));
    let (status, body) = api
        .call(
            Method::POST,
            "/v1/connections/prod/provision",
            Some(&s.credentials.api_key),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["state"], "provisioned", "{body}");
    for o in [
        "Account",
        "Contact",
        "Lead",
        "Opportunity",
        "OpportunityLineItem",
    ] {
        assert!(
            body["key_objects"].as_array().unwrap().contains(&json!(o)),
            "{o}: {body}"
        );
    }
    // Integration user sees and can write the new fields: the key is unique.
    let lead = s.insert(
        PROD_ORG,
        "Lead",
        json!({"LastName": "Key", "Company": "Key Co", "Crmsync_App_Id__c": "contact:1"}),
    );
    let rows = s
        .soql(
            PROD_ORG,
            "SELECT Id, Crmsync_App_Id__c, GPTWeb_AI_Score__c, GPTWeb_Engagement_Level__c FROM Lead WHERE Crmsync_App_Id__c = 'contact:1'",
        )
        .await;
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0]["Id"], json!(lead));
    let status = config_status(&s).await;
    assert_eq!(status["provisioning"]["state"], "provisioned", "{status}");
    let fields = status["custom_fields"].as_array().unwrap();
    assert_eq!(fields.len(), 4, "{status}");
    assert!(fields.iter().all(|f| f["status"] == "ok"), "{status}");
    // The permission set is assigned to the connected user.
    let user = s.connection("prod").await.user.id;
    let assigned = s
        .soql(
            PROD_ORG,
            &format!("SELECT Id FROM PermissionSetAssignment WHERE AssigneeId = '{user}'"),
        )
        .await;
    assert_eq!(assigned.len(), 1);
    let details = ok(
        "connection",
        api.get("/v1/connections/prod", &s.credentials.api_key)
            .await,
    );
    assert_eq!(details["provisioning"]["state"], "provisioned", "{details}");
}

async fn a_second_run_writes_nothing(backend: Backend) {
    let s = connected(backend).await;
    let first = provision::provision(&s.app, &s.tenant, &s.conn("prod"))
        .await
        .expect("first run");
    assert_eq!(first.state, ProvisioningState::Provisioned, "{first:?}");
    // Each field created and granted, plus the set and its assignment.
    let config = s.config("prod").await.config;
    let fields = crmsync_core::provision::desired_fields(&config).len() as u32;
    assert_eq!(fields, first.key_objects.len() as u32 + 4);
    assert_eq!(first.changes, 2 * fields + 2, "{first:?}");
    let before = writes(&s);
    let second = provision::provision(&s.app, &s.tenant, &s.conn("prod"))
        .await
        .expect("second run");
    assert_eq!(second.changes, 0, "{second:?}");
    assert_eq!(second.state, ProvisioningState::Provisioned);
    assert_eq!(second.key_objects, first.key_objects);
    assert_eq!(writes(&s), before, "a re-run made a Salesforce write");
}

async fn a_field_stays_hidden_until_the_permission_set_is_assigned(backend: Backend) {
    let s = connected(backend).await;
    provision::provision(&s.app, &s.tenant, &s.conn("prod"))
        .await
        .expect("provisioned");
    // An admin removes the assignment: the fields disappear for the integration user.
    let user = s.connection("prod").await.user.id;
    let assignment = s
        .soql(
            PROD_ORG,
            &format!("SELECT Id FROM PermissionSetAssignment WHERE AssigneeId = '{user}'"),
        )
        .await;
    let id = assignment[0]["Id"].as_str().unwrap().to_string();
    s.sf.delete_record(PROD_ORG, "PermissionSetAssignment", &id)
        .unwrap();
    let probe = "SELECT Id, GPTWeb_AI_Score__c FROM Lead";
    let (status, body) = query_as_integration_user(&s, probe).await;
    assert_eq!(
        (status, body[0]["errorCode"].as_str()),
        (400, Some("INVALID_FIELD")),
        "{body}"
    );
    // config/status reads the declared fields' objects fresh: they are missing now.
    let status = config_status(&s).await;
    let fields = status["custom_fields"].as_array().unwrap();
    assert!(fields.iter().all(|f| f["status"] == "missing"), "{status}");
    // Re-provisioning assigns the set again, and that is its only write.
    let again = provision::provision(&s.app, &s.tenant, &s.conn("prod"))
        .await
        .expect("re-run");
    assert_eq!(again.changes, 1, "{again:?}");
    assert_eq!(again.state, ProvisioningState::Provisioned, "{again:?}");
    let (status, body) = query_as_integration_user(&s, probe).await;
    assert_eq!(status, 200, "{body}");
    let status = config_status(&s).await;
    let fields = status["custom_fields"].as_array().unwrap();
    assert!(fields.iter().all(|f| f["status"] == "ok"), "{status}");
}

/// A SOQL query with a fresh token of the connected user; status and JSON body.
async fn query_as_integration_user(s: &Stack, soql: &str) -> (u16, serde_json::Value) {
    let username = s.connection("prod").await.user.username;
    let token = s.sf.mint_tokens(PROD_ORG, &username).unwrap().access_token;
    let resp = reqwest::Client::new()
        .get(format!(
            "{}/services/data/v62.0/query",
            s.emulator.base_url()
        ))
        .query(&[("q", soql)])
        .bearer_auth(token)
        .send()
        .await
        .expect("query");
    let status = resp.status().as_u16();
    (status, resp.json().await.expect("JSON"))
}

async fn a_field_of_another_type_is_reported_not_changed(backend: Backend) {
    let s = connected(backend).await;
    provision::provision(&s.app, &s.tenant, &s.conn("prod"))
        .await
        .expect("provisioned");
    // The app now declares the score as text: the org keeps its number field.
    s.edit_config("prod", |c| {
        let score = c
            .custom_fields
            .iter_mut()
            .find(|f| f.api_name == "GPTWeb_AI_Score__c")
            .unwrap();
        score.kind = CustomFieldType::Text;
        score.precision = None;
    })
    .await;
    let before = s.sf.api_count(PROD_ORG, "tooling.create").unwrap();
    let run = provision::provision(&s.app, &s.tenant, &s.conn("prod"))
        .await
        .expect("run");
    assert_eq!(run.state, ProvisioningState::Partial, "{run:?}");
    assert!(
        run.issues
            .iter()
            .any(|i| i.contains("Lead.GPTWeb_AI_Score__c exists as double, declared string")),
        "{run:?}"
    );
    assert_eq!(s.sf.api_count(PROD_ORG, "tooling.create").unwrap(), before);
    let status = config_status(&s).await;
    let score = status["custom_fields"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["api_name"] == "GPTWeb_AI_Score__c")
        .cloned()
        .unwrap();
    assert_eq!(
        (&score["status"], &score["found_type"]),
        (&json!("type_mismatch"), &json!("double")),
        "{status}"
    );
    assert_eq!(status["provisioning"]["state"], "partial");
}

async fn a_refused_provisioning_keeps_the_sync_working_and_says_why(backend: Backend) {
    let s = connected(backend).await;
    let username = s.connection("prod").await.user.username;
    s.sf.set_customize_application(PROD_ORG, &username, false)
        .unwrap();
    let run = provision::provision(&s.app, &s.tenant, &s.conn("prod"))
        .await
        .expect("a refusal is an outcome, not an error");
    assert_eq!(run.state, ProvisioningState::Refused, "{run:?}");
    let reason = run.reason.clone().unwrap();
    assert!(
        reason.contains("INSUFFICIENT_ACCESS_OR_READONLY"),
        "{reason}"
    );
    assert!(run.key_objects.is_empty());
    let status = config_status(&s).await;
    assert_eq!(status["provisioning"]["state"], "refused", "{status}");
    assert_eq!(status["provisioning"]["reason"], json!(reason));

    // Pushing goes on without the key field.
    let event = app_event(
        "create",
        "contact",
        "app-refused",
        s.now(),
        json!({"first_name": "Rita", "last_name": "Refused", "email": "rita@refused.example",
               "phone": "+1 555 0700", "company_name": "Refused Co", "phase": "ColdCallCold"}),
    );
    let event_id = event["event_id"].as_str().unwrap().to_string();
    s.send_events("prod", vec![event]).await;
    s.drain_push().await;
    let report = s.report("prod", &event_id).await.expect("reported");
    assert_eq!(report.status, ReportStatus::Success, "{report:?}");
    assert_eq!(
        s.count(PROD_ORG, "Lead", "Email = 'rita@refused.example'")
            .await,
        1
    );
    // On the fallback: a plain create, no upsert by the key field.
    assert_eq!(s.sf.api_count(PROD_ORG, "collections.upsert").unwrap(), 0);
    assert!(s.sf.api_count(PROD_ORG, "collections.create").unwrap() >= 1);
}

async fn a_connect_provisions_when_the_config_asks(backend: Backend) {
    let s = connected(backend).await;
    assert!(s.connection("prod").await.provisioning.is_none());
    s.edit_config("prod", |c| {
        c.provisioning.on_connect = true;
        c.provisioning.assign_usernames =
            vec![Stack::MAPPED_USER.into(), "nobody@x.example".into()];
    })
    .await;
    s.connect("prod", Environment::Production).await;
    let p = s
        .connection("prod")
        .await
        .provisioning
        .expect("provisioned on reconnect");
    assert_eq!(p.state, ProvisioningState::Partial, "{p:?}");
    assert_eq!(
        p.issues,
        vec!["user nobody@x.example not found: permission set not assigned".to_string()]
    );
    let rep = s.user_id(PROD_ORG, Stack::MAPPED_USER);
    let assigned = s
        .soql(
            PROD_ORG,
            &format!("SELECT Id FROM PermissionSetAssignment WHERE AssigneeId = '{rep}'"),
        )
        .await;
    assert_eq!(
        assigned.len(),
        1,
        "the named sales rep gets the permission set"
    );
}
