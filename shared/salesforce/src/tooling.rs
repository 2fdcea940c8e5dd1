//! Tooling API: custom field metadata (`tooling/query`, `tooling/sobjects/CustomField`).
//!
//! Shapes relied on: a Tooling query answers like a data query plus `size`,
//! `queryLocator` and `entityTypeName` (recorded Tooling API samples: `SELECT Id,
//! DeveloperName, NamespacePrefix, TableEnumOrId FROM CustomField WHERE TableEnumOrId =
//! 'Contact'`, each record with `attributes.type = "CustomField"`); a create answers like an
//! sObject create (`{"id":"00N…","success":true,"errors":[]}`), and a refused one with
//! the usual error array (`DUPLICATE_DEVELOPER_NAME` for a name in use, an
//! `INSUFFICIENT_ACCESS…` code without Customize Application).

use reqwest::Method;
use serde::Deserialize;
use serde_json::Value;

use crate::client::SfClient;
use crate::error::SfError;
use crate::http::Request;

/// One row of `SELECT Id, DeveloperName, TableEnumOrId FROM CustomField`.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct CustomFieldRow {
    #[serde(rename = "Id")]
    pub id: String,
    /// The name without `__c`.
    #[serde(rename = "DeveloperName")]
    pub developer_name: String,
    /// The object's API name (standard objects) or its Id (custom objects).
    #[serde(rename = "TableEnumOrId")]
    pub table: String,
}

impl CustomFieldRow {
    /// `Object.Name__c` (for standard objects).
    pub fn full_name(&self) -> String {
        format!("{}.{}__c", self.table, self.developer_name)
    }
}

#[derive(Deserialize)]
struct ToolingPage {
    #[serde(default)]
    records: Vec<CustomFieldRow>,
}

#[derive(Deserialize)]
struct SaveResult {
    id: Option<String>,
    #[serde(default)]
    success: bool,
}

impl SfClient {
    /// The custom fields of `objects` (standard objects, by API name), whoever may see
    /// them: Tooling reads metadata, not field-level security.
    pub async fn custom_fields(&self, objects: &[&str]) -> Result<Vec<CustomFieldRow>, SfError> {
        if objects.is_empty() {
            return Ok(Vec::new());
        }
        let mut list = Vec::with_capacity(objects.len());
        for o in objects {
            crate::sobjects::check_api_name("sobject", o)?;
            list.push(format!("'{}'", crate::soql::escape_string(o)));
        }
        let soql = format!(
            "SELECT Id, DeveloperName, TableEnumOrId FROM CustomField WHERE TableEnumOrId IN ({})",
            list.join(", ")
        );
        let mut url = self.data_url(&["tooling", "query"]);
        url.query_pairs_mut().append_pair("q", &soql);
        let page: ToolingPage = self
            .execute_json(Request::new(Method::GET, url), "tooling query")
            .await?;
        Ok(page.records)
    }

    /// `POST tooling/sobjects/CustomField` with `{"FullName","Metadata"}` → the field's Id.
    pub async fn create_custom_field(&self, body: &Value) -> Result<String, SfError> {
        let url = self.data_url(&["tooling", "sobjects", "CustomField"]);
        let reply = self
            .execute(Request::new(Method::POST, url).json(body)?)
            .await?;
        let saved: SaveResult = reply.json("create custom field")?;
        match saved.id {
            Some(id) if saved.success => Ok(id),
            _ => Err(SfError::decode(
                "create custom field",
                "success=false without errors",
            )),
        }
    }
}
