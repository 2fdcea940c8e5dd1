//! Connections and tenants.

use async_trait::async_trait;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue};
use chrono::{DateTime, Utc};

use super::keys::*;
use super::{
    DynamoStore, Item, SERVICE, data_of, decode_page, encode_page, item, s, to_av, with_data,
};
use crate::aws::errors::classify;
use crate::error::{StoreError, StoreResult};
use crate::ids::{ConnectionId, TenantId};
use crate::model::*;
use crate::ports::*;
use crate::util::{check_parts, millis};

fn connection_item(c: &Connection) -> StoreResult<Item> {
    let mut it = item(&tenant_pk(&c.tenant), &connection_sk(&c.id));
    it.insert(GSI1PK.into(), s(CONNECTIONS_GSI));
    it.insert(GSI1SK.into(), s(connection_gsi_sk(&c.tenant, &c.id)));
    it.insert("status".into(), s(c.status.as_str()));
    with_data(it, c)
}

#[async_trait]
impl ConnectionStore for DynamoStore {
    async fn get(&self, tenant: &TenantId, id: &ConnectionId) -> StoreResult<Option<Connection>> {
        self.get_data(&tenant_pk(tenant), &connection_sk(id)).await
    }

    async fn put(&self, connection: &Connection) -> StoreResult<()> {
        let mut c = connection.clone();
        c.created_at = millis(c.created_at);
        c.updated_at = millis(c.updated_at);
        c.last_sync_at = c.last_sync_at.map(millis);
        c.last_success_at = c.last_success_at.map(millis);
        c.last_poll_at = c.last_poll_at.map(millis);
        c.last_failure_at = c.last_failure_at.map(millis);
        if let Some(p) = c.provisioning.as_mut() {
            p.at = millis(p.at);
        }
        self.put_item(connection_item(&c)?, "PutItem").await
    }

    async fn list_for_tenant(&self, tenant: &TenantId) -> StoreResult<Vec<Connection>> {
        let q = self
            .query()
            .key_condition_expression("pk = :pk AND begins_with(sk, :p)")
            .expression_attribute_values(":pk", s(tenant_pk(tenant)))
            .expression_attribute_values(":p", s("CONN#"))
            .consistent_read(true);
        self.query_all(q).await?.iter().map(data_of).collect()
    }

    async fn list_all(&self, page: &PageRequest) -> StoreResult<Page<Connection>> {
        let q = self
            .query()
            .index_name(GSI1)
            .key_condition_expression("gsi1pk = :g")
            .expression_attribute_values(":g", s(CONNECTIONS_GSI));
        let start = decode_page(page.token.as_ref())?;
        let (items, next) = self.query_items(q, page.effective_limit(), start).await?;
        Ok(Page {
            items: items.iter().map(data_of).collect::<StoreResult<_>>()?,
            next: encode_page(next.as_ref()),
        })
    }

