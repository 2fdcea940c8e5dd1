//! OAuth states, idempotency keys and leases (all expiring).

use std::time::Duration;

use async_trait::async_trait;

use super::EmbeddedStore;
use super::state::key;
use crate::error::{StoreError, StoreResult};
use crate::ids::TenantId;
use crate::model::*;
use crate::ports::*;
use crate::util::{check_parts, expiry, millis};

#[async_trait]
impl OAuthStateStore for EmbeddedStore {
    async fn put(&self, state: &OAuthState) -> StoreResult<()> {
        check_parts(&[("state", state.state.expose())])?;
        let mut state = state.clone();
        state.created_at = millis(state.created_at);
        state.expires_at = millis(state.expires_at);
        self.write(|s, now| {
            s.oauth_states.retain(|_, v| v.expires_at > now);
            let k = state.state.expose().to_string();
            if s.oauth_states.contains_key(&k) {
                return Err(StoreError::Conflict("oauth state already exists".into()));
            }
            s.oauth_states.insert(k, state);
            Ok(())
        })
        .await
    }

    async fn take(&self, state: &str) -> StoreResult<Option<OAuthState>> {
        if check_parts(&[("state", state)]).is_err() {
            return Ok(None);
        }
        self.write(|s, now| Ok(s.oauth_states.remove(state).filter(|v| v.expires_at > now)))
            .await
    }
}

#[async_trait]
impl IdempotencyStore for EmbeddedStore {
    async fn put_if_absent(
        &self,
        tenant: &TenantId,
        key_value: &str,
        ttl: Duration,
    ) -> StoreResult<bool> {
        check_parts(&[("idempotency key", key_value)])?;
        let k = key(&[tenant.as_str(), key_value]);
        self.write(|s, now| {
            let until = expiry(now, ttl, "ttl")?;
            s.idempotency.retain(|_, exp| *exp > now);
            if s.idempotency.contains_key(&k) {
                return Ok(false);
            }
            s.idempotency.insert(k, millis(until));
            Ok(true)
        })
        .await
    }
}

#[async_trait]
impl LeaseStore for EmbeddedStore {
    async fn acquire(&self, name: &str, owner: &str, ttl: Duration) -> StoreResult<Option<Lease>> {
        check_parts(&[("lease name", name), ("lease owner", owner)])?;
        self.write(|s, now| {
            let until = millis(expiry(now, ttl, "ttl")?);
            if let Some(held) = s.leases.get(name)
                && held.owner != owner
                && held.expires_at > now
            {
                return Ok(None);
            }
            let lease = Lease {
                name: name.to_string(),
                owner: owner.to_string(),
                expires_at: until,
            };
            s.leases.insert(name.to_string(), lease.clone());
            Ok(Some(lease))
        })
        .await
    }

    async fn renew(&self, lease: &Lease, ttl: Duration) -> StoreResult<Lease> {
        self.write(|s, now| {
            let until = millis(expiry(now, ttl, "ttl")?);
            match s.leases.get_mut(&lease.name) {
                Some(held) if held.owner == lease.owner && held.expires_at > now => {
                    held.expires_at = until;
                    Ok(held.clone())
                }
                _ => Err(StoreError::Conflict(format!(
                    "lease {} was lost",
                    lease.name
                ))),
            }
        })
        .await
    }

    async fn release(&self, lease: &Lease) -> StoreResult<()> {
        self.write(|s, _| match s.leases.get(&lease.name) {
            Some(held) if held.owner == lease.owner => {
                s.leases.remove(&lease.name);
                Ok(())
            }
            _ => Err(StoreError::Conflict(format!(
                "lease {} is not held by this owner",
                lease.name
            ))),
        })
        .await
    }

    async fn held(&self, names: &[String]) -> StoreResult<Vec<Lease>> {
        Ok(self
            .read(|s, now| {
                names
                    .iter()
                    .filter_map(|n| s.leases.get(n))
                    .filter(|l| l.expires_at > now)
                    .cloned()
                    .collect()
            })
            .await)
    }

    async fn grant_unchecked(
        &self,
        names: &[String],
        owner: &str,
        ttl: Duration,
    ) -> StoreResult<Vec<Lease>> {
        for name in names {
            check_parts(&[("lease name", name), ("lease owner", owner)])?;
        }
        self.write(|s, now| {
            let until = millis(expiry(now, ttl, "ttl")?);
            Ok(names
                .iter()
                .map(|name| {
                    let lease = Lease {
                        name: name.clone(),
                        owner: owner.to_string(),
                        expires_at: until,
                    };
                    s.leases.insert(name.clone(), lease.clone());
                    lease
                })
                .collect())
        })
        .await
    }
}
