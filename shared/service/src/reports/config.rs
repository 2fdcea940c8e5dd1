//! The sync config: read, validate, replace, and its status against describe.

use std::collections::BTreeMap;

use crmsync_core::config::{ConfigProblem, SyncConfig};
use crmsync_core::preflight::{self, MappingStatus, PicklistInspection, Status};
use crmsync_core::transform::FieldKind;
use crmsync_store::{ConnectionId, TenantId};
use serde::Serialize;

use super::connections::{connection, live_client};
use crate::app::App;
use crate::config_service::{self, VersionedConfig};
use crate::describe;
use crate::error::ServiceError;

/// The connection's config; the standard preset at version 0 (not stored) when it has
/// none yet, so reading never writes. Put with `expected_version` 0 to store it.
pub async fn get_config(
    app: &App,
    tenant: &TenantId,
    id: &ConnectionId,
) -> Result<VersionedConfig, ServiceError> {
    connection(app, tenant, id).await?;
    Ok(config_service::load(app, tenant, id)
        .await?
        .unwrap_or_else(|| VersionedConfig {
            version: 0,
            config: SyncConfig::standard(),
        }))
}

/// Parses and validates a config; on failure every problem, each with its path under `config`.
pub fn check_config(raw: &serde_json::Value) -> Result<SyncConfig, Vec<ConfigProblem>> {
    let config: SyncConfig = serde_path_to_error::deserialize(raw).map_err(|e| {
        let path = e.path().to_string();
        let path = if path == "." {
            "config".to_string()
        } else {
            format!("config.{path}")
        };
        vec![ConfigProblem {
            path,
            message: e.into_inner().to_string(),
        }]
    })?;
    config.validate().map_err(|e| {
        e.problems()
            .into_iter()
            .map(|p| ConfigProblem {
                path: format!("config.{}", p.path),
                message: p.message,
            })
            .collect::<Vec<_>>()
    })?;
    Ok(config)
}

/// Replaces the config after validation; `expected_version` guards against lost updates.
pub async fn put_config(
    app: &App,
    tenant: &TenantId,
    id: &ConnectionId,
    expected_version: u64,
    raw: &serde_json::Value,
) -> Result<VersionedConfig, ServiceError> {
    connection(app, tenant, id).await?;
    if let Err(problems) = check_config(raw) {
        let text = problems
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("; ");
        return Err(ServiceError::InvalidConfig(text));
    }
    config_service::replace(app, tenant, id, expected_version, raw).await
}

/// A Salesforce field Salesforce requires on create, and whether a mapping fills it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct RequiredField {
    pub object: String,
    pub field: String,
    pub field_type: String,
    pub mapped: bool,
}

/// An object whose describe failed (missing, hidden from the connected user...).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct DescribeProblem {
    pub object: String,
    pub message: String,
}

/// The config screens' status: mapping status Ok/Issue, picklist inspection and readiness.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct ConfigStatus {
    pub version: u64,
    /// Whether the sync may run: no readiness problem, no mapping issue, every object described.
    pub ready: bool,
    pub mappings: Vec<MappingStatus>,
    /// Dropdown mappings. App values come from the config (value maps, inbound allow lists,
    /// defaults): crmsync does not know the app's dropdown options otherwise.
    pub picklists: Vec<PicklistInspection>,
    /// Structural problems and unmapped required app fields (the sync will not run).
    pub readiness: Vec<ConfigProblem>,
    /// Salesforce fields required on create, for objects the app creates records in.
    pub required_salesforce_fields: Vec<RequiredField>,
    pub describe_problems: Vec<DescribeProblem>,
    /// The last provisioning run, as recorded on the connection (`None` before the first).
    pub provisioning: Option<crmsync_store::Provisioning>,
    /// Each declared `custom_fields` entry against describe: `ok`, `missing` (absent or
    /// invisible to the integration user) or `type_mismatch` (exists with another type,
    /// left unchanged).
    pub custom_fields: Vec<CustomFieldStatus>,
    /// Custom fields of the synced objects that no mapping uses yet (a field added in
    /// Salesforce since the config was written shows up here, ready to map).
    pub available_fields: Vec<AvailableField>,
    /// The drift comparison's interval and where each object's scan stands.
    pub drift_check: crate::drift_scan::DriftScanStatus,
}

/// An unmapped custom field the org has on a synced object.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct AvailableField {
    pub object: String,
    pub field: String,
    pub label: String,
    pub field_type: String,
    pub createable: bool,
    pub updateable: bool,
}

/// A declared custom field as the org has it.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct CustomFieldStatus {
    pub object: String,
    pub api_name: String,
    pub declared_type: String,
    pub status: &'static str,
    /// The describe type found, when the field is visible.
    pub found_type: Option<String>,
}

