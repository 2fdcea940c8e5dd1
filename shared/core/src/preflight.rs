//! Pre-flight validation against describe metadata: catch what Salesforce would reject
//! (and charge an API call for) before writing. Plus mapping status and picklist inspection
//! for the config screens.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::config::{FieldConstraint, FieldMapping, SyncConfig};
use crate::describe::{FieldDescribe, ObjectDescribe};
use crate::transform::{FieldKind, parse_datetime};
use crate::types::FieldMap;

/// The Salesforce error a write would otherwise fail with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum SfErrorCode {
    StringTooLong,
    InvalidOrNullForRestrictedPicklist,
    RequiredFieldMissing,
    InvalidFieldForInsertUpdate,
    InvalidTypeOnFieldInRecord,
    InvalidField,
    NumberOutsideValidRange,
    FieldCustomValidationException,
    InvalidCrossReferenceKey,
}

impl SfErrorCode {
    pub fn as_str(self) -> &'static str {
        match self {
            SfErrorCode::StringTooLong => "STRING_TOO_LONG",
            SfErrorCode::InvalidOrNullForRestrictedPicklist => {
                "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST"
            }
            SfErrorCode::RequiredFieldMissing => "REQUIRED_FIELD_MISSING",
            SfErrorCode::InvalidFieldForInsertUpdate => "INVALID_FIELD_FOR_INSERT_UPDATE",
            SfErrorCode::InvalidTypeOnFieldInRecord => "INVALID_TYPE_ON_FIELD_IN_RECORD",
            SfErrorCode::InvalidField => "INVALID_FIELD",
            SfErrorCode::NumberOutsideValidRange => "NUMBER_OUTSIDE_VALID_RANGE",
            SfErrorCode::FieldCustomValidationException => "FIELD_CUSTOM_VALIDATION_EXCEPTION",
            SfErrorCode::InvalidCrossReferenceKey => "INVALID_CROSS_REFERENCE_KEY",
        }
    }
}

/// One field a write would fail on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[error("{object}.{field}: {} ({message})", code.as_str())]
pub struct PreflightError {
    pub object: String,
    pub field: String,
    pub code: SfErrorCode,
    pub message: String,
}

/// Create or update (decides createable/updateable and required checks).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WriteKind {
    Create,
    Update,
}

fn is_id(s: &str) -> bool {
    (s.len() == 15 || s.len() == 18) && s.chars().all(|c| c.is_ascii_alphanumeric())
}

