//! The app side of the drift comparison (issue 13 item 9, seed 002). crmsync never reads
//! app records, so the app sends its current values for a page of records
//! (`POST /v1/connections/{c}/drift-check`); each is compared with the hashes its links
//! keep of what crmsync last carried ([`crmsync_core::drift::app_drift`]). The outbound
//! fields that differ (an app change that never reached crmsync) are queued as one update
//! event per record through the normal push path (the outbox), so per-record order,
//! idempotency, the rules, toggles and the conflict policy hold as for any app event: the
//! event's `occurred_at` is the record's `modified_at`, so a Salesforce change made after
//! it still wins under `most_recent` and `crm_wins` (and a value the app has not taken
//! from the feed yet is not written back over Salesforce). No Salesforce call; one store
//! read per linkable object per record, and one outbox append.
//!
//! The event id is derived from the record and the values it carries, so the same request
//! sent twice queues the same event, which the push applies once.

use crmsync_core::event::AppEvent;
use crmsync_core::types::{AppObject, EventKind, FieldMap};
use crmsync_store::{ConnectionId, TenantId};
use serde::{Deserialize, Serialize};
use sha2::Digest;

use crate::app::App;
use crate::error::ServiceError;
use crate::runs::{RunKind, RunSummary};

/// Most records one request compares.
pub const MAX_RECORDS: usize = 200;

/// A page of app records with their current values.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DriftCheckRequest {
    /// 1 to 200 records.
    pub records: Vec<AppValues>,
}

/// One app record as the app holds it now.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AppValues {
    pub app_object: AppObject,
    pub app_id: String,
    /// When the app last changed the record (RFC 3339): the queued event's `occurred_at`,
    /// which the conflict policy judges.
    pub modified_at: String,
    /// The record's current values by app field (those not sent are not compared).
    #[schema(value_type = std::collections::BTreeMap<String, serde_json::Value>)]
    pub fields: FieldMap,
}

/// What the comparison found and queued.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct DriftCheckResult {
    /// Records compared (linked to a Salesforce record).
    pub compared: u64,
    /// Records not linked (nothing to compare; a create event links them).
    pub not_linked: Vec<String>,
    /// Records with outbound values that differ: each queued as one update event.
    pub queued: Vec<QueuedFix>,
}

/// One update event queued for a drifted record.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct QueuedFix {
    pub app_object: AppObject,
    pub app_id: String,
    /// Its report is at `GET …/reports/{event_id}`.
    pub event_id: String,
    /// The app fields that differ (and only these are sent).
    pub fields: Vec<String>,
}

/// Compares the app's values with what crmsync last carried and queues the differences.
pub async fn check(
    app: &App,
    tenant: &TenantId,
    id: &ConnectionId,
    request: DriftCheckRequest,
) -> Result<DriftCheckResult, ServiceError> {
    if request.records.is_empty() || request.records.len() > MAX_RECORDS {
        return Err(ServiceError::bad_request(
            "records",
            format!("must hold 1 to {MAX_RECORDS} records"),
        ));
    }
    let connection = crate::guard::connection(app, tenant, id).await?;
    if !connection.sync_enabled {
        return Err(ServiceError::Conflict(format!(
            "connection {}: the sync is turned off; turn it on (POST /v1/connections/{{c}}/sync) before a drift check",
            id.as_str()
        )));
    }
    let config = crate::config_service::load_or_init(app, tenant, id)
        .await?
        .config;
    let mut run = RunSummary::new(tenant.as_str(), id.as_str(), RunKind::DriftCheck, app.now());
    let mut result = DriftCheckResult {
        compared: 0,
        not_linked: Vec::new(),
        queued: Vec::new(),
    };
    let mut events = Vec::new();
    for (i, record) in request.records.into_iter().enumerate() {
        let path = format!("records[{i}]");
        if chrono::DateTime::parse_from_rfc3339(&record.modified_at).is_err() {
            return Err(ServiceError::bad_request(
                format!("{path}.modified_at"),
                "must be an RFC 3339 date and time",
            ));
        }
        let links =
            crate::links::links_of(app, tenant, id, record.app_object.as_str(), &record.app_id)
                .await?;
        // The record's own Salesforce records (a contact's Lead or Contact, a company's
        // Account): those its fields map to.
        let own: Vec<_> = links
            .iter()
            .filter(|(sf_object, _)| {
                config
                    .object(sf_object)
                    .is_some_and(|o| o.app_object == record.app_object)
            })
            .collect();
        if own.is_empty() {
            result
                .not_linked
                .push(format!("{}:{}", record.app_object.as_str(), record.app_id));
            continue;
        }
        result.compared += 1;
        let mut drifted: Vec<String> = Vec::new();
        for (sf_object, link) in own {
            for m in crmsync_core::drift::app_drift(&config, sf_object, &record.fields, link) {
                if !drifted.contains(&m.app_field) {
                    drifted.push(m.app_field.clone());
                }
            }
        }
        if drifted.is_empty() {
            continue;
        }
        let fields: FieldMap = drifted
            .iter()
            .filter_map(|f| record.fields.get(f).map(|v| (f.clone(), v.clone())))
            .collect();
        let event = AppEvent {
            event_id: event_id(&record, &fields),
            kind: EventKind::Update,
            app_object: record.app_object,
            app_id: record.app_id.clone(),
            occurred_at: record.modified_at.clone(),
            fields,
            sale_items: Vec::new(),
            associated_contacts: Vec::new(),
        };
        event
            .validate()
            .map_err(|e| ServiceError::bad_request(path, e.to_string()))?;
        result.queued.push(QueuedFix {
            app_object: record.app_object,
            app_id: record.app_id,
            event_id: event.event_id.clone(),
            fields: drifted,
        });
        events.push(event);
    }
    crate::ingest::enqueue_events(app, tenant, id, events).await?;
    let stats = run.drift();
    stats.compared = result.compared;
    stats.app_drifted = result.queued.len() as u64;
    stats.app_fixed = result.queued.len() as u64;
    run.finished_at = app.now();
    crate::runs::save(app, &run).await;
    Ok(result)
}

/// `drift-` and a digest of the record and the values sent: the same values queue the same
/// event (applied once), a later change a new one.
fn event_id(record: &AppValues, fields: &FieldMap) -> String {
    let text = serde_json::json!([record.app_object, record.app_id, record.modified_at, fields])
        .to_string();
    let digest = sha2::Sha256::digest(text.as_bytes());
    format!("drift-{}", hex::encode(&digest[..16]))
}
