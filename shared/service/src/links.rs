//! How links are keyed in the store. One app record can be linked to several Salesforce
//! records (a contact to its Lead, then its Contact, its Account and its Opportunity), so
//! the store's `app_object` key carries both sides: `contact.Lead`, `contact.Account`.

use std::collections::BTreeMap;

use crmsync_core::types::{FieldChange as CoreChange, Link as CoreLink, LinkTimes as CoreTimes};
use crmsync_store::{ConnectionId, TenantId};

use crate::app::App;
use crate::error::ServiceError;

/// Salesforce objects an app record may be linked to.
pub const LINKABLE_OBJECTS: [&str; 5] = ["Lead", "Contact", "Account", "Opportunity", "Task"];

pub fn link_app_key(app_object: &str, sf_object: &str) -> String {
    format!("{app_object}.{sf_object}")
}

/// The app object part of a stored link key.
pub fn app_object_of(key: &str) -> &str {
    key.split_once('.').map_or(key, |(a, _)| a)
}

/// An app record's links, by Salesforce object, in the core's shape.
pub async fn links_of(
    app: &App,
    tenant: &TenantId,
    connection: &ConnectionId,
    app_object: &str,
    app_id: &str,
) -> Result<BTreeMap<String, CoreLink>, ServiceError> {
    let mut out = BTreeMap::new();
    for sf_object in LINKABLE_OBJECTS {
        let key = link_app_key(app_object, sf_object);
        if let Some(link) = app
            .stores
            .links
            .get_by_app(tenant, connection, &key, app_id)
            .await?
        {
            out.insert(
                sf_object.to_string(),
                CoreLink {
                    salesforce_id: link.sf_id,
                    hashes: link.hashes,
                    times: core_times(&link.times),
                },
            );
        }
    }
    Ok(out)
}

/// A stored link in the core's shape.
pub fn core_link(link: &crmsync_store::Link) -> CoreLink {
    CoreLink {
        salesforce_id: link.sf_id.clone(),
        hashes: link.hashes.clone(),
        times: core_times(&link.times),
    }
}

/// The store's change times in the core's shape (same fields; the store knows no core types).
pub fn core_times(t: &crmsync_store::LinkTimes) -> CoreTimes {
    let map = |m: &BTreeMap<String, crmsync_store::FieldChange>| {
        m.iter()
            .map(|(k, c)| {
                let c = CoreChange {
                    at: c.at,
                    synced_at: c.synced_at,
                };
                (k.clone(), c)
            })
            .collect()
    };
    CoreTimes {
        app: map(&t.app),
        salesforce: map(&t.salesforce),
        owner_locked: t.owner_locked,
        pending: t.pending.clone(),
        fed: t.fed.clone(),
        linked_by_event_at: t.linked_by_event_at,
        refused: t.refused.clone(),
    }
}

/// The core's change times in the store's shape.
pub fn store_times(t: &CoreTimes) -> crmsync_store::LinkTimes {
    let map = |m: &BTreeMap<String, CoreChange>| {
        m.iter()
            .map(|(k, c)| {
                let c = crmsync_store::FieldChange {
                    at: c.at,
                    synced_at: c.synced_at,
                };
                (k.clone(), c)
            })
            .collect()
    };
    crmsync_store::LinkTimes {
        app: map(&t.app),
        salesforce: map(&t.salesforce),
        owner_locked: t.owner_locked,
        pending: t.pending.clone(),
        fed: t.fed.clone(),
        linked_by_event_at: t.linked_by_event_at,
        refused: t.refused.clone(),
    }
}

/// Writes `link`. An existing link of the same app record to another Salesforce record
/// moves to this one (a new demo cycle's Opportunity replaces the last cycle's, so the
/// next sale closes the Opportunity the app is working on), unless a newer app change
/// wrote the existing one: links only move forward in the app's time.
pub async fn link_record(app: &App, link: &crmsync_store::Link) -> Result<(), ServiceError> {
    let existing = match app.stores.links.create_if_absent(link).await? {
        crmsync_store::LinkCreate::Created(_) => return Ok(()),
        crmsync_store::LinkCreate::Existing(existing) => existing,
    };
    if crmsync_core::sfid::same_id(&existing.sf_id, &link.sf_id) {
        let mut times = link.times.clone();
        times.linked_by_event_at = times
            .linked_by_event_at
            .max(existing.times.linked_by_event_at);
        app.stores
            .links
            .update_synced(
                &link.tenant,
                &link.connection,
                &link.app_object,
                &link.app_id,
                link.hashes.clone(),
                times,
            )
            .await?;
    } else if linked_later(&existing.times, &link.times) {
        // Two workers raced on a redelivered batch: an older event's record must not take
        // the link back from the record a newer event linked (the next sale would close
        // the last cycle's Opportunity).
        tracing::info!(
            app_object = link.app_object,
            app_id = link.app_id,
            kept = existing.sf_id,
            older = link.sf_id,
            "link kept: a newer app change linked it"
        );
    } else {
        tracing::info!(
            app_object = link.app_object,
            app_id = link.app_id,
            from = existing.sf_id,
            to = link.sf_id,
            "link moves to the record written for it"
        );
        app.stores
            .links
            .replace(&crmsync_store::Link {
                created_at: existing.created_at,
                // Stored one on from the version moved, so a writer that read it loses.
                version: existing.version,
                ..link.clone()
            })
            .await?;
    }
    Ok(())
}

/// Whether the existing link was made by a newer app event than the one writing `new`.
fn linked_later(existing: &crmsync_store::LinkTimes, new: &crmsync_store::LinkTimes) -> bool {
    matches!(
        (existing.linked_by_event_at, new.linked_by_event_at),
        (Some(e), Some(n)) if e > n
    )
}

/// The link of a Salesforce record, by its id in either form. Links are keyed by the
/// 18-character id; one written before ids were normalised may hold the 15-character form,
/// so a miss retries with it rather than treating a linked record as new.
pub async fn link_by_sf_id(
    app: &App,
    tenant: &TenantId,
    connection: &ConnectionId,
    sf_id: &str,
) -> Result<Option<crmsync_store::Link>, ServiceError> {
    let Ok(id) = crmsync_core::sfid::SfId::parse(sf_id) else {
        return Ok(app
            .stores
            .links
            .get_by_sf_id(tenant, connection, sf_id)
            .await?);
    };
    if let Some(link) = app
        .stores
        .links
        .get_by_sf_id(tenant, connection, id.as_str())
        .await?
    {
        return Ok(Some(link));
    }
    Ok(app
        .stores
        .links
        .get_by_sf_id(tenant, connection, id.short())
        .await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_round_trip_the_app_object() {
        let k = link_app_key("contact", "Lead");
        assert_eq!(k, "contact.Lead");
        assert_eq!(app_object_of(&k), "contact");
        assert_eq!(app_object_of("company"), "company");
    }
}
