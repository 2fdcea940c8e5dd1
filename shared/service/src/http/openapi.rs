//! The OpenAPI 3.1 document of the HTTP API, generated from the handlers'
//! `#[utoipa::path]` annotations and the types' `ToSchema` derives, and served at
//! `GET /v1/openapi.json` by the report function (and `crmsync dev`).
//!
//! On top of what utoipa derives: the security schemes, the shared `Error` response on
//! every JSON operation, and closed objects (`additionalProperties: false`): crmsync
//! sends no field the document does not name, and the e2e tests hold it to that.

use std::sync::OnceLock;

use axum::http::header;
use axum::response::IntoResponse;
use serde_json::{Value, json};
use utoipa::OpenApi;

use super::route_table::RouteTable;
use super::{admin, drift_check, error, import, ingest, oauth, report};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "crmsync",
        description = "Salesforce sync connector: the tenant report API (`/v1`, tenant API key), \
                       the operator API (`/admin`, operator key), signed app events (`/events`) \
                       and the browser connect flow (`/connect`, `/oauth/callback`)."
    ),
    paths(
        super::health,
        super::v1_health,
        openapi_json,
        report::list_connections,
        report::get_connection,
        report::start_connect,
        report::disconnect,
        report::runs,
        report::list_reports,
        report::get_report,
        report::repush,
        report::get_config,
        report::put_config,
        report::config_status,
        report::test_sync,
        report::provision,
        report::switch_sync,
        report::quota,
        report::quota_recheck,
        report::lookup,
        report::catalog_objects,
        report::catalog_fields,
        report::changes,
        report::rotate,
        super::ui::mint::mint,
        import::start,
        import::status,
        drift_check::check,
        admin::create_tenant,
        admin::rotate,
        ingest::events,
        oauth::connect_start,
        oauth::callback,
    ),
    components(schemas(error::ErrorBody), responses(error::ApiError)),
    tags(
        (name = "connections", description = "Connection status, connect and disconnect, the sync switch"),
        (name = "config", description = "The sync config, its status against describe, provisioning"),
        (name = "runs", description = "Run history and test syncs"),
        (name = "reports", description = "What happened to each app event, and re-push"),
        (name = "quota", description = "Salesforce API use against the allowance"),
        (name = "catalog", description = "The org's objects and fields, record lookup"),
        (name = "changes", description = "The change feed of records synced from Salesforce"),
        (name = "imports", description = "App-side bulk imports"),
        (name = "drift", description = "The app's side of the periodic drift comparison"),
        (name = "credentials", description = "The tenant's own credentials"),
        (name = "admin", description = "The operator API"),
        (name = "ingest", description = "Signed batches of app events"),
        (name = "connect", description = "The browser connect flow (HTML pages and redirects)"),
        (name = "health", description = "Liveness"),
        (name = "contract", description = "This document"),
    )
)]
struct ApiDoc;

/// Path prefixes of the browser routes: their errors are HTML pages, not `Error`.
const HTML_ROUTES: [&str; 2] = ["/connect/", "/oauth/"];

/// The document as served.
pub fn document() -> Value {
    let mut doc = serde_json::to_value(ApiDoc::openapi()).expect("the document serializes");
    add_security_schemes(&mut doc);
    add_error_responses(&mut doc);
    if let Some(schemas) = doc.pointer_mut("/components/schemas") {
        merge_all_of(schemas);
        close_objects(schemas);
    }
    doc
}

fn add_security_schemes(doc: &mut Value) {
    doc["components"]["securitySchemes"] = json!({
        "api_key": {
            "type": "http", "scheme": "bearer",
            "description": "The tenant's API key (`csk_…`), issued by the operator API"
        },
        "operator_key": {
            "type": "http", "scheme": "bearer",
            "description": "The operator key; `/admin` is off when none is configured"
        },
        "webhook_signature": {
            "type": "apiKey", "in": "header", "name": crate::signing::SIGNATURE_HEADER,
            "description": "`t=<unix seconds>,v1=<hex HMAC-SHA256(webhook secret, \"{t}.{body}\")>`"
        },
        "webhook_tenant": {
            "type": "apiKey", "in": "header", "name": crate::signing::TENANT_HEADER,
            "description": "The tenant id whose webhook secret signed the body"
        }
    });
}

/// Every JSON operation can fail with the shared `Error` (4XX: the caller's, 5XX: ours).
fn add_error_responses(doc: &mut Value) {
    let Some(paths) = doc.get_mut("paths").and_then(Value::as_object_mut) else {
        return;
    };
    for (path, item) in paths.iter_mut() {
        if HTML_ROUTES.iter().any(|p| path.starts_with(p)) {
            continue;
        }
        for operation in item
            .as_object_mut()
            .into_iter()
            .flat_map(|m| m.values_mut())
        {
            let responses = &mut operation["responses"];
            for range in ["4XX", "5XX"] {
                responses[range] = json!({ "$ref": "#/components/responses/Error" });
            }
        }
    }
}

