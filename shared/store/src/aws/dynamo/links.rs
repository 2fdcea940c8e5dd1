//! Links between app records and Salesforce records.

use std::collections::BTreeMap;

use async_trait::async_trait;
use aws_sdk_dynamodb::types::ReturnValue;

use super::keys::*;
use super::{DynamoStore, SERVICE, data_of, decode_page, encode_page, item, s, to_av, with_data};
use crate::aws::errors::classify;
use crate::error::{StoreError, StoreResult};
use crate::ids::{ConnectionId, TenantId};
use crate::model::*;
use crate::ports::*;
use crate::util::{check_parts, millis};

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
        link.version = 1;
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
        self.set_link_data(tenant, connection, app_object, app_id, hashes, None, None)
            .await
    }

    async fn update_synced(
        &self,
        tenant: &TenantId,
        connection: &ConnectionId,
        app_object: &str,
        app_id: &str,
        hashes: BTreeMap<String, String>,
        times: LinkTimes,
    ) -> StoreResult<Link> {
        self.set_link_data(
            tenant,
            connection,
            app_object,
            app_id,
            hashes,
            Some(times),
            None,
        )
        .await
    }

    async fn update_synced_if(
        &self,
        tenant: &TenantId,
        connection: &ConnectionId,
        app_object: &str,
        app_id: &str,
        expected_version: u64,
        hashes: BTreeMap<String, String>,
        times: LinkTimes,
    ) -> StoreResult<Link> {
        self.set_link_data(
            tenant,
            connection,
            app_object,
            app_id,
            hashes,
            Some(times),
            Some(expected_version),
        )
        .await
    }

    async fn list_for_object(
        &self,
        tenant: &TenantId,
        connection: &ConnectionId,
        sf_object: &str,
        page: &PageRequest,
    ) -> StoreResult<Page<Link>> {
        check_parts(&[("sf_object", sf_object)])?;
        // Links of one connection share an sk prefix; the object is filtered after the
        // key condition, so a page may hold fewer items than asked while more follow.
        let q = self
            .query()
            .key_condition_expression("pk = :p AND begins_with(sk, :prefix)")
            .filter_expression("#d.sf_object = :o")
            .expression_attribute_names("#d", "data")
            .expression_attribute_values(":p", s(tenant_pk(tenant)))
            .expression_attribute_values(":prefix", s(format!("LINK#{connection}#")))
            .expression_attribute_values(":o", s(sf_object.to_string()))
            .consistent_read(true);
        let start = decode_page(page.token.as_ref())?;
        let (items, next) = self.query_items(q, page.effective_limit(), start).await?;
        let items = items
            .iter()
            .map(data_of)
            .collect::<StoreResult<Vec<Link>>>()?;
        Ok(Page {
            items,
            next: encode_page(next.as_ref()),
        })
    }

    async fn replace(&self, link: &Link) -> StoreResult<()> {
        check_link_key(&link.app_object, &link.app_id)?;
        check_parts(&[("sf_object", &link.sf_object), ("sf_id", &link.sf_id)])?;
        let mut link = link.clone();
        link.created_at = millis(link.created_at);
        link.updated_at = millis(link.updated_at);
        link.version += 1;
        let mut it = item(
            &tenant_pk(&link.tenant),
            &link_sk(&link.connection, &link.app_object, &link.app_id),
        );
        // One item per app record: replacing it moves the gsi1 entry to the new id.
        it.insert(
            GSI1PK.into(),
            s(link_gsi(&link.tenant, &link.connection, &link.sf_id)),
        );
        it.insert(GSI1SK.into(), s(LINK_GSI_SK));
        self.put_item(with_data(it, &link)?, "PutItem").await
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

impl DynamoStore {
    /// Sets a link's hashes (and times, when given) in place and bumps its version;
    /// `NotFound` if it is gone. With `expected`, only over that version (`Conflict`
    /// otherwise; a link without a version attribute is version 0).
    #[allow(clippy::too_many_arguments)]
    async fn set_link_data(
        &self,
        tenant: &TenantId,
        connection: &ConnectionId,
        app_object: &str,
        app_id: &str,
        hashes: BTreeMap<String, String>,
        times: Option<LinkTimes>,
        expected: Option<u64>,
    ) -> StoreResult<Link> {
        check_link_key(app_object, app_id)?;
        let condition = match expected {
            None => "attribute_exists(pk)",
            Some(0) => "attribute_exists(pk) AND (attribute_not_exists(#d.#v) OR #d.#v = :ev)",
            Some(_) => "attribute_exists(pk) AND #d.#v = :ev",
        };
        let bump = "#d.#v = if_not_exists(#d.#v, :zero) + :one";
        let mut update = self
            .client
            .update_item()
            .table_name(&self.table)
            .key(PK, s(tenant_pk(tenant)))
            .key(SK, s(link_sk(connection, app_object, app_id)))
            .condition_expression(condition)
            .expression_attribute_names("#d", "data")
            .expression_attribute_names("#v", "version")
            .expression_attribute_values(":h", to_av(&hashes, "hashes")?)
            .expression_attribute_values(":u", to_av(&self.now(), "updated_at")?)
            .expression_attribute_values(":zero", to_av(&0u64, "version")?)
            .expression_attribute_values(":one", to_av(&1u64, "version")?)
            .return_values(ReturnValue::AllNew);
        if let Some(v) = expected {
            update = update.expression_attribute_values(":ev", to_av(&v, "version")?);
        }
        update = match &times {
            Some(times) => update
                .update_expression(format!(
                    "SET #d.hashes = :h, #d.times = :t, #d.updated_at = :u, {bump}"
                ))
                .expression_attribute_values(":t", to_av(times, "times")?),
            None => {
                update.update_expression(format!("SET #d.hashes = :h, #d.updated_at = :u, {bump}"))
            }
        };
        match update
            .send()
            .await
            .map_err(|e| classify(SERVICE, "UpdateItem", e))
        {
            Ok(out) => data_of(&out.attributes.unwrap_or_default()),
            Err(StoreError::Conflict(_)) => {
                let gone = || {
                    StoreError::NotFound(format!(
                        "link {tenant}/{connection}/{app_object}/{app_id}"
                    ))
                };
                if expected.is_none() {
                    return Err(gone());
                }
                // The condition failed: the link is gone or at another version.
                match self
                    .get_by_app(tenant, connection, app_object, app_id)
                    .await?
                {
                    None => Err(gone()),
                    Some(now) => Err(StoreError::Conflict(format!(
                        "link {app_object}/{app_id} moved to version {} (read {})",
                        now.version,
                        expected.unwrap_or_default()
                    ))),
                }
            }
            Err(e) => Err(e),
        }
    }
}
