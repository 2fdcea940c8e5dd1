//! Write intents of push events.

use async_trait::async_trait;

use super::EmbeddedStore;
use super::state::key;
use crate::error::{StoreError, StoreResult};
use crate::ids::{ConnectionId, TenantId};
use crate::model::*;
use crate::ports::*;
use crate::util::{check_parts, millis};

fn intent_key(t: &TenantId, c: &ConnectionId, event_id: &str) -> StoreResult<String> {
    check_parts(&[("event_id", event_id)])?;
    Ok(key(&[t.as_str(), c.as_str(), event_id]))
}

#[async_trait]
impl IntentStore for EmbeddedStore {
    async fn put(&self, intent: &WriteIntent) -> StoreResult<()> {
        let k = intent_key(&intent.tenant, &intent.connection, &intent.event_id)?;
        let mut intent = intent.clone();
        intent.started_at = millis(intent.started_at);
        intent.expires_at = millis(intent.expires_at);
        self.write(|s, now| {
            s.intents.retain(|_, v| v.expires_at > now);
            if s.intents.contains_key(&k) {
                return Err(StoreError::Conflict(format!(
                    "a write intent for event {} exists",
                    intent.event_id
                )));
            }
            s.intents.insert(k, intent);
            Ok(())
        })
        .await
    }

    async fn get(
        &self,
        tenant: &TenantId,
        connection: &ConnectionId,
        event_id: &str,
    ) -> StoreResult<Option<WriteIntent>> {
        let k = intent_key(tenant, connection, event_id)?;
        Ok(self
            .read(|s, now| s.intents.get(&k).filter(|i| i.expires_at > now).cloned())
            .await)
    }

    async fn list_open(
        &self,
        tenant: &TenantId,
        connection: &ConnectionId,
    ) -> StoreResult<Vec<WriteIntent>> {
        Ok(self
            .read(|s, now| {
                s.intents
                    .values()
                    .filter(|i| {
                        &i.tenant == tenant && &i.connection == connection && i.expires_at > now
                    })
                    .cloned()
                    .collect()
            })
            .await)
    }

    async fn clear(
        &self,
        tenant: &TenantId,
        connection: &ConnectionId,
        event_id: &str,
    ) -> StoreResult<()> {
        let k = intent_key(tenant, connection, event_id)?;
        self.write(|s, _| {
            s.intents.remove(&k);
            Ok(())
        })
        .await
    }
}
