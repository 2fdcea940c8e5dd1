//! Push (flow 3): app events from the FIFO queue to Salesforce.
//!
//! Per event: the core plans the writes (rules, triggers, owner and stage maps, pre-flight
//! validation); matching lookups run here; single-record plans are written together with
//! sObject Collections (≤200 a call, per-record outcomes, so one bad record does not hold up
//! the batch); multi-step plans (a sale: Account → Contact → Opportunity → line items) are
//! priced ([`sale`]) and written all or nothing in one composite request ([`atomic`]), then
//! linked, so a redelivery updates instead of creating twice. One report entry per event.
//!
//! This module takes a batch, groups it by connection and gates each group (sync off,
//! reconnect needed, quota); [`plan`] plans and writes a group's events wave by wave,
//! [`singles`] writes single-record plans together, [`atomic`] sends graphs, and
//! [`report`] records each event's outcome.

pub(crate) mod activity;
mod atomic;
mod budget;
mod catch_up;
mod convert;
mod custom_objects;
mod drain;
pub(crate) mod linking;
pub mod owners;
mod plan;
pub(crate) mod prefetch;
mod redelivery;
mod report;
mod restate;
mod sale;
mod singles;
mod steps;
mod upsert;

use budget::Budget;
use linking::write_link;
use plan::{Planned, push_events};
use report::{Verdict, park, report, report_msg};
use singles::Writes;

use std::collections::BTreeMap;

use crmsync_core::event::AppEvent;
use crmsync_store::{ConnectionId, ConnectionStatus, ReportStatus, SyncRun, TenantId};
use serde::Serialize;
use serde_json::{Map, Value};

use crate::app::App;
use crate::config_service;
use crate::error::ServiceError;
use crate::guard;
use crate::messages::{NudgeMessage, PushMessage};

/// The report code of an event older than changes already applied to its record.
pub const SUPERSEDED: &str = "SUPERSEDED";
/// How long report entries are kept.
const REPORT_TTL_DAYS: i64 = 30;

/// One queue message handed to the push worker.
#[derive(Debug, Clone)]
pub struct InboundMessage {
    pub message_id: String,
    pub body: String,
}

/// What happened to one event.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EventOutcome {
    pub event_id: String,
    pub status: ReportStatus,
    pub code: Option<String>,
    pub reason: Option<String>,
    pub sf_id: Option<String>,
}

/// The batch result: per-event outcomes and the messages to redeliver.
#[derive(Debug, Clone, Default, Serialize)]
pub struct BatchOutcome {
    pub outcomes: Vec<EventOutcome>,
    /// Message ids that must be retried (retryable failures, unreadable messages).
    pub retry: Vec<String>,
    pub duplicates: usize,
    pub api_calls: u64,
    /// Outbox chunks pushed (each up to [`drain::CHUNK`] events).
    pub chunks: usize,
}

/// Processes one SQS batch. Never fails as a whole: each message ends reported, retried or
/// (if unreadable) retried until the queue moves it to its dead-letter queue. A batch holds
/// outbox nudges (each connection's outbox is drained once, whatever the number of its
/// nudges) and, from before the outbox, per-event messages (pushed as they are).
pub async fn push_batch(app: &App, messages: Vec<InboundMessage>) -> BatchOutcome {
    let mut out = BatchOutcome::default();
    // Group by connection, keeping queue order within each group.
    let mut groups: BTreeMap<(String, String), Vec<(String, PushMessage)>> = BTreeMap::new();
    let mut nudges: BTreeMap<(String, String), Vec<String>> = BTreeMap::new();
    for m in messages {
        match serde_json::from_str::<PushMessage>(&m.body) {
            Ok(msg) => groups
                .entry((msg.tenant.clone(), msg.connection.clone()))
                .or_default()
                .push((m.message_id, msg)),
            Err(e) => match serde_json::from_str::<NudgeMessage>(&m.body) {
                Ok(n) if n.nudge == NudgeMessage::KIND => nudges
                    .entry((n.tenant, n.connection))
                    .or_default()
                    .push(m.message_id),
                _ => {
                    tracing::error!(message_id = m.message_id, error = %e, "unreadable push message; leaving it for the dead-letter queue");
                    out.retry.push(m.message_id);
                }
            },
        }
    }
    for ((tenant, connection), batch) in groups {
        let mut pricer = sale::Pricer::default();
        let mut window = catch_up::Window::default();
        let shared = (&mut pricer, &mut window);
        push_group(app, &tenant, &connection, batch, shared, &mut out).await;
    }
    for ((tenant, connection), message_ids) in nudges {
        if !drain::drain(app, &tenant, &connection, &mut out).await {
            // Redelivered after the visibility timeout; the FIFO group holds the
            // connection's later nudges behind it, so its order holds.
            out.retry.extend(message_ids);
        }
    }
    out
}

