//! Query shape: which fields the poller must select per object. No SOQL here; the
//! Salesforce client builds the query from these allow-listed names.

use crate::config::{SyncConfig, SyncRule};

/// Fields to SELECT when polling `sf_object`: `Id`, the cursor and conflict timestamps,
/// every inbound-mapped and app-only field, `Owner.Email` when owners are mapped (or only
/// app users' records are imported), `RecordTypeId` when a
/// record type is configured. Empty when the object is not enabled.
pub fn fields_to_select(sf_object: &str, config: &SyncConfig) -> Vec<String> {
    let Some(obj) = config.object(sf_object) else {
        return Vec::new();
    };
    let mut out: Vec<String> = Vec::with_capacity(obj.fields.len() + 5);
    let mut add = |f: &str| {
        if !out.iter().any(|o| o.eq_ignore_ascii_case(f)) {
            out.push(f.to_string());
        }
    };
    add("Id");
    add("SystemModstamp");
    add("LastModifiedDate");
    // App-only fields too: a Salesforce change to one is refused, and the app is told
    // (`crate::refusal`).
    for m in obj
        .fields
        .iter()
        .filter(|m| m.rule.inbound() || m.rule == SyncRule::AppOnly)
    {
        add(&m.salesforce_field);
    }
    let owners = &config.owners;
    let owner_rule = owners.enabled && owners.rule.inbound();
    if (owner_rule || obj.only_app_user_owners) && has_owner(sf_object) {
        add("Owner.Email");
    }
    if obj.record_type_id.is_some() {
        add("RecordTypeId");
    }
    if let Some(ext) = &obj.external_id_field {
        add(ext);
    }
    out
}

/// Objects with an `OwnerId` (a User) crmsync maps.
fn has_owner(sf_object: &str) -> bool {
    !matches!(sf_object, "User" | "OpportunityLineItem")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::FieldMapping;
    use crate::transform::FieldKind;

    #[test]
    fn lead_selection_has_ids_stamps_mapped_and_owner() {
        let mut cfg = SyncConfig::standard();
        let lead = cfg.objects.get_mut("Lead").unwrap();
        lead.record_type_id = Some("012000000000001".into());
        lead.fields.push(FieldMapping::new(
            "secret",
            "Secret__c",
            SyncRule::AppOnly,
            FieldKind::String,
        ));
        lead.fields.push(FieldMapping::new(
            "x",
            "Email",
            SyncRule::DontSync,
            FieldKind::String,
        ));
        let f = fields_to_select("Lead", &cfg);
        assert_eq!(&f[..3], &["Id", "SystemModstamp", "LastModifiedDate"]);
        for want in [
            "FirstName",
            "LastName",
            "Phone",
            "Company",
            "Status",
            "Owner.Email",
            "RecordTypeId",
        ] {
            assert!(f.contains(&want.to_string()), "{want} missing from {f:?}");
        }
        assert!(
            f.contains(&"Secret__c".to_string()),
            "app-only fields are read, to tell the app of a change refused"
        );
        assert_eq!(f.iter().filter(|x| *x == "Email").count(), 1);
        assert!(!fields_to_select("User", &cfg).contains(&"Owner.Email".to_string()));
        assert!(fields_to_select("Widget__c", &cfg).is_empty());
    }
}
