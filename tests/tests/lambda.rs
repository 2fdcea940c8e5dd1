//! The Lambda adapters: the push worker's partial batch response (an unreadable message is
//! a batch item failure, the good one is written and acknowledged), the poll function's
//! EventBridge tick (schedules due connections onto the poll queue) and poll-queue batch
//! (syncs them), and the sweep function's tick.

use crmsync_e2e::*;
use crmsync_service::lambda::{self, SqsEvent};
use crmsync_store::{Environment, QueueKind, ReportStatus};
use serde_json::{Value, json};

e2e!(lambda_adapters_drive_the_use_cases);

fn sqs_record(message_id: &str, body: &str) -> Value {
    json!({
        "messageId": message_id,
        "receiptHandle": format!("receipt-{message_id}"),
        "body": body,
        "attributes": {},
        "messageAttributes": {},
        "md5OfBody": "",
        "eventSource": "aws:sqs",
        "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:crmsync-push.fifo",
        "awsRegion": "us-east-1"
    })
}

fn failures(response: &Value) -> Vec<String> {
    response["batchItemFailures"]
        .as_array()
        .unwrap_or_else(|| panic!("a partial batch response: {response}"))
        .iter()
        .map(|f| f["itemIdentifier"].as_str().unwrap().to_string())
        .collect()
}

async fn lambda_adapters_drive_the_use_cases(backend: Backend) {
    let s = Stack::start(backend).await;
    s.connect("prod", Environment::Production).await;

    // Push: one good message (as ingest queued it) and one unreadable.
    let ev = app_event(
        "create",
        "contact",
        "app-lambda-1",
        s.now(),
        json!({"last_name": "Lambda", "phone": "+1 555 1300", "company_name": "Lambda Co",
               "email": "lambda@lambda.example"}),
    );
    let event_id = ev["event_id"].as_str().unwrap().to_string();
    s.send_events("prod", vec![ev]).await;
    let queued = s.receive_push(10).await;
    assert_eq!(queued.len(), 1);
    let event: SqsEvent = serde_json::from_value(json!({
        "Records": [sqs_record("m-good", &queued[0].body), sqs_record("m-bad", "{not json")]
    }))
    .expect("an SQS event");
    let response = lambda::push_batch(&s.app, event)
        .await
        .expect("the push handler answers");
    let response = serde_json::to_value(response).unwrap();
    assert_eq!(failures(&response), vec!["m-bad".to_string()], "{response}");
    s.ack_push(&queued).await;
    let r = s.report("prod", &event_id).await.expect("reported");
    assert_eq!(r.status, ReportStatus::Success, "{r:#?}");
    assert_eq!(s.count(PROD_ORG, "Lead", "LastName = 'Lambda'").await, 1);

    // Poll: the EventBridge minute tick schedules the due connection.
    let tick = json!({
        "version": "0",
        "id": "6a7e8feb-b491-4cf7-a9f1-bf3703467718",
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": "123456789012",
        "time": s.now().to_rfc3339(),
        "region": "us-east-1",
        "resources": ["arn:aws:events:us-east-1:123456789012:rule/crmsync-poll"],
        "detail": {}
    });
    let scheduled = lambda::poll(&s.app, tick.clone())
        .await
        .expect("the poll handler answers");
    assert_eq!(scheduled["scheduled"], json!(1), "{scheduled}");
    let mut polls = Vec::new();
    for _ in 0..5 {
        polls.extend(
            s.app
                .stores
                .queues
                .receive(QueueKind::Poll, 10)
                .await
                .unwrap(),
        );
        if !polls.is_empty() {
            break;
        }
    }
    assert_eq!(polls.len(), 1, "one poll message for the one connection");
    let body: Value = serde_json::from_str(&polls[0].body).unwrap();
    assert_eq!(body["tenant"], json!("acme"));
    assert_eq!(body["connection"], json!("prod"));

    // The poll-queue batch syncs it (and an unreadable poll message is a failure).
    let lead = s.insert(
        PROD_ORG,
        "Lead",
        json!({"LastName": "Polled", "Company": "Polled Co", "Phone": "+1 555 1301"}),
    );
    let before = s.last_seq().await;
    let batch = json!({
        "Records": [sqs_record("p-good", &polls[0].body), sqs_record("p-bad", "nope")]
    });
    let response = lambda::poll(&s.app, batch)
        .await
        .expect("the poll handler answers");
    assert_eq!(failures(&response), vec!["p-bad".to_string()], "{response}");
    for m in &polls {
        s.app
            .stores
            .queues
            .ack(QueueKind::Poll, &m.receipt)
            .await
            .unwrap();
    }
    let got = s.changes_after(before).await;
    assert_eq!(find_changes(&got, &lead).len(), 1, "{got:#?}");
    assert!(s.connection("prod").await.last_sync_at.is_some());
    // Just polled: the next tick within the minute schedules nothing.
    let scheduled = lambda::poll(&s.app, tick).await.unwrap();
    assert_eq!(scheduled["scheduled"], json!(0), "{scheduled}");

    // Sweep: the scheduled tick queues every connected connection; the worker sweeps it.
    s.advance(chrono::Duration::minutes(2));
    let swept = lambda::sweep(&s.app, json!({"source": "aws.events", "detail": {}}))
        .await
        .expect("the sweep handler answers");
    assert_eq!(swept["queued"], json!(1), "{swept}");
    let sweeps = s
        .app
        .stores
        .queues
        .receive(QueueKind::Sweep, 10)
        .await
        .unwrap();
    assert_eq!(sweeps.len(), 1, "one sweep message for the one connection");
    let batch = json!({ "Records": [sqs_record("s-1", &sweeps[0].body)] });
    let response = lambda::sweep(&s.app, batch)
        .await
        .expect("the sweep handler answers");
    assert!(failures(&response).is_empty(), "{response}");
}
