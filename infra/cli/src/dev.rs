//! `crmsync dev`: the stack served on 127.0.0.1 for trying crmsync by hand.
//!
//! One listener carries every route of the deployed API (`local_router`: connect link and
//! OAuth callback, `POST /events`, the report API, the admin page at `/ui/`) plus
//! `GET /dev/connect`, which redirects to a freshly signed connect link for the dev tenant.
//! The emulator listens on its own port. Background tasks stand in for the schedules and
//! queue triggers: the push queue is drained continuously, the poll scheduler and worker
//! run every `--poll-every`, the sweep every `--sweep-every`. State survives restarts in
//! `--state`.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use crmsync_service::App;
use crmsync_service::http::{ConnectLink, connect_link_url, local_router};
use crmsync_service::{poll, sweep, tenants};
use crmsync_store::{Environment, QueueKind};
use tokio::sync::watch;
use url::Url;

use crate::error::{CliError, CliResult};
use crate::stack::{self, ClockMode, LocalStack, SalesforceTarget, StackOptions, StateBackend};
use crate::tenant::{DEFAULT_STATE_FILE, LOCAL_AWS_NAME};

/// `crmsync dev` options.
#[derive(Debug, Clone, clap::Args)]
pub struct DevArgs {
    /// Port of the crmsync API (connect link, OAuth callback, /events, /v1 report API);
    /// 0 picks a free one.
    #[arg(long, default_value_t = 8787)]
    pub port: u16,
    /// Port of the built-in Salesforce emulator (0 = any free port).
    #[arg(long, default_value_t = 8788)]
    pub emulator_port: u16,
    /// How often the poll scheduler and worker run (e.g. 30s, 1m).
    #[arg(long, value_name = "DURATION", default_value = "60s", value_parser = parse_duration)]
    pub poll_every: Duration,
    /// How often the deletion sweep runs (e.g. 5m).
    #[arg(long, value_name = "DURATION", default_value = "5m", value_parser = parse_duration)]
    pub sweep_every: Duration,
    /// Embedded state file, kept between runs.
    #[arg(long, value_name = "FILE", default_value = DEFAULT_STATE_FILE, conflicts_with = "aws_endpoint")]
    pub state: PathBuf,
    /// Use a real org's login host (e.g. <https://test.salesforce.com>) instead of the emulator;
    /// register `http://127.0.0.1:PORT/oauth/callback` in its connected app.
    #[arg(long, value_name = "URL")]
    pub sf_login_url: Option<String>,
    #[command(flatten)]
    pub app: crate::cli::ConnectedAppArgs,
    /// Use the AWS adapters at this endpoint (moto) instead of the state file.
    #[arg(long, value_name = "URL")]
    pub aws_endpoint: Option<String>,
    /// Keep state in memory only (nothing survives a restart).
    #[arg(long, conflicts_with_all = ["state", "aws_endpoint"])]
    pub in_memory: bool,
    /// The dev tenant (created on first start).
    #[arg(long, default_value = "demo")]
    pub tenant: String,
    /// The connection id the connect link uses.
    #[arg(long, default_value = "production")]
    pub connection: String,
    /// Turn on the operator API (`/admin/*`) with this key (at least 16 characters; only
    /// its hash is kept). Without it, `/admin/*` answers 401.
    #[arg(
        long,
        value_name = "KEY",
        env = "CRMSYNC_DEV_OPERATOR_KEY",
        hide_env_values = true
    )]
    pub operator_key: Option<crmsync_store::Secret>,
}

/// `90`, `90s`, `2m`, `1h`, `500ms`.
pub fn parse_duration(raw: &str) -> Result<Duration, String> {
    let raw = raw.trim();
    let split = raw.find(|c: char| !c.is_ascii_digit()).unwrap_or(raw.len());
    let (n, unit) = raw.split_at(split);
    let n: u64 = n
        .parse()
        .map_err(|_| format!("'{raw}' is not a duration like 30s, 5m or 1h"))?;
    let d = match unit {
        "" | "s" => Duration::from_secs(n),
        "ms" => Duration::from_millis(n),
        "m" => Duration::from_secs(n * 60),
        "h" => Duration::from_secs(n * 3600),
        _ => return Err(format!("'{raw}': unit must be ms, s, m or h")),
    };
    if d.is_zero() {
        return Err("must be more than zero".into());
    }
    Ok(d)
}

#[derive(Clone)]
struct DevState {
    app: Arc<App>,
    base: Url,
    tenant: String,
    connection: String,
}

