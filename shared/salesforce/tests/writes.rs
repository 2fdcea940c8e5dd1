//! Single-record CRUD, upsert, sObject Collections and composite against the emulator.

mod common;

use common::{Harness, ORG, bounded, fields};
use crmsync_salesforce::{CompositeSubrequest, Method, SObjectRecord, SfError, UpsertOutcome};
use serde_json::json;

#[tokio::test]
async fn crud_round_trip() {
    bounded(async {
        let h = Harness::start().await;
        let (client, _) = h.client();
        let id = client
            .create(
                "Account",
                &fields(json!({"Name": "Crud Co", "Industry": "Energy"})),
            )
            .await
            .unwrap();
        assert!(id.starts_with("001") && id.len() == 18, "{id}");

        let rec = client
            .get("Account", &id, &["Name", "Industry"])
            .await
            .unwrap();
        assert_eq!(rec.get_str("Name"), Some("Crud Co"));

        client
            .update("Account", &id, &fields(json!({"Name": "Crud Co 2"})))
            .await
            .unwrap();
        let rec = client.get("Account", &id, &[]).await.unwrap();
        assert_eq!(rec.get_str("Name"), Some("Crud Co 2"));

        client.delete("Account", &id).await.unwrap();
        let err = client
            .get("Account", &id, &["Name"])
            .await
            .expect_err("deleted");
        assert!(err.is_not_found(), "{err:?}");

        let err = client
            .create("Account", &fields(json!({"Industry": "Energy"})))
            .await
            .expect_err("Name is required");
        match err {
            SfError::Permanent { code, fields, .. } => {
                assert_eq!(code, "REQUIRED_FIELD_MISSING");
                assert!(fields.iter().any(|f| f == "Name"), "{fields:?}");
            }
            other => panic!("{other:?}"),
        }
        let err = client
            .update("Account", "not-an-id", &fields(json!({})))
            .await
            .expect_err("bad id");
        assert!(matches!(err, SfError::InvalidInput { .. }));
        h.stop().await;
    })
    .await;
}

#[tokio::test]
async fn upsert_created_updated_and_multiple_matches() {
    bounded(async {
        let h = Harness::start().await;
        let (client, _) = h.client();
        let email = "upsert+one@example.com";
        let created = client
            .upsert(
                "Contact",
                "Email",
                email,
                &fields(json!({"LastName": "Up"})),
            )
            .await
            .unwrap();
        assert!(created.created);
        let id = created.id.clone().expect("201 carries the id");

        let updated = client
            .upsert(
                "Contact",
                "Email",
                email,
                &fields(json!({"LastName": "Up2"})),
            )
            .await
            .unwrap();
        assert_eq!(
            updated,
            UpsertOutcome {
                id: Some(id.clone()),
                created: false
            }
        );
        let rec = client.get("Contact", &id, &["LastName"]).await.unwrap();
        assert_eq!(rec.get_str("LastName"), Some("Up2"));

        for _ in 0..2 {
            h.emu
                .admin()
                .insert_record(
                    ORG,
                    "Contact",
                    fields(json!({"LastName": "Dup", "Email": "dup@example.com"})),
                )
                .unwrap();
        }
        let err = client
            .upsert(
                "Contact",
                "Email",
                "dup@example.com",
                &fields(json!({"LastName": "X"})),
            )
            .await
            .expect_err("two matches");
        match err {
            SfError::UpsertMultipleMatches { matches, field, .. } => {
                assert_eq!(field, "Email");
                assert_eq!(matches.len(), 2);
                assert!(matches.iter().all(|m| m.contains("/sobjects/Contact/")));
            }
            other => panic!("{other:?}"),
        }
        h.stop().await;
    })
    .await;
}

#[tokio::test]
async fn collections_report_per_record_outcomes() {
    bounded(async {
        let h = Harness::start().await;
        let (client, _) = h.client();
        let too_long = "x".repeat(300);
        let records = vec![
            SObjectRecord::new("Account", fields(json!({"Name": "Good One"}))),
            SObjectRecord::new("Account", fields(json!({"Name": too_long}))),
            SObjectRecord::new("Account", fields(json!({"Name": "Good Two"}))),
        ];
        let outcomes = client.create_records(&records, false).await.unwrap();
        assert_eq!(outcomes.len(), 3);
        assert!(outcomes[0].success && outcomes[2].success);
        assert!(!outcomes[1].success);
        assert_eq!(outcomes[1].errors[0].status_code, "STRING_TOO_LONG");
        assert!(outcomes[1].errors[0].fields.iter().any(|f| f == "Name"));
        assert!(!outcomes[1].errors[0].is_retryable());

        // allOrNone: the good record is rolled back too.
        let outcomes = client.create_records(&records[..2], true).await.unwrap();
        assert!(outcomes.iter().all(|o| !o.success));
        assert_eq!(
            outcomes[0].errors[0].status_code,
            "ALL_OR_NONE_OPERATION_ROLLED_BACK"
        );

        // Update and delete by id.
        let id0 = outcomes_id(&client.create_records(&records[..1], false).await.unwrap()[0]);
        let updates = vec![
            SObjectRecord::new("Account", fields(json!({"Name": "Renamed"}))).with_id(id0.clone()),
        ];
        let outcomes = client.update_records(&updates, false).await.unwrap();
        assert!(outcomes[0].success, "{outcomes:?}");
        let outcomes = client
            .delete_records(&[id0.as_str(), "001000000000000AAA"], false)
            .await
            .unwrap();
        assert!(outcomes[0].success);
        assert!(!outcomes[1].success, "{outcomes:?}");
        h.stop().await;
    })
    .await;
}

