//! `crmsync demo`: the main job end to end on one machine, in well under a minute.
//!
//! Tenant → OAuth connect (the real web-server flow) → test sync on a small segment → full
//! sync → signed app events through ingest → push → a record deleted in Salesforce → sweep
//! → a summary of what each phase did, its errors with reasons, unmapped owners and the
//! Salesforce API calls used.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use crmsync_service::connect::Connected;
use crmsync_service::poll::TestSegment;
use crmsync_service::runs::RunSummary;
use crmsync_service::tenants;
use crmsync_store::{ConnectionStatus, Environment, PageRequest};
use serde::Serialize;
use sf_emulator::admin::ApiUsage;

use crate::error::{CliError, CliResult};
use crate::events;
use crate::output::Progress;
use crate::stack::{
    self, ClockMode, LocalStack, PushTotals, SalesforceTarget, StackOptions, StateBackend,
    SyncTotals,
};
use crate::sweep_probe;

/// `crmsync demo` options.
#[derive(Debug, Clone, clap::Args)]
pub struct DemoArgs {
    /// Use this Salesforce login host (e.g. <https://login.salesforce.com>) instead of the
    /// built-in emulator. The connect step then prints the authorize URL for you to open and
    /// waits for the callback on --redirect-url.
    #[arg(long, value_name = "URL")]
    pub sf_login_url: Option<String>,
    #[command(flatten)]
    pub app: crate::cli::ConnectedAppArgs,
    /// OAuth callback URL registered in the connected app (with --sf-login-url; a listener
    /// is started on its port).
    #[arg(long, value_name = "URL", default_value = stack::DEFAULT_REDIRECT_URL)]
    pub redirect_url: String,
    /// Use the AWS adapters (DynamoDB, Secrets Manager, SQS) at this endpoint, e.g. a moto
    /// server; the table and queues are created there if missing.
    #[arg(long, value_name = "URL", conflicts_with = "state")]
    pub aws_endpoint: Option<String>,
    /// Keep embedded state in this JSON file (default: in memory only).
    #[arg(long, value_name = "FILE")]
    pub state: Option<PathBuf>,
    /// Tenant id to create (or reuse, with --state).
    #[arg(long, default_value = "demo")]
    pub tenant: String,
    /// Connection id.
    #[arg(long, default_value = "production")]
    pub connection: String,
    /// Connect as a sandbox (test.salesforce.com-style login host).
    #[arg(long)]
    pub sandbox: bool,
    /// Print the summary as JSON instead of tables.
    #[arg(long)]
    pub json: bool,
}

impl Default for DemoArgs {
    fn default() -> Self {
        Self {
            sf_login_url: None,
            app: Default::default(),
            redirect_url: stack::DEFAULT_REDIRECT_URL.to_string(),
            aws_endpoint: None,
            state: None,
            tenant: "demo".into(),
            connection: "production".into(),
            sandbox: false,
            json: false,
        }
    }
}

impl DemoArgs {
    pub fn stack_options(&self) -> CliResult<StackOptions> {
        let salesforce = match &self.sf_login_url {
            None => SalesforceTarget::Emulator { port: 0 },
            Some(url) => SalesforceTarget::External {
                login_url: url.clone(),
                sandbox_login_url: None,
                client_id: self.app.required_client_id()?,
                client_secret: self.app.client_secret.clone(),
            },
        };
        let state = match (&self.aws_endpoint, &self.state) {
            (Some(endpoint), _) => StateBackend::AwsEndpoint {
                endpoint: endpoint.clone(),
                name: "crmsync-demo".into(),
            },
            (None, Some(path)) => StateBackend::File(path.clone()),
            (None, None) => StateBackend::Memory,
        };
        Ok(StackOptions {
            salesforce,
            state,
            // A real org keeps real time: the demo only moves time it owns (the emulator's).
            clock: if self.sf_login_url.is_some() {
                ClockMode::System
            } else {
                ClockMode::Manual
            },
            redirect_url: Some(self.redirect_url.clone()),
            poll_cap: None,
        })
    }
}

/// How long the demo waits for a person to finish the OAuth flow in a real org.
const HUMAN_CONNECT_TIMEOUT: Duration = Duration::from_secs(10 * 60);
/// How far the demo moves time before the sweep (Salesforce's delete log has minute grain).
pub const SWEEP_ADVANCE: Duration = Duration::from_secs(5 * 60);
const STEPS: usize = 8;

/// A Salesforce record the demo deleted before the sweep.
#[derive(Debug, Clone, Serialize)]
pub struct DeletedRecord {
    pub object: String,
    pub id: String,
}

