//! Ingest jobs: create (`Open`), upload CSV (`PUT …/batches`), `UploadComplete` (the rows
//! are applied through the same writes as the REST API, with its validation), status,
//! and the per-record results.

use super::csv_out::render_rows;
use super::{
    BulkReply, Delimiter, JobState, LineEnding, api_version, content_type, invalid_job,
    invalid_state, job_not_found, known_keys, require_json, unsupported_media,
};
use crate::clock::sf_datetime;
use crate::error::ApiError;
use crate::rest::Ctx;
use crate::schema::{FieldType, ObjectDef};
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use serde_json::{Map, Value, json};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operation {
    Insert,
    Update,
    Upsert,
    Delete,
}

impl Operation {
    fn parse(v: Option<&Value>) -> Result<Self, ApiError> {
        Ok(match v.and_then(Value::as_str) {
            Some("insert") => Operation::Insert,
            Some("update") => Operation::Update,
            Some("upsert") => Operation::Upsert,
            Some("delete") => Operation::Delete,
            Some(other) => return Err(invalid_job(format!("Invalid operation: {other}"))),
            None => return Err(invalid_job("operation is required")),
        })
    }
    fn as_str(self) -> &'static str {
        match self {
            Operation::Insert => "insert",
            Operation::Update => "update",
            Operation::Upsert => "upsert",
            Operation::Delete => "delete",
        }
    }
}

#[derive(Debug)]
pub struct IngestJob {
    pub id: String,
    pub org: usize,
    pub object: String,
    pub operation: Operation,
    pub external_id: Option<String>,
    pub created_by: String,
    pub created: DateTime<Utc>,
    pub version: String,
    pub delimiter: Delimiter,
    pub line_ending: LineEnding,
    pub state: JobState,
    pub polls_left: u32,
    pub header: Option<Vec<String>>,
    pub pending: Vec<Vec<String>>,
    pub successes: Vec<Vec<String>>,
    pub failures: Vec<Vec<String>>,
    pub error_message: Option<String>,
    /// Why the uploaded data cannot be processed (the job fails when it is closed).
    pub data_error: Option<String>,
}

impl IngestJob {
    fn info(&self) -> Value {
        let mut v = json!({
            "id": self.id,
            "operation": self.operation.as_str(),
            "object": self.object,
            "createdById": self.created_by,
            "createdDate": sf_datetime(self.created),
            "systemModstamp": sf_datetime(self.created),
            "state": self.state.as_str(),
            "concurrencyMode": "Parallel",
            "contentType": "CSV",
            "apiVersion": api_version(&self.version),
            "jobType": "V2Ingest",
            "lineEnding": self.line_ending.as_str(),
            "columnDelimiter": self.delimiter.as_str(),
        });
        if let Some(f) = &self.external_id {
            v["externalIdFieldName"] = json!(f);
        }
        if self.state == JobState::Open {
            v["contentUrl"] = json!(format!(
                "services/data/{}/jobs/ingest/{}/batches",
                self.version, self.id
            ));
        }
        let done = self.state.is_terminal();
        let processed = self.successes.len() + self.failures.len();
        v["numberRecordsProcessed"] = json!(if done { processed } else { 0 });
        v["numberRecordsFailed"] = json!(if done { self.failures.len() } else { 0 });
        v["retries"] = json!(0);
        v["totalProcessingTime"] = json!(0);
        if let Some(m) = &self.error_message {
            v["errorMessage"] = json!(m);
        }
        v
    }
}

const CREATE_KEYS: &[&str] = &[
    "object",
    "operation",
    "externalIdFieldName",
    "contentType",
    "columnDelimiter",
    "lineEnding",
    "assignmentRuleId",
];

