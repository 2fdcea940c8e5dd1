//! Long-lived items: tenants, connections, configs, cursors, links, reports, the
//! change feed and quota counters.

use std::collections::BTreeMap;

use async_trait::async_trait;
use aws_sdk_dynamodb::operation::query::builders::QueryFluentBuilder;
use aws_sdk_dynamodb::types::{AttributeValue, PutRequest, ReturnValue, WriteRequest};
use chrono::{DateTime, NaiveDate, Utc};

use super::keys::*;
use super::{
    DynamoStore, Item, SERVICE, data_of, decode_page, encode_page, item, n, num_of, s, str_of,
    to_av, with_data,
};
use crate::aws::errors::classify;
use crate::error::{StoreError, StoreResult};
use crate::ids::{ConnectionId, TenantId};
use crate::model::*;
use crate::ports::*;
use crate::util::{check_parts, check_position, millis};

impl DynamoStore {
    /// Runs `query` until `limit` items are collected or the results end; returns
    /// the items and the key to continue from.
    async fn query_items(
        &self,
        query: QueryFluentBuilder,
        limit: usize,
        start: Option<Item>,
    ) -> StoreResult<(Vec<Item>, Option<Item>)> {
        let mut out = Vec::new();
        let mut start = start;
        loop {
            let remaining = i32::try_from(limit - out.len()).unwrap_or(i32::MAX);
            let resp = query
                .clone()
                .table_name(&self.table)
                .set_exclusive_start_key(start.take())
                .limit(remaining)
                .send()
                .await
                .map_err(|e| classify(SERVICE, "Query", e))?;
            out.extend(resp.items.unwrap_or_default());
            start = resp.last_evaluated_key;
            if out.len() >= limit || start.is_none() {
                return Ok((out, start));
            }
        }
    }

    /// Every item of a query, following pages to the end.
    async fn query_all(&self, query: QueryFluentBuilder) -> StoreResult<Vec<Item>> {
        let mut all = Vec::new();
        let mut start = None;
        loop {
            let (items, next) = self.query_items(query.clone(), 1000, start).await?;
            all.extend(items);
            match next {
                Some(k) => start = Some(k),
                None => return Ok(all),
            }
        }
    }

    async fn put_item(&self, item: Item, op: &'static str) -> StoreResult<()> {
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .send()
            .await
            .map_err(|e| classify(SERVICE, op, e))?;
        Ok(())
    }

    /// Writes items in BatchWriteItem chunks of 25, retrying unprocessed ones.
    async fn batch_put(&self, items: Vec<Item>) -> StoreResult<()> {
        for chunk in items.chunks(25) {
            let mut pending: Vec<WriteRequest> = chunk
                .iter()
                .map(|i| {
                    PutRequest::builder()
                        .set_item(Some(i.clone()))
                        .build()
                        .map(|p| WriteRequest::builder().put_request(p).build())
                        .map_err(|e| StoreError::invalid("item", e.to_string()))
                })
                .collect::<StoreResult<_>>()?;
            for attempt in 0..8u32 {
                let resp = self
                    .client
                    .batch_write_item()
                    .request_items(&self.table, pending)
                    .send()
                    .await
                    .map_err(|e| classify(SERVICE, "BatchWriteItem", e))?;
                pending = resp
                    .unprocessed_items
                    .and_then(|mut m| m.remove(&self.table))
                    .unwrap_or_default();
                if pending.is_empty() {
                    break;
                }
                tokio::time::sleep(std::time::Duration::from_millis(25 << attempt)).await;
            }
            if !pending.is_empty() {
                return Err(StoreError::Unavailable {
                    service: SERVICE,
                    operation: "BatchWriteItem",
                    message: format!("{} items left unprocessed", pending.len()),
                });
            }
        }
        Ok(())
    }

    fn query(&self) -> QueryFluentBuilder {
        self.client.query()
    }
}

