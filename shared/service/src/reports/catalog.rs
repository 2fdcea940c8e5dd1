//! The field catalog for mapping screens: the org's objects, and each object's fields with
//! what a mapping editor needs (type, length, picklist values, create/update flags, whether
//! Salesforce requires it on create, and which mappings use it).

use crmsync_core::config::SyncRule;
use crmsync_core::describe::FieldDescribe;
use crmsync_store::{ConnectionId, TenantId};
use serde::Serialize;

use super::config::get_config;
use super::connections::live_client;
use super::is_api_name;
use crate::app::App;
use crate::error::ServiceError;

/// One object of the org (`GET sobjects`).
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct CatalogObject {
    pub name: String,
    pub label: String,
    pub custom: bool,
    pub queryable: bool,
    pub createable: bool,
    pub updateable: bool,
    /// Enabled in the connection's sync config.
    pub synced: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct ObjectCatalog {
    pub connection: String,
    pub objects: Vec<CatalogObject>,
}

/// A mapping of the sync config that uses a field.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct FieldUse {
    pub app_field: String,
    pub rule: SyncRule,
}

/// One field of an object, as a mapping editor shows it.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct CatalogField {
    pub name: String,
    pub label: String,
    #[serde(rename = "type")]
    pub field_type: String,
    pub length: u32,
    pub precision: u32,
    pub scale: u32,
    /// Active picklist values (empty for other types).
    pub picklist_values: Vec<String>,
    pub restricted_picklist: bool,
    pub createable: bool,
    pub updateable: bool,
    /// Salesforce refuses a create without it (`createable`, not nillable, no default).
    pub required_on_create: bool,
    /// Formula or roll-up: read only, and its changes do not move `SystemModstamp`.
    pub calculated: bool,
    pub external_id: bool,
    pub custom: bool,
    pub reference_to: Vec<String>,
    pub mapped: bool,
    pub mapped_by: Vec<FieldUse>,
}

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct FieldCatalog {
    pub connection: String,
    pub object: String,
    pub label: String,
    /// Enabled in the connection's sync config.
    pub synced: bool,
    pub fields: Vec<CatalogField>,
}

/// The org's objects, in name order, marked with whether the sync config enables them.
pub async fn list_objects(
    app: &App,
    tenant: &TenantId,
    id: &ConnectionId,
) -> Result<ObjectCatalog, ServiceError> {
    let client = live_client(app, tenant, id).await?;
    let config = get_config(app, tenant, id).await?.config;
    let mut objects: Vec<CatalogObject> = client
        .describe_global()
        .await?
        .sobjects
        .into_iter()
        .map(|o| CatalogObject {
            synced: config.object(&o.name).is_some(),
            name: o.name,
            label: o.label,
            custom: o.custom,
            queryable: o.queryable,
            createable: o.createable,
            updateable: o.updateable,
        })
        .collect();
    objects.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(ObjectCatalog {
        connection: id.as_str().to_string(),
        objects,
    })
}

/// One object's fields (a fresh describe, so a field added a minute ago is listed).
pub async fn list_fields(
    app: &App,
    tenant: &TenantId,
    id: &ConnectionId,
    object: &str,
) -> Result<FieldCatalog, ServiceError> {
    if !is_api_name(object) {
        return Err(ServiceError::bad_request(
            "object",
            "not a Salesforce API name",
        ));
    }
    let client = live_client(app, tenant, id).await?;
    let config = get_config(app, tenant, id).await?.config;
    client.invalidate_describe(object);
    let describe = client.describe(object).await.map_err(|e| {
        if e.is_not_found() {
            ServiceError::NotFound(format!("Salesforce object {object}"))
        } else {
            e.into()
        }
    })?;
    let mappings = config.object(&describe.name).map(|o| o.fields.as_slice());
    let fields = describe
        .fields
        .iter()
        .map(|f| catalog_field(f, mappings.unwrap_or_default()))
        .collect();
    Ok(FieldCatalog {
        connection: id.as_str().to_string(),
        object: describe.name.clone(),
        label: describe.label.clone(),
        synced: mappings.is_some(),
        fields,
    })
}

fn catalog_field(
    f: &FieldDescribe,
    mappings: &[crmsync_core::config::FieldMapping],
) -> CatalogField {
    let mapped_by: Vec<FieldUse> = mappings
        .iter()
        .filter(|m| m.salesforce_field.eq_ignore_ascii_case(&f.name))
        .map(|m| FieldUse {
            app_field: m.app_field.clone(),
            rule: m.rule,
        })
        .collect();
    CatalogField {
        name: f.name.clone(),
        label: f.label.clone(),
        field_type: f.field_type.clone(),
        length: f.length,
        precision: f.precision,
        scale: f.scale,
        picklist_values: f
            .picklist_values
            .iter()
            .filter(|v| v.active)
            .map(|v| v.value.clone())
            .collect(),
        restricted_picklist: f.restricted_picklist,
        createable: f.createable,
        updateable: f.updateable,
        required_on_create: f.required_on_create(),
        calculated: f.calculated,
        external_id: f.external_id,
        custom: f.custom,
        reference_to: f.reference_to.clone(),
        mapped: !mapped_by.is_empty(),
        mapped_by,
    }
}
