//! `crmsync-sim`: run one seed (`--seed N`) or many (`--seeds N`) of the fault simulation.
//!
//! ```text
//! cargo run -p crmsync-sim -- --seed 1234                 # one seed, its trace
//! cargo run -p crmsync-sim -- --seeds 300 --from 0         # many: seeds/s, faults per kind
//! options: --steps N (40) --records N (4) --profile today|full[+feature|-feature…]
//!          --faults none|sf|store|workers|all[,kind|,-kind…]
//!          --rules standard|crm_wins|app_wins|most_recent[,title=two_way|crm_to_app|app_to_crm][,pull=on|off]
//!                  (default: drawn per seed with the profile feature `rules`, else standard)
//!          --trace (print the trace of every seed) --keep-going (do not stop at the first failure)
//! RUST_LOG=crmsync_service=info prints the service's logs (to stderr) beside the trace.
//! ```

use std::process::ExitCode;
use std::time::Instant;

use crmsync_sim::{FaultSet, Profile, Rules, SimConfig, run_seed};

struct Args {
    seed: Option<u64>,
    seeds: Option<u64>,
    from: u64,
    steps: usize,
    records: usize,
    profile: Profile,
    faults: FaultSet,
    rules: Option<Rules>,
    trace: bool,
    keep_going: bool,
}

fn parse() -> Result<Args, String> {
    let mut args = Args {
        seed: None,
        seeds: None,
        from: 0,
        steps: 40,
        records: 4,
        profile: Profile::TODAY,
        faults: FaultSet::all(),
        rules: None,
        trace: false,
        keep_going: false,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().ok_or_else(|| format!("{flag} needs a value"));
        let number = |v: String| v.parse::<u64>().map_err(|e| format!("{v}: {e}"));
        match flag.as_str() {
            "--seed" => args.seed = Some(number(value()?)?),
            "--seeds" => args.seeds = Some(number(value()?)?),
            "--from" => args.from = number(value()?)?,
            "--steps" => args.steps = number(value()?)? as usize,
            "--records" => args.records = number(value()?)? as usize,
            "--profile" => args.profile = Profile::parse(&value()?)?,
            "--faults" => args.faults = FaultSet::parse(&value()?)?,
            "--rules" => args.rules = Some(Rules::parse(&value()?)?),
            "--trace" => args.trace = true,
            "--keep-going" => args.keep_going = true,
            "-h" | "--help" => {
                return Err("usage: crmsync-sim (--seed N | --seeds N [--from S]) [--steps N] [--records N] [--profile today|full[+feature|-feature...]] [--faults none|sf|store|workers|all[,kind|,-kind...]] [--rules standard|POLICY[,title=RULE][,pull=on|off]] [--trace] [--keep-going]".into());
            }
            other => return Err(format!("unknown argument {other} (try --help)")),
        }
    }
    Ok(args)
}

fn main() -> ExitCode {
    // The service's own logs, for diagnosing one seed: `RUST_LOG=crmsync_service=info`.
    if std::env::var_os("RUST_LOG").is_some() {
        tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
            .with_writer(std::io::stderr)
            .without_time()
            .init();
    }
    let args = match parse() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };
    let config = |seed| SimConfig {
        seed,
        steps: args.steps,
        records: args.records,
        profile: args.profile,
        faults: args.faults.clone(),
        emails: None,
        rules: args.rules,
    };
    if let Some(seed) = args.seed {
        let report = run_seed(&config(seed));
        if report.passed() {
            for line in &report.trace {
                println!("{line}");
            }
            println!(
                "seed {seed}: every invariant holds (trace {})",
                report.trace_hash
            );
            return ExitCode::SUCCESS;
        }
        println!("{}", report.failure_text());
        return ExitCode::FAILURE;
    }
    let count = args.seeds.unwrap_or(100);
    let started = Instant::now();
    let mut totals = crmsync_sim::faults::FaultCounts::default();
    let mut failed = Vec::new();
    for seed in args.from..args.from + count {
        let report = run_seed(&config(seed));
        totals.merge(&report.faults);
        if args.trace {
            for line in &report.trace {
                println!("{line}");
            }
        }
        if !report.passed() {
            println!("{}", report.failure_text());
            failed.push(seed);
            if !args.keep_going {
                break;
            }
        }
    }
    let ran = if failed.is_empty() || args.keep_going {
        count
    } else {
        failed[0] - args.from + 1
    };
    let secs = started.elapsed().as_secs_f64();
    println!(
        "{ran} seed(s) in {secs:.1}s: {:.1} seeds/s; profile {}, faults {}; {} failed {failed:?}",
        ran as f64 / secs.max(1e-9),
        args.profile.name(),
        args.faults.name(),
        failed.len()
    );
    println!("faults injected ({} in all):", totals.total());
    for (kind, n) in &totals.0 {
        println!("  {kind:<32} {n}");
    }
    if failed.is_empty() {
        ExitCode::SUCCESS
    } else {
        for seed in &failed {
            println!("replay: {}", config(*seed).replay_command());
        }
        ExitCode::FAILURE
    }
}
