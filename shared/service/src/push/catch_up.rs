//! Catching up with Salesforce before an update (conflict policy, issue 10).
//!
//! The link knows of Salesforce's changes only from polls. A Salesforce user's edit made
//! after the last poll is unknown to a push, which would write the app's value over it:
//! under `most_recent` and `crm_wins` a lost update when that edit should win (sim seeds with
//! the profile feature `+rules+contested`, e.g. people seed 11). So before planning, a batch
//! reads the linked records whose two-way fields its events change and applies them as a
//! poll would: change-feed entry and link times. Its own not yet written app changes count
//! in that decision, so a Salesforce edit older than (`most_recent`) the app's change is not
//! sent to the app only to be overwritten. `app_wins` skips it: there the app's change wins
//! anyway.
//!
//! Where the read happens ([`Window`], issue 11): once per outbox *window* (up to
//! [`WINDOW_CHUNKS`] chunks of 200 events, [`read`]), not once per chunk. The first chunk
//! that needs a read also reads the records the window's later chunks change, in one
//! composite request of up to five `Id IN` queries of 200 Ids; a later chunk reads again
//! only records it changes that the window has not read (e.g. one linked by an earlier
//! chunk's create). A chunk's later waves (a record's second event) catch up too: an
//! earlier wave may have linked a record that existed before (a create matching a
//! Salesforce user's Lead, a redelivery adopting its lost create), whose Salesforce edits
//! no read has seen (`+rules+contested`, people seed 215). 1,000 linked updates cost one
//! read, not five. Folding the read into the chunk's matching composite (`prefetch`) was
//! the other way: it saves nothing for a chunk of updates, which has no matching
//! composite. The price: a record pushed in the window's fifth chunk was read up to four
//! chunks' writes earlier (a few seconds) instead of one, so a Salesforce edit in that
//! wider window is still the usual race (as it is between any read and write); the
//! protection against edits no poll has read before the push holds.
//!
//! Leads the batch converts ([`crate::conversion`]) are read whatever their outbound
//! toggle and policy, even when the event changes none of their fields: `convertLead`
//! copies the Lead's values to the Contact, whose link starts from the Lead link's hashes,
//! so an edit no poll has read would reach the app only through a later poll of that
//! Contact, and not at all once a Salesforce user edits or deletes the Contact first (sim
//! deals seeds 108, 704, 987 with Lead updates off). Read here, it is fed as a poll would
//! (the inbound toggle and the policy apply) before the Lead is converted. Relied on:
//! "The system automatically maps standard lead fields to standard account, contact, and
//! opportunity fields"; merged into an existing Contact, "only empty fields in the target
//! object are overwritten" (SOAP API Developer Guide, `convertLead()`).
//!
//! Cost: one call per five linked-object queries a window (none for creates, none under
//! `app_wins` unless the window converts a Lead). In the store,
//! the chunk that reads also looks up the links of the window's later events, which their
//! own chunks look up again (links may have changed since): up to 1,800 link lookups per
//! 1,000 events instead of 1,000.

mod read;

use std::collections::{BTreeMap, BTreeSet};

use crmsync_core::catch_up::pending_changes;
use crmsync_core::config::{ConflictPolicy, SyncConfig};
use crmsync_core::conversion::lead_conversion;
use crmsync_core::transform::parse_datetime;
use crmsync_core::types::FieldChange;
use crmsync_salesforce::SfClient;
use crmsync_store::Connection;

use crate::app::App;
use crate::error::ServiceError;
use crate::messages::PushMessage;
use crate::runs::{RunKind, RunSummary};

/// Outbox chunks one catch-up read covers: five queries of 200 Ids fill one composite
/// request (at most five query subrequests).
pub(crate) const WINDOW_CHUNKS: usize = crmsync_salesforce::COMPOSITE_MAX_QUERIES;

/// Linked records to read: object → Salesforce id → the batch's app changes to them.
type Wanted = BTreeMap<String, BTreeMap<String, BTreeMap<String, FieldChange>>>;

/// Each linked record's link as it was before the Salesforce read (by Salesforce id).
type Snapshots = BTreeMap<String, crmsync_core::types::Link>;

/// What the catch-up knows across the chunks of one outbox window: the events still to be
/// pushed after the current chunk, and the linked records read already.
#[derive(Debug, Default)]
pub(super) struct Window {
    /// The window's events, oldest first; those before `next` are pushed or being pushed.
    events: Vec<PushMessage>,
    next: usize,
    /// (object, Salesforce id) read in this window.
    read: BTreeSet<(String, String)>,
}

impl Window {
    /// A window over these events (the outbox entries read for it, in order).
    pub(super) fn new(events: Vec<PushMessage>) -> Self {
        Window {
            events,
            ..Window::default()
        }
    }

    /// The next `n` events are the chunk being pushed now; only later ones are ahead of it.
    pub(super) fn take_chunk(&mut self, n: usize) {
        self.next = (self.next + n).min(self.events.len());
    }

    fn ahead(&self) -> &[PushMessage] {
        &self.events[self.next..]
    }
}

