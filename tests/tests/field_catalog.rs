//! Issue 13 item 3: the field catalog for mapping screens. `GET …/objects` lists the
//! org's objects and which the config syncs; `GET …/objects/{o}/fields` lists each field
//! with its type, length, picklist values, create/update flags, whether Salesforce
//! requires it on create and which mappings use it. A field provisioned a moment ago is
//! listed at once; bad object names and unknown objects get clear errors.
//!
//! Item 10 (seed 001's lookup): `…/lookup?…&fields=all` also returns every readable field
//! of the record, not only the mapped ones.

use axum::http::StatusCode;
use crmsync_core::provision::{CustomFieldSpec, CustomFieldType};
use crmsync_e2e::*;
use crmsync_service::{http, provision};
use crmsync_store::Environment;
use serde_json::Value;

e2e!(
    the_catalog_lists_objects_and_fields_for_mapping,
    a_lookup_returns_every_field_on_request,
);

fn field<'a>(fields: &'a Value, name: &str) -> &'a Value {
    fields["fields"]
        .as_array()
        .expect("fields is a list")
        .iter()
        .find(|f| f["name"] == name)
        .unwrap_or_else(|| panic!("{name} not listed: {fields}"))
}

async fn the_catalog_lists_objects_and_fields_for_mapping(backend: Backend) {
    let s = Stack::start(backend).await;
    s.connect("prod", Environment::Production).await;
    let key = s.credentials.api_key.clone();
    let api = Api::new(http::report_router(s.app.clone()));

    let objects = ok(
        "objects",
        api.get("/v1/connections/prod/objects", &key).await,
    );
    let listed = objects["objects"].as_array().expect("objects is a list");
    let synced = |name: &str| {
        listed
            .iter()
            .find(|o| o["name"] == name)
            .unwrap_or_else(|| panic!("{name} not listed: {objects}"))["synced"]
            .clone()
    };
    for name in ["Lead", "Contact", "Account", "Opportunity"] {
        assert_eq!(synced(name), Value::Bool(true), "{name}");
    }
    assert!(
        listed.iter().any(|o| o["synced"] == false),
        "objects the config does not sync are listed too: {objects}"
    );
    let names: Vec<&str> = listed.iter().filter_map(|o| o["name"].as_str()).collect();
    let mut sorted = names.clone();
    sorted.sort();
    assert_eq!(names, sorted, "name order");

    let lead = ok(
        "Lead fields",
        api.get("/v1/connections/prod/objects/Lead/fields", &key)
            .await,
    );
    assert_eq!(lead["object"], "Lead");
    assert_eq!(lead["synced"], true);
    let email = field(&lead, "Email");
    assert_eq!(email["type"], "email");
    assert_eq!(email["mapped"], true, "{email}");
    assert_eq!(email["mapped_by"][0]["app_field"], "email", "{email}");
    let last_name = field(&lead, "LastName");
    assert_eq!(last_name["required_on_create"], true, "{last_name}");
    assert!(last_name["length"].as_u64().unwrap() > 0, "{last_name}");
    let status = field(&lead, "Status");
    assert_eq!(status["type"], "picklist");
    assert!(
        !status["picklist_values"].as_array().unwrap().is_empty(),
        "{status}"
    );
    let id = field(&lead, "Id");
    assert_eq!(id["createable"], false);
    assert_eq!(id["updateable"], false);
    assert_eq!(id["mapped"], false);

    // A field added to the org appears at once (a fresh describe, not a warm cache).
    s.edit_config("prod", |c| {
        c.custom_fields = vec![CustomFieldSpec {
            object: "Lead".into(),
            api_name: "Catalog_Score__c".into(),
            label: "Catalog Score".into(),
            kind: CustomFieldType::Number,
            length: None,
            precision: Some(5),
            scale: Some(0),
            values: Vec::new(),
        }]
    })
    .await;
    provision::provision(&s.app, &s.tenant, &s.conn("prod"))
        .await
        .expect("provisioning runs");
    let lead = ok(
        "Lead fields after provisioning",
        api.get("/v1/connections/prod/objects/Lead/fields", &key)
            .await,
    );
    let score = field(&lead, "Catalog_Score__c");
    assert_eq!(score["custom"], true, "{score}");
    assert_eq!(score["type"], "double", "{score}");
    assert_eq!(score["mapped"], false, "{score}");

    // Clear errors for bad input.
    let (code, body) = api
        .get("/v1/connections/prod/objects/Lead;DROP/fields", &key)
        .await;
    assert_eq!(code, StatusCode::BAD_REQUEST, "{body}");
    assert!(body.to_string().contains("object"), "{body}");
    let (code, body) = api
        .get("/v1/connections/prod/objects/No_Such_Thing__c/fields", &key)
        .await;
    assert_eq!(code, StatusCode::NOT_FOUND, "{body}");
    assert!(body.to_string().contains("No_Such_Thing__c"), "{body}");
    let (code, body) = api.get("/v1/connections/prod/objects?bogus=1", &key).await;
    assert_eq!(code, StatusCode::BAD_REQUEST, "{body}");
    let (code, _) = api.get("/v1/connections/nope/objects", &key).await;
    assert_eq!(code, StatusCode::NOT_FOUND);
}

async fn a_lookup_returns_every_field_on_request(backend: Backend) {
    let s = Stack::start(backend).await;
    s.connect("prod", Environment::Production).await;
    let key = s.credentials.api_key.clone();
    let api = Api::new(http::report_router(s.app.clone()));
    let id = s.insert(
        PROD_ORG,
        "Lead",
        serde_json::json!({"FirstName": "Ada", "LastName": "Lookup", "Company": "Engines Ltd",
               "Email": "ada.lookup@engines.example", "City": "Leeds"}),
    );
    let base =
        "/v1/connections/prod/lookup?object=Lead&field=Email&value=ada.lookup%40engines.example";

    let mapped = ok("lookup", api.get(base, &key).await);
    assert_eq!(mapped["id"], id.as_str());
    assert_eq!(mapped["fields"]["email"], "ada.lookup@engines.example");
    assert!(mapped.get("all_fields").is_none(), "{mapped}");

    let all = ok(
        "lookup fields=all",
        api.get(&format!("{base}&fields=all"), &key).await,
    );
    assert_eq!(all["fields"], mapped["fields"], "mapped fields unchanged");
    let every = all["all_fields"].as_object().expect("all_fields");
    assert_eq!(every["Company"], "Engines Ltd", "{all}");
    assert_eq!(every["City"], "Leeds", "an unmapped field: {all}");
    assert_eq!(every["Id"], id.as_str());
    assert!(every.contains_key("CreatedDate"), "{all}");
    assert!(!every.contains_key("attributes"), "{all}");

    let (code, body) = api.get(&format!("{base}&fields=everything"), &key).await;
    assert_eq!(code, StatusCode::BAD_REQUEST, "{body}");
    assert!(body.to_string().contains("fields"), "{body}");
}
