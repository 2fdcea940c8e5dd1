//! The local stack: the crmsync service wired to embedded (or AWS-at-an-endpoint) stores
//! and to the in-process Salesforce emulator (or a real org), plus the helpers the demo,
//! `crmsync dev` and the end-to-end tests drive it with.
//!
//! Everything goes through the real use cases: the OAuth connect follows the authorize
//! redirect and hands the code to `connect::callback`; events are HMAC-signed and go
//! through `ingest`; the push queue is drained with `push::push_batch` exactly as the
//! Lambda does (ack what is done, leave retries for redelivery).

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use crmsync_service::connect::{self, Connected};
use crmsync_service::ingest::{self, Accepted};
use crmsync_service::links::links_of;
use crmsync_service::messages::{NudgeMessage, PushMessage};
use crmsync_service::poll::{self, TestSegment};
use crmsync_service::push::{self, InboundMessage};
use crmsync_service::runs::{ObjectStats, RunStatus, RunSummary};
use crmsync_service::tenants::{self, IssuedCredentials};
use crmsync_service::{App, AppCredentials, Settings, signing, sweep};
use crmsync_store::{
    AwsClients, Clock, ConnectionId, Environment, ManualClock, QueueKind, ReportStatus, Secret,
    Stores, SystemClock, TenantId,
};
use serde::Serialize;
use sf_emulator::{AdminHandle, Emulator, EmulatorOptions};
use url::Url;

use crate::error::{CliError, CliResult};

/// Where Salesforce is.
#[derive(Debug, Clone)]
pub enum SalesforceTarget {
    /// The emulator's demo org, in process, on `port` (0 = any free port).
    Emulator { port: u16 },
    /// A real org (or an emulator elsewhere): its login host and the connected app.
    External {
        login_url: String,
        sandbox_login_url: Option<String>,
        client_id: String,
        client_secret: Option<Secret>,
    },
}

/// Where state, tokens and queues live.
#[derive(Debug, Clone)]
pub enum StateBackend {
    /// Embedded, in memory only.
    Memory,
    /// Embedded, saved behind to this JSON file.
    File(PathBuf),
    /// DynamoDB, Secrets Manager and SQS at `endpoint` (moto, LocalStack); the table and
    /// queues named `name` are created if missing.
    AwsEndpoint { endpoint: String, name: String },
}

/// Which clock the stores use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClockMode {
    /// A [`ManualClock`] starting now; [`LocalStack::advance`] moves it and the emulator's.
    Manual,
    /// The wall clock (`crmsync dev`).
    System,
}

/// How to build a [`LocalStack`].
#[derive(Debug, Clone)]
pub struct StackOptions {
    pub salesforce: SalesforceTarget,
    pub state: StateBackend,
    pub clock: ClockMode,
    /// The OAuth callback URL given to Salesforce. Default: `http://127.0.0.1:8787/oauth/callback`
    /// (with the emulator nothing listens there: the redirect is read, not followed).
    pub redirect_url: Option<String>,
    /// Records per connection per poll run (`CRMSYNC_POLL_CAP`); default 1000.
    pub poll_cap: Option<usize>,
}

impl StackOptions {
    /// Emulator demo org, in-memory stores, manual clock: the demo and most tests.
    pub fn demo() -> Self {
        Self {
            salesforce: SalesforceTarget::Emulator { port: 0 },
            state: StateBackend::Memory,
            clock: ClockMode::Manual,
            redirect_url: None,
            poll_cap: None,
        }
    }
}

pub const DEFAULT_REDIRECT_URL: &str = "http://127.0.0.1:8787/oauth/callback";
/// The emulator org the stack connects to.
pub const EMULATOR_ORG: &str = sf_emulator::demo::ORG_ALIAS;

/// A running stack. Drop it, or call [`LocalStack::shutdown`] to stop the emulator.
pub struct LocalStack {
    app: Arc<App>,
    emulator: Option<Emulator>,
    manual_clock: Option<Arc<ManualClock>>,
    login_url: String,
}

