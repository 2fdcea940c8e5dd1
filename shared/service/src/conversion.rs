//! Lead conversion on crmsync's side: a person's links follow its Lead into the Contact
//! (and Account and Opportunity) it became, whoever converted it, and the change feed
//! says so. The push converts first ([`crate::push`]); the poll notices conversions made
//! in Salesforce ([`apply_converted_lead`]). No app record is created either way.
//!
//! Relied on: a converted Lead has `IsConverted` true and `ConvertedAccountId`,
//! `ConvertedContactId`, `ConvertedOpportunityId` (null without one) set, is read-only
//! (`CANNOT_UPDATE_CONVERTED_LEAD`), and its conversion moves its `SystemModstamp`, so
//! the poll reads it again (SOAP API Developer Guide, `convertLead()`; Object Reference,
//! Lead).

use std::collections::BTreeMap;

use crmsync_core::conversion::{Converted, links_after};
use crmsync_core::types::Link as CoreLink;
use crmsync_salesforce::SfClient;
use crmsync_store::{ChangeKind, Connection, Link, LinkCreate, NewChange};
use serde_json::{Map, Value, json};

use crate::app::App;
use crate::error::ServiceError;
use crate::links::{link_app_key, link_by_sf_id, links_of};
use crate::runs::RunSummary;

/// The person app object: conversion only concerns contacts (people).
const PERSON: &str = "contact";

/// Lead fields that tell a conversion; the poll selects them with the mapped ones.
pub const CONVERSION_FIELDS: [&str; 4] = [
    "IsConverted",
    "ConvertedAccountId",
    "ConvertedContactId",
    "ConvertedOpportunityId",
];

/// What a converted Lead's fields say it became; `None` when it is not converted.
pub fn converted_of(fields: &Map<String, Value>) -> Option<Converted> {
    let text = |f: &str| {
        fields
            .get(f)
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .map(crmsync_core::sfid::canonical)
    };
    if fields.get("IsConverted") != Some(&Value::Bool(true)) {
        return None;
    }
    Some(Converted {
        lead_id: text("Id")?,
        account_id: text("ConvertedAccountId"),
        contact_id: text("ConvertedContactId")?,
        opportunity_id: text("ConvertedOpportunityId"),
    })
}

/// Reads what a Lead became (one API call): for a conversion whose answer was lost.
pub async fn read_converted(
    client: &SfClient,
    lead_id: &str,
) -> Result<Option<Converted>, ServiceError> {
    let mut fields = vec!["Id"];
    fields.extend(CONVERSION_FIELDS);
    let lead = client.get("Lead", lead_id, &fields).await?;
    Ok(converted_of(&lead.fields))
}

