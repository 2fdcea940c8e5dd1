//! `cargo run -p crmsync-bench -- [--quick] [--events N] [--idle-polls N]`: prints the
//! exact Salesforce API call table of issue 11.

use crmsync_bench::{Options, run, table};

fn usage() -> ! {
    eprintln!("usage: crmsync-bench [--quick] [--events N] [--idle-polls N]");
    std::process::exit(2)
}

fn parse() -> Options {
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
            "--quick" => options = Options::QUICK,
            "--events" => options.events = number(),
            "--idle-polls" => options.idle_polls = number(),
            _ => usage(),
        }
    }
    options
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let options = parse();
    let report = run(options).await;
    println!("{}", table(&report));
    let latency = crmsync_bench::latency::run(options.events.clamp(20, 100)).await;
    println!("{}", crmsync_bench::latency::table(&latency));
}
