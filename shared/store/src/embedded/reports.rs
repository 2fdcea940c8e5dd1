//! Per-event report entries.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::EmbeddedStore;
use super::paging::{decode_token, encode_token};
use super::state::key;
use crate::error::{StoreError, StoreResult};
use crate::ids::{ConnectionId, TenantId};
use crate::model::*;
use crate::ports::*;
use crate::util::{check_parts, millis};

fn report_live(e: &ReportEntry, now: DateTime<Utc>) -> bool {
    e.expires_at.is_none_or(|x| x > now)
}

#[async_trait]
impl ReportStore for EmbeddedStore {
    async fn write(&self, entry: &ReportEntry) -> StoreResult<()> {
        check_parts(&[("event_id", &entry.event_id), ("object", &entry.object)])?;
        let k = key(&[
            entry.tenant.as_str(),
            entry.connection.as_str(),
            &entry.event_id,
        ]);
        let mut entry = entry.clone();
        entry.created_at = millis(entry.created_at);
        entry.updated_at = millis(entry.updated_at);
        entry.expires_at = entry.expires_at.map(millis);
        EmbeddedStore::write(self, |s, now| {
            s.reports.retain(|_, e| report_live(e, now));
            s.reports.insert(k, entry);
            Ok(())
        })
        .await
    }

    async fn write_if_status(
        &self,
        entry: &ReportEntry,
        expected: ReportStatus,
    ) -> StoreResult<()> {
        check_parts(&[("event_id", &entry.event_id), ("object", &entry.object)])?;
        let k = key(&[
            entry.tenant.as_str(),
            entry.connection.as_str(),
            &entry.event_id,
        ]);
        let mut entry = entry.clone();
        entry.created_at = millis(entry.created_at);
        entry.updated_at = millis(entry.updated_at);
        entry.expires_at = entry.expires_at.map(millis);
        EmbeddedStore::write(self, |s, now| {
            let current = s.reports.get(&k).filter(|e| report_live(e, now));
            if current.is_none_or(|e| e.status != expected) {
                return Err(StoreError::Conflict(format!(
                    "report {} is not {}",
                    entry.event_id,
                    expected.as_str()
                )));
            }
            s.reports.insert(k, entry);
            Ok(())
        })
        .await
    }

    async fn get(
        &self,
        tenant: &TenantId,
        connection: &ConnectionId,
        event_id: &str,
    ) -> StoreResult<Option<ReportEntry>> {
        check_parts(&[("event_id", event_id)])?;
        let k = key(&[tenant.as_str(), connection.as_str(), event_id]);
        Ok(self
            .read(|s, now| s.reports.get(&k).filter(|e| report_live(e, now)).cloned())
            .await)
    }

    async fn list(&self, q: &ReportQuery) -> StoreResult<Page<ReportEntry>> {
        if let Some(o) = &q.object {
            check_parts(&[("object", o)])?;
        }
        self.read(|s, now| {
            let mut matching: Vec<&ReportEntry> = s
                .reports
                .values()
                .filter(|e| {
                    e.tenant == q.tenant
                        && e.connection == q.connection
                        && e.status == q.status
                        && q.object.as_ref().is_none_or(|o| &e.object == o)
                        && q.from.is_none_or(|f| e.updated_at >= millis(f))
                        && q.to.is_none_or(|t| e.updated_at < millis(t))
                        && report_live(e, now)
                })
                .collect();
            // Newest first by the same sort key as the DynamoDB index: (ms, event id).
            let sort_key =
                |e: &ReportEntry| format!("{:015}#{}", e.updated_at.timestamp_millis(), e.event_id);
            let before = match &q.page.token {
                Some(t) => Some(decode_token(t)?),
                None => None,
            };
            matching.retain(|e| before.as_ref().is_none_or(|b| sort_key(e) < *b));
            matching.sort_by_key(|e| std::cmp::Reverse(sort_key(e)));
            let limit = q.page.effective_limit();
            let more = matching.len() > limit;
            matching.truncate(limit);
            let next = if more {
                matching
                    .last()
                    .map(|e| PageToken(encode_token(&sort_key(e))))
            } else {
                None
            };
            Ok(Page {
                items: matching.into_iter().cloned().collect(),
                next,
            })
        })
        .await
    }
}
