//! A fault-injecting wrapper around the store ports, for tests and the fault simulation.
//!
//! [`with_faults`] returns a [`Stores`] bundle whose links, reports, write intents, change
//! feed, cursors, queues and push outboxes ask a [`StoreFaultPlan`] before every call. The plan answers, per call:
//! - [`StoreFault::FailBefore`]: the call fails (retryable) and nothing is written;
//! - [`StoreFault::FailAfterCommit`]: the write happens, then the call reports a failure
//!   (a DynamoDB response lost after the commit);
//! - [`StoreFault::Hang`]: the call never completes (a worker killed at this await point,
//!   once the caller drops the future);
//! - [`StoreFault::Throttled`]: the call is refused as throttled (retryable, nothing
//!   written), as DynamoDB's `ProvisionedThroughputExceededException` is.
//!
//! The other ports pass through untouched.

use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::error::{StoreError, StoreResult};
use crate::ids::{ConnectionId, TenantId};
use crate::model::*;
use crate::ports::*;
use crate::stores::Stores;

/// What happens to one store call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StoreFault {
    Proceed,
    FailBefore,
    FailAfterCommit,
    Hang,
    Throttled,
}

/// Decides the fate of each store call (`port`: `links`, `reports`, `intents`, `changes`,
/// `cursors`, `queues`, `outbox`; `write`: whether the call changes state).
pub trait StoreFaultPlan: Send + Sync {
    fn decide(&self, port: &'static str, operation: &'static str, write: bool) -> StoreFault;
}

/// `stores` with links, reports, write intents, change feed, cursors, queues and push
/// outboxes behind `plan`.
pub fn with_faults(stores: Stores, plan: Arc<dyn StoreFaultPlan>) -> Stores {
    let faulty = Arc::new(FaultyStores {
        inner: stores.clone(),
        plan,
    });
    Stores {
        links: faulty.clone(),
        reports: faulty.clone(),
        intents: faulty.clone(),
        changes: faulty.clone(),
        cursors: faulty.clone(),
        outbox: faulty.clone(),
        queues: faulty,
        ..stores
    }
}

struct FaultyStores {
    inner: Stores,
    plan: Arc<dyn StoreFaultPlan>,
}

fn injected(port: &'static str, operation: &'static str, what: &str) -> StoreError {
    StoreError::Unavailable {
        service: port,
        operation,
        message: format!("injected fault: {what}"),
    }
}

impl FaultyStores {
    async fn call<T>(
        &self,
        port: &'static str,
        operation: &'static str,
        write: bool,
        inner: impl std::future::Future<Output = StoreResult<T>>,
    ) -> StoreResult<T> {
        match self.plan.decide(port, operation, write) {
            StoreFault::Proceed => inner.await,
            StoreFault::FailBefore => Err(injected(port, operation, "failed before the write")),
            StoreFault::FailAfterCommit => {
                inner.await?;
                Err(injected(
                    port,
                    operation,
                    "committed, then reported a failure",
                ))
            }
            StoreFault::Hang => std::future::pending().await,
            StoreFault::Throttled => Err(injected(
                port,
                operation,
                "throttled (ProvisionedThroughputExceededException)",
            )),
        }
    }
}

