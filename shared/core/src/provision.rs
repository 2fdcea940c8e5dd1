//! What provisioning wants in an org, as data: crmsync's own key field on each object it
//! creates records in, the app's declared custom fields (config `custom_fields`), and the
//! permission set that grants them. Pure: the service compares this with the org and
//! makes the calls.
//!
//! Salesforce behaviour relied on (Metadata API Developer Guide, "CustomField"): a Tooling
//! `CustomField` create takes `FullName` `Object.Name__c` and `Metadata` with `label`,
//! `type` (`Text` with `length` ≤ 255; `Number` with `precision` ≤ 18 and `scale`;
//! `Checkbox` with a required `defaultValue`; `Date`; `DateTime`; `Picklist` with
//! `valueSet.valueSetDefinition.value[{fullName,label,default}]`), `externalId` and
//! `unique` (Text, Number and Email only). Describe reports Text as `string`, Number as
//! `double`, Checkbox as `boolean`, DateTime as `datetime`.

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::config::SyncConfig;

/// crmsync's key field, provisioned on each object it creates records in.
pub const KEY_FIELD: &str = "Crmsync_App_Id__c";
/// The permission set that grants crmsync's fields.
pub const PERMISSION_SET: &str = "Crmsync_Integration";
/// Objects that can carry the key field (standard objects crmsync creates records in).
const KEY_OBJECTS: &[&str] = &[
    "Account",
    "Contact",
    "Lead",
    "Opportunity",
    "OpportunityLineItem",
    "Task",
];

/// A field type the config may declare.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum CustomFieldType {
    Text,
    Number,
    Checkbox,
    Date,
    Datetime,
    Picklist,
}

impl CustomFieldType {
    /// The Metadata API `type`.
    pub fn metadata_type(self) -> &'static str {
        match self {
            CustomFieldType::Text => "Text",
            CustomFieldType::Number => "Number",
            CustomFieldType::Checkbox => "Checkbox",
            CustomFieldType::Date => "Date",
            CustomFieldType::Datetime => "DateTime",
            CustomFieldType::Picklist => "Picklist",
        }
    }
    /// The describe `type` a field of this kind shows.
    pub fn describe_type(self) -> &'static str {
        match self {
            CustomFieldType::Text => "string",
            CustomFieldType::Number => "double",
            CustomFieldType::Checkbox => "boolean",
            CustomFieldType::Date => "date",
            CustomFieldType::Datetime => "datetime",
            CustomFieldType::Picklist => "picklist",
        }
    }
}

/// One field the config declares (`custom_fields[]`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CustomFieldSpec {
    /// Salesforce object API name (`Lead`).
    pub object: String,
    /// Field API name, ending in `__c` (`GPTWeb_AI_Score__c`).
    pub api_name: String,
    pub label: String,
    #[serde(rename = "type")]
    pub kind: CustomFieldType,
    /// Text length (default 255).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub length: Option<u32>,
    /// Number digits in all (default 18) and after the point (default 0).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub precision: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scale: Option<u32>,
    /// Picklist values.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub values: Vec<String>,
}

/// Provisioning settings (`provisioning` in the config).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProvisioningConfig {
    /// Provision right after each connect (the endpoint and the CLI run it any time).
    #[serde(default)]
    pub on_connect: bool,
    /// Usernames that get the permission set too (e.g. sales reps who should see the fields).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub assign_usernames: Vec<String>,
}

impl ProvisioningConfig {
    pub fn is_default(&self) -> bool {
        self == &Self::default()
    }
}

/// A field provisioning ensures.
#[derive(Debug, Clone, PartialEq)]
pub struct DesiredField {
    pub object: String,
    pub api_name: String,
    pub label: String,
    pub kind: CustomFieldType,
    /// crmsync's key field (external id, unique).
    pub key: bool,
    pub length: Option<u32>,
    pub precision: Option<u32>,
    pub scale: Option<u32>,
    pub values: Vec<String>,
}

