//! `cargo run -p crmsync-bench -- [--quick] [--events N] [--idle-polls N]`: prints the
//! exact Salesforce API call table of issue 11.

use crmsync_bench::{Options, run, table};

fn usage() -> ! {
    eprintln!(
        "usage: crmsync-bench [--quick] [--events N] [--idle-polls N] [--backfill N]... [--backfill-only]"
    );
    std::process::exit(2)
}

/// Backfill sizes (`--backfill N`, repeatable) and whether to skip the push workloads.
#[derive(Default)]
struct Backfills {
    sizes: Vec<usize>,
    only: bool,
    quick: bool,
}

fn parse(backfills: &mut Backfills) -> Options {
    let mut options = Options::FULL;
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
                options = Options::QUICK;
                backfills.quick = true;
            }
            "--events" => options.events = number(),
            "--idle-polls" => options.idle_polls = number(),
            "--backfill" => backfills.sizes.push(number()),
            "--backfill-only" => backfills.only = true,
            _ => usage(),
        }
    }
    options
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let mut backfills = Backfills::default();
    let options = parse(&mut backfills);
    if !backfills.only {
        let report = run(options).await;
        println!("{}", table(&report));
    }
    if backfills.sizes.is_empty() {
        let sizes = if backfills.quick {
            crmsync_bench::backfill::QUICK
        } else {
            crmsync_bench::backfill::FULL
        };
        backfills.sizes = sizes.to_vec();
    }
    let mut rows = Vec::new();
    for n in backfills.sizes {
        rows.push(crmsync_bench::backfill::backfill(n).await);
    }
    println!("{}", crmsync_bench::backfill::table(&rows));
}
