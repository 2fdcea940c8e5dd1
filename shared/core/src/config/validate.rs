//! Config validation: every problem at once, each naming its JSON path.

use std::collections::BTreeSet;

use serde::Serialize;

use super::*;

/// A connection's own sweep interval: at least the stack's minimum tick, at most a day
/// (`getDeleted` answers only for the org's recycle-bin window, 15 days).
pub const MIN_SWEEP_INTERVAL_MINUTES: u32 = 5;
pub const MAX_SWEEP_INTERVAL_MINUTES: u32 = 1440;

/// One problem in a config, e.g. `objects.Lead.fields[2].salesforce_field: not a valid API name`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error, utoipa::ToSchema)]
#[error("{path}: {message}")]
pub struct ConfigProblem {
    pub path: String,
    pub message: String,
}

/// Why a config was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    #[error("config JSON does not match the schema: {0}")]
    Parse(String),
    #[error("config has {} problem(s): {}", .0.len(), join(.0))]
    Invalid(Vec<ConfigProblem>),
}

impl ConfigError {
    /// The individual problems (one for a parse error).
    pub fn problems(&self) -> Vec<ConfigProblem> {
        match self {
            ConfigError::Parse(m) => vec![ConfigProblem {
                path: "$".into(),
                message: m.clone(),
            }],
            ConfigError::Invalid(p) => p.clone(),
        }
    }
}

fn join(p: &[ConfigProblem]) -> String {
    p.iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}

struct Problems(Vec<ConfigProblem>);

impl Problems {
    fn add(&mut self, path: impl Into<String>, message: impl Into<String>) {
        self.0.push(ConfigProblem {
            path: path.into(),
            message: message.into(),
        });
    }
}

/// Salesforce API names: a letter, then letters, digits and underscores (≤ 80),
/// no double underscore except a custom suffix such as `__c`.
pub fn is_api_name(s: &str) -> bool {
    let mut chars = s.chars();
    let starts = chars.next().is_some_and(|c| c.is_ascii_alphabetic());
    starts
        && s.len() <= 80
        && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        && !s.ends_with('_')
        && s.matches("__").count() <= 2
}

/// App field names: 1–255 chars of letters, digits, `_`, `-`, `.`.
pub fn is_app_field_name(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 255
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "_-.".contains(c))
}

fn is_record_id(s: &str) -> bool {
    (s.len() == 15 || s.len() == 18) && s.chars().all(|c| c.is_ascii_alphanumeric())
}

