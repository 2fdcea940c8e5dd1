//! Bulk API 2.0 (`/services/data/vNN.0/jobs/query` and `/jobs/ingest`).
//!
//! What the emulator relies on, from Salesforce's *Bulk API 2.0 and Bulk API Developer
//! Guide* (developer.salesforce.com/docs/atlas.en-us.api_asynch.meta/api_asynch/):
//! - Query jobs (`query_create_job.htm`): `POST jobs/query` with `{"operation":"query"|
//!   "queryAll","query":…}` and optional `contentType` (only `CSV`), `columnDelimiter`
//!   (`BACKQUOTE`, `CARET`, `COMMA` default, `PIPE`, `SEMICOLON`, `TAB`) and `lineEnding`
//!   (`LF` default, `CRLF`). The answer shows the job in state `UploadComplete`
//!   (`query_walkthrough.htm`). Queries with aggregate functions such as `COUNT()` or with
//!   `OFFSET` are not supported.
//! - Job states (`how_requests_are_processed.htm`): `Open`, `UploadComplete`, `InProgress`,
//!   `JobComplete`, `Failed`, `Aborted`.
//! - Results (`query_get_job_results.htm`): `GET jobs/query/{id}/results[?locator=&maxRecords=]`,
//!   only in `JobComplete`; CSV with a header row; `Sforce-NumberOfRecords` is the rows in
//!   this set and `Sforce-Locator` the next set's locator, the string `null` on the last
//!   (Airbyte's source-salesforce and other clients stop on `"null"`). A locator does not
//!   change while the job exists, so a set can be read again. The results must be read with
//!   the API version the job was created with, else 409.
//! - Ingest jobs (`create_job.htm`, `upload_job_data.htm`, `close_job.htm`): create (state
//!   `Open`, `contentUrl`), `PUT …/batches` with `Content-Type: text/csv` (201), `PATCH` to
//!   `UploadComplete` or `Aborted`. Results: `successfulResults/` (`sf__Id`, `sf__Created`,
//!   then the uploaded fields), `failedResults/` (`sf__Id`, `sf__Error`, then the fields),
//!   `unprocessedrecords/` (the fields of rows a failed or aborted job never processed).
//! - One upload per ingest job: a second `PUT …/batches` answers `INVALIDJOBSTATE` "Found
//!   multiple contents for job" (a live org's answer, recorded in public client code), so a
//!   job's CSV goes in one request (≤ 150 MB after base64, `upload_job_data.htm`).
//! - The CSV's line ending must be the job's `lineEnding` (`bulk_api_2_0_line_ending_header.htm`);
//!   otherwise the job fails with `ClientInputError : LineEnding is invalid on user data.
//!   Current LineEnding setting is LF` (the org's message as users report it).
//! - Errors are REST-shaped arrays; a bad transition answers `INVALIDJOBSTATE` (as recorded
//!   from a real org in restforce issue #905: `Aborting already Completed Job not allowed`).
//! - API metering: each HTTP request of Bulk API counts as one call toward the org's daily
//!   request limit (Salesforce help article 000382576); `data_api` counts every request once.
//!
//! Emulator choices where the guide is silent (documented here, tested): a job answers
//! `InProgress` to the first `bulk_polls` status reads (default 1) after it was queued and
//! `JobComplete` afterwards; a query's rows are taken when the job is created; results
//! without `maxRecords` come in sets of [`DEFAULT_RESULT_SET`] rows; a wrong `Content-Type`
//! on an upload answers 415 `UNSUPPORTED_MEDIA_TYPE`.

pub mod csv_out;
pub mod ingest;
pub mod query;

use crate::error::ApiError;
use crate::rest::Ctx;
use axum::http::StatusCode;
use serde_json::{Value, json};
use std::collections::HashMap;

/// Rows per result set when the caller gives no `maxRecords`.
pub const DEFAULT_RESULT_SET: usize = 100_000;

/// Status reads that still see `InProgress` before a job is `JobComplete`.
pub const DEFAULT_POLLS_TO_COMPLETE: u32 = 1;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobState {
    Open,
    UploadComplete,
    InProgress,
    JobComplete,
    Failed,
    Aborted,
}