/// Everything the demo did.
#[derive(Debug, Clone, Serialize)]
pub struct DemoSummary {
    pub tenant: String,
    pub connection: String,
    pub tenant_created: bool,
    pub connected: Connected,
    pub connection_status: String,
    pub emulated: bool,
    pub test_sync: RunSummary,
    /// Turned on after the test sync (a new connection starts with its sync off).
    pub sync_enabled: bool,
    pub full_sync: SyncTotals,
    pub events_sent: usize,
    pub events_accepted: usize,
    pub push: PushTotals,
    pub deleted: Option<DeletedRecord>,
    pub sweep: RunSummary,
    /// What the schema-drift step changed and what the next poll paused (emulator only).
    pub schema_drift: Option<SchemaDrift>,
    /// Record counts in the emulated org before and after, per object.
    pub salesforce_counts: BTreeMap<String, (usize, usize)>,
    /// The emulator's own count of API calls (all endpoints), when emulated.
    pub emulator_api: Option<ApiUsage>,
    pub elapsed_ms: u128,
}

/// The demo's schema-drift step: the change an admin made and the mappings it paused.
#[derive(Debug, Clone, Serialize)]
pub struct SchemaDrift {
    pub change: String,
    /// The poll after the change still completes.
    pub poll_status: String,
    /// The run's messages naming each paused mapping.
    pub paused: Vec<String>,
    /// Salesforce calls of the poll after the change.
    pub api_calls: u64,
}

/// The mapped field the demo's admin hides (the standard config maps it both ways).
const DRIFT_OBJECT: &str = "Lead";
const DRIFT_FIELD: &str = "Title";

impl DemoSummary {
    /// Salesforce API calls crmsync counted itself (runs and push).
    pub fn crmsync_api_calls(&self) -> u64 {
        self.test_sync.api_calls
            + self.full_sync.total.api_calls
            + self.push.api_calls
            + self.sweep.api_calls
            + self.schema_drift.as_ref().map_or(0, |d| d.api_calls)
    }
}

const COUNTED_OBJECTS: [&str; 5] = [
    "Account",
    "Contact",
    "Lead",
    "Opportunity",
    "OpportunityLineItem",
];

/// Starts a stack from `args`, runs the demo on it, stops it.
pub async fn run_demo(args: &DemoArgs, progress: Progress) -> CliResult<DemoSummary> {
    let started = Instant::now();
    progress.step(1, STEPS, "starting the local stack");
    let stack = LocalStack::start(args.stack_options()?).await?;
    match stack.emulator() {
        Some(emu) => progress.done(&format!(
            "emulated org \"Demo Company\" at {}, embedded state",
            emu.base_url()
        )),
        None => progress.done(&format!("Salesforce at {}", stack.login_url())),
    }
    let result = run_demo_on(&stack, args, progress, started).await;
    stack.shutdown().await;
    result
}

