//! `crmsync tenant create|rotate`: provisioning against embedded state or AWS, printing the
//! credentials once (they are stored hashed / in the vault and cannot be shown again).

use std::path::PathBuf;
use std::sync::Arc;

use crmsync_service::tenants::{self, IssuedCredentials};
use crmsync_service::{App, AppCredentials, Settings};
use crmsync_store::{AwsClients, Stores, SystemClock};

use crate::error::{CliError, CliResult};

/// Where the tenant lives.
#[derive(Debug, Clone, clap::Args)]
pub struct StateArgs {
    /// Embedded state file (as used by `crmsync dev`).
    #[arg(long, value_name = "FILE", global = true, conflicts_with_all = ["aws_endpoint", "aws"])]
    pub state: Option<PathBuf>,
    /// AWS adapters at this endpoint (moto); table and queues named `crmsync-dev` are created
    /// if missing.
    #[arg(long, value_name = "URL", global = true, conflicts_with = "aws")]
    pub aws_endpoint: Option<String>,
    /// Real AWS: the default credential chain and the CRMSYNC_* variables (CRMSYNC_TABLE,
    /// CRMSYNC_PUSH_QUEUE_URL, CRMSYNC_POLL_QUEUE_URL, CRMSYNC_SECRET_PREFIX), as the stack's
    /// outputs name them.
    #[arg(long, global = true)]
    pub aws: bool,
}

#[derive(Debug, Clone, clap::Subcommand)]
pub enum TenantCommand {
    /// Create a tenant and print its API key and webhook secret (shown once).
    Create {
        /// Tenant id: 1 to 64 letters, digits, '-' or '_'.
        #[arg(long)]
        id: String,
        /// Display name.
        #[arg(long)]
        name: String,
    },
    /// Issue a new API key and webhook secret; the old ones stop working at once.
    Rotate {
        #[arg(long)]
        id: String,
    },
}

#[derive(Debug, Clone, clap::Args)]
pub struct TenantArgs {
    #[command(subcommand)]
    pub command: TenantCommand,
    #[command(flatten)]
    pub state: StateArgs,
    /// Print the credentials as JSON.
    #[arg(long, global = true)]
    pub json: bool,
}

/// Default embedded state file, shared with `crmsync dev`.
pub const DEFAULT_STATE_FILE: &str = ".crmsync-dev/state.json";
/// Table and queue name prefix for `--aws-endpoint`.
pub const LOCAL_AWS_NAME: &str = "crmsync-dev";

/// The app over the chosen state with the connected app's credentials (the demo's by
/// default), and the connection named by `--tenant` and `--connection`: what the
/// commands that talk to one connection's org start with.
pub async fn open_connection(
    state: &StateArgs,
    connected_app: &crate::cli::ConnectedAppArgs,
    tenant: &str,
    connection: &str,
) -> CliResult<(
    Arc<App>,
    crmsync_store::TenantId,
    crmsync_store::ConnectionId,
)> {
    let opened = open_app(state).await?;
    let credentials = AppCredentials {
        client_id: connected_app
            .client_id
            .clone()
            .unwrap_or_else(|| sf_emulator::demo::CLIENT_ID.to_string()),
        client_secret: Some(match &connected_app.client_secret {
            Some(s) => s.expose().to_string(),
            None => sf_emulator::demo::CLIENT_SECRET.to_string(),
        }),
    };
    let app = Arc::new(App::new(
        opened.settings.clone(),
        opened.stores.clone(),
        credentials,
    )?);
    let tenant = crmsync_store::TenantId::new(tenant)
        .map_err(|e| CliError::usage("--tenant", e.to_string()))?;
    let connection = crmsync_store::ConnectionId::new(connection)
        .map_err(|e| CliError::usage("--connection", e.to_string()))?;
    Ok((app, tenant, connection))
}

/// Opens the app over the chosen state (no Salesforce access is needed to provision).
pub async fn open_app(state: &StateArgs) -> CliResult<Arc<App>> {
    let mut settings = Settings::default();
    let stores = if state.aws {
        settings = Settings::from_env()?;
        Stores::aws_from_env().await?
    } else if let Some(endpoint) = &state.aws_endpoint {
        let clients = AwsClients::with_endpoint(endpoint).await;
        let aws = crmsync_store::bootstrap::bootstrap(&clients, LOCAL_AWS_NAME).await?;
        settings.table = aws.table.clone();
        settings.push_queue_url = aws.push_queue_url.clone();
        settings.poll_queue_url = aws.poll_queue_url.clone();
        settings.secret_prefix = aws.secret_prefix.clone();
        Stores::aws_with_clock(&clients, &aws, Arc::new(SystemClock))
    } else {
        let path = state
            .state
            .clone()
            .unwrap_or_else(|| PathBuf::from(DEFAULT_STATE_FILE));
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| CliError::Io {
                path: dir.display().to_string(),
                message: e.to_string(),
            })?;
        }
        Stores::embedded(Some(path)).await?
    };
    let credentials = AppCredentials {
        client_id: String::new(),
        client_secret: None,
    };
    Ok(Arc::new(App::new(settings, stores, credentials)?))
}

pub async fn run(args: &TenantArgs) -> CliResult<IssuedCredentials> {
    let app = open_app(&args.state).await?;
    match &args.command {
        TenantCommand::Create { id, name } => Ok(tenants::create_tenant(&app, id, name).await?),
        TenantCommand::Rotate { id } => {
            let tenant = tenants::parse_tenant_id(id)?;
            Ok(tenants::rotate_credentials(&app, &tenant).await?)
        }
    }
}

/// The credentials, once, with a reminder that they cannot be shown again.
pub fn render(c: &IssuedCredentials, json: bool) -> String {
    if json {
        return serde_json::to_string_pretty(c).unwrap_or_default();
    }
    format!(
        "tenant:          {}\napi key:         {}\nwebhook secret:  {}\n\n\
         Store both now: crmsync keeps only a hash of the API key and will not show either again\n\
         (`crmsync tenant rotate --id {}` issues new ones).",
        c.tenant_id, c.api_key, c.webhook_secret, c.tenant_id
    )
}