// ---------------------------------------------------------------- connections

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
        last_error: Option<String>,
    ) -> StoreResult<Connection> {
        let mut condition = "attribute_exists(pk)".to_string();
        let mut req = self
            .client
            .update_item()
            .table_name(&self.table)
            .key(PK, s(tenant_pk(tenant)))
            .key(SK, s(connection_sk(id)))
            .update_expression("SET #st = :s, #d.#st = :s, #d.last_error = :e, #d.updated_at = :u")
            .expression_attribute_names("#st", "status")
            .expression_attribute_names("#d", "data")
            .expression_attribute_values(":s", s(status.as_str()))
            .expression_attribute_values(":e", last_error.map_or(AttributeValue::Null(true), s))
            .expression_attribute_values(":u", to_av(&self.now(), "updated_at")?)
            .return_values(ReturnValue::AllNew);
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
    ) -> StoreResult<()> {
        let res = self
            .client
            .update_item()
            .table_name(&self.table)
            .key(PK, s(tenant_pk(tenant)))
            .key(SK, s(connection_sk(id)))
            .update_expression("SET #d.last_sync_at = :at, #d.updated_at = :u")
            .condition_expression("attribute_exists(pk)")
            .expression_attribute_names("#d", "data")
            .expression_attribute_values(":at", to_av(&millis(at), "at")?)
            .expression_attribute_values(":u", to_av(&self.now(), "updated_at")?)
            .send()
            .await;
        match res.map_err(|e| classify(SERVICE, "UpdateItem", e)) {
            Ok(_) => Ok(()),
            Err(StoreError::Conflict(_)) => {
                Err(StoreError::NotFound(format!("connection {tenant}/{id}")))
            }
            Err(e) => Err(e),
        }
    }
}

// ---------------------------------------------------------------- tenants

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
        check_parts(&[("api_key_hash", &tenant.api_key_hash)])?;
        let mut t = tenant.clone();
        t.created_at = millis(t.created_at);
        let mut it = item(&tenant_pk(&t.id), TENANT_SK);
        it.insert(GSI1PK.into(), s(api_key_gsi(&t.api_key_hash)));
        it.insert(GSI1SK.into(), s(tenant_pk(&t.id)));
        self.put_item(with_data(it, &t)?, "PutItem").await
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

// ---------------------------------------------------------------- configs

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

// ---------------------------------------------------------------- cursors

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
}

// ---------------------------------------------------------------- links

fn check_link_key(app_object: &str, app_id: &str) -> StoreResult<()> {
    check_parts(&[("app_object", app_object), ("app_id", app_id)])
}

#[async_trait]
impl LinkStore for DynamoStore {
    async fn create_if_absent(&self, link: &Link) -> StoreResult<LinkCreate> {
        check_link_key(&link.app_object, &link.app_id)?;
        check_parts(&[("sf_object", &link.sf_object), ("sf_id", &link.sf_id)])?;
        let mut link = link.clone();
        link.created_at = millis(link.created_at);
        link.updated_at = millis(link.updated_at);
        let pk = tenant_pk(&link.tenant);
        let sk = link_sk(&link.connection, &link.app_object, &link.app_id);
        let mut it = item(&pk, &sk);
        it.insert(
            GSI1PK.into(),
            s(link_gsi(&link.tenant, &link.connection, &link.sf_id)),
        );
        it.insert(GSI1SK.into(), s(LINK_GSI_SK));
        let it = with_data(it, &link)?;
        // A loser whose winner was deleted right away tries again (bounded).
        for _ in 0..3 {
            let res = self
                .client
                .put_item()
                .table_name(&self.table)
                .set_item(Some(it.clone()))
                .condition_expression("attribute_not_exists(pk)")
                .send()
                .await;
            match res.map_err(|e| classify(SERVICE, "PutItem", e)) {
                Ok(_) => return Ok(LinkCreate::Created(link)),
                Err(StoreError::Conflict(_)) => {
                    if let Some(winner) = self.get_data::<Link>(&pk, &sk).await? {
                        return Ok(LinkCreate::Existing(winner));
                    }
                }
                Err(e) => return Err(e),
            }
        }
        Err(StoreError::Conflict(format!(
            "link {}/{} keeps changing",
            link.app_object, link.app_id
        )))
    }

    async fn get_by_app(
        &self,
        tenant: &TenantId,
        connection: &ConnectionId,
        app_object: &str,
        app_id: &str,
    ) -> StoreResult<Option<Link>> {
        check_link_key(app_object, app_id)?;
        self.get_data(&tenant_pk(tenant), &link_sk(connection, app_object, app_id))
            .await
    }

