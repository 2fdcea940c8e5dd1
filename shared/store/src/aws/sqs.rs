//! SQS queues: batches of at most 10, FIFO group and deduplication ids.

use async_trait::async_trait;
use aws_sdk_sqs::types::{MessageSystemAttributeName, SendMessageBatchRequestEntry};

use crate::aws::errors::classify;
use crate::error::{StoreError, StoreResult};
use crate::model::{OutboundMessage, QueueKind, ReceivedMessage};
use crate::ports::Queues;

const SERVICE: &str = "sqs";
/// SQS's maximum batch size.
pub const MAX_BATCH: usize = 10;

#[derive(Debug, Clone)]
pub struct SqsQueues {
    client: aws_sdk_sqs::Client,
    push_url: String,
    poll_url: String,
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
        }
    }

    fn url(&self, queue: QueueKind) -> &str {
        match queue {
            QueueKind::Push => &self.push_url,
            QueueKind::Poll => &self.poll_url,
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
        for (chunk_no, chunk) in messages.chunks(MAX_BATCH).enumerate() {
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
                                format!("messages[{}]", chunk_no * MAX_BATCH + i),
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