/// What the chunks of one outbox drain share: the price book, and the catch-up read's
/// window (a queue batch has its own of both).
type DrainShared<'a> = (&'a mut sale::Pricer, &'a mut catch_up::Window);

/// Pushes one connection's events (queue order); every event ends in `out` as an outcome,
/// a duplicate or a retry (by its message id).
async fn push_group(
    app: &App,
    tenant: &str,
    connection: &str,
    batch: Vec<(String, PushMessage)>,
    shared: DrainShared<'_>,
    out: &mut BatchOutcome,
) {
    let messages = batch.clone();
    let reported_before = out.outcomes.len();
    let Err(e) = push_connection(app, tenant, connection, batch, shared, out).await else {
        return;
    };
    // Events reported before the failure are done.
    let reported: Vec<String> = out.outcomes[reported_before..]
        .iter()
        .map(|o| o.event_id.clone())
        .collect();
    let unfinished = messages.into_iter().filter(|(message_id, m)| {
        !out.retry.contains(message_id) && !reported.contains(&m.event.event_id)
    });
    let unfinished: Vec<(String, PushMessage)> = unfinished.collect();
    let redeliver = e.is_retryable() || matches!(e, ServiceError::ReconnectNeeded(_));
    tracing::warn!(tenant, connection, error = %e, redeliver, "push group failed");
    if matches!(&e, ServiceError::Salesforce(sf) if sf.is_rate_limited()) {
        // The org's limit resets: park, and the poll replays once the budget has room.
        park_group(app, tenant, connection, unfinished, out).await;
    } else if redeliver {
        // Redelivery is safe: links and report entries make it idempotent; a
        // reconnect-needed redelivery parks the events.
        out.retry
            .extend(unfinished.into_iter().map(|(message_id, _)| message_id));
    } else {
        // Retrying cannot help: report each event (re-push once the cause is fixed)
        // rather than cycling it into the dead-letter queue unseen.
        report_group_failure(app, tenant, connection, unfinished, &e, out).await;
    }
}

/// Reports every unfinished event of a group that failed for good; an event whose report
/// cannot be written is redelivered instead, so nothing is dropped.
async fn report_group_failure(
    app: &App,
    tenant: &str,
    connection: &str,
    unfinished: Vec<(String, PushMessage)>,
    error: &ServiceError,
    out: &mut BatchOutcome,
) {
    let ids = TenantId::new(tenant)
        .ok()
        .zip(ConnectionId::new(connection).ok());
    // Salesforce's reason is the tenant's to see; store and internal details are not.
    let reason = match error {
        ServiceError::Salesforce(_) | ServiceError::InvalidConfig(_) => {
            format!("the push could not run: {error}")
        }
        _ => "the push could not run (internal error); re-push once it is fixed".to_string(),
    };
    for (message_id, msg) in unfinished {
        let written = match &ids {
            Some((t, c)) => {
                report(
                    app,
                    t,
                    c,
                    &msg,
                    Verdict::error().code(error.code()).reason(&reason),
                )
                .await
            }
            None => Err(ServiceError::Internal(
                "invalid tenant or connection".into(),
            )),
        };
        match written {
            Ok(o) => out.outcomes.push(o),
            Err(_) => out.retry.push(message_id),
        }
    }
}

