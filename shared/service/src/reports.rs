//! The use cases behind the report API (flow 5): connection details, the sync run history, report
//! entries and re-push, the sync config with its status against describe, the change
//! feed, API quota use and the on-demand record lookup.
//!
//! Every function takes the authenticated tenant and passes it to every store call, so a
//! caller can never reach another tenant's data. Views leave out secret names and tokens.

use std::collections::BTreeMap;

use base64::Engine as _;
use chrono::{DateTime, NaiveDate, Utc};
use crmsync_core::config::{ConfigProblem, SyncConfig};
use crmsync_core::preflight::{self, MappingStatus, PicklistInspection, Status};
use crmsync_core::transform::FieldKind;
use crmsync_core::types::{FieldMap, FieldNote};
use crmsync_salesforce::SfClient;
use crmsync_salesforce::soql::{Condition, Literal, SoqlBuilder};
use crmsync_store::{
    ChangeEntry, ConnectedUser, Connection, ConnectionId, ConnectionStatus, Environment,
    PageRequest, PageToken, ReportEntry, ReportQuery, ReportStatus, RunRecord, StoreError,
    TenantId,
};
use futures::StreamExt;
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::app::App;
use crate::config_service::{self, VersionedConfig};
use crate::error::ServiceError;
use crate::poll::TestSegment;
use crate::runs::RunSummary;
use crate::{describe, parked, poll, quota};

/// Default and largest page sizes of the report listing.
pub const DEFAULT_REPORT_LIMIT: u32 = 50;
pub const MAX_REPORT_LIMIT: u32 = 1000;
/// Default page size of the change feed (the store clamps to 1..=1000).
pub const DEFAULT_CHANGE_LIMIT: u32 = 100;

/// Store errors caused by the caller's input are the caller's problem (400/404), not ours.
fn store_err(e: StoreError) -> ServiceError {
    match e {
        StoreError::InvalidInput { field, message } => ServiceError::bad_request(field, message),
        StoreError::NotFound(what) => ServiceError::NotFound(what),
        other => other.into(),
    }
}

// ---------------------------------------------------------------- connection details

/// The Connection Details panel: everything but secrets.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ConnectionDetails {
    pub connection: String,
    /// `Connected | ReconnectNeeded | Failed | Disconnected`.
    pub status: ConnectionStatus,
    pub environment: Environment,
    pub org_id: String,
    pub org_name: String,
    pub instance_url: String,
    pub connected_user: ConnectedUser,
    pub last_sync_at: Option<DateTime<Utc>>,
    pub last_error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// The last provisioning run (`provisioned`, `partial`, `refused` with its reason).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub provisioning: Option<crmsync_store::Provisioning>,
}