impl std::fmt::Debug for LocalStack {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LocalStack")
            .field("emulator", &self.emulator)
            .field("login_url", &self.login_url)
            .finish_non_exhaustive()
    }
}

impl LocalStack {
    /// Starts the emulator (if asked), opens the stores and wires the app.
    pub async fn start(opts: StackOptions) -> CliResult<Self> {
        let (emulator, login_url, sandbox_url, credentials) = match &opts.salesforce {
            SalesforceTarget::Emulator { port } => {
                let emu = Emulator::start(EmulatorOptions::demo().port(*port)).await?;
                let login = emu.login_url(EMULATOR_ORG);
                let creds = AppCredentials {
                    client_id: sf_emulator::demo::CLIENT_ID.to_string(),
                    client_secret: Some(sf_emulator::demo::CLIENT_SECRET.to_string()),
                };
                (Some(emu), login.clone(), login, creds)
            }
            SalesforceTarget::External {
                login_url,
                sandbox_login_url,
                client_id,
                client_secret,
            } => {
                Url::parse(login_url)
                    .map_err(|e| CliError::usage("--sf-login-url", e.to_string()))?;
                let creds = AppCredentials {
                    client_id: client_id.clone(),
                    client_secret: client_secret.as_ref().map(|s| s.expose().to_string()),
                };
                let sandbox = sandbox_login_url
                    .clone()
                    .unwrap_or_else(|| login_url.clone());
                (None, login_url.clone(), sandbox, creds)
            }
        };
        let (clock, manual_clock): (Arc<dyn Clock>, _) = match opts.clock {
            ClockMode::Manual => {
                let c = Arc::new(ManualClock::starting_now());
                if let Some(emu) = &emulator {
                    // One "now" for both sides, so getDeleted windows and TTLs line up.
                    // Frozen, like the store's clock: a running emulator clock drifted
                    // ahead by the real time a slow run took, and a deletion then fell
                    // after the sweep's window (a flaky sweep on a loaded machine).
                    emu.admin().freeze_clock(c.now());
                }
                (c.clone(), Some(c))
            }
            ClockMode::System => (Arc::new(SystemClock), None),
        };
        let mut settings = Settings {
            sf_login_url: login_url.clone(),
            sf_sandbox_login_url: sandbox_url,
            oauth_redirect_url: opts
                .redirect_url
                .clone()
                .unwrap_or_else(|| DEFAULT_REDIRECT_URL.to_string()),
            ..Settings::default()
        };
        if let Some(cap) = opts.poll_cap {
            settings.poll_cap = cap.clamp(1, 50_000);
        }
        let stores = match &opts.state {
            StateBackend::Memory => Stores::embedded_with_clock(None, clock).await?,
            StateBackend::File(path) => {
                if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                    tokio::fs::create_dir_all(dir)
                        .await
                        .map_err(|e| CliError::Io {
                            path: dir.display().to_string(),
                            message: e.to_string(),
                        })?;
                }
                Stores::embedded_with_clock(Some(path.clone()), clock).await?
            }
            StateBackend::AwsEndpoint { endpoint, name } => {
                let clients = AwsClients::with_endpoint(endpoint).await;
                let aws = crmsync_store::bootstrap::bootstrap(&clients, name).await?;
                settings.table = aws.table.clone();
                settings.push_queue_url = aws.push_queue_url.clone();
                settings.poll_queue_url = aws.poll_queue_url.clone();
                settings.secret_prefix = aws.secret_prefix.clone();
                Stores::aws_with_clock(&clients, &aws, clock)
            }
        };
        let app = Arc::new(App::new(settings, stores, credentials)?);
        Ok(Self {
            app,
            emulator,
            manual_clock,
            login_url,
        })
    }

    pub fn app(&self) -> &Arc<App> {
        &self.app
    }

    /// The in-process emulator, when the stack runs one.
    pub fn emulator(&self) -> Option<&Emulator> {
        self.emulator.as_ref()
    }

    /// Typed control of the emulator (records, clock, faults, API counters).
    pub fn emulator_admin(&self) -> Option<AdminHandle> {
        self.emulator.as_ref().map(Emulator::admin)
    }

    /// The production login host the app uses.
    pub fn login_url(&self) -> &str {
        &self.login_url
    }

    pub fn now(&self) -> DateTime<Utc> {
        self.app.now()
    }

    /// Moves the stores' manual clock and the emulator's clock together. With the system
    /// clock only the emulator moves (the stores follow real time).
    pub fn advance(&self, by: Duration) {
        if let Some(c) = &self.manual_clock {
            c.advance(chrono::Duration::from_std(by).unwrap_or_else(|_| chrono::Duration::zero()));
        }
        if let Some(emu) = &self.emulator {
            emu.admin().advance_clock(by);
        }
    }

    /// Creates a tenant and returns its credentials (shown once).
    pub async fn create_tenant(&self, id: &str, name: &str) -> CliResult<IssuedCredentials> {
        Ok(tenants::create_tenant(&self.app, id, name).await?)
    }

    /// The real OAuth connect, following the emulator's auto-approved authorize redirect.
    pub async fn connect(
        &self,
        tenant: &str,
        connection: &str,
        env: Environment,
    ) -> CliResult<Connected> {
        oauth_connect(&self.app, tenant, connection, env).await
    }

    pub async fn test_sync(
        &self,
        tenant: &str,
        connection: &str,
        segment: TestSegment,
    ) -> CliResult<RunSummary> {
        let (t, c) = ids(tenant, connection)?;
        Ok(poll::test_sync(&self.app, &t, &c, segment).await?)
    }

    /// Turns the connection's sync on (after the readiness check) or off.
    pub async fn set_sync(
        &self,
        tenant: &str,
        connection: &str,
        enabled: bool,
    ) -> CliResult<crmsync_service::sync_switch::SyncSwitch> {
        let (t, c) = ids(tenant, connection)?;
        Ok(crmsync_service::sync_switch::set_sync(&self.app, &t, &c, enabled).await?)
    }

    pub async fn full_sync(&self, tenant: &str, connection: &str) -> CliResult<SyncTotals> {
        full_sync(&self.app, tenant, connection, DEFAULT_MAX_RUNS).await
    }

    pub async fn send_events(
        &self,
        credentials: &IssuedCredentials,
        connection: &str,
        events: &[serde_json::Value],
    ) -> CliResult<Accepted> {
        send_events(
            &self.app,
            &credentials.tenant_id,
            &credentials.webhook_secret,
            connection,
            events,
        )
        .await
    }

    pub async fn drain_push_queue(&self) -> CliResult<PushTotals> {
        drain_push_queue(&self.app).await
    }

    pub async fn sweep(&self, tenant: &str, connection: &str) -> CliResult<RunSummary> {
        let (t, c) = ids(tenant, connection)?;
        Ok(sweep::sweep_connection(&self.app, &t, &c).await?)
    }

    /// Stops the emulator's listener.
    pub async fn shutdown(mut self) {
        if let Some(emu) = self.emulator.take() {
            emu.shutdown().await;
        }
    }
}