pub fn create(ctx: &mut Ctx<'_>) -> Result<BulkReply, ApiError> {
    let body = require_json(ctx)?;
    known_keys(&body, CREATE_KEYS)?;
    let operation = Operation::parse(body.get("operation"))?;
    let object = body
        .get("object")
        .and_then(Value::as_str)
        .ok_or_else(|| invalid_job("object is required"))?;
    let def = crate::writes::object_def(ctx.st, ctx.org, object)?;
    if let Some(ct) = body.get("contentType")
        && ct.as_str() != Some("CSV")
    {
        return Err(invalid_job(format!("Invalid contentType: {ct}")));
    }
    let external_id = body
        .get("externalIdFieldName")
        .and_then(Value::as_str)
        .map(str::to_string);
    if operation == Operation::Upsert {
        let f = external_id
            .as_deref()
            .ok_or_else(|| invalid_job("externalIdFieldName is required for upsert"))?;
        let fd = def.field(f).ok_or_else(|| {
            invalid_job(format!(
                "External ID field does not exist or is not accessible: {f}"
            ))
        })?;
        if fd.name != "Id" && !fd.external_id && !fd.id_lookup {
            return Err(invalid_job(format!("{f} is not an external ID field")));
        }
    }
    let delimiter = Delimiter::parse(body.get("columnDelimiter"))?;
    let line_ending = LineEnding::parse(body.get("lineEnding"))?;
    let n = ctx.st.next_seq();
    let id = crate::ids::make_id("750", n);
    let job = IngestJob {
        id: id.clone(),
        org: ctx.org,
        object: def.name.clone(),
        operation,
        external_id,
        created_by: ctx.user_id.clone(),
        created: ctx.st.clock.now(),
        version: ctx.version.clone(),
        delimiter,
        line_ending,
        state: JobState::Open,
        polls_left: ctx.st.bulk.polls(),
        header: None,
        pending: Vec::new(),
        successes: Vec::new(),
        failures: Vec::new(),
        error_message: None,
        data_error: None,
    };
    let info = job.info();
    ctx.st.bulk.ingest.insert(id, job);
    Ok(BulkReply::Json(StatusCode::OK, info))
}

fn job_mut<'a>(ctx: &'a mut Ctx<'_>, id: &str) -> Result<&'a mut IngestJob, ApiError> {
    let org = ctx.org;
    ctx.st
        .bulk
        .ingest
        .get_mut(id)
        .filter(|j| j.org == org)
        .ok_or_else(job_not_found)
}

/// `PUT …/batches`: CSV with a header row; only while the job is `Open`.
pub fn upload(ctx: &mut Ctx<'_>, id: &str) -> Result<BulkReply, ApiError> {
    let ct = content_type(ctx);
    if !ct.starts_with("text/csv") {
        return Err(unsupported_media(&ct));
    }
    let body = ctx.body.clone();
    let job = job_mut(ctx, id)?;
    if job.state != JobState::Open {
        return Err(invalid_state(format!(
            "Data can be uploaded only to an Open job; it is {}",
            job.state.as_str()
        )));
    }
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(job.delimiter.byte())
        .has_headers(true)
        .from_reader(body.as_ref());
    let header: Vec<String> = reader
        .headers()
        .map_err(|e| invalid_job(format!("Invalid CSV: {e}")))?
        .iter()
        .map(str::to_string)
        .collect();
    // One upload per job: a real org refuses a second PUT (recorded from a live org in a
    // public client's comments: "Found multiple contents for job").
    if job.header.is_some() {
        return Err(invalid_state(format!(
            "Found multiple contents for job: <{}>, please 'Close' / 'Abort' / 'Delete' the current Job then create a new Job and make sure you only do 'PUT' once on a given Job.",
            job.id
        )));
    }
    // The data's line ending must be the job's `lineEnding` (guide: "Line Ending
    // Header"); a mismatch fails the job when it is closed, with the org's message.
    if let Some(found) = first_line_ending(&body)
        && found != job.line_ending
    {
        job.data_error = Some(format!(
            "ClientInputError : LineEnding is invalid on user data. Current LineEnding setting is {}",
            job.line_ending.as_str()
        ));
    }
    let mut rows = Vec::new();
    for rec in reader.records() {
        let rec = rec.map_err(|e| invalid_job(format!("Invalid CSV: {e}")))?;
        rows.push(rec.iter().map(str::to_string).collect());
    }
    job.header = Some(header);
    job.pending.extend(rows);
    Ok(BulkReply::Empty(StatusCode::CREATED))
}

/// The line ending of the first line (the header row), outside quoted values.
fn first_line_ending(body: &[u8]) -> Option<LineEnding> {
    let mut quoted = false;
    for (i, b) in body.iter().enumerate() {
        match b {
            b'"' => quoted = !quoted,
            b'\n' if !quoted => {
                return Some(if i > 0 && body[i - 1] == b'\r' {
                    LineEnding::Crlf
                } else {
                    LineEnding::Lf
                });
            }
            _ => {}
        }
    }
    None
}

