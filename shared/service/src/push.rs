//! Push (flow 3): app events from the FIFO queue to Salesforce.
//!
//! Per event: the core plans the writes (rules, triggers, owner and stage maps, pre-flight
//! validation); matching lookups run here; single-record plans are written together with
//! sObject Collections (≤200 a call, per-record outcomes, so one bad record does not hold up
//! the batch); multi-step plans (a sale: Account → Contact → Opportunity → line items) are
//! priced ([`sale`]) and written all or nothing in one composite request ([`atomic`]), then
//! linked, so a redelivery updates instead of creating twice. One report entry per event.

mod atomic;
mod budget;
mod catch_up;
mod convert;
mod drain;
pub(crate) mod linking;
pub mod owners;
mod prefetch;
mod redelivery;
mod report;
mod restate;
mod sale;
mod steps;
mod upsert;

use budget::Budget;
use linking::write_link;
use report::{park, report, report_msg};

use steps::Resolved;

use std::collections::BTreeMap;

use crmsync_core::config::SyncConfig;
use crmsync_core::describe::ObjectDescribe as CoreDescribe;
use crmsync_core::event::AppEvent;
use crmsync_core::outbound::{OutboundContext, OutboundDecision, WriteOp, WritePlan};
use crmsync_salesforce::{SObjectRecord, SfClient, SfError};
use crmsync_store::{Connection, ConnectionId, ConnectionStatus, ReportStatus, SyncRun, TenantId};
use serde::Serialize;
use serde_json::{Map, Value};

