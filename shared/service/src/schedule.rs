//! The minute scheduler pass (flow 2's fan-out): one poll message per due connection.
//!
//! A pass pages the connections index, decides which are due ([`is_due`], the one place
//! that decides it), marks each as queued and sends the messages in `SendMessageBatch`
//! calls of 10, several calls at a time, while the next page is already being read.
//!
//! **Cost.** Everything "due" needs is on the connection record (status, last sync and
//! the poll frequency, [`Connection::poll_minutes`]), so nothing is read per connection.
//! The copy of the frequency is written when the config is replaced and checked by every
//! poll ([`sync_frequency`]), which repairs a copy that missed a write. For N connections
//! of which D are due and F of those not already queued, a pass makes exactly these
//! DynamoDB requests: ⌈N / 1,000⌉ index `Query` pages, 2 + (pages) for the pass lease
//! (take, renew before each page's marks, release), ⌈D / 100⌉ per page `BatchGetItem`s
//! (are the marks free?) and ⌈F / 25⌉ per page `BatchWriteItem`s (the marks); and
//! ⌈F / 10⌉ per page `SendMessageBatch` calls. 10,000 due connections: 522 DynamoDB
//! requests and 1,000 `SendMessageBatch` (before: a config `Query` and a conditional
//! `PutItem` per connection, 20,050 DynamoDB requests).
//!
//! **Queued mark.** A connection whose poll is queued or running is not queued again: the
//! scheduler marks it with an expiring lease `queued:{tenant}:{connection}` before
//! sending, and the poll worker releases it when the poll has finished. A message that is
//! lost (dead-lettered, or a worker that died) cannot keep the connection off the
//! schedule: the mark expires after [`QUEUED_MARK_TTL`] and the next pass queues it again.
//! Marks are read in batches and written in batches, which cannot be conditional; that is
//! safe because only the scheduler takes queued marks and one pass runs at a time: a
//! pass holds the lease [`PASS_LEASE`] (longer than the poll function's 60 s timeout) and
//! renews it after reading a page's marks and before writing them, so no other pass can
//! have started in between. A pass that finds the lease held does nothing.

use std::collections::HashSet;
use std::time::Duration;

use chrono::{DateTime, Utc};
use crmsync_core::config::SyncFrequency;
use crmsync_store::{
    Connection, ConnectionId, Lease, OutboundMessage, PageRequest, QueueKind, TenantId,
};
use futures::StreamExt;
use serde::Serialize;

use crate::app::App;
use crate::error::ServiceError;
use crate::guard;
use crate::leases::{LeaseKind, lease_name};
use crate::messages::PollMessage;

/// How long a queued mark holds without its poll finishing. Longer than a message's
/// redelivery (the poll queue's 360 s visibility timeout) plus the poll itself, so a retried
/// message is not doubled; short enough that a lost message delays a connection by minutes.
pub const QUEUED_MARK_TTL: Duration = Duration::from_secs(15 * 60);
/// The lease that lets one scheduler pass run at a time.
pub const PASS_LEASE: &str = "scheduler-pass";
/// How long [`PASS_LEASE`] holds without a renewal: longer than the poll function's
/// timeout (60 s), so a pass the runtime killed has stopped writing before the next starts.
const PASS_LEASE_TTL: Duration = Duration::from_secs(90);
/// Connections per page of the connections index (a DynamoDB query page; the port's
/// largest, and about 600 KB of connection items, under DynamoDB's 1 MB page).
pub const PAGE: u32 = 1000;
/// `SendMessageBatch` calls in flight at the same time.
const SEND_CONCURRENCY: usize = 8;
/// SQS's batch size.
const SEND_BATCH: usize = 10;

/// What one pass did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct SchedulePass {
    /// Connections read from the index.
    pub connections: usize,
    /// Due connections sent to the poll queue.
    pub scheduled: usize,
    /// Due connections skipped because their poll is still queued or running.
    pub already_queued: usize,
    /// `send_batch` calls made (each at most 10 messages: one `SendMessageBatch`).
    pub send_calls: usize,
    /// Due connections not sent (store or queue errors); the next pass tries them again.
    pub failed: usize,
    /// Another pass held the scheduler lease, so this one did nothing.
    pub overlapped: bool,
}

