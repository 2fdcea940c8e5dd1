//! The run history: `pk = TENANT#t`, `sk = RUN#c#startedMs#runId`, read newest first by a
//! strongly consistent query on the base table (no index).

use async_trait::async_trait;
use serde_json::Value;

use super::keys::*;
use super::{
    DynamoStore, Item, data_of, decode_page, encode_page, item, key_of, n, s, str_of, with_data,
};
use crate::error::{StoreError, StoreResult};
use crate::ids::{ConnectionId, TenantId};
use crate::model::*;
use crate::ports::*;

/// The summary sits in its own attribute as a JSON string: its size is then exactly what
/// [`MAX_RUN_SUMMARY_BYTES`] bounds, and no nesting depth limit applies.
const SUMMARY: &str = "summary";

fn run_of(it: &Item) -> StoreResult<RunRecord> {
    let mut run: RunRecord = data_of(it)?;
    let raw = str_of(it, SUMMARY)
        .ok_or_else(|| StoreError::corrupt(key_of(it), "no summary attribute"))?;
    run.summary = serde_json::from_str(raw)
        .map_err(|e| StoreError::corrupt(key_of(it), format!("summary: {e}")))?;
    Ok(run)
}

#[async_trait]
impl RunStore for DynamoStore {
    async fn record(&self, run: &RunRecord) -> StoreResult<()> {
        let mut r = run.prepared()?;
        let summary = serde_json::to_string(&r.summary)
            .map_err(|e| StoreError::invalid("summary", e.to_string()))?;
        r.summary = Value::Null;
        let mut it = item(
            &tenant_pk(&r.tenant),
            &run_sk(&r.connection, r.started_at, &r.id),
        );
        it.insert(SUMMARY.into(), s(summary));
        if let Some(x) = r.expires_at {
            it.insert(TTL.into(), n(x.timestamp()));
            it.insert("until_ms".into(), n(x.timestamp_millis()));
        }
        self.put_item(with_data(it, &r)?, "PutItem").await
    }

    async fn list(
        &self,
        tenant: &TenantId,
        connection: &ConnectionId,
        page: &PageRequest,
    ) -> StoreResult<Page<RunRecord>> {
        let query = self
            .query()
            .key_condition_expression("pk = :pk AND begins_with(sk, :prefix)")
            .filter_expression("attribute_not_exists(until_ms) OR until_ms > :now")
            .expression_attribute_values(":pk", s(tenant_pk(tenant)))
            .expression_attribute_values(":prefix", s(run_prefix(connection)))
            .expression_attribute_values(":now", n(self.now().timestamp_millis()))
            .scan_index_forward(false)
            .consistent_read(true);
        let start = decode_page(page.token.as_ref())?;
        let (items, next) = self
            .query_items(query, page.effective_limit(), start)
            .await?;
        Ok(Page {
            items: items.iter().map(run_of).collect::<StoreResult<_>>()?,
            next: encode_page(next.as_ref()),
        })
    }
}
