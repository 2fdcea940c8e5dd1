//! App-side import: many records of one app object at once (e.g. 100,000 contacts) go to
//! Salesforce through one Bulk API 2.0 ingest job instead of one collection call per 200.
//!
//! - [`start`] (`POST /v1/connections/{c}/imports`, `crmsync import`): checks the request,
//!   maps every record through the push's own planning ([`rows`]), uploads one CSV job
//!   ([`job`]), and carries it as far as the run's time allows.
//! - [`status`] (`GET …/imports/{id}`): phase, counts and each failure with its reason.
//! - [`resume`]: the minute poll continues unfinished imports from their checkpoint
//!   ([`state`]), so a job outlives any one Lambda invocation.
//!
//! Writes: `insert`, or `upsert` by `Crmsync_App_Id__c` = `<app_object>:<app_id>` when the
//! object was provisioned with crmsync's key field, so a record sent again updates the one
//! created before. Records already linked are left out (an update event updates them).
//! Records already in the org (same email or phone, per the connection's matching config)
//! are matched first ([`matching`]) and uploaded with their record's `Id`: the job is then
//! an `upsert` by `Id`, which updates those and inserts the rest.
//!
//! Cost: 3 calls to create, upload and close, 1 per status read (backoff from 0.5 s to
//! 30 s), 3 to read the results, the matching (1 composite call up to 1,000 values, else
//! one query job: about 4 calls), plus the describes of the enabled objects and the owner
//! directory when they are not cached: about 10 calls for any size up to [`MAX_RECORDS`].

mod job;
mod matching;
mod rows;
mod state;

use std::collections::{BTreeMap, BTreeSet};
use std::time::Instant;

use crmsync_core::describe::ObjectDescribe;
use crmsync_core::types::{AppObject, FieldMap};
use crmsync_salesforce::SfClient;
use crmsync_salesforce::bulk::PollBackoff;
use crmsync_store::{Connection, ConnectionId, TenantId};
use futures::StreamExt;
use serde::{Deserialize, Serialize};

pub use state::{ImportFailure, MAX_ACTIVE, MAX_FAILURES_KEPT, Phase};

use crate::app::App;
use crate::error::ServiceError;
use crate::messages::PushMessage;
use state::ImportState;

/// Most records in one import.
pub const MAX_RECORDS: usize = 100_000;
/// Largest import request body over HTTP (a Lambda request payload holds 6 MB).
pub const MAX_BODY_BYTES: usize = 6 * 1024 * 1024;
/// An upload cut short this long ago is given up by the poll (send the import again).
const UPLOAD_GIVE_UP: chrono::TimeDelta = chrono::TimeDelta::minutes(15);
/// The longest a request carries an import (the report function stops at 29 s, API
/// Gateway at 30 s); the poll goes on from the checkpoint.
const REQUEST_BUDGET: std::time::Duration = std::time::Duration::from_secs(20);
/// Store reads and writes at once when looking up links.
const STORE_CONCURRENCY: usize = 16;

/// One import request.
#[derive(Debug, Clone, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ImportRequest {
    /// The caller's key for the import: sending it again continues or shows the same
    /// import instead of starting another. 1-64 of `A-Z a-z 0-9 - _`; generated if absent.
    #[serde(default)]
    pub import_id: Option<String>,
    pub app_object: AppObject,
    pub records: Vec<ImportRecord>,
}

/// One record, as a push event carries it.
#[derive(Debug, Clone, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ImportRecord {
    pub app_id: String,
    #[serde(default)]
    #[schema(value_type = std::collections::BTreeMap<String, serde_json::Value>)]
    pub fields: FieldMap,
    /// RFC 3339; the import's time if absent.
    #[serde(default)]
    pub occurred_at: Option<String>,
}

/// An import's status, as the API shows it.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct ImportStatus {
    pub import_id: String,
    pub app_object: String,
    pub sf_object: String,
    pub operation: String,
    pub phase: Phase,
    pub job_id: Option<String>,
    pub received: u64,
    pub uploaded: u64,
    pub created: u64,
    pub updated: u64,
    /// Records matched to an existing Salesforce record by the connection's matching keys
    /// (email, phone): uploaded with its Id, so the job updates it.
    pub matched: u64,
    /// Records linked before the import, left to update events.
    pub skipped: u64,
    pub failed: u64,
    /// The first [`MAX_FAILURES_KEPT`] failures, each with Salesforce's or crmsync's reason.
    pub failures: Vec<ImportFailure>,
    pub job_error: Option<String>,
    pub api_calls: u64,
    pub started_at: chrono::DateTime<chrono::Utc>,
    pub updated_at: chrono::DateTime<chrono::Utc>,
}

