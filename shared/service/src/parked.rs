//! Work parked while a connection needs reconnecting, and re-push of reported events.
//!
//! A push for a connection in `ReconnectNeeded` is not dropped: its message is recorded as a
//! `parked` report entry (with the whole message as payload) and acknowledged. After the
//! reconnect, and on each poll while the API budget has room, parked entries are enqueued
//! again. An enqueued entry is marked `REQUEUED` first, so the next poll does not send it
//! twice; if the push worker parks it again, it is replayed again later.

use crmsync_store::{
    ConnectionId, OutboundMessage, PageRequest, QueueKind, ReportQuery, ReportStatus, TenantId,
};

use crate::app::App;
use crate::error::ServiceError;
use crate::messages::PushMessage;

/// The code of a parked entry already sent back to the push queue.
pub const REQUEUED: &str = "REQUEUED";
/// After this long a `REQUEUED` entry that is still parked (its message was lost, e.g. the
/// queue send failed) is sent again.
const REQUEUE_GRACE_MINUTES: i64 = 10;

/// Enqueues every parked event of a connection again, oldest first (so a record's events
/// keep their order on the FIFO queue); returns how many.
pub async fn replay(
    app: &App,
    tenant: &TenantId,
    connection: &ConnectionId,
) -> Result<usize, ServiceError> {
    let requeue_before = app.now() - chrono::Duration::minutes(REQUEUE_GRACE_MINUTES);
    let mut parked = Vec::new();
    let mut page = PageRequest::first(100);
    loop {
        let batch = app
            .stores
            .reports
            .list(&ReportQuery {
                tenant: tenant.clone(),
                connection: connection.clone(),
                status: ReportStatus::Parked,
                object: None,
                from: None,
                to: None,
                page: page.clone(),
            })
            .await?;
        parked.extend(batch.items.into_iter().filter(|entry| {
            !(entry.code.as_deref() == Some(REQUEUED) && entry.updated_at > requeue_before)
        }));
        match batch.next {
            Some(token) => page = PageRequest::next(100, token),
            None => break,
        }
    }
    // Oldest first: when parked, then when it happened in the app, then by id.
    let occurred = |e: &crmsync_store::ReportEntry| {
        e.payload
            .as_ref()
            .and_then(|p| p.pointer("/event/occurred_at"))
            .and_then(|v| v.as_str())
            .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
    };
    parked.sort_by(|a, b| {
        (a.created_at, occurred(a), &a.event_id).cmp(&(b.created_at, occurred(b), &b.event_id))
    });

    let mut replayed = 0;
    for chunk in parked.chunks(10) {
        let mut messages = Vec::new();
        for entry in chunk {
            let Some(payload) = &entry.payload else {
                continue;
            };
            let Ok(mut message) = serde_json::from_value::<PushMessage>(payload.clone()) else {
                tracing::warn!(
                    event_id = entry.event_id,
                    "parked entry has an unreadable payload; left parked"
                );
                continue;
            };
            // A fresh dedup id: the FIFO queue may still remember the first delivery.
            message.repush_id = Some(format!("replay-{}", uuid::Uuid::new_v4()));
            // Marked before sending: the push worker's outcome must never be overwritten.
            let mut marked = entry.clone();
            marked.code = Some(REQUEUED.to_string());
            marked.reason = Some("sent back to the push queue; waiting for the push worker".into());
            marked.updated_at = app.now();
            app.stores.reports.write(&marked).await?;
            messages.push(outbound(&message)?);
        }
        if !messages.is_empty() {
            app.stores
                .queues
                .send_batch(QueueKind::Push, &messages)
                .await?;
            replayed += messages.len();
        }
    }
    Ok(replayed)
}

/// Re-pushes one reported event (after its config or data was fixed).
pub async fn repush(
    app: &App,
    tenant: &TenantId,
    connection: &ConnectionId,
    event_id: &str,
) -> Result<String, ServiceError> {
    let entry = app
        .stores
        .reports
        .get(tenant, connection, event_id)
        .await?
        .ok_or_else(|| ServiceError::NotFound(format!("report entry for event {event_id}")))?;
    let payload = entry.payload.ok_or_else(|| {
        ServiceError::Conflict(format!("event {event_id} has no stored payload to re-push"))
    })?;
    let mut message: PushMessage = serde_json::from_value(payload)
        .map_err(|e| ServiceError::Internal(format!("stored payload does not parse: {e}")))?;
    let repush_id = format!("repush-{}", uuid::Uuid::new_v4());
    message.repush_id = Some(repush_id.clone());
    app.stores
        .queues
        .send_batch(QueueKind::Push, &[outbound(&message)?])
        .await?;
    Ok(repush_id)
}

pub fn outbound(message: &PushMessage) -> Result<OutboundMessage, ServiceError> {
    Ok(OutboundMessage {
        body: serde_json::to_string(message).map_err(|e| ServiceError::Internal(e.to_string()))?,
        group_id: Some(message.group_id()),
        dedup_id: Some(message.dedup_id()),
    })
}
