//! Workaround (remove when fixed upstream): the service names its leases `poll#t#c`,
//! `sweep#t#c` and `refresh#t#c` (shared/service/src/{poll,sweep,sf_session}.rs), but
//! both store adapters refuse `#` in a lease name (`check_parts`, shared/store/src/ids.rs),
//! so every poll, sweep and token refresh fails with "invalid lease name". This decorator
//! maps `#` to `:` before the store sees the name; on fixed code it changes nothing.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use crmsync_store::{Lease, LeaseStore, StoreResult};

pub struct KeySafeLeases {
    inner: Arc<dyn LeaseStore>,
}

impl KeySafeLeases {
    pub fn wrap(inner: Arc<dyn LeaseStore>) -> Arc<dyn LeaseStore> {
        Arc::new(Self { inner })
    }
}

fn safe(name: &str) -> String {
    name.replace('#', ":")
}

fn safe_lease(lease: &Lease) -> Lease {
    Lease {
        name: safe(&lease.name),
        ..lease.clone()
    }
}

#[async_trait]
impl LeaseStore for KeySafeLeases {
    async fn acquire(&self, name: &str, owner: &str, ttl: Duration) -> StoreResult<Option<Lease>> {
        self.inner.acquire(&safe(name), owner, ttl).await
    }

    async fn renew(&self, lease: &Lease, ttl: Duration) -> StoreResult<Lease> {
        self.inner.renew(&safe_lease(lease), ttl).await
    }

    async fn release(&self, lease: &Lease) -> StoreResult<()> {
        self.inner.release(&safe_lease(lease)).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn hash_named_leases_work_and_stay_exclusive() {
        let stores = crmsync_store::Stores::embedded(None).await.unwrap();
        let leases = KeySafeLeases::wrap(stores.leases.clone());
        let ttl = Duration::from_secs(60);
        let held = leases.acquire("poll#t#c", "a", ttl).await.unwrap().unwrap();
        assert!(
            leases
                .acquire("poll#t#c", "b", ttl)
                .await
                .unwrap()
                .is_none()
        );
        leases.renew(&held, ttl).await.unwrap();
        leases.release(&held).await.unwrap();
        assert!(
            leases
                .acquire("poll#t#c", "b", ttl)
                .await
                .unwrap()
                .is_some()
        );
    }
}
