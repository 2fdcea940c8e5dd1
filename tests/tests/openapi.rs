//! Issue 14, the contract: the OpenAPI document served at `GET /v1/openapi.json` against
//! the routers and against real responses.
//!
//! - Every route the routers serve is documented, and every documented operation is
//!   served (both directions), with the routes taken from the [`http::Served`] route
//!   tables that build the routers; a source check keeps routes from being added around
//!   those tables.
//! - A scenario drives every documented operation against the emulator and validates
//!   each response body (successes and errors) with `jsonschema` against the schema the
//!   served document gives for its status. The document's objects are closed
//!   (`additionalProperties: false`), so a response field the document does not name
//!   fails the test.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use axum::http::{Method, StatusCode};
use crmsync_e2e::*;
use crmsync_service::http;
use crmsync_store::Environment;
use serde_json::{Value, json};

e2e!(every_documented_operation_answers_as_documented);

/// `(METHOD, /path/{template})` of every operation in the document.
fn documented(doc: &Value) -> BTreeSet<(String, String)> {
    let mut out = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for method in item.as_object().expect("a path item").keys() {
            out.insert((method.to_uppercase(), path.clone()));
        }
    }
    out
}

/// The routes a router serves that belong in the document (all but browser pages).
fn routed(served: &http::Served) -> BTreeSet<(String, String)> {
    served
        .routes
        .iter()
        .filter(|r| r.documented)
        .map(|r| (r.method.to_string(), r.path.to_string()))
        .collect()
}

/// A concrete path for a template: every `{segment}` filled with `x`.
fn instantiate(template: &str) -> String {
    let mut out = String::new();
    let mut in_param = false;
    for ch in template.chars() {
        match ch {
            '{' => {
                in_param = true;
                out.push('x');
            }
            '}' => in_param = false,
            c if !in_param => out.push(c),
            _ => {}
        }
    }
    out
}

/// Whether a reply is the router's own "no such route / method" fallback.
fn is_routing_fallback(reply: &Reply) -> bool {
    let code = reply.body["error"]["code"].as_str().unwrap_or("");
    let message = reply.body["error"]["message"].as_str().unwrap_or("");
    (reply.status == StatusCode::NOT_FOUND && message.starts_with("no route for"))
        || (reply.status == StatusCode::METHOD_NOT_ALLOWED && code == "method_not_allowed")
}

