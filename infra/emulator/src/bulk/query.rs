//! Query jobs: create (the rows are taken then), status, results by locator, abort, delete.

use super::csv_out::{CsvRows, render};
use super::{
    BulkReply, Delimiter, JobState, LineEnding, api_version, invalid_job, invalid_state,
    job_not_found, known_keys, require_json,
};
use crate::clock::sf_datetime;
use crate::error::ApiError;
use crate::rest::Ctx;
use crate::soql::ast::SelectItem;
use axum::http::StatusCode;
use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use chrono::{DateTime, Utc};
use serde_json::{Value, json};

#[derive(Debug)]
pub struct QueryJob {
    pub id: String,
    pub org: usize,
    pub operation: String,
    pub object: String,
    pub created_by: String,
    pub created: DateTime<Utc>,
    pub version: String,
    pub delimiter: Delimiter,
    pub line_ending: LineEnding,
    pub state: JobState,
    /// Status reads left that still answer `InProgress`.
    pub polls_left: u32,
    pub rows: CsvRows,
}

impl QueryJob {
    fn info(&self) -> Value {
        let mut v = json!({
            "id": self.id,
            "operation": self.operation,
            "object": self.object,
            "createdById": self.created_by,
            "createdDate": sf_datetime(self.created),
            "systemModstamp": sf_datetime(self.created),
            "state": self.state.as_str(),
            "concurrencyMode": "Parallel",
            "contentType": "CSV",
            "apiVersion": api_version(&self.version),
            "jobType": "V2Query",
            "lineEnding": self.line_ending.as_str(),
            "columnDelimiter": self.delimiter.as_str(),
        });
        if self.state != JobState::UploadComplete {
            v["numberRecordsProcessed"] = json!(if self.state == JobState::JobComplete {
                self.rows.len()
            } else {
                0
            });
            v["retries"] = json!(0);
            v["totalProcessingTime"] = json!(0);
        }
        v
    }
}

const CREATE_KEYS: &[&str] = &[
    "operation",
    "query",
    "contentType",
    "columnDelimiter",
    "lineEnding",
];

pub fn create(ctx: &mut Ctx<'_>) -> Result<BulkReply, ApiError> {
    let body = require_json(ctx)?;
    known_keys(&body, CREATE_KEYS)?;
    let operation = match body.get("operation").and_then(Value::as_str) {
        Some(op @ ("query" | "queryAll")) => op.to_string(),
        Some(other) => return Err(invalid_job(format!("Invalid operation: {other}"))),
        None => return Err(invalid_job("operation is required")),
    };
    let q = body
        .get("query")
        .and_then(Value::as_str)
        .filter(|q| !q.trim().is_empty())
        .ok_or_else(|| invalid_job("query is required"))?
        .to_string();
    if let Some(ct) = body.get("contentType")
        && ct.as_str() != Some("CSV")
    {
        return Err(invalid_job(format!("Invalid contentType: {ct}")));
    }
    let delimiter = Delimiter::parse(body.get("columnDelimiter"))?;
    let line_ending = LineEnding::parse(body.get("lineEnding"))?;
    let parsed = crate::soql::parser::parse(&q).map_err(|e| e.to_api(&q))?;
    // The guide: no aggregate functions such as COUNT(), no OFFSET.
    if parsed.is_count() {
        return Err(ApiError::bad(
            "INVALIDJOB",
            "Aggregate functions such as COUNT() are not supported by Bulk API 2.0 query",
        ));
    }
    if parsed.offset.is_some() {
        return Err(ApiError::bad(
            "INVALIDJOB",
            "OFFSET is not supported by Bulk API 2.0 query",
        ));
    }
    let now = ctx.st.clock.now();
    let all = operation == "queryAll";
    let out = crate::soql::eval::run(&ctx.st.orgs[ctx.org], &parsed, all, &ctx.version, now)
        .map_err(|e| e.to_api(&q))?;
    let columns: Vec<String> = parsed
        .select
        .iter()
        .filter_map(|s| match s {
            SelectItem::Field(p) => Some(p.dotted()),
            SelectItem::Count => None,
        })
        .collect();
    let rows = render(&out.records, &columns, delimiter, line_ending)
        .map_err(|e| ApiError::bad("API_ERROR", e.to_string()))?;
    let object = ctx.st.orgs[ctx.org]
        .object(&parsed.object)
        .map(|o| o.name.clone())
        .unwrap_or(parsed.object.clone());
    let n = ctx.st.next_seq();
    let id = crate::ids::make_id("750", n);
    let job = QueryJob {
        id: id.clone(),
        org: ctx.org,
        operation,
        object,
        created_by: ctx.user_id.clone(),
        created: now,
        version: ctx.version.clone(),
        delimiter,
        line_ending,
        state: JobState::UploadComplete,
        polls_left: ctx.st.bulk.polls(),
        rows,
    };
    let info = job.info();
    ctx.st.bulk.query.insert(id, job);
    Ok(BulkReply::Json(StatusCode::OK, info))
}