/// Parses a tenant and connection id, naming the bad one.
pub fn ids(tenant: &str, connection: &str) -> CliResult<(TenantId, ConnectionId)> {
    Ok((
        tenants::parse_tenant_id(tenant)?,
        tenants::parse_connection_id(connection)?,
    ))
}

/// Starts a connect and returns the Salesforce authorize URL a person would open.
pub async fn authorize_url(
    app: &App,
    tenant: &str,
    connection: &str,
    env: Environment,
) -> CliResult<Url> {
    let (t, c) = ids(tenant, connection)?;
    Ok(connect::start(app, &t, &c, env, None).await?)
}

/// Runs the OAuth web-server flow against a login host that approves without a person (the
/// emulator): `connect::start` → GET authorize (redirects not followed) → the `Location`'s
/// `code` and `state` → `connect::callback`.
pub async fn oauth_connect(
    app: &App,
    tenant: &str,
    connection: &str,
    env: Environment,
) -> CliResult<Connected> {
    let url = authorize_url(app, tenant, connection, env).await?;
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(15))
        .build()
        .map_err(|e| CliError::http("HTTP client", e))?;
    let response = http
        .get(url)
        .send()
        .await
        .map_err(|e| CliError::http("GET authorize", e))?;
    if !response.status().is_redirection() {
        return Err(CliError::OAuth(format!(
            "the authorize endpoint answered {} instead of redirecting back (does the login host approve without a person?)",
            response.status()
        )));
    }
    let location = response
        .headers()
        .get(reqwest::header::LOCATION)
        .and_then(|v| v.to_str().ok())
        .ok_or_else(|| CliError::OAuth("the authorize redirect has no Location".into()))?;
    let location = Url::parse(location)
        .map_err(|e| CliError::OAuth(format!("the authorize redirect is not a URL: {e}")))?;
    let params: BTreeMap<String, String> = location.query_pairs().into_owned().collect();
    if let Some(error) = params.get("error") {
        let description = params.get("error_description").cloned().unwrap_or_default();
        return Err(CliError::OAuth(format!("{error}: {description}")));
    }
    let (Some(code), Some(state)) = (params.get("code"), params.get("state")) else {
        return Err(CliError::OAuth(
            "the authorize redirect carries no code and state".into(),
        ));
    };
    Ok(connect::callback(app, code, state).await?)
}