impl From<&Connection> for ConnectionDetails {
    fn from(c: &Connection) -> Self {
        Self {
            connection: c.id.as_str().to_string(),
            status: c.status,
            environment: c.environment,
            org_id: c.org_id.clone(),
            org_name: c.org_name.clone(),
            instance_url: c.instance_url.clone(),
            connected_user: c.user.clone(),
            last_sync_at: c.last_sync_at,
            last_error: c.last_error.clone(),
            created_at: c.created_at,
            updated_at: c.updated_at,
            provisioning: c.provisioning.clone(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ConnectionList {
    pub connections: Vec<ConnectionDetails>,
}

pub async fn list_connections(
    app: &App,
    tenant: &TenantId,
) -> Result<ConnectionList, ServiceError> {
    let mut found = app
        .stores
        .connections
        .list_for_tenant(tenant)
        .await
        .map_err(store_err)?;
    found.sort_by(|a, b| a.id.cmp(&b.id));
    Ok(ConnectionList {
        connections: found.iter().map(ConnectionDetails::from).collect(),
    })
}

/// The stored connection, or 404.
async fn connection(
    app: &App,
    tenant: &TenantId,
    id: &ConnectionId,
) -> Result<Connection, ServiceError> {
    app.stores
        .connections
        .get(tenant, id)
        .await
        .map_err(store_err)?
        .ok_or_else(|| ServiceError::NotFound(format!("connection {}", id.as_str())))
}

pub async fn get_connection(
    app: &App,
    tenant: &TenantId,
    id: &ConnectionId,
) -> Result<ConnectionDetails, ServiceError> {
    Ok(ConnectionDetails::from(&connection(app, tenant, id).await?))
}

/// A connection that can talk to Salesforce now, with its client.
async fn live_client(
    app: &App,
    tenant: &TenantId,
    id: &ConnectionId,
) -> Result<SfClient, ServiceError> {
    let conn = connection(app, tenant, id).await?;
    match conn.status {
        ConnectionStatus::ReconnectNeeded => {
            Err(ServiceError::ReconnectNeeded(id.as_str().to_string()))
        }
        ConnectionStatus::Disconnected => Err(ServiceError::Conflict(format!(
            "connection {} is disconnected; connect it first",
            id.as_str()
        ))),
        ConnectionStatus::Connected | ConnectionStatus::Failed => app.salesforce.client(&conn),
    }
}

// ---------------------------------------------------------------- sync runs

/// Default page size of the run history.
pub const DEFAULT_RUN_LIMIT: u32 = 50;

/// One finished run of the history.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RunView {
    pub id: String,
    /// `poll | test_sync | sweep`.
    pub kind: String,
    /// `completed | capped | not_connected | quota_paused | not_ready | failed`.
    pub status: String,
    pub started_at: DateTime<Utc>,
    pub finished_at: DateTime<Utc>,
    /// Removed from the history after this.
    pub expires_at: Option<DateTime<Utc>>,
    /// What the run did: the run summary as the run returned it (per-object counts,
    /// skip reasons, messages, API calls), the same shape `POST .../test-sync` answers.
    pub summary: serde_json::Value,
    /// The summary was too large to keep whole and was stored cut down.
    pub summary_truncated: bool,
}

impl From<&RunRecord> for RunView {
    fn from(r: &RunRecord) -> Self {
        Self {
            id: r.id.clone(),
            kind: r.kind.clone(),
            status: r.status.clone(),
            started_at: r.started_at,
            finished_at: r.finished_at,
            expires_at: r.expires_at,
            summary: r.summary.clone(),
            summary_truncated: r.summary_truncated,
        }
    }
}

/// The run history of a connection: polls, test syncs and sweeps of the last
/// [`crate::runs::RUN_HISTORY_DAYS`] days, newest first. Runs that found another worker
/// already syncing the connection (`busy`) are not kept.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RunList {
    pub connection: String,
    pub runs: Vec<RunView>,
    /// Pass back as `cursor` for the next page; absent on the last page.
    pub next_cursor: Option<String>,
    /// When the last poll that completed (or stopped at its cap) finished.
    pub last_sync_at: Option<DateTime<Utc>>,
    /// Always `true`: runs are recorded as they finish.
    pub history_recorded: bool,
}

/// Binds a run-history page token to the tenant and connection it continues.
fn runs_fingerprint(tenant: &TenantId, id: &ConnectionId) -> String {
    let shape = format!("runs|{}|{}", tenant.as_str(), id.as_str());
    hex::encode(&Sha256::digest(shape.as_bytes())[..8])
}

/// One page of a connection's run history (`cursor` is the previous page's
/// `next_cursor`; `limit` 1 to [`MAX_REPORT_LIMIT`], default [`DEFAULT_RUN_LIMIT`]).
pub async fn list_runs(
    app: &App,
    tenant: &TenantId,
    id: &ConnectionId,
    cursor: Option<&str>,
    limit: Option<u32>,
) -> Result<RunList, ServiceError> {
    let limit = limit.unwrap_or(DEFAULT_RUN_LIMIT);
    if limit == 0 || limit > MAX_REPORT_LIMIT {
        return Err(ServiceError::bad_request(
            "limit",
            format!("must be 1 to {MAX_REPORT_LIMIT}"),
        ));
    }
    let conn = connection(app, tenant, id).await?;
    let fingerprint = runs_fingerprint(tenant, id);
    let token = cursor.map(|c| decode_cursor(&fingerprint, c)).transpose()?;
    let page = app
        .stores
        .runs
        .list(tenant, id, &PageRequest { limit, token })
        .await
        .map_err(listing_err)?;
    Ok(RunList {
        connection: id.as_str().to_string(),
        runs: page.items.iter().map(RunView::from).collect(),
        next_cursor: page.next.as_ref().map(|t| encode_cursor(&fingerprint, t)),
        last_sync_at: conn.last_sync_at,
        history_recorded: true,
    })
}

// ---------------------------------------------------------------- report entries

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
#[derive(Debug, Clone, PartialEq, Serialize)]
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

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ReportPage {
    pub entries: Vec<ReportView>,
    /// Pass back as `cursor` for the next page; absent on the last page.
    pub next_cursor: Option<String>,
}

/// One entry with the app event it carried (the app's own data; never tokens).
#[derive(Debug, Clone, PartialEq, Serialize)]
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

fn encode_cursor(fingerprint: &str, token: &PageToken) -> String {
    let raw = serde_json::json!({ "q": fingerprint, "k": token.0 }).to_string();
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(raw)
}

fn bad_cursor() -> ServiceError {
    ServiceError::bad_request(
        "cursor",
        "not a cursor of this listing (filters must stay the same)",
    )
}

/// [`store_err`] for a listing that took a caller's cursor: the store refusing the page
/// token inside it (a forged cursor whose key lies outside this listing) is the
/// cursor's fault, a 400 naming `cursor`.
fn listing_err(e: StoreError) -> ServiceError {
    match e {
        StoreError::InvalidInput { field, .. } if field == "page token" => bad_cursor(),
        other => store_err(other),
    }
}

fn decode_cursor(fingerprint: &str, cursor: &str) -> Result<PageToken, ServiceError> {
    let bad = bad_cursor;
    let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(cursor)
        .map_err(|_| bad())?;
    let value: serde_json::Value = serde_json::from_slice(&raw).map_err(|_| bad())?;
    if value.get("q").and_then(|q| q.as_str()) != Some(fingerprint) {
        return Err(bad());
    }
    let token = value.get("k").and_then(|k| k.as_str()).ok_or_else(bad)?;
    Ok(PageToken(token.to_string()))
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

#[derive(Debug, Clone, PartialEq, Serialize)]
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

// ---------------------------------------------------------------- sync config

/// The connection's config; the standard preset at version 0 (not stored) when it has
/// none yet, so reading never writes. Put with `expected_version` 0 to store it.
pub async fn get_config(
    app: &App,
    tenant: &TenantId,
    id: &ConnectionId,
) -> Result<VersionedConfig, ServiceError> {
    connection(app, tenant, id).await?;
    Ok(config_service::load(app, tenant, id)
        .await?
        .unwrap_or_else(|| VersionedConfig {
            version: 0,
            config: SyncConfig::standard(),
        }))
}

/// Parses and validates a config; on failure every problem, each with its path under `config`.
pub fn check_config(raw: &serde_json::Value) -> Result<SyncConfig, Vec<ConfigProblem>> {
    let config: SyncConfig = serde_path_to_error::deserialize(raw).map_err(|e| {
        let path = e.path().to_string();
        let path = if path == "." {
            "config".to_string()
        } else {
            format!("config.{path}")
        };
        vec![ConfigProblem {
            path,
            message: e.into_inner().to_string(),
        }]
    })?;
    config.validate().map_err(|e| {
        e.problems()
            .into_iter()
            .map(|p| ConfigProblem {
                path: format!("config.{}", p.path),
                message: p.message,
            })
            .collect::<Vec<_>>()
    })?;
    Ok(config)
}

/// Replaces the config after validation; `expected_version` guards against lost updates.
pub async fn put_config(
    app: &App,
    tenant: &TenantId,
    id: &ConnectionId,
    expected_version: u64,
    raw: &serde_json::Value,
) -> Result<VersionedConfig, ServiceError> {
    connection(app, tenant, id).await?;
    if let Err(problems) = check_config(raw) {
        let text = problems
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("; ");
        return Err(ServiceError::InvalidConfig(text));
    }
    config_service::replace(app, tenant, id, expected_version, raw).await
}

/// A Salesforce field Salesforce requires on create, and whether a mapping fills it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RequiredField {
    pub object: String,
    pub field: String,
    pub field_type: String,
    pub mapped: bool,
}

/// An object whose describe failed (missing, hidden from the connected user...).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DescribeProblem {
    pub object: String,
    pub message: String,
}

/// The config screens' status: mapping status Ok/Issue, picklist inspection and readiness.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ConfigStatus {
    pub version: u64,
    /// Whether the sync may run: no readiness problem, no mapping issue, every object described.
    pub ready: bool,
    pub mappings: Vec<MappingStatus>,
    /// Dropdown mappings. App values come from the config (value maps, inbound allow lists,
    /// defaults): crmsync does not know the app's dropdown options otherwise.
    pub picklists: Vec<PicklistInspection>,
    /// Structural problems and unmapped required app fields (the sync will not run).
    pub readiness: Vec<ConfigProblem>,
    /// Salesforce fields required on create, for objects the app creates records in.
    pub required_salesforce_fields: Vec<RequiredField>,
    pub describe_problems: Vec<DescribeProblem>,
    /// The last provisioning run, as recorded on the connection (`None` before the first).
    pub provisioning: Option<crmsync_store::Provisioning>,
    /// Each declared `custom_fields` entry against describe: `ok`, `missing` (absent or
    /// invisible to the integration user) or `type_mismatch` (exists with another type,
    /// left unchanged).
    pub custom_fields: Vec<CustomFieldStatus>,
}