    async fn update_status(
        &self,
        tenant: &TenantId,
        id: &ConnectionId,
        expected: Option<ConnectionStatus>,
        status: ConnectionStatus,
        failure: Option<ConnectionFailure>,
    ) -> StoreResult<Connection> {
        let mut condition = "attribute_exists(pk)".to_string();
        let mut update =
            "SET #st = :s, #d.#st = :s, #d.last_error = :e, #d.updated_at = :u".to_string();
        let mut req = self
            .client
            .update_item()
            .table_name(&self.table)
            .key(PK, s(tenant_pk(tenant)))
            .key(SK, s(connection_sk(id)))
            .expression_attribute_names("#st", "status")
            .expression_attribute_names("#d", "data")
            .expression_attribute_values(":s", s(status.as_str()))
            .expression_attribute_values(":u", to_av(&self.now(), "updated_at")?)
            .return_values(ReturnValue::AllNew);
        match failure {
            Some(f) => {
                update.push_str(", #d.last_failure_at = :fa, #d.last_error_code = :fc");
                req = req
                    .expression_attribute_values(":e", s(f.message))
                    .expression_attribute_values(":fa", to_av(&millis(f.at), "last_failure_at")?)
                    .expression_attribute_values(
                        ":fc",
                        f.code.map_or(AttributeValue::Null(true), s),
                    );
            }
            None => req = req.expression_attribute_values(":e", AttributeValue::Null(true)),
        }
        req = req.update_expression(update);
        if let Some(exp) = expected {
            condition.push_str(" AND #st = :exp");
            req = req.expression_attribute_values(":exp", s(exp.as_str()));
        }
        match req.condition_expression(condition).send().await {
            Ok(out) => data_of(&out.attributes.unwrap_or_default()),
            Err(e) => match classify(SERVICE, "UpdateItem", e) {
                StoreError::Conflict(_) => match ConnectionStore::get(self, tenant, id).await? {
                    None => Err(StoreError::NotFound(format!("connection {tenant}/{id}"))),
                    Some(c) => Err(StoreError::Conflict(format!(
                        "connection {tenant}/{id} is {}, expected {}",
                        c.status.as_str(),
                        expected.map_or("-", ConnectionStatus::as_str)
                    ))),
                },
                other => Err(other),
            },
        }
    }

    async fn record_sync(
        &self,
        tenant: &TenantId,
        id: &ConnectionId,
        at: DateTime<Utc>,
        run: SyncRun,
    ) -> StoreResult<()> {
        let res = self
            .client
            .update_item()
            .table_name(&self.table)
            .key(PK, s(tenant_pk(tenant)))
            .key(SK, s(connection_sk(id)))
            .update_expression(match run {
                SyncRun::Poll => {
                    "SET #d.last_sync_at = :at, #d.last_success_at = :at, #d.last_poll_at = :at, #d.updated_at = :u"
                }
                SyncRun::Push => {
                    "SET #d.last_sync_at = :at, #d.last_success_at = :at, #d.updated_at = :u"
                }
            })
            .condition_expression("attribute_exists(pk)")
            .expression_attribute_names("#d", "data")
            .expression_attribute_values(":at", to_av(&millis(at), "at")?)
            .expression_attribute_values(":u", to_av(&self.now(), "updated_at")?)
            .send()
            .await;
        connection_updated(
            res.map_err(|e| classify(SERVICE, "UpdateItem", e)),
            tenant,
            id,
        )
    }

    async fn set_sync_enabled(
        &self,
        tenant: &TenantId,
        id: &ConnectionId,
        enabled: bool,
    ) -> StoreResult<Connection> {
        let res = self
            .client
            .update_item()
            .table_name(&self.table)
            .key(PK, s(tenant_pk(tenant)))
            .key(SK, s(connection_sk(id)))
            .update_expression("SET #d.sync_enabled = :e, #d.updated_at = :u")
            .condition_expression("attribute_exists(pk)")
            .expression_attribute_names("#d", "data")
            .expression_attribute_values(":e", AttributeValue::Bool(enabled))
            .expression_attribute_values(":u", to_av(&self.now(), "updated_at")?)
            .return_values(ReturnValue::AllNew)
            .send()
            .await;
        match res {
            Ok(out) => data_of(&out.attributes.unwrap_or_default()),
            Err(e) => Err(match classify(SERVICE, "UpdateItem", e) {
                StoreError::Conflict(_) => {
                    StoreError::NotFound(format!("connection {tenant}/{id}"))
                }
                other => other,
            }),
        }
    }

