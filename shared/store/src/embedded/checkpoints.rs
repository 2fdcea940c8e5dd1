//! Checkpoints of long jobs.

use async_trait::async_trait;

use super::EmbeddedStore;
use super::state::key;
use crate::checkpoints::{Checkpoint, CheckpointStore};
use crate::error::StoreResult;
use crate::ids::{ConnectionId, TenantId};
use crate::util::{check_parts, millis};

#[async_trait]
impl CheckpointStore for EmbeddedStore {
    async fn get(
        &self,
        tenant: &TenantId,
        connection: &ConnectionId,
        name: &str,
    ) -> StoreResult<Option<Checkpoint>> {
        check_parts(&[("checkpoint name", name)])?;
        let k = key(&[tenant.as_str(), connection.as_str(), name]);
        Ok(self.read(|s, _| s.checkpoints.get(&k).cloned()).await)
    }

    async fn put(
        &self,
        tenant: &TenantId,
        connection: &ConnectionId,
        name: &str,
        value: serde_json::Value,
    ) -> StoreResult<()> {
        check_parts(&[("checkpoint name", name)])?;
        let k = key(&[tenant.as_str(), connection.as_str(), name]);
        self.write(|s, now| {
            s.checkpoints.insert(
                k,
                Checkpoint {
                    tenant: tenant.clone(),
                    connection: connection.clone(),
                    name: name.to_string(),
                    value,
                    updated_at: millis(now),
                },
            );
            Ok(())
        })
        .await
    }

    async fn delete(
        &self,
        tenant: &TenantId,
        connection: &ConnectionId,
        name: &str,
    ) -> StoreResult<()> {
        check_parts(&[("checkpoint name", name)])?;
        let k = key(&[tenant.as_str(), connection.as_str(), name]);
        self.write(|s, _| {
            s.checkpoints.remove(&k);
            Ok(())
        })
        .await
    }
}