/// Poll runs a full sync may take before giving up.
pub const DEFAULT_MAX_RUNS: usize = 200;

/// A full sync: the runs it took and their sum.
#[derive(Debug, Clone, Serialize)]
pub struct SyncTotals {
    pub runs: usize,
    pub total: RunSummary,
}

/// Polls until a run completes without hitting the cap (at most `max_runs` runs).
pub async fn full_sync(
    app: &App,
    tenant: &str,
    connection: &str,
    max_runs: usize,
) -> CliResult<SyncTotals> {
    let (t, c) = ids(tenant, connection)?;
    let mut total: Option<RunSummary> = None;
    for run_no in 1..=max_runs.max(1) {
        let run = poll::poll_connection(app, &t, &c).await?;
        let status = run.status;
        total = Some(match total {
            None => run,
            Some(acc) => merge_runs(acc, run),
        });
        match status {
            RunStatus::Completed => {
                return Ok(SyncTotals {
                    runs: run_no,
                    total: total.expect("set above"),
                });
            }
            RunStatus::Capped => continue,
            other => {
                return Err(CliError::step(
                    "full sync",
                    format!("poll run {run_no} ended {other:?}"),
                ));
            }
        }
    }
    Err(CliError::step(
        "full sync",
        format!("not complete after {max_runs} poll runs"),
    ))
}

/// Sums two runs of the same connection (counts, calls, owners, messages); keeps the
/// first start and the last status and finish.
pub fn merge_runs(mut acc: RunSummary, next: RunSummary) -> RunSummary {
    for (object, s) in next.objects {
        add_stats(acc.stats(&object), &s);
    }
    for owner in next.unmapped_owners {
        acc.note_unmapped_owner(&owner);
    }
    for (reason, n) in next.skip_reasons {
        *acc.skip_reasons.entry(reason).or_default() += n;
    }
    acc.messages.extend(next.messages);
    acc.api_calls += next.api_calls;
    if let Some(d) = next.drift {
        let into = acc.drift();
        into.compared += d.compared;
        into.salesforce_drifted += d.salesforce_drifted;
        into.salesforce_fixed += d.salesforce_fixed;
        into.app_drifted += d.app_drifted;
        into.app_fixed += d.app_fixed;
    }
    acc.status = next.status;
    acc.finished_at = next.finished_at;
    acc
}