fn as_number(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

fn text_len(v: &Value) -> Option<usize> {
    match v {
        Value::String(s) => Some(s.chars().count()),
        Value::Number(n) => Some(n.to_string().len()),
        _ => None,
    }
}

fn type_ok(f: &FieldDescribe, v: &Value) -> bool {
    match f.field_type.as_str() {
        "boolean" => v.is_boolean(),
        "double" | "currency" | "percent" => as_number(v).is_some(),
        "int" | "long" => as_number(v).is_some_and(|n| n.fract() == 0.0),
        "date" => {
            matches!(v, Value::String(s) if chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").is_ok())
        }
        "datetime" => matches!(v, Value::String(s) if parse_datetime(s).is_some()),
        "reference" | "id" => matches!(v, Value::String(s) if is_id(s)),
        "multipicklist" => v.is_string(),
        _ if f.is_text() => v.is_string() || v.is_number() || v.is_boolean(),
        _ => !v.is_object() && !v.is_array(),
    }
}

/// Check one write's fields. `referenced` names fields another plan step fills in later
/// (they count as present for the required check).
pub fn check_write(
    describe: &ObjectDescribe,
    kind: WriteKind,
    fields: &FieldMap,
    referenced: &[&str],
    constraints: &BTreeMap<String, FieldConstraint>,
) -> Vec<PreflightError> {
    let obj = describe.name.as_str();
    let mut errs = Vec::new();
    let mut err = |field: &str, code, message: String| {
        errs.push(PreflightError {
            object: obj.to_string(),
            field: field.to_string(),
            code,
            message,
        })
    };
    for (name, v) in fields {
        // Checked before the field: an object without record types has no RecordTypeId.
        if name.eq_ignore_ascii_case("RecordTypeId")
            && let Some(why) = v
                .as_str()
                .and_then(|id| crate::record_types::refusal(describe, id))
        {
            err(name, SfErrorCode::InvalidCrossReferenceKey, why);
            continue;
        }
        let Some(f) = describe.field(name) else {
            err(
                name,
                SfErrorCode::InvalidField,
                format!("no field {name} on {obj}"),
            );
            continue;
        };
        let writable = match kind {
            WriteKind::Create => f.createable,
            WriteKind::Update => f.updateable,
        } && !f.calculated;
        if !writable {
            let what = if kind == WriteKind::Create {
                "createable"
            } else {
                "updateable"
            };
            err(
                name,
                SfErrorCode::InvalidFieldForInsertUpdate,
                format!("{name} is not {what}"),
            );
            continue;
        }
        if v.is_null() {
            if !f.nillable && f.field_type != "boolean" {
                let code = if f.restricted_picklist {
                    SfErrorCode::InvalidOrNullForRestrictedPicklist
                } else {
                    SfErrorCode::RequiredFieldMissing
                };
                err(name, code, format!("{name} cannot be blank"));
            }
            continue;
        }
        if !type_ok(f, v) {
            err(
                name,
                SfErrorCode::InvalidTypeOnFieldInRecord,
                format!("value is not a valid {}", f.field_type),
            );
            continue;
        }
        if f.is_text()
            && let Some(len) = text_len(v)
            && len > f.max_length() as usize
        {
            err(
                name,
                SfErrorCode::StringTooLong,
                format!("{len} characters, at most {}", f.max_length()),
            );
        }
        if f.restricted_picklist && matches!(f.field_type.as_str(), "picklist" | "multipicklist") {
            let s = v.as_str().unwrap_or_default();
            let bad: Vec<&str> = s
                .split(';')
                .filter(|p| f.field_type == "multipicklist" || *p == s)
                .filter(|p| !f.active_values().any(|a| a == *p))
                .collect();
            if !bad.is_empty() {
                err(
                    name,
                    SfErrorCode::InvalidOrNullForRestrictedPicklist,
                    format!("not an active value: {}", bad.join(", ")),
                );
            }
        }
        if matches!(f.field_type.as_str(), "double" | "currency" | "percent")
            && f.precision > 0
            && let Some(n) = as_number(v)
        {
            let int_digits = f.precision.saturating_sub(f.scale).min(300) as i32;
            if n.abs() >= 10f64.powi(int_digits) {
                err(
                    name,
                    SfErrorCode::NumberOutsideValidRange,
                    format!("{n} exceeds {int_digits} integer digits"),
                );
            }
        }
        if let Some(c) = constraints
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, c)| c)
        {
            if let Some(n) = as_number(v)
                && (c.min.is_some_and(|lo| n < lo) || c.max.is_some_and(|hi| n > hi))
            {
                let range = format!(
                    "{}..{}",
                    c.min.map_or("".into(), |x| x.to_string()),
                    c.max.map_or("".into(), |x| x.to_string())
                );
                err(
                    name,
                    SfErrorCode::FieldCustomValidationException,
                    format!("{n} is outside the org's range {range}"),
                );
            }

            if let (Some(max), Some(len)) = (c.max_length, text_len(v))
                && len > max as usize
            {
                err(
                    name,
                    SfErrorCode::StringTooLong,
                    format!("{len} characters, at most {max}"),
                );
            }
        }
    }
    if kind == WriteKind::Create {
        for f in describe.required_on_create() {
            let present = fields
                .iter()
                .any(|(k, v)| k.eq_ignore_ascii_case(&f.name) && !v.is_null())
                || referenced.iter().any(|r| r.eq_ignore_ascii_case(&f.name));
            if !present && f.field_type != "boolean" {
                err(
                    &f.name,
                    SfErrorCode::RequiredFieldMissing,
                    format!("{} is required on create", f.name),
                );
            }
        }
    }
    errs
}

// ---------------------------------------------------------------- mapping status

/// Ok or Issue, as the field-mapping table shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub enum Status {
    Ok,
    Issue,
}

/// One mapping's status against describe.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct MappingStatus {
    pub object: String,
    pub index: usize,
    pub app_field: String,
    pub salesforce_field: String,
    pub status: Status,
    pub problems: Vec<String>,
}

/// Salesforce types an app field kind lines up with.
pub fn compatible(kind: FieldKind, sf_type: &str) -> bool {
    match kind {
        FieldKind::String => matches!(
            sf_type,
            "string"
                | "textarea"
                | "phone"
                | "email"
                | "url"
                | "picklist"
                | "combobox"
                | "id"
                | "reference"
                | "encryptedstring"
        ),
        FieldKind::Picklist => matches!(sf_type, "picklist" | "combobox" | "string" | "textarea"),
        FieldKind::Number => matches!(sf_type, "double" | "currency" | "percent" | "int" | "long"),
        FieldKind::Boolean => sf_type == "boolean",
        FieldKind::Date => sf_type == "date",
        FieldKind::Datetime => sf_type == "datetime",
        FieldKind::MultiSelect => sf_type == "multipicklist",
    }
}

/// Status of every mapping of every enabled object, against the describes given.
pub fn mapping_status(
    config: &SyncConfig,
    describes: &BTreeMap<String, ObjectDescribe>,
) -> Vec<MappingStatus> {
    let mut out = Vec::new();
    for (name, obj) in config.enabled_objects() {
        for (index, m) in obj.fields.iter().enumerate() {
            let problems = mapping_problems(config, m, describes.get(name));
            out.push(MappingStatus {
                object: name.to_string(),
                index,
                app_field: m.app_field.clone(),
                salesforce_field: m.salesforce_field.clone(),
                status: if problems.is_empty() {
                    Status::Ok
                } else {
                    Status::Issue
                },
                problems,
            });
        }
    }
    out
}

