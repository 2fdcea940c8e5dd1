//! sObject Collections: create / update / upsert / delete up to 200 records a call, with a
//! typed outcome per record. Larger inputs are sent in chunks of 200, in order.

use reqwest::Method;
use serde::ser::SerializeMap;
use serde::{Deserialize, Serialize, Serializer};
use serde_json::{Map, Value};

use crate::client::SfClient;
use crate::error::SfError;
use crate::http::Request;
use crate::sobjects::{check_api_name, check_id};

/// Salesforce's per-call maximum.
pub const COLLECTION_CHUNK: usize = 200;

/// A record to write: its type, its id (updates) and its fields.
#[derive(Clone, Debug, PartialEq)]
pub struct SObjectRecord {
    pub sobject_type: String,
    pub id: Option<String>,
    pub fields: Map<String, Value>,
}

impl SObjectRecord {
    pub fn new(sobject_type: impl Into<String>, fields: Map<String, Value>) -> Self {
        SObjectRecord {
            sobject_type: sobject_type.into(),
            id: None,
            fields,
        }
    }

    pub fn with_id(mut self, id: impl Into<String>) -> Self {
        self.id = Some(id.into());
        self
    }
}

impl Serialize for SObjectRecord {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(None)?;
        map.serialize_entry(
            "attributes",
            &serde_json::json!({ "type": self.sobject_type }),
        )?;
        if let Some(id) = &self.id {
            map.serialize_entry("Id", id)?;
        }
        for (k, v) in &self.fields {
            if k != "attributes" && !(self.id.is_some() && k.eq_ignore_ascii_case("id")) {
                map.serialize_entry(k, v)?;
            }
        }
        map.end()
    }
}

/// One record's result, in request order.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq, Eq)]
pub struct RecordOutcome {
    #[serde(default)]
    pub id: Option<String>,
    pub success: bool,
    /// Upsert only: created (true) or updated (false).
    #[serde(default)]
    pub created: Option<bool>,
    #[serde(default)]
    pub errors: Vec<RecordError>,
}

/// A record-level error; collections use `statusCode`, not `errorCode`.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct RecordError {
    #[serde(alias = "errorCode")]
    pub status_code: String,
    #[serde(default)]
    pub message: String,
    #[serde(default)]
    pub fields: Vec<String>,
}

impl RecordError {
    /// Worth retrying the record later (row lock, or rolled back because of another record).
    pub fn is_retryable(&self) -> bool {
        matches!(
            self.status_code.as_str(),
            "UNABLE_TO_LOCK_ROW" | "ALL_OR_NONE_OPERATION_ROLLED_BACK" | "SERVER_UNAVAILABLE"
        )
    }
}

/// A chunked call failed part-way: `completed` holds the outcomes of the records before
/// the failed chunk (they were applied); the rest were not.
#[derive(Debug, thiserror::Error)]
#[error("collection call failed after {} records: {source}", completed.len())]
pub struct CollectionError {
    pub completed: Vec<RecordOutcome>,
    #[source]
    pub source: SfError,
}

impl CollectionError {
    pub fn is_retryable(&self) -> bool {
        self.source.is_retryable()
    }
}

impl From<CollectionError> for SfError {
    fn from(err: CollectionError) -> SfError {
        err.source
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct CollectionBody<'a> {
    all_or_none: bool,
    records: &'a [SObjectRecord],
}

enum Write<'a> {
    Create,
    Update,
    Upsert { sobject: &'a str, field: &'a str },
}

impl SfClient {
    /// `POST composite/sobjects`. `all_or_none` applies within each chunk of 200.
    pub async fn create_records(
        &self,
        records: &[SObjectRecord],
        all_or_none: bool,
    ) -> Result<Vec<RecordOutcome>, CollectionError> {
        self.write_chunks(records, all_or_none, Write::Create).await
    }

    /// `PATCH composite/sobjects`; every record needs an id.
    pub async fn update_records(
        &self,
        records: &[SObjectRecord],
        all_or_none: bool,
    ) -> Result<Vec<RecordOutcome>, CollectionError> {
        self.write_chunks(records, all_or_none, Write::Update).await
    }

