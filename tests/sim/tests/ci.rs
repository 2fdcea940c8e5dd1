//! CI: fixed ranges of seeds under the strongest configuration that holds on today's code,
//! and the determinism check (one seed twice, same trace hash). Both configurations run
//! again, on fewer seeds, with the connection provisioned (creates upsert by crmsync's key),
//! and with both sides editing person Titles (`+contested`).
//!
//! Every fault kind runs in both configurations (`all`). The configurations once left out
//! faults that found defects, now fixed and pinned in `known_defects.rs`: the API limit
//! (seed 910: a fresh event ahead of parked replays in one batch), revoked tokens (the
//! sim's reconnect now survives a refused callback), and with deals the faults that leave
//! a committed create unlinked while a poll runs (seeds 201, 426). `push_visibility_race`
//! is impossible on AWS (push Lambda timeout 120 s < visibility 720 s) but holds, so it
//! runs too.

use crmsync_sim::{FaultSet, Profile, SimConfig, run_seed};

/// Every fault kind and every profile feature but demo sets and sales; each seed draws
/// the tenant's rules (conflict policy, Title direction, person pulls).
const PEOPLE_PROFILE: &str =
    "today+deletes_and_sweeps+records_without_email+phone_variants+bursts+rules";
const PEOPLE_FAULTS: &str = "all";
const PEOPLE_SEEDS: u64 = 300;

/// Demo sets (repeated cycles included) and sales with every other feature and drawn rules.
const DEALS_PROFILE: &str = "full+rules";
const DEALS_FAULTS: &str = "all";
const DEALS_SEEDS: u64 = 200;

/// Both configurations again with the connection provisioned (issue 12: creates upsert
/// by crmsync's key, matching tries it first), on a seed range of their own.
const PROVISIONED: &str = "+provisioned";
const PROVISIONED_SEEDS: u64 = 100;
const PROVISIONED_FROM: u64 = 10_000;

/// Both configurations again with both sides editing person Titles (`+contested`: the
/// conflict policy decides), on a small range: 0 of 1,000 seeds failed at 40 steps per
/// configuration (README "Long runs").
const CONTESTED: &str = "+contested";
const CONTESTED_SEEDS: u64 = 100;
/// Both configurations again with owners on both sides (`keep_owner_field` too), the
/// tenant's create/update toggles and activities (calls and emails as Tasks, re-sends,
/// `WAITING_FOR_LINK`), on a seed range of their own.
const TOGGLES_ACTIVITIES: &str = "+owners+toggles+activities";
const TOGGLES_ACTIVITIES_SEEDS: u64 = 100;
const TOGGLES_ACTIVITIES_FROM: u64 = 20_000;

const CI_STEPS: usize = 30;

fn config(seed: u64, profile: &str, faults: &str) -> SimConfig {
    SimConfig {
        steps: CI_STEPS,
        profile: Profile::parse(profile).expect("profile"),
        faults: FaultSet::parse(faults).expect("fault list"),
        ..SimConfig::new(seed)
    }
}

fn assert_seeds_hold(seeds: u64, profile: &str, faults: &str) {
    assert_seed_range_holds(0..seeds, profile, faults);
}