pub async fn run(args: &DevArgs) -> CliResult<()> {
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", args.port))
        .await
        .map_err(|e| CliError::http(format!("listen on 127.0.0.1:{}", args.port), e))?;
    let port = listener
        .local_addr()
        .map_err(|e| CliError::http("listener address", e))?
        .port();
    let base = Url::parse(&format!("http://127.0.0.1:{port}/"))
        .map_err(|e| CliError::usage("--port", e.to_string()))?;
    let salesforce = match &args.sf_login_url {
        None => SalesforceTarget::Emulator {
            port: args.emulator_port,
        },
        Some(url) => SalesforceTarget::External {
            login_url: url.clone(),
            sandbox_login_url: None,
            client_id: args.app.required_client_id()?,
            client_secret: args.app.client_secret.clone(),
        },
    };
    let state = match &args.aws_endpoint {
        Some(endpoint) => StateBackend::AwsEndpoint {
            endpoint: endpoint.clone(),
            name: LOCAL_AWS_NAME.into(),
        },
        None if args.in_memory => StateBackend::Memory,
        None => StateBackend::File(args.state.clone()),
    };
    let stack = LocalStack::start(StackOptions {
        salesforce,
        state,
        clock: ClockMode::System,
        redirect_url: Some(format!("{base}oauth/callback")),
        poll_cap: None,
    })
    .await?;
    let app = stack.app().clone();

    let (tenant_id, _) = stack::ids(&args.tenant, &args.connection)?;
    let issued = match app.stores.tenants.get(&tenant_id).await? {
        Some(_) => None,
        None => Some(stack.create_tenant(&args.tenant, "Dev tenant").await?),
    };
    let webhook_secret = match &issued {
        Some(c) => c.webhook_secret.clone(),
        None => tenants::webhook_secret(&app, &tenant_id).await?,
    };

    if let Some(key) = &args.operator_key {
        crmsync_service::http::set_operator_key(&app, key.expose()).await?;
    }

    let dev = DevState {
        app: app.clone(),
        base: base.clone(),
        tenant: args.tenant.clone(),
        connection: args.connection.clone(),
    };
    let router = local_router(app.clone()).merge(
        Router::new()
            .route("/dev/connect", get(dev_connect))
            .with_state(dev.clone()),
    );
    let (stop_tx, stop_rx) = watch::channel(false);
    let workers = vec![
        tokio::spawn(push_worker(app.clone(), stop_rx.clone())),
        tokio::spawn(poll_worker(app.clone(), args.poll_every, stop_rx.clone())),
        tokio::spawn(sweep_worker(app.clone(), args.sweep_every, stop_rx.clone())),
    ];

    println!(
        "{}",
        banner(args, &stack, &base, issued.as_ref(), &dev, &webhook_secret)
    );

    let mut server_stop = stop_rx.clone();
    let server = tokio::spawn(async move {
        axum::serve(listener, router)
            .with_graceful_shutdown(async move {
                let _ = server_stop.changed().await;
            })
            .await
    });
    shutdown_signal().await?;
    eprintln!("\nstopping…");
    let _ = stop_tx.send(true);
    for w in workers {
        let _ = w.await;
    }
    let served = server.await;
    stack.shutdown().await;
    match served {
        Ok(Ok(())) => Ok(()),
        Ok(Err(e)) => Err(CliError::http("API server", e)),
        Err(e) => Err(CliError::http("API server task", e)),
    }
}

/// Ctrl-C, or SIGTERM (a process manager, `kill`).
async fn shutdown_signal() -> CliResult<()> {
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .map_err(|e| CliError::http("installing the SIGTERM handler", e))?;
    tokio::select! {
        r = tokio::signal::ctrl_c() => r.map_err(|e| CliError::http("waiting for Ctrl-C", e)),
        _ = term.recv() => Ok(()),
    }
}

fn signed_link(dev: &DevState, secret: &str) -> CliResult<Url> {
    let (tenant, connection) = stack::ids(&dev.tenant, &dev.connection)?;
    let link = ConnectLink {
        tenant,
        connection,
        environment: Environment::Production,
        return_to: None,
        issued_at: dev.app.now().timestamp(),
    };
    Ok(connect_link_url(&dev.base, secret, &link))
}

/// Redirects to a freshly signed connect link (signed links expire after 10 minutes).
async fn dev_connect(State(dev): State<DevState>) -> Response {
    let link = async {
        let (tenant, _) = stack::ids(&dev.tenant, &dev.connection)?;
        let secret = tenants::webhook_secret(&dev.app, &tenant).await?;
        signed_link(&dev, &secret)
    }
    .await;
    match link {
        Ok(url) => (StatusCode::FOUND, [(header::LOCATION, url.to_string())]).into_response(),
        Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()).into_response(),
    }
}

