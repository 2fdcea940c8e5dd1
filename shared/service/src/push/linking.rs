//! Links written after a push's Salesforce write.

use crmsync_core::outbound::LinkUpdate;
use crmsync_store::{Connection, Link};

use crate::app::App;
use crate::error::ServiceError;
use crate::links::link_app_key;

/// Links the app record to the record just written (an existing link to another record
/// moves to this one: [`crate::links::link_record`]).
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
    };
    crate::links::link_record(app, &link).await
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