fn job_mut<'a>(ctx: &'a mut Ctx<'_>, id: &str) -> Result<&'a mut QueryJob, ApiError> {
    let org = ctx.org;
    ctx.st
        .bulk
        .query
        .get_mut(id)
        .filter(|j| j.org == org)
        .ok_or_else(job_not_found)
}

/// Status read: `UploadComplete` → `InProgress` for the configured reads → `JobComplete`.
pub fn info(ctx: &mut Ctx<'_>, id: &str) -> Result<BulkReply, ApiError> {
    let job = job_mut(ctx, id)?;
    if !job.state.is_terminal() {
        if job.polls_left > 0 {
            job.polls_left -= 1;
            job.state = JobState::InProgress;
        } else {
            job.state = JobState::JobComplete;
        }
    }
    Ok(BulkReply::Json(StatusCode::OK, job.info()))
}

pub fn abort(ctx: &mut Ctx<'_>, id: &str) -> Result<BulkReply, ApiError> {
    let body = require_json(ctx)?;
    known_keys(&body, &["state"])?;
    let job = job_mut(ctx, id)?;
    match body.get("state").and_then(Value::as_str) {
        Some("Aborted") if !job.state.is_terminal() => {
            job.state = JobState::Aborted;
            Ok(BulkReply::Json(StatusCode::OK, job.info()))
        }
        Some("Aborted") => Err(invalid_state(format!(
            "Aborting already {} Job not allowed",
            if job.state == JobState::JobComplete {
                "Completed"
            } else {
                job.state.as_str()
            }
        ))),
        _ => Err(invalid_state("A query job can only be set to Aborted")),
    }
}

pub fn delete(ctx: &mut Ctx<'_>, id: &str) -> Result<BulkReply, ApiError> {
    let job = job_mut(ctx, id)?;
    if !job.state.is_terminal() {
        return Err(invalid_state(
            "Only a job in a final state (JobComplete, Failed, Aborted) can be deleted",
        ));
    }
    ctx.st.bulk.query.remove(id);
    Ok(BulkReply::Empty(StatusCode::NO_CONTENT))
}

/// A locator is the first row of its set, encoded (stable while the job exists).
fn encode_locator(row: usize) -> String {
    B64.encode(row.to_string())
}

fn decode_locator(loc: &str) -> Option<usize> {
    let bytes = B64.decode(loc).ok()?;
    std::str::from_utf8(&bytes).ok()?.parse().ok()
}

pub fn results(ctx: &mut Ctx<'_>, id: &str) -> Result<BulkReply, ApiError> {
    let max = match ctx.param("maxRecords") {
        None => super::DEFAULT_RESULT_SET,
        Some(v) => v.parse::<usize>().ok().filter(|n| *n > 0).ok_or_else(|| {
            ApiError::bad(
                "INVALIDPARAMETER",
                format!("maxRecords must be a positive integer: {v}"),
            )
        })?,
    };
    let locator = ctx.param("locator").map(str::to_string);
    let version = ctx.version.clone();
    let job = job_mut(ctx, id)?;
    if job.version != version {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "INVALIDJOB",
            format!(
                "Results must be read with the API version the job was created with ({})",
                job.version
            ),
        ));
    }
    if job.state != JobState::JobComplete {
        return Err(invalid_state(format!(
            "Results are available when the job is JobComplete; it is {}",
            job.state.as_str()
        )));
    }
    let total = job.rows.len();
    let from = match locator.as_deref() {
        None => 0,
        Some(loc) => decode_locator(loc)
            .filter(|r| *r < total)
            .ok_or_else(|| ApiError::bad("INVALIDLOCATOR", format!("Invalid locator: {loc}")))?,
    };
    let to = from.saturating_add(max).min(total);
    let next = if to < total {
        encode_locator(to)
    } else {
        "null".to_string()
    };
    Ok(BulkReply::Csv {
        body: job.rows.page(from, to),
        headers: vec![
            ("sforce-numberofrecords", (to - from).to_string()),
            ("sforce-locator", next),
        ],
    })
}
