//! Queries inside `POST composite`, as strict as Salesforce (REST API Developer Guide,
//! "Composite" and "Composite Subrequest"): one metered call for the whole request; at most
//! five query operations (query, queryAll, query more); a query subrequest's body is the
//! query resource's response; a subrequest's headers are its own `httpHeaders` plus the
//! three it inherits (`Accept`, `Authorization`, `Content-Type`), which it may not set.

mod common;

use common::*;
use serde_json::{Value, json};
use sf_emulator::OrgSpec;

const V: &str = "/services/data/v62.0";

async fn setup(contacts: usize) -> (sf_emulator::Emulator, Api) {
    let emu = start_small(OrgSpec::new("c")).await;
    for i in 0..contacts {
        emu.admin()
            .insert_record(
                "c",
                "Contact",
                json!({"LastName": format!("Composite{i:04}")})
                    .as_object()
                    .cloned()
                    .unwrap_or_default(),
            )
            .expect("contact");
    }
    let api = Api::new(&emu, token(&emu, "c", "admin@c.example"));
    (emu, api)
}

fn query(soql: &str, reference: &str) -> Value {
    let q: String = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("q", soql)
        .finish();
    json!({"method": "GET", "url": format!("{V}/query?{q}"), "referenceId": reference})
}

#[tokio::test]
async fn query_subrequests_count_as_one_call_and_page_by_their_own_headers() {
    let (emu, api) = setup(250).await;
    emu.admin().reset_counters("c").unwrap();
    let mut paged = query("SELECT Id FROM Contact ORDER BY Id", "paged");
    paged["httpHeaders"] = json!({"Sforce-Query-Options": "batchSize=200"});
    let (s, b) = api
        .post(
            "composite",
            json!({"compositeRequest": [paged, query("SELECT Id FROM Contact", "whole"), query("SELECT Nope__c FROM Contact", "bad")]}),
        )
        .await;
    assert_eq!(s, 200, "{b}");
    let r = &b["compositeResponse"];
    assert_eq!(r[0]["httpStatusCode"], 200, "{b}");
    assert_eq!(r[0]["body"]["totalSize"], 250);
    assert_eq!(r[0]["body"]["done"], false);
    assert_eq!(r[0]["body"]["records"].as_array().unwrap().len(), 200);
    let next = r[0]["body"]["nextRecordsUrl"]
        .as_str()
        .expect("nextRecordsUrl");
    assert_eq!(r[1]["body"]["done"], true, "the default batch holds 250");
    assert_eq!(r[2]["httpStatusCode"], 400, "{b}");
    assert_eq!(r[2]["body"][0]["errorCode"], "INVALID_FIELD", "{b}");
    let usage = emu.admin().api_usage("c").unwrap();
    assert_eq!(usage.used, 1, "one call for the whole composite: {usage:?}");
    assert_eq!(usage.counters.get("composite"), Some(&1));

    let (s, more) = api.get(next.trim_start_matches(V)).await;
    assert_eq!(s, 200, "{more}");
    assert_eq!(more["records"].as_array().unwrap().len(), 50);

    // A batch size on the composite request itself does not reach its subrequests.
    let (s, b, _) = api
        .send_with_header(
            "composite",
            json!({"compositeRequest": [query("SELECT Id FROM Contact", "q")]}),
            ("Sforce-Query-Options", "batchSize=200"),
        )
        .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["compositeResponse"][0]["body"]["done"], true, "{b}");
}

#[tokio::test]
async fn six_query_operations_or_an_inherited_header_fail_the_request() {
    let (emu, api) = setup(1).await;
    emu.admin().reset_counters("c").unwrap();
    let six: Vec<Value> = (0..6)
        .map(|i| query("SELECT Id FROM Contact", &format!("q{i}")))
        .collect();
    let (s, b) = api
        .post("composite", json!({"compositeRequest": six}))
        .await;
    assert_eq!(s, 400, "{b}");
    assert_eq!(error_code(&b), "INVALID_BATCH_REQUEST", "{b}");

    let mut sub = query("SELECT Id FROM Contact", "q");
    sub["httpHeaders"] = json!({"Content-Type": "text/csv"});
    let (s, b) = api
        .post("composite", json!({"compositeRequest": [sub]}))
        .await;
    assert_eq!(s, 400, "{b}");
    assert_eq!(error_code(&b), "INVALID_BATCH_REQUEST", "{b}");
}
