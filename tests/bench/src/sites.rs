//! Multi-site sales (issue 13, item 7): the calls `custom_objects.sites` adds to a batch of
//! sales that each list three locations (one `Site__c` per location under the Account),
//! against the same sales without the config, and for the same sales repeated (every site
//! exists: reads only).

use crmsync_e2e::{Backend, Stack, StackOptions};
use crmsync_store::Environment;
use serde_json::{Value, json};
use sf_emulator::schema::ObjectDef;

use crate::{CONN, Measure, measure, push_all, reset, sale_event};

/// Locations per sale.
pub const LOCATIONS: usize = 3;

/// Calls for the sales without sites, with sites, and the same sales again.
pub struct SitesMeasure {
    pub plain: Measure,
    pub with_sites: Measure,
    pub repeated: Measure,
}

async fn stack(with_sites: bool) -> Stack {
    let site: ObjectDef = serde_json::from_value(json!({"name": "Site__c", "fields": [
        {"name": "Account__c", "type": "reference", "referenceTo": ["Account"]}
    ]}))
    .expect("Site__c definition");
    let options = StackOptions {
        custom_objects: vec![site],
        ..StackOptions::default()
    };
    let s = Stack::start_with(Backend::Embedded, options).await;
    s.connect(CONN, Environment::Production).await;
    if with_sites {
        let sites = json!({"sites": {"object": "Site__c", "parent_field": "Account__c",
                                     "app_list_field": "locations"}});
        s.edit_config(CONN, |c| {
            c.custom_objects = serde_json::from_value(sites).expect("custom_objects config")
        })
        .await;
    }
    s
}

fn sales(s: &Stack, events: usize, round: usize) -> Vec<Value> {
    (0..events)
        .map(|i| {
            let mut e = sale_event(s, &format!("app-site-{i}"), i);
            e["fields"]["locations"] = json!(
                (0..LOCATIONS)
                    .map(|n| format!("Site {i}-{n}"))
                    .collect::<Vec<_>>()
            );
            e["event_id"] = json!(format!("ev-site-{round}-{i}"));
            e
        })
        .collect()
}

/// `events` sales of distinct companies, each with [`LOCATIONS`] locations.
pub async fn sales_with_sites(events: usize) -> SitesMeasure {
    let plain = stack(false).await;
    reset(&plain);
    push_all(&plain, sales(&plain, events, 0)).await;
    let plain = measure(&plain, "sales (no custom_objects)", events);

    let s = stack(true).await;
    reset(&s);
    push_all(&s, sales(&s, events, 0)).await;
    // Measured before the checks' own queries, which the org meters too.
    let with_sites = measure(&s, "sales with 3 sites each", events);
    let sites = s
        .count(crmsync_e2e::PROD_ORG, "Site__c", "Name != null")
        .await;
    assert_eq!(sites, events * LOCATIONS, "one site per location");
    s.advance(chrono::Duration::minutes(1));
    reset(&s);
    push_all(&s, sales(&s, events, 1)).await;
    let repeated = measure(&s, "the same sales again (sites exist)", events);
    let again = s
        .count(crmsync_e2e::PROD_ORG, "Site__c", "Name != null")
        .await;
    assert_eq!(again, sites, "repeated sales create no site");
    SitesMeasure {
        plain,
        with_sites,
        repeated,
    }
}

/// The rows, as Markdown.
pub fn rows(m: &SitesMeasure) -> String {
    [&m.plain, &m.with_sites, &m.repeated]
        .iter()
        .map(|m| {
            format!(
                "| {} | {} events | {} | {:.3} | {:.0} |",
                m.workload,
                m.units,
                m.calls,
                m.per_unit(),
                m.per_1000()
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}
