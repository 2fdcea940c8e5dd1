//! Per-field value conversion through a mapping: coercion plus picklist/stage maps.

use serde_json::Value;

use crate::config::{FieldMapping, SyncConfig};
use crate::hash::field_hash;
use crate::transform::{TransformError, to_app_owned, to_salesforce};

/// App value → Salesforce wire value for this mapping.
pub fn sf_value_of(
    config: &SyncConfig,
    m: &FieldMapping,
    app_value: &Value,
) -> Result<Value, TransformError> {
    let mapped = match config.value_map_for(m) {
        Some(vm) => vm.apply_to_salesforce(app_value.clone()),
        None => app_value.clone(),
    };
    to_salesforce(m.kind, &mapped)
}

/// Salesforce wire value → app value for this mapping.
pub fn app_value_of(
    config: &SyncConfig,
    m: &FieldMapping,
    sf_value: &Value,
) -> Result<Value, TransformError> {
    app_value_of_owned(config, m, sf_value.clone())
}

/// Like [`app_value_of`], consuming the value so text is moved rather than copied.
pub fn app_value_of_owned(
    config: &SyncConfig,
    m: &FieldMapping,
    sf_value: Value,
) -> Result<Value, TransformError> {
    let coerced = to_app_owned(m.kind, sf_value)?;
    Ok(match config.value_map_for(m) {
        Some(vm) => vm.apply_to_app(coerced),
        None => coerced,
    })
}

/// Link hash of an app value, i.e. the hash of the Salesforce value it maps to.
pub fn hash_of_app_value(
    config: &SyncConfig,
    m: &FieldMapping,
    app_value: &Value,
) -> Option<String> {
    sf_value_of(config, m, app_value)
        .ok()
        .map(|v| field_hash(m.kind, &v))
}