    /// `PATCH composite/sobjects/{Type}/{ExtField}`; one object type, each record carrying
    /// its external id value in `field`.
    pub async fn upsert_records(
        &self,
        sobject: &str,
        field: &str,
        records: &[SObjectRecord],
        all_or_none: bool,
    ) -> Result<Vec<RecordOutcome>, CollectionError> {
        self.write_chunks(records, all_or_none, Write::Upsert { sobject, field })
            .await
    }

    /// `DELETE composite/sobjects?ids=…&allOrNone=…`.
    pub async fn delete_records(
        &self,
        ids: &[&str],
        all_or_none: bool,
    ) -> Result<Vec<RecordOutcome>, CollectionError> {
        let mut completed = Vec::with_capacity(ids.len());
        for chunk in ids.chunks(COLLECTION_CHUNK) {
            let result = async {
                for id in chunk {
                    check_id(id)?;
                }
                let mut url = self.data_url(&["composite", "sobjects"]);
                url.query_pairs_mut()
                    .append_pair("ids", &chunk.join(","))
                    .append_pair("allOrNone", if all_or_none { "true" } else { "false" });
                let outcomes: Vec<RecordOutcome> = self
                    .execute_json(Request::new(Method::DELETE, url), "collection delete")
                    .await?;
                check_count(outcomes, chunk.len())
            }
            .await;
            match result {
                Ok(outcomes) => completed.extend(outcomes),
                Err(source) => return Err(CollectionError { completed, source }),
            }
        }
        Ok(completed)
    }

    async fn write_chunks(
        &self,
        records: &[SObjectRecord],
        all_or_none: bool,
        write: Write<'_>,
    ) -> Result<Vec<RecordOutcome>, CollectionError> {
        let mut completed = Vec::with_capacity(records.len());
        for chunk in records.chunks(COLLECTION_CHUNK) {
            match self.write_chunk(chunk, all_or_none, &write).await {
                Ok(outcomes) => completed.extend(outcomes),
                Err(source) => return Err(CollectionError { completed, source }),
            }
        }
        Ok(completed)
    }

    async fn write_chunk(
        &self,
        chunk: &[SObjectRecord],
        all_or_none: bool,
        write: &Write<'_>,
    ) -> Result<Vec<RecordOutcome>, SfError> {
        for (i, record) in chunk.iter().enumerate() {
            check_api_name(
                &format!("records[{i}].attributes.type"),
                &record.sobject_type,
            )?;
            if matches!(write, Write::Update) {
                match &record.id {
                    Some(id) => check_id(id)?,
                    None => {
                        return Err(SfError::invalid(
                            format!("records[{i}].Id"),
                            "update needs an id",
                        ));
                    }
                }
            }
        }
        let (method, url, idempotent) = match write {
            Write::Create => (
                Method::POST,
                self.data_url(&["composite", "sobjects"]),
                false,
            ),
            Write::Update => (
                Method::PATCH,
                self.data_url(&["composite", "sobjects"]),
                true,
            ),
            Write::Upsert { sobject, field } => {
                check_api_name("sobject", sobject)?;
                check_api_name("external id field", field)?;
                if let Some(other) = chunk
                    .iter()
                    .find(|r| !r.sobject_type.eq_ignore_ascii_case(sobject))
                {
                    return Err(SfError::invalid(
                        "attributes.type",
                        format!("upsert of {sobject} got a {} record", other.sobject_type),
                    ));
                }
                (
                    Method::PATCH,
                    self.data_url(&["composite", "sobjects", sobject, field]),
                    true,
                )
            }
        };
        let body = CollectionBody {
            all_or_none,
            records: chunk,
        };
        let request = Request::new(method, url)
            .json(&body)?
            .idempotent(idempotent);
        let outcomes: Vec<RecordOutcome> = self.execute_json(request, "collection write").await?;
        check_count(outcomes, chunk.len())
    }
}

fn check_count(
    outcomes: Vec<RecordOutcome>,
    expected: usize,
) -> Result<Vec<RecordOutcome>, SfError> {
    if outcomes.len() == expected {
        Ok(outcomes)
    } else {
        Err(SfError::decode(
            "collection results",
            format!("{} results for {expected} records", outcomes.len()),
        ))
    }
}