/// A declared custom field as the org has it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CustomFieldStatus {
    pub object: String,
    pub api_name: String,
    pub declared_type: String,
    pub status: &'static str,
    /// The describe type found, when the field is visible.
    pub found_type: Option<String>,
}

fn known_app_values(config: &SyncConfig, m: &crmsync_core::config::FieldMapping) -> Vec<String> {
    let mut values = std::collections::BTreeSet::new();
    if let Some(vm) = config.value_map_for(m) {
        values.extend(vm.to_salesforce.keys().cloned());
        values.extend(vm.to_app.values().cloned());
    }
    if let Some(allow) = &m.inbound_allow {
        values.extend(allow.iter().cloned());
    }
    if let Some(serde_json::Value::String(d)) = &m.default {
        values.insert(d.clone());
    }
    values.into_iter().collect()
}

pub async fn config_status(
    app: &App,
    tenant: &TenantId,
    id: &ConnectionId,
) -> Result<ConfigStatus, ServiceError> {
    let client = live_client(app, tenant, id).await?;
    let versioned = get_config(app, tenant, id).await?;
    let config = &versioned.config;
    // Provisioning may have run in another process: read the declared fields' objects
    // fresh rather than from this process's describe cache.
    for spec in &config.custom_fields {
        client.invalidate_describe(&spec.object);
    }
    let mut describes = BTreeMap::new();
    let mut describe_problems = Vec::new();
    for (object, _) in config.enabled_objects() {
        match client.describe(object).await {
            Ok(d) => {
                describes.insert(object.to_string(), describe::to_core(&d)?);
            }
            Err(e) if e.is_auth() || e.is_retryable() => return Err(e.into()),
            Err(e) => describe_problems.push(DescribeProblem {
                object: object.to_string(),
                message: e.to_string(),
            }),
        }
    }
    let mappings = preflight::mapping_status(config, &describes);
    let mut picklists = Vec::new();
    let mut required_salesforce_fields = Vec::new();
    for (object, obj) in config.enabled_objects() {
        let Some(describe) = describes.get(object) else {
            continue;
        };
        for m in &obj.fields {
            let Some(field) = describe.field(&m.salesforce_field) else {
                continue;
            };
            let dropdown = matches!(m.kind, FieldKind::Picklist | FieldKind::MultiSelect)
                || matches!(field.field_type.as_str(), "picklist" | "multipicklist");
            if dropdown {
                picklists.push(preflight::inspect_picklist(
                    config,
                    m,
                    field,
                    &known_app_values(config, m),
                ));
            }
        }
        if obj.outbound.create {
            for f in describe
                .required_on_create()
                .filter(|f| f.field_type != "boolean")
            {
                let mapped = obj
                    .fields
                    .iter()
                    .any(|m| m.rule.outbound() && m.salesforce_field.eq_ignore_ascii_case(&f.name));
                required_salesforce_fields.push(RequiredField {
                    object: object.to_string(),
                    field: f.name.clone(),
                    field_type: f.field_type.clone(),
                    mapped,
                });
            }
        }
    }
    let mut custom_fields = Vec::new();
    for spec in &config.custom_fields {
        if !describes.contains_key(&spec.object)
            && let Ok(d) = client.describe(&spec.object).await
        {
            describes.insert(spec.object.clone(), describe::to_core(&d)?);
        }
        let found = describes
            .get(&spec.object)
            .and_then(|d| d.field(&spec.api_name))
            .map(|f| f.field_type.clone());
        let declared = spec.kind.describe_type();
        custom_fields.push(CustomFieldStatus {
            object: spec.object.clone(),
            api_name: spec.api_name.clone(),
            declared_type: declared.to_string(),
            status: match &found {
                None => "missing",
                Some(t) if t == declared => "ok",
                Some(_) => "type_mismatch",
            },
            found_type: found,
        });
    }
    let provisioning = connection(app, tenant, id).await?.provisioning;
    let mut readiness = config.readiness();
    readiness.extend(crmsync_core::record_types::problems(config, &describes));
    let ready = readiness.is_empty()
        && describe_problems.is_empty()
        && mappings.iter().all(|m| m.status == Status::Ok);
    Ok(ConfigStatus {
        version: versioned.version,
        ready,
        mappings,
        picklists,
        readiness,
        required_salesforce_fields,
        describe_problems,
        provisioning,
        custom_fields,
    })
}