fn banner(
    args: &DevArgs,
    stack: &LocalStack,
    base: &Url,
    issued: Option<&tenants::IssuedCredentials>,
    dev: &DevState,
    webhook_secret: &str,
) -> String {
    let api = base.as_str().trim_end_matches('/');
    let mut out = format!(
        "crmsync dev\n\n  API          {api}\n  admin page   {api}/ui/ (sign in with the tenant's API key)\n"
    );
    match stack.emulator() {
        Some(emu) => out.push_str(&format!(
            "  Salesforce   {} (emulated org \"Demo Company\"; user {} / {})\n",
            emu.base_url(),
            sf_emulator::demo::USERNAME,
            sf_emulator::demo::PASSWORD
        )),
        None => out.push_str(&format!("  Salesforce   {}\n", stack.login_url())),
    }
    match &args.aws_endpoint {
        Some(e) => out.push_str(&format!("  state        AWS adapters at {e}\n")),
        None if args.in_memory => out.push_str("  state        in memory (lost on exit)\n"),
        None => out.push_str(&format!("  state        {}\n", args.state.display())),
    }
    out.push_str(&format!(
        "  schedules    poll every {:?}, sweep every {:?}, push queue drained continuously\n\n",
        args.poll_every, args.sweep_every
    ));
    let (key_var, secret_var) = match issued {
        Some(c) => {
            out.push_str(&format!(
                "Tenant '{}' created. Its credentials are shown this once:\n  API key         {}\n  webhook secret  {}\n\n",
                c.tenant_id, c.api_key, c.webhook_secret
            ));
            (c.api_key.clone(), c.webhook_secret.clone())
        }
        None => {
            out.push_str(&format!(
                "Tenant '{}' exists (its credentials were shown when it was created; \
                 `crmsync tenant rotate --id {} --state {}` issues new ones).\n\n",
                dev.tenant,
                dev.tenant,
                args.state.display()
            ));
            ("<api key>".to_string(), "<webhook secret>".to_string())
        }
    };
    out.push_str(&format!(
        "Connect Salesforce (opens the OAuth flow):\n  {api}/dev/connect\n"
    ));
    if let Ok(link) = signed_link(dev, webhook_secret) {
        out.push_str(&format!(
            "  or the signed link itself (valid 10 minutes):\n  {link}\n"
        ));
    }
    let sample = serde_json::json!({
        "connection": dev.connection,
        "events": [{
            "event_id": "ev-1", "kind": "create", "app_object": "contact", "app_id": "c-1",
            "occurred_at": "2026-01-01T00:00:00Z",
            "fields": {"first_name": "Ada", "last_name": "Lovelace", "phone": "+44 20 7946 0100",
                       "email": "ada@engines.example", "company_name": "Analytical Engines"}
        }]
    });
    out.push_str(&format!(
        "\nTry it:\n  export API_KEY='{key_var}' WEBHOOK_SECRET='{secret_var}'\n\
         \n  # connection status, runs, reports\n\
         \n  curl -s {api}/v1/connections -H \"Authorization: Bearer $API_KEY\"\
         \n  curl -s {api}/v1/connections/{c}/runs -H \"Authorization: Bearer $API_KEY\"\
         \n  curl -s '{api}/v1/connections/{c}/reports?status=error' -H \"Authorization: Bearer $API_KEY\"\
         \n  curl -s -X POST {api}/v1/connections/{c}/test-sync -H \"Authorization: Bearer $API_KEY\" \\\
         \n       -H 'content-type: application/json' -d '{{\"modified_within_hours\":24,\"limit\":20}}'\
         \n  curl -s '{api}/v1/changes?limit=20' -H \"Authorization: Bearer $API_KEY\"\n\
         \n  # send a signed app event (HMAC-SHA256 over \"<unix time>.<body>\")\n\
         \n  body='{body}'\
         \n  t=$(date +%s); sig=$(printf '%s' \"$t.$body\" | openssl dgst -sha256 -hmac \"$WEBHOOK_SECRET\" | sed 's/^.* //')\
         \n  curl -s -X POST {api}/events -H 'content-type: application/json' \\\
         \n       -H 'x-crmsync-tenant: {t}' -H \"x-crmsync-signature: t=$t,v1=$sig\" -d \"$body\"\n\
         \nCtrl-C stops.",
        c = dev.connection,
        t = dev.tenant,
        body = sample,
    ));
    out
}