/// Moves person `app_id`'s links from its Lead to what the Lead became: the Account and
/// Opportunity first, then the change-feed entry (`source`: `crmsync` or `salesforce`),
/// then the Contact, then drops the Lead link. A person linked to a Lead and to no Contact
/// is converted again, so a crash before the Contact link repeats the move (the
/// conversion itself answers `CANNOT_UPDATE_CONVERTED_LEAD` and is read back). A record already linked
/// to another app record is left to it, and so is everything when the Contact is.
pub async fn move_links(
    app: &App,
    conn: &Connection,
    app_id: &str,
    links: &BTreeMap<String, CoreLink>,
    converted: &Converted,
    source: &str,
) -> Result<BTreeMap<String, CoreLink>, ServiceError> {
    let now = app.now();
    let lead_link = links.get("Lead");
    let mut moved = links.clone();
    let mut kept_elsewhere = Vec::new();
    let mut contact = None;
    // The Contact already belongs to another app record (two were linked to this Lead, and
    // the other followed the conversion first): what the Lead became is that record's.
    let contact_elsewhere = link_by_sf_id(app, &conn.tenant, &conn.id, &converted.contact_id)
        .await?
        .is_some_and(|other| {
            !(other.app_id == app_id && other.app_object == link_app_key(PERSON, "Contact"))
        });
    for (object, sf_id) in links_after(links, converted) {
        let elsewhere = contact_elsewhere
            || link_by_sf_id(app, &conn.tenant, &conn.id, &sf_id)
                .await?
                .is_some_and(|other| {
                    !(other.app_id == app_id && other.app_object == link_app_key(PERSON, object))
                });
        if elsewhere {
            kept_elsewhere.push(object);
            continue;
        }
        // The Contact holds the Lead's values (a conversion copies them): it starts from
        // the Lead link's hashes, so they are not fed back to the app as changes.
        let (hashes, times) = match (object, lead_link) {
            ("Contact", Some(l)) => (
                l.hashes.clone(),
                crmsync_store::LinkTimes {
                    pending: Default::default(),
                    ..crate::links::store_times(&l.times)
                },
            ),
            _ => Default::default(),
        };
        let link = Link {
            tenant: conn.tenant.clone(),
            connection: conn.id.clone(),
            app_object: link_app_key(PERSON, object),
            app_id: app_id.to_string(),
            sf_object: object.to_string(),
            sf_id: sf_id.clone(),
            hashes: hashes.clone(),
            times: times.clone(),
            created_at: now,
            updated_at: now,
            version: 0,
        };
        let core = CoreLink {
            salesforce_id: sf_id,
            hashes,
            times: crate::links::core_times(&times),
        };
        if object == "Contact" {
            // Written after the change-feed entry: until it is, the person still needs
            // converting, so a retry after a crash repeats the move and the entry.
            contact = Some((link, core));
            continue;
        }
        let core = link_moved(app, &link, core).await?;
        moved.insert(object.to_string(), core);
    }
    let payload = json!({
        "action": "convert",
        "app_object": PERSON,
        "app_id": app_id,
        "sf_object": "Lead",
        "lead_id": converted.lead_id,
        "contact_id": converted.contact_id,
        "account_id": converted.account_id,
        "opportunity_id": converted.opportunity_id,
        "linked_elsewhere": kept_elsewhere,
        "source": source,
    });
    app.stores
        .changes
        .append(
            &conn.tenant,
            vec![NewChange {
                connection: conn.id.clone(),
                object: "Lead".into(),
                sf_id: converted.lead_id.clone(),
                app_id: Some(app_id.to_string()),
                kind: ChangeKind::Convert,
                payload,
            }],
        )
        .await?;
    if let Some((link, core)) = contact {
        let core = link_moved(app, &link, core).await?;
        moved.insert("Contact".to_string(), core);
    }
    app.stores
        .links
        .delete(
            &conn.tenant,
            &conn.id,
            &link_app_key(PERSON, "Lead"),
            app_id,
        )
        .await?;
    moved.remove("Lead");
    Ok(moved)
}

/// Links the person to a record its Lead became, unless it is linked to that very record
/// already: that link stands, and is returned. It was made by a move that ran first (a
/// second push worker's, or the poll's noticing the conversion while a push moved it),
/// and pushes since may have written newer values over the Lead's. Rewritten with the
/// Lead link's hashes, it made the next poll take crmsync's own write for a Salesforce
/// user's edit, fed it to the app and let it win over the app's next change (sim deals
/// seed 1999).
async fn link_moved(app: &App, link: &Link, core: CoreLink) -> Result<CoreLink, ServiceError> {
    match app.stores.links.create_if_absent(link).await? {
        LinkCreate::Created(_) => Ok(core),
        LinkCreate::Existing(existing)
            if crmsync_core::sfid::same_id(&existing.sf_id, &link.sf_id) =>
        {
            Ok(crate::links::core_link(&existing))
        }
        LinkCreate::Existing(_) => {
            crate::links::link_record(app, link).await?;
            Ok(core)
        }
    }
}

/// A polled Lead that is converted: its person's links move (no app record is made and
/// no Lead values are fed). An unlinked converted Lead is skipped: the Contact it became
/// comes in through the Contact poll. Returns false when `fields` is not a converted Lead.
pub async fn apply_converted_lead(
    app: &App,
    conn: &Connection,
    fields: &Map<String, Value>,
    run: &mut RunSummary,
) -> Result<bool, ServiceError> {
    let Some(converted) = converted_of(fields) else {
        return Ok(false);
    };
    let link = link_by_sf_id(app, &conn.tenant, &conn.id, &converted.lead_id).await?;
    match link {
        Some(l) if l.app_object == link_app_key(PERSON, "Lead") => {
            let links = links_of(app, &conn.tenant, &conn.id, PERSON, &l.app_id).await?;
            move_links(app, conn, &l.app_id, &links, &converted, "salesforce").await?;
            run.stats("Lead").updated += 1;
        }
        _ => {
            run.stats("Lead").unchanged += 1;
        }
    }
    Ok(true)
}
