//! Per-event report entries.

use async_trait::async_trait;

use super::keys::*;
use super::{DynamoStore, Item, SERVICE, data_of, decode_page, encode_page, item, n, s, with_data};
use crate::aws::errors::classify;
use crate::error::StoreResult;
use crate::ids::{ConnectionId, TenantId};
use crate::model::*;
use crate::ports::*;
use crate::util::{check_parts, millis};

/// The stored item of an entry: data, status index keys and expiry.
fn report_item(entry: &ReportEntry) -> StoreResult<Item> {
    check_parts(&[("event_id", &entry.event_id), ("object", &entry.object)])?;
    let mut e = entry.clone();
    e.created_at = millis(e.created_at);
    e.updated_at = millis(e.updated_at);
    e.expires_at = e.expires_at.map(millis);
    let mut it = item(
        &tenant_pk(&e.tenant),
        &report_sk(&e.connection, &e.event_id),
    );
    it.insert(
        GSI1PK.into(),
        s(report_gsi(&e.tenant, &e.connection, e.status.as_str())),
    );
    it.insert(GSI1SK.into(), s(report_gsi_sk(e.updated_at, &e.event_id)));
    it.insert("object".into(), s(&e.object));
    if let Some(x) = e.expires_at {
        it.insert(TTL.into(), n(x.timestamp()));
        it.insert("until_ms".into(), n(x.timestamp_millis()));
    }
    with_data(it, &e)
}

#[async_trait]
impl ReportStore for DynamoStore {
    async fn write(&self, entry: &ReportEntry) -> StoreResult<()> {
        self.put_item(report_item(entry)?, "PutItem").await
    }

    async fn write_if_status(
        &self,
        entry: &ReportEntry,
        expected: ReportStatus,
    ) -> StoreResult<()> {
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(report_item(entry)?))
            .condition_expression(
                "#d.#st = :expected AND (attribute_not_exists(until_ms) OR until_ms > :now)",
            )
            .expression_attribute_names("#d", "data")
            .expression_attribute_names("#st", "status")
            .expression_attribute_values(":expected", s(expected.as_str()))
            .expression_attribute_values(":now", n(self.now().timestamp_millis()))
            .send()
            .await
            .map_err(|e| classify(SERVICE, "PutItem", e))?;
        Ok(())
    }

    async fn get(
        &self,
        tenant: &TenantId,
        connection: &ConnectionId,
        event_id: &str,
    ) -> StoreResult<Option<ReportEntry>> {
        check_parts(&[("event_id", event_id)])?;
        let entry: Option<ReportEntry> = self
            .get_data(&tenant_pk(tenant), &report_sk(connection, event_id))
            .await?;
        let now = self.now();
        Ok(entry.filter(|e| e.expires_at.is_none_or(|x| x > now)))
    }

    async fn list(&self, q: &ReportQuery) -> StoreResult<Page<ReportEntry>> {
        if let Some(o) = &q.object {
            check_parts(&[("object", o)])?;
        }
        let from = q
            .from
            .map_or_else(|| "0".repeat(15), |f| millis_key(millis(f)));
        // `ms#event` sorts after `ms`, so `< to` excludes the `to` millisecond: [from, to).
        let to =
            q.to.map_or_else(|| "9".repeat(15), |t| millis_key(millis(t)));
        let mut filter = "(attribute_not_exists(until_ms) OR until_ms > :now)".to_string();
        let mut query = self
            .query()
            .index_name(GSI1)
            .key_condition_expression("gsi1pk = :g AND gsi1sk BETWEEN :from AND :to")
            .expression_attribute_values(
                ":g",
                s(report_gsi(&q.tenant, &q.connection, q.status.as_str())),
            )
            .expression_attribute_values(":from", s(from))
            .expression_attribute_values(":to", s(to))
            .expression_attribute_values(":now", n(self.now().timestamp_millis()))
            .scan_index_forward(false);
        if let Some(o) = &q.object {
            filter.push_str(" AND #obj = :obj");
            query = query
                .expression_attribute_names("#obj", "object")
                .expression_attribute_values(":obj", s(o));
        }
        let query = query.filter_expression(filter);
        let start = decode_page(q.page.token.as_ref())?;
        let (items, next) = self
            .query_items(query, q.page.effective_limit(), start)
            .await?;
        Ok(Page {
            items: items.iter().map(data_of).collect::<StoreResult<_>>()?,
            next: encode_page(next.as_ref()),
        })
    }
}