impl DesiredField {
    /// `Object.Name__c`.
    pub fn full_name(&self) -> String {
        format!("{}.{}", self.object, self.api_name)
    }
    /// `DeveloperName` as the Tooling API lists it (no `__c`).
    pub fn developer_name(&self) -> &str {
        self.api_name.trim_end_matches("__c")
    }
    /// The Tooling `CustomField` create body.
    pub fn create_body(&self) -> Value {
        let mut meta = json!({"label": self.label, "type": self.kind.metadata_type()});
        match self.kind {
            CustomFieldType::Text => meta["length"] = json!(self.length.unwrap_or(255)),
            CustomFieldType::Number => {
                meta["precision"] = json!(self.precision.unwrap_or(18));
                meta["scale"] = json!(self.scale.unwrap_or(0));
            }
            CustomFieldType::Checkbox => meta["defaultValue"] = json!("false"),
            CustomFieldType::Picklist => {
                let values: Vec<Value> = self
                    .values
                    .iter()
                    .map(|v| json!({"fullName": v, "label": v, "default": false}))
                    .collect();
                meta["valueSet"] =
                    json!({"restricted": true, "valueSetDefinition": {"value": values}});
            }
            CustomFieldType::Date | CustomFieldType::Datetime => {}
        }
        if self.key {
            meta["externalId"] = json!(true);
            meta["unique"] = json!(true);
            meta["caseSensitive"] = json!(true);
        }
        json!({"FullName": self.full_name(), "Metadata": meta})
    }
}

/// crmsync's own key on `object`: Text(255), External ID, Unique.
fn key_field(object: &str) -> DesiredField {
    DesiredField {
        object: object.to_string(),
        api_name: KEY_FIELD.into(),
        label: "crmsync App Id".into(),
        kind: CustomFieldType::Text,
        key: true,
        length: Some(255),
        precision: None,
        scale: None,
        values: Vec::new(),
    }
}

/// Everything provisioning ensures for this config: the key field on each enabled object
/// crmsync creates records in, then the declared custom fields.
pub fn desired_fields(cfg: &SyncConfig) -> Vec<DesiredField> {
    let mut out = Vec::new();
    for (object, obj) in cfg.enabled_objects() {
        if obj.outbound.create && KEY_OBJECTS.contains(&object) {
            out.push(key_field(object));
        }
    }
    if cfg.opportunity.sync_sales
        && cfg.object("Opportunity").is_some()
        && !out.iter().any(|f| f.object == "OpportunityLineItem")
    {
        out.push(key_field("OpportunityLineItem"));
    }
    for spec in &cfg.custom_fields {
        if out
            .iter()
            .any(|f| f.object == spec.object && f.api_name.eq_ignore_ascii_case(&spec.api_name))
        {
            continue;
        }
        out.push(DesiredField {
            object: spec.object.clone(),
            api_name: spec.api_name.clone(),
            label: spec.label.clone(),
            kind: spec.kind,
            key: false,
            length: spec.length,
            precision: spec.precision,
            scale: spec.scale,
            values: spec.values.clone(),
        });
    }
    out
}

/// The key value of an app record: `<app_object>:<app_id>`.
pub fn record_key(app_object: &str, app_id: &str) -> String {
    format!("{app_object}:{app_id}")
}

/// The key value of a sale's line item: `<event_id>:<item index>`.
pub fn line_item_key(event_id: &str, index: usize) -> String {
    format!("{event_id}:{index}")
}

/// The key of a record an event makes that is not its app record's own (a person's
/// Opportunity: one per demo set): `<event_id>:<object>`.
pub fn event_record_key(event_id: &str, object: &str) -> String {
    format!("{event_id}:{object}")
}