/// Parks every unfinished event of a group that hit `REQUEST_LIMIT_EXCEEDED`; an event
/// that cannot be parked is redelivered instead.
async fn park_group(
    app: &App,
    tenant: &str,
    connection: &str,
    unfinished: Vec<(String, PushMessage)>,
    out: &mut BatchOutcome,
) {
    let conn = match (TenantId::new(tenant), ConnectionId::new(connection)) {
        (Ok(t), Ok(c)) => guard::connection(app, &t, &c).await.ok(),
        _ => None,
    };
    for (message_id, msg) in unfinished {
        // A redelivery of an event already reported (a duplicate) keeps its report.
        if let Some(conn) = &conn
            && matches!(
                already_done(app, &conn.tenant, &conn.id, &msg).await,
                Ok(true)
            )
        {
            continue;
        }
        let parked = match &conn {
            Some(conn) => park(app, conn, &msg, "REQUEST_LIMIT_EXCEEDED", "the org's daily API request limit is used up; the event is parked and replays when it resets").await,
            None => Err(ServiceError::Internal("connection not found".into())),
        };
        match parked {
            Ok(o) => out.outcomes.push(o),
            Err(_) => out.retry.push(message_id),
        }
    }
}

async fn push_connection(
    app: &App,
    tenant: &str,
    connection: &str,
    batch: Vec<(String, PushMessage)>,
    (pricer, window): DrainShared<'_>,
    out: &mut BatchOutcome,
) -> Result<(), ServiceError> {
    let tenant_id = TenantId::new(tenant).map_err(ServiceError::from)?;
    let conn_id = ConnectionId::new(connection).map_err(ServiceError::from)?;
    let Some(conn) = app.stores.connections.get(&tenant_id, &conn_id).await? else {
        for (_, msg) in &batch {
            let o = report(
                app,
                &tenant_id,
                &conn_id,
                msg,
                Verdict::error()
                    .code("NO_CONNECTION")
                    .reason("the connection does not exist"),
            )
            .await?;
            out.outcomes.push(o);
        }
        return Ok(());
    };
    let mut pending = Vec::new();
    // Done before, but the step after the report (custom objects) may not have finished.
    let mut reported = Vec::new();
    for (message_id, msg) in batch {
        if already_done(app, &tenant_id, &conn_id, &msg).await? {
            out.duplicates += 1;
            reported.push(msg);
            continue;
        }
        pending.push((message_id, msg));
    }
    // Events a connection cannot take now are refused (an error with its reason) or
    // parked (replayed once the cause is gone).
    let stop = if !conn.sync_enabled {
        Some((
            Turn::Refuse,
            "SYNC_OFF",
            "the connection's sync is turned off; the event was not sent (turn it on with POST /v1/connections/{c}/sync, then re-push)",
        ))
    } else {
        match conn.status {
            ConnectionStatus::Connected => None,
            ConnectionStatus::ReconnectNeeded => Some((
                Turn::Park,
                "RECONNECT_NEEDED",
                "the connection needs reconnecting; the event is parked and replays after reconnect",
            )),
            ConnectionStatus::Failed => Some((
                Turn::Park,
                "CONNECTION_FAILED",
                "the org refuses API use (see the connection's last_error_code); the event is parked and replays when the connection recovers",
            )),
            ConnectionStatus::Disconnected => Some((
                Turn::Refuse,
                "DISCONNECTED",
                "the connection was disconnected; the event was not sent",
            )),
        }
    };
    if let Some((turn, code, reason)) = stop {
        for (_, msg) in &pending {
            let outcome = if turn == Turn::Park {
                park(app, &conn, msg, code, reason).await?
            } else {
                report(
                    app,
                    &tenant_id,
                    &conn_id,
                    msg,
                    Verdict::error().code(code).reason(reason),
                )
                .await?
            };
            out.outcomes.push(outcome);
        }
        return Ok(());
    }
    // A record with a parked event keeps its order: later events park behind it.
    let held = crate::parked::held_behind_parked(app, &tenant_id, &conn_id, &pending).await?;
    let (behind, pending): (Vec<_>, Vec<_>) = pending
        .into_iter()
        .partition(|(_, m)| held.contains(&m.event.event_id));
    for (_, msg) in &behind {
        out.outcomes.push(
            park(
                app,
                &conn,
                msg,
                "BEHIND_PARKED",
                "an earlier event of this record is parked; this one replays after it",
            )
            .await?,
        );
    }
    if pending.is_empty() && reported.is_empty() {
        return Ok(());
    }
    if guard::quota(app, &conn, pending.len() as u64 * 2)
        .await?
        .paused
    {
        for (_, msg) in &pending {
            out.outcomes.push(park(app, &conn, msg, "QUOTA_PAUSED", "the connection's API budget is spent; the event is parked and replays when it frees up").await?);
        }
        return Ok(());
    }
    let config = config_service::load_or_init(app, &tenant_id, &conn_id)
        .await?
        .config;
    let client = app.salesforce.client(&conn)?;
    let calls_before = client.requests_sent();
    let mut budget = Budget::new(&client);
    let succeeded_before = succeeded(out);
    let outcomes_before = out.outcomes.len();
    let custom = custom_objects::wanted(&config, pending.iter().map(|(_, m)| m).chain(&reported));
    let mut result = push_events(
        app,
        &conn,
        &client,
        &config,
        pending,
        (&mut budget, pricer, window),
        out,
    )
    .await;
    if result.is_ok() && !custom.is_empty() {
        let co = custom_objects::write(app, &conn, &client, &config, custom, &mut budget, out);
        result = co.await;
    }
    // Calls reserved before they were made are booked already.
    let booked_ahead = calls_before + budget.booked;
    guard::book_calls(app, &conn, &client, booked_ahead).await;
    out.api_calls += client.requests_sent().saturating_sub(calls_before);
    if let Err(ServiceError::Salesforce(e)) = &result {
        guard::note_salesforce_error(app, &conn, e).await;
        if e.is_reconnect_needed() {
            // The token refresh marked the connection; the redelivery will park the events.
            return Err(ServiceError::ReconnectNeeded(connection.to_string()));
        }
    }
    if out.outcomes[outcomes_before..]
        .iter()
        .any(|o| o.code.as_deref() == Some("INVALID_FIELD"))
    {
        // The org's schema moved under a cached describe: read it afresh next time, so
        // the missing field's mapping pauses instead of failing every event.
        for (object, _) in config.enabled_objects() {
            client.invalidate_describe(object);
        }
    }
    if result.is_ok() && succeeded(out) > succeeded_before {
        // Health: a push that wrote something is a successful sync too.
        if let Err(e) = guard::note_sync_success(app, &conn, SyncRun::Push).await {
            tracing::warn!(error = %e, "could not record the push on the connection");
        }
    }
    result
}