async fn served_document(s: &Stack) -> Value {
    let api = Api::new(http::report_router(s.app.clone()));
    let reply = api.send(Method::GET, "/v1/openapi.json", &[], None).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    assert_eq!(
        reply.headers["content-type"], "application/json",
        "{:?}",
        reply.headers
    );
    reply.body
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_route_is_documented_and_every_documented_operation_is_routed() {
    let s = Stack::start(Backend::Embedded).await;
    let doc = served_document(&s).await;
    assert!(
        doc["openapi"]
            .as_str()
            .is_some_and(|v| v.starts_with("3.1.")),
        "OpenAPI 3.1: {}",
        doc["openapi"]
    );
    let documented = documented(&doc);
    let local = http::local_served(s.app.clone());
    let all = routed(&local);

    let undocumented: Vec<_> = all.difference(&documented).collect();
    assert!(
        undocumented.is_empty(),
        "routed, not documented: {undocumented:?}"
    );
    let unrouted: Vec<_> = documented.difference(&all).collect();
    assert!(unrouted.is_empty(), "documented, not routed: {unrouted:?}");

    // The report function serves every `/v1` and `/admin` operation, and only those
    // and `/health`.
    let report = routed(&http::report_served(s.app.clone()));
    for (method, path) in &documented {
        let ours = path.starts_with("/v1/") || path.starts_with("/admin/");
        assert_eq!(
            report.contains(&(method.clone(), path.clone())),
            ours || path == "/health",
            "report function and {method} {path}"
        );
    }

    // The tables are what the router does: each entry reaches a handler (whatever the
    // handler then says of a request without credentials or body), and an undocumented
    // method on a documented path is the router's 405.
    let api = Api::new(local.router.clone());
    for (method, path) in &documented {
        let method = Method::from_bytes(method.as_bytes()).unwrap();
        let reply = api
            .send(method.clone(), &instantiate(path), &[], None)
            .await;
        assert!(
            !is_routing_fallback(&reply),
            "{method} {path} is documented but the router answers {}: {}",
            reply.status,
            reply.text
        );
        if !documented.contains(&("DELETE".to_string(), path.clone())) {
            let reply = api
                .send(Method::DELETE, &instantiate(path), &[], None)
                .await;
            assert!(
                is_routing_fallback(&reply),
                "DELETE {path}: {}",
                reply.status
            );
        }
    }
    // Browser pages (`RouteTable::page`) are served and stay out of the document.
    for page in local.routes.iter().filter(|r| !r.documented) {
        assert!(
            doc["paths"].get(page.path).is_none(),
            "{page:?} is documented"
        );
        let reply = api
            .send(Method::GET, &instantiate(page.path), &[], None)
            .await;
        assert!(!is_routing_fallback(&reply), "{page:?}: {}", reply.status);
    }
    let reply = api.send(Method::GET, "/v1/not-a-route", &[], None).await;
    assert!(is_routing_fallback(&reply), "the probe itself can fail");
}

/// Building the routers from route tables keeps each function's body limit: 1 MB for the
/// report API and for events, 6 MB for imports.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_route_keeps_its_body_limit() {
    let s = Stack::start(Backend::Embedded).await;
    let api = Api::new(http::local_router(s.app.clone()));
    let auth = format!("Bearer {}", s.credentials.api_key);
    let headers = [("authorization", auth.as_str())];
    let big = |bytes: usize| Some(format!("{{\"pad\":\"{}\"}}", "x".repeat(bytes)).into_bytes());
    let two_mb = 2 * 1024 * 1024;
    for (method, path) in [
        (Method::PUT, "/v1/connections/prod/config"),
        (Method::POST, "/v1/connections/prod/test-sync"),
        (Method::POST, "/events"),
    ] {
        let reply = api.send(method, path, &headers, big(two_mb)).await;
        assert_eq!(
            reply.status,
            StatusCode::PAYLOAD_TOO_LARGE,
            "{path}: {}",
            reply.text
        );
    }
    // An import takes 2 MB (and refuses the unknown field, having read it).
    let path = "/v1/connections/prod/imports";
    let reply = api.send(Method::POST, path, &headers, big(two_mb)).await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{}", reply.text);
    assert_eq!(reply.body["error"]["field"], "pad", "{}", reply.text);
    let reply = api
        .send(Method::POST, path, &headers, big(7 * 1024 * 1024))
        .await;
    assert_eq!(
        reply.status,
        StatusCode::PAYLOAD_TOO_LARGE,
        "{}",
        reply.text
    );
}

/// Routes go through `RouteTable` (which records them) and nowhere else, so the route
/// list the check above uses is the router's whole list.
#[test]
fn routes_are_added_only_through_the_route_table() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/service/src/http");
    let mut files = Vec::new();
    for entry in walkdir::WalkDir::new(&dir) {
        let entry = entry.expect("the http sources are readable");
        if entry.path().extension().is_some_and(|e| e == "rs") {
            files.push(entry.into_path());
        }
    }
    assert!(files.len() >= 10, "found the sources: {files:?}");
    let mut bypasses = Vec::new();
    for file in files {
        if file.ends_with("route_table.rs") {
            continue;
        }
        let text = std::fs::read_to_string(&file).unwrap();
        for (n, line) in text.lines().enumerate() {
            for call in [".route(", ".route_service(", ".nest(", ".nest_service("] {
                if line.contains(call) {
                    bypasses.push(format!("{}:{}: {}", file.display(), n + 1, line.trim()));
                }
            }
        }
    }
    assert!(
        bypasses.is_empty(),
        "routes added around RouteTable: {bypasses:#?}"
    );
}

/// Validates replies against the served document and remembers what it saw.
struct Contract {
    doc: Value,
    api: Api,
    /// `(METHOD, template)` → statuses validated.
    seen: BTreeMap<(String, String), BTreeSet<u16>>,
}

impl Contract {
    /// The operation's response object for a status: exact, then its range (`4XX`).
    fn response_for(&self, method: &Method, template: &str, status: StatusCode) -> Value {
        let op = &self.doc["paths"][template][method.as_str().to_lowercase()];
        assert!(op.is_object(), "{method} {template} is not documented");
        let responses = &op["responses"];
        let range = format!("{}XX", status.as_u16() / 100);
        let found = [status.as_str(), range.as_str(), "default"]
            .iter()
            .find_map(|k| responses.get(*k))
            .unwrap_or_else(|| {
                panic!("{method} {template}: status {status} is not documented: {responses}")
            });
        match found["$ref"].as_str() {
            Some(r) => {
                let pointer = r.trim_start_matches('#');
                self.doc
                    .pointer(pointer)
                    .cloned()
                    .expect("the $ref resolves")
            }
            None => found.clone(),
        }
    }

