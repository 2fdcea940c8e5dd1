//! SOQL over HTTP: fields and parents, filters, ordering, paging, queryAll, errors.

mod common;

use common::*;
use serde_json::{Value, json};
use sf_emulator::{OrgSpec, demo};

async fn setup() -> (sf_emulator::Emulator, Api) {
    let emu = start_small(OrgSpec::new("q")).await;
    let admin = emu.admin();
    let acct = admin
        .insert_record(
            "q",
            "Account",
            json!({"Name": "Acme"})
                .as_object()
                .cloned()
                .unwrap_or_default(),
        )
        .expect("account");
    for (i, (first, last, email)) in [
        ("Ann", "Zeta", Some("ann@acme.example")),
        ("Bob", "Young", None),
        ("Cid", "Xu", Some("cid@other.example")),
        ("Dee", "Walker", Some("dee@acme.example")),
    ]
    .into_iter()
    .enumerate()
    {
        let mut f =
            json!({"FirstName": first, "LastName": last, "Email": email, "Title": format!("T{i}")});
        if i % 2 == 0 {
            f["AccountId"] = json!(acct);
        }
        admin
            .insert_record("q", "Contact", f.as_object().cloned().unwrap_or_default())
            .expect("contact");
    }
    let api = Api::new(&emu, token(&emu, "q", "admin@q.example"));
    (emu, api)
}

fn names(body: &Value) -> Vec<String> {
    body["records"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|r| r["LastName"].as_str().unwrap_or("").to_string())
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test]
async fn fields_parents_and_attributes() {
    let (_emu, api) = setup().await;
    let (s, body) = api
        .query(
            "SELECT Id, LastName, Owner.Email, Account.Name FROM Contact WHERE LastName = 'zeta'",
        )
        .await;
    assert_eq!(s, 200, "{body}");
    assert_eq!(body["totalSize"], 1);
    assert_eq!(body["done"], true);
    assert!(body.get("nextRecordsUrl").is_none());
    let r = &body["records"][0];
    assert_eq!(r["attributes"]["type"], "Contact");
    let id = r["Id"].as_str().unwrap_or("");
    assert_eq!(id.len(), 18);
    assert!(id.starts_with("003"));
    assert_eq!(
        r["attributes"]["url"],
        format!("/services/data/v62.0/sobjects/Contact/{id}")
    );
    assert_eq!(r["Owner"]["Email"], "admin@q.example");
    assert_eq!(r["Owner"]["attributes"]["type"], "User");
    assert_eq!(r["Account"]["Name"], "Acme");
    // no account → the relationship is null
    let (_, body) = api
        .query("SELECT Account.Name FROM Contact WHERE LastName = 'Young'")
        .await;
    assert!(body["records"][0]["Account"].is_null());
}

#[tokio::test]
async fn where_operators_order_limit_offset_count() {
    let (_emu, api) = setup().await;
    let (_, b) = api
        .query("SELECT LastName FROM Contact WHERE (Email LIKE '%@acme.example' OR Email = null) AND NOT LastName IN ('Walker') ORDER BY LastName")
        .await;
    assert_eq!(names(&b), ["Young", "Zeta"]);
    let (_, b) = api.query("SELECT LastName FROM Contact WHERE LastName >= 'X' AND LastName < 'Z' ORDER BY LastName DESC").await;
    assert_eq!(names(&b), ["Young", "Xu"]);
    let (_, b) = api
        .query(
            "SELECT LastName FROM Contact ORDER BY Email ASC NULLS LAST, LastName LIMIT 2 OFFSET 1",
        )
        .await;
    assert_eq!(names(&b), ["Xu", "Walker"]);
    let (_, b) = api
        .query("SELECT LastName FROM Contact ORDER BY Email DESC NULLS FIRST LIMIT 1")
        .await;
    assert_eq!(names(&b), ["Young"]);
    let (_, b) = api
        .query("SELECT COUNT() FROM Contact WHERE Email != null")
        .await;
    assert_eq!(b["totalSize"], 3);
    assert_eq!(b["records"], json!([]));
    let (_, b) = api.query("SELECT LastName FROM Contact WHERE CreatedDate > 2000-01-01T00:00:00Z AND HasOptedOutOfEmail = false AND LastName != 'Xu'").await;
    assert_eq!(b["totalSize"], 3);
    let (_, b) = api
        .query(
            "SELECT LastName FROM Contact WHERE LastName NOT IN ('Xu', 'Young') ORDER BY LastName",
        )
        .await;
    assert_eq!(names(&b), ["Walker", "Zeta"]);
}

