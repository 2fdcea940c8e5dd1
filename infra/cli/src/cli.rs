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
