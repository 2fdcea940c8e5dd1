//! The minute scheduler pass (issue 11 goal 5): every due connection is queued once, in
//! batches of 10; a connection whose poll is queued or running is not queued again; the
//! mark clears when the poll finishes and expires when its message is lost.

use crmsync_core::config::SyncFrequency;
use crmsync_e2e::*;
use crmsync_service::lambda;
use crmsync_service::messages::PollMessage;
use crmsync_service::schedule::{self, QUEUED_MARK_TTL};
use crmsync_store::{
    ConnectedUser, Connection, ConnectionId, ConnectionStatus, Environment, QueueKind,
    ReceivedMessage,
};
use serde_json::json;
use std::collections::BTreeSet;

e2e!(
    each_due_connection_is_queued_once_until_its_poll_finishes,
    a_polled_connection_is_queued_again_after_its_mark_is_cleared,
    a_connection_whose_poll_is_still_running_is_not_queued_again,
    the_configured_frequency_reaches_the_scheduler_through_the_connection
);

fn fake_connection(s: &Stack, id: &str, status: ConnectionStatus) -> Connection {
    let now = s.now();
    Connection {
        tenant: s.tenant.clone(),
        id: ConnectionId::new(id).unwrap(),
        status,
        environment: Environment::Production,
        org_id: "00D000000000001EAA".into(),
        org_name: "Fan-out".into(),
        instance_url: "http://127.0.0.1:9".into(),
        login_url: "http://127.0.0.1:9".into(),
        user: ConnectedUser {
            id: "005000000000001AAA".into(),
            username: "fan@out.example".into(),
            email: None,
        },
        secret_name: format!("fanout/{id}"),
        last_sync_at: None,
        last_poll_at: None,
        poll_minutes: None,
        last_error: None,
        last_success_at: None,
        last_failure_at: None,
        last_error_code: None,
        created_at: now,
        updated_at: now,
        provisioning: None,
        sync_enabled: true,
    }
}

async fn drain_poll_queue(s: &Stack) -> Vec<ReceivedMessage> {
    let mut all = Vec::new();
    loop {
        let got = s
            .app
            .stores
            .queues
            .receive(QueueKind::Poll, 10)
            .await
            .unwrap();
        if got.is_empty() {
            return all;
        }
        for m in &got {
            s.app
                .stores
                .queues
                .ack(QueueKind::Poll, &m.receipt)
                .await
                .unwrap();
        }
        all.extend(got);
    }
}

fn connections_of(messages: &[ReceivedMessage]) -> Vec<String> {
    messages
        .iter()
        .map(|m| {
            serde_json::from_str::<PollMessage>(&m.body)
                .unwrap()
                .connection
        })
        .collect()
}