    /// Checks one reply: its status is documented, its content type is, and a JSON body
    /// validates against the documented schema (with `#/components/...` references).
    fn check(&mut self, method: &Method, template: &str, reply: &Reply) {
        let response = self.response_for(method, template, reply.status);
        let content_type = reply
            .headers
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        let content = response.get("content").and_then(Value::as_object);
        match content {
            None => assert!(
                reply.text.is_empty(),
                "{method} {template} {}: no body documented, got {}",
                reply.status,
                reply.text
            ),
            Some(content) => {
                let (media, spec) = content
                    .iter()
                    .find(|(media, _)| content_type.starts_with(media.as_str()))
                    .unwrap_or_else(|| {
                        panic!("{method} {template}: {content_type} is not documented")
                    });
                if media == "application/json" {
                    self.validate(method, template, reply, &spec["schema"]);
                }
            }
        }
        self.seen
            .entry((method.to_string(), template.to_string()))
            .or_default()
            .insert(reply.status.as_u16());
    }

    fn validate(&self, method: &Method, template: &str, reply: &Reply, schema: &Value) {
        let errors = self.errors(method, template, schema, &reply.body);
        assert!(
            errors.is_empty(),
            "{method} {template} {}: the body does not match the document:\n{}\nbody: {}",
            reply.status,
            errors.join("\n"),
            reply.body
        );
    }

    /// A request body the test sends is one the document describes (except where the
    /// test sends a wrong body on purpose, which the schema must then refuse too).
    fn check_request(&self, method: &Method, template: &str, body: &Value) {
        let op = &self.doc["paths"][template][method.as_str().to_lowercase()];
        let schema = &op["requestBody"]["content"]["application/json"]["schema"];
        assert!(
            schema.is_object(),
            "{method} {template}: no JSON request body documented"
        );
        let errors = self.errors(method, template, schema, body);
        assert!(
            errors.is_empty(),
            "{method} {template}: the request does not match the document:\n{}\nbody: {body}",
            errors.join("\n")
        );
    }

    fn errors(&self, method: &Method, template: &str, schema: &Value, body: &Value) -> Vec<String> {
        let mut root = schema.clone();
        root["components"] = self.doc["components"].clone();
        let validator = jsonschema::draft202012::new(&root)
            .unwrap_or_else(|e| panic!("{method} {template}: the schema compiles: {e}"));
        validator
            .iter_errors(body)
            .map(|e| format!("{} (at {})", e, e.instance_path()))
            .collect()
    }

    /// A JSON call with a bearer key, checked; returns status and body.
    async fn call(
        &mut self,
        method: Method,
        template: &str,
        path: &str,
        key: Option<&str>,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        if let Some(sent) = &body {
            self.check_request(&method, template, sent);
        }
        let auth = key.map(|k| format!("Bearer {k}"));
        let headers: Vec<(&str, &str)> = auth
            .as_deref()
            .map(|a| vec![("authorization", a)])
            .unwrap_or_default();
        let reply = self
            .api
            .send(
                method.clone(),
                path,
                &headers,
                body.map(|b| b.to_string().into_bytes()),
            )
            .await;
        self.check(&method, template, &reply);
        (reply.status, reply.body)
    }

    /// [`Contract::call`] that must succeed with `expected`.
    async fn expect(
        &mut self,
        expected: StatusCode,
        method: Method,
        template: &str,
        path: &str,
        key: &str,
        body: Option<Value>,
    ) -> Value {
        let (status, reply) = self.call(method, template, path, Some(key), body).await;
        assert_eq!(status, expected, "{path}: {reply}");
        reply
    }
}

