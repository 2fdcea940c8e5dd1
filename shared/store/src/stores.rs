//! The bundle the service layer receives: one `Arc<dyn Port>` per port.

use std::sync::Arc;

use crate::clock::Clock;
use crate::ports::*;

/// Everything the service needs from state, tokens and queues. Cheap to clone.
#[derive(Clone)]
pub struct Stores {
    pub connections: Arc<dyn ConnectionStore>,
    pub tenants: Arc<dyn TenantStore>,
    pub configs: Arc<dyn ConfigStore>,
    pub cursors: Arc<dyn CursorStore>,
    pub checkpoints: Arc<dyn crate::checkpoints::CheckpointStore>,
    pub outbox: Arc<dyn crate::outbox::OutboxStore>,
    pub links: Arc<dyn LinkStore>,
    pub reports: Arc<dyn ReportStore>,
    pub intents: Arc<dyn IntentStore>,
    pub runs: Arc<dyn RunStore>,
    pub changes: Arc<dyn ChangeFeed>,
    pub oauth_states: Arc<dyn OAuthStateStore>,
    pub idempotency: Arc<dyn IdempotencyStore>,
    pub leases: Arc<dyn LeaseStore>,
    pub quotas: Arc<dyn QuotaStore>,
    pub vault: Arc<dyn TokenVault>,
    pub queues: Arc<dyn Queues>,
    pub clock: Arc<dyn Clock>,
}

impl std::fmt::Debug for Stores {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Stores").finish_non_exhaustive()
    }
}

impl Stores {
    /// In-memory stores; with a path, saved behind to that JSON file and reloaded
    /// from it on the next open.
    pub async fn embedded(path: Option<std::path::PathBuf>) -> crate::StoreResult<Self> {
        Self::embedded_with_clock(path, Arc::new(crate::clock::SystemClock)).await
    }

    /// [`Stores::embedded`] with an injected clock (tests).
    pub async fn embedded_with_clock(
        path: Option<std::path::PathBuf>,
        clock: Arc<dyn Clock>,
    ) -> crate::StoreResult<Self> {
        let store = crate::embedded::EmbeddedStore::open(path, clock.clone()).await?;
        let store = Arc::new(store);
        Ok(Self {
            connections: store.clone(),
            tenants: store.clone(),
            configs: store.clone(),
            cursors: store.clone(),
            checkpoints: store.clone(),
            outbox: store.clone(),
            links: store.clone(),
            reports: store.clone(),
            intents: store.clone(),
            runs: store.clone(),
            changes: store.clone(),
            oauth_states: store.clone(),
            idempotency: store.clone(),
            leases: store.clone(),
            quotas: store.clone(),
            vault: store.clone(),
            queues: store,
            clock,
        })
    }

    /// DynamoDB, Secrets Manager and SQS adapters over clients built once.
    pub fn aws(clients: &crate::AwsClients, settings: &crate::AwsSettings) -> Self {
        Self::aws_with_clock(clients, settings, Arc::new(crate::clock::SystemClock))
    }

    /// Clients from the default AWS chain and names from the `CRMSYNC_*` variables:
    /// what a Lambda calls once at cold start.
    pub async fn aws_from_env() -> crate::StoreResult<Self> {
        let settings = crate::AwsSettings::from_env()?;
        let clients = crate::AwsClients::from_env().await;
        Ok(Self::aws(&clients, &settings))
    }

    /// [`Stores::aws`] with an injected clock (tests).
    pub fn aws_with_clock(
        clients: &crate::AwsClients,
        settings: &crate::AwsSettings,
        clock: Arc<dyn Clock>,
    ) -> Self {
        let table = Arc::new(crate::aws::dynamo::DynamoStore::new(
            clients.dynamodb.clone(),
            settings.table.clone(),
            clock.clone(),
        ));
        Self {
            connections: table.clone(),
            tenants: table.clone(),
            configs: table.clone(),
            cursors: table.clone(),
            checkpoints: table.clone(),
            outbox: table.clone(),
            links: table.clone(),
            reports: table.clone(),
            intents: table.clone(),
            runs: table.clone(),
            changes: table.clone(),
            oauth_states: table.clone(),
            idempotency: table.clone(),
            leases: table.clone(),
            quotas: table,
            vault: Arc::new(crate::aws::vault::SecretsVault::new(
                clients.secrets.clone(),
                settings.secret_prefix.clone(),
                settings.kms_key_id.clone(),
            )),
            queues: Arc::new(
                crate::aws::sqs::SqsQueues::new(
                    clients.sqs.clone(),
                    settings.push_queue_url.clone(),
                    settings.poll_queue_url.clone(),
                )
                .with_sweep_queue(settings.sweep_queue_url.clone()),
            ),
            clock,
        }
    }
}
