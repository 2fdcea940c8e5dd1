//! An import's checkpoint, kept in the checkpoint store so any run (the request that
//! started it, a later poll) continues where the last one stopped:
//!
//! - `import:<id>`: the [`ImportState`] (phase, job id, results cursor, counts, failures);
//! - `import:<id>:rows:<n>`: the uploaded rows' fingerprints and link data, in chunks that
//!   fit a DynamoDB item (≤ [`CHUNK_BYTES`] of JSON each), read back to link the results;
//! - `imports`: the ids of the connection's unfinished imports, so a poll finds them with
//!   one store read and no Salesforce call.

use chrono::{DateTime, Utc};
use crmsync_core::outbound::LinkUpdate;
use crmsync_store::Connection;
use serde::{Deserialize, Serialize};

use crate::app::App;
use crate::error::ServiceError;

/// Largest JSON of one rows chunk (a DynamoDB item holds 400 KB).
pub const CHUNK_BYTES: usize = 300 * 1024;
/// Failures kept with their reasons; beyond this only the count grows.
pub const MAX_FAILURES_KEPT: usize = 1_000;
/// Unfinished imports one connection may have at a time.
pub const MAX_ACTIVE: usize = 5;

/// Where an import stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    /// The job is being created and its CSV uploaded; nothing is applied before it closes.
    Uploading,
    /// The job is closed (`UploadComplete`): Salesforce is processing it.
    Processing,
    /// The job is final: its results are being linked and reported.
    Recording,
    /// Every result is recorded.
    Done,
    /// The job failed or was aborted as a whole (`job_error` says why).
    Failed,
}

impl Phase {
    pub fn is_final(self) -> bool {
        matches!(self, Phase::Done | Phase::Failed)
    }
}

/// One record that was not imported, with why.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ImportFailure {
    pub app_id: String,
    pub code: String,
    pub reason: String,
}

/// The import's checkpoint and status.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ImportState {
    pub id: String,
    pub app_object: String,
    /// The Salesforce object the job writes.
    pub sf_object: String,
    /// `insert`, or `upsert` by `Crmsync_App_Id__c` when the object is provisioned, or by
    /// `Id` when matching found existing records ([`ImportState::upsert_key`]).
    pub operation: String,
    /// The field an `upsert` goes by (absent: `Crmsync_App_Id__c`, as before matching).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub upsert_key: Option<String>,
    /// The Bulk API query job that reads the records to match against (kept so a request
    /// sent again goes on with it instead of starting another).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub match_job: Option<String>,
    /// Records matched to an existing Salesforce record (updated, not inserted).
    #[serde(default)]
    pub matched: u64,
    /// The CSV columns, in upload order (the results repeat them).
    pub columns: Vec<String>,
    pub phase: Phase,
    pub job_id: Option<String>,
    /// Records received.
    pub received: u64,
    /// Rows uploaded to the job.
    pub uploaded: u64,
    /// Rows chunks under `import:<id>:rows:<n>`.
    pub chunks: u32,
    /// Rows of `successfulResults` already linked (the results cursor).
    pub successes_done: u64,
    /// Rows of `failedResults` and `unprocessedrecords` already reported.
    pub failures_done: u64,
    pub created: u64,
    pub updated: u64,
    /// Records already linked before the import (left to update events).
    pub skipped: u64,
    pub failed: u64,
    /// The first [`MAX_FAILURES_KEPT`] failures.
    pub failures: Vec<ImportFailure>,
    pub job_error: Option<String>,
    /// Salesforce API calls the import has made.
    pub api_calls: u64,
    pub started_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl ImportState {
    /// Adds a failure (kept while under the cap; always counted).
    pub fn fail(&mut self, failure: ImportFailure) {
        self.failed += 1;
        if self.failures.len() < MAX_FAILURES_KEPT {
            self.failures.push(failure);
        }
    }
}

/// One uploaded row: its fingerprint (the row's CSV values, which the results repeat) and
/// what to link when it succeeds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RowEntry {
    #[serde(rename = "f")]
    pub fingerprint: String,
    #[serde(rename = "l")]
    pub link: LinkUpdate,
    /// The Salesforce record matching found for it (the row updates it).
    #[serde(rename = "i", default, skip_serializing_if = "Option::is_none")]
    pub sf_id: Option<String>,
}

