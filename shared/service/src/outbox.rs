//! The producer side of the push outbox (issue 11, README "Batching design"): events are
//! appended to their connection's ordered outbox in the store, and one small nudge per
//! append goes on the FIFO push queue with the connection as its message group. The push
//! worker woken by a nudge drains the outbox in chunks (`push::drain`).
//!
//! A nudge can be lost (the queue send fails after the append): ingest then answers with
//! an error and the app's retry appends and nudges again (the push drops the repeat by its
//! report), and every poll nudges a connection whose oldest entry has waited longer than
//! [`STALE_AFTER`], so nothing is left behind even without a retry.

use crmsync_store::{ConnectionId, NewOutboxEntry, OutboundMessage, QueueKind, TenantId};

use crate::app::App;
use crate::error::ServiceError;
use crate::messages::{NudgeMessage, PushMessage};

/// How long an entry may wait before a poll nudges its connection again.
pub const STALE_AFTER: chrono::Duration = chrono::Duration::minutes(2);

/// Appends `messages` (in order) to their connection's outbox and nudges the push queue
/// once. Returns how many were appended.
pub async fn enqueue(
    app: &App,
    tenant: &TenantId,
    connection: &ConnectionId,
    messages: &[PushMessage],
) -> Result<usize, ServiceError> {
    if messages.is_empty() {
        return Ok(0);
    }
    let entries = messages
        .iter()
        .map(|m| {
            Ok(NewOutboxEntry {
                event_id: m.event.event_id.clone(),
                body: serde_json::to_string(m)
                    .map_err(|e| ServiceError::Internal(e.to_string()))?,
            })
        })
        .collect::<Result<Vec<_>, ServiceError>>()?;
    let appended = app
        .stores
        .outbox
        .append(tenant, connection, entries)
        .await?;
    // The first sequence number names the append: a retried send is a repeat.
    let tag = appended.first().map_or(0, |e| e.seq).to_string();
    nudge(app, tenant, connection, &tag).await?;
    Ok(appended.len())
}

/// Sends one nudge for the connection; `tag` makes its dedup id (one nudge per tag within
/// the queue's 5-minute deduplication window).
pub async fn nudge(
    app: &App,
    tenant: &TenantId,
    connection: &ConnectionId,
    tag: &str,
) -> Result<(), ServiceError> {
    let n = NudgeMessage::new(tenant.as_str(), connection.as_str());
    let message = OutboundMessage {
        body: serde_json::to_string(&n).map_err(|e| ServiceError::Internal(e.to_string()))?,
        group_id: Some(n.group_id()),
        dedup_id: Some(n.dedup_id(tag)),
    };
    app.stores
        .queues
        .send_batch(QueueKind::Push, &[message])
        .await?;
    Ok(())
}

/// The safety net for a lost nudge (called by every poll): nudges when the connection's
/// oldest entry is older than [`STALE_AFTER`]. At most one such nudge a minute (its dedup
/// id names the minute); a nudge that finds the outbox being drained waits behind the
/// drain in the FIFO group and then costs one store read. Returns whether it nudged.
pub async fn nudge_if_stale(
    app: &App,
    tenant: &TenantId,
    connection: &ConnectionId,
) -> Result<bool, ServiceError> {
    let oldest = app.stores.outbox.oldest(tenant, connection, 1).await?;
    let Some(entry) = oldest.first() else {
        return Ok(false);
    };
    let now = app.now();
    if now - entry.appended_at < STALE_AFTER {
        return Ok(false);
    }
    let tag = format!("stale-{}-{}", entry.seq, now.timestamp() / 60);
    nudge(app, tenant, connection, &tag).await?;
    Ok(true)
}
