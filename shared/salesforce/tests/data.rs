//! Query, describe, limits and change feeds against the emulator.

mod common;

use std::collections::HashSet;

use chrono::Duration;
use common::{Harness, ORG, bounded, fields};
use crmsync_salesforce::soql::{Condition, Cursor, SoqlBuilder, cursor_query};
use crmsync_salesforce::{QueryPage, SfError};
use futures::{StreamExt, TryStreamExt};

#[derive(serde::Deserialize)]
struct Row {
    #[serde(rename = "Id")]
    id: String,
    #[serde(rename = "LastName")]
    last_name: String,
}

fn insert_contacts(h: &Harness, n: usize, tag: &str) -> Vec<String> {
    (0..n)
        .map(|i| {
            h.emu
                .admin()
                .insert_record(
                    ORG,
                    "Contact",
                    fields(serde_json::json!({
                        "LastName": format!("{tag}{i:04}"),
                        "Email": format!("{tag}{i}@paging.example"),
                    })),
                )
                .unwrap()
        })
        .collect()
}

#[tokio::test]
async fn query_streams_pages_following_next_records_url() {
    bounded(async {
        let h = Harness::start().await;
        let inserted = insert_contacts(&h, 450, "Pager");
        let (provider, _) = h.provider();
        let client = h.client_with(h.config().with_query_batch_size(200), provider);
        let describe = client.describe("Contact").await.unwrap();
        let soql = SoqlBuilder::new(&describe)
            .select(["Id", "LastName"])
            .filter(Condition::starts_with("LastName", "Pager"))
            .build()
            .unwrap();

        let mut pages = client.query(soql);
        let mut ids = HashSet::new();
        let mut count = 0;
        let mut sizes = Vec::new();
        while let Some(page) = pages.next().await {
            let page: QueryPage = page.unwrap();
            assert_eq!(page.total_size, 450);
            sizes.push(page.records.len());
            assert_eq!(page.done, page.next_records_url.is_none());
            for rec in &page.records {
                assert_eq!(rec.sobject_type(), Some("Contact"));
                ids.insert(rec.id().unwrap().to_string());
            }
            let rows: Vec<Row> = page.records_as().unwrap();
            assert!(
                rows.iter()
                    .all(|r| r.last_name.starts_with("Pager") && r.id.len() == 18)
            );
            count += 1;
        }
        assert_eq!(sizes, vec![200, 200, 50], "batchSize=200 pages");
        assert_eq!(count, 3);
        assert_eq!(ids, inserted.into_iter().collect::<HashSet<_>>());

        let (provider, _) = h.provider();
        let bad = h.client_with(h.config().with_query_batch_size(5000), provider);
        let err = bad
            .query_first_page(
                "SELECT Id FROM Contact",
                crmsync_salesforce::QueryScope::Live,
            )
            .await
            .expect_err("batch size out of range");
        assert!(matches!(err, SfError::InvalidInput { .. }), "{err:?}");
        h.stop().await;
    })
    .await;
}

#[tokio::test]
async fn query_all_includes_deleted_records() {
    bounded(async {
        let h = Harness::start().await;
        let ids = insert_contacts(&h, 2, "Gone");
        h.emu
            .admin()
            .delete_record(ORG, "Contact", &ids[0])
            .unwrap();
        let (client, _) = h.client();
        let soql = "SELECT Id, IsDeleted FROM Contact WHERE LastName LIKE 'Gone%'";
        let live: Vec<_> = client.query(soql).try_collect().await.unwrap();
        let all: Vec<_> = client.query_all(soql).try_collect().await.unwrap();
        assert_eq!(live[0].records.len(), 1);
        assert_eq!(all[0].records.len(), 2);
        let deleted = all[0]
            .records
            .iter()
            .find(|r| r.id() == Some(ids[0].as_str()))
            .unwrap();
        assert_eq!(
            deleted.get("IsDeleted"),
            Some(&serde_json::Value::Bool(true))
        );
        h.stop().await;
    })
    .await;
}

#[tokio::test]
async fn relationship_fields_and_org_name() {
    bounded(async {
        let h = Harness::start().await;
        insert_contacts(&h, 1, "Rel");
        let (client, _) = h.client();
        let contact = client.describe("Contact").await.unwrap();
        let user = client.describe("User").await.unwrap();
        let soql = SoqlBuilder::new(&contact)
            .related(&user)
            .select(["Id", "Owner.Email"])
            .limit(1)
            .build()
            .unwrap();
        let page = client
            .query_first_page(&soql, crmsync_salesforce::QueryScope::Live)
            .await
            .unwrap();
        let email = page.records[0].get_str("Owner.Email");
        assert!(
            email.is_some_and(|e| e.contains('@')),
            "{:?}",
            page.records[0]
        );

        let org = client.org_name().await.unwrap();
        assert!(!org.is_empty());
        h.stop().await;
    })
    .await;
}