/// `PATCH {"state": "UploadComplete" | "Aborted"}`.
pub fn set_state(ctx: &mut Ctx<'_>, id: &str) -> Result<BulkReply, ApiError> {
    let body = require_json(ctx)?;
    known_keys(&body, &["state"])?;
    let wanted = body.get("state").and_then(Value::as_str).unwrap_or("");
    let state = job_mut(ctx, id)?.state;
    match wanted {
        "UploadComplete" if state == JobState::Open => process(ctx, id)?,
        "UploadComplete" => {
            return Err(invalid_state(format!(
                "Only an Open job can be set to UploadComplete; it is {}",
                state.as_str()
            )));
        }
        "Aborted" if !state.is_terminal() => job_mut(ctx, id)?.state = JobState::Aborted,
        "Aborted" => {
            return Err(invalid_state(format!(
                "Aborting already {} Job not allowed",
                if state == JobState::JobComplete {
                    "Completed"
                } else {
                    state.as_str()
                }
            )));
        }
        other => return Err(invalid_state(format!("Invalid state: {other}"))),
    }
    let job = job_mut(ctx, id)?;
    Ok(BulkReply::Json(StatusCode::OK, job.info()))
}

/// Applies every uploaded row (state `UploadComplete` until its status is read).
fn process(ctx: &mut Ctx<'_>, id: &str) -> Result<(), ApiError> {
    let (object, operation, ext, header, rows) = {
        let job = job_mut(ctx, id)?;
        job.state = JobState::UploadComplete;
        let Some(header) = job.header.clone() else {
            job.state = JobState::Failed;
            job.error_message = Some("InvalidBatch : No data uploaded".into());
            return Ok(());
        };
        if let Some(e) = job.data_error.clone() {
            job.state = JobState::Failed;
            job.error_message = Some(e);
            return Ok(());
        }
        (
            job.object.clone(),
            job.operation,
            job.external_id.clone(),
            header,
            std::mem::take(&mut job.pending),
        )
    };
    let def = crate::writes::object_def(ctx.st, ctx.org, &object)?;
    // An unknown column fails the whole job, as a real org does; nothing is processed.
    if let Some(bad) = header.iter().find(|h| def.field(h).is_none()) {
        let job = job_mut(ctx, id)?;
        job.state = JobState::Failed;
        job.error_message = Some(format!("InvalidBatch : Field name not found : {bad}"));
        job.pending = rows;
        return Ok(());
    }
    let opts = ctx.write_opts();
    let mut successes = Vec::new();
    let mut failures = Vec::new();
    for row in rows {
        let outcome = apply_row(ctx, &def, operation, ext.as_deref(), &header, &row, &opts);
        match outcome {
            Ok((sf_id, created)) => {
                let mut r = vec![sf_id, created.to_string()];
                r.extend(row);
                successes.push(r);
            }
            Err((sf_id, e)) => {
                let mut r = vec![sf_id, error_text(&e)];
                r.extend(row);
                failures.push(r);
            }
        }
    }
    let job = job_mut(ctx, id)?;
    job.successes = successes;
    job.failures = failures;
    Ok(())
}

/// `CODE:message:fields --`, the shape of `sf__Error` values.
fn error_text(e: &ApiError) -> String {
    format!("{}:{}:{} --", e.code, e.message, e.fields.join(","))
}

/// CSV text to the field's JSON type; an empty value means "not set" (`#N/A` is null).
fn typed(def: &ObjectDef, field: &str, text: &str) -> Option<Value> {
    if text.is_empty() {
        return None;
    }
    if text == "#N/A" {
        return Some(Value::Null);
    }
    let ftype = def.field(field).map(|f| f.ftype);
    Some(match ftype {
        Some(FieldType::Boolean) => match text.to_ascii_lowercase().as_str() {
            "true" | "1" => Value::Bool(true),
            "false" | "0" => Value::Bool(false),
            _ => Value::String(text.to_string()),
        },
        Some(FieldType::Int) => text
            .parse::<i64>()
            .map(Value::from)
            .unwrap_or_else(|_| Value::String(text.to_string())),
        Some(FieldType::Double | FieldType::Currency | FieldType::Percent) => text
            .parse::<f64>()
            .ok()
            .and_then(|f| serde_json::Number::from_f64(f).map(Value::Number))
            .unwrap_or_else(|| Value::String(text.to_string())),
        _ => Value::String(text.to_string()),
    })
}

