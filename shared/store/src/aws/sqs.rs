//! SQS queues: batches of at most 10 messages and 256 KiB, FIFO group and deduplication ids.

use async_trait::async_trait;
use aws_sdk_sqs::types::{MessageSystemAttributeName, SendMessageBatchRequestEntry};

use crate::aws::errors::classify;
use crate::error::{StoreError, StoreResult};
use crate::model::{OutboundMessage, QueueKind, ReceivedMessage};
use crate::ports::Queues;

const SERVICE: &str = "sqs";
/// SQS's maximum batch size.
pub const MAX_BATCH: usize = 10;
/// The most message-body bytes one `SendMessageBatch` call may carry (256 KiB); SQS
/// refuses a larger call whole with `BatchRequestTooLong`.
pub const MAX_BATCH_BYTES: usize = 262_144;
/// The largest single message body we send (256 KiB, SQS's classic per-message limit).
pub const MAX_MESSAGE_BYTES: usize = 262_144;

/// Checks every message against [`MAX_MESSAGE_BYTES`] and splits `messages` into
/// consecutive chunks of at most [`MAX_BATCH`] messages and [`MAX_BATCH_BYTES`] body
/// bytes, in order. Shared with the embedded adapter so both refuse the same input.
pub(crate) fn plan_batches(
    messages: &[OutboundMessage],
) -> StoreResult<Vec<std::ops::Range<usize>>> {
    for (i, m) in messages.iter().enumerate() {
        if m.body.len() > MAX_MESSAGE_BYTES {
            return Err(StoreError::invalid(
                format!("messages[{i}].body"),
                format!(
                    "is {} bytes, more than the {MAX_MESSAGE_BYTES}-byte message size limit",
                    m.body.len()
                ),
            ));
        }
    }
    let mut chunks = Vec::new();
    let (mut start, mut bytes) = (0, 0);
    for (i, m) in messages.iter().enumerate() {
        let len = m.body.len();
        if i > start && (i - start == MAX_BATCH || bytes + len > MAX_BATCH_BYTES) {
            chunks.push(start..i);
            (start, bytes) = (i, 0);
        }
        bytes += len;
    }
    if start < messages.len() {
        chunks.push(start..messages.len());
    }
    Ok(chunks)
}

#[derive(Debug, Clone)]
pub struct SqsQueues {
    client: aws_sdk_sqs::Client,
    push_url: String,
    poll_url: String,
    sweep_url: String,
}

impl SqsQueues {
    pub fn new(
        client: aws_sdk_sqs::Client,
        push_url: impl Into<String>,
        poll_url: impl Into<String>,
    ) -> Self {
        Self {
            client,
            push_url: push_url.into(),
            poll_url: poll_url.into(),
            sweep_url: String::new(),
        }
    }

    /// The sweep fan-out queue (only the sweep function sends to it).
    pub fn with_sweep_queue(mut self, sweep_url: impl Into<String>) -> Self {
        self.sweep_url = sweep_url.into();
        self
    }

    fn url(&self, queue: QueueKind) -> &str {
        match queue {
            QueueKind::Push => &self.push_url,
            QueueKind::Poll => &self.poll_url,
            QueueKind::Sweep => &self.sweep_url,
        }
    }
}

