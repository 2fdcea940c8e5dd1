//! API quota counters.

use async_trait::async_trait;
use chrono::NaiveDate;

use super::EmbeddedStore;
use super::state::key;
use crate::error::StoreResult;
use crate::ids::{ConnectionId, TenantId};
use crate::model::*;
use crate::ports::*;
use crate::util::millis;

#[async_trait]
impl QuotaStore for EmbeddedStore {
    async fn add_calls(
        &self,
        tenant: &TenantId,
        connection: &ConnectionId,
        day: NaiveDate,
        calls: u64,
    ) -> StoreResult<u64> {
        let k = key(&[tenant.as_str(), connection.as_str(), &day.to_string()]);
        self.write(|s, _| {
            let total = s.quota_calls.entry(k).or_default();
            *total = total.saturating_add(calls);
            Ok(*total)
        })
        .await
    }

    async fn record_limit(
        &self,
        tenant: &TenantId,
        connection: &ConnectionId,
        reading: LimitReading,
    ) -> StoreResult<()> {
        let k = key(&[tenant.as_str(), connection.as_str()]);
        self.write(|s, now| {
            s.quota_limits.insert(k, reading.stamped(millis(now)));
            Ok(())
        })
        .await
    }

    async fn usage(
        &self,
        tenant: &TenantId,
        connection: &ConnectionId,
        day: NaiveDate,
    ) -> StoreResult<QuotaUsage> {
        let day_key = key(&[tenant.as_str(), connection.as_str(), &day.to_string()]);
        let limit_key = key(&[tenant.as_str(), connection.as_str()]);
        Ok(self
            .read(|s, _| QuotaUsage {
                day,
                calls: s.quota_calls.get(&day_key).copied().unwrap_or(0),
                limit: s.quota_limits.get(&limit_key).copied(),
            })
            .await)
    }
}
