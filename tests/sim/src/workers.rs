//! Worker invocations (push drain, poll, sweep), alone or two at once: a second worker
//! (another Lambda, with its own in-memory caches) joins when the first one's lease expires
//! mid-run, or both refresh an expired token at the same time.

use std::sync::Arc;

use chrono::Duration;
use crmsync_e2e::{PROD_ORG, inbound};
use crmsync_service::push::{self, BatchOutcome};
use crmsync_service::runs::RunSummary;
use crmsync_service::{App, ServiceError, poll, sweep};
use crmsync_store::{
    ConnectionId, ConnectionStatus, QueueKind, ReceivedMessage, StoreError, TenantId,
};
use tokio::sync::Notify;

use crate::faults::{Fault, SfFault};
use crate::invariants::Violation;
use crate::runner::World;
use crate::store_plan::Killable;

/// Which worker a step runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WorkerKind {
    Push,
    Poll,
    Sweep,
}

impl WorkerKind {
    fn name(self) -> &'static str {
        match self {
            WorkerKind::Push => "push worker",
            WorkerKind::Poll => "poll",
            WorkerKind::Sweep => "sweep",
        }
    }

    /// How long a stalled worker of this kind keeps its claim: the push queue's visibility
    /// timeout (embedded: 30 s), the poll lease (5 min), the sweep lease (10 min).
    fn claim(self) -> Duration {
        match self {
            WorkerKind::Push => Duration::seconds(30),
            WorkerKind::Poll => Duration::minutes(5),
            WorkerKind::Sweep => Duration::minutes(10),
        }
    }

    /// The worker that races this one for a token refresh.
    fn other(self) -> WorkerKind {
        match self {
            WorkerKind::Push => WorkerKind::Poll,
            WorkerKind::Poll | WorkerKind::Sweep => WorkerKind::Push,
        }
    }
}

type PushRun = Result<(Vec<ReceivedMessage>, BatchOutcome, usize), StoreError>;

/// How one worker invocation ended (`None` around it: killed).
enum WorkerEnd {
    Push(PushRun),
    Run(Result<RunSummary, ServiceError>),
}

/// One worker invocation of `kind` on `app`; a push worker acknowledges what it does not
/// retry unless `ack` is off (its acknowledgements are lost).
async fn work(
    kind: WorkerKind,
    app: Arc<App>,
    tenant: TenantId,
    conn: ConnectionId,
    ack: bool,
) -> WorkerEnd {
    match kind {
        WorkerKind::Push => WorkerEnd::Push(push_once(&app, ack).await),
        WorkerKind::Poll => WorkerEnd::Run(poll::poll_connection(&app, &tenant, &conn).await),
        WorkerKind::Sweep => WorkerEnd::Run(sweep::sweep_connection(&app, &tenant, &conn).await),
    }
}

async fn push_once(app: &App, ack: bool) -> PushRun {
    let received = app.stores.queues.receive(QueueKind::Push, 10).await?;
    let outcome = push::push_batch(app, inbound(&received)).await;
    let mut acked = 0;
    if ack {
        for m in &received {
            if !outcome.retry.contains(&m.message_id)
                && app
                    .stores
                    .queues
                    .ack(QueueKind::Push, &m.receipt)
                    .await
                    .is_ok()
            {
                acked += 1;
            }
        }
    }
    Ok((received, outcome, acked))
}

/// The second worker of a race, and when it starts.
struct Racer {
    kind: WorkerKind,
    /// Starts once notified (a lease expiry), else at once.
    after: Option<Arc<Notify>>,
}

impl World {
    /// One worker invocation with `fault`, plus the racing second worker the fault asks for.
    /// Returns how many messages the push workers received (0 for polls and sweeps).
    pub(crate) async fn run_worker(&mut self, kind: WorkerKind, fault: Option<Fault>) -> usize {
        // A grant revoked earlier (not noticed yet) fails any refresh: not this run's fault.
        let connected_before = !self.grant_revoked
            && self.stack.connection(crate::runner::CONN).await.status
                == ConnectionStatus::Connected;
        self.arm(&fault);
        let racer = self.racer(kind, &fault);
        let ack = fault != Some(Fault::Redelivery);
        let (tenant, conn) = (
            self.stack.tenant.clone(),
            self.stack.conn(crate::runner::CONN),
        );
        let first = work(kind, self.app.clone(), tenant.clone(), conn.clone(), ack);
        let wake = racer.as_ref().and_then(|r| r.after.clone());
        let first = async {
            let end = Killable::new(first, &self.plan).await;
            // A race whose lease never expired: the second worker runs after the first.
            if let Some(wake) = &wake {
                wake.notify_one();
            }
            end
        };
        let second = async {
            let racer = racer?;
            if let Some(after) = &racer.after {
                after.notified().await;
            }
            Some((
                racer.kind,
                work(racer.kind, self.second_app.clone(), tenant, conn, true).await,
            ))
        };
        let (first, second) = tokio::join!(first, second);
        let killed = self.plan.killed();
        let fired = self.disarm(&fault);
        self.check_after_run(&fault, connected_before).await;
        let text = Self::fault_text(&fault);
        let mut received = self.log_end(kind, first, killed, fired, &text);
        if let Some((kind, end)) = second {
            received += self.log_end(kind, Some(end), false, true, " [the racing worker]");
        }
        received
    }

