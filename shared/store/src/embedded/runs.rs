//! The run history.

use async_trait::async_trait;

use super::EmbeddedStore;
use super::paging::page_of_desc;
use super::state::key;
use crate::error::StoreResult;
use crate::ids::{ConnectionId, TenantId};
use crate::model::*;
use crate::ports::*;

/// `t#c#` + the same `startedMs#runId` sort key as DynamoDB's `sk`.
fn run_key(r: &RunRecord) -> String {
    key(&[
        r.tenant.as_str(),
        r.connection.as_str(),
        &crate::aws::dynamo::keys::millis_key(r.started_at),
        &r.id,
    ])
}

#[async_trait]
impl RunStore for EmbeddedStore {
    async fn record(&self, run: &RunRecord) -> StoreResult<()> {
        let run = run.prepared()?;
        let k = run_key(&run);
        EmbeddedStore::write(self, |s, now| {
            s.runs.retain(|_, r| r.live(now));
            s.runs.insert(k, run);
            Ok(())
        })
        .await
    }

    async fn list(
        &self,
        tenant: &TenantId,
        connection: &ConnectionId,
        page: &PageRequest,
    ) -> StoreResult<Page<RunRecord>> {
        // Every key of the connection lies in [`t#c#`, `t#c$`) (`$` follows `#`).
        let conn = key(&[tenant.as_str(), connection.as_str()]);
        let (from, to) = (format!("{conn}#"), format!("{conn}$"));
        self.read(|s, now| {
            let newest_first = s
                .runs
                .range(from..to)
                .rev()
                .filter(|(_, r)| r.live(now))
                .map(|(k, r)| (k.clone(), r.clone()));
            page_of_desc(newest_first, page)
        })
        .await
    }
}
