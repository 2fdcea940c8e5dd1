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
}
