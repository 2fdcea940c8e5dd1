//! Bulk API 2.0: query jobs read by locator, ingest jobs with per-record results.
//!
//! Facts relied on (Salesforce *Bulk API 2.0 and Bulk API Developer Guide*, API 47.0+ for
//! query jobs, 41.0+ for ingest): a query job is created in state `UploadComplete`, moves
//! through `InProgress` to `JobComplete` (or `Failed`/`Aborted`), and its results are read
//! only in `JobComplete` as CSV sets: `?locator=&maxRecords=`, `Sforce-NumberOfRecords`
//! per set, `Sforce-Locator` for the next set and the string `null` after the last.
//! Results must be read with the job's API version (else 409). Bulk queries take no
//! aggregate functions (`COUNT()`), `OFFSET`, and should not use `ORDER BY`/`LIMIT` (they
//! disable PK chunking). Ingest jobs: create (`Open`), `PUT …/batches` as `text/csv`,
//! `PATCH {"state":"UploadComplete"}`, then `successfulResults/` (`sf__Id`, `sf__Created`),
//! `failedResults/` (`sf__Id`, `sf__Error`) and `unprocessedrecords/`, whose row order is
//! not the upload's. Each HTTP request counts as one API call (help article 000382576).
//! In CSV an empty field is a null; values are text, so [`typed_record`] types them by
//! describe to match what the REST API returns as JSON.

mod ingest;
mod query;

use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::describe::ObjectDescribe;

pub use ingest::{IngestOperation, IngestResults, IngestRow};
pub use query::ResultSet;

/// A Bulk API 2.0 job's state.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum JobState {
    Open,
    UploadComplete,
    InProgress,
    JobComplete,
    Failed,
    Aborted,
}

impl JobState {
    /// `JobComplete`, `Failed` or `Aborted`: the job will not change any more.
    pub fn is_final(self) -> bool {
        matches!(
            self,
            JobState::JobComplete | JobState::Failed | JobState::Aborted
        )
    }
}

/// Job info as Salesforce returns it (the fields crmsync reads).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct JobInfo {
    pub id: String,
    pub state: JobState,
    #[serde(default)]
    pub object: Option<String>,
    #[serde(default)]
    pub operation: Option<String>,
    #[serde(default)]
    pub number_records_processed: Option<u64>,
    #[serde(default)]
    pub number_records_failed: Option<u64>,
    #[serde(default)]
    pub error_message: Option<String>,
}

/// How a job's state is polled: exponential backoff from `first` up to `max` between
/// status reads, and never past the caller's deadline.
#[derive(Clone, Copy, Debug)]
pub struct PollBackoff {
    pub first: Duration,
    pub max: Duration,
}

impl Default for PollBackoff {
    fn default() -> Self {
        Self {
            first: Duration::from_millis(500),
            max: Duration::from_secs(30),
        }
    }
}

/// Reads a job's state with `read` until it is final, waiting per `backoff` between reads;
/// returns early (with the last, unfinished state) when the next wait would pass
/// `deadline`. One loop for query and ingest jobs.
pub(super) async fn wait_until_final<F, Fut>(
    mut read: F,
    backoff: PollBackoff,
    deadline: Option<Instant>,
) -> Result<JobInfo, crate::error::SfError>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<JobInfo, crate::error::SfError>>,
{
    let mut n = 0;
    loop {
        let info = read().await?;
        if info.state.is_final() {
            return Ok(info);
        }
        n += 1;
        let delay = backoff.delay(n);
        if !PollBackoff::fits(delay, deadline) {
            return Ok(info);
        }
        tokio::time::sleep(delay).await;
    }
}

impl PollBackoff {
    /// The wait before status read number `n` (0 = the first read: no wait).
    pub fn delay(&self, n: u32) -> Duration {
        if n == 0 {
            return Duration::ZERO;
        }
        let factor = 2u32.saturating_pow(n - 1);
        self.first.saturating_mul(factor).min(self.max)
    }

