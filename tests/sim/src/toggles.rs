//! The tenant's create/update toggles (profile feature `toggles`; `shared/core/src/config`:
//! "App → Salesforce create/update toggles", "Salesforce → app create/update toggles").
//! Each seed draws them from its own RNG (the scenario's draws do not move), each off one
//! time in four (Lead creates one time in seven):
//! - App → Salesforce: Lead `outbound.create`, Lead `outbound.update`.
//! - Salesforce → app: Contact `inbound.create`, Account and Opportunity `inbound.update`.
//!
//! Checked (invariant 2, "toggled-off directions never write"):
//! - Lead creates off: no app contact has a Lead crmsync made (only a Salesforce user's).
//! - Lead updates off: no Lead holds a FirstName the app sent in an update after the Lead
//!   existed.
//! - Contact creates off: no Salesforce user's Contact reaches the change feed as a create.
//! - Account / Opportunity updates off: no Salesforce user's Website / LeadSource edit
//!   reaches the change feed as an update (a record crmsync no longer links, such as an
//!   earlier demo cycle's Opportunity, arrives as a new record, with its values).

use chrono::{DateTime, Utc};
use crmsync_core::config::SyncConfig;
use crmsync_store::ChangeKind;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::Value;

use crate::invariants::Violation;
use crate::runner::World;

/// Mixed into the seed for the toggles' own RNG.
const TOGGLES_SALT: u64 = 0x746f_6767_6c65_7331;

/// The toggles a run syncs under (all on: the standard config).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Toggles {
    pub lead_create_out: bool,
    pub lead_update_out: bool,
    pub contact_create_in: bool,
    pub account_update_in: bool,
    pub deal_update_in: bool,
}

impl Toggles {
    pub const ALL_ON: Toggles = Toggles {
        lead_create_out: true,
        lead_update_out: true,
        contact_create_in: true,
        account_update_in: true,
        deal_update_in: true,
    };

    pub fn draw(seed: u64) -> Toggles {
        let mut rng = StdRng::seed_from_u64(seed ^ TOGGLES_SALT);
        Toggles {
            lead_create_out: !rng.random_bool(1.0 / 7.0),
            lead_update_out: !rng.random_bool(0.25),
            contact_create_in: !rng.random_bool(0.25),
            account_update_in: !rng.random_bool(0.25),
            deal_update_in: !rng.random_bool(0.25),
        }
    }

    /// The toggles that are off, for the trace (`toggles: off lead.out.update,…`).
    pub fn name(&self) -> String {
        let off: Vec<&str> = [
            (self.lead_create_out, "lead.out.create"),
            (self.lead_update_out, "lead.out.update"),
            (self.contact_create_in, "contact.in.create"),
            (self.account_update_in, "account.in.update"),
            (self.deal_update_in, "opportunity.in.update"),
        ]
        .into_iter()
        .filter(|(on, _)| !on)
        .map(|(_, n)| n)
        .collect();
        if off.is_empty() {
            "all on".into()
        } else {
            format!("off {}", off.join(","))
        }
    }

    pub fn apply(&self, config: &mut SyncConfig) {
        if let Some(o) = config.objects.get_mut("Lead") {
            o.outbound.create = self.lead_create_out;
            o.outbound.update = self.lead_update_out;
        }
        if let Some(o) = config.objects.get_mut("Contact") {
            o.inbound.create = self.contact_create_in;
        }
        if let Some(o) = config.objects.get_mut("Account") {
            o.inbound.update = self.account_update_in;
        }
        if let Some(o) = config.objects.get_mut("Opportunity") {
            o.inbound.update = self.deal_update_in;
        }
    }

    /// Whether Salesforce users' updates of `object` reach the app at all.
    pub fn pulls_updates_of(&self, object: &str) -> bool {
        match object {
            "Account" => self.account_update_in,
            "Opportunity" => self.deal_update_in,
            _ => true,
        }
    }
}

