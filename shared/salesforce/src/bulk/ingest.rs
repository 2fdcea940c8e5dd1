//! Ingest jobs: create, upload CSV, close, poll, and read the per-record results.

use std::collections::BTreeMap;
use std::time::Instant;

use reqwest::Method;
use serde_json::json;

use super::{JobInfo, PollBackoff};
use crate::client::SfClient;
use crate::error::SfError;
use crate::http::Request;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IngestOperation {
    Insert,
    Update,
    Upsert,
    Delete,
}

impl IngestOperation {
    fn as_str(self) -> &'static str {
        match self {
            IngestOperation::Insert => "insert",
            IngestOperation::Update => "update",
            IngestOperation::Upsert => "upsert",
            IngestOperation::Delete => "delete",
        }
    }
}

/// One row of `successfulResults/` or `failedResults/`: the record's Id (empty when a
/// create failed), whether it was created, the error text, and the uploaded fields.
#[derive(Clone, Debug, PartialEq)]
pub struct IngestRow {
    pub sf_id: Option<String>,
    pub created: bool,
    pub error: Option<String>,
    pub fields: BTreeMap<String, String>,
}

/// The three result lists of a finished ingest job.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct IngestResults {
    pub successful: Vec<IngestRow>,
    pub failed: Vec<IngestRow>,
    pub unprocessed: Vec<BTreeMap<String, String>>,
}

impl SfClient {
    /// `POST jobs/ingest`: an `Open` job for `object`.
    pub async fn bulk_ingest_create(
        &self,
        object: &str,
        operation: IngestOperation,
        external_id_field: Option<&str>,
    ) -> Result<JobInfo, SfError> {
        let mut body = json!({
            "object": object,
            "operation": operation.as_str(),
            "contentType": "CSV",
            "lineEnding": "LF",
        });
        if let Some(f) = external_id_field {
            body["externalIdFieldName"] = json!(f);
        }
        let url = self.data_url(&["jobs", "ingest"]);
        self.execute_json(
            Request::new(Method::POST, url).json(&body)?,
            "bulk ingest job",
        )
        .await
    }

    /// `PUT jobs/ingest/{id}/batches` with CSV rows under `columns`.
    pub async fn bulk_ingest_upload(
        &self,
        job_id: &str,
        columns: &[String],
        rows: &[Vec<String>],
    ) -> Result<(), SfError> {
        let mut w = csv::WriterBuilder::new()
            .terminator(csv::Terminator::Any(b'\n'))
            .from_writer(Vec::new());
        w.write_record(columns)
            .map_err(|e| SfError::invalid("csv", e.to_string()))?;
        for r in rows {
            w.write_record(r)
                .map_err(|e| SfError::invalid("csv", e.to_string()))?;
        }
        let body = w
            .into_inner()
            .map_err(|e| SfError::invalid("csv", e.to_string()))?;
        let url = self.data_url(&["jobs", "ingest", job_id, "batches"]);
        // One PUT per job: a real org refuses a second ("Found multiple contents for job").
        self.execute(Request::new(Method::PUT, url).csv(body).idempotent(false))
            .await
            .map(|_| ())
    }

    /// `PATCH jobs/ingest/{id}` to `UploadComplete`: processing starts.
    pub async fn bulk_ingest_close(&self, job_id: &str) -> Result<JobInfo, SfError> {
        let url = self.data_url(&["jobs", "ingest", job_id]);
        let body = json!({"state": "UploadComplete"});
        self.execute_json(
            Request::new(Method::PATCH, url).json(&body)?,
            "bulk ingest close",
        )
        .await
    }

    /// `PATCH jobs/ingest/{id}` to `Aborted`: an `Open` job is dropped with nothing applied.
    pub async fn bulk_ingest_abort(&self, job_id: &str) -> Result<JobInfo, SfError> {
        let url = self.data_url(&["jobs", "ingest", job_id]);
        let body = json!({"state": "Aborted"});
        self.execute_json(
            Request::new(Method::PATCH, url).json(&body)?,
            "bulk ingest abort",
        )
        .await
    }

    /// `GET jobs/ingest/{id}`.
    pub async fn bulk_ingest_info(&self, job_id: &str) -> Result<JobInfo, SfError> {
        let url = self.data_url(&["jobs", "ingest", job_id]);
        self.execute_json(Request::new(Method::GET, url), "bulk ingest job info")
            .await
    }

    /// Polls an ingest job like [`SfClient::bulk_query_wait`].
    pub async fn bulk_ingest_wait(
        &self,
        job_id: &str,
        backoff: PollBackoff,
        deadline: Option<Instant>,
    ) -> Result<JobInfo, SfError> {
        super::wait_until_final(|| self.bulk_ingest_info(job_id), backoff, deadline).await
    }

    /// Reads `successfulResults/`, `failedResults/` and `unprocessedrecords/` (3 calls).
    pub async fn bulk_ingest_results(&self, job_id: &str) -> Result<IngestResults, SfError> {
        let successful = self
            .ingest_csv(job_id, "successfulResults")
            .await?
            .into_iter()
            .map(|mut f| IngestRow {
                sf_id: f.remove("sf__Id").filter(|s| !s.is_empty()),
                created: f.remove("sf__Created").as_deref() == Some("true"),
                error: None,
                fields: f,
            })
            .collect();
        let failed = self
            .ingest_csv(job_id, "failedResults")
            .await?
            .into_iter()
            .map(|mut f| IngestRow {
                sf_id: f.remove("sf__Id").filter(|s| !s.is_empty()),
                created: false,
                error: f.remove("sf__Error"),
                fields: f,
            })
            .collect();
        let unprocessed = self.ingest_csv(job_id, "unprocessedrecords").await?;
        Ok(IngestResults {
            successful,
            failed,
            unprocessed,
        })
    }

    async fn ingest_csv(
        &self,
        job_id: &str,
        resource: &str,
    ) -> Result<Vec<BTreeMap<String, String>>, SfError> {
        // The guide writes these resources with a trailing slash.
        let mut url = self.data_url(&["jobs", "ingest", job_id, resource]);
        url.set_path(&format!("{}/", url.path()));
        let request = Request::new(Method::GET, url).header("accept", "text/csv".into())?;
        let reply = self.execute(request).await?;
        let mut reader = csv::Reader::from_reader(reply.body.as_slice());
        let header: Vec<String> = reader
            .headers()
            .map_err(|e| SfError::decode(resource, e))?
            .iter()
            .map(str::to_string)
            .collect();
        reader
            .records()
            .map(|r| {
                let r = r.map_err(|e| SfError::decode(resource, e))?;
                Ok(header
                    .iter()
                    .cloned()
                    .zip(r.iter().map(str::to_string))
                    .collect())
            })
            .collect()
    }
}