// ---------------------------------------------------------------- test sync

/// Syncs a small segment without moving cursors (the "Run test sync" button).
pub async fn test_sync(
    app: &App,
    tenant: &TenantId,
    id: &ConnectionId,
    segment: TestSegment,
) -> Result<RunSummary, ServiceError> {
    connection(app, tenant, id).await?;
    poll::test_sync(app, tenant, id, segment)
        .await
        .map_err(|e| match e {
            ServiceError::Store(s) => store_err(s),
            other => other,
        })
}

// ---------------------------------------------------------------- change feed

#[derive(Debug, Clone, PartialEq, Serialize)]
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

// ---------------------------------------------------------------- quota

/// Today's API use: the org's (as Salesforce last reported it) and crmsync's own.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct QuotaView {
    pub connection: String,
    pub day: NaiveDate,
    pub crmsync_calls_today: u64,
    /// Share of the org's daily limit crmsync may use.
    pub share: f64,
    pub crmsync_allowance: u64,
    pub crmsync_remaining: u64,
    /// Last `Sforce-Limit-Info` seen (absent before the first call).
    pub org_used: Option<u64>,
    pub org_max: Option<u64>,
    /// The connected app's own quota in the org (`per-app-api-usage`), when the org sets one.
    pub app_used: Option<u64>,
    pub app_max: Option<u64>,
    pub limit_seen_at: Option<DateTime<Utc>>,
    /// Calls of the allowance kept for re-reading the org's limit while paused (work pauses
    /// this much short of the allowance).
    pub probe_reserve: u64,
    /// crmsync's calls an hour today (averaged since midnight UTC).
    pub calls_per_hour: f64,
    /// Today's calls by midnight UTC at that rate.
    pub projected_day_calls: u64,
    /// Polls run every `poll_slowdown` times their interval so the projection fits the
    /// allowance (1: not slowed).
    pub poll_slowdown: u32,
    pub paused: bool,
}

