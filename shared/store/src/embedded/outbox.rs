//! Per-connection outboxes: one lock makes every append atomic and ordered.

use std::collections::BTreeMap;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use super::EmbeddedStore;
use super::state::key;
use crate::error::StoreResult;
use crate::ids::{ConnectionId, TenantId};
use crate::outbox::{MAX_OUTBOX_READ, NewOutboxEntry, OutboxEntry, OutboxStore};
use crate::util::millis;

/// One connection's outbox.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub(super) struct Outbox {
    /// The last sequence number handed out.
    pub last_seq: u64,
    pub entries: BTreeMap<u64, OutboxEntry>,
}

#[async_trait]
impl OutboxStore for EmbeddedStore {
    async fn append(
        &self,
        tenant: &TenantId,
        connection: &ConnectionId,
        entries: Vec<NewOutboxEntry>,
    ) -> StoreResult<Vec<OutboxEntry>> {
        let k = key(&[tenant.as_str(), connection.as_str()]);
        self.write(|s, now| {
            let outbox = s.outboxes.entry(k).or_default();
            let mut out = Vec::with_capacity(entries.len());
            for e in entries {
                outbox.last_seq += 1;
                let entry = OutboxEntry {
                    tenant: tenant.clone(),
                    connection: connection.clone(),
                    seq: outbox.last_seq,
                    event_id: e.event_id,
                    body: e.body,
                    appended_at: millis(now),
                };
                outbox.entries.insert(entry.seq, entry.clone());
                out.push(entry);
            }
            Ok(out)
        })
        .await
    }

    async fn oldest(
        &self,
        tenant: &TenantId,
        connection: &ConnectionId,
        limit: u32,
    ) -> StoreResult<Vec<OutboxEntry>> {
        let k = key(&[tenant.as_str(), connection.as_str()]);
        let limit = limit.clamp(1, MAX_OUTBOX_READ) as usize;
        Ok(self
            .read(|s, _| {
                s.outboxes
                    .get(&k)
                    .map(|o| o.entries.values().take(limit).cloned().collect())
            })
            .await
            .unwrap_or_default())
    }

    async fn remove(
        &self,
        tenant: &TenantId,
        connection: &ConnectionId,
        seqs: &[u64],
    ) -> StoreResult<()> {
        let k = key(&[tenant.as_str(), connection.as_str()]);
        self.write(|s, _| {
            if let Some(outbox) = s.outboxes.get_mut(&k) {
                for seq in seqs {
                    outbox.entries.remove(seq);
                }
            }
            Ok(())
        })
        .await
    }
}
