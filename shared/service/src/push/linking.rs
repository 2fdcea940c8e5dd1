//! Links written after a push's Salesforce write.

use crmsync_core::outbound::LinkUpdate;
use crmsync_store::{Connection, Link, LinkCreate};

use crate::app::App;
use crate::error::ServiceError;
use crate::links::link_app_key;

/// Links the app record to the record just written (an existing link to another record
/// moves to this one: [`crate::links::link_record`]).
///
/// The link of the same record is written only over the version read just before
/// ([`crmsync_store::LinkStore::update_synced_if`]): a poll may have fed the app a
/// Salesforce value of a field this write overwrote, after the plan read the link (sim
/// people seed 2812). Written unconditionally, the push's link replaced the poll's and the
/// app kept Salesforce's old value; now the push finds the poll's feed on the link, tells
/// the app its value back ([`told_back_since_planned`]) and keeps the poll's times.
pub(crate) async fn write_link(
    app: &App,
    conn: &Connection,
    sf_object: &str,
    sf_id: &str,
    update: &LinkUpdate,
) -> Result<(), ServiceError> {
    super::restate::tell_app(app, conn, sf_object, sf_id, update).await?;
    let key = link_app_key(update.app_object.as_str(), sf_object);
    let now = app.now();
    let link = Link {
        tenant: conn.tenant.clone(),
        connection: conn.id.clone(),
        app_object: key,
        app_id: update.app_id.clone(),
        sf_object: sf_object.to_string(),
        // Every link is keyed by the 18-character id the poll and the sweep see.
        sf_id: crmsync_core::sfid::canonical(sf_id),
        hashes: update.hashes.clone(),
        // The write's result is linked: nothing of it is pending any more.
        times: crmsync_store::LinkTimes {
            pending: Default::default(),
            ..crate::links::store_times(&update.times)
        },
        created_at: now,
        updated_at: now,
        version: 0,
    };
    let links = &app.stores.links;
    let mut current = match links.create_if_absent(&link).await? {
        LinkCreate::Created(_) => return Ok(()),
        LinkCreate::Existing(existing) => existing,
    };
    // A race lost here means another poll landed in between: re-read and merge again.
    for _ in 0..LINK_WRITE_ATTEMPTS {
        if !crmsync_core::sfid::same_id(&current.sf_id, &link.sf_id) {
            return crate::links::link_record(app, &link).await;
        }
        let mut times = link.times.clone();
        merge_feed_times(&mut times, &current.times);
        let told = told_back_since_planned(update, &current);
        if !told.is_empty() {
            let back = LinkUpdate {
                restate: told.values().cloned().collect(),
                ..update.clone()
            };
            super::restate::tell_app(app, conn, sf_object, sf_id, &back).await?;
            for field in told.keys() {
                times.fed.insert(field.clone(), now);
            }
        }
        let written = links
            .update_synced_if(
                &conn.tenant,
                &conn.id,
                &link.app_object,
                &link.app_id,
                current.version,
                link.hashes.clone(),
                times,
            )
            .await;
        match written {
            Ok(_) => return Ok(()),
            Err(e) if e.is_conflict() => {}
            Err(e) => return Err(e.into()),
        }
        current = match links
            .get_by_app(&conn.tenant, &conn.id, &link.app_object, &link.app_id)
            .await?
        {
            Some(l) => l,
            // Unlinked meanwhile (a deletion): link the record written.
            None => return crate::links::link_record(app, &link).await,
        };
    }
    Err(crmsync_store::StoreError::Conflict(format!(
        "link {}/{} keeps changing",
        link.app_object, link.app_id
    ))
    .into())
}

/// Conditional link writes tried before giving up (the event is retried).
const LINK_WRITE_ATTEMPTS: usize = 3;

/// App values (app field → value) to tell back because `current` shows the feed
/// delivered a value of their field at or after the app's change, which the plan's link
/// did not (those are in `update.restate` already).
fn told_back_since_planned(
    update: &LinkUpdate,
    current: &Link,
) -> std::collections::BTreeMap<String, (String, serde_json::Value)> {
    let current = crate::links::core_link(current);
    update
        .restatable
        .iter()
        .filter(|(_, r)| !update.restate.contains_key(&r.app_field))
        .filter_map(|(field, r)| {
            let at = update.times.app.get(field)?.at;
            crmsync_core::outbound::restated_on(&current, field, at)
                .then(|| (field.clone(), (r.app_field.clone(), r.value.clone())))
        })
        .collect()
}

/// Keeps what a racing poll recorded on the link: the later Salesforce change and the
/// later value told to the app of each field.
fn merge_feed_times(times: &mut crmsync_store::LinkTimes, current: &crmsync_store::LinkTimes) {
    for (field, change) in &current.salesforce {
        let newer = times
            .salesforce
            .get(field)
            .is_none_or(|c| c.synced_at < change.synced_at);
        if newer {
            times.salesforce.insert(field.clone(), *change);
        }
    }
    for (field, at) in &current.fed {
        let newer = times.fed.get(field).is_none_or(|t| t < at);
        if newer {
            times.fed.insert(field.clone(), *at);
        }
    }
    times.linked_by_event_at = times.linked_by_event_at.max(current.linked_by_event_at);
}

/// Records, before an update is sent, the hashes of the values it writes, so that a poll
/// finding them in Salesforce knows the write as crmsync's own even if linking its result
/// fails afterwards (and the event is redelivered).
pub(super) async fn mark_pending<'a>(
    app: &App,
    conn: &Connection,
    sf_object: &str,
    update: &LinkUpdate,
    written_fields: impl Iterator<Item = &'a String>,
) -> Result<(), ServiceError> {
    let key = link_app_key(update.app_object.as_str(), sf_object);
    let Some(existing) = app
        .stores
        .links
        .get_by_app(&conn.tenant, &conn.id, &key, &update.app_id)
        .await?
    else {
        return Ok(());
    };
    let mut times = existing.times.clone();
    for field in written_fields {
        if let Some(hash) = update.hashes.get(field) {
            times.pending.insert(field.clone(), hash.clone());
        }
    }
    if times == existing.times {
        return Ok(());
    }
    app.stores
        .links
        .update_synced(
            &conn.tenant,
            &conn.id,
            &key,
            &update.app_id,
            existing.hashes,
            times,
        )
        .await?;
    Ok(())
}