fn assert_seed_range_holds(range: std::ops::Range<u64>, profile: &str, faults: &str) {
    let seeds = range.end - range.start;
    let started = std::time::Instant::now();
    let mut failures = Vec::new();
    for seed in range {
        let report = run_seed(&config(seed, profile, faults));
        if !report.passed() {
            failures.push(report.failure_text());
        }
    }
    eprintln!(
        "{seeds} seeds ({profile}; {faults}) in {:.1}s",
        started.elapsed().as_secs_f64()
    );
    assert!(
        failures.is_empty(),
        "{} of {seeds} seeds failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn ci_seeds_without_deals_keep_every_invariant_under_every_fault() {
    assert_seeds_hold(PEOPLE_SEEDS, PEOPLE_PROFILE, PEOPLE_FAULTS);
}

#[test]
fn ci_seeds_with_demo_sets_and_sales_keep_every_invariant() {
    assert_seeds_hold(DEALS_SEEDS, DEALS_PROFILE, DEALS_FAULTS);
}

fn assert_provisioned_seeds_hold(profile: &str, faults: &str) {
    let range = PROVISIONED_FROM..PROVISIONED_FROM + PROVISIONED_SEEDS;
    assert_seed_range_holds(range, &format!("{profile}{PROVISIONED}"), faults);
}

#[test]
fn ci_seeds_provisioned_without_deals_keep_every_invariant() {
    assert_provisioned_seeds_hold(PEOPLE_PROFILE, PEOPLE_FAULTS);
}

#[test]
fn ci_seeds_provisioned_with_demo_sets_and_sales_keep_every_invariant() {
    assert_provisioned_seeds_hold(DEALS_PROFILE, DEALS_FAULTS);
}

#[test]
fn ci_seeds_contested_without_deals_keep_every_invariant() {
    let profile = format!("{PEOPLE_PROFILE}{CONTESTED}");
    assert_seeds_hold(CONTESTED_SEEDS, &profile, PEOPLE_FAULTS);
}

#[test]
fn ci_seeds_contested_with_demo_sets_and_sales_keep_every_invariant() {
    let profile = format!("{DEALS_PROFILE}{CONTESTED}");
    assert_seeds_hold(CONTESTED_SEEDS, &profile, DEALS_FAULTS);
}

fn assert_toggles_activities_seeds_hold(profile: &str, faults: &str) {
    let range = TOGGLES_ACTIVITIES_FROM..TOGGLES_ACTIVITIES_FROM + TOGGLES_ACTIVITIES_SEEDS;
    assert_seed_range_holds(range, &format!("{profile}{TOGGLES_ACTIVITIES}"), faults);
}

#[test]
fn ci_seeds_with_toggles_and_activities_keep_every_invariant() {
    assert_toggles_activities_seeds_hold(PEOPLE_PROFILE, PEOPLE_FAULTS);
}

#[test]
fn ci_seeds_with_deals_toggles_and_activities_keep_every_invariant() {
    assert_toggles_activities_seeds_hold(DEALS_PROFILE, DEALS_FAULTS);
}

/// Provisioned seeds that found defects, at the long run's 40 steps: 305, 437, 1789 and
/// 1890 (a keyed single create carrying a create-only field, `Opportunity.ContactId`,
/// upserted over the record its lost response had committed:
/// `INVALID_FIELD_FOR_INSERT_UPDATE`); 13316 (a racing worker's redelivered sale moved
/// the person's Opportunity link back from the next demo cycle's, so the next sale
/// closed nothing).
#[test]
fn provisioned_seeds_that_found_defects_hold() {
    let profile = format!("{DEALS_PROFILE}{PROVISIONED}");
    for seed in [305, 437, 1789, 1890, 13316] {
        let report = run_seed(&SimConfig {
            steps: 40,
            ..config(seed, &profile, DEALS_FAULTS)
        });
        assert!(report.passed(), "{}", report.failure_text());
    }
}

/// Deals seeds that found a defect in Lead conversion, in both modes, at 40 steps: the
/// push worker killed while a converted Lead's links moved left the person linked to its
/// Contact but not yet to the conversion's Opportunity, so the retried sale created a
/// second one (now the Contact link is written last, and the retry finishes the move).
#[test]
fn conversion_seeds_that_found_defects_hold() {
    for profile in [
        DEALS_PROFILE.to_string(),
        format!("{DEALS_PROFILE}{PROVISIONED}"),
    ] {
        for seed in [20535, 20775, 22856, 23305] {
            let report = run_seed(&SimConfig {
                steps: 40,
                ..config(seed, &profile, DEALS_FAULTS)
            });
            assert!(report.passed(), "{}", report.failure_text());
        }
    }
}

#[test]
fn a_seed_replays_to_the_same_trace() {
    for (seed, profile, faults) in [
        (3, PEOPLE_PROFILE, PEOPLE_FAULTS),
        (11, PEOPLE_PROFILE, PEOPLE_FAULTS),
        (7, DEALS_PROFILE, DEALS_FAULTS),
        (
            5,
            format!("{DEALS_PROFILE}{PROVISIONED}").as_str(),
            DEALS_FAULTS,
        ),
        (
            20_000,
            format!("{PEOPLE_PROFILE}{TOGGLES_ACTIVITIES}").as_str(),
            PEOPLE_FAULTS,
        ),
        (
            20_001,
            format!("{DEALS_PROFILE}{TOGGLES_ACTIVITIES}").as_str(),
            DEALS_FAULTS,
        ),
    ] {
        let first = run_seed(&config(seed, profile, faults));
        let second = run_seed(&config(seed, profile, faults));
        assert_eq!(
            first.trace_hash,
            second.trace_hash,
            "seed {seed} is not deterministic:\n{}\n---\n{}",
            first.trace.join("\n"),
            second.trace.join("\n")
        );
        assert!(first.trace.len() > CI_STEPS / 2, "{:?}", first.trace);
    }
}

#[test]
fn the_ci_configurations_spell_out_as_replayable_options() {
    for (profile, faults) in [
        (PEOPLE_PROFILE, PEOPLE_FAULTS),
        (DEALS_PROFILE, DEALS_FAULTS),
        (
            format!("{DEALS_PROFILE}{PROVISIONED}").as_str(),
            DEALS_FAULTS,
        ),
        (
            format!("{PEOPLE_PROFILE}{TOGGLES_ACTIVITIES}").as_str(),
            PEOPLE_FAULTS,
        ),
        (
            format!("{DEALS_PROFILE}{TOGGLES_ACTIVITIES}").as_str(),
            DEALS_FAULTS,
        ),
    ] {
        let config = config(0, profile, faults);
        let again = Profile::parse(&config.profile.name()).expect("profile name parses");
        assert_eq!(again, config.profile);
        let again = FaultSet::parse(&config.faults.name()).expect("fault name parses");
        assert_eq!(again, config.faults);
    }
}