#[tokio::test]
async fn hostile_values_round_trip_through_the_org() {
    bounded(async {
        let h = Harness::start().await;
        let (client, _) = h.client();
        let describe = client.describe("Contact").await.unwrap();
        for name in [
            "O'Brien",
            "back\\slash",
            "x' OR LastName != '",
            "tab\there",
            "100%_sure",
        ] {
            let id = client
                .create("Contact", &fields(serde_json::json!({"LastName": name})))
                .await
                .unwrap();
            let soql = SoqlBuilder::new(&describe)
                .select(["Id", "LastName"])
                .filter(Condition::eq("LastName", name))
                .build()
                .unwrap();
            let page = client
                .query_first_page(&soql, crmsync_salesforce::QueryScope::Live)
                .await
                .unwrap();
            assert_eq!(page.records.len(), 1, "{name:?} → {soql}");
            assert_eq!(page.records[0].id(), Some(id.as_str()));
            assert_eq!(page.records[0].get_str("LastName"), Some(name));
        }
        h.stop().await;
    })
    .await;
}

#[tokio::test]
async fn cursor_query_walks_ties_in_order() {
    bounded(async {
        let h = Harness::start().await;
        let admin = h.emu.admin();
        let stamp = admin.now() - Duration::minutes(10);
        // Five records sharing one SystemModstamp: the Id tie-break must page through them.
        let mut ids: Vec<String> = (0..5)
            .map(|i| {
                admin
                    .commit_late(
                        ORG,
                        "Lead",
                        None,
                        fields(
                            serde_json::json!({"LastName": format!("Tie{i}"), "Company": "Tie Co"}),
                        ),
                        stamp,
                    )
                    .unwrap()
            })
            .collect();
        ids.sort();
        let (client, _) = h.client();
        let describe = client.describe("Lead").await.unwrap();
        let mut cursor = Cursor {
            system_modstamp: stamp - Duration::seconds(1),
            id: String::new(),
        };
        let mut seen = Vec::new();
        loop {
            let soql = cursor_query(&describe, &["LastName"], Some(&cursor), None, 2).unwrap();
            let page = client
                .query_first_page(&soql, crmsync_salesforce::QueryScope::Live)
                .await
                .unwrap();
            if page.records.is_empty() {
                break;
            }
            for rec in &page.records {
                let ts = rec.system_modstamp().unwrap();
                if ts == stamp {
                    seen.push(rec.id().unwrap().to_string());
                }
                cursor = Cursor {
                    system_modstamp: ts,
                    id: rec.id().unwrap().to_string(),
                };
            }
            assert!(seen.len() <= 5 + 1000, "no runaway loop");
            if cursor.system_modstamp > stamp {
                break;
            }
        }
        assert_eq!(seen, ids, "every tied record exactly once, in Id order");

        // The overlap variant re-reads the window before the cursor.
        let after = Cursor {
            system_modstamp: stamp + Duration::seconds(1),
            id: "zzz".into(),
        };
        let soql = cursor_query(
            &describe,
            &[],
            Some(&after),
            Some(Duration::minutes(1)),
            200,
        )
        .unwrap();
        let page = client
            .query_first_page(&soql, crmsync_salesforce::QueryScope::Live)
            .await
            .unwrap();
        let window: HashSet<_> = page.records.iter().filter_map(|r| r.id()).collect();
        assert!(ids.iter().all(|id| window.contains(id.as_str())));
        h.stop().await;
    })
    .await;
}

#[tokio::test]
async fn describe_is_cached_per_client() {
    bounded(async {
        let h = Harness::start().await;
        let (client, _) = h.client();
        let first = client.describe("Contact").await.unwrap();
        let sent = client.requests_sent();
        let second = client.describe("contact").await.unwrap();
        assert_eq!(client.requests_sent(), sent, "served from cache");
        assert!(std::sync::Arc::ptr_eq(&first, &second));
        let email = first.field("Email").expect("Contact.Email");
        assert!(email.id_lookup);
        assert!(crmsync_salesforce::describe::relationship_field(&first, "Owner").is_some());
        client.invalidate_describe("Contact");
        client.describe("Contact").await.unwrap();
        assert_eq!(client.requests_sent(), sent + 1);

        // A describe older than the client's TTL is read again (schema drift is noticed).
        let (provider, _) = h.provider();
        let expiring = h.client_with(
            h.config().with_describe_ttl(std::time::Duration::ZERO),
            provider,
        );
        expiring.describe("Contact").await.unwrap();
        let before = expiring.requests_sent();
        expiring.describe("Contact").await.unwrap();
        assert_eq!(expiring.requests_sent(), before + 1, "expired: read again");

        let global = client.describe_global().await.unwrap();
        let names: HashSet<_> = global.sobjects.iter().map(|s| s.name.as_str()).collect();
        for object in ["Account", "Contact", "Lead", "Opportunity", "User"] {
            assert!(
                names.contains(object),
                "{object} missing from global describe"
            );
        }
        let err = client
            .describe("NoSuch__c")
            .await
            .expect_err("unknown object");
        assert!(matches!(err, SfError::Permanent { .. }), "{err:?}");
        h.stop().await;
    })
    .await;
}

