//! API quota counters.

use async_trait::async_trait;
use aws_sdk_dynamodb::types::ReturnValue;
use chrono::NaiveDate;

use super::keys::*;
use super::{DynamoStore, SERVICE, item, n, num_of, s, with_data};
use crate::aws::errors::classify;
use crate::error::StoreResult;
use crate::ids::{ConnectionId, TenantId};
use crate::model::*;
use crate::ports::*;

#[async_trait]
impl QuotaStore for DynamoStore {
    async fn add_calls(
        &self,
        tenant: &TenantId,
        connection: &ConnectionId,
        day: NaiveDate,
        calls: u64,
    ) -> StoreResult<u64> {
        // Counters outlive their day a little so "yesterday" stays readable.
        let expires = day
            .and_hms_opt(0, 0, 0)
            .map_or(0, |d| d.and_utc().timestamp() + 3 * 86_400);
        let out = self
            .client
            .update_item()
            .table_name(&self.table)
            .key(PK, s(tenant_pk(tenant)))
            .key(SK, s(quota_sk(connection, day)))
            .update_expression("ADD calls :n SET expires_at = :x")
            .expression_attribute_values(":n", n(calls))
            .expression_attribute_values(":x", n(expires))
            .return_values(ReturnValue::UpdatedNew)
            .send()
            .await
            .map_err(|e| classify(SERVICE, "UpdateItem", e))?;
        Ok(num_of(&out.attributes.unwrap_or_default(), "calls")?.unwrap_or(0))
    }

    async fn record_limit(
        &self,
        tenant: &TenantId,
        connection: &ConnectionId,
        reading: LimitReading,
    ) -> StoreResult<()> {
        let info = reading.stamped(self.now());
        let it = with_data(item(&tenant_pk(tenant), &quota_limit_sk(connection)), &info)?;
        self.put_item(it, "PutItem").await
    }

    async fn usage(
        &self,
        tenant: &TenantId,
        connection: &ConnectionId,
        day: NaiveDate,
    ) -> StoreResult<QuotaUsage> {
        let calls =
            match DynamoStore::get(self, &tenant_pk(tenant), &quota_sk(connection, day)).await? {
                Some(it) => num_of(&it, "calls")?.unwrap_or(0),
                None => 0,
            };
        let limit = self
            .get_data(&tenant_pk(tenant), &quota_limit_sk(connection))
            .await?;
        Ok(QuotaUsage { day, calls, limit })
    }
}
