//! The demo's app events: what an app embedding crmsync would send (seed 003's flows).
//!
//! Contacts arrive as Salesforce Leads until a demo is set; a company runs the account
//! cascade; a demo set from a cold-call phase creates Account, Contact and a Qualification
//! Opportunity; a sale creates a Closed Won Opportunity with a line item per sale item.
//! One event is meant to fail: a Lead whose Company exceeds Salesforce's 255 characters.

use chrono::{DateTime, Utc};
use serde_json::{Value, json};

/// The event the demo expects to fail, and the field its error must name.
pub const INVALID_EVENT_ID: &str = "demo-ev-lead-long-company";
pub const INVALID_FIELD: &str = "Company";

/// `(event id, app object, app id)` of the update that follows a create.
pub const UPDATE_EVENT_ID: &str = "demo-ev-ada-update";

fn event(
    id: &str,
    kind: &str,
    object: &str,
    app_id: &str,
    at: DateTime<Utc>,
    fields: Value,
) -> Value {
    json!({
        "event_id": id,
        "kind": kind,
        "app_object": object,
        "app_id": app_id,
        "occurred_at": at.to_rfc3339(),
        "fields": fields,
    })
}

/// The demo's two batches: creates (and the demo set, the sale, the invalid Lead), then,
/// once those are pushed, updates to records created in the first. `run` makes ids unique
/// per run so persisted state does not deduplicate a second run's events against the first's.
pub fn demo_events(now: DateTime<Utc>, run: &str) -> (Vec<Value>, Vec<Value>) {
    let id = |s: &str| format!("{s}-{run}");
    let demo_at = (now + chrono::Duration::days(3)).to_rfc3339();
    let mut sale = event(
        &id("demo-ev-sale"),
        "sale",
        "contact",
        &id("app-contact-grace"),
        now,
        json!({
            "first_name": "Grace", "last_name": "Hopper", "email": "grace@cobol.example",
            "phone": "+1 202 555 0142", "company_name": "Cobol Compilers", "city": "Arlington",
            "amount": 4200
        }),
    );
    sale["sale_items"] = json!([
        {"name": "Compiler licence", "quantity": 3, "unit_price": 1000},
        {"name": "Onboarding", "quantity": 1, "unit_price": 1200}
    ]);
    let first = vec![
        event(
            &id("demo-ev-ada-create"),
            "create",
            "contact",
            &id("app-contact-ada"),
            now,
            json!({
                "first_name": "Ada", "last_name": "Lovelace", "email": "ada@engines.example",
                "phone": "+44 20 7946 0100", "company_name": "Analytical Engines",
                "city": "London", "title": "Mathematician"
            }),
        ),
        event(
            &id("demo-ev-alan-create"),
            "create",
            "contact",
            &id("app-contact-alan"),
            now,
            json!({
                "first_name": "Alan", "last_name": "Turing", "email": "alan@bletchley.example",
                "phone": "+44 1908 640404", "company_name": "Bletchley Labs",
                "city": "Milton Keynes"
            }),
        ),
        event(
            &id("demo-ev-company"),
            "create",
            "company",
            &id("app-company-hedy"),
            now,
            json!({
                "company_name": "Frequency Hopping Ltd", "phone": "+1 310 555 0199",
                "city": "Los Angeles", "website": "https://hopping.example"
            }),
        ),
        event(
            &id("demo-ev-katherine-demo-set"),
            "demo_set",
            "contact",
            &id("app-contact-katherine"),
            now,
            json!({
                "first_name": "Katherine", "last_name": "Johnson",
                "email": "katherine@orbits.example", "phone": "+1 757 555 0110",
                "company_name": "Orbital Mechanics Inc.", "city": "Hampton",
                "phase": "HeldPhase", "previous_phase": "ColdCallDM", "demo_at": demo_at
            }),
        ),
        sale,
        event(
            &format!("{INVALID_EVENT_ID}-{run}"),
            "create",
            "contact",
            &id("app-contact-long-company"),
            now,
            json!({
                "first_name": "Lin", "last_name": "Long", "email": "lin@long.example",
                "phone": "+1 415 555 0177",
                "company_name": format!("Very Long Holdings {}", "and Subsidiaries ".repeat(16))
            }),
        ),
    ];
    let later = vec![
        event(
            &format!("{UPDATE_EVENT_ID}-{run}"),
            "update",
            "contact",
            &id("app-contact-ada"),
            now + chrono::Duration::seconds(1),
            json!({
                "first_name": "Ada", "last_name": "Lovelace", "email": "ada@engines.example",
                "phone": "+44 20 7946 0100", "company_name": "Analytical Engines",
                "city": "London", "title": "Lead Analyst"
            }),
        ),
        event(
            &id("demo-ev-alan-update"),
            "update",
            "contact",
            &id("app-contact-alan"),
            now + chrono::Duration::seconds(1),
            json!({
                "first_name": "Alan", "last_name": "Turing", "email": "alan@bletchley.example",
                "phone": "+44 1908 640404", "company_name": "Bletchley Labs",
                "city": "Wilmslow"
            }),
        ),
    ];
    (first, later)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_invalid_event_really_exceeds_255_characters_and_ids_are_unique() {
        let (first, later) = demo_events(Utc::now(), "r1");
        let events: Vec<Value> = first.into_iter().chain(later).collect();
        let invalid = events
            .iter()
            .find(|e| {
                e["event_id"]
                    .as_str()
                    .unwrap()
                    .starts_with(INVALID_EVENT_ID)
            })
            .unwrap();
        assert!(invalid["fields"]["company_name"].as_str().unwrap().len() > 255);
        let mut ids: Vec<_> = events.iter().map(|e| e["event_id"].clone()).collect();
        ids.sort_by_key(|v| v.to_string());
        ids.dedup();
        assert_eq!(ids.len(), events.len());
        for e in &events {
            let parsed: crmsync_core::event::AppEvent = serde_json::from_value(e.clone()).unwrap();
            parsed.validate().unwrap();
        }
    }
}
