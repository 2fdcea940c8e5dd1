//! Work parked while a connection needs reconnecting, and re-push of reported events.
//!
//! A push for a connection in `ReconnectNeeded` is not dropped: its message is recorded as a
//! `parked` report entry (with the whole message as payload) and acknowledged. After the
//! reconnect, and on each poll while the API budget has room, parked entries are enqueued
//! again (appended to the connection's push outbox, like ingest's events). An enqueued entry is marked `REQUEUED` first, so the next poll does not send it
//! twice; if the push worker parks it again, it is replayed again later. An activity
//! parked as `WAITING_FOR_LINK` is replayed only once the person (or deal) it names is
//! linked.
//!
//! Once each, in order: one replay per connection at a time (a lease); the `REQUEUED` mark
//! is a conditional write (only over `parked`), so it never overwrites an outcome the push
//! worker wrote meanwhile; a mark is trusted longer than a message can be in flight; and
//! an event older than the record's last applied change is reported `SUPERSEDED` by the
//! push (the per-field order in `crmsync_core::conflict`).

use std::time::Duration;

use crmsync_store::{
    ConnectionId, OutboundMessage, PageRequest, QueueKind, ReportQuery, ReportStatus, StoreError,
    TenantId,
};

use crate::app::App;
use crate::error::ServiceError;
use crate::leases::{LeaseKind, lease_name};
use crate::messages::PushMessage;

/// How a parked replay's `repush_id` starts (an operator's re-push starts `repush-`).
pub const REPLAY_PREFIX: &str = "replay-";
/// The code of a parked entry already sent back to the push queue.
pub const REQUEUED: &str = "REQUEUED";
/// The push queue's visibility timeout (`PushQueue.VisibilityTimeout` in template.yaml; a
/// template test keeps them equal): how long a received message stays in flight.
pub const PUSH_VISIBILITY_TIMEOUT: Duration = Duration::from_secs(720);
/// The push function's timeout (`PushFunction.Timeout` in template.yaml; a template test
/// keeps them equal): no attempt at an event runs longer.
pub const PUSH_FUNCTION_TIMEOUT: Duration = Duration::from_secs(120);
/// After this long a `REQUEUED` entry that is still parked (its message was lost, e.g. the
/// queue send failed) is sent again. Twice the visibility timeout, so a message still in
/// flight (or just redelivered) is never sent a second time.
pub const REQUEUE_GRACE: Duration = Duration::from_secs(2 * PUSH_VISIBILITY_TIMEOUT.as_secs());
/// How long one replay may hold the connection; it sends at most a few hundred messages.
const REPLAY_LEASE_TTL: Duration = Duration::from_secs(120);

/// Enqueues every parked event of a connection again, oldest first (so a record's events
/// keep their order on the FIFO queue); returns how many. 0 while another replay of the
/// connection runs (it sends them).
pub async fn replay(
    app: &App,
    tenant: &TenantId,
    connection: &ConnectionId,
) -> Result<usize, ServiceError> {
    let name = lease_name(LeaseKind::Replay, tenant, connection);
    let owner = format!("replay-{}", uuid::Uuid::new_v4());
    let Some(lease) = app
        .stores
        .leases
        .acquire(&name, &owner, REPLAY_LEASE_TTL)
        .await?
    else {
        tracing::info!(
            tenant = tenant.as_str(),
            connection = connection.as_str(),
            "another replay of this connection is running"
        );
        return Ok(0);
    };
    let result = replay_under_lease(app, tenant, connection).await;
    if let Err(e) = app.stores.leases.release(&lease).await {
        tracing::warn!(error = %e, "replay lease release failed; it will expire");
    }
    result
}

async fn replay_under_lease(
    app: &App,
    tenant: &TenantId,
    connection: &ConnectionId,
) -> Result<usize, ServiceError> {
    let grace = chrono::Duration::from_std(REQUEUE_GRACE).expect("small duration");
    let requeue_before = app.now() - grace;
    let mut parked: Vec<_> = parked_entries(app, tenant, connection)
        .await?
        .into_iter()
        .filter(|entry| {
            !(entry.code.as_deref() == Some(REQUEUED) && entry.updated_at > requeue_before)
        })
        .collect();
    // Activities waiting for a link stay parked until it exists (no replay each minute).
    parked = still_waiting_left_out(app, tenant, connection, parked).await?;
    // Oldest first, in the app's order (see `replay_key`).
    parked.sort_by_cached_key(replay_key);

    let mut replayed = 0;
    for chunk in parked.chunks(10) {
        let mut messages: Vec<PushMessage> = Vec::new();
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
            message.repush_id = Some(format!("{REPLAY_PREFIX}{}", uuid::Uuid::new_v4()));
            // Marked before sending: the push worker's outcome must never be overwritten.
            let mut marked = entry.clone();
            marked.code = Some(REQUEUED.to_string());
            marked.reason = Some("sent back to the push queue; waiting for the push worker".into());
            marked.updated_at = app.now();
            match app
                .stores
                .reports
                .write_if_status(&marked, ReportStatus::Parked)
                .await
            {
                Ok(()) => messages.push(message),
                // The push worker finished it since the listing: nothing to replay.
                Err(StoreError::Conflict(_)) => continue,
                Err(e) => return Err(e.into()),
            }
        }
        if !messages.is_empty() {
            send(app, tenant, connection, &messages).await?;
            replayed += messages.len();
        }
    }
    Ok(replayed)
}

