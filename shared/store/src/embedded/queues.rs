//! Embedded queues: FIFO ordering per message group, dedup window, visibility timeout.

use std::collections::HashSet;

use async_trait::async_trait;
use chrono::Duration;

use super::EmbeddedStore;
use super::state::StoredMessage;
use crate::aws::sqs::plan_batches;
use crate::error::{StoreError, StoreResult};
use crate::model::{OutboundMessage, QueueKind, ReceivedMessage};
use crate::ports::Queues;

/// Same as SQS's defaults.
const VISIBILITY: Duration = Duration::seconds(30);
const DEDUP_WINDOW: Duration = Duration::minutes(5);

fn is_fifo(queue: QueueKind) -> bool {
    queue == QueueKind::Push
}

fn check_message(queue: QueueKind, m: &OutboundMessage, i: usize) -> StoreResult<()> {
    if is_fifo(queue) && m.group_id.as_deref().is_none_or(str::is_empty) {
        return Err(StoreError::invalid(
            format!("messages[{i}].group_id"),
            "required on the FIFO push queue",
        ));
    }
    if m.body.is_empty() {
        return Err(StoreError::invalid(
            format!("messages[{i}].body"),
            "must not be empty",
        ));
    }
    Ok(())
}

#[async_trait]
impl Queues for EmbeddedStore {
    async fn send_batch(&self, queue: QueueKind, messages: &[OutboundMessage]) -> StoreResult<()> {
        for (i, m) in messages.iter().enumerate() {
            check_message(queue, m, i)?;
        }
        // The same per-message size limit as SQS; the batching itself does not matter
        // here (the whole call is one write), so the plan is only checked.
        plan_batches(messages)?;
        self.write(|s, now| {
            let q = s.queues.entry(queue).or_default();
            q.dedup.retain(|_, until| *until > now);
            for m in messages {
                if is_fifo(queue)
                    && let Some(d) = &m.dedup_id
                {
                    if q.dedup.contains_key(d) {
                        continue;
                    }
                    q.dedup.insert(d.clone(), now + DEDUP_WINDOW);
                }
                q.next_id += 1;
                q.messages.push_back(StoredMessage {
                    id: format!("{}-{}", queue.as_str(), q.next_id),
                    body: m.body.clone(),
                    group_id: m.group_id.clone(),
                    invisible_until: None,
                    receipt: None,
                });
            }
            Ok(())
        })
        .await
    }

    async fn receive(&self, queue: QueueKind, max: u32) -> StoreResult<Vec<ReceivedMessage>> {
        let max = max.clamp(1, 10) as usize;
        self.write(|s, now| {
            let q = s.queues.entry(queue).or_default();
            let mut blocked_groups = HashSet::new();
            let mut out = Vec::new();
            for m in q.messages.iter_mut() {
                if out.len() == max {
                    break;
                }
                let in_flight = m.invisible_until.is_some_and(|u| u > now);
                if in_flight {
                    // FIFO: nothing behind an in-flight message of the same group.
                    if let Some(g) = &m.group_id {
                        blocked_groups.insert(g.clone());
                    }
                    continue;
                }
                if is_fifo(queue)
                    && m.group_id
                        .as_ref()
                        .is_some_and(|g| blocked_groups.contains(g))
                {
                    continue;
                }
                let receipt = uuid::Uuid::new_v4().to_string();
                m.invisible_until = Some(now + VISIBILITY);
                m.receipt = Some(receipt.clone());
                out.push(ReceivedMessage {
                    message_id: m.id.clone(),
                    body: m.body.clone(),
                    receipt,
                    group_id: m.group_id.clone(),
                });
            }
            Ok(out)
        })
        .await
    }

    async fn ack(&self, queue: QueueKind, receipt: &str) -> StoreResult<()> {
        self.write(|s, _| {
            let q = s.queues.entry(queue).or_default();
            // Like SQS, acking an unknown or stale receipt is not an error.
            q.messages.retain(|m| m.receipt.as_deref() != Some(receipt));
            Ok(())
        })
        .await
    }
}