pub async fn config_status(
    app: &App,
    tenant: &TenantId,
    id: &ConnectionId,
) -> Result<ConfigStatus, ServiceError> {
    let client = live_client(app, tenant, id).await?;
    let versioned = get_config(app, tenant, id).await?;
    let config = &versioned.config;
    // Provisioning may have run in another process: read the declared fields' objects
    // fresh rather than from this process's describe cache.
    for spec in &config.custom_fields {
        client.invalidate_describe(&spec.object);
    }
    let mut describes = BTreeMap::new();
    let mut describe_problems = Vec::new();
    for (object, _) in config.enabled_objects() {
        match client.describe(object).await {
            Ok(d) => {
                describes.insert(object.to_string(), describe::to_core(&d)?);
            }
            Err(e) if e.is_auth() || e.is_retryable() => return Err(e.into()),
            Err(e) => describe_problems.push(DescribeProblem {
                object: object.to_string(),
                message: e.to_string(),
            }),
        }
    }
    let mappings = preflight::mapping_status(config, &describes);
    let mut picklists = Vec::new();
    let mut required_salesforce_fields = Vec::new();
    for (object, obj) in config.enabled_objects() {
        let Some(describe) = describes.get(object) else {
            continue;
        };
        for m in &obj.fields {
            let Some(field) = describe.field(&m.salesforce_field) else {
                continue;
            };
            let dropdown = matches!(m.kind, FieldKind::Picklist | FieldKind::MultiSelect)
                || matches!(field.field_type.as_str(), "picklist" | "multipicklist");
            if dropdown {
                picklists.push(preflight::inspect_picklist(
                    config,
                    m,
                    field,
                    &config.known_app_values(m),
                ));
            }
        }
        if obj.outbound.create {
            for f in describe
                .required_on_create()
                .filter(|f| f.field_type != "boolean")
            {
                let mapped = obj
                    .fields
                    .iter()
                    .any(|m| m.rule.outbound() && m.salesforce_field.eq_ignore_ascii_case(&f.name));
                required_salesforce_fields.push(RequiredField {
                    object: object.to_string(),
                    field: f.name.clone(),
                    field_type: f.field_type.clone(),
                    mapped,
                });
            }
        }
    }
    let mut custom_fields = Vec::new();
    for spec in &config.custom_fields {
        if !describes.contains_key(&spec.object)
            && let Ok(d) = client.describe(&spec.object).await
        {
            describes.insert(spec.object.clone(), describe::to_core(&d)?);
        }
        let found = describes
            .get(&spec.object)
            .and_then(|d| d.field(&spec.api_name))
            .map(|f| f.field_type.clone());
        let declared = spec.kind.describe_type();
        custom_fields.push(CustomFieldStatus {
            object: spec.object.clone(),
            api_name: spec.api_name.clone(),
            declared_type: declared.to_string(),
            status: match &found {
                None => "missing",
                Some(t) if t == declared => "ok",
                Some(_) => "type_mismatch",
            },
            found_type: found,
        });
    }
    let provisioning = connection(app, tenant, id).await?.provisioning;
    let mut readiness = config.readiness();
    readiness.extend(crmsync_core::record_types::problems(config, &describes));
    let ready = readiness.is_empty()
        && describe_problems.is_empty()
        && mappings.iter().all(|m| m.status == Status::Ok);
    let available_fields = available_fields(config, &describes);
    let drift_check = crate::drift_scan::status(app, tenant, id, config).await?;
    Ok(ConfigStatus {
        version: versioned.version,
        ready,
        mappings,
        picklists,
        readiness,
        required_salesforce_fields,
        describe_problems,
        provisioning,
        custom_fields,
        available_fields,
        drift_check,
    })
}

/// Custom fields of each enabled object that no mapping of it uses (crmsync's own key
/// field aside).
fn available_fields(
    config: &SyncConfig,
    describes: &BTreeMap<String, crmsync_core::describe::ObjectDescribe>,
) -> Vec<AvailableField> {
    let mut out = Vec::new();
    for (object, obj) in config.enabled_objects() {
        let Some(describe) = describes.get(object) else {
            continue;
        };
        for f in describe.fields.iter().filter(|f| f.custom) {
            let mapped = obj
                .fields
                .iter()
                .any(|m| m.salesforce_field.eq_ignore_ascii_case(&f.name));
            if mapped
                || f.name
                    .eq_ignore_ascii_case(crmsync_core::provision::KEY_FIELD)
            {
                continue;
            }
            out.push(AvailableField {
                object: object.to_string(),
                field: f.name.clone(),
                label: f.label.clone(),
                field_type: f.field_type.clone(),
                createable: f.createable,
                updateable: f.updateable,
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_problems_name_their_paths() {
        let mut raw = serde_json::to_value(SyncConfig::standard()).unwrap();
        raw["poll_cap"] = 0.into();
        let problems = check_config(&raw).unwrap_err();
        assert!(
            problems.iter().any(|p| p.path == "config.poll_cap"),
            "{problems:?}"
        );
        raw["poll_cap"] = 10.into();
        raw["bogus"] = true.into();
        let problems = check_config(&raw).unwrap_err();
        assert_eq!(problems[0].path, "config.bogus", "{problems:?}");
    }
}
