//! Links between app records and Salesforce records.

use std::collections::BTreeMap;

use async_trait::async_trait;

use super::EmbeddedStore;
use super::paging::page_of;
use super::state::key;
use crate::error::{StoreError, StoreResult};
use crate::ids::{ConnectionId, TenantId};
use crate::model::*;
use crate::ports::*;
use crate::util::{check_parts, millis};

fn link_key(t: &TenantId, c: &ConnectionId, obj: &str, app_id: &str) -> StoreResult<String> {
    check_parts(&[("app_object", obj), ("app_id", app_id)])?;
    Ok(key(&[t.as_str(), c.as_str(), obj, app_id]))
}

#[async_trait]
impl LinkStore for EmbeddedStore {
    async fn create_if_absent(&self, link: &Link) -> StoreResult<LinkCreate> {
        let k = link_key(
            &link.tenant,
            &link.connection,
            &link.app_object,
            &link.app_id,
        )?;
        check_parts(&[("sf_object", &link.sf_object), ("sf_id", &link.sf_id)])?;
        let mut link = link.clone();
        link.created_at = millis(link.created_at);
        link.updated_at = millis(link.updated_at);
        link.version = 1;
        self.write(|s, _| {
            if let Some(existing) = s.links.get(&k) {
                return Ok(LinkCreate::Existing(existing.clone()));
            }
            s.put_link(k, link.clone());
            Ok(LinkCreate::Created(link))
        })
        .await
    }

    async fn get_by_app(
        &self,
        tenant: &TenantId,
        connection: &ConnectionId,
        app_object: &str,
        app_id: &str,
    ) -> StoreResult<Option<Link>> {
        let k = link_key(tenant, connection, app_object, app_id)?;
        Ok(self.read(|s, _| s.links.get(&k).cloned()).await)
    }

    async fn get_by_sf_id(
        &self,
        tenant: &TenantId,
        connection: &ConnectionId,
        sf_id: &str,
    ) -> StoreResult<Option<Link>> {
        check_parts(&[("sf_id", sf_id)])?;
        Ok(self
            .read(|s, _| {
                s.link_by_sf_id(tenant.as_str(), connection.as_str(), sf_id)
                    .cloned()
            })
            .await)
    }

    async fn update_hashes(
        &self,
        tenant: &TenantId,
        connection: &ConnectionId,
        app_object: &str,
        app_id: &str,
        hashes: BTreeMap<String, String>,
    ) -> StoreResult<Link> {
        let k = link_key(tenant, connection, app_object, app_id)?;
        self.write(|s, now| {
            let link = s.links.get_mut(&k).ok_or_else(|| {
                StoreError::NotFound(format!("link {tenant}/{connection}/{app_object}/{app_id}"))
            })?;
            link.hashes = hashes;
            link.updated_at = millis(now);
            link.version += 1;
            Ok(link.clone())
        })
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
        let k = link_key(tenant, connection, app_object, app_id)?;
        self.write(|s, now| {
            let link = s.links.get_mut(&k).ok_or_else(|| {
                StoreError::NotFound(format!("link {tenant}/{connection}/{app_object}/{app_id}"))
            })?;
            link.hashes = hashes;
            link.times = times;
            link.updated_at = millis(now);
            link.version += 1;
            Ok(link.clone())
        })
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
        let k = link_key(tenant, connection, app_object, app_id)?;
        self.write(|s, now| {
            let link = s.links.get_mut(&k).ok_or_else(|| {
                StoreError::NotFound(format!("link {tenant}/{connection}/{app_object}/{app_id}"))
            })?;
            if link.version != expected_version {
                return Err(StoreError::Conflict(format!(
                    "link {app_object}/{app_id} moved to version {} (read {expected_version})",
                    link.version
                )));
            }
            link.hashes = hashes;
            link.times = times;
            link.updated_at = millis(now);
            link.version += 1;
            Ok(link.clone())
        })
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
        self.read(|s, _| {
            page_of(
                s.links
                    .iter()
                    .filter(|(_, l)| {
                        &l.tenant == tenant
                            && &l.connection == connection
                            && l.sf_object == sf_object
                    })
                    .map(|(k, v)| (k.clone(), v.clone())),
                page,
            )
        })
        .await
    }

    async fn replace(&self, link: &Link) -> StoreResult<()> {
        let k = link_key(
            &link.tenant,
            &link.connection,
            &link.app_object,
            &link.app_id,
        )?;
        check_parts(&[("sf_object", &link.sf_object), ("sf_id", &link.sf_id)])?;
        let mut link = link.clone();
        link.created_at = millis(link.created_at);
        link.updated_at = millis(link.updated_at);
        link.version += 1;
        self.write(|s, _| {
            s.put_link(k, link);
            Ok(())
        })
        .await
    }

    async fn delete(
        &self,
        tenant: &TenantId,
        connection: &ConnectionId,
        app_object: &str,
        app_id: &str,
    ) -> StoreResult<Option<Link>> {
        let k = link_key(tenant, connection, app_object, app_id)?;
        self.write(|s, _| Ok(s.remove_link(&k))).await
    }
}
