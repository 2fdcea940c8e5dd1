//! Catching up with Salesforce before an update (conflict policy, issue 10).
//!
//! The link knows of Salesforce's changes only from polls. A Salesforce user's edit made
//! after the last poll is unknown to a push, which would write the app's value over it:
//! under `most_recent` and `crm_wins` a lost update when that edit should win (sim seeds with
//! the profile feature `+rules+contested`, e.g. people seed 11). So before planning, a batch
//! reads the linked records whose two-way fields its events change (one `Id IN` query per
//! object) and applies them as a poll would: change-feed entry and link times. Its own
//! not yet written app changes count in that decision, so a Salesforce edit older than
//! (`most_recent`) the app's change is not sent to the app only to be overwritten.
//! `app_wins` skips it: there the app's change wins anyway.
//!
//! Cost: one query per linked object the batch changes (none for creates).

use std::collections::BTreeMap;

use crmsync_core::config::{ConflictPolicy, SyncConfig, SyncRule};
use crmsync_core::transform::parse_datetime;
use crmsync_core::types::FieldChange;
use crmsync_salesforce::SfClient;
use crmsync_salesforce::soql::Condition;
use crmsync_store::Connection;
use futures::StreamExt;

use crate::app::App;
use crate::error::ServiceError;
use crate::messages::PushMessage;
use crate::runs::{RunKind, RunSummary};

/// Linked records to read: object → Salesforce id → the batch's app changes to them.
type Wanted = BTreeMap<String, BTreeMap<String, BTreeMap<String, FieldChange>>>;

pub(super) async fn catch_up(
    app: &App,
    conn: &Connection,
    client: &SfClient,
    config: &SyncConfig,
    messages: &[&PushMessage],
) -> Result<(), ServiceError> {
    if config.conflict_policy == ConflictPolicy::AppWins {
        return Ok(());
    }
    let now = app.now();
    let mut wanted: Wanted = BTreeMap::new();
    // Each linked record's link as read before the Salesforce read (see below).
    let mut read_links: BTreeMap<String, crmsync_core::types::Link> = BTreeMap::new();
    for msg in messages {
        let event = &msg.event;
        let Some(at) = parse_datetime(&event.occurred_at) else {
            continue;
        };
        let links = crate::links::links_of(
            app,
            &conn.tenant,
            &conn.id,
            event.app_object.as_str(),
            &event.app_id,
        )
        .await?;
        for (object, link) in &links {
            let Some(obj) = config.object(object) else {
                continue;
            };
            if !obj.outbound.update || !obj.inbound.update {
                continue;
            }
            let changes: BTreeMap<String, FieldChange> = obj
                .fields
                .iter()
                .filter(|m| m.rule == SyncRule::TwoWay && event.fields.contains_key(&m.app_field))
                .map(|m| {
                    let change = FieldChange { at, synced_at: now };
                    (m.salesforce_field.clone(), change)
                })
                .collect();
            if changes.is_empty() {
                continue;
            }
            read_links
                .entry(link.salesforce_id.clone())
                .or_insert_with(|| link.clone());
            let pending = wanted
                .entry(object.clone())
                .or_default()
                .entry(link.salesforce_id.clone())
                .or_default();
            for (field, change) in changes {
                let newer = pending.get(&field).is_none_or(|c| c.at < change.at);
                if newer {
                    pending.insert(field, change);
                }
            }
        }
    }
    let mut run = RunSummary::new(conn.tenant.as_str(), conn.id.as_str(), RunKind::Poll, now);
    for (object, records) in wanted {
        let ids = records.keys().map(String::as_str);
        let filter = Condition::in_list("Id", ids);
        let soql = crate::poll::select_mapped(
            client,
            config,
            &object,
            Some(filter),
            crate::poll::Shape::Unordered,
        )
        .await?;
        // A link written since it was read, before this read began (another worker's push
        // landed meanwhile), is newer than what the read shows: applying it would take
        // crmsync's own write for a Salesforce change and put the old value back on the
        // link (sim deals seed 795). Compared by content, not by time: with a coarse clock a
        // link written in the same instant, before the read, is no race (a poll's, just
        // before a push that must restate Salesforce's value to the app).
        let mut pages = client.query(soql);
        while let Some(page) = pages.next().await {
            for record in page?.records {
                let Some(id) = record.id() else {
                    continue;
                };
                let id = crmsync_core::sfid::canonical(id);
                let link = crate::links::link_by_sf_id(app, &conn.tenant, &conn.id, &id).await?;
                let now_read = link.as_ref().map(crate::links::core_link);
                let before = read_links
                    .iter()
                    .find(|(k, _)| crmsync_core::sfid::same_id(k, &id))
                    .map(|(_, l)| l);
                if now_read.as_ref() != before {
                    continue;
                }
                let empty = BTreeMap::new();
                let pending = records.get(id.as_str()).unwrap_or(&empty);
                crate::poll::apply_record_with(
                    app,
                    conn,
                    config,
                    &object,
                    &record.fields,
                    pending,
                    &mut run,
                )
                .await?;
            }
        }
    }
    Ok(())
}
