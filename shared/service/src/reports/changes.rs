//! The change feed the app reads.

use crmsync_store::{ChangeEntry, TenantId};
use serde::Serialize;

use super::{DEFAULT_CHANGE_LIMIT, store_err};
use crate::app::App;
use crate::error::ServiceError;

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct ChangePage {
    pub changes: Vec<ChangeEntry>,
    /// Pass as `after` to continue.
    pub next_after: u64,
    pub has_more: bool,
}

pub async fn read_changes(
    app: &App,
    tenant: &TenantId,
    after: u64,
    limit: Option<u32>,
) -> Result<ChangePage, ServiceError> {
    let limit = limit.unwrap_or(DEFAULT_CHANGE_LIMIT);
    if limit == 0 || limit > 1000 {
        return Err(ServiceError::bad_request("limit", "must be 1 to 1000"));
    }
    let batch = app
        .stores
        .changes
        .read(tenant, after, limit)
        .await
        .map_err(store_err)?;
    Ok(ChangePage {
        changes: batch.entries,
        next_after: batch.next_after,
        has_more: batch.has_more,
    })
}