    /// The racing worker `fault` asks for, armed.
    fn racer(&mut self, kind: WorkerKind, fault: &Option<Fault>) -> Option<Racer> {
        match fault {
            Some(Fault::LeaseExpiryRace { at_call } | Fault::VisibilityExpiryRace { at_call }) => {
                let notify = Arc::new(Notify::new());
                let (clock, sf, wake) = (
                    self.stack.clock.clone(),
                    self.stack.sf.clone(),
                    notify.clone(),
                );
                let stall = kind.claim() + Duration::seconds(1);
                self.plan.arm_trigger(
                    *at_call,
                    Box::new(move || {
                        clock.advance(stall);
                        sf.advance_clock(stall.to_std().expect("forward"));
                        wake.notify_one();
                    }),
                );
                Some(Racer {
                    kind,
                    after: Some(notify),
                })
            }
            Some(Fault::Salesforce(SfFault::RefreshRotationRace)) => Some(Racer {
                kind: kind.other(),
                after: None,
            }),
            _ => None,
        }
    }

    /// After a run whose fault concerns the app's own credentials or token refresh: a
    /// connection `Connected` before must still be (nothing for the tenant to fix).
    async fn check_after_run(&mut self, fault: &Option<Fault>, connected_before: bool) {
        let why = match fault {
            Some(Fault::Salesforce(SfFault::RefreshRotationRace)) => {
                self.stack
                    .sf
                    .set_refresh_rotation(PROD_ORG, false)
                    .expect("org");
                "two workers refreshed a rotating refresh token at once; one refresh must win and the other reuse its tokens"
            }
            Some(Fault::Salesforce(SfFault::ClientSecretRotated)) => {
                // The app now holds the rotated secret: the org accepts the app's again.
                self.stack
                    .sf
                    .set_client_secret(PROD_ORG, sf_emulator::demo::CLIENT_SECRET)
                    .expect("org");
                "Salesforce refused the app's client secret (invalid_client) while it rotated: the app's problem, so connections stay Connected and work retries"
            }
            _ => return,
        };
        let status = self.stack.connection(crate::runner::CONN).await.status;
        if connected_before && status != ConnectionStatus::Connected {
            self.step_violations.push(Violation {
                invariant: 6,
                message: format!(
                    "step {}: the connection is {status:?} after the run: {why}",
                    self.step_no
                ),
            });
        }
    }

    /// Logs how a worker ended; returns how many messages it received.
    fn log_end(
        &mut self,
        kind: WorkerKind,
        end: Option<WorkerEnd>,
        killed: bool,
        fired: bool,
        text: &str,
    ) -> usize {
        let name = kind.name();
        match end {
            None => {
                self.log(format!("{name} killed{text}"));
                // What it had received comes back after the visibility timeout.
                1
            }
            Some(WorkerEnd::Push(Err(_))) => {
                self.log(format!("{name}: receive failed{text}"));
                1
            }
            Some(WorkerEnd::Push(Ok((received, outcome, acked)))) => {
                for m in &received {
                    if let Some(ev) = push::event_of(&m.body) {
                        *self.model.deliveries.entry(ev.event_id).or_default() += 1;
                    }
                }
                // A nudge delivers outboxed events: each one handled counts as delivered.
                if received.iter().any(|m| push::event_of(&m.body).is_none()) {
                    for o in &outcome.outcomes {
                        *self.model.deliveries.entry(o.event_id.clone()).or_default() += 1;
                    }
                }
                let n = received.len();
                if n > 0 || fired {
                    let ids: Vec<String> = received
                        .iter()
                        .filter_map(|m| push::event_of(&m.body).map(|e| e.event_id))
                        .collect();
                    self.log(format!(
                        "{name}: received {ids:?} -> {} acked={acked}{}{text}",
                        crate::runner::outcomes_text(&outcome),
                        if killed { " (killed)" } else { "" }
                    ));
                }
                n
            }
            Some(WorkerEnd::Run(Err(e))) => {
                // The error's code only: messages may carry ids that differ between runs.
                self.log(format!("{name} failed: {}{text}", e.code()));
                0
            }
            Some(WorkerEnd::Run(Ok(run))) => {
                self.last_run_status = Some(run.status);
                self.log(match kind {
                    WorkerKind::Sweep => format!("{name} {:?}{text}", run.status),
                    _ => format!(
                        "{name} {:?}: fetched {} created {} updated {}{text}",
                        run.status,
                        run.total().fetched,
                        run.total().created,
                        run.total().updated
                    ),
                });
                0
            }
        }
    }
}
