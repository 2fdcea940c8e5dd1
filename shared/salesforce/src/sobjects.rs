//! Single-record CRUD and upsert by external id / idLookup field.

use reqwest::Method;
use serde::Deserialize;
use serde_json::{Map, Value};

use crate::client::SfClient;
use crate::error::{ApiError, SfError};
use crate::http::Request;
use crate::record::Record;

/// `{"id","success","errors"}` from create and upsert.
#[derive(Clone, Debug, Deserialize)]
struct SaveResult {
    #[serde(default)]
    id: Option<String>,
    #[serde(default)]
    success: bool,
    #[serde(default)]
    created: Option<bool>,
    #[serde(default)]
    errors: Vec<ApiError>,
}

/// Result of an upsert: 201 → created, 200 → updated.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UpsertOutcome {
    /// Absent only on old API versions that answer an update with 204.
    pub id: Option<String>,
    pub created: bool,
}

impl SfClient {
    /// `POST sobjects/{Type}` → the new record's id.
    pub async fn create(
        &self,
        sobject: &str,
        fields: &Map<String, Value>,
    ) -> Result<String, SfError> {
        check_api_name("sobject", sobject)?;
        let url = self.data_url(&["sobjects", sobject]);
        let reply = self
            .execute(Request::new(Method::POST, url).json(fields)?)
            .await?;
        let saved: SaveResult = reply.json("create")?;
        saved_id(saved, "create")
    }

    /// `PATCH sobjects/{Type}/{Id}` (204).
    pub async fn update(
        &self,
        sobject: &str,
        id: &str,
        fields: &Map<String, Value>,
    ) -> Result<(), SfError> {
        check_api_name("sobject", sobject)?;
        check_id(id)?;
        let url = self.data_url(&["sobjects", sobject, id]);
        self.execute(Request::new(Method::PATCH, url).json(fields)?)
            .await?;
        Ok(())
    }

    /// `DELETE sobjects/{Type}/{Id}` (204).
    pub async fn delete(&self, sobject: &str, id: &str) -> Result<(), SfError> {
        check_api_name("sobject", sobject)?;
        check_id(id)?;
        let url = self.data_url(&["sobjects", sobject, id]);
        self.execute(Request::new(Method::DELETE, url)).await?;
        Ok(())
    }

    /// `GET sobjects/{Type}/{Id}[?fields=…]`; an empty `fields` returns all fields.
    pub async fn get(&self, sobject: &str, id: &str, fields: &[&str]) -> Result<Record, SfError> {
        check_api_name("sobject", sobject)?;
        check_id(id)?;
        for field in fields {
            check_api_name("field", field)?;
        }
        let mut url = self.data_url(&["sobjects", sobject, id]);
        if !fields.is_empty() {
            url.query_pairs_mut()
                .append_pair("fields", &fields.join(","));
        }
        self.execute_json(Request::new(Method::GET, url), "get record")
            .await
    }

    /// `PATCH sobjects/{Type}/{Field}/{value}`: 201 created, 200 updated, 300 several
    /// matches ([`SfError::UpsertMultipleMatches`]). `field` is an externalId or idLookup
    /// field; the value is percent-encoded into the path.
    pub async fn upsert(
        &self,
        sobject: &str,
        field: &str,
        value: &str,
        fields: &Map<String, Value>,
    ) -> Result<UpsertOutcome, SfError> {
        check_api_name("sobject", sobject)?;
        check_api_name("external id field", field)?;
        if value.is_empty() {
            return Err(SfError::invalid(field, "external id value is empty"));
        }
        let url = self.data_url(&["sobjects", sobject, field, value]);
        let reply = self
            .execute(Request::new(Method::PATCH, url).json(fields)?)
            .await?;
        match reply.status {
            300 => {
                let matches: Vec<String> = reply.json("upsert multiple matches")?;
                Err(SfError::UpsertMultipleMatches {
                    sobject: sobject.to_string(),
                    field: field.to_string(),
                    matches,
                })
            }
            204 => Ok(UpsertOutcome {
                id: None,
                created: false,
            }),
            status => {
                let saved: SaveResult = reply.json("upsert")?;
                let created = saved.created.unwrap_or(status == 201);
                let id = saved_id(saved, "upsert")?;
                Ok(UpsertOutcome {
                    id: Some(id),
                    created,
                })
            }
        }
    }
}

fn saved_id(saved: SaveResult, context: &str) -> Result<String, SfError> {
    if !saved.success {
        let first = saved.errors.into_iter().next().unwrap_or(ApiError {
            message: "success=false without errors".into(),
            error_code: "UNKNOWN".into(),
            fields: Vec::new(),
        });
        return Err(SfError::Permanent {
            status: 200,
            code: first.error_code,
            message: first.message,
            fields: first.fields,
        });
    }
    saved
        .id
        .ok_or_else(|| SfError::decode(context, "response has no id"))
}

/// Object and field API names: letters, digits, underscores (custom `__c`, `__r`).
pub(crate) fn check_api_name(what: &str, name: &str) -> Result<(), SfError> {
    if is_api_name(name) {
        Ok(())
    } else {
        Err(SfError::invalid(
            what,
            format!("{name:?} is not a Salesforce API name"),
        ))
    }
}

pub(crate) fn is_api_name(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
        && name.len() <= 80
}

/// 15- or 18-character record ids.
pub(crate) fn check_id(id: &str) -> Result<(), SfError> {
    if (id.len() == 15 || id.len() == 18) && id.chars().all(|c| c.is_ascii_alphanumeric()) {
        Ok(())
    } else {
        Err(SfError::invalid(
            "Id",
            format!("{id:?} is not a Salesforce record id"),
        ))
    }
}
