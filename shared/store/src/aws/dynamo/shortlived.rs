//! Short-lived items guarded by `until_ms` (exact expiry, used in conditions) and
//! `expires_at` (epoch seconds, for DynamoDB's TTL sweeper, which may lag by days).

use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_dynamodb::types::{KeysAndAttributes, ReturnValue};

use super::keys::*;
use super::{DynamoStore, SERVICE, data_of, item, n, num_of, s, str_of, with_data};
use crate::aws::errors::classify;
use crate::error::{StoreError, StoreResult};
use crate::ids::TenantId;
use crate::model::{Lease, OAuthState};
use crate::ports::*;
use crate::util::{check_parts, expiry, millis};

/// Items stay a minute past expiry before the sweeper may take them.
const TTL_SLACK_SECS: i64 = 60;

fn ttl_secs(until: chrono::DateTime<chrono::Utc>) -> i64 {
    until.timestamp() + TTL_SLACK_SECS
}

#[async_trait]
impl OAuthStateStore for DynamoStore {
    async fn put(&self, state: &OAuthState) -> StoreResult<()> {
        check_parts(&[("state", state.state.expose())])?;
        let mut st = state.clone();
        st.created_at = millis(st.created_at);
        st.expires_at = millis(st.expires_at);
        let mut it = item(&oauth_pk(st.state.expose()), OAUTH_SK);
        it.insert("until_ms".into(), n(st.expires_at.timestamp_millis()));
        it.insert(TTL.into(), n(ttl_secs(st.expires_at)));
        let res = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(with_data(it, &st)?))
            .condition_expression("attribute_not_exists(pk) OR until_ms <= :now")
            .expression_attribute_values(":now", n(self.now().timestamp_millis()))
            .send()
            .await;
        match res.map_err(|e| classify(SERVICE, "PutItem", e)) {
            Ok(_) => Ok(()),
            Err(StoreError::Conflict(_)) => {
                Err(StoreError::Conflict("oauth state already exists".into()))
            }
            Err(e) => Err(e),
        }
    }

    async fn take(&self, state: &str) -> StoreResult<Option<OAuthState>> {
        if check_parts(&[("state", state)]).is_err() {
            return Ok(None);
        }
        // Conditional delete: of two callbacks racing, one gets the old item.
        let res = self
            .client
            .delete_item()
            .table_name(&self.table)
            .key(PK, s(oauth_pk(state)))
            .key(SK, s(OAUTH_SK))
            .condition_expression("attribute_exists(pk) AND until_ms > :now")
            .expression_attribute_values(":now", n(self.now().timestamp_millis()))
            .return_values(ReturnValue::AllOld)
            .send()
            .await;
        match res.map_err(|e| classify(SERVICE, "DeleteItem", e)) {
            Ok(out) => out.attributes.as_ref().map(data_of).transpose(),
            Err(StoreError::Conflict(_)) => Ok(None),
            Err(e) => Err(e),
        }
    }
}

#[async_trait]
impl IdempotencyStore for DynamoStore {
    async fn put_if_absent(
        &self,
        tenant: &TenantId,
        key: &str,
        ttl: Duration,
    ) -> StoreResult<bool> {
        check_parts(&[("idempotency key", key)])?;
        let now = self.now();
        let until = expiry(now, ttl, "ttl")?;
        let mut it = item(&tenant_pk(tenant), &idempotency_sk(key));
        it.insert("until_ms".into(), n(until.timestamp_millis()));
        it.insert(TTL.into(), n(ttl_secs(until)));
        let res = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(it))
            .condition_expression("attribute_not_exists(pk) OR until_ms <= :now")
            .expression_attribute_values(":now", n(now.timestamp_millis()))
            .send()
            .await;
        match res.map_err(|e| classify(SERVICE, "PutItem", e)) {
            Ok(_) => Ok(true),
            Err(StoreError::Conflict(_)) => Ok(false),
            Err(e) => Err(e),
        }
    }
}

fn lease_from(item: &super::Item, name: &str) -> StoreResult<Lease> {
    let owner = str_of(item, "owner")
        .ok_or_else(|| StoreError::corrupt(lease_pk(name), "lease without owner"))?;
    let until = num_of(item, "until_ms")?
        .and_then(|ms| chrono::DateTime::from_timestamp_millis(ms as i64))
        .ok_or_else(|| StoreError::corrupt(lease_pk(name), "lease without expiry"))?;
    Ok(Lease {
        name: name.to_string(),
        owner: owner.to_string(),
        expires_at: until,
    })
}

