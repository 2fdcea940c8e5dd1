//! Lead conversion (issue 13, seed 003): when a person crmsync linked as a Lead must now
//! be a Contact, the Lead is converted (`convertLead`) into that Contact instead of a
//! second person being created beside it; when a Lead is converted in Salesforce, the
//! person's links follow it. Pure: the service makes the call and moves the links.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::config::SyncConfig;
use crate::event::{AppEvent, text_of};
use crate::matching::{AccountQuery, ContactQuery};
use crate::outbound::{opportunity_name, person_target};
use crate::types::{AppObject, EventKind, Link};

/// A conversion to make before planning an event's writes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LeadConversion {
    pub lead_id: String,
    /// A `LeadStatus` with `IsConverted` (config `lead_routing.converted_status`).
    pub converted_status: String,
    /// Merge into the person's linked Account rather than create one.
    pub account_id: Option<String>,
    /// Merge into the Contact the event names (its Account is read first).
    pub contact_id: Option<String>,
    /// A sale's Opportunity comes from the conversion (the sale then closes it); a demo
    /// set creates its own, in the demo stage, as without a conversion.
    pub opportunity_name: Option<String>,
}

/// What a converted Lead became (`LeadConvertResult`, or the Lead's `Converted…Id` fields).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Converted {
    pub lead_id: String,
    pub account_id: Option<String>,
    pub contact_id: String,
    pub opportunity_id: Option<String>,
}

/// The conversion `event` calls for, if any: a person linked to a Lead and to no Contact,
/// whose event routes it to Contact ([`person_target`]), with conversion on and both
/// objects synced.
pub fn lead_conversion(
    config: &SyncConfig,
    links: &BTreeMap<String, Link>,
    event: &AppEvent,
) -> Option<LeadConversion> {
    let lr = &config.lead_routing;
    if event.app_object != AppObject::Contact || !lr.convert_leads {
        return None;
    }
    config.object("Lead")?;
    if !config.object("Contact")?.outbound.create || links.contains_key("Contact") {
        return None;
    }
    let lead = links.get("Lead")?;
    if person_target(config, links, event) != "Contact" {
        return None;
    }
    let sale_opportunity = event.kind == EventKind::Sale
        && config.opportunity.sync_sales
        && config.object("Opportunity").is_some()
        && !links.contains_key("Opportunity");
    Some(LeadConversion {
        lead_id: lead.salesforce_id.clone(),
        converted_status: lr.converted_status.clone(),
        account_id: links.get("Account").map(|l| l.salesforce_id.clone()),
        contact_id: event.text(&lr.contact_id_field),
        opportunity_name: sale_opportunity.then(|| opportunity_name(config, event)),
    })
}

/// Seed 003's account cascade keys for a conversion without a linked Account: the Lead
/// is converted into the Account they match (and the Contact matched under it).
pub fn match_queries(config: &SyncConfig, event: &AppEvent) -> (AccountQuery, ContactQuery) {
    let mc = &config.matching;
    let f = &event.fields;
    (
        crate::matching::account_query(mc, f),
        ContactQuery {
            phone: text_of(f, &mc.app_phone_field),
            last_name: text_of(f, &mc.app_last_name_field),
        },
    )
}

/// The links a person gets from a conversion: (Salesforce object, id) for the Contact
/// and, where the person has none yet, the Account and the Opportunity.
pub fn links_after(links: &BTreeMap<String, Link>, c: &Converted) -> Vec<(&'static str, String)> {
    let mut out = Vec::new();
    for (object, id) in [
        ("Account", &c.account_id),
        ("Opportunity", &c.opportunity_id),
    ] {
        if let Some(id) = id
            && !links.contains_key(object)
        {
            out.push((object, id.clone()));
        }
    }
    // The Contact last: a person linked to a Lead and no Contact is converted (again), so a
    // move interrupted before the Contact link is finished by the retry.
    out.push(("Contact", c.contact_id.clone()));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::SyncConfig;
    use serde_json::json;

    fn event(kind: &str, fields: serde_json::Value) -> AppEvent {
        serde_json::from_value(json!({
            "event_id": "e1", "kind": kind, "app_object": "contact", "app_id": "p1",
            "occurred_at": "2026-11-30T10:00:00Z", "fields": fields
        }))
        .unwrap()
    }

    fn linked(objects: &[&str]) -> BTreeMap<String, Link> {
        objects
            .iter()
            .map(|o| {
                (
                    o.to_string(),
                    Link {
                        salesforce_id: format!("{o}-id"),
                        hashes: Default::default(),
                        times: Default::default(),
                    },
                )
            })
            .collect()
    }

    #[test]
    fn a_sale_of_a_lead_converts_it_with_the_sales_opportunity() {
        let cfg = SyncConfig::standard();
        let c = lead_conversion(
            &cfg,
            &linked(&["Lead"]),
            &event("sale", json!({"company_name": "Fry Ltd"})),
        )
        .expect("a conversion");
        assert_eq!(c.lead_id, "Lead-id");
        assert_eq!(c.converted_status, "Closed - Converted");
        assert_eq!(c.opportunity_name.as_deref(), Some("Fry Ltd"));
        assert_eq!(c.account_id, None);
    }

    #[test]
    fn only_a_person_linked_to_a_lead_and_routed_to_contact_converts() {
        let cfg = SyncConfig::standard();
        let update = event("update", json!({"title": "CEO"}));
        assert_eq!(lead_conversion(&cfg, &linked(&["Lead"]), &update), None);
        let sale = event("sale", json!({}));
        assert_eq!(lead_conversion(&cfg, &linked(&[]), &sale), None);
        assert_eq!(
            lead_conversion(&cfg, &linked(&["Lead", "Contact"]), &sale),
            None
        );
        let known = event("update", json!({"sf_contact_id": "003x"}));
        let c = lead_conversion(&cfg, &linked(&["Lead", "Account"]), &known).unwrap();
        assert_eq!(c.contact_id.as_deref(), Some("003x"));
        assert_eq!(c.account_id.as_deref(), Some("Account-id"));
        assert_eq!(c.opportunity_name, None, "not a sale");
        let mut off = SyncConfig::standard();
        off.lead_routing.convert_leads = false;
        assert_eq!(lead_conversion(&off, &linked(&["Lead"]), &sale), None);
    }

    #[test]
    fn links_move_to_the_contact_and_fill_only_missing_ones() {
        let c = Converted {
            lead_id: "00Q".into(),
            account_id: Some("001".into()),
            contact_id: "003".into(),
            opportunity_id: Some("006".into()),
        };
        assert_eq!(
            links_after(&linked(&["Lead"]), &c),
            vec![
                ("Account", "001".to_string()),
                ("Opportunity", "006".to_string()),
                ("Contact", "003".to_string())
            ]
        );
        assert_eq!(
            links_after(&linked(&["Lead", "Account"]), &c),
            vec![
                ("Opportunity", "006".to_string()),
                ("Contact", "003".to_string())
            ]
        );
    }
}