#[tokio::test]
async fn errors_use_salesforce_codes_and_carets() {
    let (_emu, api) = setup().await;
    let (s, b) = api.query("SELECT Id FROM Contact WHERE").await;
    assert_eq!(s, 400);
    assert_eq!(error_code(&b), "MALFORMED_QUERY");
    let msg = b[0]["message"].as_str().unwrap_or("");
    assert!(
        msg.contains("ERROR at Row:1:Column:") && msg.contains('^'),
        "{msg}"
    );
    let (s, b) = api.query("SELECT Id, Bogus__c FROM Contact").await;
    assert_eq!((s, error_code(&b)), (400, "INVALID_FIELD"));
    assert!(
        b[0]["message"]
            .as_str()
            .unwrap_or("")
            .contains("No such column 'Bogus__c'")
    );
    let (s, b) = api.query("SELECT Id FROM Widget__c").await;
    assert_eq!((s, error_code(&b)), (400, "INVALID_TYPE"));
    let (s, b) = api
        .query("SELECT Id FROM Contact WHERE CreatedDate > '2024-01-01'")
        .await;
    assert_eq!((s, error_code(&b)), (400, "INVALID_FIELD"));
    let (s, b) = api
        .query("SELECT Id FROM Contact WHERE Bogus.Name = 'x'")
        .await;
    assert_eq!((s, error_code(&b)), (400, "INVALID_FIELD"));
}

#[tokio::test]
async fn raw_query_strings_accept_plus_percent20_and_trailing_slash() {
    let (emu, api) = setup().await;
    for url in [
        "query?q=SELECT+LastName+FROM+Contact+WHERE+LastName+=+'Xu'",
        "query/?q=SELECT%20LastName%20FROM%20Contact%20WHERE%20LastName%20=%20'Xu'",
    ] {
        let (s, b) = api.get(url).await;
        assert_eq!(s, 200, "{url}: {b}");
        assert_eq!(names(&b), ["Xu"], "{url}");
    }
    // other API versions are echoed
    let resp = client()
        .get(format!(
            "{}/services/data/v58.0/query?q=SELECT+Id+FROM+Contact+LIMIT+1",
            emu.base_url()
        ))
        .bearer_auth(&api.token)
        .send()
        .await
        .expect("query");
    let b: Value = resp.json().await.expect("json");
    assert!(
        b["records"][0]["attributes"]["url"]
            .as_str()
            .unwrap_or("")
            .starts_with("/services/data/v58.0/")
    );
}