async fn each_due_connection_is_queued_once_until_its_poll_finishes(backend: Backend) {
    let s = Stack::start(backend).await;
    let due = 23;
    for i in 0..due {
        let c = fake_connection(&s, &format!("due-{i:02}"), ConnectionStatus::Connected);
        s.app.stores.connections.put(&c).await.unwrap();
    }
    let mut fresh = fake_connection(&s, "fresh", ConnectionStatus::Connected);
    fresh.last_poll_at = Some(s.now());
    s.app.stores.connections.put(&fresh).await.unwrap();
    let parked = fake_connection(&s, "parked", ConnectionStatus::ReconnectNeeded);
    s.app.stores.connections.put(&parked).await.unwrap();

    // While another pass holds the scheduler lease, a pass does nothing.
    let other = s
        .app
        .stores
        .leases
        .acquire(
            schedule::PASS_LEASE,
            "other-pass",
            std::time::Duration::from_secs(90),
        )
        .await
        .unwrap()
        .unwrap();
    let pass = schedule::schedule_due(&s.app).await.unwrap();
    assert!(pass.overlapped && pass.connections == 0, "{pass:?}");
    assert!(drain_poll_queue(&s).await.is_empty());
    s.app.stores.leases.release(&other).await.unwrap();

    let pass = schedule::schedule_due(&s.app).await.unwrap();
    assert_eq!(pass.connections, due + 2, "{pass:?}");
    assert_eq!(pass.scheduled, due, "{pass:?}");
    assert_eq!(pass.send_calls, 3, "23 messages in batches of 10: {pass:?}");
    assert_eq!((pass.already_queued, pass.failed), (0, 0), "{pass:?}");
    let first = drain_poll_queue(&s).await;
    let queued: BTreeSet<String> = connections_of(&first).into_iter().collect();
    assert_eq!(first.len(), due, "one message per due connection");
    assert_eq!(queued.len(), due);
    assert!(!queued.contains("fresh") && !queued.contains("parked"));

    // A minute on, nothing has polled them yet: still queued, so not queued again.
    s.advance(chrono::Duration::minutes(1));
    let pass = schedule::schedule_due(&s.app).await.unwrap();
    assert_eq!(
        (pass.scheduled, pass.already_queued, pass.send_calls),
        (1, due, 1),
        "only `fresh` became due: {pass:?}"
    );
    let again = drain_poll_queue(&s).await;
    assert_eq!(connections_of(&again), vec!["fresh".to_string()]);

    // The poll of one connection finished: its mark is cleared and the next pass queues it.
    let finished: PollMessage = serde_json::from_str(&first[0].body).unwrap();
    schedule::release_mark(&s.app, &finished).await;
    s.advance(chrono::Duration::minutes(1));
    let pass = schedule::schedule_due(&s.app).await.unwrap();
    assert_eq!(pass.scheduled, 1, "{pass:?}");
    assert_eq!(
        connections_of(&drain_poll_queue(&s).await),
        vec![finished.connection.clone()]
    );

    // The other messages were lost: their marks expire and the connections are queued again.
    s.advance(chrono::Duration::from_std(QUEUED_MARK_TTL).unwrap());
    let pass = schedule::schedule_due(&s.app).await.unwrap();
    assert_eq!(pass.scheduled, due + 1, "every mark expired: {pass:?}");
    assert_eq!(drain_poll_queue(&s).await.len(), due + 1);
}

/// "Running" is the mark's other half: the poll worker releases the mark only when the poll
/// has finished (`lambda::poll`). A poll that has not finished (Salesforce answered 503:
/// the message goes back to the queue to be run again) keeps it, so ticks meanwhile do not
/// queue the connection a second time; once a run finishes, the next tick does.
async fn a_connection_whose_poll_is_still_running_is_not_queued_again(backend: Backend) {
    let s = Stack::start(backend).await;
    s.connect("prod", Environment::Production).await;
    let tick = json!({"source": "aws.events", "detail-type": "Scheduled Event", "detail": {}});
    let pass = lambda::poll(&s.app, tick.clone()).await.unwrap();
    assert_eq!(pass["scheduled"], json!(1), "{pass}");
    let queued = drain_poll_queue(&s).await;
    let batch = json!({"Records": [{
        "messageId": "p-1", "receiptHandle": "r-1", "body": queued[0].body,
        "attributes": {}, "messageAttributes": {}, "eventSource": "aws:sqs",
        "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:poll", "awsRegion": "us-east-1"
    }]});
    s.sf.set_faults(PROD_ORG, sf_emulator::FaultSpec::none().errors(503, 1.0))
        .unwrap();
    let response = lambda::poll(&s.app, batch.clone()).await.unwrap();
    assert_eq!(
        response["batchItemFailures"],
        json!([{"itemIdentifier": "p-1"}]),
        "the run did not finish: {response}"
    );
    s.advance(chrono::Duration::minutes(2));
    let pass = lambda::poll(&s.app, tick.clone()).await.unwrap();
    assert_eq!(
        (pass["scheduled"].clone(), pass["already_queued"].clone()),
        (json!(0), json!(1)),
        "{pass}"
    );
    assert!(drain_poll_queue(&s).await.is_empty());

    s.sf.clear_faults(PROD_ORG).unwrap();
    let response = lambda::poll(&s.app, batch).await.unwrap();
    assert_eq!(response["batchItemFailures"], json!([]), "{response}");
    s.advance(chrono::Duration::minutes(1));
    let pass = lambda::poll(&s.app, tick).await.unwrap();
    assert_eq!(pass["scheduled"], json!(1), "{pass}");
}