fn created_at(fields: &serde_json::Map<String, Value>) -> Option<DateTime<Utc>> {
    fields
        .get("CreatedDate")
        .and_then(Value::as_str)
        .and_then(|s| DateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.3f%z").ok())
        .map(|d| d.with_timezone(&Utc))
}

pub fn check(world: &World) -> Vec<Violation> {
    let t = world.model.toggles;
    let mut out = Vec::new();
    let mut fail = |message: String| {
        out.push(Violation {
            invariant: 2,
            message,
        })
    };
    for r in &world.model.records {
        let leads = world.sf_find("Lead", "LastName", &r.last_name);
        if !t.lead_create_out && !r.preexisting_lead && !leads.is_empty() {
            let ids: Vec<&String> = leads.iter().map(|(id, _)| id).collect();
            fail(format!(
                "Lead creates are off, yet {} has Lead(s) {ids:?} no Salesforce user made",
                r.id
            ));
        }
        if !t.lead_update_out {
            for (id, fields) in &leads {
                let Some(born) = created_at(fields) else {
                    continue;
                };
                let first = fields.get("FirstName").and_then(Value::as_str);
                let sent_later = world.model.events.iter().find(|e| {
                    e.app_id == r.id
                        && e.kind == "update"
                        && e.at > born
                        && e.fields.get("first_name").and_then(Value::as_str) == first
                });
                if let Some(e) = sent_later {
                    fail(format!(
                        "Lead updates are off, yet Lead {id} of {} holds FirstName {first:?} from the update {} sent after it was created",
                        r.id, e.event_id
                    ));
                }
            }
        }
    }
    for entry in world.feed.iter().filter(|e| e.kind == ChangeKind::Upsert) {
        if !t.contact_create_in
            && entry.object == "Contact"
            && entry.payload["action"] == "create"
            && world
                .model
                .sf_created
                .iter()
                .any(|c| c.sf_id == entry.sf_id)
        {
            fail(format!(
                "Contact creates from Salesforce are off, yet feed entry {} brought the Salesforce user's Contact {}",
                entry.seq, entry.sf_id
            ));
        }
        for edit in &world.model.sf_edits {
            // A create entry is not an update: a record crmsync no longer links (an
            // earlier demo cycle's Opportunity once the contact's link moved on) reaches
            // the app as a new record, with its values, under `sf-<Id>`.
            if edit.sf_id == entry.sf_id
                && !t.pulls_updates_of(&edit.object)
                && entry.payload["action"] != "create"
                && entry.payload["fields"].get(&edit.app_field) == Some(&edit.value)
            {
                fail(format!(
                    "{} updates from Salesforce are off, yet feed entry {} ({}, app_id {:?}) brought {}={} (step {})",
                    edit.object,
                    entry.seq,
                    entry.payload["action"],
                    entry.app_id,
                    edit.sf_field,
                    edit.value,
                    edit.step
                ));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_toggle_is_drawn_off_sometimes_and_applies_to_the_config() {
        let draws: Vec<Toggles> = (0..200).map(Toggles::draw).collect();
        assert!(draws.contains(&Toggles::ALL_ON));
        assert!(draws.iter().any(|t| !t.lead_create_out));
        assert!(draws.iter().any(|t| !t.lead_update_out));
        assert!(draws.iter().any(|t| !t.contact_create_in));
        assert!(draws.iter().any(|t| !t.account_update_in));
        assert!(draws.iter().any(|t| !t.deal_update_in));
        let off = Toggles {
            lead_create_out: false,
            lead_update_out: false,
            contact_create_in: false,
            account_update_in: false,
            deal_update_in: false,
        };
        let mut config = SyncConfig::standard();
        off.apply(&mut config);
        let object = |name: &str| config.object(name).expect(name).clone();
        assert!(!object("Lead").outbound.create && !object("Lead").outbound.update);
        assert!(!object("Contact").inbound.create);
        assert!(!object("Account").inbound.update && !object("Opportunity").inbound.update);
        assert_eq!(
            off.name(),
            "off lead.out.create,lead.out.update,contact.in.create,account.in.update,opportunity.in.update"
        );
    }
}