    async fn set_poll_minutes(
        &self,
        tenant: &TenantId,
        id: &ConnectionId,
        minutes: u32,
    ) -> StoreResult<()> {
        let res = self
            .client
            .update_item()
            .table_name(&self.table)
            .key(PK, s(tenant_pk(tenant)))
            .key(SK, s(connection_sk(id)))
            .update_expression("SET #d.poll_minutes = :m")
            .condition_expression("attribute_exists(pk)")
            .expression_attribute_names("#d", "data")
            .expression_attribute_values(":m", AttributeValue::N(minutes.to_string()))
            .send()
            .await;
        connection_updated(
            res.map_err(|e| classify(SERVICE, "UpdateItem", e)),
            tenant,
            id,
        )
    }
}

/// An update conditioned on `attribute_exists(pk)`: its condition failing means the
/// connection does not exist.
fn connection_updated<T>(
    res: StoreResult<T>,
    tenant: &TenantId,
    id: &ConnectionId,
) -> StoreResult<()> {
    match res {
        Ok(_) => Ok(()),
        Err(StoreError::Conflict(_)) => {
            Err(StoreError::NotFound(format!("connection {tenant}/{id}")))
        }
        Err(e) => Err(e),
    }
}

#[async_trait]
impl TenantStore for DynamoStore {
    async fn get(&self, id: &TenantId) -> StoreResult<Option<Tenant>> {
        self.get_data(&tenant_pk(id), TENANT_SK).await
    }

    async fn find_by_api_key_hash(&self, api_key_hash: &str) -> StoreResult<Option<Tenant>> {
        if check_parts(&[("api_key_hash", api_key_hash)]).is_err() {
            return Ok(None);
        }
        let q = self
            .query()
            .index_name(GSI1)
            .key_condition_expression("gsi1pk = :g")
            .expression_attribute_values(":g", s(api_key_gsi(api_key_hash)));
        let (items, _) = self.query_items(q, 1, None).await?;
        items.first().map(data_of).transpose()
    }

    async fn put(&self, tenant: &Tenant) -> StoreResult<()> {
        self.put_item(tenant_item(tenant)?, "PutItem").await
    }

    async fn create(&self, tenant: &Tenant) -> StoreResult<()> {
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(tenant_item(tenant)?))
            .condition_expression("attribute_not_exists(pk)")
            .send()
            .await
            .map_err(|e| match classify(SERVICE, "PutItem", e) {
                StoreError::Conflict(_) => {
                    StoreError::Conflict(format!("tenant {} exists", tenant.id))
                }
                other => other,
            })?;
        Ok(())
    }

    async fn rotate_api_key(&self, id: &TenantId, new_hash: &str) -> StoreResult<Tenant> {
        check_parts(&[("api_key_hash", new_hash)])?;
        let res = self
            .client
            .update_item()
            .table_name(&self.table)
            .key(PK, s(tenant_pk(id)))
            .key(SK, s(TENANT_SK))
            .update_expression("SET gsi1pk = :g, #d.api_key_hash = :h")
            .condition_expression("attribute_exists(pk)")
            .expression_attribute_names("#d", "data")
            .expression_attribute_values(":g", s(api_key_gsi(new_hash)))
            .expression_attribute_values(":h", s(new_hash))
            .return_values(ReturnValue::AllNew)
            .send()
            .await;
        match res.map_err(|e| classify(SERVICE, "UpdateItem", e)) {
            Ok(out) => data_of(&out.attributes.unwrap_or_default()),
            Err(StoreError::Conflict(_)) => Err(StoreError::NotFound(format!("tenant {id}"))),
            Err(e) => Err(e),
        }
    }
}

/// The tenant item, indexed by its API key hash (gsi1) for authentication.
fn tenant_item(tenant: &Tenant) -> StoreResult<Item> {
    check_parts(&[("api_key_hash", &tenant.api_key_hash)])?;
    let mut t = tenant.clone();
    t.created_at = millis(t.created_at);
    let mut it = item(&tenant_pk(&t.id), TENANT_SK);
    it.insert(GSI1PK.into(), s(api_key_gsi(&t.api_key_hash)));
    it.insert(GSI1SK.into(), s(tenant_pk(&t.id)));
    with_data(it, &t)
}
