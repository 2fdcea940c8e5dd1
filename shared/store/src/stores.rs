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
    pub links: Arc<dyn LinkStore>,
    pub reports: Arc<dyn ReportStore>,
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