/// The demo on a running stack (tests keep the stack to inspect the emulator afterwards).
pub async fn run_demo_on(
    stack: &LocalStack,
    args: &DemoArgs,
    progress: Progress,
    started: Instant,
) -> CliResult<DemoSummary> {
    let app = stack.app();
    let admin = stack.emulator_admin();
    let org = sf_emulator::demo::ORG_ALIAS;
    let counts = |admin: &Option<sf_emulator::AdminHandle>| -> CliResult<BTreeMap<String, usize>> {
        let mut m = BTreeMap::new();
        if let Some(a) = admin {
            for o in COUNTED_OBJECTS {
                m.insert(o.to_string(), a.record_count(org, o)?);
            }
        }
        Ok(m)
    };
    let before = counts(&admin)?;
    let (tenant_id, connection_id) = stack::ids(&args.tenant, &args.connection)?;
    let env = if args.sandbox {
        Environment::Sandbox
    } else {
        Environment::Production
    };

    // 2. Tenant and connect.
    progress.step(2, STEPS, "tenant and OAuth connect");
    let (webhook_secret, tenant_created) = match app.stores.tenants.get(&tenant_id).await? {
        Some(_) => (tenants::webhook_secret(app, &tenant_id).await?, false),
        None => {
            let creds = stack.create_tenant(&args.tenant, "Demo tenant").await?;
            (creds.webhook_secret, true)
        }
    };
    let connected = if admin.is_some() {
        stack.connect(&args.tenant, &args.connection, env).await?
    } else {
        connect_by_hand(stack, args, env, progress).await?
    };
    let connection = app
        .stores
        .connections
        .get(&tenant_id, &connection_id)
        .await?
        .ok_or_else(|| CliError::step("connect", "no connection stored after the callback"))?;
    if connection.status != ConnectionStatus::Connected {
        return Err(CliError::step(
            "connect",
            format!("connection is {}", connection.status.as_str()),
        ));
    }
    progress.done(&format!(
        "tenant {} {}; {} to \"{}\" as {}",
        args.tenant,
        if tenant_created { "created" } else { "reused" },
        if connected.reconnected {
            "reconnected"
        } else {
            "connected"
        },
        connected.org_name,
        connection.user.username
    ));

    // 3. Test sync.
    progress.step(
        3,
        STEPS,
        "test sync (modified in the last 24 h, at most 25 per object)",
    );
    let segment = TestSegment {
        modified_within_hours: Some(24),
        limit: Some(25),
        ..Default::default()
    };
    let test_sync = stack
        .test_sync(&args.tenant, &args.connection, segment)
        .await?;
    progress.done(&format!(
        "{} records, {:?}",
        test_sync.total().fetched,
        test_sync.status
    ));
    // The sync starts off (seed 000: never a full sync first); the test sync looked right.
    let sync_enabled = stack
        .set_sync(&args.tenant, &args.connection, true)
        .await?
        .sync_enabled;

    // 4. Full sync.
    progress.step(4, STEPS, "full sync");
    let full_sync = stack.full_sync(&args.tenant, &args.connection).await?;
    progress.done(&format!(
        "{} records in {} poll run(s)",
        full_sync.total.total().fetched,
        full_sync.runs
    ));

    // 5. App events → ingest → push.
    progress.step(5, STEPS, "app events → ingest → push");
    let run_tag = app.now().timestamp_millis().to_string();
    let (first, later) = events::demo_events(app.now(), &run_tag);
    let mut push = PushTotals::default();
    let mut accepted = 0;
    // Updates go after their creates were pushed, as an app sends them later.
    for batch in [&first, &later] {
        accepted += stack::send_events(app, &args.tenant, &webhook_secret, &args.connection, batch)
            .await?
            .accepted;
        push.absorb(stack.drain_push_queue().await?);
    }
    let sent = first.len() + later.len();
    let t = push.total();
    progress.done(&format!(
        "{} sent, {} accepted; {} created, {} updated, {} error(s)",
        sent, accepted, t.created, t.updated, t.errors
    ));

    // 6. Delete in Salesforce, advance time, sweep.
    progress.step(6, STEPS, "deletion sweep");
    let deleted = match &admin {
        Some(a) => {
            let victim = linked_record(stack, &args.tenant, &args.connection).await?;
            // A previous run on the same --state may have swept "in the future" (its clock
            // was moved); catch up first so the deletion falls inside this sweep's window.
            let cursor = app
                .stores
                .cursors
                .get(&tenant_id, &connection_id, &victim.object)
                .await?;
            if let Some(last) = cursor.last_sweep_at
                && let Ok(ahead) = (last - app.now()).to_std()
            {
                stack.advance(ahead + Duration::from_secs(1));
            }
            a.delete_record(org, &victim.object, &victim.id)?;
            Some(victim)
        }
        None => {
            // A real org: delete only the demo's own probe, then wait for the delete log.
            let probe = sweep_probe::push_probe(
                app,
                &args.tenant,
                &webhook_secret,
                &args.connection,
                &run_tag,
            )
            .await?;
            let connection = app
                .stores
                .connections
                .get(&tenant_id, &connection_id)
                .await?
                .ok_or_else(|| CliError::step("deletion sweep", "the connection is gone"))?;
            sweep_probe::delete_and_wait(app, &connection, &probe, progress).await?;
            Some(probe)
        }
    };
    stack.advance(SWEEP_ADVANCE);
    let sweep = stack.sweep(&args.tenant, &args.connection).await?;
    progress.done(&match (&deleted, &admin) {
        (Some(d), Some(_)) => format!(
            "deleted {} {} in Salesforce, moved time {} min; {} unlinked",
            d.object,
            d.id,
            SWEEP_ADVANCE.as_secs() / 60,
            sweep.total().unlinked
        ),
        (Some(d), None) => format!(
            "deleted the demo's own probe {} {} in Salesforce; {} unlinked",
            d.object,
            d.id,
            sweep.total().unlinked
        ),
        (None, _) => format!("nothing deleted; {} unlinked", sweep.total().unlinked),
    });

    // 7. Schema drift: on the emulator, an admin hides a mapped field; the next poll
    // pauses that mapping and keeps syncing the rest.
    progress.step(7, STEPS, "schema drift");
    let schema_drift = match &admin {
        Some(a) => {
            a.alter_field(org, DRIFT_OBJECT, DRIFT_FIELD, |f| f.secured = true)?;
            stack.advance(Duration::from_secs(60));
            let run = stack.full_sync(&args.tenant, &args.connection).await?;
            let paused: Vec<String> = run
                .total
                .messages
                .iter()
                .filter(|m| m.contains("paused"))
                .cloned()
                .collect();
            progress.done(&format!(
                "{} paused mapping(s); the poll {:?}",
                paused.len(),
                run.total.status
            ));
            Some(SchemaDrift {
                change: format!(
                    "an admin hid {DRIFT_OBJECT}.{DRIFT_FIELD} from the integration user (field-level security)"
                ),
                poll_status: format!("{:?}", run.total.status),
                paused,
                api_calls: run.total.api_calls,
            })
        }
        None => {
            progress.done("skipped: a real org's schema is left alone");
            None
        }
    };

    progress.step(8, STEPS, "summary");
    let after = counts(&admin)?;
    let salesforce_counts = before
        .iter()
        .map(|(k, b)| (k.clone(), (*b, after.get(k).copied().unwrap_or(0))))
        .collect();
    let emulator_api = match &admin {
        Some(a) => Some(a.api_usage(org)?),
        None => None,
    };
    let status = app
        .stores
        .connections
        .get(&tenant_id, &connection_id)
        .await?
        .map(|c| c.status.as_str().to_string())
        .unwrap_or_else(|| "missing".into());
    progress.done("done");
    Ok(DemoSummary {
        tenant: args.tenant.clone(),
        connection: args.connection.clone(),
        tenant_created,
        connected,
        connection_status: status,
        emulated: admin.is_some(),
        test_sync,
        sync_enabled,
        full_sync,
        events_sent: sent,
        events_accepted: accepted,
        push,
        deleted,
        sweep,
        schema_drift,
        salesforce_counts,
        emulator_api,
        elapsed_ms: started.elapsed().as_millis(),
    })
}

