//! Versioned sync configs and pull cursors.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::keys::*;
use super::{DynamoStore, Item, SERVICE, data_of, item, n, s, str_of, with_data};
use crate::aws::errors::classify;
use crate::error::{StoreError, StoreResult};
use crate::ids::{ConnectionId, TenantId};
use crate::model::*;
use crate::ports::*;
use crate::util::{check_parts, check_position, millis};

#[async_trait]
impl ConfigStore for DynamoStore {
    async fn put(
        &self,
        tenant: &TenantId,
        connection: &ConnectionId,
        expected_version: u64,
        config: serde_json::Value,
    ) -> StoreResult<SyncConfigVersion> {
        let current = self
            .get_latest(tenant, connection)
            .await?
            .map_or(0, |v| v.version);
        let conflict = |current: u64| {
            StoreError::Conflict(format!(
                "config of {tenant}/{connection} is at version {current}, expected {expected_version}"
            ))
        };
        if current != expected_version {
            return Err(conflict(current));
        }
        let v = SyncConfigVersion {
            tenant: tenant.clone(),
            connection: connection.clone(),
            version: expected_version + 1,
            config,
            updated_at: self.now(),
        };
        let it = with_data(
            item(&tenant_pk(tenant), &config_sk(connection, v.version)),
            &v,
        )?;
        // The next version's key is the lock: of two writers, one creates it.
        let res = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(it))
            .condition_expression("attribute_not_exists(pk)")
            .send()
            .await;
        match res.map_err(|e| classify(SERVICE, "PutItem", e)) {
            Ok(_) => Ok(v),
            Err(StoreError::Conflict(_)) => Err(conflict(v.version)),
            Err(e) => Err(e),
        }
    }

    async fn get_latest(
        &self,
        tenant: &TenantId,
        connection: &ConnectionId,
    ) -> StoreResult<Option<SyncConfigVersion>> {
        let q = self
            .query()
            .key_condition_expression("pk = :pk AND begins_with(sk, :p)")
            .expression_attribute_values(":pk", s(tenant_pk(tenant)))
            .expression_attribute_values(":p", s(config_prefix(connection)))
            .scan_index_forward(false)
            .consistent_read(true);
        let (items, _) = self.query_items(q, 1, None).await?;
        items.first().map(data_of).transpose()
    }

    async fn get_version(
        &self,
        tenant: &TenantId,
        connection: &ConnectionId,
        version: u64,
    ) -> StoreResult<Option<SyncConfigVersion>> {
        self.get_data(&tenant_pk(tenant), &config_sk(connection, version))
            .await
    }
}

fn parse_time(item: &Item, name: &str) -> StoreResult<Option<DateTime<Utc>>> {
    str_of(item, name)
        .map(|v| {
            DateTime::parse_from_rfc3339(v)
                .map(|t| t.with_timezone(&Utc))
                .map_err(|e| StoreError::corrupt(super::key_of(item), format!("{name}: {e}")))
        })
        .transpose()
}

