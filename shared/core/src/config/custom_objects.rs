//! `custom_objects`: seed 003's multi-site sync and its "Organization" custom object.
//!
//! At a sale (and on a company create or update carrying the list field), each value of a
//! multi-value app field (a business's locations) becomes one record of a custom object
//! (`Site__c`) under the company's Account; `organization` makes one record of another
//! custom object (`Organization__c`) for the company, beside its Account, and the sites
//! point at it too. See [`crate::sites`] for the matching rules.

use serde::{Deserialize, Serialize};

use super::validate::{is_api_name, is_app_field_name};

fn name_field() -> String {
    "Name".into()
}

fn company_name_field() -> String {
    "company_name".into()
}

/// The per-connection `custom_objects` section (empty: nothing is written).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CustomObjectsConfig {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sites: Option<SitesConfig>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub organization: Option<OrganizationConfig>,
}

/// One custom-object record per value of a multi-value app field, under the Account.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SitesConfig {
    /// Custom object API name (`Site__c`).
    pub object: String,
    /// The site's lookup to Account (`Account__c`); none: sites hang under the
    /// Organization record only (`organization_field`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent_field: Option<String>,
    /// The app field with the values: a JSON array of strings, or one string with one
    /// value per line (or `;`-separated).
    pub app_list_field: String,
    /// The site field the value is written to (default `Name`).
    #[serde(default = "name_field")]
    pub name_field: String,
    /// Optional text field that gets a stable key (`{parentId}:{value in lower case}`), so a
    /// site renamed in Salesforce is still matched.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_field: Option<String>,
    /// The site's lookup to the Organization record (needs `organization`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub organization_field: Option<String>,
}

/// The company as a record of a custom object (seed 003's "Organization entity").
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OrganizationConfig {
    /// Custom object API name (`Organization__c`).
    pub object: String,
    /// Its field that gets the company's name (default `Name`).
    #[serde(default = "name_field")]
    pub name_field: String,
    /// The app field with the company's name (default `company_name`).
    #[serde(default = "company_name_field")]
    pub app_name_field: String,
    /// Its lookup to Account (`Account__c`); when set, the Organization of an Account is
    /// matched by it, else by name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account_field: Option<String>,
}

impl CustomObjectsConfig {
    pub fn is_empty(&self) -> bool {
        self.sites.is_none() && self.organization.is_none()
    }

    /// Every problem, each as `(path, message)` under `custom_objects`.
    pub fn problems(&self) -> Vec<(String, String)> {
        let mut p = Vec::new();
        let api = |p: &mut Vec<(String, String)>, path: &str, v: &str| {
            if !is_api_name(v) {
                p.push((
                    format!("custom_objects.{path}"),
                    format!("`{v}` is not a Salesforce API name"),
                ));
            }
        };
        let custom = |p: &mut Vec<(String, String)>, path: &str, v: &str| {
            if !v.ends_with("__c") || !is_api_name(v) {
                p.push((
                    format!("custom_objects.{path}"),
                    format!("`{v}` must be a custom object API name ending in __c"),
                ));
            }
        };
        if let Some(s) = &self.sites {
            custom(&mut p, "sites.object", &s.object);
            api(&mut p, "sites.name_field", &s.name_field);
            for (path, f) in [
                ("sites.parent_field", &s.parent_field),
                ("sites.key_field", &s.key_field),
                ("sites.organization_field", &s.organization_field),
            ] {
                if let Some(f) = f {
                    api(&mut p, path, f);
                }
            }
            if !is_app_field_name(&s.app_list_field) {
                p.push((
                    "custom_objects.sites.app_list_field".into(),
                    "not a valid app field name".into(),
                ));
            }
            if s.organization_field.is_some() && self.organization.is_none() {
                p.push((
                    "custom_objects.sites.organization_field".into(),
                    "needs custom_objects.organization".into(),
                ));
            }
            if s.parent_field.is_none() && s.organization_field.is_none() {
                p.push((
                    "custom_objects.sites.parent_field".into(),
                    "a site needs a parent: set parent_field (Account) or organization_field"
                        .into(),
                ));
            }
        }
        if let Some(o) = &self.organization {
            custom(&mut p, "organization.object", &o.object);
            api(&mut p, "organization.name_field", &o.name_field);
            if let Some(f) = &o.account_field {
                api(&mut p, "organization.account_field", f);
            }
            if !is_app_field_name(&o.app_name_field) {
                p.push((
                    "custom_objects.organization.app_name_field".into(),
                    "not a valid app field name".into(),
                ));
            }
            if self.sites.as_ref().is_some_and(|s| s.object == o.object) {
                p.push((
                    "custom_objects.organization.object".into(),
                    "must differ from custom_objects.sites.object".into(),
                ));
            }
        }
        p
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sites() -> SitesConfig {
        SitesConfig {
            object: "Site__c".into(),
            parent_field: Some("Account__c".into()),
            app_list_field: "locations".into(),
            name_field: name_field(),
            key_field: None,
            organization_field: None,
        }
    }

    #[test]
    fn json_defaults_and_round_trip() {
        let cfg: CustomObjectsConfig = serde_json::from_value(serde_json::json!({
            "sites": {"object": "Site__c", "parent_field": "Account__c", "app_list_field": "locations"},
            "organization": {"object": "Organization__c"}
        }))
        .unwrap();
        assert_eq!(cfg.sites, Some(sites()));
        let org = cfg.organization.clone().unwrap();
        assert_eq!(
            (org.name_field.as_str(), org.app_name_field.as_str()),
            ("Name", "company_name")
        );
        assert!(cfg.problems().is_empty(), "{:?}", cfg.problems());
        let back: CustomObjectsConfig =
            serde_json::from_value(serde_json::to_value(&cfg).unwrap()).unwrap();
        assert_eq!(back, cfg);
        assert!(CustomObjectsConfig::default().is_empty());
    }

    #[test]
    fn bad_keys_are_named() {
        let cfg = CustomObjectsConfig {
            sites: Some(SitesConfig {
                object: "Site".into(),
                parent_field: None,
                app_list_field: "bad field".into(),
                name_field: "Na me".into(),
                key_field: Some("1Key".into()),
                organization_field: Some("Organization__c".into()),
            }),
            organization: None,
        };
        let paths: Vec<String> = cfg.problems().into_iter().map(|(p, _)| p).collect();
        assert_eq!(
            paths,
            [
                "custom_objects.sites.object",
                "custom_objects.sites.name_field",
                "custom_objects.sites.key_field",
                "custom_objects.sites.app_list_field",
                "custom_objects.sites.organization_field",
            ]
        );
        let same = CustomObjectsConfig {
            sites: Some(sites()),
            organization: Some(OrganizationConfig {
                object: "Site__c".into(),
                name_field: name_field(),
                app_name_field: company_name_field(),
                account_field: Some("Account__c".into()),
            }),
        };
        let problems = same.problems();
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert_eq!(problems[0].0, "custom_objects.organization.object");
        let unknown = serde_json::from_value::<CustomObjectsConfig>(
            serde_json::json!({"sites": {"object": "Site__c", "app_list_field": "l", "nope": 1}}),
        );
        assert!(unknown.unwrap_err().to_string().contains("nope"));
    }
}