/// How the org's schema moved under a mapping since it was configured: the mapping is
/// paused (left out of pulls and pushes, with this reason) and the rest keeps syncing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Drift {
    /// Deleted, renamed or hidden from the connected user.
    Missing,
    /// The field's type no longer lines up with the app field's kind.
    TypeChanged { now: String },
}

impl Drift {
    /// The sentence a run message or a push note carries.
    pub fn reason(&self, object: &str, field: &str) -> String {
        match self {
            Drift::Missing => format!(
                "mapping {object}.{field} paused: the org has no such field (deleted, renamed or hidden from the connected user)"
            ),
            Drift::TypeChanged { now } => format!(
                "mapping {object}.{field} paused: its Salesforce type changed to {now}, which the app field's kind does not fit"
            ),
        }
    }
}

/// The drift of a mapping's field against a describe (None: the field is as configured).
pub fn drift(m: &FieldMapping, d: &ObjectDescribe) -> Option<Drift> {
    let Some(f) = d.field(&m.salesforce_field) else {
        return Some(Drift::Missing);
    };
    (!compatible(m.kind, &f.field_type)).then(|| Drift::TypeChanged {
        now: f.field_type.clone(),
    })
}

/// Known app values (see [`SyncConfig::known_app_values`]) a restricted picklist no longer
/// accepts: the picklist was narrowed under the mapping.
pub fn narrowed_values(config: &SyncConfig, m: &FieldMapping, f: &FieldDescribe) -> Vec<String> {
    if !f.restricted_picklist || !matches!(f.field_type.as_str(), "picklist" | "multipicklist") {
        return Vec::new();
    }
    config
        .known_app_values(m)
        .into_iter()
        .filter(|a| {
            let sf = config.salesforce_value_of(m, a);
            !f.active_values().any(|v| v == sf)
        })
        .collect()
}

fn mapping_problems(
    config: &SyncConfig,
    m: &FieldMapping,
    d: Option<&ObjectDescribe>,
) -> Vec<String> {
    let Some(d) = d else {
        return vec!["object not described yet".into()];
    };
    let Some(f) = d.field(&m.salesforce_field) else {
        return vec![format!(
            "{} has no field {} (or it is hidden from the connected user)",
            d.name, m.salesforce_field
        )];
    };
    let mut p = Vec::new();
    if !compatible(m.kind, &f.field_type) {
        p.push(format!(
            "type mismatch: app {:?} vs Salesforce {}",
            m.kind, f.field_type
        ));
    }
    if m.rule.outbound() && (f.calculated || (!f.createable && !f.updateable)) {
        p.push(format!(
            "{} is read-only in Salesforce but the rule writes it",
            f.name
        ));
    }
    let narrowed = narrowed_values(config, m, f);
    if m.rule.outbound() && !narrowed.is_empty() {
        let values: Vec<String> = narrowed
            .iter()
            .map(|a| format!("{} (app value {a})", config.salesforce_value_of(m, a)))
            .collect();
        p.push(format!(
            "picklist narrowed: {} no longer accepts {}; those values are not written",
            f.name,
            values.join(", ")
        ));
    }
    p
}

// ---------------------------------------------------------------- picklist inspection

/// Dropdown values on each side and where they disagree.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct PicklistInspection {
    pub app_field: String,
    pub salesforce_field: String,
    pub app_values: Vec<String>,
    pub salesforce_values: Vec<String>,
    /// App values whose (mapped) value is not an active Salesforce value.
    pub missing_in_salesforce: Vec<String>,
    /// Active Salesforce values whose (mapped) value the app lacks (can be created in the app).
    pub missing_in_app: Vec<String>,
    pub matches: bool,
}

/// Compare a mapping's app dropdown values with the Salesforce field's active values.
pub fn inspect_picklist(
    config: &SyncConfig,
    m: &FieldMapping,
    field: &FieldDescribe,
    app_values: &[String],
) -> PicklistInspection {
    let vm = config.value_map_for(m);
    let to_sf = |a: &String| {
        vm.and_then(|vm| vm.to_salesforce.get(a))
            .cloned()
            .unwrap_or_else(|| a.clone())
    };
    let to_app = |s: &String| {
        vm.and_then(|vm| vm.to_app.get(s))
            .cloned()
            .unwrap_or_else(|| s.clone())
    };
    let salesforce_values: Vec<String> = field.active_values().map(str::to_string).collect();
    let missing_in_salesforce: Vec<String> = app_values
        .iter()
        .filter(|a| !salesforce_values.contains(&to_sf(a)))
        .cloned()
        .collect();
    let missing_in_app: Vec<String> = salesforce_values
        .iter()
        .filter(|s| !app_values.contains(&to_app(s)))
        .cloned()
        .collect();
    PicklistInspection {
        app_field: m.app_field.clone(),
        salesforce_field: m.salesforce_field.clone(),
        app_values: app_values.to_vec(),
        matches: missing_in_salesforce.is_empty() && missing_in_app.is_empty(),
        salesforce_values,
        missing_in_salesforce,
        missing_in_app,
    }
}
