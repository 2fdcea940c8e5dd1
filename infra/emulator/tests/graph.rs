//! `POST composite/graph` as the REST API Developer Guide documents it: independent graphs,
//! each all or none, one API call; at most 75 graphs and 500 nodes a request; no query nodes.

mod common;

use common::*;
use serde_json::{Value, json};
use sf_emulator::OrgSpec;

async fn setup() -> (sf_emulator::Emulator, Api) {
    let emu = start_small(OrgSpec::new("g")).await;
    let api = Api::new(&emu, token(&emu, "g", "admin@g.example"));
    (emu, api)
}

fn node(object: &str, reference: &str, body: Value) -> Value {
    json!({"method": "POST", "url": format!("/services/data/v62.0/sobjects/{object}"),
           "referenceId": reference, "body": body})
}

#[tokio::test]
async fn graphs_commit_or_roll_back_each_on_its_own_in_one_call() {
    let (emu, api) = setup().await;
    emu.admin().reset_counters("g").expect("reset");
    let (s, b) = api
        .post(
            "composite/graph",
            json!({"graphs": [
                {"graphId": "ok", "compositeRequest": [
                    node("Account", "a", json!({"Name": "Graph Ok"})),
                    node("Contact", "c", json!({"LastName": "Kid", "AccountId": "@{a.id}"}))
                ]},
                {"graphId": "bad", "compositeRequest": [
                    node("Account", "a", json!({"Name": "Graph Bad"})),
                    node("Contact", "c", json!({"FirstName": "NoLastName", "AccountId": "@{a.id}"}))
                ]}
            ]}),
        )
        .await;
    assert_eq!(s, 200, "{b}");
    let graphs = b["graphs"].as_array().expect("graphs");
    assert_eq!(graphs[0]["graphId"], "ok");
    assert_eq!(graphs[0]["isSuccessful"], true);
    let ok = &graphs[0]["graphResponse"]["compositeResponse"];
    assert_eq!(ok[0]["httpStatusCode"], 201);
    assert_eq!(ok[1]["httpStatusCode"], 201);
    assert_eq!(graphs[1]["isSuccessful"], false);
    let bad = &graphs[1]["graphResponse"]["compositeResponse"];
    assert_eq!(bad[0]["body"][0]["errorCode"], "PROCESSING_HALTED");
    assert_eq!(bad[1]["body"][0]["errorCode"], "REQUIRED_FIELD_MISSING");
    assert_eq!(emu.admin().api_usage("g").expect("usage").used, 1);
    let names = |n: &str| {
        emu.admin()
            .records("g", "Account")
            .expect("records")
            .into_iter()
            .filter(|(_, f, _)| f.get("Name").and_then(Value::as_str) == Some(n))
            .count()
    };
    assert_eq!(names("Graph Ok"), 1);
    assert_eq!(names("Graph Bad"), 0, "the failed graph rolled back");
}

#[tokio::test]
async fn graph_limits_are_enforced() {
    let (_emu, api) = setup().await;
    let graphs: Vec<Value> = (0..76)
        .map(|i| json!({"graphId": format!("g{i}"), "compositeRequest": [node("Account", "a", json!({"Name": "x"}))]}))
        .collect();
    let (s, b) = api.post("composite/graph", json!({"graphs": graphs})).await;
    assert_eq!((s, error_code(&b)), (400, "INVALID_GRAPH"));
    let nodes: Vec<Value> = (0..501)
        .map(|i| node("Account", &format!("a{i}"), json!({"Name": "x"})))
        .collect();
    let (s, b) = api
        .post(
            "composite/graph",
            json!({"graphs": [{"graphId": "big", "compositeRequest": nodes}]}),
        )
        .await;
    assert_eq!((s, error_code(&b)), (400, "INVALID_GRAPH"));
    let query = json!({"method": "GET", "url": "/services/data/v62.0/query?q=SELECT+Id+FROM+Account", "referenceId": "q"});
    let (s, b) = api
        .post(
            "composite/graph",
            json!({"graphs": [{"graphId": "q", "compositeRequest": [query]}]}),
        )
        .await;
    assert_eq!((s, error_code(&b)), (400, "INVALID_GRAPH"));
}
