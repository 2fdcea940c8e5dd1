//! One scheduler pass over N due connections (issue 11 goal 5).
//!
//! Seeds N Connected, never-synced connections (10 per tenant) straight into the stores, then runs one
//! pass (`crmsync_service::schedule::schedule_due`) through a queue adapter that counts the
//! `SendMessageBatch` calls it would make on SQS. A second pass right after must send
//! nothing: every connection is still marked as queued. Wall time is printed, not
//! asserted (it depends on the machine); the SQS call count is exact.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use crmsync_e2e::Backend;
use crmsync_service::schedule::{self, SchedulePass};
use crmsync_service::{App, AppCredentials, Settings};
use crmsync_store::{
    Clock, ConnectedUser, Connection, ConnectionId, ConnectionStatus, Environment, ManualClock,
    OutboundMessage, QueueKind, Queues, ReceivedMessage, StoreResult, TenantId,
};
use futures::StreamExt;

/// SQS's batch size: one `SendMessageBatch` call carries at most 10 messages.
const SQS_BATCH: usize = 10;

/// Counts the `SendMessageBatch` calls and messages sent through it.
struct MeteredQueues {
    inner: Arc<dyn Queues>,
    batch_calls: AtomicU64,
    messages: AtomicU64,
}

#[async_trait]
impl Queues for MeteredQueues {
    async fn send_batch(&self, queue: QueueKind, messages: &[OutboundMessage]) -> StoreResult<()> {
        let calls = messages.len().div_ceil(SQS_BATCH) as u64;
        self.batch_calls.fetch_add(calls, Ordering::Relaxed);
        self.messages
            .fetch_add(messages.len() as u64, Ordering::Relaxed);
        self.inner.send_batch(queue, messages).await
    }

    async fn receive(&self, queue: QueueKind, max: u32) -> StoreResult<Vec<ReceivedMessage>> {
        self.inner.receive(queue, max).await
    }

    async fn ack(&self, queue: QueueKind, receipt: &str) -> StoreResult<()> {
        self.inner.ack(queue, receipt).await
    }
}

/// What one measured pass did.
#[derive(Debug, Clone)]
pub struct SchedulerMeasure {
    pub backend: Backend,
    pub connections: usize,
    /// The first pass (every connection due).
    pub pass: SchedulePass,
    /// `SendMessageBatch` calls of the first pass, as the queue adapter saw them.
    pub sqs_calls: u64,
    pub messages: u64,
    pub wall: Duration,
    /// The second pass right after: every connection still queued.
    pub second: SchedulePass,
    pub second_sqs_calls: u64,
}

/// Connections per tenant: 10,000 connections are 1,000 tenants, as a fleet would be.
const PER_TENANT: usize = 10;

fn connection(i: usize, now: chrono::DateTime<chrono::Utc>) -> Connection {
    Connection {
        tenant: TenantId::new(format!("t{:05}", i / PER_TENANT)).expect("tenant id"),
        id: ConnectionId::new(format!("c{i:05}")).expect("connection id"),
        status: ConnectionStatus::Connected,
        environment: Environment::Production,
        org_id: "00D000000000001EAA".into(),
        org_name: "Bench".into(),
        instance_url: "http://127.0.0.1:9".into(),
        login_url: "http://127.0.0.1:9".into(),
        user: ConnectedUser {
            id: "005000000000001AAA".into(),
            username: "bench@scheduler.example".into(),
            email: None,
        },
        secret_name: format!("bench/c{i:05}"),
        last_sync_at: None,
        last_error: None,
        created_at: now,
        updated_at: now,
        provisioning: None,
    }
}

/// Seeds `connections` due connections on `backend` and measures one scheduler pass.
pub async fn scheduler_pass(backend: Backend, connections: usize) -> SchedulerMeasure {
    let clock = Arc::new(ManualClock::starting_now());
    let (mut stores, aws) = crmsync_e2e::stores(backend, clock.clone()).await;
    let metered = Arc::new(MeteredQueues {
        inner: stores.queues.clone(),
        batch_calls: AtomicU64::new(0),
        messages: AtomicU64::new(0),
    });
    stores.queues = metered.clone();
    let mut settings = Settings::default();
    if let Some(aws) = &aws {
        settings.table = aws.table.clone();
        settings.push_queue_url = aws.push_queue_url.clone();
        settings.poll_queue_url = aws.poll_queue_url.clone();
    }
    let credentials = AppCredentials {
        client_id: "bench".into(),
        client_secret: None,
    };
    let app = App::new(settings, stores, credentials).expect("app wires");
    let now = clock.now();
    futures::stream::iter((0..connections).map(|i| {
        let c = connection(i, now);
        let app = &app;
        async move { app.stores.connections.put(&c).await.expect("seed") }
    }))
    .buffer_unordered(32)
    .collect::<Vec<()>>()
    .await;

    let started = Instant::now();
    let pass = schedule::schedule_due(&app).await.expect("scheduler pass");
    let wall = started.elapsed();
    let sqs_calls = metered.batch_calls.load(Ordering::Relaxed);
    let messages = metered.messages.load(Ordering::Relaxed);
    let second = schedule::schedule_due(&app).await.expect("second pass");
    let second_sqs_calls = metered.batch_calls.load(Ordering::Relaxed) - sqs_calls;
    SchedulerMeasure {
        backend,
        connections,
        pass,
        sqs_calls,
        messages,
        wall,
        second,
        second_sqs_calls,
    }
}

/// The row with its header, as Markdown.
pub fn row(m: &SchedulerMeasure) -> String {
    format!(
        "| workload | queued | SQS calls | wall time | second pass |\n|---|---:|---:|---:|---|\n{}",
        row_only(m)
    )
}

fn row_only(m: &SchedulerMeasure) -> String {
    format!(
        "| one scheduler pass over {} connections ({:?}) | {} queued | {} SendMessageBatch | {:.2} s | {} queued, {} calls |",
        m.connections,
        m.backend,
        m.pass.scheduled,
        m.sqs_calls,
        m.wall.as_secs_f64(),
        m.second.scheduled,
        m.second_sqs_calls
    )
}
