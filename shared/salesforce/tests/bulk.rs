//! The Bulk API 2.0 client against the emulator: a query job polled with backoff and read
//! by locator into typed records; an ingest job with per-record results.

mod common;

use std::time::{Duration, Instant};

use common::{Harness, ORG, bounded, fields};
use crmsync_salesforce::QueryScope;
use crmsync_salesforce::bulk::{IngestOperation, JobState, PollBackoff, typed_record};
use serde_json::{Value, json};

fn quick() -> PollBackoff {
    PollBackoff {
        first: Duration::from_millis(5),
        max: Duration::from_millis(20),
    }
}

#[tokio::test]
async fn a_query_job_is_read_set_by_set_into_typed_records() {
    bounded(async {
        let h = Harness::start().await;
        let admin = h.emu.admin();
        let before = admin.record_count(ORG, "Contact").unwrap();
        let rows = (0..30)
            .map(|i| {
                fields(json!({"LastName": format!("Bulk{i}"), "Email": format!("b{i}@x.example")}))
            })
            .collect();
        admin.insert_records(ORG, "Contact", rows).unwrap();
        admin.set_bulk_polls(2);
        let (client, _) = h.client();
        let job = client
            .bulk_query_create(
                "SELECT Id, LastName, Email, Owner.Email FROM Contact",
                QueryScope::Live,
            )
            .await
            .unwrap();
        assert_eq!(job.state, JobState::UploadComplete);
        // A deadline already passed: one status read, the job not yet done.
        let info = client
            .bulk_query_wait(&job.id, quick(), Some(Instant::now()))
            .await
            .unwrap();
        assert_eq!(info.state, JobState::InProgress);
        let info = client
            .bulk_query_wait(&job.id, quick(), None)
            .await
            .unwrap();
        assert_eq!(info.state, JobState::JobComplete);
        let describe = client.describe("Contact").await.unwrap();
        let mut locator: Option<String> = None;
        let mut records = Vec::new();
        let mut sets = 0;
        loop {
            let set = client
                .bulk_query_results(&job.id, locator.as_deref(), 7)
                .await
                .unwrap();
            sets += 1;
            assert_eq!(set.columns, ["Id", "LastName", "Email", "Owner.Email"]);
            records.extend(
                set.rows
                    .iter()
                    .map(|r| typed_record(&set.columns, r, &describe)),
            );
            match set.next_locator {
                Some(l) => locator = Some(l),
                None => break,
            }
        }
        let total = before + 30;
        assert_eq!(records.len(), total);
        assert_eq!(sets, total.div_ceil(7));
        let bulk29 = records
            .iter()
            .find(|r| r["LastName"] == "Bulk29")
            .expect("seeded row");
        assert_eq!(bulk29["Email"], "b29@x.example");
        assert!(bulk29["Owner"]["Email"].is_string(), "{bulk29:?}");
        assert_eq!(
            admin.api_count(ORG, "bulk.query.results").unwrap(),
            sets as u64
        );
        h.stop().await;
    })
    .await;
}

#[tokio::test]
async fn an_ingest_job_returns_successes_and_failures_per_record() {
    bounded(async {
        let h = Harness::start().await;
        h.emu.admin().set_bulk_polls(0);
        let (client, _) = h.client();
        let job = client
            .bulk_ingest_create("Contact", IngestOperation::Insert, None)
            .await
            .unwrap();
        assert_eq!(job.state, JobState::Open);
        let columns = vec!["LastName".to_string(), "Email".into()];
        let rows = vec![
            vec!["Ingested".to_string(), "in@x.example".into()],
            vec![String::new(), "bad@x.example".into()],
        ];
        client
            .bulk_ingest_upload(&job.id, &columns, &rows)
            .await
            .unwrap();
        let closed = client.bulk_ingest_close(&job.id).await.unwrap();
        assert_eq!(closed.state, JobState::UploadComplete);
        let done = client
            .bulk_ingest_wait(&job.id, quick(), None)
            .await
            .unwrap();
        assert_eq!(done.state, JobState::JobComplete);
        assert_eq!(done.number_records_failed, Some(1));
        let results = client.bulk_ingest_results(&job.id).await.unwrap();
        assert_eq!(results.successful.len(), 1);
        let ok = &results.successful[0];
        assert!(ok.created);
        assert_eq!(ok.fields["Email"], "in@x.example");
        let id = ok.sf_id.clone().expect("id");
        let rec = h
            .emu
            .admin()
            .get_record(ORG, "Contact", &id)
            .unwrap()
            .unwrap();
        assert_eq!(rec["LastName"], Value::from("Ingested"));
        assert_eq!(results.failed.len(), 1);
        assert!(
            results.failed[0]
                .error
                .as_deref()
                .unwrap()
                .starts_with("REQUIRED_FIELD_MISSING")
        );
        assert_eq!(results.failed[0].fields["Email"], "bad@x.example");
        assert!(results.unprocessed.is_empty());
        h.stop().await;
    })
    .await;
}
