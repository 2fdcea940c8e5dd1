//! Describe types (Salesforce's camelCase JSON) and the describe calls, cached per object
//! per client.
//!
//! The types mirror `crmsync_core::describe` field for field (same names, same serde), so
//! the lead can swap in the core's types with a `pub use`; nothing here relies on a method
//! the core's types lack (relationship lookup is the free function
//! [`relationship_field`]).

use std::sync::Arc;

use reqwest::Method;
use serde::{Deserialize, Serialize};

use crate::client::SfClient;
use crate::error::SfError;
use crate::http::Request;
use crate::sobjects::check_api_name;

#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ObjectDescribe {
    pub name: String,
    #[serde(default)]
    pub label: String,
    #[serde(default)]
    pub key_prefix: Option<String>,
    #[serde(default)]
    pub custom: bool,
    #[serde(default)]
    pub createable: bool,
    #[serde(default)]
    pub updateable: bool,
    #[serde(default)]
    pub fields: Vec<FieldDescribe>,
}

impl ObjectDescribe {
    /// Case-insensitive, like Salesforce.
    pub fn field(&self, name: &str) -> Option<&FieldDescribe> {
        self.fields
            .iter()
            .find(|f| f.name.eq_ignore_ascii_case(name))
    }
}

/// The reference field whose `relationshipName` is `relationship` (`Owner` → `OwnerId`).
pub fn relationship_field<'a>(
    object: &'a ObjectDescribe,
    relationship: &str,
) -> Option<&'a FieldDescribe> {
    object.fields.iter().find(|f| {
        f.relationship_name
            .as_deref()
            .is_some_and(|r| r.eq_ignore_ascii_case(relationship))
    })
}

#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct FieldDescribe {
    pub name: String,
    #[serde(default)]
    pub label: String,
    /// `string`, `email`, `picklist`, `reference`, `datetime`, …
    #[serde(rename = "type", default)]
    pub field_type: String,
    #[serde(default)]
    pub length: u32,
    #[serde(default)]
    pub precision: u32,
    #[serde(default)]
    pub scale: u32,
    #[serde(default)]
    pub nillable: bool,
    #[serde(default)]
    pub createable: bool,
    #[serde(default)]
    pub updateable: bool,
    #[serde(default)]
    pub calculated: bool,
    #[serde(default)]
    pub external_id: bool,
    #[serde(default)]
    pub id_lookup: bool,
    #[serde(default)]
    pub unique: bool,
    #[serde(default)]
    pub custom: bool,
    #[serde(default)]
    pub picklist_values: Vec<PicklistValue>,
    #[serde(default)]
    pub restricted_picklist: bool,
    #[serde(default)]
    pub reference_to: Vec<String>,
    #[serde(default)]
    pub relationship_name: Option<String>,
    #[serde(default)]
    pub defaulted_on_create: bool,
}

impl FieldDescribe {
    /// Salesforce's rule for a field that must be set on create.
    pub fn required_on_create(&self) -> bool {
        self.createable && !self.nillable && !self.defaulted_on_create
    }
}

#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct PicklistValue {
    pub value: String,
    #[serde(default)]
    pub label: Option<String>,
    #[serde(default)]
    pub active: bool,
    #[serde(default)]
    pub default_value: bool,
}

/// `GET sobjects`: the org's objects.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct GlobalDescribe {
    #[serde(default)]
    pub encoding: Option<String>,
    #[serde(default)]
    pub max_batch_size: Option<u32>,
    pub sobjects: Vec<GlobalSObject>,
}

#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct GlobalSObject {
    pub name: String,
    #[serde(default)]
    pub label: String,
    #[serde(default)]
    pub key_prefix: Option<String>,
    #[serde(default)]
    pub queryable: bool,
    #[serde(default)]
    pub createable: bool,
    #[serde(default)]
    pub updateable: bool,
    #[serde(default)]
    pub deletable: bool,
    #[serde(default)]
    pub custom: bool,
}

impl SfClient {
    /// `GET sobjects/{Type}/describe`, cached for the life of this client.
    pub async fn describe(&self, sobject: &str) -> Result<Arc<ObjectDescribe>, SfError> {
        check_api_name("sobject", sobject)?;
        let key = sobject.to_ascii_lowercase();
        if let Some(hit) = self.describe_cache().get(&key) {
            return Ok(hit.clone());
        }
        let url = self.data_url(&["sobjects", sobject, "describe"]);
        let described: ObjectDescribe = self
            .execute_json(Request::new(Method::GET, url), "describe")
            .await?;
        let described = Arc::new(described);
        self.describe_cache().insert(key, described.clone());
        Ok(described)
    }

    /// Drops a cached describe (after a metadata change).
    pub fn invalidate_describe(&self, sobject: &str) {
        self.describe_cache().remove(&sobject.to_ascii_lowercase());
    }

    /// `GET sobjects`.
    pub async fn describe_global(&self) -> Result<GlobalDescribe, SfError> {
        let url = self.data_url(&["sobjects"]);
        self.execute_json(Request::new(Method::GET, url), "global describe")
            .await
    }

    fn describe_cache(
        &self,
    ) -> std::sync::MutexGuard<'_, std::collections::HashMap<String, Arc<ObjectDescribe>>> {
        self.inner
            .describes
            .lock()
            .unwrap_or_else(|p| p.into_inner())
    }
}
