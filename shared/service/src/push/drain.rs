//! The push worker's side of the outbox (README "Batching design"): on a nudge, the
//! connection's outbox is read oldest first in windows of [`WINDOW`] entries and pushed in
//! chunks of up to [`CHUNK`] events (one catch-up read a window, `catch_up::Window`), each chunk
//! pushed by the same pipeline as a queue batch (matching in one composite, collections of
//! up to 200, sales as composite graphs, budget booking, write intents, reports, parking).
//! A window's later chunks are pushed from that one read (one store query a window, not a
//! chunk); an entry a racing worker finished meanwhile is found reported and dropped as a
//! duplicate, as a re-read would have skipped it.
//!
//! An entry is removed only once its event is reported or parked (or it was a repeat of
//! one that was): a worker killed mid-chunk leaves the rest in the outbox, and the nudge,
//! never acknowledged, comes back; reports and write intents make the second attempt write
//! nothing twice. An event that must be retried keeps its entry and fails the nudge, whose
//! redelivery (the queue's visibility timeout later) drains again; the FIFO group holds the
//! connection's later nudges meanwhile, so a record's events still apply in order.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use crmsync_store::{ConnectionId, OutboxEntry, TenantId};

use super::{BatchOutcome, catch_up, push_group, sale};
use crate::app::App;
use crate::error::ServiceError;
use crate::messages::PushMessage;

/// Events per chunk: one sObject Collections call holds 200 records.
pub const CHUNK: usize = 200;
/// Outbox entries read at once: the chunks one catch-up read covers
/// ([`catch_up::WINDOW_CHUNKS`]).
const WINDOW: usize = CHUNK * catch_up::WINDOW_CHUNKS;
/// How long one drain keeps taking chunks before it hands on to a fresh nudge (the push
/// function's timeout is 120 s; a chunk takes a few Salesforce calls).
pub const DRAIN_BUDGET: Duration = Duration::from_secs(60);

/// Drains the connection's outbox. `true` when the nudge is done with (the outbox was empty
/// at the end, or a fresh nudge continues); `false` when it must be redelivered.
pub(super) async fn drain(
    app: &App,
    tenant: &str,
    connection: &str,
    out: &mut BatchOutcome,
) -> bool {
    match drain_outbox(app, tenant, connection, out).await {
        Ok(done) => done,
        Err(e) => {
            tracing::warn!(tenant, connection, error = %e, "outbox drain failed; the nudge is redelivered");
            false
        }
    }
}

/// The message id an outbox entry goes by in [`BatchOutcome::retry`] while it is pushed.
fn message_id(seq: u64) -> String {
    format!("outbox:{seq}")
}

/// What a chunk's entries are: events to push, and repeats of one of them (the app sent
/// the same event twice, or an append was retried).
struct Chunk {
    batch: Vec<(String, PushMessage)>,
    /// (entry, index into `batch` of the event it repeats)
    repeats: Vec<(u64, usize)>,
    /// An entry that does not parse stops the chunk before it (nothing behind it overtakes).
    stopped_at_unreadable: bool,
}

fn read_chunk(entries: &[OutboxEntry]) -> Chunk {
    let mut chunk = Chunk {
        batch: Vec::with_capacity(entries.len()),
        repeats: Vec::new(),
        stopped_at_unreadable: false,
    };
    let mut first_of: std::collections::BTreeMap<(String, Option<String>), usize> =
        Default::default();
    for e in entries {
        let msg = match serde_json::from_str::<PushMessage>(&e.body) {
            Ok(m) => m,
            Err(err) => {
                tracing::error!(seq = e.seq, event_id = e.event_id, error = %err, "unreadable outbox entry; its nudge goes to the dead-letter queue");
                chunk.stopped_at_unreadable = true;
                break;
            }
        };
        let key = (msg.event.event_id.clone(), msg.repush_id.clone());
        match first_of.get(&key) {
            Some(&i) => chunk.repeats.push((e.seq, i)),
            None => {
                first_of.insert(key, chunk.batch.len());
                chunk.batch.push((message_id(e.seq), msg));
            }
        }
    }
    chunk
}

async fn drain_outbox(
    app: &App,
    tenant: &str,
    connection: &str,
    out: &mut BatchOutcome,
) -> Result<bool, ServiceError> {
    let t = TenantId::new(tenant).map_err(ServiceError::from)?;
    let c = ConnectionId::new(connection).map_err(ServiceError::from)?;
    let started = Instant::now();
    // One price book lookup for the whole drain, not one per chunk.
    let mut pricer = sale::Pricer::default();
    loop {
        // A window of chunks, read at once so that one catch-up read covers them all.
        let window_entries = app.stores.outbox.oldest(&t, &c, WINDOW as u32).await?;
        if window_entries.is_empty() {
            return Ok(true);
        }
        let mut window = catch_up::Window::new(readable(&window_entries));
        for entries in window_entries.chunks(CHUNK) {
            if !push_chunk(app, (&t, &c), entries, (&mut pricer, &mut window), out).await? {
                return Ok(false);
            }
            if started.elapsed() >= DRAIN_BUDGET {
                // Hand on before the function's timeout; a fresh nudge continues from here.
                let tag = format!("more-{}", uuid::Uuid::new_v4());
                crate::outbox::nudge(app, &t, &c, &tag).await?;
                return Ok(true);
            }
        }
    }
}

/// The window's events in order, up to its first unreadable entry.
fn readable(entries: &[OutboxEntry]) -> Vec<PushMessage> {
    entries
        .iter()
        .map_while(|e| serde_json::from_str::<PushMessage>(&e.body).ok())
        .collect()
}

/// Pushes one chunk and removes its finished entries. `false` when the drain must stop
/// and its nudge be redelivered (an unreadable entry, or an event to retry).
async fn push_chunk(
    app: &App,
    (t, c): (&TenantId, &ConnectionId),
    entries: &[OutboxEntry],
    (pricer, window): (&mut sale::Pricer, &mut catch_up::Window),
    out: &mut BatchOutcome,
) -> Result<bool, ServiceError> {
    let (tenant, connection) = (t.as_str(), c.as_str());
    let chunk = read_chunk(entries);
    window.take_chunk(entries.len());
    let ids: Vec<String> = chunk.batch.iter().map(|(id, _)| id.clone()).collect();
    let retry_before = out.retry.len();
    if !chunk.batch.is_empty() {
        push_group(app, tenant, connection, chunk.batch, (pricer, window), out).await;
        out.chunks += 1;
    }
    // Outbox entries are no queue messages: their retries stay here.
    let retried: BTreeSet<String> = out.retry.split_off(retry_before).into_iter().collect();
    let done_at = |i: usize| !retried.contains(&ids[i]);
    let mut done: Vec<u64> = ids
        .iter()
        .enumerate()
        .filter(|(i, _)| done_at(*i))
        .filter_map(|(_, id)| id.strip_prefix("outbox:")?.parse().ok())
        .collect();
    done.extend(
        chunk
            .repeats
            .iter()
            .filter(|(_, i)| done_at(*i))
            .map(|(seq, _)| *seq),
    );
    out.duplicates += chunk.repeats.iter().filter(|(_, i)| done_at(*i)).count();
    app.stores.outbox.remove(t, c, &done).await?;
    Ok(!chunk.stopped_at_unreadable && retried.is_empty())
}
