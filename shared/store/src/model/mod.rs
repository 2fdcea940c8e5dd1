//! Domain types the ports return. Plain serde types: no SDK types, no crmsync-core types.

mod change;
mod connection;
mod ephemeral;
mod intent;
mod link;
mod page;
mod queue;
mod quota;
mod report;
mod run;
mod sync;
mod tenant;
mod token;

pub use change::{ChangeBatch, ChangeEntry, ChangeKind, NewChange};
pub use connection::{
    ConnectedUser, Connection, ConnectionFailure, ConnectionStatus, Environment, Provisioning,
    ProvisioningState, SyncRun,
};
pub use ephemeral::{Lease, OAuthState};
pub use intent::{PendingCreate, WriteIntent};
pub use link::{FieldChange, Link, LinkCreate, LinkTimes};
pub use page::{Page, PageRequest, PageToken};
pub use queue::{OutboundMessage, QueueKind, ReceivedMessage};
pub use quota::{AppQuota, LimitInfo, LimitReading, QuotaUsage};
pub use report::{ReportEntry, ReportQuery, ReportStatus};
pub use run::{MAX_RUN_SUMMARY_BYTES, RunRecord};
pub use sync::{
    CursorPosition, ObjectCursor, RecalcCheckpoint, ReconcileCheckpoint, SyncConfigVersion,
};
pub use tenant::Tenant;
pub use token::{StoredToken, TokenVersion, VersionedToken};
