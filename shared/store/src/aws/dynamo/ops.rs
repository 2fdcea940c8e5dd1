//! Query paging and batch writes shared by the item modules.

use aws_sdk_dynamodb::operation::query::builders::QueryFluentBuilder;
use aws_sdk_dynamodb::types::{PutRequest, WriteRequest};

use super::{DynamoStore, Item, SERVICE, check_start_key};
use crate::aws::errors::classify;
use crate::error::{StoreError, StoreResult};

impl DynamoStore {
    /// Runs `query` until `limit` items are collected or the results end; returns
    /// the items and the key to continue from.
    pub(super) async fn query_items(
        &self,
        query: QueryFluentBuilder,
        limit: usize,
        start: Option<Item>,
    ) -> StoreResult<(Vec<Item>, Option<Item>)> {
        if let Some(key) = &start {
            check_start_key(&query, key)?;
        }
        let mut out = Vec::new();
        let mut start = start;
        loop {
            let remaining = i32::try_from(limit - out.len()).unwrap_or(i32::MAX);
            let resp = query
                .clone()
                .table_name(&self.table)
                .set_exclusive_start_key(start.take())
                .limit(remaining)
                .send()
                .await
                .map_err(|e| classify(SERVICE, "Query", e))?;
            out.extend(resp.items.unwrap_or_default());
            start = resp.last_evaluated_key;
            if out.len() >= limit || start.is_none() {
                return Ok((out, start));
            }
        }
    }

    /// Every item of a query, following pages to the end.
    pub(super) async fn query_all(&self, query: QueryFluentBuilder) -> StoreResult<Vec<Item>> {
        let mut all = Vec::new();
        let mut start = None;
        loop {
            let (items, next) = self.query_items(query.clone(), 1000, start).await?;
            all.extend(items);
            match next {
                Some(k) => start = Some(k),
                None => return Ok(all),
            }
        }
    }

    pub(super) async fn put_item(&self, item: Item, op: &'static str) -> StoreResult<()> {
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .send()
            .await
            .map_err(|e| classify(SERVICE, op, e))?;
        Ok(())
    }

    /// Writes items in BatchWriteItem chunks of 25, retrying unprocessed ones.
    pub(super) async fn batch_put(&self, items: Vec<Item>) -> StoreResult<()> {
        let requests = items
            .into_iter()
            .map(|i| {
                PutRequest::builder()
                    .set_item(Some(i))
                    .build()
                    .map(|p| WriteRequest::builder().put_request(p).build())
                    .map_err(|e| StoreError::invalid("item", e.to_string()))
            })
            .collect::<StoreResult<Vec<_>>>()?;
        self.batch_write(requests).await
    }

    /// Sends write requests in BatchWriteItem chunks of 25, retrying unprocessed ones with
    /// backoff (DynamoDB returns what it throttled as `UnprocessedItems`).
    pub(super) async fn batch_write(&self, requests: Vec<WriteRequest>) -> StoreResult<()> {
        for chunk in requests.chunks(25) {
            let mut pending = chunk.to_vec();
            for attempt in 0..8u32 {
                let resp = self
                    .client
                    .batch_write_item()
                    .request_items(&self.table, pending)
                    .send()
                    .await
                    .map_err(|e| classify(SERVICE, "BatchWriteItem", e))?;
                pending = resp
                    .unprocessed_items
                    .and_then(|mut m| m.remove(&self.table))
                    .unwrap_or_default();
                if pending.is_empty() {
                    break;
                }
                tokio::time::sleep(std::time::Duration::from_millis(25 << attempt)).await;
            }
            if !pending.is_empty() {
                return Err(StoreError::Unavailable {
                    service: SERVICE,
                    operation: "BatchWriteItem",
                    message: format!("{} writes left unprocessed", pending.len()),
                });
            }
        }
        Ok(())
    }

    pub(super) fn query(&self) -> QueryFluentBuilder {
        self.client.query()
    }
}
