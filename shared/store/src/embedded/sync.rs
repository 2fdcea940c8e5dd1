//! Versioned sync configs and pull cursors.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::EmbeddedStore;
use super::state::key;
use crate::error::{StoreError, StoreResult};
use crate::ids::{ConnectionId, TenantId};
use crate::model::*;
use crate::ports::*;
use crate::util::{check_parts, check_position, millis};

#[async_trait]
impl ConfigStore for EmbeddedStore {
    async fn put(
        &self,
        tenant: &TenantId,
        connection: &ConnectionId,
        expected_version: u64,
        config: serde_json::Value,
    ) -> StoreResult<SyncConfigVersion> {
        let k = key(&[tenant.as_str(), connection.as_str()]);
        self.write(|s, now| {
            let versions = s.configs.entry(k).or_default();
            let current = versions.last().map_or(0, |v| v.version);
            if current != expected_version {
                return Err(StoreError::Conflict(format!(
                    "config of {tenant}/{connection} is at version {current}, expected {expected_version}"
                )));
            }
            let v = SyncConfigVersion {
                tenant: tenant.clone(),
                connection: connection.clone(),
                version: current + 1,
                config,
                updated_at: millis(now),
            };
            versions.push(v.clone());
            Ok(v)
        })
        .await
    }

    async fn get_latest(
        &self,
        tenant: &TenantId,
        connection: &ConnectionId,
    ) -> StoreResult<Option<SyncConfigVersion>> {
        let k = key(&[tenant.as_str(), connection.as_str()]);
        Ok(self
            .read(|s, _| s.configs.get(&k).and_then(|v| v.last().cloned()))
            .await)
    }

    async fn get_version(
        &self,
        tenant: &TenantId,
        connection: &ConnectionId,
        version: u64,
    ) -> StoreResult<Option<SyncConfigVersion>> {
        let k = key(&[tenant.as_str(), connection.as_str()]);
        Ok(self
            .read(|s, _| {
                s.configs
                    .get(&k)
                    .and_then(|vs| vs.iter().find(|v| v.version == version).cloned())
            })
            .await)
    }
}

#[async_trait]
impl CursorStore for EmbeddedStore {
    async fn set_reconcile(
        &self,
        tenant: &TenantId,
        connection: &ConnectionId,
        object: &str,
        checkpoint: Option<&ReconcileCheckpoint>,
    ) -> StoreResult<()> {
        check_parts(&[("object", object)])?;
        let k = key(&[tenant.as_str(), connection.as_str(), object]);
        self.write(|s, _| {
            s.cursors.entry(k).or_default().reconcile = checkpoint.cloned();
            Ok(())
        })
        .await
    }
    async fn set_recalc(
        &self,
        tenant: &TenantId,
        connection: &ConnectionId,
        object: &str,
        checkpoint: &RecalcCheckpoint,
    ) -> StoreResult<()> {
        check_parts(&[("object", object)])?;
        let k = key(&[tenant.as_str(), connection.as_str(), object]);
        self.write(|s, _| {
            s.cursors.entry(k).or_default().recalc = Some(checkpoint.clone());
            Ok(())
        })
        .await
    }
    async fn get(
        &self,
        tenant: &TenantId,
        connection: &ConnectionId,
        object: &str,
    ) -> StoreResult<ObjectCursor> {
        check_parts(&[("object", object)])?;
        let k = key(&[tenant.as_str(), connection.as_str(), object]);
        Ok(self
            .read(|s, _| s.cursors.get(&k).cloned().unwrap_or_default())
            .await)
    }

    async fn advance(
        &self,
        tenant: &TenantId,
        connection: &ConnectionId,
        object: &str,
        expected: Option<&CursorPosition>,
        next: &CursorPosition,
    ) -> StoreResult<()> {
        check_parts(&[("object", object)])?;
        check_position(next)?;
        let next = CursorPosition {
            system_modstamp: millis(next.system_modstamp),
            last_id: next.last_id.clone(),
        };
        let k = key(&[tenant.as_str(), connection.as_str(), object]);
        self.write(|s, _| {
            let cursor = s.cursors.entry(k).or_default();
            if cursor.position.as_ref() != expected {
                return Err(StoreError::Conflict(format!(
                    "cursor {tenant}/{connection}/{object} moved since it was read"
                )));
            }
            if cursor.position.as_ref().is_some_and(|cur| &next < cur) {
                return Err(StoreError::Conflict(format!(
                    "cursor {tenant}/{connection}/{object} cannot move backwards"
                )));
            }
            cursor.position = Some(next);
            Ok(())
        })
        .await
    }

    async fn set_last_sweep(
        &self,
        tenant: &TenantId,
        connection: &ConnectionId,
        object: &str,
        at: DateTime<Utc>,
    ) -> StoreResult<()> {
        check_parts(&[("object", object)])?;
        let at = millis(at);
        let k = key(&[tenant.as_str(), connection.as_str(), object]);
        self.write(|s, _| {
            let cursor = s.cursors.entry(k).or_default();
            if cursor.last_sweep_at.is_some_and(|prev| at < prev) {
                return Err(StoreError::Conflict(format!(
                    "sweep time of {tenant}/{connection}/{object} cannot move backwards"
                )));
            }
            cursor.last_sweep_at = Some(at);
            Ok(())
        })
        .await
    }
}
