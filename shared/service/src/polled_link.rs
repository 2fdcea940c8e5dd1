//! The poll's link write after it fed a record's values to the app, conditional on the
//! version it read ([`crmsync_store::LinkStore::update_synced_if`]).
//!
//! A push may write the link between the poll's read and this write (the race of sim
//! people seed 2812 in the other order). Written unconditionally, the poll's link would
//! replace the push's. Now the poll
//! re-reads and merges: its own fields over the newer link where the push left them as
//! the poll read them; a field the push wrote too loses its hash, because the value the
//! poll fed may be older than what the push put in Salesforce, so the next poll reads the
//! record as changed and feeds Salesforce's value again (the push's write moved
//! `SystemModstamp` past this poll's read).

use std::collections::BTreeMap;

use crmsync_store::{Connection, Link, LinkTimes, StoreError};

use crate::app::App;
use crate::error::ServiceError;

/// Conditional writes tried before giving up (the run reports the error; the next poll
/// reads the record again).
const ATTEMPTS: usize = 3;

/// Writes the poll's `hashes` and `times` (decided on `read`) over the link.
pub(crate) async fn write(
    app: &App,
    connection: &Connection,
    read: &Link,
    hashes: BTreeMap<String, String>,
    times: LinkTimes,
) -> Result<(), ServiceError> {
    let links = &app.stores.links;
    let (mut next_hashes, mut next_times, mut version) =
        (hashes.clone(), times.clone(), read.version);
    for _ in 0..ATTEMPTS {
        let written = links
            .update_synced_if(
                &connection.tenant,
                &connection.id,
                &read.app_object,
                &read.app_id,
                version,
                next_hashes.clone(),
                next_times.clone(),
            )
            .await;
        match written {
            Ok(_) => return Ok(()),
            Err(e) if e.is_conflict() => {}
            Err(e) => return Err(e.into()),
        }
        let Some(current) = links
            .get_by_app(
                &connection.tenant,
                &connection.id,
                &read.app_object,
                &read.app_id,
            )
            .await?
        else {
            // Unlinked meanwhile: nothing to record.
            return Ok(());
        };
        (next_hashes, next_times) = merged(read, &hashes, &times, &current);
        version = current.version;
    }
    Err(StoreError::Conflict(format!(
        "link {}/{} keeps changing",
        read.app_object, read.app_id
    ))
    .into())
}

/// The poll's changes (from `read` to `hashes`/`times`) applied over `current`.
fn merged(
    read: &Link,
    hashes: &BTreeMap<String, String>,
    times: &LinkTimes,
    current: &Link,
) -> (BTreeMap<String, String>, LinkTimes) {
    let mut out_hashes = current.hashes.clone();
    let mut out_times = current.times.clone();
    let fields = hashes.keys().chain(read.hashes.keys());
    for field in fields {
        let polled = hashes.get(field);
        if polled == read.hashes.get(field) || current.hashes.get(field) == polled {
            continue;
        }
        if current.hashes.get(field) == read.hashes.get(field) {
            match polled {
                Some(h) => out_hashes.insert(field.clone(), h.clone()),
                None => out_hashes.remove(field),
            };
            if let Some(change) = times.salesforce.get(field) {
                out_times.salesforce.insert(field.clone(), *change);
            }
        } else {
            out_hashes.remove(field);
        }
    }
    if current.times.refused == read.times.refused {
        out_times.refused = times.refused.clone();
    }
    (out_hashes, out_times)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn link(title: &str, phone: &str, version: u64) -> Link {
        let now = chrono::Utc::now();
        Link {
            tenant: crmsync_store::TenantId::new("t1").unwrap(),
            connection: crmsync_store::ConnectionId::new("c1").unwrap(),
            app_object: "contact.Lead".into(),
            app_id: "a1".into(),
            sf_object: "Lead".into(),
            sf_id: "00Q000000000001AAA".into(),
            hashes: BTreeMap::from([
                ("Title".to_string(), title.to_string()),
                ("Phone".to_string(), phone.to_string()),
            ]),
            times: LinkTimes::default(),
            created_at: now,
            updated_at: now,
            version,
        }
    }

    #[test]
    fn a_field_the_push_wrote_too_is_forgotten_and_the_polls_other_fields_kept() {
        let read = link("t-old", "p-old", 1);
        // The poll fed both fields; the push then wrote the app's Title.
        let polled = link("t-sf", "p-sf", 1);
        let current = link("t-app", "p-old", 2);
        let (hashes, _) = merged(&read, &polled.hashes, &LinkTimes::default(), &current);
        assert_eq!(hashes.get("Title"), None);
        assert_eq!(hashes.get("Phone").map(String::as_str), Some("p-sf"));
    }
}