#[tokio::test]
async fn limits_report_daily_api_requests() {
    bounded(async {
        let h = Harness::start().await;
        let (client, _) = h.client();
        let limits = client.limits().await.unwrap();
        let daily = limits.daily_api_requests().expect("DailyApiRequests");
        let org = h.emu.admin().api_usage(ORG).unwrap();
        assert_eq!(daily.max as u64, org.max);
        assert!(daily.remaining <= daily.max);
        h.stop().await;
    })
    .await;
}

#[tokio::test]
async fn get_updated_and_get_deleted() {
    bounded(async {
        let h = Harness::start().await;
        let (client, _) = h.client();
        let admin = h.emu.admin();
        let start = admin.now() - Duration::minutes(5);
        let id = client
            .create("Account", &fields(serde_json::json!({"Name": "Feed Co"})))
            .await
            .unwrap();
        admin.advance_clock(std::time::Duration::from_secs(120));
        let end = admin.now();

        let updated = client.get_updated("Account", start, end).await.unwrap();
        assert!(updated.ids.contains(&id), "{updated:?}");
        assert!(updated.latest_date_covered <= end);

        client.delete("Account", &id).await.unwrap();
        admin.advance_clock(std::time::Duration::from_secs(120));
        let deleted = client
            .get_deleted("Account", start, admin.now())
            .await
            .unwrap();
        assert!(
            deleted.deleted_records.iter().any(|d| d.id == id),
            "{deleted:?}"
        );

        let too_old = admin.now() - Duration::days(40);
        let err = client
            .get_deleted("Account", too_old, admin.now())
            .await
            .expect_err("outside the delete log");
        assert!(
            matches!(err, SfError::InvalidReplicationDate { .. }),
            "{err:?}"
        );
        assert!(!err.is_retryable());

        let err = client
            .get_updated("Account", end, start)
            .await
            .expect_err("start after end");
        assert!(matches!(err, SfError::InvalidInput { .. }));
        h.stop().await;
    })
    .await;
}

/// Several queries' first pages in one composite request each five: one metered call for up
/// to five queries, a failed query answers on its own, a page that is not done continues by
/// `nextRecordsUrl`, and the batch size travels in each subrequest's own headers.
#[tokio::test]
async fn query_first_pages_reads_five_queries_a_composite_call() {
    bounded(async {
        let h = Harness::start().await;
        insert_contacts(&h, 450, "Batch");
        let (provider, _) = h.provider();
        let client = h.client_with(h.config().with_query_batch_size(200), provider);
        let mut soqls: Vec<String> = (0..5)
            .map(|i| format!("SELECT Id FROM Contact WHERE LastName LIKE 'Batch0{i}%'"))
            .collect();
        soqls[0] = "SELECT Id, LastName FROM Contact WHERE LastName LIKE 'Batch%'".into();
        soqls[3] = "SELECT NoSuchField__c FROM Contact".into();
        h.emu.admin().reset_counters(ORG).unwrap();
        let pages = client.query_first_pages(&soqls).await.unwrap();
        let usage = h.emu.admin().api_usage(ORG).unwrap();
        assert_eq!(usage.counters.get("composite"), Some(&1), "{usage:?}");
        assert_eq!(usage.counters.get("query"), None, "{usage:?}");
        assert_eq!(pages.len(), 5);
        let first = pages[0].as_ref().unwrap();
        assert_eq!((first.total_size, first.records.len()), (450, 200));
        assert!(!first.done && first.next_records_url.is_some());
        let err = pages[3]
            .as_ref()
            .expect_err("an unknown field fails its own query");
        assert!(err.is_query_error(), "{err:?}");
        assert_eq!(
            pages[1].as_ref().unwrap().total_size,
            100,
            "Batch0100..Batch0199"
        );

        // The rest of the first query by its locator: 250 more in two pages.
        let rest: Vec<QueryPage> = client
            .query_continue(first.clone())
            .try_collect()
            .await
            .unwrap();
        let sizes: Vec<usize> = rest.iter().map(|p| p.records.len()).collect();
        assert_eq!(sizes, vec![200, 200, 50]);

        // Six queries need two composite requests (at most five queries in one).
        h.emu.admin().reset_counters(ORG).unwrap();
        soqls[3] = "SELECT Id FROM Contact".into();
        soqls.push("SELECT Id FROM Account".into());
        let pages = client.query_first_pages(&soqls).await.unwrap();
        assert_eq!(pages.len(), 6);
        assert!(pages.iter().all(Result::is_ok));
        let usage = h.emu.admin().api_usage(ORG).unwrap();
        assert_eq!(usage.counters.get("composite"), Some(&2), "{usage:?}");
        h.stop().await;
    })
    .await;
}
