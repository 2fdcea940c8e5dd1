//! Lambda event adapters: turn SQS and EventBridge events into use-case calls and results
//! into the responses Lambda expects (partial batch failures for SQS). Testable without
//! Lambda: every function takes the event value and returns a plain result.

pub use aws_lambda_events::sqs::SqsEvent;
use aws_lambda_events::sqs::{BatchItemFailure, SqsBatchResponse};
use crmsync_store::{ConnectionId, TenantId};
use serde_json::{Value, json};

use crate::app::App;
use crate::messages::{PollMessage, SweepMessage};
use crate::push::InboundMessage;
use crate::{poll as poll_uc, push, schedule, sweep as sweep_uc};

/// What the poll function receives: an EventBridge tick or a poll-queue batch.
pub type PollEvent = Value;
/// What the sweep function receives: its schedule's tick or a sweep-queue batch.
pub type ScheduledEvent = Value;

pub type LambdaError = Box<dyn std::error::Error + Send + Sync>;

fn failures(ids: Vec<String>) -> SqsBatchResponse {
    let mut response = SqsBatchResponse::default();
    response.batch_item_failures = ids
        .into_iter()
        .map(|id| {
            let mut f = BatchItemFailure::default();
            f.item_identifier = id;
            f
        })
        .collect();
    response
}

/// The push worker: one SQS batch; failed items are redelivered, the rest acknowledged.
pub async fn push_batch(app: &App, event: SqsEvent) -> Result<SqsBatchResponse, LambdaError> {
    let mut unreadable = Vec::new();
    let messages: Vec<InboundMessage> = event
        .records
        .into_iter()
        .filter_map(|m| match (m.message_id, m.body) {
            (Some(message_id), Some(body)) => Some(InboundMessage { message_id, body }),
            (Some(id), None) => {
                unreadable.push(id);
                None
            }
            _ => None,
        })
        .collect();
    let outcome = push::push_batch(app, messages).await;
    let mut retry = outcome.retry;
    retry.extend(unreadable);
    Ok(failures(retry))
}

/// The poll function: the minute tick fans out; a poll-queue batch syncs connections.
pub async fn poll(app: &App, event: PollEvent) -> Result<Value, LambdaError> {
    if event.get("Records").is_none() {
        let pass = schedule::schedule_due(app).await?;
        return Ok(serde_json::to_value(pass)?);
    }
    let batch: SqsEvent = serde_json::from_value(event)?;
    let mut retry = Vec::new();
    for m in batch.records {
        let Some(id) = m.message_id else { continue };
        let message = m
            .body
            .as_deref()
            .and_then(|b| serde_json::from_str::<PollMessage>(b).ok());
        let parsed = message.as_ref().and_then(|p| {
            Some((
                TenantId::new(p.tenant.clone()).ok()?,
                ConnectionId::new(p.connection.clone()).ok()?,
            ))
        });
        let (Some(message), Some((tenant, connection))) = (message, parsed) else {
            tracing::error!(
                message_id = id,
                "unreadable poll message; leaving it for the dead-letter queue"
            );
            retry.push(id);
            continue;
        };
        match poll_uc::poll_connection(app, &tenant, &connection).await {
            // Redelivered: the connection stays marked as queued.
            Err(e) if e.is_retryable() => {
                retry.push(id);
                continue;
            }
            Ok(_) => {}
            Err(e) => {
                tracing::warn!(tenant = tenant.as_str(), connection = connection.as_str(), error = %e, "poll failed; the next tick retries")
            }
        }
        schedule::release_mark(app, &message).await;
    }
    Ok(serde_json::to_value(failures(retry))?)
}

/// The sweep function: the tick fans out one message per connected connection; a
/// sweep-queue batch sweeps those connections (a retryable failure is redelivered).
pub async fn sweep(app: &App, event: ScheduledEvent) -> Result<Value, LambdaError> {
    if event.get("Records").is_none() {
        let queued = sweep_uc::fan_out(app).await?;
        return Ok(json!({ "queued": queued }));
    }
    let batch: SqsEvent = serde_json::from_value(event)?;
    let mut retry = Vec::new();
    for m in batch.records {
        let Some(id) = m.message_id else { continue };
        let parsed = m
            .body
            .as_deref()
            .and_then(|b| serde_json::from_str::<SweepMessage>(b).ok())
            .and_then(|p| {
                Some((
                    TenantId::new(p.tenant).ok()?,
                    ConnectionId::new(p.connection).ok()?,
                ))
            });
        let Some((tenant, connection)) = parsed else {
            tracing::error!(
                message_id = id,
                "unreadable sweep message; leaving it for the dead-letter queue"
            );
            retry.push(id);
            continue;
        };
        match sweep_uc::sweep_connection(app, &tenant, &connection).await {
            Ok(run) => {
                tracing::info!(tenant = tenant.as_str(), connection = connection.as_str(), status = ?run.status, unlinked = run.total().unlinked, "sweep")
            }
            Err(e) if e.is_retryable() => retry.push(id),
            Err(e) => {
                tracing::warn!(tenant = tenant.as_str(), connection = connection.as_str(), error = %e, "sweep failed; the next tick retries")
            }
        }
    }
    Ok(serde_json::to_value(failures(retry))?)
}