impl From<ImportState> for ImportStatus {
    fn from(s: ImportState) -> Self {
        Self {
            import_id: s.id,
            app_object: s.app_object,
            sf_object: s.sf_object,
            operation: s.operation,
            phase: s.phase,
            job_id: s.job_id,
            received: s.received,
            uploaded: s.uploaded,
            created: s.created,
            updated: s.updated,
            matched: s.matched,
            skipped: s.skipped,
            failed: s.failed,
            failures: s.failures,
            job_error: s.job_error,
            api_calls: s.api_calls,
            started_at: s.started_at,
            updated_at: s.updated_at,
        }
    }
}

fn check_request(req: &ImportRequest) -> Result<(), ServiceError> {
    if let Some(id) = &req.import_id
        && (id.is_empty()
            || id.len() > 64
            || !id
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'))
    {
        return Err(ServiceError::bad_request(
            "import_id",
            "must be 1-64 characters of A-Z, a-z, 0-9, '-' and '_'",
        ));
    }
    if req.records.is_empty() {
        return Err(ServiceError::bad_request("records", "must not be empty"));
    }
    if req.records.len() > MAX_RECORDS {
        return Err(ServiceError::bad_request(
            "records",
            format!(
                "{} records; an import takes at most {MAX_RECORDS} (split it)",
                req.records.len()
            ),
        ));
    }
    let mut seen = BTreeSet::new();
    for (i, r) in req.records.iter().enumerate() {
        if !seen.insert(r.app_id.as_str()) {
            return Err(ServiceError::bad_request(
                format!("records[{i}].app_id"),
                format!("{} appears twice in the import", r.app_id),
            ));
        }
    }
    Ok(())
}

/// The import's lease: one run of an import at a time (the request, a poll).
async fn lease(
    app: &App,
    conn: &Connection,
    id: &str,
) -> Result<Option<crmsync_store::Lease>, ServiceError> {
    let name = format!("import:{}:{}:{id}", conn.tenant.as_str(), conn.id.as_str());
    let ttl = app.settings.bulk_run_budget + std::time::Duration::from_secs(60);
    let owner = uuid::Uuid::new_v4().to_string();
    Ok(app.stores.leases.acquire(&name, &owner, ttl).await?)
}

async fn release(app: &App, lease: crmsync_store::Lease) {
    if let Err(e) = app.stores.leases.release(&lease).await {
        tracing::warn!(error = %e, "import lease release failed; it will expire");
    }
}

/// Starts an import (or, for an `import_id` seen before, continues it) and carries it as
/// far as the run's time allows.
pub async fn start(
    app: &App,
    tenant: &TenantId,
    connection: &ConnectionId,
    req: ImportRequest,
) -> Result<ImportStatus, ServiceError> {
    check_request(&req)?;
    let conn = crate::guard::connection(app, tenant, connection).await?;
    if !crate::guard::is_connected(&conn) {
        return Err(ServiceError::ReconnectNeeded(
            connection.as_str().to_string(),
        ));
    }
    if !conn.sync_enabled {
        return Err(ServiceError::Conflict(format!(
            "connection {}: the sync is turned off; turn it on (POST /v1/connections/{{c}}/sync) before importing",
            connection.as_str()
        )));
    }
    let id = req
        .import_id
        .clone()
        .unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
    let Some(lease) = lease(app, &conn, &id).await? else {
        return Err(ServiceError::Conflict(format!(
            "import {id} is running; read its status"
        )));
    };
    let result = start_under_lease(app, &conn, &id, req).await;
    release(app, lease).await;
    result
}

async fn start_under_lease(
    app: &App,
    conn: &Connection,
    id: &str,
    req: ImportRequest,
) -> Result<ImportStatus, ServiceError> {
    let existing = state::load(app, conn, id).await?;
    if let Some(st) = &existing
        && st.app_object != req.app_object.as_str()
    {
        return Err(ServiceError::Conflict(format!(
            "import {id} exists for {}",
            st.app_object
        )));
    }
    let client = app.salesforce.client(conn)?;
    let calls_before = client.requests_sent();
    let mut run = job::Run {
        app,
        conn,
        client: &client,
        deadline: Instant::now() + app.settings.bulk_run_budget.min(REQUEST_BUDGET),
        backoff: PollBackoff::default(),
        reserved: 0,
    };
    let result = match existing {
        // Sent again after its upload: continue, never upload twice.
        Some(mut st)
            if st.phase != Phase::Uploading && st.job_error.as_deref() != Some(job::UPLOAD_CUT) =>
        {
            let r = job::advance(&mut run, &mut st).await;
            r.map(|()| st)
        }
        // New, or its upload was cut short: (re)map and upload.
        existing => upload_new(&mut run, id, req, existing).await,
    };
    finish_run(run, calls_before, result).await
}

/// Books the run's unreserved calls and adds them to the import's count.
async fn finish_run(
    run: job::Run<'_>,
    calls_before: u64,
    result: Result<ImportState, ServiceError>,
) -> Result<ImportStatus, ServiceError> {
    let job::Run {
        app,
        conn,
        client,
        reserved,
        ..
    } = run;
    crate::guard::book_calls(app, conn, client, calls_before + reserved).await;
    if let Err(ServiceError::Salesforce(e)) = &result {
        crate::guard::note_salesforce_error(app, conn, e).await;
    }
    let mut st = result?;
    st.api_calls += client.requests_sent().saturating_sub(calls_before);
    state::save(app, conn, &st).await?;
    Ok(st.into())
}

async fn upload_new(
    run: &mut job::Run<'_>,
    id: &str,
    req: ImportRequest,
    existing: Option<ImportState>,
) -> Result<ImportState, ServiceError> {
    let (app, conn, client) = (run.app, run.conn, run.client);
    let mut active = state::active(app, conn).await?;
    if !active.iter().any(|a| a == id) && active.len() >= MAX_ACTIVE {
        return Err(ServiceError::Conflict(format!(
            "{} imports are unfinished on this connection (at most {MAX_ACTIVE}); wait for one to end",
            active.len()
        )));
    }
    let mut existing = existing;
    if let Some(mut prev) = existing.take() {
        if job::take_over(run, &mut prev).await? {
            job::advance(run, &mut prev).await?;
            return Ok(prev);
        }
        existing = Some(prev);
    }
    let config = crate::config_service::load_or_init(app, &conn.tenant, &conn.id)
        .await?
        .config;
    // Describes and the owner directory: checked against the budget, booked after.
    if crate::guard::quota(app, conn, 2 + job::UPLOAD_CALLS + job::RESULTS_CALLS)
        .await?
        .paused
    {
        return Err(ServiceError::QuotaPaused(conn.id.as_str().to_string()));
    }
    let describes = describes(client, &config).await?;
    let events: Vec<PushMessage> = req
        .records
        .iter()
        .map(|r| PushMessage {
            tenant: conn.tenant.as_str().to_string(),
            connection: conn.id.as_str().to_string(),
            event: rows::event_of(id, req.app_object, r, &app.now().to_rfc3339()),
            repush_id: None,
            accepted: None,
        })
        .collect();
    let refs: Vec<&PushMessage> = events.iter().collect();
    let owners = crate::push::owners::directory(app, conn, client, &config, &refs).await?;
    let linked = linked_ids(app, conn, req.app_object, &req.records).await?;
    let activity_links = match req.app_object {
        AppObject::Activity => activity_links(app, conn, &config, &events).await?,
        _ => BTreeMap::new(),
    };
    let key_objects = conn
        .provisioning
        .as_ref()
        .map(|p| p.key_objects.clone())
        .unwrap_or_default();
    let ctx = rows::MapContext {
        import_id: id,
        app_object: req.app_object,
        config: &config,
        describes: &describes,
        owners: &owners,
        now: app.now(),
        key_objects: &key_objects,
        activity_links: &activity_links,
    };
    let mut plans = rows::plan_records(&ctx, &req.records, &linked);
    let now = app.now();
    let mut st = ImportState {
        id: id.to_string(),
        app_object: req.app_object.as_str().to_string(),
        sf_object: plans.sf_object.clone(),
        operation: "insert".into(),
        upsert_key: None,
        match_job: existing.as_ref().and_then(|e| e.match_job.clone()),
        matched: 0,
        columns: Vec::new(),
        phase: Phase::Uploading,
        job_id: existing.as_ref().and_then(|e| e.job_id.clone()),
        received: req.records.len() as u64,
        uploaded: 0,
        chunks: 0,
        successes_done: 0,
        failures_done: 0,
        created: 0,
        updated: 0,
        skipped: plans.linked,
        failed: 0,
        failures: Vec::new(),
        job_error: None,
        api_calls: existing.as_ref().map_or(0, |e| e.api_calls),
        started_at: existing.as_ref().map_or(now, |e| e.started_at),
        updated_at: now,
    };
    let Some(matches) = matching::find(run, &mut st, &plans).await? else {
        // The matching query job outlived the run: sending the request again goes on.
        state::save(app, conn, &st).await?;
        remember_active(app, conn, id, &mut active).await?;
        return Ok(st);
    };
    let refused: BTreeSet<&str> = matches.refused.iter().map(|f| f.app_id.as_str()).collect();
    plans
        .planned
        .retain(|(app_id, _)| !refused.contains(app_id.as_str()));
    plans.refused.extend(matches.refused.iter().cloned());
    let mapped = rows::rows_of(&ctx, plans, &matches.matched);
    let keyed = mapped
        .columns
        .iter()
        .any(|c| c == crmsync_core::provision::KEY_FIELD);
    st.sf_object = mapped.sf_object.clone();
    st.columns = mapped.columns.clone();
    st.uploaded = mapped.rows.len() as u64;
    st.matched = mapped.entries.iter().filter(|e| e.sf_id.is_some()).count() as u64;
    if st.matched > 0 {
        st.operation = "upsert".into();
        st.upsert_key = Some(rows::ID_COLUMN.into());
    } else if keyed {
        st.operation = "upsert".into();
    }
    for f in mapped.refused {
        st.fail(f);
    }
    if mapped.rows.is_empty() {
        st.phase = Phase::Done;
        state::save(app, conn, &st).await?;
        return Ok(st);
    }
    st.chunks = state::save_rows(app, conn, id, &mapped.entries).await?;
    state::save(app, conn, &st).await?;
    remember_active(app, conn, id, &mut active).await?;
    job::upload(run, &mut st, &mapped.rows).await?;
    job::advance(run, &mut st).await?;
    Ok(st)
}

/// Lists the import among the connection's unfinished ones.
async fn remember_active(
    app: &App,
    conn: &Connection,
    id: &str,
    active: &mut Vec<String>,
) -> Result<(), ServiceError> {
    if !active.iter().any(|a| a == id) {
        active.push(id.to_string());
        state::set_active(app, conn, active).await?;
    }
    Ok(())
}

/// An activity import's related links (the person and deal each record names), by app id.
async fn activity_links(
    app: &App,
    conn: &Connection,
    config: &crmsync_core::config::SyncConfig,
    events: &[PushMessage],
) -> Result<BTreeMap<String, crmsync_core::activity::ActivityLinks>, ServiceError> {
    let lookups: Vec<_> = events
        .iter()
        .map(|m| async move {
            let links =
                crate::push::activity::related_links(app, &conn.tenant, &conn.id, config, &m.event)
                    .await?;
            Ok::<_, ServiceError>((m.event.app_id.clone(), links))
        })
        .collect();
    let found: Vec<Result<_, ServiceError>> = futures::stream::iter(lookups)
        .buffer_unordered(STORE_CONCURRENCY)
        .collect()
        .await;
    found.into_iter().collect()
}

/// The records that have a link already.
async fn linked_ids(
    app: &App,
    conn: &Connection,
    app_object: AppObject,
    records: &[ImportRecord],
) -> Result<BTreeSet<String>, ServiceError> {
    let lookups: Vec<_> = records
        .iter()
        .map(|r| linked_one(app, conn, app_object, &r.app_id))
        .collect();
    let found: Vec<Result<Option<String>, ServiceError>> = futures::stream::iter(lookups)
        .buffer_unordered(STORE_CONCURRENCY)
        .collect()
        .await;
    let mut out = BTreeSet::new();
    for f in found {
        if let Some(id) = f? {
            out.insert(id);
        }
    }
    Ok(out)
}

async fn linked_one(
    app: &App,
    conn: &Connection,
    app_object: AppObject,
    app_id: &str,
) -> Result<Option<String>, ServiceError> {
    let links =
        crate::links::links_of(app, &conn.tenant, &conn.id, app_object.as_str(), app_id).await?;
    Ok((!links.is_empty()).then(|| app_id.to_string()))
}

/// Describes of the enabled objects (for the plans' pre-flight checks).
async fn describes(
    client: &SfClient,
    config: &crmsync_core::config::SyncConfig,
) -> Result<BTreeMap<String, ObjectDescribe>, ServiceError> {
    let mut out = BTreeMap::new();
    for (object, _) in config.enabled_objects() {
        let d = client.describe(object).await?;
        out.insert(object.to_string(), crate::describe::to_core(&d)?);
    }
    Ok(out)
}

/// An import's status.
pub async fn status(
    app: &App,
    tenant: &TenantId,
    connection: &ConnectionId,
    id: &str,
) -> Result<ImportStatus, ServiceError> {
    let conn = crate::guard::connection(app, tenant, connection).await?;
    state::load(app, &conn, id)
        .await?
        .map(ImportStatus::from)
        .ok_or_else(|| ServiceError::NotFound(format!("import {id}")))
}

/// Continues the connection's unfinished imports (the poll calls this each run); one
/// store read and no Salesforce call when there are none. Returns a message per import.
pub async fn resume(app: &App, conn: &Connection) -> Result<Vec<String>, ServiceError> {
    let active = state::active(app, conn).await?;
    let mut messages = Vec::new();
    for id in active {
        let Some(lease) = lease(app, conn, &id).await? else {
            continue;
        };
        let result = resume_one(app, conn, &id).await;
        release(app, lease).await;
        match result? {
            Some(st) => messages.push(format!(
                "import {}: {:?}, {} created, {} updated, {} failed",
                st.import_id, st.phase, st.created, st.updated, st.failed
            )),
            None => continue,
        }
    }
    Ok(messages)
}

async fn resume_one(
    app: &App,
    conn: &Connection,
    id: &str,
) -> Result<Option<ImportStatus>, ServiceError> {
    let Some(mut st) = state::load(app, conn, id).await? else {
        // Listed but gone: drop it from the list.
        let mut active = state::active(app, conn).await?;
        active.retain(|a| a != id);
        state::set_active(app, conn, &active).await?;
        return Ok(None);
    };
    if st.phase.is_final() {
        job::finish(app, conn, &st).await?;
        return Ok(None);
    }
    let client = app.salesforce.client(conn)?;
    let calls_before = client.requests_sent();
    let mut run = job::Run {
        app,
        conn,
        client: &client,
        deadline: Instant::now() + app.settings.bulk_run_budget,
        backoff: PollBackoff::default(),
        reserved: 0,
    };
    let result = if st.phase == Phase::Uploading {
        give_up_upload(&mut run, &mut st).await.map(|()| st)
    } else {
        job::advance(&mut run, &mut st).await.map(|()| st)
    };
    finish_run(run, calls_before, result).await.map(Some)
}

/// An upload cut short: the request's caller sends the import again (same `import_id`).
/// After [`UPLOAD_GIVE_UP`] the poll stops waiting: a job found closed goes on; an open
/// one is aborted (it applied nothing) and the import fails with why.
async fn give_up_upload(run: &mut job::Run<'_>, st: &mut ImportState) -> Result<(), ServiceError> {
    if run.app.now() - st.updated_at < UPLOAD_GIVE_UP {
        return Ok(());
    }
    job::settle_upload(run, st).await
}

/// Continues one import now (the CLI's wait loop); its status when another run holds it
/// or it is final.
pub async fn advance(
    app: &App,
    tenant: &TenantId,
    connection: &ConnectionId,
    id: &str,
) -> Result<ImportStatus, ServiceError> {
    let conn = crate::guard::connection(app, tenant, connection).await?;
    if let Some(lease) = lease(app, &conn, id).await? {
        let result = resume_one(app, &conn, id).await;
        release(app, lease).await;
        result?;
    }
    status(app, tenant, connection, id).await
}