async fn outcomes_id_of_first(client: &crmsync_salesforce::SfClient) -> Option<String> {
    let page = client
        .query_first_page(
            "SELECT Id FROM Contact WHERE Email = 'bulk0@example.com'",
            crmsync_salesforce::QueryScope::Live,
        )
        .await
        .unwrap();
    page.records
        .first()
        .and_then(|r| r.id().map(str::to_string))
}

fn outcomes_id(o: &crmsync_salesforce::RecordOutcome) -> String {
    assert!(o.success, "{o:?}");
    o.id.clone().unwrap()
}

#[tokio::test]
async fn collections_chunk_at_200_and_upsert_by_external_id() {
    bounded(async {
        let h = Harness::start().await;
        let (client, _) = h.client();
        let records: Vec<_> = (0..450)
            .map(|i| {
                SObjectRecord::new(
                    "Contact",
                    fields(json!({"LastName": format!("Bulk{i}"), "Email": format!("bulk{i}@example.com")})),
                )
            })
            .collect();
        let before = client.requests_sent();
        let outcomes = client.create_records(&records, false).await.unwrap();
        assert_eq!(client.requests_sent() - before, 3, "450 records → 3 calls");
        assert_eq!(outcomes.len(), 450);
        assert!(outcomes.iter().all(|o| o.success));

        let upserts = vec![
            SObjectRecord::new("Contact", fields(json!({"Email": "bulk0@example.com", "LastName": "Bulk0b"}))),
            SObjectRecord::new("Contact", fields(json!({"Email": "fresh@example.com", "LastName": "Fresh"}))),
        ];
        let outcomes = client
            .upsert_records("Contact", "Email", &upserts, false)
            .await
            .unwrap();
        assert_eq!(outcomes[0].created, Some(false), "{outcomes:?}");
        assert_eq!(outcomes[0].id.as_deref(), outcomes_id_of_first(&client).await.as_deref());
        assert_eq!(outcomes[1].created, Some(true), "{outcomes:?}");

        let err = client
            .upsert_records(
                "Contact",
                "Email",
                &[SObjectRecord::new("Lead", fields(json!({"Email": "x@y.z"})))],
                false,
            )
            .await
            .expect_err("mixed types");
        assert!(matches!(err.source, SfError::InvalidInput { .. }));
        assert!(err.completed.is_empty());

        // A chunk that fails after earlier chunks were applied reports what was applied.
        let mut records: Vec<_> = (0..250)
            .map(|i| SObjectRecord::new("Account", fields(json!({"Name": format!("Part{i}")}))))
            .collect();
        records[210].sobject_type = "Not a type".into();
        let err = client
            .create_records(&records, false)
            .await
            .expect_err("second chunk is invalid");
        assert_eq!(err.completed.len(), 200, "first chunk applied and reported");
        assert!(err.completed.iter().all(|o| o.success));
        assert!(!err.is_retryable());
        let applied = h.emu.admin().record_count(ORG, "Account").unwrap();
        assert!(applied >= 200);
        h.stop().await;
    })
    .await;
}

#[tokio::test]
async fn composite_runs_subrequests_in_one_call() {
    bounded(async {
        let h = Harness::start().await;
        let (client, _) = h.client();
        let subrequests = vec![
            CompositeSubrequest::new(Method::POST, "sobjects/Account", "acct")
                .with_body(json!({"Name": "Composite Co"})),
            CompositeSubrequest::new(Method::GET, "sobjects/Account/@{acct.id}", "read"),
            CompositeSubrequest::new(
                Method::GET,
                "sobjects/Account/001000000000000AAA",
                "missing",
            ),
            CompositeSubrequest::query(
                "SELECT Id, Name FROM Account WHERE Name = 'Composite Co'",
                "q",
            ),
        ];
        let before = h.emu.admin().api_usage(ORG).unwrap().used;
        let responses = client.composite(&subrequests, false).await.unwrap();
        let after = h.emu.admin().api_usage(ORG).unwrap().used;
        assert_eq!(after - before, 1, "composite counts as one API call");
        assert_eq!(responses.len(), 4);
        assert_eq!(responses[3].http_status_code, 200);
        assert_eq!(responses[3].body["totalSize"], 1, "{:?}", responses[3].body);
        assert_eq!(responses[0].http_status_code, 201);
        assert_eq!(responses[1].http_status_code, 200);
        assert_eq!(responses[1].body["Name"], "Composite Co");
        let err = responses[2].error().expect("404 subrequest");
        assert!(err.is_not_found(), "{err:?}");

        let too_many: Vec<_> = (0..26)
            .map(|i| CompositeSubrequest::new(Method::GET, "limits", format!("r{i}")))
            .collect();
        let sent = client.requests_sent();
        let err = client
            .composite(&too_many, false)
            .await
            .expect_err("26 > 25");
        assert!(matches!(err, SfError::InvalidInput { .. }));
        assert_eq!(client.requests_sent(), sent, "rejected before sending");
        h.stop().await;
    })
    .await;
}
