//! Per-connection outboxes: partition `OUTBOX#t#c`, entries `ENTRY#<seq:020>` and the
//! counter `SEQ`. An append reads the counter, then moves it and puts its entries in one
//! transaction conditional on the counter it read, so appends are serialised and each one
//! becomes visible whole, after every earlier one (no holes for a reader to step over).

use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{DeleteRequest, Put, TransactWriteItem, Update, WriteRequest};

use super::keys::*;
use super::{DynamoStore, SERVICE, data_of, item, n, num_of, s, with_data};
use crate::aws::errors::classify;
use crate::error::{StoreError, StoreResult};
use crate::ids::{ConnectionId, TenantId};
use crate::outbox::{MAX_OUTBOX_READ, NewOutboxEntry, OutboxEntry, OutboxStore};

/// Entries per transaction: a `TransactWriteItems` holds at most 100 actions and 4 MB
/// (DynamoDB API reference), one action is the counter; ingest's 1 MiB body stays far
/// below 4 MB.
const ENTRIES_PER_TRANSACTION: usize = 99;
/// Attempts when other appenders keep winning the counter.
const APPEND_ATTEMPTS: u32 = 12;

impl DynamoStore {
    /// The counter's value (0 before the first append).
    async fn outbox_seq(&self, pk: &str) -> StoreResult<u64> {
        match self.get(pk, OUTBOX_SEQ_SK).await? {
            Some(it) => Ok(num_of(&it, "seq")?.unwrap_or(0)),
            None => Ok(0),
        }
    }

    /// One transaction: counter `last` → `last + entries`, and the entries. `Ok(None)` when
    /// another appender moved the counter first.
    async fn append_once(
        &self,
        tenant: &TenantId,
        connection: &ConnectionId,
        last: u64,
        entries: &[NewOutboxEntry],
    ) -> StoreResult<Option<Vec<OutboxEntry>>> {
        let pk = outbox_pk(tenant, connection);
        let at = self.now();
        let stored: Vec<OutboxEntry> = entries
            .iter()
            .zip(last + 1..)
            .map(|(e, seq)| OutboxEntry {
                tenant: tenant.clone(),
                connection: connection.clone(),
                seq,
                event_id: e.event_id.clone(),
                body: e.body.clone(),
                appended_at: at,
            })
            .collect();
        let bad =
            |e: aws_sdk_dynamodb::error::BuildError| StoreError::invalid("outbox", e.to_string());
        let condition = if last == 0 {
            "attribute_not_exists(seq)"
        } else {
            "seq = :last"
        };
        let mut counter = Update::builder()
            .table_name(&self.table)
            .key(PK, s(&pk))
            .key(SK, s(OUTBOX_SEQ_SK))
            .update_expression("SET seq = :next")
            .condition_expression(condition)
            .expression_attribute_values(":next", n(last + entries.len() as u64));
        if last > 0 {
            counter = counter.expression_attribute_values(":last", n(last));
        }
        let mut actions = vec![
            TransactWriteItem::builder()
                .update(counter.build().map_err(bad)?)
                .build(),
        ];
        for e in &stored {
            let it = with_data(item(&pk, &outbox_sk(e.seq)), e)?;
            let put = Put::builder()
                .table_name(&self.table)
                .set_item(Some(it))
                .build()
                .map_err(bad)?;
            actions.push(TransactWriteItem::builder().put(put).build());
        }
        match self
            .client
            .transact_write_items()
            .set_transact_items(Some(actions))
            .send()
            .await
        {
            Ok(_) => Ok(Some(stored)),
            Err(e) if lost_the_counter(&e) => Ok(None),
            Err(e) => Err(classify(SERVICE, "TransactWriteItems", e)),
        }
    }
}

/// The transaction was cancelled because the counter's condition failed (another append
/// won); any other cancellation (throttling, a conflicting transaction) is left to
/// [`classify`].
fn lost_the_counter(e: &SdkError<TransactWriteItemsError>) -> bool {
    match e.as_service_error() {
        Some(TransactWriteItemsError::TransactionCanceledException(c)) => c
            .cancellation_reasons()
            .iter()
            .any(|r| r.code() == Some("ConditionalCheckFailed")),
        _ => false,
    }
}

#[async_trait]
impl OutboxStore for DynamoStore {
    async fn append(
        &self,
        tenant: &TenantId,
        connection: &ConnectionId,
        entries: Vec<NewOutboxEntry>,
    ) -> StoreResult<Vec<OutboxEntry>> {
        let pk = outbox_pk(tenant, connection);
        let mut out = Vec::with_capacity(entries.len());
        for chunk in entries.chunks(ENTRIES_PER_TRANSACTION) {
            let mut attempt = 0;
            loop {
                let last = self.outbox_seq(&pk).await?;
                if let Some(stored) = self.append_once(tenant, connection, last, chunk).await? {
                    out.extend(stored);
                    break;
                }
                attempt += 1;
                if attempt == APPEND_ATTEMPTS {
                    return Err(StoreError::Unavailable {
                        service: SERVICE,
                        operation: "TransactWriteItems",
                        message: format!(
                            "outbox counter of {pk} contended {APPEND_ATTEMPTS} times in a row"
                        ),
                    });
                }
                // Jittered backoff: concurrent appenders spread out.
                let jitter = (uuid::Uuid::new_v4().as_u128() % 16) as u64;
                let ms = (5 + jitter) << attempt.min(5);
                tokio::time::sleep(Duration::from_millis(ms)).await;
            }
        }
        Ok(out)
    }

    async fn oldest(
        &self,
        tenant: &TenantId,
        connection: &ConnectionId,
        limit: u32,
    ) -> StoreResult<Vec<OutboxEntry>> {
        let limit = limit.clamp(1, MAX_OUTBOX_READ) as usize;
        let q = self
            .query()
            .key_condition_expression("pk = :pk AND begins_with(sk, :prefix)")
            .expression_attribute_values(":pk", s(outbox_pk(tenant, connection)))
            .expression_attribute_values(":prefix", s(OUTBOX_ENTRY_PREFIX))
            .consistent_read(true);
        let (items, _) = self.query_items(q, limit, None).await?;
        items.iter().map(data_of).collect()
    }

    async fn remove(
        &self,
        tenant: &TenantId,
        connection: &ConnectionId,
        seqs: &[u64],
    ) -> StoreResult<()> {
        let pk = outbox_pk(tenant, connection);
        let deletes = seqs
            .iter()
            .map(|seq| {
                DeleteRequest::builder()
                    .key(PK, s(&pk))
                    .key(SK, s(outbox_sk(*seq)))
                    .build()
                    .map(|d| WriteRequest::builder().delete_request(d).build())
                    .map_err(|e| StoreError::invalid("outbox", e.to_string()))
            })
            .collect::<StoreResult<Vec<_>>>()?;
        self.batch_write(deletes).await
    }
}
