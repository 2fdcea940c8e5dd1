//! `crmsync`: wiring only; the commands live in the library.

use clap::Parser;
use crmsync_cli::cli::{Cli, Command};
use crmsync_cli::output::Progress;
use crmsync_cli::{demo, dev, import, provision, report, tenant};

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let default_level = match cli.command {
        Command::Dev(_) => "info",
        _ => "warn",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default_level));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
    let result = match &cli.command {
        Command::Demo(args) => demo::run_demo(args, Progress::Stderr)
            .await
            .map(|s| println!("{}", report::render_demo(&s, args.json))),
        Command::Dev(args) => dev::run(args).await,
        Command::Tenant(args) => tenant::run(args)
            .await
            .map(|c| println!("{}", tenant::render(&c, args.json))),
        Command::Provision(args) => provision::run(args)
            .await
            .map(|p| println!("{}", provision::render(&p, args.json))),
        Command::Import(args) => import::run(args)
            .await
            .map(|s| println!("{}", import::render(&s, args.json))),
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("\ncrmsync: error: {e}");
            if e.is_retryable() {
                eprintln!("(this looks temporary; trying again may work)");
            }
            std::process::ExitCode::FAILURE
        }
    }
}
