//! Telling the app back a value a push wrote over one the change feed gave it.
//!
//! A poll cannot see app changes still queued for push, so it may deliver a Salesforce
//! value that the app's queued change then overwrites (`app_wins` always, `most_recent` when
//! the app's change is newer). The app applied that value over its own change, so after the
//! write the two sides differ (sim `+rules+contested`, people seeds 14, 25, deals seed 53).
//! The core marks such fields on the write's link update ([`LinkUpdate::restate`]); this
//! appends one change-feed entry with the app's values, before the link is written, so a
//! crash in between repeats the entry rather than losing it.

use crmsync_core::outbound::LinkUpdate;
use crmsync_core::types::FieldNote;
use crmsync_store::{ChangeKind, Connection, NewChange};

use crate::app::App;
use crate::error::ServiceError;

/// The note on each field of a restating entry.
pub const RESTATE_NOTE: &str =
    "restated: the app's change was written over this Salesforce value (conflict_policy)";

/// Appends the feed entry for `update.restate`, if any.
pub(super) async fn tell_app(
    app: &App,
    conn: &Connection,
    sf_object: &str,
    sf_id: &str,
    update: &LinkUpdate,
) -> Result<(), ServiceError> {
    if update.restate.is_empty() {
        return Ok(());
    }
    let notes: Vec<FieldNote> = update
        .restate
        .keys()
        .map(|f| FieldNote::new(f.as_str(), RESTATE_NOTE))
        .collect();
    let payload = serde_json::json!({
        "action": "update",
        "app_object": update.app_object.as_str(),
        "app_id": update.app_id,
        "sf_object": sf_object,
        "fields": update.restate,
        "notes": notes,
        "source": "salesforce",
    });
    let entry = NewChange {
        connection: conn.id.clone(),
        object: sf_object.to_string(),
        sf_id: crmsync_core::sfid::canonical(sf_id),
        app_id: Some(update.app_id.clone()),
        kind: ChangeKind::Upsert,
        payload,
    };
    app.stores.changes.append(&conn.tenant, vec![entry]).await?;
    Ok(())
}