pub async fn quota_usage(
    app: &App,
    tenant: &TenantId,
    id: &ConnectionId,
) -> Result<QuotaView, ServiceError> {
    connection(app, tenant, id).await?;
    let today = app.now().date_naive();
    let usage = app
        .stores
        .quotas
        .usage(tenant, id, today)
        .await
        .map_err(store_err)?;
    let status = quota::check(
        usage.limit.as_ref(),
        usage.calls,
        app.settings.quota_share,
        0,
    );
    let projection = quota::project(usage.calls, status.work_allowance(), app.now());
    Ok(QuotaView {
        connection: id.as_str().to_string(),
        day: usage.day,
        crmsync_calls_today: usage.calls,
        share: app.settings.quota_share,
        crmsync_allowance: status.crmsync_allowance,
        crmsync_remaining: status.crmsync_allowance.saturating_sub(usage.calls),
        org_used: usage.limit.map(|l| l.used),
        org_max: usage.limit.map(|l| l.max),
        app_used: status.app_used,
        app_max: status.app_max,
        limit_seen_at: usage.limit.map(|l| l.seen_at),
        probe_reserve: status.probe_reserve,
        calls_per_hour: projection.calls_per_hour,
        projected_day_calls: projection.projected_day_calls,
        poll_slowdown: projection.poll_slowdown,
        paused: status.paused,
    })
}

// ---------------------------------------------------------------- on-demand lookup

/// One Salesforce record found by an index field, with its mapped fields in app terms.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LookupResult {
    pub object: String,
    pub id: String,
    pub app_object: String,
    /// App field → app value, through the config's inbound mappings for the object.
    pub fields: FieldMap,
    /// The Salesforce values read (mapped fields only).
    pub salesforce: serde_json::Map<String, serde_json::Value>,
    /// More than one record matched; the first (by Id) is returned.
    pub ambiguous: bool,
    /// Mappings that could not be applied, and why.
    pub notes: Vec<FieldNote>,
}

