//! `cargo run -p crmsync-bench -- [--quick] [--events N] [--idle-polls N]`: prints the
//! exact Salesforce API call table of issue 11.

use crmsync_bench::{Options, run, scheduler, table};
use crmsync_e2e::Backend;

fn usage() -> ! {
    eprintln!(
        "usage: crmsync-bench [--quick] [--events N] [--idle-polls N] [--connections N] [--scheduler-moto] [--scheduler-only]"
    );
    std::process::exit(2)
}

/// The scheduler row: how many connections, on which backend (moto needs
/// `source infra/scripts/moto.sh`).
fn parse() -> (Options, usize, Backend, bool) {
    let mut options = Options::FULL;
    let (mut connections, mut backend, mut only) = (10_000, Backend::Embedded, false);
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut number = || -> usize {
            args.next()
                .and_then(|v| v.parse().ok())
                .filter(|&n| n > 0)
                .unwrap_or_else(|| usage())
        };
        match arg.as_str() {
            "--quick" => (options, connections) = (Options::QUICK, 1_000),
            "--connections" => connections = number(),
            "--scheduler-moto" => backend = Backend::Aws,
            "--scheduler-only" => only = true,
            "--events" => options.events = number(),
            "--idle-polls" => options.idle_polls = number(),
            _ => usage(),
        }
    }
    (options, connections, backend, only)
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let (options, connections, backend, only) = parse();
    if !only {
        println!("{}", table(&run(options).await));
    }
    let pass = scheduler::scheduler_pass(backend, connections).await;
    println!("{}", scheduler::row(&pass));
}