async fn a_polled_connection_is_queued_again_after_its_mark_is_cleared(backend: Backend) {
    let s = Stack::start(backend).await;
    s.connect("prod", Environment::Production).await;
    let tick = json!({"source": "aws.events", "detail-type": "Scheduled Event", "detail": {}});
    let pass = lambda::poll(&s.app, tick.clone()).await.unwrap();
    assert_eq!(pass["scheduled"], json!(1), "{pass}");
    let queued = drain_poll_queue(&s).await;
    assert_eq!(queued.len(), 1);

    // While the message waits, later ticks do not queue the connection again.
    s.advance(chrono::Duration::minutes(2));
    let pass = lambda::poll(&s.app, tick.clone()).await.unwrap();
    assert_eq!(
        (pass["scheduled"].clone(), pass["already_queued"].clone()),
        (json!(0), json!(1)),
        "{pass}"
    );

    // The poll worker runs it and clears the mark; a minute later it is due and queued.
    let batch = json!({"Records": [{
        "messageId": "p-1", "receiptHandle": "r-1", "body": queued[0].body,
        "attributes": {}, "messageAttributes": {}, "eventSource": "aws:sqs",
        "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:poll", "awsRegion": "us-east-1"
    }]});
    let response = lambda::poll(&s.app, batch).await.unwrap();
    assert_eq!(response["batchItemFailures"], json!([]), "{response}");
    assert!(s.connection("prod").await.last_sync_at.is_some());
    s.advance(chrono::Duration::minutes(1));
    let pass = lambda::poll(&s.app, tick).await.unwrap();
    assert_eq!(
        (pass["scheduled"].clone(), pass["already_queued"].clone()),
        (json!(1), json!(0)),
        "{pass}"
    );
}

/// The pass reads no config: the frequency travels on the connection record, written when
/// the config is replaced and repaired by the next poll when a copy was missed.
async fn the_configured_frequency_reaches_the_scheduler_through_the_connection(backend: Backend) {
    let s = Stack::start(backend).await;
    s.connect("prod", Environment::Production).await;
    assert_eq!(
        s.connection("prod").await.poll_minutes,
        None,
        "standard: every minute"
    );
    s.edit_config("prod", |c| c.frequency = SyncFrequency::Every15Minutes)
        .await;
    assert_eq!(s.connection("prod").await.poll_minutes, Some(15));

    s.poll("prod").await;
    s.advance(chrono::Duration::minutes(1));
    let pass = schedule::schedule_due(&s.app).await.unwrap();
    assert_eq!((pass.connections, pass.scheduled), (1, 0), "{pass:?}");
    s.advance(chrono::Duration::minutes(14));
    let pass = schedule::schedule_due(&s.app).await.unwrap();
    assert_eq!(pass.scheduled, 1, "15 minutes after the poll: {pass:?}");
    let queued = drain_poll_queue(&s).await;

    // A copy that missed the config write (here: overwritten) is repaired by the poll.
    s.app
        .stores
        .connections
        .set_poll_minutes(&s.tenant, &s.conn("prod"), 1)
        .await
        .unwrap();
    let batch = json!({"Records": [{
        "messageId": "p-1", "receiptHandle": "r-1", "body": queued[0].body,
        "attributes": {}, "messageAttributes": {}, "eventSource": "aws:sqs",
        "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:poll", "awsRegion": "us-east-1"
    }]});
    let response = lambda::poll(&s.app, batch).await.unwrap();
    assert_eq!(response["batchItemFailures"], json!([]), "{response}");
    assert_eq!(s.connection("prod").await.poll_minutes, Some(15));
    s.advance(chrono::Duration::minutes(1));
    let pass = schedule::schedule_due(&s.app).await.unwrap();
    assert_eq!(pass.scheduled, 0, "{pass:?}");
}