#[async_trait]
impl CursorStore for DynamoStore {
    async fn get(
        &self,
        tenant: &TenantId,
        connection: &ConnectionId,
        object: &str,
    ) -> StoreResult<ObjectCursor> {
        check_parts(&[("object", object)])?;
        let Some(it) =
            DynamoStore::get(self, &tenant_pk(tenant), &cursor_sk(connection, object)).await?
        else {
            return Ok(ObjectCursor::default());
        };
        let position = match (parse_time(&it, "modstamp")?, str_of(&it, "last_id")) {
            (Some(system_modstamp), Some(id)) => Some(CursorPosition {
                system_modstamp,
                last_id: id.to_string(),
            }),
            _ => None,
        };
        Ok(ObjectCursor {
            position,
            last_sweep_at: parse_time(&it, "last_sweep_at")?,
            reconcile: str_of(&it, "reconcile")
                .map(serde_json::from_str)
                .transpose()
                .map_err(|e| StoreError::Corrupt {
                    key: cursor_sk(connection, object),
                    message: format!("reconcile checkpoint: {e}"),
                })?,
            recalc: str_of(&it, "recalc")
                .map(serde_json::from_str)
                .transpose()
                .map_err(|e| StoreError::Corrupt {
                    key: cursor_sk(connection, object),
                    message: format!("recalc checkpoint: {e}"),
                })?,
        })
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
        let backwards = || {
            StoreError::Conflict(format!(
                "cursor {tenant}/{connection}/{object} cannot move backwards"
            ))
        };
        if expected.is_some_and(|e| next < e) {
            return Err(backwards());
        }
        let next_ms = millis(next.system_modstamp);
        let mut req = self
            .client
            .update_item()
            .table_name(&self.table)
            .key(PK, s(tenant_pk(tenant)))
            .key(SK, s(cursor_sk(connection, object)))
            .update_expression("SET pos = :np, modstamp = :m, last_id = :id")
            .expression_attribute_values(":np", s(cursor_pos(next_ms, &next.last_id)))
            .expression_attribute_values(":m", s(next_ms.to_rfc3339()))
            .expression_attribute_values(":id", s(&next.last_id));
        req = match expected {
            None => req.condition_expression("attribute_not_exists(pos)"),
            Some(e) => req
                .condition_expression("pos = :ep")
                .expression_attribute_values(
                    ":ep",
                    s(cursor_pos(millis(e.system_modstamp), &e.last_id)),
                ),
        };
        match req
            .send()
            .await
            .map_err(|e| classify(SERVICE, "UpdateItem", e))
        {
            Ok(_) => Ok(()),
            Err(StoreError::Conflict(_)) => Err(StoreError::Conflict(format!(
                "cursor {tenant}/{connection}/{object} moved since it was read"
            ))),
            Err(e) => Err(e),
        }
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
        let res = self
            .client
            .update_item()
            .table_name(&self.table)
            .key(PK, s(tenant_pk(tenant)))
            .key(SK, s(cursor_sk(connection, object)))
            .update_expression("SET last_sweep_at = :at, last_sweep_ms = :ms")
            .condition_expression("attribute_not_exists(last_sweep_ms) OR last_sweep_ms <= :ms")
            .expression_attribute_values(":at", s(at.to_rfc3339()))
            .expression_attribute_values(":ms", n(at.timestamp_millis()))
            .send()
            .await;
        match res.map_err(|e| classify(SERVICE, "UpdateItem", e)) {
            Ok(_) => Ok(()),
            Err(StoreError::Conflict(_)) => Err(StoreError::Conflict(format!(
                "sweep time of {tenant}/{connection}/{object} cannot move backwards"
            ))),
            Err(e) => Err(e),
        }
    }

    async fn set_reconcile(
        &self,
        tenant: &TenantId,
        connection: &ConnectionId,
        object: &str,
        checkpoint: Option<&ReconcileCheckpoint>,
    ) -> StoreResult<()> {
        check_parts(&[("object", object)])?;
        let req = self
            .client
            .update_item()
            .table_name(&self.table)
            .key(PK, s(tenant_pk(tenant)))
            .key(SK, s(cursor_sk(connection, object)));
        let req = match checkpoint {
            Some(c) => req
                .update_expression("SET reconcile = :r")
                .expression_attribute_values(
                    ":r",
                    s(serde_json::to_string(c)
                        .map_err(|e| StoreError::invalid("checkpoint", e.to_string()))?),
                ),
            None => req.update_expression("REMOVE reconcile"),
        };
        req.send()
            .await
            .map_err(|e| classify(SERVICE, "UpdateItem", e))?;
        Ok(())
    }

    async fn set_recalc(
        &self,
        tenant: &TenantId,
        connection: &ConnectionId,
        object: &str,
        checkpoint: &RecalcCheckpoint,
    ) -> StoreResult<()> {
        check_parts(&[("object", object)])?;
        let value = serde_json::to_string(checkpoint)
            .map_err(|e| StoreError::invalid("checkpoint", e.to_string()))?;
        self.client
            .update_item()
            .table_name(&self.table)
            .key(PK, s(tenant_pk(tenant)))
            .key(SK, s(cursor_sk(connection, object)))
            .update_expression("SET recalc = :r")
            .expression_attribute_values(":r", s(value))
            .send()
            .await
            .map_err(|e| classify(SERVICE, "UpdateItem", e))?;
        Ok(())
    }
}
