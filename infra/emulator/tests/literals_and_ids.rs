//! Salesforce's literal typing and its two Id forms, as the emulator must mirror them:
//! non-string fields refuse quoted literals (`INVALID_FIELD`), unquoted typed literals work,
//! and a 15-character Id is accepted in URLs and SOQL while responses carry 18.

mod common;

use common::*;
use serde_json::{Map, Value, json};
use sf_emulator::OrgSpec;

async fn setup() -> (sf_emulator::Emulator, Api, String) {
    let emu = start_small(OrgSpec::new("lit")).await;
    let admin = emu.admin();
    let fields = |v: Value| v.as_object().cloned().unwrap_or_else(Map::new);
    let account = admin
        .insert_record("lit", "Account", fields(json!({"Name": "Acme"})))
        .expect("account");
    for (name, close, amount) in [("Early", "2026-11-30", 100), ("Late", "2026-12-30", 4200)] {
        admin
            .insert_record(
                "lit",
                "Opportunity",
                fields(
                    json!({"Name": name, "StageName": "Prospecting", "CloseDate": close,
                              "Amount": amount, "AccountId": account}),
                ),
            )
            .expect("opportunity");
    }
    let api = Api::new(&emu, token(&emu, "lit", "admin@lit.example"));
    (emu, api, account)
}

fn names(body: &Value) -> Vec<&str> {
    body["records"]
        .as_array()
        .map(|a| a.iter().filter_map(|r| r["Name"].as_str()).collect())
        .unwrap_or_default()
}

fn q(filter: &str) -> String {
    format!("SELECT Name FROM Opportunity WHERE {filter} ORDER BY Name")
}

#[tokio::test]
async fn quoted_literals_for_non_string_fields_are_refused_like_salesforce() {
    let (_emu, api, _) = setup().await;
    for (filter, field, ty) in [
        ("CloseDate = '2026-12-30'", "CloseDate", "date"),
        (
            "CreatedDate > '2026-01-01T00:00:00Z'",
            "CreatedDate",
            "dateTime",
        ),
        ("Amount = '4200'", "Amount", "double"),
        ("IsWon = 'false'", "IsWon", "boolean"),
        ("CloseDate IN ('2026-12-30')", "CloseDate", "date"),
    ] {
        let (s, b) = api.query(&q(filter)).await;
        assert_eq!((s, error_code(&b)), (400, "INVALID_FIELD"), "{filter}: {b}");
        let msg = b[0]["message"].as_str().unwrap_or("");
        let want = format!(
            "value of filter criterion for field '{field}' must be of type {ty} and should not be enclosed in quotes"
        );
        assert!(msg.ends_with(&want), "{filter}: {msg}");
    }
    // And the other way round: a string field refuses a bare number.
    let (s, b) = api.query(&q("Name = 4200")).await;
    assert_eq!((s, error_code(&b)), (400, "INVALID_FIELD"), "{b}");
    assert!(
        b[0]["message"]
            .as_str()
            .unwrap_or("")
            .ends_with("must be of type string and should be enclosed in quotes"),
        "{b}"
    );
}

#[tokio::test]
async fn unquoted_typed_literals_are_accepted() {
    let (_emu, api, _) = setup().await;
    for (filter, want) in [
        ("CloseDate = 2026-12-30", vec!["Late"]),
        ("CloseDate < 2026-12-01", vec!["Early"]),
        ("Amount = 4200", vec!["Late"]),
        ("Amount > 99.5", vec!["Early", "Late"]),
        ("IsWon = false", vec!["Early", "Late"]),
        ("Probability = null", vec!["Early", "Late"]),
        ("CreatedDate > 2000-11-30T14:00:00Z", vec!["Early", "Late"]),
        (
            "CreatedDate > 2000-11-30T14:00:00+01:00",
            vec!["Early", "Late"],
        ),
        ("CreatedDate < 2000-11-30T14:00:00.000-05:00", vec![]),
        (
            "CloseDate IN (2026-11-30, 2026-12-30)",
            vec!["Early", "Late"],
        ),
    ] {
        let (s, b) = api.query(&q(filter)).await;
        assert_eq!(s, 200, "{filter}: {b}");
        assert_eq!(names(&b), want, "{filter}");
    }
}

#[tokio::test]
async fn fifteen_character_ids_work_in_urls_and_soql_and_come_back_as_18() {
    let (_emu, api, account) = setup().await;
    assert_eq!(account.len(), 18);
    let short = &account[..15];
    let (s, b) = api.get(&format!("sobjects/Account/{short}")).await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["Id"], account.as_str());
    for filter in [
        format!("Id = '{short}'"),
        format!("Id IN ('{short}')"),
        format!("Id IN ('{account}', '{short}')"),
    ] {
        let (s, b) = api
            .query(&format!("SELECT Id FROM Account WHERE {filter}"))
            .await;
        assert_eq!(s, 200, "{filter}: {b}");
        assert_eq!(b["records"][0]["Id"], account.as_str(), "{filter}");
        assert_eq!(b["totalSize"], 1, "{filter}");
    }
    let (s, b) = api
        .query(&format!(
            "SELECT Name FROM Opportunity WHERE AccountId = '{short}' ORDER BY Name"
        ))
        .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(names(&b), ["Early", "Late"]);
    let (s, b) = api
        .patch(
            &format!("sobjects/Account/{short}"),
            json!({"Name": "Acme 2"}),
        )
        .await;
    assert_eq!(s, 204, "{b}");
    let (_, b) = api.get(&format!("sobjects/Account/{account}")).await;
    assert_eq!(b["Name"], "Acme 2");
}