    /// Whether waiting `delay` still ends before `deadline`.
    pub fn fits(delay: Duration, deadline: Option<Instant>) -> bool {
        deadline.is_none_or(|d| Instant::now() + delay < d)
    }
}

/// One CSV row as the REST API would give it: columns typed by the object's describe
/// (booleans, numbers), empty fields null, dotted columns (`Owner.Email`) nested.
pub fn typed_record(
    columns: &[String],
    row: &csv::StringRecord,
    describe: &ObjectDescribe,
) -> Map<String, Value> {
    let mut out = Map::new();
    for (column, text) in columns.iter().zip(row.iter()) {
        match column.split_once('.') {
            None => {
                let value = typed_value(describe, column, text);
                out.insert(column.clone(), value);
            }
            Some((relation, field)) => {
                let value = if text.is_empty() {
                    Value::Null
                } else {
                    Value::String(text.to_string())
                };
                let parent = out
                    .entry(relation.to_string())
                    .or_insert_with(|| Value::Object(Map::new()));
                if let Value::Object(m) = parent {
                    m.insert(field.to_string(), value);
                }
            }
        }
    }
    // A parent with no values at all is a null lookup, as in JSON.
    for v in out.values_mut() {
        if let Value::Object(m) = v
            && m.values().all(Value::is_null)
        {
            *v = Value::Null;
        }
    }
    out
}

fn typed_value(describe: &ObjectDescribe, column: &str, text: &str) -> Value {
    if text.is_empty() {
        return Value::Null;
    }
    let field_type = describe
        .fields
        .iter()
        .find(|f| f.name.eq_ignore_ascii_case(column))
        .map(|f| f.field_type.as_str());
    match field_type {
        Some("boolean") => match text {
            "true" => Value::Bool(true),
            "false" => Value::Bool(false),
            _ => Value::String(text.to_string()),
        },
        Some("int") => text
            .parse::<i64>()
            .map(Value::from)
            .unwrap_or_else(|_| Value::String(text.to_string())),
        Some("double" | "currency" | "percent") => text
            .parse::<f64>()
            .ok()
            .and_then(|f| serde_json::Number::from_f64(f).map(Value::Number))
            .unwrap_or_else(|| Value::String(text.to_string())),
        _ => Value::String(text.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn describe() -> ObjectDescribe {
        serde_json::from_value(json!({
            "name": "Contact", "label": "Contact",
            "fields": [
                {"name": "Id", "type": "id"},
                {"name": "DoNotCall", "type": "boolean"},
                {"name": "Score__c", "type": "double"},
                {"name": "Email", "type": "email"}
            ]
        }))
        .expect("describe")
    }

    #[test]
    fn rows_are_typed_like_rest_json() {
        let cols: Vec<String> = ["Id", "DoNotCall", "Score__c", "Email", "Owner.Email"]
            .map(String::from)
            .to_vec();
        let row = csv::StringRecord::from(vec!["003A", "true", "12.5", "", "o@x.example"]);
        let rec = typed_record(&cols, &row, &describe());
        assert_eq!(
            Value::Object(rec),
            json!({"Id": "003A", "DoNotCall": true, "Score__c": 12.5, "Email": null,
                   "Owner": {"Email": "o@x.example"}})
        );
        let row = csv::StringRecord::from(vec!["003B", "false", "x", "a@b", ""]);
        let rec = typed_record(&cols, &row, &describe());
        assert_eq!(rec["Owner"], Value::Null);
        assert_eq!(
            rec["Score__c"],
            json!("x"),
            "an unparsable number stays text"
        );
    }

    #[test]
    fn backoff_doubles_up_to_its_cap() {
        let b = PollBackoff {
            first: Duration::from_millis(100),
            max: Duration::from_millis(350),
        };
        let waits: Vec<u128> = (0..5).map(|n| b.delay(n).as_millis()).collect();
        assert_eq!(waits, [0, 100, 200, 350, 350]);
    }
}
