//! The on-demand record lookup by an index field.

use crmsync_core::types::{FieldMap, FieldNote};
use crmsync_salesforce::soql::{Condition, Literal, SoqlBuilder};
use crmsync_store::{ConnectionId, TenantId};
use futures::StreamExt;
use serde::Serialize;

use super::config::get_config;
use super::connections::live_connection;
use super::is_api_name;
use crate::app::App;
use crate::error::ServiceError;

/// One Salesforce record found by an index field, with its mapped fields in app terms.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct LookupResult {
    pub object: String,
    pub id: String,
    pub app_object: String,
    /// App field → app value, through the config's inbound mappings for the object.
    #[schema(value_type = std::collections::BTreeMap<String, serde_json::Value>)]
    pub fields: FieldMap,
    /// The Salesforce values read (mapped fields only).
    pub salesforce: serde_json::Map<String, serde_json::Value>,
    /// More than one record matched; the first (by Id) is returned.
    pub ambiguous: bool,
    /// Mappings that could not be applied, and why.
    pub notes: Vec<FieldNote>,
    /// With `fields=all`: every field of the record the connected user can read.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub all_fields: Option<serde_json::Map<String, serde_json::Value>>,
}

/// Which fields a lookup returns besides the mapped ones.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LookupFields {
    /// The mapped fields only (in app terms and as read).
    #[default]
    Mapped,
    /// Also every readable field of the record (`all_fields`), for seed 001's record view.
    All,
}

impl LookupFields {
    pub fn parse(raw: Option<&str>) -> Result<Self, ServiceError> {
        match raw {
            None | Some("mapped") => Ok(Self::Mapped),
            Some("all") => Ok(Self::All),
            Some(other) => Err(ServiceError::bad_request(
                "fields",
                format!("must be `mapped` or `all`, not `{other}`"),
            )),
        }
    }
}

/// Compound fields (their components are selected instead) and file bodies.
fn selectable_in_all(f: &crmsync_core::describe::FieldDescribe) -> bool {
    !matches!(f.field_type.as_str(), "address" | "location" | "base64")
}

/// Finds one record by an index field (idLookup, external id or unique) and returns its
/// mapped fields. The value is a typed, escaped literal; field names come from describe.
pub async fn lookup(
    app: &App,
    tenant: &TenantId,
    id: &ConnectionId,
    object: &str,
    field: &str,
    value: &str,
    wanted: LookupFields,
) -> Result<LookupResult, ServiceError> {
    if !is_api_name(object) {
        return Err(ServiceError::bad_request(
            "object",
            "not a Salesforce API name",
        ));
    }
    if value.is_empty() || value.len() > 1000 {
        return Err(ServiceError::bad_request(
            "value",
            "must be 1 to 1000 characters",
        ));
    }
    let (conn, client) = live_connection(app, tenant, id).await?;
    let before = client.requests_sent();
    let versioned = get_config(app, tenant, id).await?;
    let config = &versioned.config;
    let obj = config.object(object).ok_or_else(|| {
        ServiceError::bad_request(
            "object",
            format!("{object} is not enabled in the sync config"),
        )
    })?;
    let describe = client.describe(object).await.map_err(|e| {
        if e.is_not_found() {
            ServiceError::NotFound(format!("Salesforce object {object}"))
        } else {
            e.into()
        }
    })?;
    let index = describe.field(field).ok_or_else(|| {
        ServiceError::bad_request("field", format!("{object} has no field {field}"))
    })?;
    if !(index.id_lookup || index.external_id || index.unique) {
        return Err(ServiceError::bad_request(
            "field",
            format!(
                "{} is not an index field (idLookup, external id or unique)",
                index.name
            ),
        ));
    }
    let literal = Literal::for_field(index, &serde_json::Value::String(value.to_string()))
        .map_err(|e| ServiceError::bad_request("value", e.to_string()))?;
    let mut notes = Vec::new();
    let mut selected = vec!["Id".to_string()];
    for m in obj.fields.iter().filter(|m| m.rule.inbound()) {
        match describe.field(&m.salesforce_field) {
            Some(f) => selected.push(f.name.clone()),
            None => notes.push(FieldNote::new(
                &m.app_field,
                format!("{object} has no field {}", m.salesforce_field),
            )),
        }
    }
    if wanted == LookupFields::All {
        selected.extend(
            describe
                .fields
                .iter()
                .filter(|f| selectable_in_all(f))
                .map(|f| f.name.clone()),
        );
    }
    let soql = SoqlBuilder::new(&describe)
        .select(&selected)
        .filter(Condition::eq(&index.name, literal))
        .order_by("Id", crmsync_salesforce::soql::Order::Asc)
        .limit(2)
        .build()
        .map_err(|e| ServiceError::bad_request("field", e.to_string()))?;
    let mut pages = client.query(soql);
    let page = pages.next().await;
    drop(pages);
    crate::guard::book_calls(app, &conn, &client, before).await;
    let page = match page {
        Some(page) => page?,
        None => {
            return Err(ServiceError::NotFound(format!(
                "{object} with {} = {value}",
                index.name
            )));
        }
    };
    let ambiguous = page.records.len() > 1 || page.total_size > 1;
    let record =
        page.records.into_iter().next().ok_or_else(|| {
            ServiceError::NotFound(format!("{object} with {} = {value}", index.name))
        })?;
    let all_fields = (wanted == LookupFields::All).then(|| {
        let mut all: serde_json::Map<_, _> = record
            .fields
            .iter()
            .filter(|(k, _)| k.as_str() != "attributes")
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        all.sort_keys();
        all
    });
    let mut fields = FieldMap::new();
    let mut salesforce = serde_json::Map::new();
    for m in obj.fields.iter().filter(|m| m.rule.inbound()) {
        let Some(sf_value) = record.get(&m.salesforce_field) else {
            continue;
        };
        salesforce.insert(m.salesforce_field.clone(), sf_value.clone());
        match crmsync_core::mapping::app_value_of(config, m, sf_value) {
            Ok(v) => {
                fields.insert(m.app_field.clone(), v);
            }
            Err(e) => notes.push(FieldNote::new(&m.app_field, e.to_string())),
        }
    }
    Ok(LookupResult {
        object: describe.name.clone(),
        id: record.id().unwrap_or_default().to_string(),
        app_object: obj.app_object.as_str().to_string(),
        fields,
        salesforce,
        ambiguous,
        notes,
        all_fields,
    })
}