#[async_trait]
impl LeaseStore for DynamoStore {
    async fn acquire(&self, name: &str, owner: &str, ttl: Duration) -> StoreResult<Option<Lease>> {
        check_parts(&[("lease name", name), ("lease owner", owner)])?;
        let now = self.now();
        let until = expiry(now, ttl, "ttl")?;
        let mut it = item(&lease_pk(name), LEASE_SK);
        it.insert("owner".into(), s(owner));
        it.insert("until_ms".into(), n(until.timestamp_millis()));
        it.insert(TTL.into(), n(ttl_secs(until)));
        let res = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(it))
            .condition_expression("attribute_not_exists(pk) OR until_ms <= :now OR #owner = :owner")
            .expression_attribute_names("#owner", "owner")
            .expression_attribute_values(":now", n(now.timestamp_millis()))
            .expression_attribute_values(":owner", s(owner))
            .send()
            .await;
        match res.map_err(|e| classify(SERVICE, "PutItem", e)) {
            Ok(_) => Ok(Some(Lease {
                name: name.to_string(),
                owner: owner.to_string(),
                expires_at: until,
            })),
            Err(StoreError::Conflict(_)) => Ok(None),
            Err(e) => Err(e),
        }
    }

    async fn renew(&self, lease: &Lease, ttl: Duration) -> StoreResult<Lease> {
        check_parts(&[("lease name", &lease.name), ("lease owner", &lease.owner)])?;
        let now = self.now();
        let until = expiry(now, ttl, "ttl")?;
        let res = self
            .client
            .update_item()
            .table_name(&self.table)
            .key(PK, s(lease_pk(&lease.name)))
            .key(SK, s(LEASE_SK))
            .update_expression("SET until_ms = :u, expires_at = :x")
            .condition_expression("#owner = :owner AND until_ms > :now")
            .expression_attribute_names("#owner", "owner")
            .expression_attribute_values(":u", n(until.timestamp_millis()))
            .expression_attribute_values(":x", n(ttl_secs(until)))
            .expression_attribute_values(":now", n(now.timestamp_millis()))
            .expression_attribute_values(":owner", s(&lease.owner))
            .return_values(ReturnValue::AllNew)
            .send()
            .await;
        match res.map_err(|e| classify(SERVICE, "UpdateItem", e)) {
            Ok(out) => lease_from(&out.attributes.unwrap_or_default(), &lease.name),
            Err(StoreError::Conflict(_)) => Err(StoreError::Conflict(format!(
                "lease {} was lost",
                lease.name
            ))),
            Err(e) => Err(e),
        }
    }

    async fn release(&self, lease: &Lease) -> StoreResult<()> {
        check_parts(&[("lease name", &lease.name), ("lease owner", &lease.owner)])?;
        let res = self
            .client
            .delete_item()
            .table_name(&self.table)
            .key(PK, s(lease_pk(&lease.name)))
            .key(SK, s(LEASE_SK))
            .condition_expression("#owner = :owner")
            .expression_attribute_names("#owner", "owner")
            .expression_attribute_values(":owner", s(&lease.owner))
            .send()
            .await;
        match res.map_err(|e| classify(SERVICE, "DeleteItem", e)) {
            Ok(_) => Ok(()),
            Err(StoreError::Conflict(_)) => Err(StoreError::Conflict(format!(
                "lease {} is not held by this owner",
                lease.name
            ))),
            Err(e) => Err(e),
        }
    }
    async fn held(&self, names: &[String]) -> StoreResult<Vec<Lease>> {
        let now = self.now();
        let mut held = Vec::new();
        for chunk in names.chunks(100) {
            let mut keys = KeysAndAttributes::builder().consistent_read(true);
            for name in chunk {
                check_parts(&[("lease name", name)])?;
                keys = keys.keys(item(&lease_pk(name), LEASE_SK));
            }
            let mut pending = Some(
                keys.build()
                    .map_err(|e| StoreError::invalid("keys", e.to_string()))?,
            );
            let mut attempt = 0u32;
            while let Some(request) = pending.take() {
                let out = self
                    .client
                    .batch_get_item()
                    .request_items(&self.table, request)
                    .send()
                    .await
                    .map_err(|e| classify(SERVICE, "BatchGetItem", e))?;
                for it in out
                    .responses
                    .and_then(|mut r| r.remove(&self.table))
                    .unwrap_or_default()
                {
                    let name = str_of(&it, PK)
                        .and_then(|pk| pk.strip_prefix("LEASE#"))
                        .ok_or_else(|| StoreError::corrupt("LEASE#", "lease without its key"))?
                        .to_string();
                    let lease = lease_from(&it, &name)?;
                    if lease.expires_at > now {
                        held.push(lease);
                    }
                }
                pending = out
                    .unprocessed_keys
                    .and_then(|mut m| m.remove(&self.table))
                    .filter(|k| !k.keys.is_empty());
                if pending.is_some() {
                    attempt += 1;
                    if attempt == 8 {
                        return Err(StoreError::Unavailable {
                            service: SERVICE,
                            operation: "BatchGetItem",
                            message: "keys left unprocessed".into(),
                        });
                    }
                    tokio::time::sleep(Duration::from_millis(25 << attempt)).await;
                }
            }
        }
        Ok(held)
    }

    async fn grant_unchecked(
        &self,
        names: &[String],
        owner: &str,
        ttl: Duration,
    ) -> StoreResult<Vec<Lease>> {
        let until = expiry(self.now(), ttl, "ttl")?;
        let mut items = Vec::with_capacity(names.len());
        for name in names {
            check_parts(&[("lease name", name), ("lease owner", owner)])?;
            let mut it = item(&lease_pk(name), LEASE_SK);
            it.insert("owner".into(), s(owner));
            it.insert("until_ms".into(), n(until.timestamp_millis()));
            it.insert(TTL.into(), n(ttl_secs(until)));
            items.push(it);
        }
        self.batch_put(items).await?;
        Ok(names
            .iter()
            .map(|name| Lease {
                name: name.clone(),
                owner: owner.to_string(),
                expires_at: until,
            })
            .collect())
    }
}
