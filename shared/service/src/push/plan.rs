//! Planning a connection's pending events: waves of one event per record, each event
//! planned by the core against its links and describes, then written: sales and demo sets
//! as composite graphs ([`super::atomic`]), single records together ([`super::singles`]).

use std::collections::BTreeMap;

use crmsync_core::config::SyncConfig;
use crmsync_core::describe::ObjectDescribe as CoreDescribe;
use crmsync_core::outbound::{OutboundContext, OutboundDecision, WritePlan};
use crmsync_core::types::AppObject;
use crmsync_salesforce::SfClient;
use crmsync_store::Connection;

use super::budget::{self, Budget};
use super::singles::{Writes, is_single_direct, write_singles};
use super::{
    BatchOutcome, SUPERSEDED, Verdict, activity, already_done, atomic, catch_up, convert, owners,
    park, prefetch, report, report_msg, sale, steps, upsert,
};
use crate::app::App;
use crate::error::ServiceError;
use crate::links::links_of;
use crate::messages::PushMessage;

/// A planned event waiting for its writes.
pub(super) struct Planned {
    pub(super) message_id: String,
    pub(super) msg: PushMessage,
    pub(super) plan: WritePlan,
    /// Salesforce ids linked to the event's app record before its writes.
    pub(super) linked: Vec<String>,
    /// Per step, crmsync's key when its create upserts by it ([`upsert`]).
    pub(super) keys: Vec<Option<String>>,
}

pub(super) async fn push_events(
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
    for (n, wave) in waves(pending).into_iter().enumerate() {
        if n > 0 {
            // An earlier wave may have linked a record that existed before (a create that
            // matched a Salesforce user's Lead, a redelivered create adopting what its lost
            // response committed): unlinked at the batch's catch-up read, so a Salesforce
            // edit made before the link is unknown to this wave's changes. The window
            // skips the records read already; only newly linked ones are read.
            let messages: Vec<&PushMessage> = wave.iter().map(|(_, m)| m).collect();
            catch_up::catch_up(app, conn, client, config, &messages, window).await?;
        }
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
                    Verdict::error().code("INVALID_ID").reason(e.to_string()),
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
                        Verdict::error().code(&code).reason(&reason),
                    )
                    .await?,
                );
                continue;
            }
        }
        let activity = match msg.event.app_object {
            AppObject::Activity => Some(
                activity::related_links(app, &conn.tenant, &conn.id, config, &msg.event).await?,
            ),
            _ => None,
        };
        let ctx = OutboundContext {
            config,
            links: &links,
            describes,
            owner_directory: owners,
            now: app.now(),
            activity: activity.as_ref(),
        };
        match crmsync_core::outbound::plan_outbound(&ctx, &msg.event) {
            OutboundDecision::NoChange { .. } => {
                out.outcomes.push(
                    report(
                        app,
                        &conn.tenant,
                        &conn.id,
                        &msg,
                        Verdict::success()
                            .code("NO_CHANGE")
                            .reason("nothing changed since the last sync")
                            .maybe_sf_id(links.values().next().map(|l| l.salesforce_id.clone())),
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
                        Verdict::success()
                            .code(SUPERSEDED)
                            .reason("newer app changes to this record were already applied")
                            .maybe_sf_id(links.values().next().map(|l| l.salesforce_id.clone()))
                            .notes(notes),
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
                        Verdict::success().code("SKIPPED").reason(&reason),
                    )
                    .await?,
                );
            }
            OutboundDecision::Waiting { reason } => {
                // Its record's later events in this batch (a re-sent activity) park behind
                // it: written first, they would be overwritten by this one's replay.
                budget.parked(&msg);
                let reason = format!("{reason}; the activity is parked and replays once it is");
                out.outcomes
                    .push(park(app, conn, &msg, activity::WAITING_FOR_LINK, &reason).await?);
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
                        Verdict::error()
                            .maybe_code(code.as_deref())
                            .reason(&reason)
                            .plan(&plan),
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
                            Verdict::error()
                                .code(sale::UNPRICED)
                                .reason(&reason)
                                .plan(&plan),
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