    async fn get_by_sf_id(
        &self,
        tenant: &TenantId,
        connection: &ConnectionId,
        sf_id: &str,
    ) -> StoreResult<Option<Link>> {
        check_parts(&[("sf_id", sf_id)])?;
        let q = self
            .query()
            .index_name(GSI1)
            .key_condition_expression("gsi1pk = :g")
            .expression_attribute_values(":g", s(link_gsi(tenant, connection, sf_id)));
        let (items, _) = self.query_items(q, 1, None).await?;
        items.first().map(data_of).transpose()
    }

    async fn update_hashes(
        &self,
        tenant: &TenantId,
        connection: &ConnectionId,
        app_object: &str,
        app_id: &str,
        hashes: BTreeMap<String, String>,
    ) -> StoreResult<Link> {
        check_link_key(app_object, app_id)?;
        let res = self
            .client
            .update_item()
            .table_name(&self.table)
            .key(PK, s(tenant_pk(tenant)))
            .key(SK, s(link_sk(connection, app_object, app_id)))
            .update_expression("SET #d.hashes = :h, #d.updated_at = :u")
            .condition_expression("attribute_exists(pk)")
            .expression_attribute_names("#d", "data")
            .expression_attribute_values(":h", to_av(&hashes, "hashes")?)
            .expression_attribute_values(":u", to_av(&self.now(), "updated_at")?)
            .return_values(ReturnValue::AllNew)
            .send()
            .await;
        match res.map_err(|e| classify(SERVICE, "UpdateItem", e)) {
            Ok(out) => data_of(&out.attributes.unwrap_or_default()),
            Err(StoreError::Conflict(_)) => Err(StoreError::NotFound(format!(
                "link {tenant}/{connection}/{app_object}/{app_id}"
            ))),
            Err(e) => Err(e),
        }
    }

    async fn delete(
        &self,
        tenant: &TenantId,
        connection: &ConnectionId,
        app_object: &str,
        app_id: &str,
    ) -> StoreResult<Option<Link>> {
        check_link_key(app_object, app_id)?;
        let out = self
            .client
            .delete_item()
            .table_name(&self.table)
            .key(PK, s(tenant_pk(tenant)))
            .key(SK, s(link_sk(connection, app_object, app_id)))
            .return_values(ReturnValue::AllOld)
            .send()
            .await
            .map_err(|e| classify(SERVICE, "DeleteItem", e))?;
        match out.attributes {
            Some(old) if !old.is_empty() => Ok(Some(data_of(&old)?)),
            _ => Ok(None),
        }
    }
}

// ---------------------------------------------------------------- reports

#[async_trait]
impl ReportStore for DynamoStore {
    async fn write(&self, entry: &ReportEntry) -> StoreResult<()> {
        check_parts(&[("event_id", &entry.event_id), ("object", &entry.object)])?;
        let mut e = entry.clone();
        e.created_at = millis(e.created_at);
        e.updated_at = millis(e.updated_at);
        e.expires_at = e.expires_at.map(millis);
        let mut it = item(
            &tenant_pk(&e.tenant),
            &report_sk(&e.connection, &e.event_id),
        );
        it.insert(
            GSI1PK.into(),
            s(report_gsi(&e.tenant, &e.connection, e.status.as_str())),
        );
        it.insert(GSI1SK.into(), s(report_gsi_sk(e.updated_at, &e.event_id)));
        it.insert("object".into(), s(&e.object));
        if let Some(x) = e.expires_at {
            it.insert(TTL.into(), n(x.timestamp()));
            it.insert("until_ms".into(), n(x.timestamp_millis()));
        }
        self.put_item(with_data(it, &e)?, "PutItem").await
    }

    async fn get(
        &self,
        tenant: &TenantId,
        connection: &ConnectionId,
        event_id: &str,
    ) -> StoreResult<Option<ReportEntry>> {
        check_parts(&[("event_id", event_id)])?;
        let entry: Option<ReportEntry> = self
            .get_data(&tenant_pk(tenant), &report_sk(connection, event_id))
            .await?;
        let now = self.now();
        Ok(entry.filter(|e| e.expires_at.is_none_or(|x| x > now)))
    }

