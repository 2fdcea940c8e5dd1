//! Drift (issue 13 item 9, seed 002: "regularly compares data between Salesforce and
//! Atlas"): a linked record whose value on one side is no longer what crmsync last carried
//! across. A link keeps, per Salesforce field, the hash of the value crmsync last wrote to
//! Salesforce or fed to the app ([`Link::hashes`]); a value whose hash differs was changed
//! where crmsync did not see it (before crmsync existed, while a mapping was paused, an
//! edit that never reached the poll or the push).
//!
//! These functions only find the differences; fixing them goes through the normal paths
//! (the poll's inbound apply, the push of an app event), so the rules, toggles and
//! conflict policy judge a drifted value exactly as they judge any change.

use crate::config::{FieldMapping, SyncConfig, SyncRule};
use crate::hash::field_hash;
use crate::mapping::hash_of_app_value;
use crate::record::SalesforceRecord;
use crate::types::{EventKind, FieldMap, Link, is_blank};

/// Mapped Salesforce fields of a linked record whose Salesforce value is not the one crmsync
/// last carried (in either direction). Fields mapped `dont_sync`, and fields the record
/// does not carry (not read, e.g. a paused mapping), are not compared. No drift: a blank
/// value of a field crmsync never carried or of a `salesforce_unless_blank` field (the
/// rule never sends blanks), an `app_only` field crmsync never wrote, and a value crmsync
/// is writing right now (the link's pending hash).
pub fn salesforce_drift<R: SalesforceRecord + ?Sized>(
    config: &SyncConfig,
    sf_object: &str,
    record: &R,
    link: &Link,
) -> Vec<String> {
    let Some(obj) = config.object(sf_object) else {
        return Vec::new();
    };
    obj.fields
        .iter()
        .filter(|m| m.rule != SyncRule::DontSync)
        .filter(|m| {
            let Some(value) = record.field(&m.salesforce_field) else {
                return false;
            };
            if m.rule == SyncRule::SalesforceUnlessBlank && is_blank(&value) {
                return false;
            }
            let hash = field_hash(m.kind, &value);
            if link.times.pending.get(&m.salesforce_field) == Some(&hash) {
                return false;
            }
            match link.hashes.get(&m.salesforce_field) {
                Some(known) => *known != hash,
                // An app-only field crmsync never wrote has no value of crmsync's to keep.
                None => m.rule.inbound() && !is_blank(&value),
            }
        })
        .map(|m| m.salesforce_field.clone())
        .collect()
}

/// Mappings of `sf_object` whose app value (as the app sent it in `app_fields`) differs from
/// what crmsync last carried, and that an app update may write: the object is enabled
/// with outbound updates on, the rule sends app values (`app_only`, `two_way`) and the
/// mapping fires on `update`. A field the app did not send is not compared; a blank app
/// value of a field crmsync never carried is no drift.
pub fn app_drift<'a>(
    config: &'a SyncConfig,
    sf_object: &str,
    app_fields: &FieldMap,
    link: &Link,
) -> Vec<&'a FieldMapping> {
    let Some(obj) = config.object(sf_object) else {
        return Vec::new();
    };
    if !obj.enabled || !obj.outbound.update {
        return Vec::new();
    }
    obj.fields
        .iter()
        .filter(|m| m.rule.outbound() && m.fires_on(EventKind::Update))
        .filter(|m| {
            let Some(value) = app_fields.get(&m.app_field) else {
                return false;
            };
            // A value that cannot become a Salesforce value is the push's to report.
            let Some(hash) = hash_of_app_value(config, m, value) else {
                return true;
            };
            match link.hashes.get(&m.salesforce_field) {
                Some(known) => *known != hash,
                None => !is_blank(value),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::transform::FieldKind;

    fn config() -> SyncConfig {
        let mut c = SyncConfig::standard();
        let lead = c.objects.get_mut("Lead").unwrap();
        lead.fields = vec![
            FieldMapping::new("last_name", "LastName", SyncRule::TwoWay, FieldKind::String),
            FieldMapping::new("title", "Title", SyncRule::AppOnly, FieldKind::String),
            FieldMapping::new(
                "source",
                "LeadSource",
                SyncRule::SalesforceUnlessBlank,
                FieldKind::String,
            ),
            FieldMapping::new("city", "City", SyncRule::DontSync, FieldKind::String),
        ];
        c
    }

    fn link(pairs: &[(&str, &str)]) -> Link {
        Link {
            salesforce_id: "00Q000000000001AAA".into(),
            hashes: pairs
                .iter()
                .map(|(f, v)| (f.to_string(), field_hash(FieldKind::String, &json!(v))))
                .collect(),
            times: Default::default(),
        }
    }

    #[test]
    fn salesforce_values_that_differ_from_the_last_carried_are_drift() {
        let c = config();
        let l = link(&[("LastName", "Lovelace"), ("Title", "CEO"), ("City", "X")]);
        let same = json!({"LastName": "Lovelace", "Title": "CEO", "City": "Y"});
        assert!(salesforce_drift(&c, "Lead", &same, &l).is_empty());
        let moved = json!({"LastName": "Byron", "Title": "CTO", "LeadSource": "Web"});
        assert_eq!(
            salesforce_drift(&c, "Lead", &moved, &l),
            ["LastName", "Title", "LeadSource"]
        );
        let blank_never_carried = json!({"LastName": "Lovelace", "LeadSource": null});
        assert!(salesforce_drift(&c, "Lead", &blank_never_carried, &l).is_empty());
    }

    #[test]
    fn crmsyncs_own_pending_write_is_not_drift() {
        let c = config();
        let mut l = link(&[("LastName", "Lovelace")]);
        l.times.pending.insert(
            "LastName".into(),
            field_hash(FieldKind::String, &json!("Byron")),
        );
        assert!(salesforce_drift(&c, "Lead", &json!({"LastName": "Byron"}), &l).is_empty());
    }

    #[test]
    fn only_outbound_fields_an_update_may_write_are_app_drift() {
        let mut c = config();
        let l = link(&[("LastName", "Lovelace"), ("Title", "CEO")]);
        let app: FieldMap = serde_json::from_value(json!({
            "last_name": "Byron", "title": "CEO", "source": "Phone", "city": "Z"
        }))
        .unwrap();
        let names = |c: &SyncConfig| -> Vec<String> {
            app_drift(c, "Lead", &app, &l)
                .iter()
                .map(|m| m.salesforce_field.clone())
                .collect()
        };
        assert_eq!(names(&c), ["LastName"]);
        c.objects.get_mut("Lead").unwrap().fields[0].triggers = vec![EventKind::Create];
        assert!(names(&c).is_empty(), "a create-only mapping is not updated");
        c = config();
        c.objects.get_mut("Lead").unwrap().outbound.update = false;
        assert!(names(&c).is_empty(), "outbound updates are off");
    }
}