async fn push_worker(app: Arc<App>, mut stop: watch::Receiver<bool>) {
    loop {
        match stack::drain_push_queue(&app).await {
            Ok(t) if t.messages > 0 => {
                let s = t.total();
                tracing::info!(
                    messages = t.messages,
                    created = s.created,
                    updated = s.updated,
                    errors = s.errors,
                    retried = t.retried,
                    "push"
                );
            }
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "push drain failed"),
        }
        if wait(&mut stop, Duration::from_secs(1)).await {
            return;
        }
    }
}

async fn poll_worker(app: Arc<App>, every: Duration, mut stop: watch::Receiver<bool>) {
    loop {
        if let Err(e) = poll_once(&app).await {
            tracing::warn!(error = %e, "poll pass failed");
        }
        if wait(&mut stop, every).await {
            return;
        }
    }
}

/// The scheduler pass, then the worker over the poll queue (as the poll Lambda does).
async fn poll_once(app: &App) -> CliResult<()> {
    crmsync_service::schedule::schedule_due(app).await?;
    loop {
        let batch = app.stores.queues.receive(QueueKind::Poll, 10).await?;
        if batch.is_empty() {
            return Ok(());
        }
        for m in batch {
            let message =
                serde_json::from_str::<crmsync_service::messages::PollMessage>(&m.body).ok();
            let parsed = message
                .as_ref()
                .and_then(|p| stack::ids(&p.tenant, &p.connection).ok());
            if let Some((t, c)) = parsed {
                match poll::poll_connection(app, &t, &c).await {
                    Ok(run) => tracing::info!(
                        tenant = t.as_str(),
                        connection = c.as_str(),
                        status = ?run.status,
                        fetched = run.total().fetched,
                        api_calls = run.api_calls,
                        "poll"
                    ),
                    Err(e) => {
                        tracing::warn!(tenant = t.as_str(), connection = c.as_str(), error = %e, "poll failed")
                    }
                }
            }
            if let Some(message) = &message {
                crmsync_service::schedule::release_mark(app, message).await;
            }
            app.stores.queues.ack(QueueKind::Poll, &m.receipt).await?;
        }
    }
}

async fn sweep_worker(app: Arc<App>, every: Duration, mut stop: watch::Receiver<bool>) {
    loop {
        if wait(&mut stop, every).await {
            return;
        }
        if let Err(e) = sweep_once(&app).await {
            tracing::warn!(error = %e, "sweep pass failed");
        }
    }
}

/// The sweep tick's fan-out, then the worker over the sweep queue (as the sweep Lambda does).
async fn sweep_once(app: &App) -> CliResult<()> {
    sweep::fan_out(app).await?;
    loop {
        let batch = app.stores.queues.receive(QueueKind::Sweep, 10).await?;
        if batch.is_empty() {
            return Ok(());
        }
        for m in batch {
            let parsed = serde_json::from_str::<crmsync_service::messages::SweepMessage>(&m.body)
                .ok()
                .and_then(|p| stack::ids(&p.tenant, &p.connection).ok());
            if let Some((t, c)) = parsed {
                match sweep::sweep_connection(app, &t, &c).await {
                    Ok(run) => tracing::info!(
                        tenant = t.as_str(),
                        connection = c.as_str(),
                        status = ?run.status,
                        unlinked = run.total().unlinked,
                        "sweep"
                    ),
                    Err(e) => {
                        tracing::warn!(tenant = t.as_str(), connection = c.as_str(), error = %e, "sweep failed")
                    }
                }
            }
            app.stores.queues.ack(QueueKind::Sweep, &m.receipt).await?;
        }
    }
}

/// Sleeps `d`; true when asked to stop.
async fn wait(stop: &mut watch::Receiver<bool>, d: Duration) -> bool {
    if *stop.borrow() {
        return true;
    }
    tokio::select! {
        _ = tokio::time::sleep(d) => *stop.borrow(),
        _ = stop.changed() => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_take_units_and_refuse_nonsense() {
        assert_eq!(parse_duration("90").unwrap(), Duration::from_secs(90));
        assert_eq!(parse_duration("2m").unwrap(), Duration::from_secs(120));
        assert_eq!(parse_duration("500ms").unwrap(), Duration::from_millis(500));
        assert_eq!(parse_duration("1h").unwrap(), Duration::from_secs(3600));
        assert!(parse_duration("0s").is_err());
        assert!(parse_duration("soon").is_err());
        assert!(parse_duration("5d").is_err());
    }
}