impl SyncConfig {
    /// Structural validation: every problem, each with its path. Run on every save.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let problems = self.problems();
        if problems.is_empty() {
            Ok(())
        } else {
            Err(ConfigError::Invalid(problems))
        }
    }

    /// Whether the sync may run: structural problems plus unmet requirements
    /// (no enabled object, required app fields such as phone not mapped).
    pub fn readiness(&self) -> Vec<ConfigProblem> {
        let mut p = Problems(self.problems());
        if self.enabled_objects().next().is_none() {
            p.add("objects", "no Salesforce object is enabled");
        }
        for (name, obj) in self.enabled_objects() {
            let Some(required) = self.required_app_fields.get(&obj.app_object) else {
                continue;
            };
            for field in required {
                let mapped = obj
                    .fields
                    .iter()
                    .any(|m| &m.app_field == field && m.rule != SyncRule::DontSync);
                if !mapped {
                    p.add(
                        format!("objects.{name}.fields"),
                        format!("required app field `{field}` is not mapped; the sync will not run until it is"),
                    );
                }
            }
        }
        p.0
    }

    fn problems(&self) -> Vec<ConfigProblem> {
        let mut p = Problems(Vec::new());
        if self.version != CONFIG_VERSION {
            p.add(
                "version",
                format!(
                    "unsupported version {} (supported: {CONFIG_VERSION})",
                    self.version
                ),
            );
        }
        if self.poll_cap == 0 || self.poll_cap > 50_000 {
            p.add(
                "poll_cap",
                format!("must be between 1 and 50000, got {}", self.poll_cap),
            );
        }
        if let Some(m) = self.sweep_interval_minutes
            && !(MIN_SWEEP_INTERVAL_MINUTES..=MAX_SWEEP_INTERVAL_MINUTES).contains(&m)
        {
            p.add(
                "sweep_interval_minutes",
                format!(
                    "must be between {MIN_SWEEP_INTERVAL_MINUTES} and {MAX_SWEEP_INTERVAL_MINUTES} minutes, got {m}"
                ),
            );
        }
        if let Some(m) = self.drift_check_interval_minutes
            && m != 0
            && !super::DRIFT_CHECK_MINUTES_RANGE.contains(&m)
        {
            let r = super::DRIFT_CHECK_MINUTES_RANGE;
            p.add(
                "drift_check_interval_minutes",
                format!(
                    "must be 0 (off) or between {} and {} minutes, got {m}",
                    r.start(),
                    r.end()
                ),
            );
        }
        for (name, obj) in &self.objects {
            self.check_object(&mut p, name, obj);
        }
        for (path, message) in crate::provision::spec_problems(&self.custom_fields) {
            p.add(path, message);
        }
        for (path, message) in self.custom_objects.problems() {
            p.add(path, message);
        }
        self.check_owners(&mut p);
        for (i, (app, sf)) in self.stage_map.to_salesforce.iter().enumerate() {
            if app.is_empty() || sf.is_empty() {
                p.add(
                    format!("stage_map.to_salesforce[{i}]"),
                    "stage names must not be empty",
                );
            }
        }
        for (app_obj, fields) in &self.required_app_fields {
            for (i, f) in fields.iter().enumerate() {
                if !is_app_field_name(f) {
                    p.add(
                        format!("required_app_fields.{}[{i}]", app_obj.as_str()),
                        "not a valid app field name",
                    );
                }
            }
        }
        if let Some(f) = &self.activity.event_datetime_field
            && !is_api_name(f)
        {
            p.add(
                "activity.event_datetime_field",
                format!("`{f}` is not a valid Salesforce API name"),
            );
        }
        let mc = &self.matching;
        for (path, v) in [
            ("matching.app_phone_field", &mc.app_phone_field),
            ("matching.app_email_field", &mc.app_email_field),
            ("matching.app_last_name_field", &mc.app_last_name_field),
            (
                "matching.app_business_name_field",
                &mc.app_business_name_field,
            ),
            ("matching.app_city_field", &mc.app_city_field),
            ("lead_routing.phase_field", &self.lead_routing.phase_field),
            (
                "lead_routing.previous_phase_field",
                &self.lead_routing.previous_phase_field,
            ),
            (
                "lead_routing.contact_id_field",
                &self.lead_routing.contact_id_field,
            ),
            (
                "lead_routing.lead_id_field",
                &self.lead_routing.lead_id_field,
            ),
            (
                "opportunity.demo_time_field",
                &self.opportunity.demo_time_field,
            ),
        ] {
            if !is_app_field_name(v) {
                p.add(path, "not a valid app field name");
            }
        }
        if !is_api_name(&mc.account_city_field) {
            p.add(
                "matching.account_city_field",
                "not a valid Salesforce API name",
            );
        }
        for (path, v) in [
            ("lead_routing.held_phase", &self.lead_routing.held_phase),
            (
                "lead_routing.converted_status",
                &self.lead_routing.converted_status,
            ),
            ("opportunity.demo_stage", &self.opportunity.demo_stage),
            ("opportunity.sale_stage", &self.opportunity.sale_stage),
        ] {
            if v.trim().is_empty() {
                p.add(path, "must not be empty");
            }
        }
        if let Some(book) = &self.opportunity.price_book {
            let path = "opportunity.price_book";
            if book.trim().is_empty() {
                p.add(
                    path,
                    "must not be empty (leave it out for the standard price book)",
                );
            } else if book.chars().count() > 255 || book.chars().any(char::is_control) {
                p.add(
                    path,
                    "must be a price book name (at most 255 characters) or Id",
                );
            }
        }
        p.0
    }

    fn check_owners(&self, p: &mut Problems) {
        let o = &self.owners;
        if !is_app_field_name(&o.app_field) {
            p.add("owners.app_field", "not a valid app field name");
        }
        for (email, id) in &o.app_users {
            if !email.contains('@') || email.len() > 255 {
                p.add(
                    format!("owners.app_users.{email}"),
                    "key must be an email address",
                );
            }
            if id.trim().is_empty() || id.len() > 255 {
                p.add(
                    format!("owners.app_users.{email}"),
                    "app user id must be 1-255 characters",
                );
            }
        }
        if let Some(d) = &o.default_owner
            && (d.trim().is_empty() || d.len() > 255)
        {
            p.add(
                "owners.default_owner",
                "must be an app user id of 1-255 characters",
            );
        }
    }

    fn check_object(&self, p: &mut Problems, name: &str, obj: &ObjectConfig) {
        let base = format!("objects.{name}");
        let custom = name.ends_with("__c");
        if !is_api_name(name) || (!custom && expected_app_object(name).is_none()) {
            p.add(
                &base,
                "unknown Salesforce object (supported: Contact, Lead, Account, Opportunity, OpportunityLineItem, User, Task, custom __c)",
            );
        }
        if let Some(expected) = expected_app_object(name)
            && expected != obj.app_object
        {
            p.add(
                format!("{base}.app_object"),
                format!(
                    "{name} maps to app object `{}`, not `{}`",
                    expected.as_str(),
                    obj.app_object.as_str()
                ),
            );
        }
        if let Some(rt) = &obj.record_type_id
            && (!is_record_id(rt) || !rt.starts_with("012"))
        {
            p.add(
                format!("{base}.record_type_id"),
                "must be a 15/18-character RecordType id (prefix 012)",
            );
        }
        if let Some(ext) = &obj.external_id_field
            && !is_api_name(ext)
        {
            p.add(
                format!("{base}.external_id_field"),
                format!("`{ext}` is not a valid Salesforce API name"),
            );
        }
        for (k, _) in obj.app_defaults.iter() {
            if !is_app_field_name(k) {
                p.add(
                    format!("{base}.app_defaults.{k}"),
                    "not a valid app field name",
                );
            }
        }
        for (f, c) in &obj.constraints {
            let cp = format!("{base}.constraints.{f}");
            if !is_api_name(f) {
                p.add(&cp, "not a valid Salesforce API name");
            }
            if let (Some(lo), Some(hi)) = (c.min, c.max)
                && lo > hi
            {
                p.add(&cp, format!("min {lo} is greater than max {hi}"));
            }
        }
        let mut inbound_app = BTreeSet::new();
        let mut outbound_sf = BTreeSet::new();
        for (i, m) in obj.fields.iter().enumerate() {
            let fp = format!("{base}.fields[{i}]");
            if !is_app_field_name(&m.app_field) {
                p.add(
                    format!("{fp}.app_field"),
                    format!("`{}` is not a valid app field name", m.app_field),
                );
            }
            if !is_api_name(&m.salesforce_field) {
                p.add(
                    format!("{fp}.salesforce_field"),
                    format!(
                        "`{}` is not a valid Salesforce API name",
                        m.salesforce_field
                    ),
                );
            }
            if m.rule.outbound() && m.triggers.is_empty() {
                p.add(
                    format!("{fp}.triggers"),
                    "an outbound mapping needs at least one trigger",
                );
            }
            if m.use_stage_map && m.values.is_some() {
                p.add(
                    format!("{fp}.values"),
                    "use either `values` or `use_stage_map`, not both",
                );
            }
            if let Some(allow) = &m.inbound_allow
                && allow.iter().any(|v| v.trim().is_empty())
            {
                p.add(
                    format!("{fp}.inbound_allow"),
                    "allowed values must not be empty",
                );
            }
            if m.rule.inbound() && !inbound_app.insert(m.app_field.clone()) {
                p.add(
                    format!("{fp}.app_field"),
                    format!(
                        "`{}` already receives another inbound mapping of {name}",
                        m.app_field
                    ),
                );
            }
            if m.rule.outbound() && !outbound_sf.insert(m.salesforce_field.to_ascii_lowercase()) {
                p.add(
                    format!("{fp}.salesforce_field"),
                    format!(
                        "`{}` is already written by another outbound mapping",
                        m.salesforce_field
                    ),
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transform::FieldKind;

    #[test]
    fn standard_is_valid_and_ready_and_round_trips() {
        let cfg = SyncConfig::standard();
        assert_eq!(cfg.validate(), Ok(()));
        assert!(cfg.readiness().is_empty(), "{:?}", cfg.readiness());
        let json = serde_json::to_string(&cfg).unwrap();
        assert_eq!(SyncConfig::from_json(&json).unwrap(), cfg);
        assert_eq!(cfg.poll_cap, 1000);
        assert_eq!(cfg.frequency, SyncFrequency::EveryMinute);
    }

    #[test]
    fn a_named_price_book_must_be_a_name_or_id() {
        let mut cfg = SyncConfig::standard();
        cfg.opportunity.price_book = Some("Partner Prices".into());
        assert_eq!(cfg.validate(), Ok(()));
        for bad in ["  ", "line\nbreak"] {
            cfg.opportunity.price_book = Some(bad.into());
            let err = cfg.validate().unwrap_err();
            let paths: Vec<String> = err.problems().into_iter().map(|p| p.path).collect();
            assert_eq!(paths, vec!["opportunity.price_book"], "{bad:?}");
        }
    }

    #[test]
    fn every_problem_is_reported_with_its_path() {
        let mut cfg = SyncConfig::standard();
        cfg.version = 9;
        cfg.poll_cap = 0;
        let lead = cfg.objects.get_mut("Lead").unwrap();
        lead.fields[2].salesforce_field = "Bad Field".into();
        lead.fields[3].app_field = String::new();
        lead.app_object = AppObject::Deal;
        cfg.objects.insert(
            "Widget".into(),
            ObjectConfig::new(AppObject::Contact, vec![]),
        );
        let err = cfg.validate().unwrap_err();
        let paths: Vec<String> = err.problems().into_iter().map(|p| p.path).collect();
        for want in [
            "version",
            "poll_cap",
            "objects.Lead.fields[2].salesforce_field",
            "objects.Lead.fields[3].app_field",
            "objects.Lead.app_object",
            "objects.Widget",
        ] {
            assert!(
                paths.iter().any(|p| p == want),
                "missing {want} in {paths:?}"
            );
        }
    }

    #[test]
    fn unknown_fields_are_refused() {
        let mut v = serde_json::to_value(SyncConfig::standard()).unwrap();
        v["surprise"] = serde_json::json!(1);
        assert!(matches!(
            SyncConfig::from_json(&v.to_string()),
            Err(ConfigError::Parse(_))
        ));
        let mut v = serde_json::to_value(SyncConfig::standard()).unwrap();
        v["objects"]["Lead"]["fields"][0]["colour"] = serde_json::json!("red");
        assert!(matches!(
            SyncConfig::from_json(&v.to_string()),
            Err(ConfigError::Parse(_))
        ));
    }

    #[test]
    fn readiness_requires_phone_mapping() {
        let mut cfg = SyncConfig::standard();
        for obj in ["Lead", "Contact"] {
            let o = cfg.objects.get_mut(obj).unwrap();
            o.fields.retain(|m| m.app_field != "phone");
        }
        assert_eq!(cfg.validate(), Ok(()));
        let r = cfg.readiness();
        assert_eq!(r.len(), 2, "{r:?}");
        assert!(r.iter().all(|p| p.message.contains("`phone`")));
        // DontSync does not count as mapped.
        let o = cfg.objects.get_mut("Lead").unwrap();
        o.fields.push(FieldMapping::new(
            "phone",
            "Phone",
            SyncRule::DontSync,
            FieldKind::String,
        ));
        assert_eq!(cfg.readiness().len(), 2);
    }

    #[test]
    fn custom_objects_and_duplicates() {
        let mut cfg = SyncConfig::standard();
        cfg.objects.insert(
            "Site__c".into(),
            ObjectConfig::new(
                AppObject::Company,
                vec![
                    FieldMapping::two_way("location", "Location__c"),
                    FieldMapping::two_way("location", "Location__c"),
                ],
            ),
        );
        let problems = cfg.validate().unwrap_err().problems();
        assert_eq!(problems.len(), 2, "{problems:?}");
        assert_eq!(problems[0].path, "objects.Site__c.fields[1].app_field");
        assert_eq!(
            problems[1].path,
            "objects.Site__c.fields[1].salesforce_field"
        );
    }

    #[test]
    fn unmapped_owner_list() {
        let mut cfg = SyncConfig::standard();
        cfg.owners
            .app_users
            .insert("rep@example.com".into(), "u1".into());
        let list =
            cfg.owners
                .unmapped_owners(["REP@example.com", "b@x.com", "a@x.com", "b@x.com", " "]);
        assert_eq!(list, vec!["a@x.com".to_string(), "b@x.com".to_string()]);
    }

    #[test]
    fn frequency_due_rules() {
        use chrono::{TimeZone, Utc};
        let t0 = Utc.with_ymd_and_hms(2026, 11, 22, 10, 0, 0).unwrap();
        assert!(SyncFrequency::EveryMinute.is_due(None, t0));
        for f in [
            SyncFrequency::EveryMinute,
            SyncFrequency::Every5Minutes,
            SyncFrequency::Every15Minutes,
            SyncFrequency::Hourly,
        ] {
            assert_eq!(SyncFrequency::from_minutes(f.minutes()), Some(f));
        }
        assert_eq!(SyncFrequency::from_minutes(7), None);
        assert!(SyncFrequency::EveryMinute.is_due(Some(t0), t0 + chrono::Duration::seconds(58)));
        assert!(
            !SyncFrequency::Every15Minutes.is_due(Some(t0), t0 + chrono::Duration::minutes(10))
        );
        assert!(SyncFrequency::Hourly.is_due(Some(t0), t0 + chrono::Duration::minutes(60)));
        let json = serde_json::to_string(&SyncFrequency::Every5Minutes).unwrap();
        assert_eq!(json, "\"every_5_minutes\"");
    }
}