#[async_trait]
impl Queues for SqsQueues {
    async fn send_batch(&self, queue: QueueKind, messages: &[OutboundMessage]) -> StoreResult<()> {
        let fifo = self.url(queue).ends_with(".fifo");
        for (i, m) in messages.iter().enumerate() {
            if fifo && m.group_id.as_deref().is_none_or(str::is_empty) {
                return Err(StoreError::invalid(
                    format!("messages[{i}].group_id"),
                    "required on a FIFO queue",
                ));
            }
        }
        for range in plan_batches(messages)? {
            let first_index = range.start;
            let chunk = &messages[range];
            let entries = chunk
                .iter()
                .enumerate()
                .map(|(i, m)| {
                    SendMessageBatchRequestEntry::builder()
                        .id(format!("m{i}"))
                        .message_body(&m.body)
                        .set_message_group_id(m.group_id.clone())
                        .set_message_deduplication_id(if fifo { m.dedup_id.clone() } else { None })
                        .build()
                        .map_err(|e| {
                            StoreError::invalid(
                                format!("messages[{}]", first_index + i),
                                e.to_string(),
                            )
                        })
                })
                .collect::<StoreResult<Vec<_>>>()?;
            let out = self
                .client
                .send_message_batch()
                .queue_url(self.url(queue))
                .set_entries(Some(entries))
                .send()
                .await
                .map_err(|e| classify(SERVICE, "SendMessageBatch", e))?;
            if let Some(first) = out.failed().first() {
                let detail = format!(
                    "{} of {} messages failed, first {}: {}",
                    out.failed().len(),
                    chunk.len(),
                    first.code(),
                    first.message().unwrap_or("")
                );
                // Sender faults are our bug; the rest are AWS-side and retryable.
                return Err(if out.failed().iter().all(|f| f.sender_fault()) {
                    StoreError::Rejected {
                        service: SERVICE,
                        operation: "SendMessageBatch",
                        code: first.code().to_string(),
                        message: detail,
                    }
                } else {
                    StoreError::Unavailable {
                        service: SERVICE,
                        operation: "SendMessageBatch",
                        message: detail,
                    }
                });
            }
        }
        Ok(())
    }

    async fn receive(&self, queue: QueueKind, max: u32) -> StoreResult<Vec<ReceivedMessage>> {
        let out = self
            .client
            .receive_message()
            .queue_url(self.url(queue))
            .max_number_of_messages(max.clamp(1, 10) as i32)
            .wait_time_seconds(0)
            .message_system_attribute_names(MessageSystemAttributeName::MessageGroupId)
            .send()
            .await
            .map_err(|e| classify(SERVICE, "ReceiveMessage", e))?;
        Ok(out
            .messages
            .unwrap_or_default()
            .into_iter()
            .filter_map(|m| {
                let group_id = m
                    .attributes()
                    .and_then(|a| a.get(&MessageSystemAttributeName::MessageGroupId))
                    .cloned();
                Some(ReceivedMessage {
                    message_id: m.message_id?,
                    body: m.body.unwrap_or_default(),
                    receipt: m.receipt_handle?,
                    group_id,
                })
            })
            .collect())
    }

    async fn ack(&self, queue: QueueKind, receipt: &str) -> StoreResult<()> {
        self.client
            .delete_message()
            .queue_url(self.url(queue))
            .receipt_handle(receipt)
            .send()
            .await
            .map_err(|e| classify(SERVICE, "DeleteMessage", e))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg(len: usize) -> OutboundMessage {
        OutboundMessage {
            body: "x".repeat(len),
            group_id: None,
            dedup_id: None,
        }
    }

    #[test]
    fn batches_close_on_count_or_bytes() {
        assert!(plan_batches(&[]).unwrap().is_empty());
        let small: Vec<_> = (0..23).map(|_| msg(10)).collect();
        assert_eq!(plan_batches(&small).unwrap(), [0..10, 10..20, 20..23]);
        // 60 KB each: four fit in 256 KiB, the fifth would not.
        let big: Vec<_> = (0..10).map(|_| msg(60_000)).collect();
        assert_eq!(plan_batches(&big).unwrap(), [0..4, 4..8, 8..10]);
        // Exactly at the limit stays in one batch.
        let exact = [msg(MAX_BATCH_BYTES - 1), msg(1), msg(1)];
        assert_eq!(plan_batches(&exact).unwrap(), [0..2, 2..3]);
        // A message of the maximum size travels alone.
        let max = [msg(1), msg(MAX_MESSAGE_BYTES), msg(1)];
        assert_eq!(plan_batches(&max).unwrap(), [0..1, 1..2, 2..3]);
    }

    #[test]
    fn oversized_message_is_refused_naming_the_limit() {
        let err = plan_batches(&[msg(1), msg(MAX_MESSAGE_BYTES + 1)]).unwrap_err();
        assert!(matches!(err, StoreError::InvalidInput { .. }), "{err}");
        let text = err.to_string();
        assert!(text.contains("messages[1].body"), "{text}");
        assert!(text.contains("262144"), "{text}");
    }
}