#[async_trait]
impl LinkStore for FaultyStores {
    async fn create_if_absent(&self, link: &Link) -> StoreResult<LinkCreate> {
        self.call(
            "links",
            "create_if_absent",
            true,
            self.inner.links.create_if_absent(link),
        )
        .await
    }
    async fn get_by_app(
        &self,
        tenant: &TenantId,
        connection: &ConnectionId,
        app_object: &str,
        app_id: &str,
    ) -> StoreResult<Option<Link>> {
        self.call(
            "links",
            "get_by_app",
            false,
            self.inner
                .links
                .get_by_app(tenant, connection, app_object, app_id),
        )
        .await
    }
    async fn get_by_sf_id(
        &self,
        tenant: &TenantId,
        connection: &ConnectionId,
        sf_id: &str,
    ) -> StoreResult<Option<Link>> {
        self.call(
            "links",
            "get_by_sf_id",
            false,
            self.inner.links.get_by_sf_id(tenant, connection, sf_id),
        )
        .await
    }
    async fn update_hashes(
        &self,
        tenant: &TenantId,
        connection: &ConnectionId,
        app_object: &str,
        app_id: &str,
        hashes: std::collections::BTreeMap<String, String>,
    ) -> StoreResult<Link> {
        self.call(
            "links",
            "update_hashes",
            true,
            self.inner
                .links
                .update_hashes(tenant, connection, app_object, app_id, hashes),
        )
        .await
    }
    async fn update_synced(
        &self,
        tenant: &TenantId,
        connection: &ConnectionId,
        app_object: &str,
        app_id: &str,
        hashes: std::collections::BTreeMap<String, String>,
        times: LinkTimes,
    ) -> StoreResult<Link> {
        self.call(
            "links",
            "update_synced",
            true,
            self.inner
                .links
                .update_synced(tenant, connection, app_object, app_id, hashes, times),
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
        hashes: std::collections::BTreeMap<String, String>,
        times: LinkTimes,
    ) -> StoreResult<Link> {
        self.call(
            "links",
            "update_synced_if",
            true,
            self.inner.links.update_synced_if(
                tenant,
                connection,
                app_object,
                app_id,
                expected_version,
                hashes,
                times,
            ),
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
        self.call(
            "links",
            "list_for_object",
            false,
            self.inner
                .links
                .list_for_object(tenant, connection, sf_object, page),
        )
        .await
    }
    async fn replace(&self, link: &Link) -> StoreResult<()> {
        self.call("links", "replace", true, self.inner.links.replace(link))
            .await
    }
    async fn delete(
        &self,
        tenant: &TenantId,
        connection: &ConnectionId,
        app_object: &str,
        app_id: &str,
    ) -> StoreResult<Option<Link>> {
        self.call(
            "links",
            "delete",
            true,
            self.inner
                .links
                .delete(tenant, connection, app_object, app_id),
        )
        .await
    }
}

#[async_trait]
impl ReportStore for FaultyStores {
    async fn write(&self, entry: &ReportEntry) -> StoreResult<()> {
        self.call("reports", "write", true, self.inner.reports.write(entry))
            .await
    }
    async fn write_if_status(
        &self,
        entry: &ReportEntry,
        expected: ReportStatus,
    ) -> StoreResult<()> {
        self.call(
            "reports",
            "write_if_status",
            true,
            self.inner.reports.write_if_status(entry, expected),
        )
        .await
    }
    async fn get(
        &self,
        tenant: &TenantId,
        connection: &ConnectionId,
        event_id: &str,
    ) -> StoreResult<Option<ReportEntry>> {
        self.call(
            "reports",
            "get",
            false,
            self.inner.reports.get(tenant, connection, event_id),
        )
        .await
    }
    async fn list(&self, query: &ReportQuery) -> StoreResult<Page<ReportEntry>> {
        self.call("reports", "list", false, self.inner.reports.list(query))
            .await
    }
}

#[async_trait]
impl IntentStore for FaultyStores {
    async fn put(&self, intent: &WriteIntent) -> StoreResult<()> {
        self.call("intents", "put", true, self.inner.intents.put(intent))
            .await
    }
    async fn get(
        &self,
        tenant: &TenantId,
        connection: &ConnectionId,
        event_id: &str,
    ) -> StoreResult<Option<WriteIntent>> {
        self.call(
            "intents",
            "get",
            false,
            self.inner.intents.get(tenant, connection, event_id),
        )
        .await
    }
    async fn list_open(
        &self,
        tenant: &TenantId,
        connection: &ConnectionId,
    ) -> StoreResult<Vec<WriteIntent>> {
        self.call(
            "intents",
            "list_open",
            false,
            self.inner.intents.list_open(tenant, connection),
        )
        .await
    }
    async fn clear(
        &self,
        tenant: &TenantId,
        connection: &ConnectionId,
        event_id: &str,
    ) -> StoreResult<()> {
        self.call(
            "intents",
            "clear",
            true,
            self.inner.intents.clear(tenant, connection, event_id),
        )
        .await
    }
}

#[async_trait]
impl ChangeFeed for FaultyStores {
    async fn append(
        &self,
        tenant: &TenantId,
        changes: Vec<NewChange>,
    ) -> StoreResult<Vec<ChangeEntry>> {
        self.call(
            "changes",
            "append",
            true,
            self.inner.changes.append(tenant, changes),
        )
        .await
    }
    async fn read(&self, tenant: &TenantId, after: u64, limit: u32) -> StoreResult<ChangeBatch> {
        self.call(
            "changes",
            "read",
            false,
            self.inner.changes.read(tenant, after, limit),
        )
        .await
    }
}

#[async_trait]
impl CursorStore for FaultyStores {
    async fn set_reconcile(
        &self,
        tenant: &TenantId,
        connection: &ConnectionId,
        object: &str,
        checkpoint: Option<&ReconcileCheckpoint>,
    ) -> StoreResult<()> {
        self.call(
            "cursors",
            "set_reconcile",
            true,
            self.inner
                .cursors
                .set_reconcile(tenant, connection, object, checkpoint),
        )
        .await
    }
    async fn set_recalc(
        &self,
        tenant: &TenantId,
        connection: &ConnectionId,
        object: &str,
        checkpoint: &RecalcCheckpoint,
    ) -> StoreResult<()> {
        self.call(
            "cursors",
            "set_recalc",
            true,
            self.inner
                .cursors
                .set_recalc(tenant, connection, object, checkpoint),
        )
        .await
    }
    async fn get(
        &self,
        tenant: &TenantId,
        connection: &ConnectionId,
        object: &str,
    ) -> StoreResult<ObjectCursor> {
        self.call(
            "cursors",
            "get",
            false,
            self.inner.cursors.get(tenant, connection, object),
        )
        .await
    }
    async fn advance(
        &self,
        tenant: &TenantId,
        connection: &ConnectionId,
        object: &str,
        expected: Option<&CursorPosition>,
        next: &CursorPosition,
    ) -> StoreResult<()> {
        self.call(
            "cursors",
            "advance",
            true,
            self.inner
                .cursors
                .advance(tenant, connection, object, expected, next),
        )
        .await
    }
    async fn set_last_sweep(
        &self,
        tenant: &TenantId,
        connection: &ConnectionId,
        object: &str,
        at: DateTime<Utc>,
    ) -> StoreResult<()> {
        self.call(
            "cursors",
            "set_last_sweep",
            true,
            self.inner
                .cursors
                .set_last_sweep(tenant, connection, object, at),
        )
        .await
    }
}

#[async_trait]
impl Queues for FaultyStores {
    async fn send_batch(&self, queue: QueueKind, messages: &[OutboundMessage]) -> StoreResult<()> {
        self.call(
            "queues",
            "send_batch",
            true,
            self.inner.queues.send_batch(queue, messages),
        )
        .await
    }
    async fn receive(&self, queue: QueueKind, max: u32) -> StoreResult<Vec<ReceivedMessage>> {
        self.call(
            "queues",
            "receive",
            true,
            self.inner.queues.receive(queue, max),
        )
        .await
    }
    async fn ack(&self, queue: QueueKind, receipt: &str) -> StoreResult<()> {
        self.call("queues", "ack", true, self.inner.queues.ack(queue, receipt))
            .await
    }
}

#[async_trait]
impl crate::outbox::OutboxStore for FaultyStores {
    async fn append(
        &self,
        tenant: &TenantId,
        connection: &ConnectionId,
        entries: Vec<crate::outbox::NewOutboxEntry>,
    ) -> StoreResult<Vec<crate::outbox::OutboxEntry>> {
        self.call(
            "outbox",
            "append",
            true,
            self.inner.outbox.append(tenant, connection, entries),
        )
        .await
    }
    async fn oldest(
        &self,
        tenant: &TenantId,
        connection: &ConnectionId,
        limit: u32,
    ) -> StoreResult<Vec<crate::outbox::OutboxEntry>> {
        self.call(
            "outbox",
            "oldest",
            false,
            self.inner.outbox.oldest(tenant, connection, limit),
        )
        .await
    }
    async fn remove(
        &self,
        tenant: &TenantId,
        connection: &ConnectionId,
        seqs: &[u64],
    ) -> StoreResult<()> {
        self.call(
            "outbox",
            "remove",
            true,
            self.inner.outbox.remove(tenant, connection, seqs),
        )
        .await
    }
}
