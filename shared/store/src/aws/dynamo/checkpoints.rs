//! Checkpoints of long jobs: one item per connection and name.

use async_trait::async_trait;

use super::keys::*;
use super::{DynamoStore, SERVICE, item, s, with_data};
use crate::aws::errors::classify;
use crate::checkpoints::{Checkpoint, CheckpointStore};
use crate::error::StoreResult;
use crate::ids::{ConnectionId, TenantId};
use crate::util::check_parts;

#[async_trait]
impl CheckpointStore for DynamoStore {
    async fn get(
        &self,
        tenant: &TenantId,
        connection: &ConnectionId,
        name: &str,
    ) -> StoreResult<Option<Checkpoint>> {
        check_parts(&[("checkpoint name", name)])?;
        self.get_data(&tenant_pk(tenant), &checkpoint_sk(connection, name))
            .await
    }

    async fn put(
        &self,
        tenant: &TenantId,
        connection: &ConnectionId,
        name: &str,
        value: serde_json::Value,
    ) -> StoreResult<()> {
        check_parts(&[("checkpoint name", name)])?;
        let checkpoint = Checkpoint {
            tenant: tenant.clone(),
            connection: connection.clone(),
            name: name.to_string(),
            value,
            updated_at: self.now(),
        };
        let it = with_data(
            item(&tenant_pk(tenant), &checkpoint_sk(connection, name)),
            &checkpoint,
        )?;
        self.put_item(it, "PutItem").await
    }

    async fn delete(
        &self,
        tenant: &TenantId,
        connection: &ConnectionId,
        name: &str,
    ) -> StoreResult<()> {
        check_parts(&[("checkpoint name", name)])?;
        self.client
            .delete_item()
            .table_name(&self.table)
            .key(PK, s(tenant_pk(tenant)))
            .key(SK, s(checkpoint_sk(connection, name)))
            .send()
            .await
            .map_err(|e| classify(SERVICE, "DeleteItem", e))?;
        Ok(())
    }
}