/// What happens to events a connection cannot take now.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Turn {
    /// Reported as an error with its reason (re-pushable by hand).
    Refuse,
    /// Parked, and replayed once the cause is gone.
    Park,
}

fn succeeded(out: &BatchOutcome) -> usize {
    out.outcomes
        .iter()
        .filter(|o| o.status == ReportStatus::Success)
        .count()
}

/// A redelivered event whose outcome is already recorded (re-push and replay excepted).
async fn already_done(
    app: &App,
    tenant: &TenantId,
    conn: &ConnectionId,
    msg: &PushMessage,
) -> Result<bool, ServiceError> {
    // An operator's re-push runs again whatever the report says; a parked replay does not
    // (the event's own redelivery may have finished it meanwhile).
    if msg
        .repush_id
        .as_deref()
        .is_some_and(|r| !r.starts_with(crate::parked::REPLAY_PREFIX))
    {
        return Ok(false);
    }
    Ok(matches!(
        app.stores.reports.get(tenant, conn, &msg.event.event_id).await?,
        Some(entry) if entry.status != ReportStatus::Parked
    ))
}

fn to_map(fields: &crmsync_core::types::FieldMap) -> Map<String, Value> {
    fields.iter().map(|(k, v)| (k.clone(), v.clone())).collect()
}

/// The event a queue message carries (for tests and tools).
pub fn event_of(body: &str) -> Option<AppEvent> {
    serde_json::from_str::<PushMessage>(body)
        .ok()
        .map(|m| m.event)
}
