//! Ingest: authenticate a signed batch of app events, validate every event (naming the
//! field that is wrong), and append them to the connection's push outbox with one nudge on
//! the FIFO push queue (`outbox`), or, with the outbox off, one queue message each.

use crmsync_core::event::{AppEvent, EventError};
use crmsync_store::{ConnectionId, OutboundMessage, QueueKind, TenantId};
use serde::{Deserialize, Serialize};

use crate::app::App;
use crate::error::ServiceError;
use crate::messages::PushMessage;
use crate::signing;
use crate::tenants::{parse_connection_id, parse_tenant_id, webhook_secret};

/// Largest request body accepted.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;
/// Most events in one request.
pub const MAX_EVENTS: usize = 100;
/// SQS's message size limit, less room for attributes.
const MAX_MESSAGE_BYTES: usize = 250 * 1024;

/// The body of `POST /events`: a batch for one connection of the signing tenant.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct IngestBody {
    connection: String,
    /// Read one by one after the signature check, so each problem names its event.
    #[schema(value_type = Vec<AppEvent>, min_items = 1, max_items = 100)]
    events: Vec<serde_json::Value>,
}

#[derive(Debug, Clone, Serialize, PartialEq, utoipa::ToSchema)]
pub struct Accepted {
    pub accepted: usize,
    pub event_ids: Vec<String>,
}

/// Verifies the signature, validates, enqueues. Nothing is enqueued unless every event is valid,
/// so a client can fix and resend the whole batch.
pub async fn ingest(
    app: &App,
    tenant_header: Option<&str>,
    signature_header: Option<&str>,
    body: &[u8],
) -> Result<Accepted, ServiceError> {
    let tenant = parse_tenant_id(tenant_header.ok_or_else(|| {
        ServiceError::Unauthorized(format!("missing {} header", signing::TENANT_HEADER))
    })?)?;
    let signature = signature_header.ok_or_else(|| {
        ServiceError::Unauthorized(format!("missing {} header", signing::SIGNATURE_HEADER))
    })?;
    if body.len() > MAX_BODY_BYTES {
        return Err(ServiceError::bad_request(
            "body",
            format!("larger than {MAX_BODY_BYTES} bytes"),
        ));
    }
    let secret = webhook_secret(app, &tenant).await?;
    signing::verify(&secret, signature, body, app.now().timestamp())?;

    let parsed: IngestBody = serde_json::from_slice(body)
        .map_err(|e| ServiceError::bad_request("body", e.to_string()))?;
    let connection = parse_connection_id(&parsed.connection)?;
    if app
        .stores
        .connections
        .get(&tenant, &connection)
        .await?
        .is_none()
    {
        return Err(ServiceError::bad_request(
            "connection",
            format!("no connection named {}", parsed.connection),
        ));
    }
    if parsed.events.is_empty() || parsed.events.len() > MAX_EVENTS {
        return Err(ServiceError::bad_request(
            "events",
            format!("must hold 1 to {MAX_EVENTS} events"),
        ));
    }
    let events = parsed
        .events
        .into_iter()
        .enumerate()
        .map(|(i, raw)| parse_event(i, raw))
        .collect::<Result<Vec<_>, _>>()?;
    enqueue_events(app, &tenant, &connection, events).await
}

/// Queues valid events of one connection for the push, in order: appended to its outbox
/// with one nudge, or (outbox off) one FIFO message each. All or none: an event too large
/// for a queue message refuses the batch, naming it. Also used by the drift check.
pub(crate) async fn enqueue_events(
    app: &App,
    tenant: &TenantId,
    connection: &ConnectionId,
    events: Vec<AppEvent>,
) -> Result<Accepted, ServiceError> {
    let mut pushes = Vec::with_capacity(events.len());
    let mut messages = Vec::with_capacity(events.len());
    let mut event_ids = Vec::with_capacity(events.len());
    for (i, event) in events.into_iter().enumerate() {
        let message = PushMessage {
            tenant: tenant.as_str().to_string(),
            connection: connection.as_str().to_string(),
            event,
            repush_id: None,
            accepted: Some(crate::messages::accept_stamp(app.now())),
        };
        let body =
            serde_json::to_string(&message).map_err(|e| ServiceError::Internal(e.to_string()))?;
        if body.len() > MAX_MESSAGE_BYTES {
            return Err(ServiceError::bad_request(
                format!("events[{i}]"),
                format!("event is {} bytes, at most {MAX_MESSAGE_BYTES}", body.len()),
            ));
        }
        event_ids.push(message.event.event_id.clone());
        messages.push(OutboundMessage {
            group_id: Some(message.group_id()),
            dedup_id: Some(message.dedup_id()),
            body,
        });
        pushes.push(message);
    }
    if pushes.is_empty() {
        return Ok(Accepted {
            accepted: 0,
            event_ids,
        });
    }
    if app.settings.push_outbox {
        crate::outbox::enqueue(app, tenant, connection, &pushes).await?;
    } else {
        app.stores
            .queues
            .send_batch(QueueKind::Push, &messages)
            .await?;
    }
    Ok(Accepted {
        accepted: pushes.len(),
        event_ids,
    })
}

fn parse_event(index: usize, raw: serde_json::Value) -> Result<AppEvent, ServiceError> {
    let event: AppEvent = serde_json::from_value(raw)
        .map_err(|e| ServiceError::bad_request(format!("events[{index}]"), e.to_string()))?;
    event.validate().map_err(|e| match e {
        EventError::Invalid(problems) => {
            let first = &problems[0];
            let rest = problems.len() - 1;
            let more = if rest > 0 {
                format!(" (and {rest} more problem(s))")
            } else {
                String::new()
            };
            ServiceError::bad_request(
                format!("events[{index}].{}", first.path),
                format!("{}{more}", first.message),
            )
        }
        EventError::Parse(m) => ServiceError::bad_request(format!("events[{index}]"), m),
    })?;
    Ok(event)
}