/// Whether `connection` should be polled at `now`: Connected (or Failed and due its
/// recovery probe), and its last poll is at least its frequency ago. Every "due" rule
/// belongs here.
pub fn is_due(connection: &Connection, frequency: SyncFrequency, now: DateTime<Utc>) -> bool {
    connection.sync_enabled
        && guard::may_run(connection, now)
        && frequency.is_due(connection.last_polled(), now)
}

/// The poll frequency the scheduler uses: the copy on the connection record.
pub fn scheduled_frequency(connection: &Connection) -> SyncFrequency {
    connection
        .poll_minutes
        .and_then(|m| SyncFrequency::from_minutes(i64::from(m)))
        .unwrap_or_default()
}

/// Keeps the connection's copy of the poll frequency equal to its config's (called by
/// each poll with the config it loaded); one `UpdateItem` only when they differ.
pub async fn sync_frequency(
    app: &App,
    connection: &Connection,
    frequency: SyncFrequency,
) -> Result<(), ServiceError> {
    if scheduled_frequency(connection) == frequency {
        return Ok(());
    }
    let minutes = u32::try_from(frequency.minutes())
        .map_err(|_| ServiceError::Internal("poll frequency out of range".into()))?;
    app.stores
        .connections
        .set_poll_minutes(&connection.tenant, &connection.id, minutes)
        .await?;
    Ok(())
}

/// The scheduler pass. A pass cut short by its timeout has still queued (and marked) the
/// connections it reached; the rest are due next minute.
pub async fn schedule_due(app: &App) -> Result<SchedulePass, ServiceError> {
    let now = app.now();
    let mut pass = SchedulePass::default();
    let owner = uuid::Uuid::new_v4().to_string();
    let Some(mut lease) = app
        .stores
        .leases
        .acquire(PASS_LEASE, &owner, PASS_LEASE_TTL)
        .await?
    else {
        pass.overlapped = true;
        return Ok(pass);
    };
    let result = run_pass(app, &mut lease, &mut pass, now).await;
    if let Err(e) = app.stores.leases.release(&lease).await {
        tracing::warn!(error = %e, "scheduler lease not released; it expires");
    }
    result.map(|()| pass)
}

async fn run_pass(
    app: &App,
    lease: &mut Lease,
    pass: &mut SchedulePass,
    now: DateTime<Utc>,
) -> Result<(), ServiceError> {
    let mut page = app
        .stores
        .connections
        .list_all(&PageRequest::first(PAGE))
        .await?;
    loop {
        pass.connections += page.items.len();
        let next = page.next.take().map(|t| PageRequest::next(PAGE, t));
        // Read the next page while this one is checked and sent.
        let (next_page, done) = futures::join!(
            async {
                match &next {
                    Some(request) => app.stores.connections.list_all(request).await.map(Some),
                    None => Ok(None),
                }
            },
            schedule_page(app, lease, &page.items, now)
        );
        let done = done?;
        pass.scheduled += done.scheduled;
        pass.already_queued += done.already_queued;
        pass.send_calls += done.send_calls;
        pass.failed += done.failed;
        match next_page? {
            Some(p) => page = p,
            None => return Ok(()),
        }
    }
}