fn state_name(id: &str) -> String {
    format!("import:{id}")
}

fn chunk_name(id: &str, n: u32) -> String {
    format!("import:{id}:rows:{n}")
}

const ACTIVE: &str = "imports";

fn internal(e: serde_json::Error) -> ServiceError {
    ServiceError::Internal(format!("import checkpoint: {e}"))
}

pub async fn load(
    app: &App,
    conn: &Connection,
    id: &str,
) -> Result<Option<ImportState>, ServiceError> {
    let stored = app
        .stores
        .checkpoints
        .get(&conn.tenant, &conn.id, &state_name(id))
        .await?;
    stored
        .map(|c| serde_json::from_value(c.value).map_err(internal))
        .transpose()
}

pub async fn save(app: &App, conn: &Connection, state: &ImportState) -> Result<(), ServiceError> {
    let value = serde_json::to_value(state).map_err(internal)?;
    app.stores
        .checkpoints
        .put(&conn.tenant, &conn.id, &state_name(&state.id), value)
        .await?;
    Ok(())
}

/// Writes the rows in chunks; returns how many.
pub async fn save_rows(
    app: &App,
    conn: &Connection,
    id: &str,
    rows: &[RowEntry],
) -> Result<u32, ServiceError> {
    let mut n = 0u32;
    let mut chunk: Vec<serde_json::Value> = Vec::new();
    let mut bytes = 0usize;
    for row in rows {
        let v = serde_json::to_value(row).map_err(internal)?;
        let size = v.to_string().len() + 1;
        if !chunk.is_empty() && bytes + size > CHUNK_BYTES {
            put_chunk(app, conn, id, n, std::mem::take(&mut chunk)).await?;
            n += 1;
            bytes = 0;
        }
        bytes += size;
        chunk.push(v);
    }
    if !chunk.is_empty() {
        put_chunk(app, conn, id, n, chunk).await?;
        n += 1;
    }
    Ok(n)
}

async fn put_chunk(
    app: &App,
    conn: &Connection,
    id: &str,
    n: u32,
    rows: Vec<serde_json::Value>,
) -> Result<(), ServiceError> {
    app.stores
        .checkpoints
        .put(
            &conn.tenant,
            &conn.id,
            &chunk_name(id, n),
            serde_json::Value::Array(rows),
        )
        .await?;
    Ok(())
}

pub async fn load_rows(
    app: &App,
    conn: &Connection,
    id: &str,
    chunks: u32,
) -> Result<Vec<RowEntry>, ServiceError> {
    let mut out = Vec::new();
    for n in 0..chunks {
        let Some(c) = app
            .stores
            .checkpoints
            .get(&conn.tenant, &conn.id, &chunk_name(id, n))
            .await?
        else {
            return Err(ServiceError::Internal(format!(
                "import {id}: rows chunk {n} is missing"
            )));
        };
        let rows: Vec<RowEntry> = serde_json::from_value(c.value).map_err(internal)?;
        out.extend(rows);
    }
    Ok(out)
}

/// Drops the rows chunks (the import is final: its links are written).
pub async fn drop_rows(
    app: &App,
    conn: &Connection,
    id: &str,
    chunks: u32,
) -> Result<(), ServiceError> {
    for n in 0..chunks {
        app.stores
            .checkpoints
            .delete(&conn.tenant, &conn.id, &chunk_name(id, n))
            .await?;
    }
    Ok(())
}

/// The connection's unfinished imports.
pub async fn active(app: &App, conn: &Connection) -> Result<Vec<String>, ServiceError> {
    let stored = app
        .stores
        .checkpoints
        .get(&conn.tenant, &conn.id, ACTIVE)
        .await?;
    Ok(stored
        .and_then(|c| serde_json::from_value(c.value).ok())
        .unwrap_or_default())
}

pub async fn set_active(app: &App, conn: &Connection, ids: &[String]) -> Result<(), ServiceError> {
    if ids.is_empty() {
        app.stores
            .checkpoints
            .delete(&conn.tenant, &conn.id, ACTIVE)
            .await?;
        return Ok(());
    }
    let value = serde_json::to_value(ids).map_err(internal)?;
    app.stores
        .checkpoints
        .put(&conn.tenant, &conn.id, ACTIVE, value)
        .await?;
    Ok(())
}
