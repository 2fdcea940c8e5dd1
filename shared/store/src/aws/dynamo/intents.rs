//! Write intents of push events: one item per event, TTL'd, deleted once reported.

use async_trait::async_trait;

use super::keys::*;
use super::{DynamoStore, SERVICE, data_of, item, n, s, with_data};
use crate::aws::errors::classify;
use crate::error::StoreResult;
use crate::ids::{ConnectionId, TenantId};
use crate::model::*;
use crate::ports::*;
use crate::util::{check_parts, millis};

#[async_trait]
impl IntentStore for DynamoStore {
    async fn put(&self, intent: &WriteIntent) -> StoreResult<()> {
        check_parts(&[("event_id", &intent.event_id)])?;
        let mut i = intent.clone();
        i.started_at = millis(i.started_at);
        i.expires_at = millis(i.expires_at);
        let mut it = item(
            &tenant_pk(&i.tenant),
            &intent_sk(&i.connection, &i.event_id),
        );
        it.insert(TTL.into(), n(i.expires_at.timestamp()));
        // Over an expired item the TTL sweeper has not removed yet, but never a live one.
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(with_data(it, &i)?))
            .condition_expression("attribute_not_exists(pk) OR #ttl <= :now")
            .expression_attribute_names("#ttl", TTL)
            .expression_attribute_values(":now", n(self.now().timestamp()))
            .send()
            .await
            .map_err(|e| classify(SERVICE, "PutItem", e))?;
        Ok(())
    }

    async fn get(
        &self,
        tenant: &TenantId,
        connection: &ConnectionId,
        event_id: &str,
    ) -> StoreResult<Option<WriteIntent>> {
        check_parts(&[("event_id", event_id)])?;
        let intent: Option<WriteIntent> = self
            .get_data(&tenant_pk(tenant), &intent_sk(connection, event_id))
            .await?;
        // The TTL sweeper may lag by days: expiry is checked on read.
        let now = self.now();
        Ok(intent.filter(|i| i.expires_at > now))
    }

    async fn list_open(
        &self,
        tenant: &TenantId,
        connection: &ConnectionId,
    ) -> StoreResult<Vec<WriteIntent>> {
        let q = self
            .query()
            .key_condition_expression("pk = :pk AND begins_with(sk, :prefix)")
            .expression_attribute_values(":pk", s(tenant_pk(tenant)))
            .expression_attribute_values(":prefix", s(intent_sk(connection, "")))
            .consistent_read(true);
        let now = self.now();
        let items = self.query_all(q).await?;
        let intents = items
            .iter()
            .map(data_of)
            .collect::<StoreResult<Vec<WriteIntent>>>()?;
        Ok(intents.into_iter().filter(|i| i.expires_at > now).collect())
    }

    async fn clear(
        &self,
        tenant: &TenantId,
        connection: &ConnectionId,
        event_id: &str,
    ) -> StoreResult<()> {
        check_parts(&[("event_id", event_id)])?;
        self.client
            .delete_item()
            .table_name(&self.table)
            .key(PK, s(tenant_pk(tenant)))
            .key(SK, s(intent_sk(connection, event_id)))
            .send()
            .await
            .map_err(|e| classify(SERVICE, "DeleteItem", e))?;
        Ok(())
    }
}
