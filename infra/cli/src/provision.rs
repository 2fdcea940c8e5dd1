//! `crmsync provision`: provisions a connected org (crmsync's key field, the config's
//! `custom_fields`, the `Crmsync_Integration` permission set) through the same use case as
//! `POST /v1/connections/{c}/provision`, against the chosen state.

use crmsync_service::provision;
use crmsync_store::Provisioning;

use crate::error::CliResult;
use crate::tenant::{StateArgs, open_connection};

#[derive(Debug, Clone, clap::Args)]
pub struct ProvisionArgs {
    /// Tenant id.
    #[arg(long)]
    pub tenant: String,
    /// Connection id (e.g. `production`).
    #[arg(long, default_value = "production")]
    pub connection: String,
    #[command(flatten)]
    pub app: crate::cli::ConnectedAppArgs,
    #[command(flatten)]
    pub state: StateArgs,
    /// Print the outcome as JSON.
    #[arg(long)]
    pub json: bool,
}

pub async fn run(args: &ProvisionArgs) -> CliResult<Provisioning> {
    let (app, tenant, connection) =
        open_connection(&args.state, &args.app, &args.tenant, &args.connection).await?;
    Ok(provision::provision(&app, &tenant, &connection).await?)
}

/// One line per fact an admin needs.
pub fn render(p: &Provisioning, json: bool) -> String {
    if json {
        return serde_json::to_string_pretty(p).unwrap_or_default();
    }
    let mut out = format!(
        "provisioning: {}\nchanges:      {}\nkey objects:  {}",
        serde_json::to_value(p.state)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default(),
        p.changes,
        if p.key_objects.is_empty() {
            "none".to_string()
        } else {
            p.key_objects.join(", ")
        }
    );
    if let Some(reason) = &p.reason {
        out.push_str(&format!("\nreason:       {reason}"));
    }
    for issue in &p.issues {
        out.push_str(&format!("\nissue:        {issue}"));
    }
    out
}