use crate::app::App;
use crate::config_service;
use crate::error::ServiceError;
use crate::guard;
use crate::links::links_of;
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
                    ReportStatus::Error,
                    Some(error.code()),
                    Some(&reason),
                    None,
                    &[],
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
                ReportStatus::Error,
                Some("NO_CONNECTION"),
                Some("the connection does not exist"),
                None,
                &[],
            )
            .await?;
            out.outcomes.push(o);
        }
        return Ok(());
    };
    let mut pending = Vec::new();
    for (message_id, msg) in batch {
        if already_done(app, &tenant_id, &conn_id, &msg).await? {
            out.duplicates += 1;
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
                    ReportStatus::Error,
                    Some(code),
                    Some(reason),
                    None,
                    &[],
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
    if pending.is_empty() {
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
    let result = push_events(
        app,
        &conn,
        &client,
        &config,
        pending,
        (&mut budget, pricer, window),
        out,
    )
    .await;
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

/// A planned event waiting for its writes.
struct Planned {
    message_id: String,
    msg: PushMessage,
    plan: WritePlan,
    /// Salesforce ids linked to the event's app record before its writes.
    linked: Vec<String>,
    /// Per step, crmsync's key when its create upserts by it ([`upsert`]).
    keys: Vec<Option<String>>,
}

async fn push_events(
    app: &App,
    conn: &Connection,
    client: &SfClient,
    config: &SyncConfig,
    pending: Vec<(String, PushMessage)>,
    (budget, pricer, window): (&mut Budget, &mut sale::Pricer, &mut catch_up::Window),
    out: &mut BatchOutcome,
) -> Result<(), ServiceError> {
    let describes = describes(client, config).await?;
    let messages: Vec<&PushMessage> = pending.iter().map(|(_, m)| m).collect();
    let owners = owners::directory(app, conn, client, config, &messages).await?;
    catch_up::catch_up(app, conn, client, config, &messages, window).await?;
    // Waves hold at most one event per record, so a record's second event is planned only
    // after its first is written and linked (no double create), in queue order.
    let mut held_back: Vec<String> = Vec::new();
    for wave in waves(pending) {
        let mut ready = Vec::new();
        for (message_id, msg) in wave {
            if held_back.contains(&msg.group_id()) {
                // An earlier event of this record is being retried: keep FIFO order.
                out.retry.push(message_id);
            } else if budget.is_behind_parked(&msg) {
                out.outcomes.push(
                    park(
                        app,
                        conn,
                        &msg,
                        "BEHIND_PARKED",
                        "an earlier event of this record is parked; this one replays after it",
                    )
                    .await?,
                );
            } else {
                ready.push((message_id, msg));
            }
        }
        let retry_before = out.retry.len();
        let groups: Vec<(String, String)> = ready
            .iter()
            .map(|(id, m)| (id.clone(), m.group_id()))
            .collect();
        let ctx = WaveContext {
            describes: &describes,
            owners: &owners,
            pricer: &mut *pricer,
            budget: &mut *budget,
        };
        push_wave(app, conn, client, config, ctx, ready, out).await?;
        for (message_id, group) in groups {
            if out.retry[retry_before..].contains(&message_id) {
                held_back.push(group);
            }
        }
    }
    Ok(())
}

/// Splits pending events into waves: wave k holds each record's k-th event.
fn waves(pending: Vec<(String, PushMessage)>) -> Vec<Vec<(String, PushMessage)>> {
    let mut waves: Vec<Vec<(String, PushMessage)>> = Vec::new();
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    for (message_id, msg) in pending {
        let n = seen.entry(msg.group_id()).or_default();
        if waves.len() <= *n {
            waves.push(Vec::new());
        }
        waves[*n].push((message_id, msg));
        *n += 1;
    }
    waves
}

/// What every wave of a batch shares.
struct WaveContext<'a> {
    describes: &'a BTreeMap<String, CoreDescribe>,
    owners: &'a BTreeMap<String, String>,
    pricer: &'a mut sale::Pricer,
    budget: &'a mut Budget,
}

async fn push_wave(
    app: &App,
    conn: &Connection,
    client: &SfClient,
    config: &SyncConfig,
    wave_ctx: WaveContext<'_>,
    wave: Vec<(String, PushMessage)>,
    out: &mut BatchOutcome,
) -> Result<(), ServiceError> {
    let WaveContext {
        describes,
        owners,
        pricer,
        budget,
    } = wave_ctx;
    let mut single: Vec<Planned> = Vec::new();
    let mut multi: Vec<Planned> = Vec::new();
    let keyed = upsert::Keyed::of(conn);
    let mut to_plan = Vec::new();
    for (message_id, mut msg) in wave {
        // The same event twice in one batch: the earlier wave already reported it.
        if already_done(app, &conn.tenant, &conn.id, &msg).await? {
            out.duplicates += 1;
            continue;
        }
        // Links and the poll compare 18-character ids; the app may send 15.
        if let Err(e) = msg.event.normalize_salesforce_ids(config) {
            out.outcomes.push(
                report(
                    app,
                    &conn.tenant,
                    &conn.id,
                    &msg,
                    ReportStatus::Error,
                    Some("INVALID_ID"),
                    Some(&e.to_string()),
                    None,
                    &[],
                )
                .await?,
            );
            continue;
        }
        let links = links_of(
            app,
            &conn.tenant,
            &conn.id,
            msg.event.app_object.as_str(),
            &msg.event.app_id,
        )
        .await?;
        to_plan.push((message_id, msg, links));
    }
    // People linked as Leads that become Contacts: their Leads are converted first, the
    // wave's conversions together (up to 100 a `convertLead` call).
    let conversions =
        convert::convert_wave(app, conn, client, config, &mut to_plan, budget).await?;
    for ((message_id, msg, links), conversion) in to_plan.into_iter().zip(conversions) {
        match conversion {
            convert::Conversion::Ready => {}
            convert::Conversion::OverBudget => {
                budget.parked(&msg);
                out.outcomes.push(
                    park(
                        app,
                        conn,
                        &msg,
                        budget::BUDGET_SPENT,
                        budget::BUDGET_SPENT_REASON,
                    )
                    .await?,
                );
                continue;
            }
            convert::Conversion::Retry => {
                out.retry.push(message_id);
                continue;
            }
            convert::Conversion::Refused { code, reason } => {
                out.outcomes.push(
                    report(
                        app,
                        &conn.tenant,
                        &conn.id,
                        &msg,
                        ReportStatus::Error,
                        Some(&code),
                        Some(&reason),
                        None,
                        &[],
                    )
                    .await?,
                );
                continue;
            }
        }
        let ctx = OutboundContext {
            config,
            links: &links,
            describes,
            owner_directory: owners,
            now: app.now(),
        };
        match crmsync_core::outbound::plan_outbound(&ctx, &msg.event) {
            OutboundDecision::NoChange { .. } => {
                out.outcomes.push(
                    report(
                        app,
                        &conn.tenant,
                        &conn.id,
                        &msg,
                        ReportStatus::Success,
                        Some("NO_CHANGE"),
                        Some("nothing changed since the last sync"),
                        links.values().next().map(|l| l.salesforce_id.clone()),
                        &[],
                    )
                    .await?,
                );
            }
            OutboundDecision::Superseded { notes } => {
                let notes: Vec<String> = notes
                    .iter()
                    .map(|n| format!("{}: {}", n.field, n.reason))
                    .collect();
                out.outcomes.push(
                    report(
                        app,
                        &conn.tenant,
                        &conn.id,
                        &msg,
                        ReportStatus::Success,
                        Some(SUPERSEDED),
                        Some("newer app changes to this record were already applied"),
                        links.values().next().map(|l| l.salesforce_id.clone()),
                        &notes,
                    )
                    .await?,
                );
            }
            OutboundDecision::Skipped { reason } => {
                out.outcomes.push(
                    report(
                        app,
                        &conn.tenant,
                        &conn.id,
                        &msg,
                        ReportStatus::Success,
                        Some("SKIPPED"),
                        Some(&reason),
                        None,
                        &[],
                    )
                    .await?,
                );
            }
            OutboundDecision::Rejected { errors, plan } => {
                let code = errors.first().map(|e| e.code.as_str().to_string());
                let reason = errors
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join("; ");
                // Reported under the Salesforce object the write was for.
                out.outcomes.push(
                    report_msg(
                        app,
                        conn,
                        &msg,
                        ReportStatus::Error,
                        code.as_deref(),
                        Some(&reason),
                        None,
                        &plan,
                    )
                    .await?,
                );
            }
            OutboundDecision::Write { mut plan } => {
                // A sale is priced before its first write; an unpriceable one writes nothing.
                if let Err(reason) = pricer.price(client, config, &msg.event, &mut plan).await? {
                    out.outcomes.push(
                        report_msg(
                            app,
                            conn,
                            &msg,
                            ReportStatus::Error,
                            Some(sale::UNPRICED),
                            Some(&reason),
                            None,
                            &plan,
                        )
                        .await?,
                    );
                    continue;
                }
                let linked = links.values().map(|l| l.salesforce_id.clone()).collect();
                let keys = keyed.keys(&plan, &msg.event.event_id);
                let planned = Planned {
                    message_id,
                    msg,
                    plan,
                    linked,
                    keys,
                };
                if is_single_direct(&planned.plan) {
                    single.push(planned);
                } else {
                    multi.push(planned);
                }
            }
        }
    }
    // One composite of IN queries for the whole wave's matching lookups (a wave holds one
    // event per record, so no lookup waits for another event's write of the same record).
    let lookups: Vec<_> = single
        .iter()
        .chain(&multi)
        .flat_map(|p| p.plan.steps.iter().flat_map(steps::known_lookups))
        .collect();
    let keys: Vec<_> = single
        .iter()
        .chain(&multi)
        .flat_map(|p| upsert::key_lookups(&p.plan.steps, &p.keys))
        .collect();
    let pre = prefetch::prefetch_with_keys(client, &lookups, &keys).await?;
    // Sales that could match the same record (a shared lookup value, e.g. one company) go
    // in successive rounds, each matching after the previous one wrote, so the second finds
    // the first one's Account instead of creating another.
    let mut tag = 0;
    for (round, sales) in sale_rounds(&multi).into_iter().enumerate() {
        let fresh;
        let round_pre = if round == 0 {
            &pre
        } else {
            let lookups: Vec<_> = sales
                .iter()
                .flat_map(|p| p.plan.steps.iter().flat_map(steps::known_lookups))
                .collect();
            let keys: Vec<_> = sales
                .iter()
                .flat_map(|p| upsert::key_lookups(&p.plan.steps, &p.keys))
                .collect();
            fresh = prefetch::prefetch_with_keys(client, &lookups, &keys).await?;
            &fresh
        };
        let mut ready = Vec::new();
        for planned in sales {
            let writes = Writes {
                pre: round_pre,
                budget: &mut *budget,
            };
            tag += 1;
            match atomic::prepare(app, conn, client, config, planned, tag, writes).await? {
                atomic::Prepared::Done(o) => out.outcomes.push(o),
                atomic::Prepared::Ready(r) => ready.push(r),
            }
        }
        let sent = atomic::send(app, conn, client, ready, budget).await?;
        out.outcomes.extend(sent);
    }
    let writes = Writes { pre: &pre, budget };
    write_singles(app, conn, client, config, single, writes, out).await
}

/// Splits a wave's sales into rounds: a sale sharing a lookup value (object, field, value)
/// with an earlier sale goes in a later round than it; the rest keep queue order.
fn sale_rounds(sales: &[Planned]) -> Vec<Vec<&Planned>> {
    let mut rounds: Vec<Vec<&Planned>> = Vec::new();
    let mut taken: Vec<(std::collections::BTreeSet<String>, usize)> = Vec::new();
    for sale in sales {
        let keys: std::collections::BTreeSet<String> = sale
            .plan
            .steps
            .iter()
            .flat_map(steps::known_lookups)
            .flat_map(|l| {
                l.conditions
                    .iter()
                    .map(|(f, v)| format!("{}\u{1f}{f}\u{1f}{}", l.object, v.to_lowercase()))
            })
            .collect();
        let round = taken
            .iter()
            .filter(|(k, _)| !k.is_disjoint(&keys))
            .map(|(_, r)| r + 1)
            .max()
            .unwrap_or(0);
        if rounds.len() <= round {
            rounds.resize_with(round + 1, Vec::new);
        }
        rounds[round].push(sale);
        taken.push((keys, round));
    }
    rounds
}

/// What a wave's writes share: its matching rows and the batch's budget.
struct Writes<'a> {
    pre: &'a prefetch::Prefetched,
    budget: &'a mut Budget,
}

/// One step that needs no other step's result: it can share a collections call.
fn is_single_direct(plan: &WritePlan) -> bool {
    plan.steps.len() == 1 && plan.steps[0].references.is_empty()
}

/// Writes single-step plans together: matches first, then one collections call per object
/// and operation. Per-record failures are reported without failing the others.
async fn write_singles(
    app: &App,
    conn: &Connection,
    client: &SfClient,
    config: &SyncConfig,
    planned: Vec<Planned>,
    writes: Writes<'_>,
    out: &mut BatchOutcome,
) -> Result<(), ServiceError> {
    let Writes { pre, budget } = writes;
    // (object, is_update) → (index into planned, record)
    let mut batches: BTreeMap<(String, bool), Vec<(usize, SObjectRecord)>> = BTreeMap::new();
    // object → creates that upsert by crmsync's key (index into planned, record)
    let mut keyed: BTreeMap<String, Vec<(usize, SObjectRecord)>> = BTreeMap::new();
    let mut upserts = Vec::new();
    for (i, p) in planned.iter().enumerate() {
        let step = &p.plan.steps[0];
        let fields = to_map(&step.fields);
        if matches!(step.op, WriteOp::Upsert { .. }) {
            upserts.push(i);
            continue;
        }
        let key = match p.keys.first().cloned().flatten() {
            Some(key) if upsert::can_update(client, &step.object, &fields).await? => Some(key),
            _ => None,
        };
        match upsert::resolve(client, config, step, key.as_deref(), &[], pre).await? {
            Resolved::Create => match key {
                Some(key) => keyed.entry(step.object.clone()).or_default().push((
                    i,
                    SObjectRecord::new(step.object.clone(), upsert::keyed_fields(fields, &key)),
                )),
                None => batches
                    .entry((step.object.clone(), false))
                    .or_default()
                    .push((i, SObjectRecord::new(step.object.clone(), fields))),
            },
            Resolved::Existing(id) if fields.is_empty() => {
                if let Some(link) = &step.link {
                    write_link(app, conn, &step.object, &id, link).await?;
                }
                out.outcomes.push(
                    report_msg(
                        app,
                        conn,
                        &p.msg,
                        ReportStatus::Success,
                        Some("NO_CHANGE"),
                        None,
                        Some(id),
                        &p.plan,
                    )
                    .await?,
                );
            }
            Resolved::Existing(id) => batches
                .entry((step.object.clone(), true))
                .or_default()
                .push((
                    i,
                    SObjectRecord::new(step.object.clone(), fields).with_id(id),
                )),
            Resolved::Refused(reason) => out.outcomes.push(
                report_msg(
                    app,
                    conn,
                    &p.msg,
                    ReportStatus::Error,
                    Some("NO_MATCH"),
                    Some(&reason),
                    None,
                    &p.plan,
                )
                .await?,
            ),
        }
    }
    // Creates get write intents; redelivered ones adopt what an earlier attempt committed.
    let adopted = redelivery::prepare_singles(app, conn, client, &planned, &mut batches).await?;
    out.outcomes.extend(adopted);
    // Keyed creates cannot duplicate: an intent (so a second worker waits) but no probe.
    for (i, _) in keyed.values().flatten() {
        redelivery::begin(app, conn, &planned[*i]).await?;
    }
    // The writes' calls, booked before the first is sent; none are sent if they do not fit.
    let calls = upserts.len() as u64
        + batches
            .values()
            .chain(keyed.values())
            .map(|items| budget::collection_calls(items.len()))
            .sum::<u64>();
    if !budget.reserve(app, conn, client, calls).await? {
        let mut waiting: Vec<usize> = upserts.clone();
        for items in batches.values().chain(keyed.values()) {
            waiting.extend(items.iter().map(|(i, _)| *i));
        }
        for i in waiting {
            let msg = &planned[i].msg;
            budget.parked(msg);
            out.outcomes.push(
                park(
                    app,
                    conn,
                    msg,
                    budget::BUDGET_SPENT,
                    budget::BUDGET_SPENT_REASON,
                )
                .await?,
            );
        }
        return Ok(());
    }
    for i in upserts {
        let o = steps::run_plan(app, conn, client, config, &planned[i], None).await?;
        out.outcomes.push(o);
    }
    for ((_object, is_update), items) in batches {
        if is_update {
            for (i, _) in &items {
                let step = &planned[*i].plan.steps[0];
                if let Some(link) = &step.link {
                    linking::mark_pending(app, conn, &step.object, link, step.fields.keys())
                        .await?;
                }
            }
        }
        let records: Vec<SObjectRecord> = items.iter().map(|(_, r)| r.clone()).collect();
        let results = if is_update {
            client.update_records(&records, false).await
        } else {
            client.create_records(&records, false).await
        }
        .map_err(SfError::from)?;
        record_results(app, conn, &planned, &items, results, out).await?;
    }
    for (object, items) in keyed {
        let records: Vec<SObjectRecord> = items.iter().map(|(_, r)| r.clone()).collect();
        let results = client
            .upsert_records(&object, crmsync_core::provision::KEY_FIELD, &records, false)
            .await
            .map_err(SfError::from)?;
        record_results(app, conn, &planned, &items, results, out).await?;
    }
    Ok(())
}

/// Links and reports each record of a collections call by its outcome (a retryable
/// failure is redelivered); clears each reported event's intent.
async fn record_results(
    app: &App,
    conn: &Connection,
    planned: &[Planned],
    items: &[(usize, SObjectRecord)],
    results: Vec<crmsync_salesforce::RecordOutcome>,
    out: &mut BatchOutcome,
) -> Result<(), ServiceError> {
    for ((i, record), result) in items.iter().zip(results) {
        let p = &planned[*i];
        let step = &p.plan.steps[0];
        if result.success {
            let id = result.id.clone().or_else(|| record.id.clone());
            if let (Some(id), Some(link)) = (&id, &step.link) {
                write_link(app, conn, &step.object, id, link).await?;
            }
            out.outcomes.push(
                report_msg(
                    app,
                    conn,
                    &p.msg,
                    ReportStatus::Success,
                    None,
                    None,
                    id,
                    &p.plan,
                )
                .await?,
            );
            redelivery::finish(app, conn, &p.msg.event.event_id).await;
        } else if result.errors.iter().any(|e| e.is_retryable()) {
            out.retry.push(p.message_id.clone());
        } else {
            let code = result.errors.first().map(|e| e.status_code.clone());
            let reason = result
                .errors
                .iter()
                .map(|e| {
                    if e.fields.is_empty() {
                        format!("{}: {}", e.status_code, e.message)
                    } else {
                        format!("{}: {} ({})", e.status_code, e.message, e.fields.join(", "))
                    }
                })
                .collect::<Vec<_>>()
                .join("; ");
            out.outcomes.push(
                report_msg(
                    app,
                    conn,
                    &p.msg,
                    ReportStatus::Error,
                    code.as_deref(),
                    Some(&reason),
                    None,
                    &p.plan,
                )
                .await?,
            );
            redelivery::finish(app, conn, &p.msg.event.event_id).await;
        }
    }
    Ok(())
}

/// Describes of the enabled objects, in the core's shape (for pre-flight checks).
async fn describes(
    client: &SfClient,
    config: &SyncConfig,
) -> Result<BTreeMap<String, CoreDescribe>, ServiceError> {
    let mut out = BTreeMap::new();
    for (object, _) in config.enabled_objects() {
        let d = client.describe(object).await.map_err(|e| {
            if e.is_retryable() || e.is_auth() || e.is_rate_limited() {
                ServiceError::from(e)
            } else {
                // Permanent: the config names an object this org cannot describe.
                ServiceError::InvalidConfig(format!(
                    "enabled object {object} cannot be described in this org: {e}"
                ))
            }
        })?;
        out.insert(object.to_string(), crate::describe::to_core(&d)?);
    }
    Ok(out)
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
