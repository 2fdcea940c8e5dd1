//! Report entries (the Integration Reports table) and re-push.

use chrono::{DateTime, Utc};
use crmsync_store::{ConnectionId, PageRequest, ReportEntry, ReportQuery, ReportStatus, TenantId};
use serde::Serialize;
use sha2::{Digest, Sha256};

use super::connections::connection;
use super::cursor::{decode_cursor, encode_cursor, listing_err};
use super::{DEFAULT_REPORT_LIMIT, MAX_REPORT_LIMIT, store_err};
use crate::app::App;
use crate::error::ServiceError;
use crate::parked;

/// Filters of the report listing; `cursor` is the `next_cursor` of the previous page.
#[derive(Debug, Clone, PartialEq)]
pub struct ReportFilter {
    pub status: ReportStatus,
    pub object: Option<String>,
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
    pub cursor: Option<String>,
    pub limit: Option<u32>,
}

/// One event's outcome as the Integration Reports table shows it.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct ReportView {
    pub event_id: String,
    pub object: String,
    pub app_id: Option<String>,
    pub sf_id: Option<String>,
    pub status: ReportStatus,
    pub code: Option<String>,
    pub reason: Option<String>,
    /// Whether the original event is kept, so it can be re-pushed.
    pub repushable: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub expires_at: Option<DateTime<Utc>>,
}

impl From<&ReportEntry> for ReportView {
    fn from(e: &ReportEntry) -> Self {
        Self {
            event_id: e.event_id.clone(),
            object: e.object.clone(),
            app_id: e.app_id.clone(),
            sf_id: e.sf_id.clone(),
            status: e.status,
            code: e.code.clone(),
            reason: e.reason.clone(),
            repushable: e.payload.is_some(),
            created_at: e.created_at,
            updated_at: e.updated_at,
            expires_at: e.expires_at,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct ReportPage {
    pub entries: Vec<ReportView>,
    /// Pass back as `cursor` for the next page; absent on the last page.
    pub next_cursor: Option<String>,
}

/// One entry with the app event it carried (the app's own data; never tokens).
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct ReportDetail {
    #[serde(flatten)]
    pub entry: ReportView,
    pub event: Option<serde_json::Value>,
}

/// Binds a page token to the query it continues, so a cursor from one tenant, connection
/// or filter cannot be replayed against another.
fn query_fingerprint(tenant: &TenantId, id: &ConnectionId, f: &ReportFilter) -> String {
    let shape = format!(
        "{}|{}|{}|{}|{:?}|{:?}",
        tenant.as_str(),
        id.as_str(),
        f.status.as_str(),
        f.object.as_deref().unwrap_or(""),
        f.from.map(|t| t.timestamp_millis()),
        f.to.map(|t| t.timestamp_millis()),
    );
    hex::encode(&Sha256::digest(shape.as_bytes())[..8])
}

pub async fn list_reports(
    app: &App,
    tenant: &TenantId,
    id: &ConnectionId,
    filter: &ReportFilter,
) -> Result<ReportPage, ServiceError> {
    let limit = filter.limit.unwrap_or(DEFAULT_REPORT_LIMIT);
    if limit == 0 || limit > MAX_REPORT_LIMIT {
        return Err(ServiceError::bad_request(
            "limit",
            format!("must be 1 to {MAX_REPORT_LIMIT}"),
        ));
    }
    if let (Some(from), Some(to)) = (filter.from, filter.to)
        && from >= to
    {
        return Err(ServiceError::bad_request("from", "must be before `to`"));
    }
    connection(app, tenant, id).await?;
    let fingerprint = query_fingerprint(tenant, id, filter);
    let token = filter
        .cursor
        .as_deref()
        .map(|c| decode_cursor(&fingerprint, c))
        .transpose()?;
    let page = app
        .stores
        .reports
        .list(&ReportQuery {
            tenant: tenant.clone(),
            connection: id.clone(),
            status: filter.status,
            object: filter.object.clone(),
            from: filter.from,
            to: filter.to,
            page: PageRequest { limit, token },
        })
        .await
        .map_err(listing_err)?;
    Ok(ReportPage {
        entries: page.items.iter().map(ReportView::from).collect(),
        next_cursor: page.next.as_ref().map(|t| encode_cursor(&fingerprint, t)),
    })
}

pub async fn get_report(
    app: &App,
    tenant: &TenantId,
    id: &ConnectionId,
    event_id: &str,
) -> Result<ReportDetail, ServiceError> {
    let entry = app
        .stores
        .reports
        .get(tenant, id, event_id)
        .await
        .map_err(store_err)?
        .ok_or_else(|| ServiceError::NotFound(format!("report entry for event {event_id}")))?;
    let event = entry.payload.as_ref().and_then(|p| p.get("event").cloned());
    Ok(ReportDetail {
        entry: ReportView::from(&entry),
        event,
    })
}

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Repushed {
    pub event_id: String,
    pub repush_id: String,
}

/// Re-pushes a reported event (the "Repush Event" button).
pub async fn repush(
    app: &App,
    tenant: &TenantId,
    id: &ConnectionId,
    event_id: &str,
) -> Result<Repushed, ServiceError> {
    let repush_id = parked::repush(app, tenant, id, event_id)
        .await
        .map_err(|e| match e {
            ServiceError::Store(s) => store_err(s),
            other => other,
        })?;
    Ok(Repushed {
        event_id: event_id.to_string(),
        repush_id,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reports::cursor::{decode_cursor, encode_cursor, listing_err};
    use crmsync_store::{ConnectionId, PageToken, StoreError, TenantId};

    fn filter() -> ReportFilter {
        ReportFilter {
            status: ReportStatus::Error,
            object: None,
            from: None,
            to: None,
            cursor: None,
            limit: None,
        }
    }

    #[test]
    fn cursors_round_trip_only_for_the_same_query() {
        let t = TenantId::new("t1").unwrap();
        let c = ConnectionId::new("production").unwrap();
        let fp = query_fingerprint(&t, &c, &filter());
        let cursor = encode_cursor(&fp, &PageToken("abc".into()));
        assert_eq!(
            decode_cursor(&fp, &cursor).unwrap(),
            PageToken("abc".into())
        );
        let other_tenant = query_fingerprint(&TenantId::new("t2").unwrap(), &c, &filter());
        assert!(decode_cursor(&other_tenant, &cursor).is_err());
        let mut f = filter();
        f.object = Some("Lead".into());
        assert!(decode_cursor(&query_fingerprint(&t, &c, &f), &cursor).is_err());
        let err = decode_cursor(&fp, "not base64!").unwrap_err();
        assert!(err.to_string().contains("cursor"), "{err}");
    }

    #[test]
    fn a_page_token_the_store_refuses_is_a_bad_cursor() {
        let refused = StoreError::InvalidInput {
            field: "page token".into(),
            message: "not a token of this listing".into(),
        };
        match listing_err(refused) {
            ServiceError::BadRequest { field, .. } => assert_eq!(field, "cursor"),
            other => panic!("{other:?}"),
        }
        let other = StoreError::InvalidInput {
            field: "object".into(),
            message: "bad".into(),
        };
        match listing_err(other) {
            ServiceError::BadRequest { field, .. } => assert_eq!(field, "object"),
            other => panic!("{other:?}"),
        }
        let failed = StoreError::Rejected {
            service: "dynamodb",
            operation: "Query",
            code: "ValidationException".into(),
            message: "x".into(),
        };
        assert_eq!(listing_err(failed).http_status(), 500);
    }
}