fn add_stats(into: &mut ObjectStats, s: &ObjectStats) {
    into.fetched += s.fetched;
    into.created += s.created;
    into.updated += s.updated;
    into.unchanged += s.unchanged;
    into.skipped += s.skipped;
    into.unlinked += s.unlinked;
    into.errors += s.errors;
}

/// Signs a batch as the app would (`X-Crmsync-Signature`, now) and ingests it.
pub async fn send_events(
    app: &App,
    tenant: &str,
    webhook_secret: &str,
    connection: &str,
    events: &[serde_json::Value],
) -> CliResult<Accepted> {
    let body = serde_json::to_vec(&serde_json::json!({
        "connection": connection,
        "events": events,
    }))
    .map_err(|e| CliError::step("send events", e.to_string()))?;
    let signature = signing::sign(webhook_secret, app.now().timestamp(), &body);
    Ok(ingest::ingest(app, Some(tenant), Some(&signature), &body).await?)
}

/// One event the push reported as an error.
#[derive(Debug, Clone, Serialize)]
pub struct PushError {
    pub event_id: String,
    pub object: String,
    pub code: Option<String>,
    pub reason: String,
}

/// One event the push wrote to Salesforce.
#[derive(Debug, Clone, Serialize)]
pub struct PushWrite {
    pub event_id: String,
    pub object: String,
    pub sf_id: Option<String>,
}

/// What draining the push queue did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct PushTotals {
    pub batches: usize,
    pub messages: usize,
    /// Per Salesforce object (the event's first write), created/updated/unchanged/skipped/errors.
    pub objects: BTreeMap<String, ObjectStats>,
    pub errors: Vec<PushError>,
    /// Events written (created or updated), with the first record's Salesforce Id.
    pub written: Vec<PushWrite>,
    pub parked: usize,
    /// Left on the queue for redelivery (retryable failures).
    pub retried: usize,
    pub duplicates: usize,
    pub api_calls: u64,
}

impl PushTotals {
    /// Adds another drain's counts to these.
    pub fn absorb(&mut self, other: PushTotals) {
        self.batches += other.batches;
        self.messages += other.messages;
        for (object, s) in other.objects {
            add_stats(self.objects.entry(object).or_default(), &s);
        }
        self.errors.extend(other.errors);
        self.written.extend(other.written);
        self.parked += other.parked;
        self.retried += other.retried;
        self.duplicates += other.duplicates;
        self.api_calls += other.api_calls;
    }

    pub fn total(&self) -> ObjectStats {
        let mut t = ObjectStats::default();
        for s in self.objects.values() {
            add_stats(&mut t, s);
        }
        t
    }
}

/// The events a batch will push: per-event messages as they are, and for an outbox nudge
/// the connection's waiting entries (the first [`OUTBOX_PEEK`]; a drain may take more,
/// which are then tallied under object `?`).
async fn pushed_events(
    app: &App,
    received: &[crmsync_store::ReceivedMessage],
) -> CliResult<Vec<PushMessage>> {
    let mut events = Vec::new();
    let mut peeked = std::collections::BTreeSet::new();
    for m in received {
        if let Ok(msg) = serde_json::from_str::<PushMessage>(&m.body) {
            events.push(msg);
        } else if let Ok(n) = serde_json::from_str::<NudgeMessage>(&m.body)
            && peeked.insert((n.tenant.clone(), n.connection.clone()))
            && let Ok((t, c)) = ids(&n.tenant, &n.connection)
        {
            let entries = app.stores.outbox.oldest(&t, &c, OUTBOX_PEEK).await?;
            events.extend(
                entries
                    .iter()
                    .filter_map(|e| serde_json::from_str::<PushMessage>(&e.body).ok()),
            );
        }
    }
    Ok(events)
}

/// Outbox entries a drain looks at ahead of pushing (for its per-object tallies).
const OUTBOX_PEEK: u32 = 1000;

