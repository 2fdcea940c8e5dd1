//! Issue 11 goal 5: the sweep tick fans out one sweep-queue message per connected
//! connection, the sweep worker sweeps each in its own batch, and a connection whose API
//! budget is spent is not swept (the guard runs before any Salesforce call).

use crmsync_e2e::*;
use crmsync_service::lambda;
use crmsync_service::messages::SweepMessage;
use crmsync_service::runs::RunStatus;
use crmsync_service::sweep;
use crmsync_store::{ConnectionStatus, Environment, QueueKind, ReceivedMessage};
use serde_json::{Value, json};

e2e!(
    the_sweep_tick_fans_out_one_message_per_connection,
    a_connection_over_its_budget_is_not_swept
);

async fn drain_sweep_queue(s: &Stack) -> Vec<ReceivedMessage> {
    let mut all = Vec::new();
    loop {
        let got = s
            .app
            .stores
            .queues
            .receive(QueueKind::Sweep, 10)
            .await
            .unwrap();
        if got.is_empty() {
            return all;
        }
        for m in &got {
            s.app
                .stores
                .queues
                .ack(QueueKind::Sweep, &m.receipt)
                .await
                .unwrap();
        }
        all.extend(got);
    }
}

fn sqs_batch(messages: &[ReceivedMessage]) -> Value {
    let records: Vec<Value> = messages
        .iter()
        .map(|m| {
            json!({
                "messageId": m.message_id, "receiptHandle": m.receipt, "body": m.body,
                "attributes": {}, "messageAttributes": {}, "eventSource": "aws:sqs",
                "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:crmsync-sweep",
                "awsRegion": "us-east-1"
            })
        })
        .collect();
    json!({ "Records": records })
}

async fn the_sweep_tick_fans_out_one_message_per_connection(backend: Backend) {
    let s = Stack::start(backend).await;
    s.connect("prod", Environment::Production).await;
    s.connect("sbx", Environment::Sandbox).await;
    s.connect("gone", Environment::Production).await;
    s.app
        .stores
        .connections
        .update_status(
            &s.tenant,
            &s.conn("gone"),
            None,
            ConnectionStatus::Disconnected,
            None,
        )
        .await
        .unwrap();
    s.advance(chrono::Duration::minutes(2));
    let doomed = s.insert(
        PROD_ORG,
        "Contact",
        json!({"LastName": "Doomed", "Email": "doomed@fanout.example"}),
    );
    s.poll("prod").await;
    s.advance(chrono::Duration::minutes(2));

    let tick = json!({"source": "crmsync.scheduler", "detail-type": "Scheduled Event", "detail": {"job": "sweep"}});
    let out = lambda::sweep(&s.app, tick.clone()).await.unwrap();
    assert_eq!(out["queued"], json!(2), "{out}");
    let messages = drain_sweep_queue(&s).await;
    let mut swept: Vec<String> = messages
        .iter()
        .map(|m| {
            serde_json::from_str::<SweepMessage>(&m.body)
                .unwrap()
                .connection
        })
        .collect();
    swept.sort();
    assert_eq!(swept, vec!["prod".to_string(), "sbx".to_string()]);

    // The worker: each connection on its own; the first sweep records the sweep time.
    let response = lambda::sweep(&s.app, sqs_batch(&messages)).await.unwrap();
    assert_eq!(response["batchItemFailures"], json!([]), "{response}");

    // A record deleted in Salesforce is unlinked by the next fanned-out sweep.
    s.sf.delete_record(PROD_ORG, "Contact", &doomed).unwrap();
    s.advance(chrono::Duration::minutes(2));
    lambda::sweep(&s.app, tick).await.unwrap();
    let messages = drain_sweep_queue(&s).await;
    assert_eq!(messages.len(), 2);
    let response = lambda::sweep(&s.app, sqs_batch(&messages)).await.unwrap();
    assert_eq!(response["batchItemFailures"], json!([]), "{response}");
    let link = s
        .app
        .stores
        .links
        .get_by_sf_id(&s.tenant, &s.conn("prod"), &doomed)
        .await
        .unwrap();
    assert!(link.is_none(), "unlinked by the queued sweep");

    // An unreadable message goes back (to the dead-letter queue in the end).
    let bad = json!({"Records": [{"messageId": "bad-1", "receiptHandle": "r", "body": "nope",
        "attributes": {}, "messageAttributes": {}, "eventSource": "aws:sqs",
        "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:crmsync-sweep", "awsRegion": "us-east-1"}]});
    let response = lambda::sweep(&s.app, bad).await.unwrap();
    assert_eq!(
        response["batchItemFailures"][0]["itemIdentifier"],
        json!("bad-1")
    );
}

async fn a_connection_over_its_budget_is_not_swept(backend: Backend) {
    let s = Stack::start(backend).await;
    s.sf.set_daily_limit(PROD_ORG, 80).unwrap();
    s.connect("prod", Environment::Production).await;
    // A poll reads the org's limit (Sforce-Limit-Info) for the guard.
    s.poll("prod").await;
    s.advance(chrono::Duration::minutes(2));
    // crmsync has already spent its share (half of 80) today.
    s.app
        .stores
        .quotas
        .add_calls(&s.tenant, &s.conn("prod"), s.now().date_naive(), 40)
        .await
        .unwrap();
    s.sf.reset_counters(PROD_ORG).unwrap();
    let run = sweep::sweep_connection(&s.app, &s.tenant, &s.conn("prod"))
        .await
        .unwrap();
    assert_eq!(run.status, RunStatus::QuotaPaused, "{run:#?}");
    assert_eq!(
        s.sf.api_usage(PROD_ORG).unwrap().used,
        0,
        "no Salesforce call spent"
    );
}
