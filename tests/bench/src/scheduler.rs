//! One scheduler pass over N due connections (issue 11 goal 5).
//!
//! Seeds N Connected, never-synced connections (10 per tenant) straight into the stores
//! (no configs: the pass reads none), then runs one pass
//! (`crmsync_service::schedule::schedule_due`) through a queue adapter that counts the
//! `SendMessageBatch` calls it would make on SQS and store ports that count the DynamoDB
//! requests ([`meter`]). A second pass right after must send nothing: every connection is
//! still marked as queued. Wall time is printed, not asserted (it depends on the
//! machine); the SQS and DynamoDB request counts are exact.

mod drain;
mod meter;

use std::collections::BTreeMap;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use crmsync_e2e::Backend;
use crmsync_service::schedule::{self, SchedulePass};
use crmsync_service::{App, AppCredentials, Settings};
use crmsync_store::{
    Clock, ConfigStore, ConnectedUser, Connection, ConnectionId, ConnectionStatus, ConnectionStore,
    Environment, LeaseStore, ManualClock, OutboundMessage, QueueKind, Queues, ReceivedMessage,
    StoreResult, TenantId,
};
pub use drain::DrainStats;
use futures::StreamExt;
use meter::{Meter, Metered, Use, since};

/// SQS's batch size: one `SendMessageBatch` call carries at most 10 messages.
const SQS_BATCH: usize = 10;

/// Counts the `SendMessageBatch` calls and messages sent through it, and times them.
struct MeteredQueues {
    inner: Arc<dyn Queues>,
    batch_calls: AtomicU64,
    messages: Arc<AtomicU64>,
    waited_micros: AtomicU64,
}

#[async_trait]
impl Queues for MeteredQueues {
    async fn send_batch(&self, queue: QueueKind, messages: &[OutboundMessage]) -> StoreResult<()> {
        let calls = messages.len().div_ceil(SQS_BATCH) as u64;
        self.batch_calls.fetch_add(calls, Ordering::Relaxed);
        self.messages
            .fetch_add(messages.len() as u64, Ordering::Relaxed);
        let started = Instant::now();
        let out = self.inner.send_batch(queue, messages).await;
        self.waited_micros
            .fetch_add(started.elapsed().as_micros() as u64, Ordering::Relaxed);
        out
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
    /// The poll queue was the embedded one (the table still on `backend`).
    pub embedded_queue: bool,
    pub connections: usize,
    /// The first pass (every connection due).
    pub pass: SchedulePass,
    /// `SendMessageBatch` calls of the first pass, as the queue adapter saw them.
    pub sqs_calls: u64,
    pub messages: u64,
    pub wall: Duration,
    /// Summed latency of the first pass's `SendMessageBatch` calls.
    pub sqs_waited: Duration,
    /// Store requests of the first pass per `port.operation` (each one DynamoDB request
    /// on the AWS adapters).
    pub store_requests: BTreeMap<&'static str, Use>,
    /// The second pass right after: every connection still queued.
    pub second: SchedulePass,
    pub second_sqs_calls: u64,
    pub second_store_requests: BTreeMap<&'static str, Use>,
    /// Poll workers draining the queue during the pass ([`drain`]), when asked for.
    pub drain: Option<DrainStats>,
}

impl SchedulerMeasure {
    /// DynamoDB requests of the first pass.
    pub fn dynamo_requests(&self) -> u64 {
        self.store_requests.values().map(|u| u.requests).sum()
    }