#[tokio::test]
async fn paging_with_batch_size_and_query_all() {
    let emu = start_demo().await;
    let api = Api::new(&emu, token(&emu, demo::ORG_ALIAS, demo::USERNAME));
    let resp = api
        .http
        .get(api.url("query"))
        .query(&[("q", "SELECT Id FROM Contact ORDER BY Id")])
        .header("Sforce-Query-Options", "batchSize=50")
        .bearer_auth(&api.token)
        .send()
        .await
        .expect("query");
    let first: Value = resp.json().await.expect("json");
    // below the minimum: clamped to 200
    assert_eq!(first["records"].as_array().map(Vec::len), Some(200));
    assert_eq!(first["totalSize"], 300);
    assert_eq!(first["done"], false);
    let next = first["nextRecordsUrl"].as_str().expect("next").to_string();
    assert!(
        next.starts_with("/services/data/v62.0/query/01g") && next.ends_with("-200"),
        "{next}"
    );
    let resp = api
        .http
        .get(format!("{}{}", emu.base_url(), next))
        .bearer_auth(&api.token)
        .send()
        .await
        .expect("more");
    let second: Value = resp.json().await.expect("json");
    assert_eq!(second["done"], true);
    assert_eq!(second["records"].as_array().map(Vec::len), Some(100));
    assert!(second.get("nextRecordsUrl").is_none());
    let mut ids: Vec<&str> = first["records"]
        .as_array()
        .into_iter()
        .flatten()
        .chain(second["records"].as_array().into_iter().flatten())
        .filter_map(|r| r["Id"].as_str())
        .collect();
    let n = ids.len();
    ids.dedup();
    assert_eq!(ids.len(), n, "pages do not overlap");
    // default batch: everything in one page
    let (_, all) = api.query("SELECT Id FROM Contact").await;
    assert_eq!(all["records"].as_array().map(Vec::len), Some(300));

    // queryAll sees deleted rows with IsDeleted
    let id = ids[0].to_string();
    assert_eq!(api.delete(&format!("sobjects/Contact/{id}")).await.0, 204);
    let (_, live) = api
        .query(&format!("SELECT Id FROM Contact WHERE Id = '{id}'"))
        .await;
    assert_eq!(live["totalSize"], 0);
    let (s, b) = api
        .get(&format!(
            "queryAll?q=SELECT+Id,IsDeleted+FROM+Contact+WHERE+Id='{id}'"
        ))
        .await;
    assert_eq!(s, 200);
    assert_eq!(b["records"][0]["IsDeleted"], true);
    // locators expire after 15 idle minutes
    let resp = api
        .http
        .get(api.url("query"))
        .query(&[("q", "SELECT Id FROM Contact")])
        .header("Sforce-Query-Options", "batchSize=200")
        .bearer_auth(&api.token)
        .send()
        .await
        .expect("query");
    let page: Value = resp.json().await.expect("json");
    let next = page["nextRecordsUrl"].as_str().expect("next").to_string();
    emu.admin()
        .advance_clock(std::time::Duration::from_secs(16 * 60));
    let (s, b) = api
        .get(next.trim_start_matches(&format!("/services/data/{V}/")))
        .await;
    assert_eq!((s, error_code(&b)), (400, "INVALID_QUERY_LOCATOR"));
    // bad locator
    let (s, b) = api.get("query/01gXXXXXXXXXXXX-200").await;
    assert_eq!((s, error_code(&b)), (400, "INVALID_QUERY_LOCATOR"));
}

#[tokio::test]
async fn cursor_query_on_system_modstamp_and_id() {
    let (emu, api) = setup().await;
    // a late commit: visible now, stamped in the past
    let past = emu.admin().now() - chrono::Duration::hours(1);
    emu.admin()
        .commit_late(
            "q",
            "Contact",
            None,
            json!({"LastName": "Late"})
                .as_object()
                .cloned()
                .unwrap_or_default(),
            past,
        )
        .expect("late");
    let (_, b) = api
        .query("SELECT LastName, SystemModstamp FROM Contact ORDER BY SystemModstamp ASC, Id ASC LIMIT 1")
        .await;
    assert_eq!(names(&b), ["Late"]);
    let stamp = b["records"][0]["SystemModstamp"]
        .as_str()
        .unwrap_or("")
        .to_string();
    assert!(stamp.ends_with("+0000") && stamp.len() == 28, "{stamp}");
    let lit = stamp.replace("+0000", "Z");
    let (s, b) = api
        .query(&format!(
            "SELECT LastName FROM Contact WHERE SystemModstamp > {lit} ORDER BY SystemModstamp, Id"
        ))
        .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["totalSize"], 4);
}

