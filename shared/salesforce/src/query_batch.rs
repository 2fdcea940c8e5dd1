//! Several SOQL queries' first pages in one `POST composite` (the poller's idle minute).
//!
//! What this relies on, from Salesforce's REST API Developer Guide:
//! - "Send Multiple Requests Using Composite": "The entire series of requests counts as a
//!   single call toward your API limits."
//! - "Composite": up to 25 subrequests in one call, of which up to 5 query operations
//!   (Query, QueryAll, and Query More for the next batch of a query's results).
//! - "Composite Response Body": each subrequest result carries the subrequest resource's
//!   own response `body` (for a query: `totalSize`, `done`, `nextRecordsUrl`, `records`),
//!   its `httpStatusCode` and `referenceId`; a failed subrequest's body is the usual error
//!   array. Without `allOrNone` the other subrequests still run.
//! - "Composite Subrequest": `httpHeaders` may carry any header the subrequest's resource
//!   supports except `Accept`, `Authorization` and `Content-Type`, so the batch size goes
//!   there (`Sforce-Query-Options`).

use crate::client::SfClient;
use crate::composite::{COMPOSITE_MAX_QUERIES, CompositeSubrequest};
use crate::error::SfError;
use crate::query::{QUERY_OPTIONS, QueryPage};

impl SfClient {
    /// The first page of each query, in order, read `COMPOSITE_MAX_QUERIES` at a time in one
    /// composite request each: `ceil(n / 5)` API calls for `n` queries. A query that failed
    /// comes back as its own error and the others still answer; the outer error is a failure
    /// of a whole composite request. Follow a page that is not `done` with
    /// [`query_continue`](Self::query_continue).
    pub async fn query_first_pages(
        &self,
        soqls: &[String],
    ) -> Result<Vec<Result<QueryPage, SfError>>, SfError> {
        let options = self.query_options()?;
        let mut pages = Vec::with_capacity(soqls.len());
        for chunk in soqls.chunks(COMPOSITE_MAX_QUERIES) {
            let subrequests: Vec<CompositeSubrequest> = chunk
                .iter()
                .enumerate()
                .map(|(i, soql)| {
                    let sub = CompositeSubrequest::query(soql, format!("q{i}"));
                    match &options {
                        Some(o) => sub.with_header(QUERY_OPTIONS, o.clone()),
                        None => sub,
                    }
                })
                .collect();
            let responses = self.composite(&subrequests, false).await?;
            if responses.len() != subrequests.len() {
                return Err(SfError::decode(
                    "composite query",
                    format!(
                        "{} responses to {} queries",
                        responses.len(),
                        subrequests.len()
                    ),
                ));
            }
            for (sub, response) in subrequests.iter().zip(responses) {
                if response.reference_id != sub.reference_id {
                    return Err(SfError::decode(
                        "composite query",
                        format!(
                            "response {} where {} was expected",
                            response.reference_id, sub.reference_id
                        ),
                    ));
                }
                pages.push(match response.error() {
                    Some(e) => Err(e),
                    None => serde_json::from_value::<QueryPage>(response.body)
                        .map_err(|e| SfError::decode("composite query page", e)),
                });
            }
        }
        Ok(pages)
    }
}
