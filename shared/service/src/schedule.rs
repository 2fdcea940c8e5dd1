//! The minute scheduler pass (flow 2's fan-out): one poll message per due connection.
//!
//! A pass pages the connections index, decides which are due ([`is_due`], the one place
//! that decides it), marks each as queued and sends the messages in `SendMessageBatch`
//! calls of 10, several calls at a time, while the next page is already being read.
//!
//! **Queued mark.** A connection whose poll is queued or running is not queued again: the
//! scheduler takes an expiring lease `queued:{tenant}:{connection}` (a conditional write)
//! before sending, and the poll worker releases it when the poll has finished. A message
//! that is lost (dead-lettered, or a worker that died) cannot keep the connection off the
//! schedule: the mark expires after [`QUEUED_MARK_TTL`] and the next pass queues it again.

use std::time::Duration;

use chrono::{DateTime, Utc};
use crmsync_core::config::SyncFrequency;
use crmsync_store::{
    Connection, ConnectionId, Lease, OutboundMessage, PageRequest, QueueKind, TenantId,
};
use futures::StreamExt;
use serde::Serialize;

use crate::app::App;
use crate::config_service;
use crate::error::ServiceError;
use crate::guard;
use crate::leases::{LeaseKind, lease_name};
use crate::messages::PollMessage;

/// How long a queued mark holds without its poll finishing. Longer than a message's
/// redelivery (the poll queue's 360 s visibility timeout) plus the poll itself, so a retried
/// message is not doubled; short enough that a lost message delays a connection by minutes.
pub const QUEUED_MARK_TTL: Duration = Duration::from_secs(15 * 60);
/// Connections per page of the connections index (a DynamoDB query page).
const PAGE: u32 = 200;
/// Connections checked at the same time (a config read and a conditional write each).
const CHECK_CONCURRENCY: usize = 32;
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
    /// Due connections not sent (config unreadable, store or queue errors); the next
    /// pass tries them again.
    pub failed: usize,
}

/// Whether `connection` should be polled at `now`: Connected, and its last sync is at
/// least its frequency ago. Every "due" rule belongs here.
pub fn is_due(connection: &Connection, frequency: SyncFrequency, now: DateTime<Utc>) -> bool {
    guard::is_connected(connection) && frequency.is_due(connection.last_sync_at, now)
}

/// Whether `connection` could be due under the most frequent schedule; lets the pass skip
/// the config read for connections synced less than a minute ago.
fn may_be_due(connection: &Connection, now: DateTime<Utc>) -> bool {
    is_due(connection, SyncFrequency::EveryMinute, now)
}

/// The scheduler pass. A pass cut short by its timeout has still queued (and marked) the
/// connections it reached; the rest are due next minute.
pub async fn schedule_due(app: &App) -> Result<SchedulePass, ServiceError> {
    let now = app.now();
    let mut pass = SchedulePass::default();
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
            schedule_page(app, &page.items, now)
        );
        pass.scheduled += done.scheduled;
        pass.already_queued += done.already_queued;
        pass.send_calls += done.send_calls;
        pass.failed += done.failed;
        match next_page? {
            Some(p) => page = p,
            None => break,
        }
    }
    Ok(pass)
}

/// The outcome of checking one connection.
enum Check {
    NotDue,
    AlreadyQueued,
    Failed,
    Queue(PollMessage),
}

async fn schedule_page(app: &App, connections: &[Connection], now: DateTime<Utc>) -> SchedulePass {
    let mut pass = SchedulePass::default();
    // Owned items and futures built by the iterator: the stream's futures then borrow
    // nothing but `app`, which keeps the pass `Send` for a spawned task.
    let checks: Vec<Check> = futures::stream::iter(
        connections
            .iter()
            .cloned()
            .map(|c| async move { check(app, &c, now).await }),
    )
    .buffer_unordered(CHECK_CONCURRENCY)
    .collect()
    .await;
    let mut messages = Vec::new();
    for c in checks {
        match c {
            Check::NotDue => {}
            Check::AlreadyQueued => pass.already_queued += 1,
            Check::Failed => pass.failed += 1,
            Check::Queue(m) => messages.push(m),
        }
    }
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
    pass
}

async fn check(app: &App, connection: &Connection, now: DateTime<Utc>) -> Check {
    if !may_be_due(connection, now) {
        return Check::NotDue;
    }
    let (tenant, id) = (&connection.tenant, &connection.id);
    let frequency = match config_service::load(app, tenant, id).await {
        Ok(Some(c)) => c.config.frequency,
        Ok(None) => SyncFrequency::default(),
        Err(e) => {
            tracing::warn!(tenant = tenant.as_str(), connection = id.as_str(), error = %e, "config unreadable; not scheduled");
            return Check::Failed;
        }
    };
    if !is_due(connection, frequency, now) {
        return Check::NotDue;
    }
    let owner = uuid::Uuid::new_v4().to_string();
    let name = lease_name(LeaseKind::Queued, tenant, id);
    match app
        .stores
        .leases
        .acquire(&name, &owner, QUEUED_MARK_TTL)
        .await
    {
        Ok(Some(_)) => Check::Queue(PollMessage {
            tenant: tenant.as_str().to_string(),
            connection: id.as_str().to_string(),
            mark: Some(owner),
        }),
        Ok(None) => Check::AlreadyQueued,
        Err(e) => {
            tracing::warn!(tenant = tenant.as_str(), connection = id.as_str(), error = %e, "queued mark not written; not scheduled");
            Check::Failed
        }
    }
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
