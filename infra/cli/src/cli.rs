//! The command line: `crmsync demo | dev | tenant`.

use clap::{Parser, Subcommand};

use crate::demo::DemoArgs;
use crate::dev::DevArgs;
use crate::tenant::TenantArgs;

/// crmsync: multi-tenant Salesforce sync, run locally.
///
/// `demo` runs the whole job once on this machine (built-in Salesforce emulator, embedded
/// state; no AWS account, org or Docker needed). `dev` serves the same stack on 127.0.0.1
/// to try by hand. `tenant` provisions tenants. Logs: RUST_LOG (default warn).
#[derive(Debug, Parser)]
#[command(name = "crmsync", version, propagate_version = true)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the main job end to end: connect (OAuth), test sync, full sync, push app events,
    /// deletion sweep; print a summary. Takes a few seconds.
    Demo(DemoArgs),
    /// Serve the API, OAuth pages and the emulator on 127.0.0.1 with the poll, push and
    /// sweep running in the background; state kept in .crmsync-dev/state.json.
    Dev(DevArgs),
    /// Create a tenant or rotate its credentials (printed once).
    Tenant(TenantArgs),
    /// Provision a connected org: crmsync's key field, the config's custom fields and the
    /// Crmsync_Integration permission set (idempotent; a refusal is recorded and shown).
    Provision(crate::provision::ProvisionArgs),
    /// Import many records of one app object at once through a Bulk API 2.0 ingest job;
    /// waits for the results and prints each failure with its reason.
    Import(crate::import::ImportArgs),
}

/// The connected app crmsync signs in with (`--client-id`, `--client-secret`); the
/// emulator's demo app when unset.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct ConnectedAppArgs {
    /// Connected app consumer key (required with --sf-login-url).
    #[arg(long, value_name = "ID", env = "CRMSYNC_SF_CLIENT_ID")]
    pub client_id: Option<String>,
    /// Connected app consumer secret.
    #[arg(
        long,
        value_name = "SECRET",
        env = "CRMSYNC_SF_CLIENT_SECRET",
        hide_env_values = true
    )]
    pub client_secret: Option<crmsync_store::Secret>,
}

impl ConnectedAppArgs {
    /// The consumer key, which a real org (`--sf-login-url`) needs.
    pub fn required_client_id(&self) -> crate::error::CliResult<String> {
        self.client_id.clone().ok_or_else(|| {
            crate::error::CliError::usage(
                "--client-id",
                "required with --sf-login-url (or set CRMSYNC_SF_CLIENT_ID)",
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use clap::{CommandFactory, Parser};

    use super::*;

    #[test]
    fn the_command_line_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn client_secrets_never_show_in_debug_output() {
        let cli = Cli::parse_from([
            "crmsync",
            "demo",
            "--sf-login-url",
            "https://login.example",
            "--client-id",
            "id",
            "--client-secret",
            "hunter2",
        ]);
        let shown = format!("{cli:?}");
        assert!(!shown.contains("hunter2"), "{shown}");
        let Command::Demo(args) = cli.command else {
            panic!("demo")
        };
        let opts = args.stack_options().unwrap();
        assert!(!format!("{opts:?}").contains("hunter2"));
    }

    #[test]
    fn state_and_aws_endpoint_exclude_each_other() {
        let err = Cli::try_parse_from([
            "crmsync",
            "demo",
            "--state",
            "x.json",
            "--aws-endpoint",
            "http://127.0.0.1:5000",
        ])
        .unwrap_err();
        assert!(err.to_string().contains("--aws-endpoint"), "{err}");
    }
}