impl JobState {
    pub fn as_str(self) -> &'static str {
        match self {
            JobState::Open => "Open",
            JobState::UploadComplete => "UploadComplete",
            JobState::InProgress => "InProgress",
            JobState::JobComplete => "JobComplete",
            JobState::Failed => "Failed",
            JobState::Aborted => "Aborted",
        }
    }
    pub fn is_terminal(self) -> bool {
        matches!(
            self,
            JobState::JobComplete | JobState::Failed | JobState::Aborted
        )
    }
}

/// `columnDelimiter` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Delimiter {
    Backquote,
    Caret,
    Comma,
    Pipe,
    Semicolon,
    Tab,
}

impl Delimiter {
    pub fn parse(v: Option<&Value>) -> Result<Self, ApiError> {
        let Some(v) = v else {
            return Ok(Delimiter::Comma);
        };
        Ok(match v.as_str() {
            Some("BACKQUOTE") => Delimiter::Backquote,
            Some("CARET") => Delimiter::Caret,
            Some("COMMA") => Delimiter::Comma,
            Some("PIPE") => Delimiter::Pipe,
            Some("SEMICOLON") => Delimiter::Semicolon,
            Some("TAB") => Delimiter::Tab,
            _ => return Err(invalid_job(format!("Invalid column delimiter: {v}"))),
        })
    }
    pub fn byte(self) -> u8 {
        match self {
            Delimiter::Backquote => b'`',
            Delimiter::Caret => b'^',
            Delimiter::Comma => b',',
            Delimiter::Pipe => b'|',
            Delimiter::Semicolon => b';',
            Delimiter::Tab => b'\t',
        }
    }
    pub fn as_str(self) -> &'static str {
        match self {
            Delimiter::Backquote => "BACKQUOTE",
            Delimiter::Caret => "CARET",
            Delimiter::Comma => "COMMA",
            Delimiter::Pipe => "PIPE",
            Delimiter::Semicolon => "SEMICOLON",
            Delimiter::Tab => "TAB",
        }
    }
}

/// `lineEnding` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LineEnding {
    Lf,
    Crlf,
}

impl LineEnding {
    pub fn parse(v: Option<&Value>) -> Result<Self, ApiError> {
        match v.map(|v| v.as_str()) {
            None | Some(Some("LF")) => Ok(LineEnding::Lf),
            Some(Some("CRLF")) => Ok(LineEnding::Crlf),
            _ => Err(invalid_job(format!(
                "Invalid line ending: {}",
                v.cloned().unwrap_or_default()
            ))),
        }
    }
    pub fn as_str(self) -> &'static str {
        match self {
            LineEnding::Lf => "LF",
            LineEnding::Crlf => "CRLF",
        }
    }
    pub fn terminator(self) -> csv::Terminator {
        match self {
            LineEnding::Lf => csv::Terminator::Any(b'\n'),
            LineEnding::Crlf => csv::Terminator::CRLF,
        }
    }
}

/// All bulk jobs of every org, by job id.
#[derive(Debug, Default)]
pub struct Jobs {
    pub query: HashMap<String, query::QueryJob>,
    pub ingest: HashMap<String, ingest::IngestJob>,
    /// Status reads answered `InProgress` before a job completes (test control).
    pub polls_to_complete: Option<u32>,
}

impl Jobs {
    pub fn polls(&self) -> u32 {
        self.polls_to_complete.unwrap_or(DEFAULT_POLLS_TO_COMPLETE)
    }
}

pub fn invalid_job(message: impl Into<String>) -> ApiError {
    ApiError::bad("INVALIDJOB", message)
}

pub fn invalid_state(message: impl Into<String>) -> ApiError {
    ApiError::bad("INVALIDJOBSTATE", message)
}

fn job_not_found() -> ApiError {
    ApiError::not_found("The requested resource does not exist")
}