/// `parked` without the activities still waiting for a link of the person or deal they
/// name ([`crate::push::activity`]), nor the events of the same activity parked behind one
/// (they would only park again). The config is read only when one waits; each named
/// person and deal is looked up once.
async fn still_waiting_left_out(
    app: &App,
    tenant: &TenantId,
    connection: &ConnectionId,
    parked: Vec<crmsync_store::ReportEntry>,
) -> Result<Vec<crmsync_store::ReportEntry>, ServiceError> {
    let waiting = |e: &crmsync_store::ReportEntry| {
        e.code.as_deref() == Some(crate::push::activity::WAITING_FOR_LINK)
    };
    if !parked.iter().any(waiting) {
        return Ok(parked);
    }
    let config = crate::config_service::load_or_init(app, tenant, connection)
        .await?
        .config;
    let message = |e: &crmsync_store::ReportEntry| {
        e.payload
            .as_ref()
            .and_then(|p| serde_json::from_value::<PushMessage>(p.clone()).ok())
    };
    let mut known = std::collections::BTreeMap::new();
    let mut still = std::collections::BTreeSet::new();
    for entry in parked.iter().filter(|e| waiting(e)) {
        let Some(m) = message(entry) else { continue };
        let named = crmsync_core::activity::named(&config, &m.event);
        let key = (named.contact, named.deal);
        let ready = match known.get(&key) {
            Some(ready) => *ready,
            None => {
                let ready =
                    crate::push::activity::links_ready(app, tenant, connection, &config, &m.event)
                        .await?;
                known.insert(key, ready);
                ready
            }
        };
        if !ready {
            still.insert(m.group_id());
        }
    }
    Ok(parked
        .into_iter()
        .filter(|e| message(e).is_none_or(|m| !still.contains(&m.group_id())))
        .collect())
}

/// Every parked report entry of a connection, all pages.
async fn parked_entries(
    app: &App,
    tenant: &TenantId,
    connection: &ConnectionId,
) -> Result<Vec<crmsync_store::ReportEntry>, ServiceError> {
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
        parked.extend(batch.items);
        match batch.next {
            Some(token) => page = PageRequest::next(100, token),
            None => return Ok(parked),
        }
    }
}

/// A parked entry's place in replay order: when it happened in the app, then in the order
/// ingest accepted it (app times can tie), then when parked, then its id.
type ReplayKey = (
    Option<chrono::DateTime<chrono::FixedOffset>>,
    Option<String>,
    chrono::DateTime<chrono::Utc>,
    String,
);

fn replay_key(e: &crmsync_store::ReportEntry) -> ReplayKey {
    let payload = e.payload.as_ref();
    let occurred = payload
        .and_then(|p| p.pointer("/event/occurred_at"))
        .and_then(|v| v.as_str())
        .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok());
    let accepted = payload
        .and_then(|p| p.get("accepted"))
        .and_then(|v| v.as_str())
        .map(str::to_string);
    (occurred, accepted, e.created_at, e.event_id.clone())
}

/// The pending events to park behind an earlier parked event of the same record, so a
/// record's events apply in order even when some were parked: a fresh event waits behind
/// any parked one; a replayed one only behind those before it in replay order.
pub async fn held_behind_parked(
    app: &App,
    tenant: &TenantId,
    connection: &ConnectionId,
    pending: &[(String, PushMessage)],
) -> Result<std::collections::BTreeSet<String>, ServiceError> {
    let mut held = std::collections::BTreeSet::new();
    if pending.is_empty() {
        return Ok(held);
    }
    // (record group, replay key) of every parked entry.
    let parked: Vec<(String, ReplayKey)> = parked_entries(app, tenant, connection)
        .await?
        .iter()
        .filter_map(|entry| {
            let payload = entry.payload.clone()?;
            let m = serde_json::from_value::<PushMessage>(payload).ok()?;
            Some((m.group_id(), replay_key(entry)))
        })
        .collect();
    // Parked events in this batch are pushed now, in queue order: only those ahead of an
    // event go before it (a fresh event queued before the replay comes first in the batch).
    let position: std::collections::BTreeMap<&str, usize> = pending
        .iter()
        .enumerate()
        .map(|(i, (_, m))| (m.event.event_id.as_str(), i))
        .collect();
    let mut held_groups = std::collections::BTreeSet::new();
    for (i, (_, msg)) in pending.iter().enumerate() {
        let group = msg.group_id();
        let id = &msg.event.event_id;
        let own = parked.iter().find(|(g, k)| g == &group && &k.3 == id);
        let behind = parked.iter().any(|(g, k)| {
            g == &group
                && &k.3 != id
                && position.get(k.3.as_str()).is_none_or(|&j| j > i)
                && own.is_none_or(|(_, mine)| k < mine)
        });
        // Once one of a record's events waits, its later ones in the batch wait too.
        if behind || held_groups.contains(&group) {
            held.insert(id.clone());
            held_groups.insert(group);
        }
    }
    Ok(held)
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
    send(app, tenant, connection, &[message]).await?;
    Ok(repush_id)
}

/// Sends events back to the push worker: through the connection's outbox (behind what it
/// holds, in order), or as queue messages when the outbox is off.
async fn send(
    app: &App,
    tenant: &TenantId,
    connection: &ConnectionId,
    messages: &[PushMessage],
) -> Result<(), ServiceError> {
    if app.settings.push_outbox {
        crate::outbox::enqueue(app, tenant, connection, messages).await?;
    } else {
        let outbound = messages
            .iter()
            .map(outbound)
            .collect::<Result<Vec<_>, _>>()?;
        app.stores
            .queues
            .send_batch(QueueKind::Push, &outbound)
            .await?;
    }
    Ok(())
}

pub fn outbound(message: &PushMessage) -> Result<OutboundMessage, ServiceError> {
    Ok(OutboundMessage {
        body: serde_json::to_string(message).map_err(|e| ServiceError::Internal(e.to_string()))?,
        group_id: Some(message.group_id()),
        dedup_id: Some(message.dedup_id()),
    })
}