/// Letters, digits and underscores, starting with a letter (`Account`, `Site__c`).
fn is_api_name(s: &str) -> bool {
    s.len() <= 80
        && s.starts_with(|c: char| c.is_ascii_alphabetic())
        && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// Finds one record by an index field (idLookup, external id or unique) and returns its
/// mapped fields. The value is a typed, escaped literal; field names come from describe.
pub async fn lookup(
    app: &App,
    tenant: &TenantId,
    id: &ConnectionId,
    object: &str,
    field: &str,
    value: &str,
) -> Result<LookupResult, ServiceError> {
    if !is_api_name(object) {
        return Err(ServiceError::bad_request(
            "object",
            "not a Salesforce API name",
        ));
    }
    if value.is_empty() || value.len() > 1000 {
        return Err(ServiceError::bad_request(
            "value",
            "must be 1 to 1000 characters",
        ));
    }
    let client = live_client(app, tenant, id).await?;
    let versioned = get_config(app, tenant, id).await?;
    let config = &versioned.config;
    let obj = config.object(object).ok_or_else(|| {
        ServiceError::bad_request(
            "object",
            format!("{object} is not enabled in the sync config"),
        )
    })?;
    let describe = client.describe(object).await.map_err(|e| {
        if e.is_not_found() {
            ServiceError::NotFound(format!("Salesforce object {object}"))
        } else {
            e.into()
        }
    })?;
    let index = describe.field(field).ok_or_else(|| {
        ServiceError::bad_request("field", format!("{object} has no field {field}"))
    })?;
    if !(index.id_lookup || index.external_id || index.unique) {
        return Err(ServiceError::bad_request(
            "field",
            format!(
                "{} is not an index field (idLookup, external id or unique)",
                index.name
            ),
        ));
    }
    let literal = Literal::for_field(index, &serde_json::Value::String(value.to_string()))
        .map_err(|e| ServiceError::bad_request("value", e.to_string()))?;
    let mut notes = Vec::new();
    let mut selected = vec!["Id".to_string()];
    for m in obj.fields.iter().filter(|m| m.rule.inbound()) {
        match describe.field(&m.salesforce_field) {
            Some(f) => selected.push(f.name.clone()),
            None => notes.push(FieldNote::new(
                &m.app_field,
                format!("{object} has no field {}", m.salesforce_field),
            )),
        }
    }
    let soql = SoqlBuilder::new(&describe)
        .select(&selected)
        .filter(Condition::eq(&index.name, literal))
        .order_by("Id", crmsync_salesforce::soql::Order::Asc)
        .limit(2)
        .build()
        .map_err(|e| ServiceError::bad_request("field", e.to_string()))?;
    let mut pages = client.query(soql);
    let page = match pages.next().await {
        Some(page) => page?,
        None => {
            return Err(ServiceError::NotFound(format!(
                "{object} with {} = {value}",
                index.name
            )));
        }
    };
    let ambiguous = page.records.len() > 1 || page.total_size > 1;
    let record =
        page.records.into_iter().next().ok_or_else(|| {
            ServiceError::NotFound(format!("{object} with {} = {value}", index.name))
        })?;
    let mut fields = FieldMap::new();
    let mut salesforce = serde_json::Map::new();
    for m in obj.fields.iter().filter(|m| m.rule.inbound()) {
        let Some(sf_value) = record.get(&m.salesforce_field) else {
            continue;
        };
        salesforce.insert(m.salesforce_field.clone(), sf_value.clone());
        match crmsync_core::mapping::app_value_of(config, m, sf_value) {
            Ok(v) => {
                fields.insert(m.app_field.clone(), v);
            }
            Err(e) => notes.push(FieldNote::new(&m.app_field, e.to_string())),
        }
    }
    Ok(LookupResult {
        object: describe.name.clone(),
        id: record.id().unwrap_or_default().to_string(),
        app_object: obj.app_object.as_str().to_string(),
        fields,
        salesforce,
        ambiguous,
        notes,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

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

    #[test]
    fn config_problems_name_their_paths() {
        let mut raw = serde_json::to_value(SyncConfig::standard()).unwrap();
        raw["poll_cap"] = 0.into();
        let problems = check_config(&raw).unwrap_err();
        assert!(
            problems.iter().any(|p| p.path == "config.poll_cap"),
            "{problems:?}"
        );
        raw["poll_cap"] = 10.into();
        raw["bogus"] = true.into();
        let problems = check_config(&raw).unwrap_err();
        assert_eq!(problems[0].path, "config.bogus", "{problems:?}");
    }
}