pub(super) async fn catch_up(
    app: &App,
    conn: &Connection,
    client: &SfClient,
    config: &SyncConfig,
    messages: &[&PushMessage],
    window: &mut Window,
) -> Result<(), ServiceError> {
    // Under `app_wins` the app's changes win anyway: only Leads about to be converted.
    let only_converted = config.conflict_policy == ConflictPolicy::AppWins;
    let now = app.now();
    let (mut wanted, mut snapshots) =
        linked_changes(app, conn, config, (messages, only_converted), now).await?;
    unread(&mut wanted, &window.read);
    if wanted.is_empty() {
        // Every record this chunk changes was read for the window already.
        return Ok(());
    }
    // This chunk needs a read: it covers the window's later chunks too.
    let ahead: Vec<&PushMessage> = window.ahead().iter().collect();
    let (later, later_snapshots) =
        linked_changes(app, conn, config, (&ahead, only_converted), now).await?;
    merge(&mut wanted, later);
    for (id, link) in later_snapshots {
        snapshots.entry(id).or_insert(link);
    }
    unread(&mut wanted, &window.read);
    let ids: BTreeMap<String, Vec<String>> = wanted
        .iter()
        .map(|(object, records)| (object.clone(), records.keys().cloned().collect()))
        .collect();
    let records = read::linked_records(client, config, &ids).await?;
    for (object, ids) in ids {
        window
            .read
            .extend(ids.into_iter().map(|id| (object.clone(), id)));
    }
    apply(app, conn, config, &wanted, &snapshots, records, now).await
}

/// The linked records `messages` change in two-way fields, with those changes, and the
/// Leads they convert (only those with `only_converted`), and their links as read now
/// (before the Salesforce read; see [`apply`]).
async fn linked_changes(
    app: &App,
    conn: &Connection,
    config: &SyncConfig,
    (messages, only_converted): (&[&PushMessage], bool),
    now: chrono::DateTime<chrono::Utc>,
) -> Result<(Wanted, Snapshots), ServiceError> {
    let mut wanted: Wanted = BTreeMap::new();
    let mut read_links: Snapshots = BTreeMap::new();
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
        let converts = lead_conversion(config, &links, event).is_some();
        for (object, link) in &links {
            let Some(obj) = config.object(object) else {
                continue;
            };
            let converted = converts && object == "Lead";
            let updated = obj.outbound.update && !only_converted;
            if !(converted || updated) || !obj.inbound.update {
                continue;
            }
            let change = FieldChange { at, synced_at: now };
            let changes = pending_changes(config, obj, event, link, change);
            if changes.is_empty() && !converted {
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
            merge_changes(pending, changes);
        }
    }
    Ok((wanted, read_links))
}

/// Keeps the newest pending change per field.
fn merge_changes(
    pending: &mut BTreeMap<String, FieldChange>,
    changes: BTreeMap<String, FieldChange>,
) {
    for (field, change) in changes {
        let newer = pending.get(&field).is_none_or(|c| c.at < change.at);
        if newer {
            pending.insert(field, change);
        }
    }
}

fn merge(wanted: &mut Wanted, more: Wanted) {
    for (object, records) in more {
        let into = wanted.entry(object).or_default();
        for (id, changes) in records {
            merge_changes(into.entry(id).or_default(), changes);
        }
    }
}

/// Drops the records read already in this window.
fn unread(wanted: &mut Wanted, read: &BTreeSet<(String, String)>) {
    for (object, records) in wanted.iter_mut() {
        records.retain(|id, _| !read.contains(&(object.clone(), id.clone())));
    }
    wanted.retain(|_, records| !records.is_empty());
}

/// Applies the read records as a poll would, each with the app's pending changes to it.
async fn apply(
    app: &App,
    conn: &Connection,
    config: &SyncConfig,
    wanted: &Wanted,
    snapshots: &Snapshots,
    records: Vec<(String, crmsync_salesforce::Record)>,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<(), ServiceError> {
    let mut run = RunSummary::new(conn.tenant.as_str(), conn.id.as_str(), RunKind::Poll, now);
    let empty = BTreeMap::new();
    for (object, record) in records {
        let Some(id) = record.id() else {
            continue;
        };
        let id = crmsync_core::sfid::canonical(id);
        // A link written since it was read, before this read began (another worker's push
        // landed meanwhile), is newer than what the read shows: applying it would take
        // crmsync's own write for a Salesforce change and put the old value back on the
        // link (sim deals seed 795). Compared by content, not by time: with a coarse clock a
        // link written in the same instant, before the read, is no race (a poll's, just
        // before a push that must restate Salesforce's value to the app).
        let link = crate::links::link_by_sf_id(app, &conn.tenant, &conn.id, &id).await?;
        let now_read = link.as_ref().map(crate::links::core_link);
        let before = snapshots
            .iter()
            .find(|(k, _)| crmsync_core::sfid::same_id(k, &id))
            .map(|(_, l)| l);
        if now_read.as_ref() != before {
            continue;
        }
        let pending = wanted
            .get(&object)
            .and_then(|records| records.get(id.as_str()))
            .unwrap_or(&empty);
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
    Ok(())
}