fn apply_row(
    ctx: &mut Ctx<'_>,
    def: &ObjectDef,
    operation: Operation,
    ext: Option<&str>,
    header: &[String],
    row: &[String],
    opts: &crate::writes::WriteOpts,
) -> Result<(String, bool), (String, ApiError)> {
    let mut input = Map::new();
    let mut id = String::new();
    let mut ext_value = String::new();
    for (h, v) in header.iter().zip(row) {
        if h.eq_ignore_ascii_case("Id") {
            id = v.clone();
            continue;
        }
        if ext.is_some_and(|e| e.eq_ignore_ascii_case(h)) {
            ext_value = v.clone();
        }
        if let Some(value) = typed(def, h, v) {
            input.insert(
                def.field(h).map(|f| f.name.clone()).unwrap_or(h.clone()),
                value,
            );
        }
    }
    let st = &mut *ctx.st;
    let org = ctx.org;
    match operation {
        Operation::Insert => crate::writes::create(st, org, &def.name, &input, opts)
            .map(|id| (id, true))
            .map_err(|e| (String::new(), e)),
        Operation::Update => crate::writes::update(st, org, &def.name, &id, &input, opts)
            .map(|()| (id.clone(), false))
            .map_err(|e| (id.clone(), e)),
        Operation::Delete => crate::writes::delete(st, org, &def.name, &id, opts)
            .map(|()| (id.clone(), false))
            .map_err(|e| (id.clone(), e)),
        Operation::Upsert => {
            let field = ext.unwrap_or("Id");
            input.retain(|k, _| !k.eq_ignore_ascii_case(field));
            let key = if field.eq_ignore_ascii_case("Id") {
                id.clone()
            } else {
                ext_value
            };
            match crate::writes::upsert(st, org, &def.name, field, &key, &input, opts) {
                Ok(crate::writes::Upserted::Created(id)) => Ok((id, true)),
                Ok(crate::writes::Upserted::Updated(id)) => Ok((id, false)),
                Ok(crate::writes::Upserted::Multiple(ids)) => Err((
                    String::new(),
                    ApiError::bad(
                        "DUPLICATE_EXTERNAL_ID",
                        format!(
                            "{field}: more than one record found for external id field: {ids:?}"
                        ),
                    ),
                )),
                Err(e) => Err((String::new(), e)),
            }
        }
    }
}

pub fn info(ctx: &mut Ctx<'_>, id: &str) -> Result<BulkReply, ApiError> {
    let job = job_mut(ctx, id)?;
    if matches!(job.state, JobState::UploadComplete | JobState::InProgress) {
        if job.polls_left > 0 {
            job.polls_left -= 1;
            job.state = JobState::InProgress;
        } else {
            job.state = JobState::JobComplete;
        }
    }
    Ok(BulkReply::Json(StatusCode::OK, job.info()))
}

pub fn delete(ctx: &mut Ctx<'_>, id: &str) -> Result<BulkReply, ApiError> {
    let job = job_mut(ctx, id)?;
    if !(job.state.is_terminal() || job.state == JobState::Open) {
        return Err(invalid_state(
            "A job being processed cannot be deleted; abort it first",
        ));
    }
    ctx.st.bulk.ingest.remove(id);
    Ok(BulkReply::Empty(StatusCode::NO_CONTENT))
}

/// `successfulResults/`, `failedResults/`, `unprocessedrecords/`.
pub fn results(ctx: &mut Ctx<'_>, id: &str, resource: &str) -> Result<BulkReply, ApiError> {
    let job = job_mut(ctx, id)?;
    let header = job.header.clone().unwrap_or_default();
    let with = |first: [&str; 2]| -> Vec<String> {
        first
            .iter()
            .map(|s| s.to_string())
            .chain(header.iter().cloned())
            .collect()
    };
    let (head, rows) = match resource {
        "successfulResults" => (with(["sf__Id", "sf__Created"]), &job.successes),
        "failedResults" => (with(["sf__Id", "sf__Error"]), &job.failures),
        "unprocessedrecords" => (header.clone(), &job.pending),
        _ => return Err(job_not_found()),
    };
    let done = job.state.is_terminal();
    if resource != "unprocessedrecords" && !done {
        return Err(invalid_state(format!(
            "Results are available when the job is in a final state; it is {}",
            job.state.as_str()
        )));
    }
    let body = render_rows(&head, rows, job.delimiter, job.line_ending)
        .map_err(|e| ApiError::bad("API_ERROR", e.to_string()))?;
    Ok(BulkReply::Csv {
        body,
        headers: vec![],
    })
}