/// Merges an `allOf` of objects (what utoipa makes of serde `flatten`) into one object,
/// so the result can be closed like any other (an `allOf` of closed parts accepts nothing).
fn merge_all_of(schemas: &mut Value) {
    let Some(map) = schemas.as_object() else {
        return;
    };
    let mut merged = Vec::new();
    for (name, schema) in map {
        let Some(parts) = schema.get("allOf").and_then(Value::as_array) else {
            continue;
        };
        let mut properties = serde_json::Map::new();
        let mut required = Vec::new();
        for part in parts {
            let part = match part["$ref"].as_str() {
                Some(r) => &map[r.trim_start_matches("#/components/schemas/")],
                None => part,
            };
            let (Some(props), None) = (part["properties"].as_object(), part.get("allOf")) else {
                panic!("{name}: an allOf part that is not a plain object: {part}");
            };
            properties.extend(props.clone());
            required.extend(part["required"].as_array().cloned().unwrap_or_default());
        }
        let mut object = json!({ "type": "object", "properties": properties });
        if !required.is_empty() {
            object["required"] = Value::Array(required);
        }
        if let Some(description) = schema.get("description") {
            object["description"] = description.clone();
        }
        merged.push((name.clone(), object));
    }
    for (name, object) in merged {
        schemas[name] = object;
    }
}

/// `additionalProperties: false` on every object schema that lists its properties and
/// says nothing of others (maps keep theirs).
fn close_objects(schema: &mut Value) {
    match schema {
        Value::Object(map) => {
            if map.contains_key("properties") && !map.contains_key("additionalProperties") {
                map.insert("additionalProperties".into(), Value::Bool(false));
            }
            map.values_mut().for_each(close_objects);
        }
        Value::Array(items) => items.iter_mut().for_each(close_objects),
        _ => {}
    }
}

/// Serialized once per process.
static JSON: OnceLock<String> = OnceLock::new();

pub(crate) fn routes() -> RouteTable {
    RouteTable::new().get("/v1/openapi.json", openapi_json)
}

#[utoipa::path(
    get,
    path = "/v1/openapi.json",
    tag = "contract",
    responses((status = 200, description = "This document (OpenAPI 3.1)", content_type = "application/json", body = Object))
)]
pub(super) async fn openapi_json() -> impl IntoResponse {
    let body = JSON.get_or_init(|| document().to_string()).clone();
    ([(header::CONTENT_TYPE, "application/json")], body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flattened_objects_are_merged_then_closed() {
        let mut schemas = json!({
            "View": {"type": "object", "properties": {"a": {}}, "required": ["a"]},
            "Detail": {"description": "d", "allOf": [
                {"$ref": "#/components/schemas/View"},
                {"type": "object", "properties": {"b": {}}}
            ]},
            "Map": {"type": "object", "additionalProperties": {"type": "string"}}
        });
        merge_all_of(&mut schemas);
        close_objects(&mut schemas);
        assert_eq!(
            schemas["Detail"],
            json!({"type": "object", "description": "d", "required": ["a"],
                   "properties": {"a": {}, "b": {}}, "additionalProperties": false})
        );
        assert_eq!(schemas["View"]["additionalProperties"], json!(false));
        assert_eq!(
            schemas["Map"]["additionalProperties"],
            json!({"type": "string"})
        );
    }

    #[test]
    fn the_document_is_openapi_3_1_with_closed_objects_and_shared_errors() {
        let doc = document();
        assert!(
            doc["openapi"].as_str().unwrap().starts_with("3.1."),
            "{}",
            doc["openapi"]
        );
        let schemas = doc["components"]["schemas"].as_object().unwrap();
        for (name, schema) in schemas {
            assert!(schema.get("allOf").is_none(), "{name} keeps an allOf");
            if schema.get("properties").is_some() {
                assert_eq!(schema["additionalProperties"], json!(false), "{name}");
            }
        }
        let list = &doc["paths"]["/v1/connections"]["get"];
        assert_eq!(
            list["responses"]["4XX"]["$ref"],
            "#/components/responses/Error"
        );
        assert_eq!(list["security"], json!([{"api_key": []}]));
        assert_eq!(
            schemas["IngestBody"]["properties"]["events"]["maxItems"],
            json!(crate::ingest::MAX_EVENTS),
            "the documented batch size is the enforced one"
        );
        let callback = &doc["paths"]["/oauth/callback"]["get"]["responses"]["4XX"];
        assert!(callback["content"]["text/html"].is_object(), "{callback}");
    }
}