/// Marks and queues the due connections of one page. An error here means the pass lease
/// was lost (or unreadable): the pass stops.
async fn schedule_page(
    app: &App,
    lease: &mut Lease,
    connections: &[Connection],
    now: DateTime<Utc>,
) -> Result<SchedulePass, ServiceError> {
    let mut pass = SchedulePass::default();
    let due: Vec<(&Connection, String)> = connections
        .iter()
        .filter(|c| is_due(c, scheduled_frequency(c), now))
        .map(|c| (c, lease_name(LeaseKind::Queued, &c.tenant, &c.id)))
        .collect();
    if due.is_empty() {
        return Ok(pass);
    }
    let names: Vec<String> = due.iter().map(|(_, n)| n.clone()).collect();
    let held: HashSet<String> = match app.stores.leases.held(&names).await {
        Ok(held) => held.into_iter().map(|l| l.name).collect(),
        Err(e) => {
            tracing::warn!(error = %e, connections = due.len(), "queued marks unreadable; not scheduled");
            pass.failed += due.len();
            return Ok(pass);
        }
    };
    let free: Vec<&(&Connection, String)> = due.iter().filter(|(_, n)| !held.contains(n)).collect();
    pass.already_queued = due.len() - free.len();
    if free.is_empty() {
        return Ok(pass);
    }
    // Still the only pass since the marks were read: the unconditional writes are safe.
    *lease = app.stores.leases.renew(lease, PASS_LEASE_TTL).await?;
    let free_names: Vec<String> = free.iter().map(|(_, n)| n.clone()).collect();
    let mark = uuid::Uuid::new_v4().to_string();
    if let Err(e) = app
        .stores
        .leases
        .grant_unchecked(&free_names, &mark, QUEUED_MARK_TTL)
        .await
    {
        tracing::warn!(error = %e, connections = free.len(), "queued marks not written; not scheduled");
        pass.failed += free.len();
        return Ok(pass);
    }
    let messages: Vec<PollMessage> = free
        .iter()
        .map(|(c, _)| PollMessage {
            tenant: c.tenant.as_str().to_string(),
            connection: c.id.as_str().to_string(),
            mark: Some(mark.clone()),
        })
        .collect();
    let chunks: Vec<Vec<PollMessage>> = messages.chunks(SEND_BATCH).map(<[_]>::to_vec).collect();
    let sent: Vec<(usize, bool)> = futures::stream::iter(
        chunks
            .into_iter()
            .map(|chunk| async move { (chunk.len(), send(app, &chunk).await) }),
    )
    .buffer_unordered(SEND_CONCURRENCY)
    .collect()
    .await;
    for (n, ok) in sent {
        pass.send_calls += 1;
        if ok {
            pass.scheduled += n;
        } else {
            pass.failed += n;
        }
    }
    Ok(pass)
}

/// Sends one batch; on failure releases its marks so the next pass queues them again.
async fn send(app: &App, chunk: &[PollMessage]) -> bool {
    let outbound: Result<Vec<OutboundMessage>, _> = chunk
        .iter()
        .map(|m| {
            serde_json::to_string(m).map(|body| OutboundMessage {
                body,
                group_id: None,
                dedup_id: None,
            })
        })
        .collect();
    let result = match outbound {
        Ok(messages) => app
            .stores
            .queues
            .send_batch(QueueKind::Poll, &messages)
            .await
            .map_err(ServiceError::from),
        Err(e) => Err(ServiceError::Internal(e.to_string())),
    };
    match result {
        Ok(()) => true,
        Err(e) => {
            tracing::warn!(error = %e, messages = chunk.len(), "poll batch not sent; the next pass retries");
            for m in chunk {
                release_mark(app, m).await;
            }
            false
        }
    }
}

/// Clears the queued mark a poll message carries (the poll has finished, or the message
/// never left). Failing to clear it only delays the next poll until the mark expires.
pub async fn release_mark(app: &App, message: &PollMessage) {
    let Some(owner) = &message.mark else { return };
    let (Ok(tenant), Ok(id)) = (
        TenantId::new(message.tenant.clone()),
        ConnectionId::new(message.connection.clone()),
    ) else {
        return;
    };
    let lease = Lease {
        name: lease_name(LeaseKind::Queued, &tenant, &id),
        owner: owner.clone(),
        expires_at: app.now(),
    };
    if let Err(e) = app.stores.leases.release(&lease).await {
        tracing::warn!(tenant = tenant.as_str(), connection = id.as_str(), error = %e, "queued mark not cleared; it expires");
    }
}
