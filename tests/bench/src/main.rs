//! `cargo run -p crmsync-bench -- [--quick] [--events N] [--idle-polls N] …`: prints the
//! exact Salesforce API call table of issue 11, push latency, the backfill rows and one
//! scheduler pass.

use crmsync_bench::{
    Options, activities, backfill, conversion, import, latency, run, scheduler, table,
};
use crmsync_e2e::Backend;

fn usage() -> ! {
    eprintln!(
        "usage: crmsync-bench [--quick] [--events N] [--idle-polls N] [--backfill N]... \
         [--backfill-only] [--import N] [--connections N] [--scheduler-moto] [--scheduler-embedded-queue] [--scheduler-drain WORKERS] [--scheduler-only]"
    );
    std::process::exit(2)
}

/// What to run: the push/idle workloads (`options`), backfill sizes, and the scheduler pass.
struct Cli {
    options: Options,
    quick: bool,
    backfills: Vec<usize>,
    backfill_only: bool,
    /// `--import N`: only the import rows, of these sizes.
    imports: Vec<usize>,
    /// Connections in the scheduler row, and on which backend (moto needs
    /// `source infra/scripts/moto.sh`).
    connections: usize,
    scheduler_backend: Backend,
    scheduler_only: bool,
    /// Scheduler on moto with the poll queue embedded (moto's SQS slows with depth).
    scheduler_embedded_queue: bool,
    /// Poll workers draining the poll queue during the pass (0: none).
    scheduler_drain: usize,
}

fn parse() -> Cli {
    let mut cli = Cli {
        options: Options::FULL,
        quick: false,
        backfills: Vec::new(),
        backfill_only: false,
        imports: Vec::new(),
        connections: 10_000,
        scheduler_backend: Backend::Embedded,
        scheduler_only: false,
        scheduler_embedded_queue: false,
        scheduler_drain: 0,
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut number = || -> usize {
            args.next()
                .and_then(|v| v.parse().ok())
                .filter(|&n| n > 0)
                .unwrap_or_else(|| usage())
        };
        match arg.as_str() {
            "--quick" => {
                (cli.options, cli.connections, cli.quick) = (Options::QUICK, 1_000, true);
            }
            "--events" => cli.options.events = number(),
            "--idle-polls" => cli.options.idle_polls = number(),
            "--backfill" => cli.backfills.push(number()),
            "--backfill-only" => cli.backfill_only = true,
            "--import" => cli.imports.push(number()),
            "--connections" => cli.connections = number(),
            "--scheduler-moto" => cli.scheduler_backend = Backend::Aws,
            "--scheduler-only" => cli.scheduler_only = true,
            "--scheduler-embedded-queue" => cli.scheduler_embedded_queue = true,
            "--scheduler-drain" => cli.scheduler_drain = number(),
            _ => usage(),
        }
    }
    cli
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let cli = parse();
    if !cli.imports.is_empty() {
        let rows = import_rows(&cli.imports).await;
        println!("{}", import::table(&rows));
        return;
    }
    let only_one = cli.backfill_only || cli.scheduler_only;
    if !only_one {
        println!("{}", table(&run(cli.options).await));
        let activities = activities::activities(cli.options.events).await;
        println!("{}\n", activities::row(&activities));
        let conversion = conversion::sales_of_leads(cli.options.events.min(100)).await;
        println!("{}\n", conversion::row(&conversion));
        let sites = crmsync_bench::sites::sales_with_sites(cli.options.events.min(100)).await;
        println!("{}\n", crmsync_bench::sites::rows(&sites));
        let latency = latency::run(cli.options.events.clamp(20, 100)).await;
        println!("{}", latency::table(&latency));
    }
    if !cli.scheduler_only {
        let sizes = match (cli.backfills.is_empty(), cli.quick) {
            (false, _) => cli.backfills.clone(),
            (true, true) => backfill::QUICK.to_vec(),
            (true, false) => backfill::FULL.to_vec(),
        };
        let mut rows = Vec::new();
        for n in sizes {
            rows.push(backfill::backfill(n).await);
        }
        println!("{}", backfill::table(&rows));
        let sizes = if cli.quick {
            import::QUICK
        } else {
            import::FULL
        };
        let mut rows = Vec::new();
        for &n in sizes {
            rows.push(import::import(n).await);
        }
        println!("{}", import::table(&rows));
    }
    if !cli.backfill_only {
        let pass = scheduler::scheduler_pass_drained(
            cli.scheduler_backend,
            cli.connections,
            cli.scheduler_embedded_queue,
            cli.scheduler_drain,
        )
        .await;
        println!("{}", scheduler::row(&pass));
    }
}

async fn import_rows(sizes: &[usize]) -> Vec<import::Import> {
    let mut rows = Vec::new();
    for &n in sizes {
        rows.push(import::import(n).await);
    }
    rows
}