    async fn list(&self, q: &ReportQuery) -> StoreResult<Page<ReportEntry>> {
        if let Some(o) = &q.object {
            check_parts(&[("object", o)])?;
        }
        let from = q
            .from
            .map_or_else(|| "0".repeat(15), |f| millis_key(millis(f)));
        // `ms#event` sorts after `ms`, so `< to` excludes the `to` millisecond: [from, to).
        let to =
            q.to.map_or_else(|| "9".repeat(15), |t| millis_key(millis(t)));
        let mut filter = "(attribute_not_exists(until_ms) OR until_ms > :now)".to_string();
        let mut query = self
            .query()
            .index_name(GSI1)
            .key_condition_expression("gsi1pk = :g AND gsi1sk BETWEEN :from AND :to")
            .expression_attribute_values(
                ":g",
                s(report_gsi(&q.tenant, &q.connection, q.status.as_str())),
            )
            .expression_attribute_values(":from", s(from))
            .expression_attribute_values(":to", s(to))
            .expression_attribute_values(":now", n(self.now().timestamp_millis()))
            .scan_index_forward(false);
        if let Some(o) = &q.object {
            filter.push_str(" AND #obj = :obj");
            query = query
                .expression_attribute_names("#obj", "object")
                .expression_attribute_values(":obj", s(o));
        }
        let query = query.filter_expression(filter);
        let start = decode_page(q.page.token.as_ref())?;
        let (items, next) = self
            .query_items(query, q.page.effective_limit(), start)
            .await?;
        Ok(Page {
            items: items.iter().map(data_of).collect::<StoreResult<_>>()?,
            next: encode_page(next.as_ref()),
        })
    }
}

// ---------------------------------------------------------------- change feed

#[async_trait]
impl ChangeFeed for DynamoStore {
    async fn append(
        &self,
        tenant: &TenantId,
        changes: Vec<NewChange>,
    ) -> StoreResult<Vec<ChangeEntry>> {
        if changes.is_empty() {
            return Ok(Vec::new());
        }
        for c in &changes {
            check_parts(&[("object", &c.object), ("sf_id", &c.sf_id)])?;
        }
        // Reserve a block of sequence numbers atomically.
        let count = changes.len() as u64;
        let out = self
            .client
            .update_item()
            .table_name(&self.table)
            .key(PK, s(tenant_pk(tenant)))
            .key(SK, s(CHANGE_SEQ_SK))
            .update_expression("ADD seq :n")
            .expression_attribute_values(":n", n(count))
            .return_values(ReturnValue::UpdatedNew)
            .send()
            .await
            .map_err(|e| classify(SERVICE, "UpdateItem", e))?;
        let last = num_of(&out.attributes.unwrap_or_default(), "seq")?
            .ok_or_else(|| StoreError::corrupt(tenant_pk(tenant), "sequence counter missing"))?;
        let first = last + 1 - count;
        let at = self.now();
        let entries: Vec<ChangeEntry> = changes
            .into_iter()
            .zip(first..)
            .map(|(c, seq)| ChangeEntry {
                tenant: tenant.clone(),
                seq,
                connection: c.connection,
                object: c.object,
                sf_id: c.sf_id,
                app_id: c.app_id,
                kind: c.kind,
                payload: c.payload,
                at,
            })
            .collect();
        let items = entries
            .iter()
            .map(|e| with_data(item(&tenant_pk(tenant), &change_sk(e.seq)), e))
            .collect::<StoreResult<Vec<_>>>()?;
        self.batch_put(items).await?;
        Ok(entries)
    }

    async fn read(&self, tenant: &TenantId, after: u64, limit: u32) -> StoreResult<ChangeBatch> {
        let limit = PageRequest::first(limit).effective_limit();
        let q = self
            .query()
            .key_condition_expression("pk = :pk AND sk BETWEEN :a AND :b")
            .expression_attribute_values(":pk", s(tenant_pk(tenant)))
            .expression_attribute_values(":a", s(change_sk(after.saturating_add(1))))
            .expression_attribute_values(":b", s(change_sk(u64::MAX)))
            .consistent_read(true);
        // One extra item tells whether more exist.
        let (items, _) = self.query_items(q, limit + 1, None).await?;
        let entries = items
            .iter()
            .map(data_of)
            .collect::<StoreResult<Vec<ChangeEntry>>>()?;
        let (mut entries, held_at_gap) = contiguous_prefix(entries, after, self.now());
        let has_more = held_at_gap || entries.len() > limit;
        entries.truncate(limit);
        let next_after = entries.last().map_or(after, |e| e.seq);
        Ok(ChangeBatch {
            entries,
            next_after,
            has_more,
        })
    }
}

