//! A configured `record_type_id` against the org's describe: it must be one of the object's
//! active record types available to the connected user (Salesforce refuses anything else
//! with `INVALID_CROSS_REFERENCE_KEY` on the first create).

use std::collections::BTreeMap;

use crate::config::{ConfigProblem, SyncConfig};
use crate::describe::ObjectDescribe;
use crate::sfid::same_id;

/// Why the org would refuse `id` as the object's record type; `None` when it is usable or
/// the describe lists no record types at all (Salesforce always lists Master).
pub fn refusal(describe: &ObjectDescribe, id: &str) -> Option<String> {
    if describe.record_type_infos.is_empty() {
        return None;
    }
    let object = &describe.name;
    let usable = describe
        .record_type_infos
        .iter()
        .any(|r| same_id(&r.record_type_id, id) && r.active && r.available);
    if usable {
        return None;
    }
    let names: Vec<&str> = describe
        .record_type_infos
        .iter()
        .filter(|r| r.active && r.available)
        .map(|r| r.developer_name.as_str())
        .collect();
    let known = describe
        .record_type_infos
        .iter()
        .find(|r| same_id(&r.record_type_id, id));
    let what = match known {
        Some(r) if !r.active => format!("record type {id} ({}) is inactive", r.developer_name),
        Some(r) => format!(
            "record type {id} ({}) is not available to the connected user",
            r.developer_name
        ),
        None => format!("{id} is not a {object} record type in this org"),
    };
    Some(format!(
        "objects.{object}.record_type_id: {what}; usable: [{}]",
        names.join(", ")
    ))
}

/// Config problems for record types the org lacks, at `objects.{Object}.record_type_id`.
pub fn problems(
    config: &SyncConfig,
    describes: &BTreeMap<String, ObjectDescribe>,
) -> Vec<ConfigProblem> {
    let mut out = Vec::new();
    for (object, obj) in config.enabled_objects() {
        let (Some(id), Some(d)) = (&obj.record_type_id, describes.get(object)) else {
            continue;
        };
        if let Some(why) = refusal(d, id) {
            let message = why
                .split_once(": ")
                .map_or(why.clone(), |(_, m)| m.to_string());
            out.push(ConfigProblem {
                path: format!("objects.{object}.record_type_id"),
                message,
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::describe::RecordTypeInfo;
    use crate::sfid::to_18;

    fn lead() -> ObjectDescribe {
        let rt = |id: &str, dev: &str, active: bool, master: bool| RecordTypeInfo {
            record_type_id: id.into(),
            name: dev.into(),
            developer_name: dev.into(),
            active,
            available: active && !master,
            default_record_type_mapping: false,
            master,
        };
        ObjectDescribe {
            name: "Lead".into(),
            record_type_infos: vec![
                rt(&to_18("0125g000000000A").unwrap(), "Partner", true, false),
                rt("0125g000000000BAAA", "Retired", false, false),
                rt("012000000000000AAA", "Master", true, true),
            ],
            ..Default::default()
        }
    }

    #[test]
    fn an_active_record_type_is_usable_in_either_id_form() {
        let long = lead().record_type_infos[0].record_type_id.clone();
        assert_eq!(refusal(&lead(), &long), None);
        assert_eq!(refusal(&lead(), &long[..15]), None);
    }

    #[test]
    fn a_describe_without_record_type_infos_is_not_judged() {
        let bare = ObjectDescribe {
            name: "Lead".into(),
            ..Default::default()
        };
        assert_eq!(refusal(&bare, "0125g000000000CAAA"), None);
    }

    #[test]
    fn inactive_unknown_and_master_are_refused_with_the_config_path() {
        for (id, says) in [
            ("0125g000000000BAAA", "inactive"),
            ("0125g000000000CAAA", "not a Lead record type"),
            ("012000000000000AAA", "not available"),
        ] {
            let why = refusal(&lead(), id).expect(id);
            assert!(why.starts_with("objects.Lead.record_type_id: "), "{why}");
            assert!(why.contains(id) && why.contains(says), "{why}");
            assert!(why.contains("usable: [Partner]"), "{why}");
        }
    }
}