/// A bulk answer: JSON, CSV with headers, or a bare status.
#[derive(Debug)]
pub enum BulkReply {
    Json(StatusCode, Value),
    Csv {
        body: String,
        headers: Vec<(&'static str, String)>,
    },
    Empty(StatusCode),
}

/// Counter name of a bulk request (`bulk.query.create`, `bulk.ingest.upload`, …).
pub fn endpoint_name(method: &str, s: &[&str]) -> String {
    let what = match (method, s) {
        ("POST", ["jobs", kind]) => format!("{kind}.create"),
        ("GET", ["jobs", kind]) => format!("{kind}.list"),
        ("GET", ["jobs", kind, _]) => format!("{kind}.info"),
        ("PATCH", ["jobs", kind, _]) => format!("{kind}.state"),
        ("DELETE", ["jobs", kind, _]) => format!("{kind}.delete"),
        ("PUT", ["jobs", kind, _, "batches"]) => format!("{kind}.upload"),
        ("GET", ["jobs", kind, _, res]) => format!("{kind}.{res}"),
        _ => format!("{method} {}", s.join("/")),
    };
    format!("bulk.{what}")
}

/// Dispatches `jobs/…`.
pub fn route(ctx: &mut Ctx<'_>) -> Result<BulkReply, ApiError> {
    let seg: Vec<String> = ctx.segments.clone();
    let s: Vec<&str> = seg.iter().map(String::as_str).collect();
    let m = ctx.method.clone();
    match (m.as_str(), s.as_slice()) {
        ("POST", ["jobs", "query"]) => query::create(ctx),
        ("GET", ["jobs", "query", id]) => query::info(ctx, id),
        ("PATCH", ["jobs", "query", id]) => query::abort(ctx, id),
        ("DELETE", ["jobs", "query", id]) => query::delete(ctx, id),
        ("GET", ["jobs", "query", id, "results"]) => query::results(ctx, id),
        ("POST", ["jobs", "ingest"]) => ingest::create(ctx),
        ("GET", ["jobs", "ingest", id]) => ingest::info(ctx, id),
        ("PATCH", ["jobs", "ingest", id]) => ingest::set_state(ctx, id),
        ("DELETE", ["jobs", "ingest", id]) => ingest::delete(ctx, id),
        ("PUT", ["jobs", "ingest", id, "batches"]) => ingest::upload(ctx, id),
        ("GET", ["jobs", "ingest", id, res]) => ingest::results(ctx, id, res),
        (m, ["jobs", "query" | "ingest", ..]) if s.len() <= 4 => Err(ApiError::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "METHOD_NOT_ALLOWED",
            format!("HTTP Method '{m}' not allowed for this resource"),
        )),
        _ => Err(job_not_found()),
    }
}

/// Requests that carry JSON must say so (`Content-Type: application/json`).
fn require_json(ctx: &Ctx<'_>) -> Result<Value, ApiError> {
    let ct = content_type(ctx);
    if !ct.starts_with("application/json") {
        return Err(unsupported_media(&ct));
    }
    let body = ctx.json_body()?;
    if !body.is_object() {
        return Err(ApiError::bad(
            "JSON_PARSER_ERROR",
            "The request body must be a JSON object",
        ));
    }
    Ok(body)
}

fn content_type(ctx: &Ctx<'_>) -> String {
    ctx.headers
        .get("content-type")
        .and_then(|h| h.to_str().ok())
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase()
}

fn unsupported_media(found: &str) -> ApiError {
    ApiError::new(
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "UNSUPPORTED_MEDIA_TYPE",
        format!("Content type '{found}' is not supported for this resource"),
    )
}

/// `62.0` from `v62.0`, as job info reports it.
fn api_version(version: &str) -> Value {
    version
        .trim_start_matches('v')
        .parse::<f64>()
        .map(|v| json!(v))
        .unwrap_or(Value::Null)
}

/// Keys of a request body must be among `allowed`.
fn known_keys(body: &Value, allowed: &[&str]) -> Result<(), ApiError> {
    if let Some(map) = body.as_object()
        && let Some(k) = map.keys().find(|k| !allowed.contains(&k.as_str()))
    {
        return Err(ApiError::bad(
            "JSON_PARSER_ERROR",
            format!("Unrecognized field \"{k}\""),
        ));
    }
    Ok(())
}

impl axum::response::IntoResponse for BulkReply {
    fn into_response(self) -> axum::response::Response {
        match self {
            BulkReply::Json(status, v) => (status, axum::Json(v)).into_response(),
            BulkReply::Empty(status) => status.into_response(),
            BulkReply::Csv { body, headers } => {
                let mut resp = (
                    StatusCode::OK,
                    [(axum::http::header::CONTENT_TYPE, "text/csv")],
                    body,
                )
                    .into_response();
                for (k, v) in headers {
                    if let Ok(v) = axum::http::HeaderValue::from_str(&v) {
                        resp.headers_mut().insert(k, v);
                    }
                }
                resp
            }
        }
    }
}
