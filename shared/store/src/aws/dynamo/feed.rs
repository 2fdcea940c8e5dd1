//! The per-tenant change feed.

use async_trait::async_trait;
use aws_sdk_dynamodb::types::ReturnValue;
use chrono::{DateTime, Utc};

use super::keys::*;
use super::{DynamoStore, SERVICE, data_of, item, n, num_of, s, with_data};
use crate::aws::errors::classify;
use crate::error::{StoreError, StoreResult};
use crate::ids::TenantId;
use crate::model::*;
use crate::ports::*;
use crate::util::check_parts;

#[async_trait]
impl ChangeFeed for DynamoStore {
    async fn append(
        &self,
        tenant: &TenantId,
        changes: Vec<NewChange>,
    ) -> StoreResult<Vec<ChangeEntry>> {
        if changes.is_empty() {
            return Ok(Vec::new());
        }
        for c in &changes {
            check_parts(&[("object", &c.object), ("sf_id", &c.sf_id)])?;
        }
        // Reserve a block of sequence numbers atomically.
        let count = changes.len() as u64;
        let out = self
            .client
            .update_item()
            .table_name(&self.table)
            .key(PK, s(tenant_pk(tenant)))
            .key(SK, s(CHANGE_SEQ_SK))
            .update_expression("ADD seq :n")
            .expression_attribute_values(":n", n(count))
            .return_values(ReturnValue::UpdatedNew)
            .send()
            .await
            .map_err(|e| classify(SERVICE, "UpdateItem", e))?;
        let last = num_of(&out.attributes.unwrap_or_default(), "seq")?
            .ok_or_else(|| StoreError::corrupt(tenant_pk(tenant), "sequence counter missing"))?;
        let first = last + 1 - count;
        let at = self.now();
        let entries: Vec<ChangeEntry> = changes
            .into_iter()
            .zip(first..)
            .map(|(c, seq)| c.into_entry(tenant, seq, at))
            .collect();
        let items = entries
            .iter()
            .map(|e| with_data(item(&tenant_pk(tenant), &change_sk(e.seq)), e))
            .collect::<StoreResult<Vec<_>>>()?;
        self.batch_put(items).await?;
        Ok(entries)
    }

    async fn read(&self, tenant: &TenantId, after: u64, limit: u32) -> StoreResult<ChangeBatch> {
        let limit = PageRequest::first(limit).effective_limit();
        let q = self
            .query()
            .key_condition_expression("pk = :pk AND sk BETWEEN :a AND :b")
            .expression_attribute_values(":pk", s(tenant_pk(tenant)))
            .expression_attribute_values(":a", s(change_sk(after.saturating_add(1))))
            .expression_attribute_values(":b", s(change_sk(u64::MAX)))
            .consistent_read(true);
        // One extra item tells whether more exist.
        let (items, _) = self.query_items(q, limit + 1, None).await?;
        let entries = items
            .iter()
            .map(data_of)
            .collect::<StoreResult<Vec<ChangeEntry>>>()?;
        let (mut entries, held_at_gap) = contiguous_prefix(entries, after, self.now());
        let has_more = held_at_gap || entries.len() > limit;
        entries.truncate(limit);
        let next_after = entries.last().map_or(after, |e| e.seq);
        Ok(ChangeBatch {
            entries,
            next_after,
            has_more,
        })
    }
}

/// How long a hole in the sequence may stay open before readers skip it. Appenders
/// reserve numbers first and write after, so a reader can see 6 before 5 is written;
/// a hole older than this belongs to an appender that died.
pub(crate) const GAP_GRACE: chrono::Duration = chrono::Duration::seconds(30);

/// Keeps the entries up to the first young gap after `after`; `true` if it stopped
/// at one (more will come).
pub(crate) fn contiguous_prefix(
    entries: Vec<ChangeEntry>,
    after: u64,
    now: DateTime<Utc>,
) -> (Vec<ChangeEntry>, bool) {
    let mut expected = after.saturating_add(1);
    let mut out = Vec::with_capacity(entries.len());
    for e in entries {
        if e.seq != expected && now - e.at < GAP_GRACE {
            return (out, true);
        }
        expected = e.seq.saturating_add(1);
        out.push(e);
    }
    (out, false)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::ConnectionId;

    fn entry(seq: u64, at: DateTime<Utc>) -> ChangeEntry {
        ChangeEntry {
            tenant: TenantId::new("t").unwrap(),
            seq,
            connection: ConnectionId::new("c").unwrap(),
            object: "Contact".into(),
            sf_id: format!("003{seq}"),
            app_id: None,
            kind: ChangeKind::Upsert,
            payload: serde_json::Value::Null,
            at,
        }
    }

    fn seqs(v: &[ChangeEntry]) -> Vec<u64> {
        v.iter().map(|e| e.seq).collect()
    }

    #[test]
    fn readers_wait_at_a_young_gap_and_skip_an_old_one() {
        let now = Utc::now();
        let young = vec![entry(4, now), entry(5, now), entry(7, now)];
        let (got, held) = contiguous_prefix(young, 3, now);
        assert_eq!((seqs(&got), held), (vec![4, 5], true));

        let old = now - GAP_GRACE - chrono::Duration::seconds(1);
        let (got, held) = contiguous_prefix(vec![entry(4, old), entry(6, old)], 3, now);
        assert_eq!((seqs(&got), held), (vec![4, 6], false));

        // A gap right at the start counts too.
        let (got, held) = contiguous_prefix(vec![entry(5, now)], 3, now);
        assert_eq!((seqs(&got), held), (vec![], true));
    }
}
