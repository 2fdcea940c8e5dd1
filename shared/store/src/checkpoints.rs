//! Checkpoints: where a long job of one connection stands, so a run that ends (a Lambda
//! timeout, a crash) lets the next run continue instead of starting over. Generic by
//! name: the pull's Bulk API backfill keeps `bulk:<Object>` (job id, locator, rows done);
//! other resumable scans can keep their own names.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::error::StoreResult;
use crate::ids::{ConnectionId, TenantId};

/// One named checkpoint; `value` is the owner's own JSON.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Checkpoint {
    pub tenant: TenantId,
    pub connection: ConnectionId,
    pub name: String,
    pub value: serde_json::Value,
    pub updated_at: DateTime<Utc>,
}

/// Checkpoints per connection and name. One writer at a time holds the connection's
/// lease, so a plain put (last writer wins) is enough.
#[async_trait]
pub trait CheckpointStore: Send + Sync {
    async fn get(
        &self,
        tenant: &TenantId,
        connection: &ConnectionId,
        name: &str,
    ) -> StoreResult<Option<Checkpoint>>;
    async fn put(
        &self,
        tenant: &TenantId,
        connection: &ConnectionId,
        name: &str,
        value: serde_json::Value,
    ) -> StoreResult<()>;
    /// Removes the checkpoint (the job finished); no error when there is none.
    async fn delete(
        &self,
        tenant: &TenantId,
        connection: &ConnectionId,
        name: &str,
    ) -> StoreResult<()>;
}
