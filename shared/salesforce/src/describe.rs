//! Describe types (Salesforce's camelCase JSON) and the describe calls, cached per object
//! per client.
//!
//! The describe types are the core's (one `FieldDescribe` in the workspace); relationship
//! lookup is the free function [`relationship_field`].

use std::sync::Arc;

use reqwest::Method;
use serde::{Deserialize, Serialize};

pub use crmsync_core::describe::{FieldDescribe, ObjectDescribe, PicklistValue};

use crate::client::SfClient;
use crate::error::SfError;
use crate::http::Request;
use crate::sobjects::check_api_name;

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
    /// `GET sobjects/{Type}/describe`, cached for the client's `describe_ttl`.
    pub async fn describe(&self, sobject: &str) -> Result<Arc<ObjectDescribe>, SfError> {
        check_api_name("sobject", sobject)?;
        let key = sobject.to_ascii_lowercase();
        let ttl = self.inner.config.describe_ttl;
        if let Some((read_at, hit)) = self.describe_cache().get(&key)
            && read_at.elapsed() < ttl
        {
            return Ok(hit.clone());
        }
        let url = self.data_url(&["sobjects", sobject, "describe"]);
        let described: ObjectDescribe = self
            .execute_json(Request::new(Method::GET, url), "describe")
            .await?;
        let described = Arc::new(described);
        self.describe_cache()
            .insert(key, (std::time::Instant::now(), described.clone()));
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
    ) -> std::sync::MutexGuard<
        '_,
        std::collections::HashMap<String, (std::time::Instant, Arc<ObjectDescribe>)>,
    > {
        self.inner
            .describes
            .lock()
            .unwrap_or_else(|p| p.into_inner())
    }
}