/// A Contact (else any object) the sync linked, to delete in Salesforce.
async fn linked_record(
    stack: &LocalStack,
    tenant: &str,
    connection: &str,
) -> CliResult<DeletedRecord> {
    let (t, c) = stack::ids(tenant, connection)?;
    let links = &stack.app().stores.links;
    for object in ["Contact", "Lead", "Account"] {
        let page = links
            .list_for_object(&t, &c, object, &PageRequest::first(1))
            .await?;
        if let Some(link) = page.items.first() {
            return Ok(DeletedRecord {
                object: link.sf_object.clone(),
                id: link.sf_id.clone(),
            });
        }
    }
    Err(CliError::step(
        "deletion sweep",
        "the sync linked no Contact, Lead or Account to delete",
    ))
}

/// With a real org: print the authorize URL, serve the callback, wait for Connected.
async fn connect_by_hand(
    stack: &LocalStack,
    args: &DemoArgs,
    env: Environment,
    progress: Progress,
) -> CliResult<Connected> {
    let app = stack.app().clone();
    let url = stack::authorize_url(&app, &args.tenant, &args.connection, env).await?;
    let redirect = url::Url::parse(&args.redirect_url)
        .map_err(|e| CliError::usage("--redirect-url", e.to_string()))?;
    let port = redirect
        .port_or_known_default()
        .ok_or_else(|| CliError::usage("--redirect-url", "needs a port"))?;
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
        .await
        .map_err(|e| CliError::http(format!("listen on 127.0.0.1:{port}"), e))?;
    let router = crmsync_service::http::oauth_router(app.clone());
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(async move {
        let _ = axum::serve(listener, router)
            .with_graceful_shutdown(async {
                let _ = stop_rx.await;
            })
            .await;
    });
    progress.done("waiting for you");
    progress.note(&format!(
        "open this URL, log in and allow access:\n\n      {url}\n"
    ));
    let (t, c) = stack::ids(&args.tenant, &args.connection)?;
    let since = app.now();
    let deadline = Instant::now() + HUMAN_CONNECT_TIMEOUT;
    let result = loop {
        if let Some(conn) = app.stores.connections.get(&t, &c).await?
            && conn.status == ConnectionStatus::Connected
            && conn.updated_at >= since
        {
            break Ok(Connected {
                tenant: args.tenant.clone(),
                connection: args.connection.clone(),
                org_name: conn.org_name.clone(),
                reconnected: conn.created_at < since,
                replayed_parked_events: 0,
                return_to: None,
            });
        }
        if Instant::now() > deadline {
            break Err(CliError::step(
                "connect",
                "no OAuth callback within 10 minutes",
            ));
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    let _ = stop_tx.send(());
    let _ = server.await;
    progress.step(2, STEPS, "tenant and OAuth connect");
    result
}
