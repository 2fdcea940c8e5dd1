//! Query jobs: create, poll with backoff, read result sets by locator.

use std::time::Instant;

use reqwest::Method;
use serde_json::json;

use super::{JobInfo, PollBackoff};
use crate::client::SfClient;
use crate::error::SfError;
use crate::http::Request;
use crate::query::QueryScope;

/// One set of a query job's results.
#[derive(Debug, Clone)]
pub struct ResultSet {
    /// The CSV header (field paths as in the query, `Owner.Email` for a parent's field).
    pub columns: Vec<String>,
    pub rows: Vec<csv::StringRecord>,
    /// The next set's locator; `None` after the last set (`Sforce-Locator: null`).
    pub next_locator: Option<String>,
}

impl SfClient {
    /// `POST jobs/query`: starts a query job (CSV, comma, LF).
    pub async fn bulk_query_create(
        &self,
        soql: &str,
        scope: QueryScope,
    ) -> Result<JobInfo, SfError> {
        let operation = match scope {
            QueryScope::Live => "query",
            QueryScope::IncludeDeleted => "queryAll",
        };
        let url = self.data_url(&["jobs", "query"]);
        let body = json!({"operation": operation, "query": soql, "contentType": "CSV"});
        self.execute_json(
            Request::new(Method::POST, url).json(&body)?,
            "bulk query job",
        )
        .await
    }

    /// `GET jobs/query/{id}`.
    pub async fn bulk_query_info(&self, job_id: &str) -> Result<JobInfo, SfError> {
        let url = self.data_url(&["jobs", "query", job_id]);
        self.execute_json(Request::new(Method::GET, url), "bulk query job info")
            .await
    }

    /// Reads the job's state until it is final, waiting per `backoff` between reads.
    /// Returns early (with the last, unfinished state) when the next wait would pass
    /// `deadline`, so a caller with a time budget can keep the job id and come back.
    pub async fn bulk_query_wait(
        &self,
        job_id: &str,
        backoff: PollBackoff,
        deadline: Option<Instant>,
    ) -> Result<JobInfo, SfError> {
        super::wait_until_final(|| self.bulk_query_info(job_id), backoff, deadline).await
    }

    /// `GET jobs/query/{id}/results`: one set of at most `max_records` rows, from
    /// `locator` (`None` = the first set).
    pub async fn bulk_query_results(
        &self,
        job_id: &str,
        locator: Option<&str>,
        max_records: u32,
    ) -> Result<ResultSet, SfError> {
        let mut url = self.data_url(&["jobs", "query", job_id, "results"]);
        {
            let mut q = url.query_pairs_mut();
            q.append_pair("maxRecords", &max_records.to_string());
            if let Some(l) = locator {
                q.append_pair("locator", l);
            }
        }
        let request = Request::new(Method::GET, url).header("accept", "text/csv".into())?;
        let reply = self.execute(request).await?;
        let next_locator = reply
            .headers
            .get("sforce-locator")
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
            .filter(|l| !l.is_empty() && *l != "null")
            .map(str::to_string);
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(true)
            .from_reader(reply.body.as_slice());
        let columns = reader
            .headers()
            .map_err(|e| SfError::decode("bulk query results", e))?
            .iter()
            .map(str::to_string)
            .collect();
        let rows = reader
            .records()
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| SfError::decode("bulk query results", e))?;
        Ok(ResultSet {
            columns,
            rows,
            next_locator,
        })
    }
}
