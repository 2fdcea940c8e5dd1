//! getUpdated / getDeleted (`sobjects/{Type}/updated|deleted?start&end`).

use chrono::{DateTime, SecondsFormat, Utc};
use reqwest::Method;
use serde::{Deserialize, Serialize};

use crate::client::SfClient;
use crate::datetime::serde_sf_datetime;
use crate::error::SfError;
use crate::http::Request;
use crate::sobjects::check_api_name;

#[derive(Clone, Debug, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct UpdatedRecords {
    pub ids: Vec<String>,
    #[serde(with = "serde_sf_datetime")]
    pub latest_date_covered: DateTime<Utc>,
}

#[derive(Clone, Debug, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct DeletedRecord {
    pub id: String,
    #[serde(with = "serde_sf_datetime")]
    pub deleted_date: DateTime<Utc>,
}

#[derive(Clone, Debug, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct DeletedRecords {
    pub deleted_records: Vec<DeletedRecord>,
    #[serde(default, with = "serde_sf_datetime::option")]
    pub earliest_date_available: Option<DateTime<Utc>>,
    #[serde(default, with = "serde_sf_datetime::option")]
    pub latest_date_covered: Option<DateTime<Utc>>,
}

impl SfClient {
    /// Ids changed in `[start, end]` (Salesforce truncates seconds; 30 days back at most).
    pub async fn get_updated(
        &self,
        sobject: &str,
        start: DateTime<Utc>,
        end: DateTime<Utc>,
    ) -> Result<UpdatedRecords, SfError> {
        let request = self.replication_request(sobject, "updated", start, end)?;
        self.execute_json(request, "getUpdated").await
    }

    /// Records deleted in `[start, end]`. A start older than the delete log fails with
    /// [`SfError::InvalidReplicationDate`]: fall back to an Id scan.
    pub async fn get_deleted(
        &self,
        sobject: &str,
        start: DateTime<Utc>,
        end: DateTime<Utc>,
    ) -> Result<DeletedRecords, SfError> {
        let request = self.replication_request(sobject, "deleted", start, end)?;
        self.execute_json(request, "getDeleted").await
    }

    fn replication_request(
        &self,
        sobject: &str,
        kind: &str,
        start: DateTime<Utc>,
        end: DateTime<Utc>,
    ) -> Result<Request, SfError> {
        check_api_name("sobject", sobject)?;
        if start >= end {
            return Err(SfError::invalid("start", "start must precede end"));
        }
        let mut url = self.data_url(&["sobjects", sobject, kind, ""]);
        url.query_pairs_mut()
            .append_pair("start", &start.to_rfc3339_opts(SecondsFormat::Secs, false))
            .append_pair("end", &end.to_rfc3339_opts(SecondsFormat::Secs, false));
        Ok(Request::new(Method::GET, url))
    }
}
