//! Connections and tenants.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::EmbeddedStore;
use super::paging::page_of;
use super::state::key;
use crate::error::{StoreError, StoreResult};
use crate::ids::{ConnectionId, TenantId};
use crate::model::*;
use crate::ports::*;
use crate::util::{check_parts, millis};

#[async_trait]
impl ConnectionStore for EmbeddedStore {
    async fn get(&self, tenant: &TenantId, id: &ConnectionId) -> StoreResult<Option<Connection>> {
        let k = key(&[tenant.as_str(), id.as_str()]);
        Ok(self.read(|s, _| s.connections.get(&k).cloned()).await)
    }

    async fn put(&self, connection: &Connection) -> StoreResult<()> {
        let k = key(&[connection.tenant.as_str(), connection.id.as_str()]);
        // Stored times have millisecond precision, as in DynamoDB.
        let mut c = connection.clone();
        c.created_at = millis(c.created_at);
        c.updated_at = millis(c.updated_at);
        c.last_sync_at = c.last_sync_at.map(millis);
        c.last_success_at = c.last_success_at.map(millis);
        c.last_poll_at = c.last_poll_at.map(millis);
        c.last_failure_at = c.last_failure_at.map(millis);
        self.write(|s, _| {
            s.connections.insert(k, c);
            Ok(())
        })
        .await
    }

    async fn list_for_tenant(&self, tenant: &TenantId) -> StoreResult<Vec<Connection>> {
        Ok(self
            .read(|s, _| {
                s.connections
                    .values()
                    .filter(|c| &c.tenant == tenant)
                    .cloned()
                    .collect()
            })
            .await)
    }

    async fn list_all(&self, page: &PageRequest) -> StoreResult<Page<Connection>> {
        self.read(|s, _| {
            page_of(
                s.connections.iter().map(|(k, v)| (k.clone(), v.clone())),
                page,
            )
        })
        .await
    }

    async fn update_status(
        &self,
        tenant: &TenantId,
        id: &ConnectionId,
        expected: Option<ConnectionStatus>,
        status: ConnectionStatus,
        failure: Option<ConnectionFailure>,
    ) -> StoreResult<Connection> {
        let k = key(&[tenant.as_str(), id.as_str()]);
        self.write(|s, now| {
            let c = connection_mut(&mut s.connections, &k, tenant, id)?;
            if let Some(exp) = expected
                && c.status != exp
            {
                return Err(StoreError::Conflict(format!(
                    "connection {tenant}/{id} is {}, expected {}",
                    c.status.as_str(),
                    exp.as_str()
                )));
            }
            c.status = status;
            match failure {
                Some(f) => {
                    c.last_error = Some(f.message);
                    c.last_failure_at = Some(millis(f.at));
                    c.last_error_code = f.code;
                }
                None => c.last_error = None,
            }
            c.updated_at = millis(now);
            Ok(c.clone())
        })
        .await
    }

    async fn record_sync(
        &self,
        tenant: &TenantId,
        id: &ConnectionId,
        at: DateTime<Utc>,
        run: SyncRun,
    ) -> StoreResult<()> {
        let k = key(&[tenant.as_str(), id.as_str()]);
        self.write(|s, now| {
            let c = connection_mut(&mut s.connections, &k, tenant, id)?;
            c.last_sync_at = Some(millis(at));
            c.last_success_at = Some(millis(at));
            if run == SyncRun::Poll {
                c.last_poll_at = Some(millis(at));
            }
            c.updated_at = millis(now);
            Ok(())
        })
        .await
    }

    async fn set_sync_enabled(
        &self,
        tenant: &TenantId,
        id: &ConnectionId,
        enabled: bool,
    ) -> StoreResult<Connection> {
        let k = key(&[tenant.as_str(), id.as_str()]);
        self.write(|s, now| {
            let c = connection_mut(&mut s.connections, &k, tenant, id)?;
            c.sync_enabled = enabled;
            c.updated_at = millis(now);
            Ok(c.clone())
        })
        .await
    }

    async fn set_poll_minutes(
        &self,
        tenant: &TenantId,
        id: &ConnectionId,
        minutes: u32,
    ) -> StoreResult<()> {
        let k = key(&[tenant.as_str(), id.as_str()]);
        self.write(|s, _| {
            let c = connection_mut(&mut s.connections, &k, tenant, id)?;
            c.poll_minutes = Some(minutes);
            Ok(())
        })
        .await
    }
}

#[async_trait]
impl TenantStore for EmbeddedStore {
    async fn get(&self, id: &TenantId) -> StoreResult<Option<Tenant>> {
        Ok(self.read(|s, _| s.tenants.get(id.as_str()).cloned()).await)
    }

    async fn find_by_api_key_hash(&self, api_key_hash: &str) -> StoreResult<Option<Tenant>> {
        Ok(self
            .read(|s, _| {
                s.tenants
                    .values()
                    .find(|t| t.api_key_hash == api_key_hash)
                    .cloned()
            })
            .await)
    }

    async fn put(&self, tenant: &Tenant) -> StoreResult<()> {
        check_parts(&[("api_key_hash", &tenant.api_key_hash)])?;
        let mut t = tenant.clone();
        t.created_at = millis(t.created_at);
        self.write(|s, _| {
            s.tenants.insert(t.id.to_string(), t);
            Ok(())
        })
        .await
    }

    async fn create(&self, tenant: &Tenant) -> StoreResult<()> {
        check_parts(&[("api_key_hash", &tenant.api_key_hash)])?;
        let mut t = tenant.clone();
        t.created_at = millis(t.created_at);
        self.write(|s, _| {
            if s.tenants.contains_key(t.id.as_str()) {
                return Err(StoreError::Conflict(format!("tenant {} exists", t.id)));
            }
            s.tenants.insert(t.id.to_string(), t);
            Ok(())
        })
        .await
    }

    async fn rotate_api_key(&self, id: &TenantId, new_hash: &str) -> StoreResult<Tenant> {
        check_parts(&[("api_key_hash", new_hash)])?;
        self.write(|s, _| {
            let t = s
                .tenants
                .get_mut(id.as_str())
                .ok_or_else(|| StoreError::NotFound(format!("tenant {id}")))?;
            t.api_key_hash = new_hash.to_string();
            Ok(t.clone())
        })
        .await
    }
}

/// The stored connection to change, or `NotFound`.
fn connection_mut<'a>(
    connections: &'a mut std::collections::BTreeMap<String, Connection>,
    key: &str,
    tenant: &TenantId,
    id: &ConnectionId,
) -> StoreResult<&'a mut Connection> {
    connections
        .get_mut(key)
        .ok_or_else(|| StoreError::NotFound(format!("connection {tenant}/{id}")))
}