async fn every_documented_operation_answers_as_documented(backend: Backend) {
    let s = Stack::start(backend).await;
    let key = s.credentials.api_key.clone();
    let doc = served_document(&s).await;
    let mut c = Contract {
        doc: doc.clone(),
        api: Api::new(http::local_router(s.app.clone())),
        seen: BTreeMap::new(),
    };
    const OK: StatusCode = StatusCode::OK;
    const CONN: &str = "/v1/connections/{c}";

    // Liveness and the document itself.
    for path in ["/health", "/v1/health", "/v1/openapi.json"] {
        let reply = c.api.send(Method::GET, path, &[], None).await;
        assert_eq!(reply.status, OK, "{path}");
        c.check(&Method::GET, path, &reply);
    }

    // Connect through the API and the browser routes.
    let started = c
        .expect(
            OK,
            Method::POST,
            "/v1/connections/{c}/connect",
            "/v1/connections/prod/connect",
            &key,
            Some(json!({"return_to": "https://app.example/settings"})),
        )
        .await;
    let authorize = url::Url::parse(started["authorize_url"].as_str().unwrap()).unwrap();
    let (code, state) = s.authorize(&authorize).await;
    let callback = format!("/oauth/callback?code={code}&state={state}");
    let reply = c.api.send(Method::GET, &callback, &[], None).await;
    assert_eq!(reply.status, StatusCode::FOUND, "{}", reply.text);
    c.check(&Method::GET, "/oauth/callback", &reply);
    let reply = c
        .api
        .send(
            Method::GET,
            "/oauth/callback?error=access_denied",
            &[],
            None,
        )
        .await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{}", reply.text);
    c.check(&Method::GET, "/oauth/callback", &reply);
    let link = http::ConnectLink {
        tenant: s.tenant.clone(),
        connection: s.conn("sandbox"),
        environment: Environment::Sandbox,
        return_to: None,
        issued_at: s.now().timestamp(),
    };
    let url = http::connect_link_url(
        &url::Url::parse("http://127.0.0.1/").unwrap(),
        &s.credentials.webhook_secret,
        &link,
    );
    let signed = format!("{}?{}", url.path(), url.query().unwrap());
    let reply = c.api.send(Method::GET, &signed, &[], None).await;
    assert_eq!(reply.status, StatusCode::FOUND, "{}", reply.text);
    c.check(&Method::GET, "/connect/{tenant}", &reply);
    let reply = c
        .api
        .send(Method::GET, &signed.replace("sig=", "sig=00"), &[], None)
        .await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "{}", reply.text);
    c.check(&Method::GET, "/connect/{tenant}", &reply);

    // Connections and the switch.
    c.expect(
        OK,
        Method::GET,
        "/v1/connections",
        "/v1/connections",
        &key,
        None,
    )
    .await;
    c.expect(OK, Method::GET, CONN, "/v1/connections/prod", &key, None)
        .await;
    c.expect(
        OK,
        Method::POST,
        "/v1/connections/{c}/sync",
        "/v1/connections/prod/sync",
        &key,
        Some(json!({"enabled": true})),
    )
    .await;

    // Some history: a lead from Salesforce, one good and one refused app event.
    s.advance(chrono::Duration::minutes(1));
    let lead = s.insert(
        PROD_ORG,
        "Lead",
        json!({"LastName": "Contract", "Company": "Contract Co", "Phone": "+1 555 3001"}),
    );
    s.poll("prod").await;
    let good = app_event(
        "create",
        "contact",
        "app-oa-1",
        s.now(),
        json!({"last_name": "Schema", "phone": "+1 555 3002", "company_name": "Contract Co",
               "email": "schema@contract.example"}),
    );
    let bad = app_event(
        "create",
        "deal",
        "app-oa-deal",
        s.now(),
        json!({"name": "Too Big", "stage": "qualification", "close_date": "2026-12-31",
               "amount": 99_999}),
    );
    let bad_id = bad["event_id"].as_str().unwrap().to_string();
    let batch = json!({"connection": "prod", "events": [good, bad]});
    c.check_request(&Method::POST, "/events", &batch);
    let body = serde_json::to_vec(&batch).unwrap();
    let signature =
        crmsync_service::signing::sign(&s.credentials.webhook_secret, s.now().timestamp(), &body);
    let headers = [
        ("x-crmsync-tenant", s.tenant.as_str()),
        ("x-crmsync-signature", signature.as_str()),
    ];
    let reply = c
        .api
        .send(Method::POST, "/events", &headers, Some(body.clone()))
        .await;
    assert_eq!(reply.status, StatusCode::ACCEPTED, "{}", reply.text);
    c.check(&Method::POST, "/events", &reply);
    let reply = c
        .api
        .send(Method::POST, "/events", &headers[..1], Some(body))
        .await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "{}", reply.text);
    c.check(&Method::POST, "/events", &reply);
    s.drain_push().await;

    // Runs, reports, re-push.
    c.expect(
        OK,
        Method::GET,
        "/v1/connections/{c}/runs",
        "/v1/connections/prod/runs?limit=5",
        &key,
        None,
    )
    .await;
    let reports = "/v1/connections/{c}/reports";
    for status in ["success", "error", "parked"] {
        let path = format!("/v1/connections/prod/reports?status={status}");
        c.expect(OK, Method::GET, reports, &path, &key, None).await;
    }
    let detail = "/v1/connections/{c}/reports/{event_id}";
    let path = format!("/v1/connections/prod/reports/{bad_id}");
    c.expect(OK, Method::GET, detail, &path, &key, None).await;
    c.expect(
        StatusCode::ACCEPTED,
        Method::POST,
        "/v1/connections/{c}/reports/{event_id}/repush",
        &format!("{path}/repush"),
        &key,
        None,
    )
    .await;

    // Config: read, a refused edit (every problem listed), a saved edit, its status.
    let config = c
        .expect(
            OK,
            Method::GET,
            "/v1/connections/{c}/config",
            "/v1/connections/prod/config",
            &key,
            None,
        )
        .await;
    let version = config["version"].as_u64().unwrap();
    let mut broken = config["config"].clone();
    broken["poll_cap"] = json!(0);
    let (status, refused) = c
        .call(
            Method::PUT,
            "/v1/connections/{c}/config",
            "/v1/connections/prod/config",
            Some(&key),
            Some(json!({"expected_version": version, "config": broken})),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{refused}");
    assert!(refused["error"]["problems"].is_array(), "{refused}");
    let mut edited = config["config"].clone();
    edited["custom_fields"] = json!([{
        "object": "Lead", "api_name": "Contract_Score__c", "label": "Contract Score",
        "type": "number", "precision": 5
    }]);
    c.expect(
        OK,
        Method::PUT,
        "/v1/connections/{c}/config",
        "/v1/connections/prod/config",
        &key,
        Some(json!({"expected_version": version, "config": edited})),
    )
    .await;
    c.expect(
        OK,
        Method::POST,
        "/v1/connections/{c}/provision",
        "/v1/connections/prod/provision",
        &key,
        None,
    )
    .await;
    c.expect(
        OK,
        Method::GET,
        "/v1/connections/{c}/config/status",
        "/v1/connections/prod/config/status",
        &key,
        None,
    )
    .await;

    // Test sync, quota, catalog, lookup, changes.
    c.expect(
        OK,
        Method::POST,
        "/v1/connections/{c}/test-sync",
        "/v1/connections/prod/test-sync",
        &key,
        Some(json!({"objects": ["Lead"], "modified_within_hours": 24})),
    )
    .await;
    c.expect(
        OK,
        Method::GET,
        "/v1/connections/{c}/quota",
        "/v1/connections/prod/quota",
        &key,
        None,
    )
    .await;
    c.expect(
        OK,
        Method::POST,
        "/v1/connections/{c}/quota/recheck",
        "/v1/connections/prod/quota/recheck",
        &key,
        None,
    )
    .await;
    c.expect(
        OK,
        Method::GET,
        "/v1/connections/{c}/objects",
        "/v1/connections/prod/objects",
        &key,
        None,
    )
    .await;
    c.expect(
        OK,
        Method::GET,
        "/v1/connections/{c}/objects/{object}/fields",
        "/v1/connections/prod/objects/Lead/fields",
        &key,
        None,
    )
    .await;
    c.expect(
        OK,
        Method::GET,
        "/v1/connections/{c}/lookup",
        &format!("/v1/connections/prod/lookup?object=Lead&field=Id&value={lead}&fields=all"),
        &key,
        None,
    )
    .await;
    c.expect(
        OK,
        Method::GET,
        "/v1/changes",
        "/v1/changes?after=0",
        &key,
        None,
    )
    .await;

    // An import, and its status.
    let records: Vec<Value> = (0..3)
        .map(|i| {
            json!({"app_id": format!("oa-imp-{i}"), "fields": {
                "last_name": format!("Imported {i}"), "company_name": "Import Co",
                "phone": format!("+1 555 40{i:02}"), "email": format!("imp{i}@contract.example")}})
        })
        .collect();
    let (status, import) = c
        .call(
            Method::POST,
            "/v1/connections/{c}/imports",
            "/v1/connections/prod/imports",
            Some(&key),
            Some(json!({"import_id": "oa-1", "app_object": "contact", "records": records})),
        )
        .await;
    assert!(status.is_success(), "{import}");
    c.expect(
        OK,
        Method::GET,
        "/v1/connections/{c}/imports/{id}",
        "/v1/connections/prod/imports/oa-1",
        &key,
        None,
    )
    .await;

    // The app's side of a drift comparison.
    c.expect(
        OK,
        Method::POST,
        "/v1/connections/{c}/drift-check",
        "/v1/connections/prod/drift-check",
        &key,
        Some(
            json!({"records": [{"app_object": "contact", "app_id": "oa-imp-0",
            "modified_at": "2026-11-30T10:00:00Z", "fields": {"last_name": "Imported 0"}}]}),
        ),
    )
    .await;

    // Errors: the shared shape, for the caller's mistakes of each kind.
    let errors: [(Method, &str, &str, Option<&str>, StatusCode); 5] = [
        (
            Method::GET,
            "/v1/connections",
            "/v1/connections",
            None,
            StatusCode::UNAUTHORIZED,
        ),
        (
            Method::GET,
            CONN,
            "/v1/connections/nope",
            Some(&key),
            StatusCode::NOT_FOUND,
        ),
        (
            Method::GET,
            "/v1/connections/{c}/reports",
            "/v1/connections/prod/reports?status=bogus",
            Some(&key),
            StatusCode::BAD_REQUEST,
        ),
        (
            Method::GET,
            "/v1/connections/{c}/runs",
            "/v1/connections/prod/runs?colour=red",
            Some(&key),
            StatusCode::BAD_REQUEST,
        ),
        (
            Method::POST,
            "/v1/connections/{c}/sync",
            "/v1/connections/prod/sync",
            Some(&key),
            StatusCode::BAD_REQUEST,
        ),
    ];
    for (method, template, path, key, expected) in errors {
        let (status, body) = c.call(method, template, path, key, None).await;
        assert_eq!(status, expected, "{path}: {body}");
    }

    // The operator API, then the tenant's own rotation and a disconnect.
    let operator = "operator-key-for-the-contract";
    http::set_operator_key(&s.app, operator).await.unwrap();
    c.expect(
        StatusCode::CREATED,
        Method::POST,
        "/admin/tenants",
        "/admin/tenants",
        operator,
        Some(json!({"tenant_id": "contract-co", "name": "Contract Co"})),
    )
    .await;
    c.expect(
        OK,
        Method::POST,
        "/admin/tenants/{t}/rotate",
        "/admin/tenants/contract-co/rotate",
        operator,
        None,
    )
    .await;
    c.expect(
        OK,
        Method::POST,
        "/v1/connections/{c}/disconnect",
        "/v1/connections/prod/disconnect",
        &key,
        None,
    )
    .await;
    // A signed link to the admin page (the mint reads the Host the caller used).
    let mint = json!({"connection": "prod", "ttl_seconds": 600});
    c.check_request(&Method::POST, "/v1/ui-sessions", &mint);
    let bearer = format!("Bearer {key}");
    let reply = c
        .api
        .send(
            Method::POST,
            "/v1/ui-sessions",
            &[
                ("authorization", bearer.as_str()),
                ("host", "127.0.0.1:8080"),
            ],
            Some(mint.to_string().into_bytes()),
        )
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
    c.check(&Method::POST, "/v1/ui-sessions", &reply);
    c.expect(
        OK,
        Method::POST,
        "/v1/credentials/rotate",
        "/v1/credentials/rotate",
        &key,
        None,
    )
    .await;

    // Every documented operation was driven to a success and validated.
    let succeeded: BTreeSet<(String, String)> = c
        .seen
        .iter()
        .filter(|(_, statuses)| statuses.iter().any(|s| (200..400).contains(s)))
        .map(|(op, _)| op.clone())
        .collect();
    let missed: Vec<_> = documented(&doc).difference(&succeeded).cloned().collect();
    assert!(missed.is_empty(), "not driven to a success: {missed:?}");
}