/// How long a hole in the sequence may stay open before readers skip it. Appenders
/// reserve numbers first and write after, so a reader can see 6 before 5 is written;
/// a hole older than this belongs to an appender that died.
pub(crate) const GAP_GRACE: chrono::Duration = chrono::Duration::seconds(30);

/// Keeps the entries up to the first young gap after `after`; `true` if it stopped
/// at one (more will come).
pub(crate) fn contiguous_prefix(
    entries: Vec<ChangeEntry>,
    after: u64,
    now: DateTime<Utc>,
) -> (Vec<ChangeEntry>, bool) {
    let mut expected = after.saturating_add(1);
    let mut out = Vec::with_capacity(entries.len());
    for e in entries {
        if e.seq != expected && now - e.at < GAP_GRACE {
            return (out, true);
        }
        expected = e.seq.saturating_add(1);
        out.push(e);
    }
    (out, false)
}

// ---------------------------------------------------------------- quotas

#[async_trait]
impl QuotaStore for DynamoStore {
    async fn add_calls(
        &self,
        tenant: &TenantId,
        connection: &ConnectionId,
        day: NaiveDate,
        calls: u64,
    ) -> StoreResult<u64> {
        // Counters outlive their day a little so "yesterday" stays readable.
        let expires = day
            .and_hms_opt(0, 0, 0)
            .map_or(0, |d| d.and_utc().timestamp() + 3 * 86_400);
        let out = self
            .client
            .update_item()
            .table_name(&self.table)
            .key(PK, s(tenant_pk(tenant)))
            .key(SK, s(quota_sk(connection, day)))
            .update_expression("ADD calls :n SET expires_at = :x")
            .expression_attribute_values(":n", n(calls))
            .expression_attribute_values(":x", n(expires))
            .return_values(ReturnValue::UpdatedNew)
            .send()
            .await
            .map_err(|e| classify(SERVICE, "UpdateItem", e))?;
        Ok(num_of(&out.attributes.unwrap_or_default(), "calls")?.unwrap_or(0))
    }

    async fn record_limit(
        &self,
        tenant: &TenantId,
        connection: &ConnectionId,
        used: u64,
        max: u64,
    ) -> StoreResult<()> {
        let info = LimitInfo {
            used,
            max,
            seen_at: self.now(),
        };
        let it = with_data(item(&tenant_pk(tenant), &quota_limit_sk(connection)), &info)?;
        self.put_item(it, "PutItem").await
    }

    async fn usage(
        &self,
        tenant: &TenantId,
        connection: &ConnectionId,
        day: NaiveDate,
    ) -> StoreResult<QuotaUsage> {
        let calls =
            match DynamoStore::get(self, &tenant_pk(tenant), &quota_sk(connection, day)).await? {
                Some(it) => num_of(&it, "calls")?.unwrap_or(0),
                None => 0,
            };
        let limit = self
            .get_data(&tenant_pk(tenant), &quota_limit_sk(connection))
            .await?;
        Ok(QuotaUsage { day, calls, limit })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(seq: u64, at: DateTime<Utc>) -> ChangeEntry {
        ChangeEntry {
            tenant: TenantId::new("t").unwrap(),
            seq,
            connection: ConnectionId::new("c").unwrap(),
            object: "Contact".into(),
            sf_id: format!("003{seq}"),
            app_id: None,
            kind: ChangeKind::Upsert,
            payload: serde_json::Value::Null,
            at,
        }
    }

    fn seqs(v: &[ChangeEntry]) -> Vec<u64> {
        v.iter().map(|e| e.seq).collect()
    }

    #[test]
    fn readers_wait_at_a_young_gap_and_skip_an_old_one() {
        let now = Utc::now();
        let young = vec![entry(4, now), entry(5, now), entry(7, now)];
        let (got, held) = contiguous_prefix(young, 3, now);
        assert_eq!((seqs(&got), held), (vec![4, 5], true));

        let old = now - GAP_GRACE - chrono::Duration::seconds(1);
        let (got, held) = contiguous_prefix(vec![entry(4, old), entry(6, old)], 3, now);
        assert_eq!((seqs(&got), held), (vec![4, 6], false));

        // A gap right at the start counts too.
        let (got, held) = contiguous_prefix(vec![entry(5, now)], 3, now);
        assert_eq!((seqs(&got), held), (vec![], true));
    }
}
