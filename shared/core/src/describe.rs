//! Salesforce describe metadata (`GET sobjects/{Type}/describe`), deserialised straight from
//! the REST response. Unknown attributes are ignored on purpose: describe grows every release.

use serde::{Deserialize, Serialize};

/// One object's describe result (only the parts crmsync uses).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
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
    /// The object's record types, Master included (`recordTypeInfos`).
    #[serde(default)]
    pub record_type_infos: Vec<RecordTypeInfo>,
}

/// One entry of describe's `recordTypeInfos`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RecordTypeInfo {
    #[serde(default)]
    pub record_type_id: String,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub developer_name: String,
    #[serde(default)]
    pub active: bool,
    /// Available to the connected user.
    #[serde(default)]
    pub available: bool,
    #[serde(default)]
    pub default_record_type_mapping: bool,
    #[serde(default)]
    pub master: bool,
}

impl ObjectDescribe {
    /// A field by API name (case-insensitive, as Salesforce treats them).
    pub fn field(&self, name: &str) -> Option<&FieldDescribe> {
        self.fields
            .iter()
            .find(|f| f.name.eq_ignore_ascii_case(name))
    }

    /// Fields Salesforce requires on create: `createable && !nillable && !defaultedOnCreate`.
    pub fn required_on_create(&self) -> impl Iterator<Item = &FieldDescribe> {
        self.fields.iter().filter(|f| f.required_on_create())
    }
}

/// One field of a describe result.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FieldDescribe {
    pub name: String,
    #[serde(default)]
    pub label: String,
    /// Salesforce type: string, email, phone, picklist, multipicklist, reference, boolean,
    /// double, currency, percent, int, date, datetime, textarea, id, url, ...
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
    pub fn required_on_create(&self) -> bool {
        self.createable && !self.nillable && !self.defaulted_on_create
    }

    /// Text-like types whose values are bounded by `length`.
    pub fn is_text(&self) -> bool {
        matches!(
            self.field_type.as_str(),
            "string"
                | "textarea"
                | "phone"
                | "email"
                | "url"
                | "picklist"
                | "multipicklist"
                | "combobox"
                | "encryptedstring"
        )
    }

    /// Maximum characters: the describe length, or Salesforce's text default of 255.
    pub fn max_length(&self) -> u32 {
        if self.length == 0 { 255 } else { self.length }
    }

    /// Active picklist values.
    pub fn active_values(&self) -> impl Iterator<Item = &str> {
        self.picklist_values
            .iter()
            .filter(|p| p.active)
            .map(|p| p.value.as_str())
    }

    /// Whether the field may be used as an upsert key.
    pub fn is_upsert_key(&self) -> bool {
        self.external_id || self.id_lookup
    }
}

/// One picklist entry.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deserialises_salesforce_describe_json_ignoring_unknowns() {
        let raw = r#"{"name":"Lead","label":"Lead","keyPrefix":"00Q","custom":false,"createable":true,
          "updateable":true,"urls":{"describe":"/x"},"childRelationships":[],
          "fields":[{"name":"LastName","type":"string","length":80,"nillable":false,"createable":true,
             "updateable":true,"defaultedOnCreate":false,"calculated":false,"externalId":false,
             "idLookup":true,"unique":false,"picklistValues":[],"restrictedPicklist":false,
             "referenceTo":[],"relationshipName":null,"soapType":"xsd:string"},
            {"name":"Status","type":"picklist","length":255,"nillable":false,"createable":true,
             "updateable":true,"defaultedOnCreate":true,"restrictedPicklist":true,
             "picklistValues":[{"value":"Open","label":"Open","active":true,"defaultValue":true,"validFor":null},
                               {"value":"Old","label":"Old","active":false,"defaultValue":false}]}]}"#;
        let d: ObjectDescribe = serde_json::from_str(raw).unwrap();
        assert_eq!(d.key_prefix.as_deref(), Some("00Q"));
        let req: Vec<_> = d.required_on_create().map(|f| f.name.as_str()).collect();
        assert_eq!(req, vec!["LastName"]);
        let status = d.field("status").unwrap();
        assert_eq!(status.active_values().collect::<Vec<_>>(), vec!["Open"]);
        assert!(status.restricted_picklist);
        assert!(d.field("LastName").unwrap().is_upsert_key());
    }
}