/// Batches a drain may take before giving up (10 messages each).
const MAX_DRAIN_BATCHES: usize = 1000;

/// Drains the push queue like the push Lambda: receive ≤10, `push_batch`, ack everything
/// not marked for retry; until the queue has nothing visible. Retried messages stay on the
/// queue (they come back after the visibility timeout).
pub async fn drain_push_queue(app: &App) -> CliResult<PushTotals> {
    let mut totals = PushTotals::default();
    for _ in 0..MAX_DRAIN_BATCHES {
        let received = app.stores.queues.receive(QueueKind::Push, 10).await?;
        if received.is_empty() {
            return Ok(totals);
        }
        totals.batches += 1;
        totals.messages += received.len();
        // Whether each app record was linked before: tells a create from an update.
        let mut linked_before = BTreeMap::new();
        for msg in pushed_events(app, &received).await? {
            let linked = match ids(&msg.tenant, &msg.connection) {
                Ok((t, c)) => !links_of(
                    app,
                    &t,
                    &c,
                    msg.event.app_object.as_str(),
                    &msg.event.app_id,
                )
                .await?
                .is_empty(),
                Err(_) => false,
            };
            linked_before.insert(msg.event.event_id.clone(), (msg, linked));
        }
        let batch = received
            .iter()
            .map(|m| InboundMessage {
                message_id: m.message_id.clone(),
                body: m.body.clone(),
            })
            .collect();
        let outcome = push::push_batch(app, batch).await;
        totals.duplicates += outcome.duplicates;
        totals.api_calls += outcome.api_calls;
        totals.retried += outcome.retry.len();
        for o in &outcome.outcomes {
            let (object, linked) = match linked_before.get(&o.event_id) {
                Some((msg, linked)) => (report_object(app, msg).await, *linked),
                None => ("?".to_string(), false),
            };
            let stats = totals.objects.entry(object.clone()).or_default();
            // "records" for a push: events handled for this object.
            stats.fetched += 1;
            let written = PushWrite {
                event_id: o.event_id.clone(),
                object: object.clone(),
                sf_id: o.sf_id.clone(),
            };
            match (o.status, o.code.as_deref()) {
                (ReportStatus::Success, Some("NO_CHANGE")) => stats.unchanged += 1,
                (ReportStatus::Success, Some("SKIPPED")) => stats.skipped += 1,
                (ReportStatus::Success, _) if linked => {
                    stats.updated += 1;
                    totals.written.push(written);
                }
                (ReportStatus::Success, _) => {
                    stats.created += 1;
                    totals.written.push(written);
                }
                (ReportStatus::Parked, _) => totals.parked += 1,
                (ReportStatus::Error, _) => {
                    stats.errors += 1;
                    totals.errors.push(PushError {
                        event_id: o.event_id.clone(),
                        object,
                        code: o.code.clone(),
                        reason: o.reason.clone().unwrap_or_default(),
                    });
                }
            }
        }
        for m in &received {
            if !outcome.retry.contains(&m.message_id) {
                app.stores.queues.ack(QueueKind::Push, &m.receipt).await?;
            }
        }
    }
    Err(CliError::step(
        "drain push queue",
        format!("still not empty after {MAX_DRAIN_BATCHES} batches"),
    ))
}

/// The Salesforce object the report entry names; for an event that never reached
/// Salesforce (refused before any write) the entry names the app object instead, shown as
/// `contact (app)`.
async fn report_object(app: &App, msg: &PushMessage) -> String {
    let app_object = msg.event.app_object.as_str();
    let fallback = format!("{app_object} (app)");
    let Ok((t, c)) = ids(&msg.tenant, &msg.connection) else {
        return fallback;
    };
    match app.stores.reports.get(&t, &c, &msg.event.event_id).await {
        Ok(Some(entry)) if !entry.object.is_empty() && entry.object != app_object => entry.object,
        _ => fallback,
    }
}