    /// Requests per `port.operation` of the first and the second pass.
    pub fn counts(&self) -> [BTreeMap<&'static str, u64>; 2] {
        [&self.store_requests, &self.second_store_requests]
            .map(|m| m.iter().map(|(k, u)| (*k, u.requests)).collect())
    }
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

/// Seeds `connections` due connections on `backend` and measures one scheduler pass.
pub async fn scheduler_pass(backend: Backend, connections: usize) -> SchedulerMeasure {
    scheduler_pass_with(backend, connections, false).await
}

/// [`scheduler_pass`], with the poll queue embedded when `embedded_queue` (moto's SQS
/// slows down with the queue's depth; this separates the table's share).
pub async fn scheduler_pass_with(
    backend: Backend,
    connections: usize,
    embedded_queue: bool,
) -> SchedulerMeasure {
    scheduler_pass_drained(backend, connections, embedded_queue, 0).await
}

/// [`scheduler_pass_with`], with `drain_workers` poll workers (0: none) receiving and
/// deleting the poll queue's messages while the pass sends them ([`drain`]).
pub async fn scheduler_pass_drained(
    backend: Backend,
    connections: usize,
    embedded_queue: bool,
    drain_workers: usize,
) -> SchedulerMeasure {
    let clock = Arc::new(ManualClock::starting_now());
    let (mut stores, aws) = crmsync_e2e::stores(backend, clock.clone()).await;
    if embedded_queue {
        let (embedded, _) = crmsync_e2e::stores(Backend::Embedded, clock.clone()).await;
        stores.queues = embedded.queues;
    }
    let metered = Arc::new(MeteredQueues {
        inner: stores.queues.clone(),
        batch_calls: AtomicU64::new(0),
        messages: Arc::new(AtomicU64::new(0)),
        waited_micros: AtomicU64::new(0),
    });
    stores.queues = metered.clone();
    let meter = Arc::new(Meter::default());
    stores.connections = Arc::new(Metered::<dyn ConnectionStore> {
        inner: stores.connections.clone(),
        meter: meter.clone(),
    });
    stores.configs = Arc::new(Metered::<dyn ConfigStore> {
        inner: stores.configs.clone(),
        meter: meter.clone(),
    });
    stores.leases = Arc::new(Metered::<dyn LeaseStore> {
        inner: stores.leases.clone(),
        meter: meter.clone(),
    });
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

    let before = meter.snapshot();
    let drainers = (drain_workers > 0).then(|| {
        drain::Drainers::start(
            metered.inner.clone(),
            drain_workers,
            metered.messages.clone(),
        )
    });
    let started = Instant::now();
    let pass = schedule::schedule_due(&app).await.expect("scheduler pass");
    let wall = started.elapsed();
    let drain = match drainers {
        Some(d) => Some(
            d.finish(pass.scheduled as u64, Duration::from_secs(600))
                .await,
        ),
        None => None,
    };
    let after = meter.snapshot();
    let sqs_calls = metered.batch_calls.load(Ordering::Relaxed);
    let messages = metered.messages.load(Ordering::Relaxed);
    let sqs_waited = Duration::from_micros(metered.waited_micros.load(Ordering::Relaxed));
    let second = schedule::schedule_due(&app).await.expect("second pass");
    let second_sqs_calls = metered.batch_calls.load(Ordering::Relaxed) - sqs_calls;
    SchedulerMeasure {
        backend,
        embedded_queue,
        connections,
        pass,
        sqs_calls,
        messages,
        wall,
        sqs_waited,
        store_requests: since(&before, &after),
        second,
        second_sqs_calls,
        second_store_requests: since(&after, &meter.snapshot()),
        drain,
    }
}

/// The row with its header, as Markdown, then the requests per operation with their
/// mean latency.
pub fn row(m: &SchedulerMeasure) -> String {
    let place = match (m.backend, m.embedded_queue) {
        (Backend::Embedded, _) => "embedded",
        (_, false) => "moto: DynamoDB and SQS",
        (_, true) => "moto DynamoDB, embedded queue",
    };
    let mut out = format!(
        "| workload | queued | SQS calls | DynamoDB requests | wall time | second pass |\n\
         |---|---:|---:|---:|---:|---|\n\
         | one scheduler pass over {} connections ({place}) | {} queued | {} SendMessageBatch | {} | {:.2} s | {} queued, {} calls |\n\n\
         | first pass: request | requests | mean latency |\n|---|---:|---:|\n",
        m.connections,
        m.pass.scheduled,
        m.sqs_calls,
        m.dynamo_requests(),
        m.wall.as_secs_f64(),
        m.second.scheduled,
        m.second_sqs_calls,
    );
    let sqs = Use {
        requests: m.sqs_calls,
        waited: m.sqs_waited,
    };
    for (name, u) in m
        .store_requests
        .iter()
        .map(|(k, u)| (*k, *u))
        .chain([("SendMessageBatch", sqs)])
    {
        let mean = u.waited.as_secs_f64() * 1000.0 / u.requests.max(1) as f64;
        out.push_str(&format!("| {name} | {} | {mean:.1} ms |\n", u.requests));
    }
    if let Some(d) = &m.drain {
        out.push_str(&format!(
            "| ReceiveMessage (drain, {} workers) | {} ({} empty) | — |\n| DeleteMessage (drain) | {} (+{} stale receipts) | — |\n\nqueue drained {:.2} s after the pass began; deepest {} messages\n",
            d.workers,
            d.receives,
            d.empty_receives,
            d.deletes,
            d.stale_deletes,
            d.drained_after.as_secs_f64(),
            d.max_depth
        ));
    }
    out.push_str(&format!("\nsecond pass: {:?}", m.counts()[1]));
    out
}