/// Problems of the `custom_fields` section, as `(path, message)`.
pub fn spec_problems(specs: &[CustomFieldSpec]) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for (i, s) in specs.iter().enumerate() {
        let base = format!("custom_fields[{i}]");
        let dev = s.api_name.strip_suffix("__c").unwrap_or("");
        let dev_ok = !dev.is_empty()
            && dev.len() <= 40
            && dev.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
            && dev.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
            && !dev.contains("__")
            && !dev.ends_with('_');
        if !dev_ok {
            out.push((
                format!("{base}.api_name"),
                "must be a custom field name: a letter, then letters, digits and single underscores (≤ 40), ending in __c".into(),
            ));
        }
        if s.api_name.eq_ignore_ascii_case(KEY_FIELD) {
            out.push((
                format!("{base}.api_name"),
                format!("{KEY_FIELD} is crmsync's own key field"),
            ));
        }
        if !crate::config::validate::is_api_name(&s.object) {
            out.push((
                format!("{base}.object"),
                "must be a Salesforce object API name".into(),
            ));
        }
        if s.label.trim().is_empty() || s.label.len() > 40 {
            out.push((format!("{base}.label"), "must be 1 to 40 characters".into()));
        }
        match s.kind {
            CustomFieldType::Text if s.length.is_some_and(|n| !(1..=255).contains(&n)) => {
                out.push((format!("{base}.length"), "must be between 1 and 255".into()));
            }
            CustomFieldType::Number => {
                let p = s.precision.unwrap_or(18);
                if !(1..=18).contains(&p) {
                    out.push((
                        format!("{base}.precision"),
                        "must be between 1 and 18".into(),
                    ));
                }
                if s.scale.unwrap_or(0) > p {
                    out.push((format!("{base}.scale"), "cannot exceed precision".into()));
                }
            }
            CustomFieldType::Picklist if s.values.is_empty() => {
                out.push((
                    format!("{base}.values"),
                    "a picklist needs at least one value".into(),
                ));
            }
            _ => {}
        }
        if s.kind != CustomFieldType::Picklist && !s.values.is_empty() {
            out.push((
                format!("{base}.values"),
                "only a picklist has values".into(),
            ));
        }
        if specs[..i]
            .iter()
            .any(|o| o.object == s.object && o.api_name.eq_ignore_ascii_case(&s.api_name))
        {
            out.push((format!("{base}.api_name"), "declared twice".into()));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(kind: CustomFieldType) -> CustomFieldSpec {
        CustomFieldSpec {
            object: "Lead".into(),
            api_name: "GPTWeb_AI_Score__c".into(),
            label: "AI Score".into(),
            kind,
            length: None,
            precision: Some(5),
            scale: Some(0),
            values: Vec::new(),
        }
    }

    #[test]
    fn the_standard_config_wants_the_key_on_every_object_it_creates_in() {
        let cfg = SyncConfig::standard();
        let objects: Vec<String> = desired_fields(&cfg).into_iter().map(|f| f.object).collect();
        for o in ["Account", "Contact", "Lead", "Opportunity"] {
            assert!(objects.contains(&o.to_string()), "{o} in {objects:?}");
        }
        assert!(!objects.contains(&"User".to_string()));
    }

    #[test]
    fn declared_fields_follow_the_key_and_build_their_metadata() {
        let mut cfg = SyncConfig::standard();
        cfg.custom_fields.push(spec(CustomFieldType::Number));
        let all = desired_fields(&cfg);
        let score = all
            .iter()
            .find(|f| f.api_name == "GPTWeb_AI_Score__c")
            .unwrap();
        let body = score.create_body();
        assert_eq!(body["FullName"], "Lead.GPTWeb_AI_Score__c");
        assert_eq!(body["Metadata"]["type"], "Number");
        assert_eq!(body["Metadata"]["precision"], 5);
        assert!(body["Metadata"].get("externalId").is_none());
        let key = all.iter().find(|f| f.key && f.object == "Lead").unwrap();
        assert_eq!(key.create_body()["Metadata"]["unique"], true);
        assert_eq!(key.developer_name(), "Crmsync_App_Id");
    }

    #[test]
    fn bad_declarations_are_named() {
        let mut bad = spec(CustomFieldType::Picklist);
        bad.api_name = "No_Suffix".into();
        let problems = spec_problems(&[bad]);
        let paths: Vec<&str> = problems.iter().map(|(p, _)| p.as_str()).collect();
        assert_eq!(
            paths,
            ["custom_fields[0].api_name", "custom_fields[0].values"]
        );
        assert!(spec_problems(&[spec(CustomFieldType::Number)]).is_empty());
    }
}