#[tokio::test]
async fn relative_date_literals() {
    let emu = start_small(OrgSpec::new("r")).await;
    let now = chrono::TimeZone::with_ymd_and_hms(&chrono::Utc, 2026, 5, 10, 15, 0, 0)
        .single()
        .expect("t");
    emu.admin().freeze_clock(now);
    for (name, created, close) in [
        ("Today", "2026-05-10T01:00:00Z", "2026-05-10"),
        ("Yesterday", "2026-05-09T23:59:00Z", "2026-05-11"),
        ("LastWeek", "2026-05-04T12:00:00Z", "2026-05-20"),
        ("LongAgo", "2026-01-01T00:00:00Z", "2027-01-01"),
    ] {
        emu.admin()
            .insert_record(
                "r",
                "Opportunity",
                json!({"Name": name, "StageName": "Prospecting", "CloseDate": close, "CreatedDate": created})
                    .as_object()
                    .cloned()
                    .unwrap_or_default(),
            )
            .expect("insert");
    }
    let api = Api::new(&emu, token(&emu, "r", "admin@r.example"));
    let q = |w: &str| format!("SELECT Name FROM Opportunity WHERE {w} ORDER BY CreatedDate");
    let names = |b: &Value| -> Vec<String> {
        b["records"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|r| r["Name"].as_str().unwrap_or("").to_string())
            .collect()
    };
    let (s, b) = api.query(&q("CreatedDate = TODAY")).await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(names(&b), ["Today"]);
    let (_, b) = api.query(&q("CreatedDate = YESTERDAY")).await;
    assert_eq!(names(&b), ["Yesterday"]);
    let (_, b) = api.query(&q("CreatedDate = LAST_N_DAYS:7")).await;
    assert_eq!(names(&b), ["LastWeek", "Yesterday", "Today"]);
    let (_, b) = api.query(&q("CreatedDate < LAST_N_DAYS:7")).await;
    assert_eq!(names(&b), ["LongAgo"]);
    let (_, b) = api.query(&q("CloseDate = NEXT_N_DAYS:10")).await;
    assert_eq!(names(&b), ["LastWeek", "Yesterday"]);
    let (_, b) = api.query(&q("CloseDate > TOMORROW")).await;
    assert_eq!(names(&b), ["LongAgo", "LastWeek"]);
    let (s, b) = api.query(&q("Name = TODAY")).await;
    assert_eq!((s, error_code(&b)), (400, "INVALID_FIELD"));
}

#[tokio::test]
async fn includes_and_excludes_on_multipicklists() {
    let mut f = sf_emulator::schema::FieldDef::new(
        "Regions__c",
        sf_emulator::schema::FieldType::Multipicklist,
    );
    f.picklist_values = vec!["EMEA".into(), "APAC".into(), "AMER".into()];
    let emu = start_small(OrgSpec::new("m").custom_field("Account", f)).await;
    for (name, regions) in [("A", "EMEA;APAC"), ("B", "AMER"), ("C", "APAC")] {
        emu.admin()
            .insert_record(
                "m",
                "Account",
                json!({"Name": name, "Regions__c": regions})
                    .as_object()
                    .cloned()
                    .unwrap_or_default(),
            )
            .expect("insert");
    }
    let api = Api::new(&emu, token(&emu, "m", "admin@m.example"));
    let names = |b: &Value| -> Vec<String> {
        b["records"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|r| r["Name"].as_str().unwrap_or("").to_string())
            .collect()
    };
    let (s, b) = api
        .query("SELECT Name FROM Account WHERE Regions__c INCLUDES ('APAC') ORDER BY Name")
        .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(names(&b), ["A", "C"]);
    let (_, b) = api.query("SELECT Name FROM Account WHERE Regions__c INCLUDES ('emea;apac', 'AMER') ORDER BY Name").await;
    assert_eq!(names(&b), ["A", "B"]);
    let (_, b) = api
        .query("SELECT Name FROM Account WHERE Regions__c EXCLUDES ('APAC') ORDER BY Name")
        .await;
    assert_eq!(names(&b), ["B"]);
    let (s, b) = api
        .query("SELECT Name FROM Account WHERE Name INCLUDES ('A')")
        .await;
    assert_eq!((s, error_code(&b)), (400, "INVALID_FIELD"));
}
