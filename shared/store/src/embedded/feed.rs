//! The per-tenant change feed.

use async_trait::async_trait;

use super::EmbeddedStore;
use crate::error::StoreResult;
use crate::ids::TenantId;
use crate::model::*;
use crate::ports::*;
use crate::util::{check_parts, millis};

#[async_trait]
impl ChangeFeed for EmbeddedStore {
    async fn append(
        &self,
        tenant: &TenantId,
        changes: Vec<NewChange>,
    ) -> StoreResult<Vec<ChangeEntry>> {
        for c in &changes {
            check_parts(&[("object", &c.object), ("sf_id", &c.sf_id)])?;
        }
        self.write(|s, now| {
            let seq = s.change_seq.entry(tenant.to_string()).or_default();
            let feed = s.changes.entry(tenant.to_string()).or_default();
            let mut out = Vec::with_capacity(changes.len());
            for c in changes {
                *seq += 1;
                let entry = c.into_entry(tenant, *seq, millis(now));
                feed.push(entry.clone());
                out.push(entry);
            }
            Ok(out)
        })
        .await
    }

    async fn read(&self, tenant: &TenantId, after: u64, limit: u32) -> StoreResult<ChangeBatch> {
        let limit = PageRequest::first(limit).effective_limit();
        Ok(EmbeddedStore::read(self, |s, _| {
            let feed = s
                .changes
                .get(tenant.as_str())
                .map_or(&[][..], |v| v.as_slice());
            let mut rest = feed.iter().filter(|e| e.seq > after);
            let entries: Vec<ChangeEntry> = rest.by_ref().take(limit).cloned().collect();
            let has_more = rest.next().is_some();
            let next_after = entries.last().map_or(after, |e| e.seq);
            ChangeBatch {
                entries,
                next_after,
                has_more,
            }
        })
        .await)
    }
}
