//! Store ports that count the DynamoDB requests a scheduler pass makes on the AWS
//! adapters: one per port call (`list_all` is one `Query` page, `acquire` one conditional
//! `PutItem`, `get_latest` one `Query`), except the batch calls, counted per request:
//! `held` is a `BatchGetItem` per 100 names and `grant_unchecked` a `BatchWriteItem` per
//! 25 (retries of unprocessed items, which throttling causes, would add to these).

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use crmsync_store::{
    ConfigStore, Connection, ConnectionFailure, ConnectionId, ConnectionStatus, ConnectionStore,
    Lease, LeaseStore, Page, PageRequest, StoreResult, SyncConfigVersion, SyncRun, TenantId,
};

/// Requests and the time spent waiting for them, per `port.operation`.
#[derive(Default)]
pub struct Meter(Mutex<BTreeMap<&'static str, Use>>);

/// Requests made and the summed latency of the calls that made them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Use {
    pub requests: u64,
    pub waited: Duration,
}

impl Meter {
    fn count(&self, what: &'static str, started: Instant) {
        self.add(what, 1, started);
    }

    pub fn add(&self, what: &'static str, requests: u64, started: Instant) {
        let mut all = self.0.lock().expect("meter lock");
        let u = all.entry(what).or_default();
        u.requests += requests;
        u.waited += started.elapsed();
    }

    /// A copy of the uses so far.
    pub fn snapshot(&self) -> BTreeMap<&'static str, Use> {
        self.0.lock().expect("meter lock").clone()
    }
}

/// The uses between two snapshots.
pub fn since(
    before: &BTreeMap<&'static str, Use>,
    after: &BTreeMap<&'static str, Use>,
) -> BTreeMap<&'static str, Use> {
    after
        .iter()
        .map(|(k, v)| {
            let b = before.get(k).copied().unwrap_or_default();
            (
                *k,
                Use {
                    requests: v.requests - b.requests,
                    waited: v.waited - b.waited,
                },
            )
        })
        .filter(|(_, u)| u.requests > 0)
        .collect()
}

pub struct Metered<T: ?Sized> {
    pub inner: Arc<T>,
    pub meter: Arc<Meter>,
}

#[async_trait]
impl ConnectionStore for Metered<dyn ConnectionStore> {
    async fn get(&self, tenant: &TenantId, id: &ConnectionId) -> StoreResult<Option<Connection>> {
        let started = Instant::now();
        let out = self.inner.get(tenant, id).await;
        self.meter.count("connections.get", started);
        out
    }

    async fn put(&self, connection: &Connection) -> StoreResult<()> {
        let started = Instant::now();
        let out = self.inner.put(connection).await;
        self.meter.count("connections.put", started);
        out
    }

    async fn list_for_tenant(&self, tenant: &TenantId) -> StoreResult<Vec<Connection>> {
        let started = Instant::now();
        let out = self.inner.list_for_tenant(tenant).await;
        self.meter.count("connections.list_for_tenant", started);
        out
    }

    async fn list_all(&self, page: &PageRequest) -> StoreResult<Page<Connection>> {
        let started = Instant::now();
        let out = self.inner.list_all(page).await;
        self.meter.count("connections.list_all", started);
        out
    }

    async fn update_status(
        &self,
        tenant: &TenantId,
        id: &ConnectionId,
        expected: Option<ConnectionStatus>,
        status: ConnectionStatus,
        failure: Option<ConnectionFailure>,
    ) -> StoreResult<Connection> {
        let started = Instant::now();
        let out = self
            .inner
            .update_status(tenant, id, expected, status, failure)
            .await;
        self.meter.count("connections.update_status", started);
        out
    }

    async fn record_sync(
        &self,
        tenant: &TenantId,
        id: &ConnectionId,
        at: DateTime<Utc>,
        run: SyncRun,
    ) -> StoreResult<()> {
        let started = Instant::now();
        let out = self.inner.record_sync(tenant, id, at, run).await;
        self.meter.count("connections.record_sync", started);
        out
    }

    async fn set_sync_enabled(
        &self,
        tenant: &TenantId,
        id: &ConnectionId,
        enabled: bool,
    ) -> StoreResult<Connection> {
        self.inner.set_sync_enabled(tenant, id, enabled).await
    }

    async fn set_poll_minutes(
        &self,
        tenant: &TenantId,
        id: &ConnectionId,
        minutes: u32,
    ) -> StoreResult<()> {
        let started = Instant::now();
        let out = self.inner.set_poll_minutes(tenant, id, minutes).await;
        self.meter.count("connections.set_poll_minutes", started);
        out
    }
}

#[async_trait]
impl ConfigStore for Metered<dyn ConfigStore> {
    async fn put(
        &self,
        tenant: &TenantId,
        connection: &ConnectionId,
        expected_version: u64,
        config: serde_json::Value,
    ) -> StoreResult<SyncConfigVersion> {
        let started = Instant::now();
        let out = self
            .inner
            .put(tenant, connection, expected_version, config)
            .await;
        self.meter.count("configs.put", started);
        out
    }

    async fn get_latest(
        &self,
        tenant: &TenantId,
        connection: &ConnectionId,
    ) -> StoreResult<Option<SyncConfigVersion>> {
        let started = Instant::now();
        let out = self.inner.get_latest(tenant, connection).await;
        self.meter.count("configs.get_latest", started);
        out
    }

    async fn get_version(
        &self,
        tenant: &TenantId,
        connection: &ConnectionId,
        version: u64,
    ) -> StoreResult<Option<SyncConfigVersion>> {
        let started = Instant::now();
        let out = self.inner.get_version(tenant, connection, version).await;
        self.meter.count("configs.get_version", started);
        out
    }
}

#[async_trait]
impl LeaseStore for Metered<dyn LeaseStore> {
    async fn acquire(&self, name: &str, owner: &str, ttl: Duration) -> StoreResult<Option<Lease>> {
        let started = Instant::now();
        let out = self.inner.acquire(name, owner, ttl).await;
        self.meter.count("leases.acquire", started);
        out
    }

    async fn renew(&self, lease: &Lease, ttl: Duration) -> StoreResult<Lease> {
        let started = Instant::now();
        let out = self.inner.renew(lease, ttl).await;
        self.meter.count("leases.renew", started);
        out
    }

    async fn release(&self, lease: &Lease) -> StoreResult<()> {
        let started = Instant::now();
        let out = self.inner.release(lease).await;
        self.meter.count("leases.release", started);
        out
    }

    async fn held(&self, names: &[String]) -> StoreResult<Vec<Lease>> {
        let started = Instant::now();
        let out = self.inner.held(names).await;
        let requests = names.len().div_ceil(100) as u64;
        self.meter
            .add("leases.held (BatchGetItem)", requests, started);
        out
    }

    async fn grant_unchecked(
        &self,
        names: &[String],
        owner: &str,
        ttl: Duration,
    ) -> StoreResult<Vec<Lease>> {
        let started = Instant::now();
        let out = self.inner.grant_unchecked(names, owner, ttl).await;
        let requests = names.len().div_ceil(25) as u64;
        self.meter
            .add("leases.grant_unchecked (BatchWriteItem)", requests, started);
        out
    }
}
