//! Known defects of issue 10, each pinned as a scripted scenario with the fault that
//! exposes it. Each test asserts the invariant; it fails until the defect is fixed (except
//! `..._still_present`, which pins a defect found here that nobody is fixing yet).
//! Run one: `cargo test -p crmsync-sim --test known_defects <name>`.

use crmsync_sim::{Fault, FaultSet, Profile, SfFault, SimConfig, Step, run_script};

fn config(emails: bool) -> SimConfig {
    SimConfig {
        records: 1,
        profile: Profile::FULL,
        faults: FaultSet::none(),
        emails: Some(emails),
        ..SimConfig::new(0)
    }
}

fn drain() -> Step {
    Step::DrainPush { fault: None }
}

/// Runs the scripted scenario and asserts that invariant `invariant` holds (other
/// invariants may be broken by other known defects on the same path).
fn assert_holds(name: &str, invariant: u8, emails: bool, steps: Vec<Step>) {
    let report = run_script(&config(emails), steps);
    assert!(
        report.violations.iter().all(|v| v.invariant != invariant),
        "pinned scenario {name} (cargo test -p crmsync-sim --test known_defects {name}) breaks invariant {invariant}:\n{}",
        report.failure_text()
    );
}

/// The long run's seeds (40 steps, 4 records, every fault) of `profile`s.
fn seeds_hold(seeds: &[(u64, &str)]) {
    for &(seed, profile) in seeds {
        let config = SimConfig {
            steps: 40,
            records: 4,
            profile: Profile::parse(profile).expect("profile"),
            faults: FaultSet::all(),
            emails: None,
            ..SimConfig::new(seed)
        };
        let report = crmsync_sim::run_seed(&config);
        assert!(
            report.passed(),
            "seed {seed} ({profile}): {}",
            report.failure_text()
        );
    }
}

/// The push worker is killed at each store call of a demo set in turn (a Lambda timeout);
/// killed after the Opportunity's create and before its link, the redelivery creates it
/// again.
#[test]
fn redelivered_demo_set_creates_a_second_opportunity() {
    for at_call in 0..40 {
        assert_holds(
            "redelivered_demo_set_creates_a_second_opportunity",
            1,
            true,
            vec![
                Step::AppCreate { app: 0 },
                drain(),
                Step::AppDemoSet { app: 0 },
                Step::DrainPush {
                    fault: Some(Fault::WorkerKilled { at_call }),
                },
            ],
        );
    }
}

/// The same for a sale: killed between the line items' creates and the report, the
/// redelivery creates the line items again.
#[test]
fn redelivered_sale_creates_line_items_again() {
    for at_call in 0..40 {
        assert_holds(
            "redelivered_sale_creates_line_items_again",
            1,
            true,
            vec![
                Step::AppCreate { app: 0 },
                drain(),
                Step::AppSale { app: 0, items: 3 },
                Step::DrainPush {
                    fault: Some(Fault::WorkerKilled { at_call }),
                },
            ],
        );
    }
}

/// A second demo set makes a second Opportunity but the link stays on the first, so the
/// sale closes the old one.
#[test]
fn second_demo_set_leaves_the_sale_on_the_old_opportunity() {
    assert_holds(
        "second_demo_set_leaves_the_sale_on_the_old_opportunity",
        2,
        true,
        vec![
            Step::AppCreate { app: 0 },
            drain(),
            Step::AppDemoSet { app: 0 },
            drain(),
            Step::AppDemoSet { app: 0 },
            drain(),
            Step::AppSale { app: 0, items: 1 },
            drain(),
        ],
    );
}

/// Parked while tokens were revoked, older updates replay after newer ones and win
/// (pinned as the random seed that found it).
#[test]
fn parked_update_replays_after_a_newer_one_and_wins() {
    let config = SimConfig {
        steps: 40,
        records: 4,
        profile: Profile::TODAY,
        faults: FaultSet::parse("sf_5xx,sf_tokens_revoked").expect("faults"),
        emails: None,
        ..SimConfig::new(11)
    };
    let report = crmsync_sim::run_seed(&config);
    assert!(
        report.violations.iter().all(|v| v.invariant != 4),
        "{}",
        report.failure_text()
    );
}

/// An Account linked under a contact's push is emitted as `{company, <the contact's id>}`.
#[test]
fn poll_tags_an_account_with_the_contacts_id() {
    assert_holds(
        "poll_tags_an_account_with_the_contacts_id",
        3,
        true,
        vec![
            Step::AppCreate { app: 0 },
            drain(),
            Step::AppDemoSet { app: 0 },
            drain(),
            Step::Advance { secs: 61 },
            Step::Poll { fault: None },
            Step::SfEditAccount {
                app: 0,
                website: "https://edited.example".into(),
            },
            Step::Advance { secs: 61 },
            Step::Poll { fault: None },
        ],
    );
}

/// The sweep asks the app to clear two-way fields of a record deleted in Salesforce.
#[test]
fn sweep_asks_the_app_to_clear_two_way_fields() {
    assert_holds(
        "sweep_asks_the_app_to_clear_two_way_fields",
        5,
        true,
        vec![
            Step::AppCreate { app: 0 },
            drain(),
            Step::Advance { secs: 61 },
            Step::Poll { fault: None },
            Step::SfDelete { app: 0 },
            Step::Advance { secs: 120 },
            Step::Sweep { fault: None },
        ],
    );
}

/// "(555) 010-0100" in Salesforce never matches the app's "+1 555 010 0100": a second Lead.
#[test]
fn phone_matching_compares_exact_text() {
    assert_holds(
        "phone_matching_compares_exact_text",
        1,
        false,
        vec![
            Step::SfPreexistingLead { app: 0 },
            Step::AppCreate { app: 0 },
            drain(),
        ],
    );
}

/// Found by the simulation: once a poll or push saw the limit spent, the stored
/// `Sforce-Limit-Info` (used = max) pauses every later run, and nothing refreshes it while
/// paused, so the connection stays `QUOTA_PAUSED` after the limit resets.
#[test]
fn spent_api_limit_pauses_the_connection_for_good() {
    assert_holds(
        "spent_api_limit_pauses_the_connection_for_good",
        6,
        true,
        vec![
            Step::AppCreate { app: 0 },
            drain(),
            Step::Poll {
                fault: Some(Fault::Salesforce(SfFault::ApiLimitExhausted)),
            },
            Step::SfApiLimitReset,
            Step::AppUpdate { app: 0 },
        ],
    );
}

/// Found by CI seed 249: an update is written to Salesforce, then linking its result fails
/// (a store write at any call); a poll before the redelivery read crmsync's own write as a
/// Salesforce user's change, newer than the app's next edits, and the conflict policy then
/// dropped them: Salesforce kept the older first name.
#[test]
fn a_poll_between_a_committed_update_and_its_link_takes_crmsyncs_write_for_a_users() {
    for at_call in 0..30 {
        assert_holds(
            "a_poll_between_a_committed_update_and_its_link_takes_crmsyncs_write_for_a_users",
            4,
            true,
            vec![
                Step::AppCreate { app: 0 },
                drain(),
                Step::Advance { secs: 61 },
                Step::Poll { fault: None },
                // Three edits queued before the worker runs: it writes the first, then fails.
                Step::AppUpdate { app: 0 },
                Step::AppUpdate { app: 0 },
                Step::AppUpdate { app: 0 },
                Step::Advance { secs: 1 },
                Step::DrainPush {
                    fault: Some(Fault::Store {
                        at_call,
                        after_commit: false,
                    }),
                },
                Step::Advance { secs: 61 },
                Step::Poll { fault: None },
            ],
        );
    }
}

/// The same parked-replay defect through the API limit: events parked while the limit was
/// spent replay after newer updates of the same record and win (seed that found it).
#[test]
fn parked_after_the_api_limit_replays_out_of_order() {
    let config = SimConfig {
        steps: 30,
        records: 4,
        profile: Profile::TODAY,
        faults: FaultSet::parse("sf_api_limit_exhausted").expect("faults"),
        emails: None,
        ..SimConfig::new(21)
    };
    let report = crmsync_sim::run_seed(&config);
    assert!(
        report.violations.iter().all(|v| v.invariant != 4),
        "{}",
        report.failure_text()
    );
}

/// Found by the simulation: a push worker stalls past its messages' visibility timeout and
/// a second worker pushes the same batch; its re-push of a contact's `create` landed after
/// the first worker's newer `update`, and the older FirstName won (invariant 4). Per-field
/// change times on the link now refuse the older write (`SUPERSEDED`). Only on the
/// embedded queue (30 s visibility); on AWS the push Lambda's 120 s timeout is below the
/// queue's 720 s.
/// Replay: `cargo run -p crmsync-sim -- --seed 5 --steps 30 --records 4 --profile today --faults push_visibility_race`
#[test]
fn push_visibility_race_keeps_the_newer_update() {
    let config = SimConfig {
        steps: 30,
        records: 4,
        profile: Profile::TODAY,
        faults: FaultSet::parse("push_visibility_race").expect("faults"),
        emails: None,
        ..SimConfig::new(5)
    };
    let report = crmsync_sim::run_seed(&config);
    assert!(
        report.violations.iter().all(|v| v.invariant != 4),
        "{}",
        report.failure_text()
    );
}

/// Found by deals seeds 201 and 426: a create commits in Salesforce, then the worker dies
/// before linking it (killed at each store call in turn); a poll before the redelivery took
/// crmsync's own new record for a Salesforce user's (a new app `deal` / `company`), and the
/// redelivery, finding it linked to that record, created the Opportunity and its line items
/// again. The write intent now names the records it is creating; the poll links such a
/// record to the intent's app record.
#[test]
fn a_poll_between_a_committed_create_and_its_link_makes_a_second_record() {
    for (sale, at_call) in [false, true]
        .into_iter()
        .flat_map(|sale| (0..40).map(move |c| (sale, c)))
    {
        let deal = if sale {
            Step::AppSale { app: 0, items: 2 }
        } else {
            Step::AppDemoSet { app: 0 }
        };
        assert_holds(
            "a_poll_between_a_committed_create_and_its_link_makes_a_second_record",
            1,
            true,
            vec![
                Step::AppCreate { app: 0 },
                drain(),
                Step::Advance { secs: 61 },
                Step::Poll { fault: None },
                deal,
                Step::DrainPush {
                    fault: Some(Fault::WorkerKilled { at_call }),
                },
                Step::Advance { secs: 5 },
                Step::Poll { fault: None },
            ],
        );
    }
}

/// Found by a 40-step long run with the API limit (seed 910): while the limit was spent a
/// record's updates parked; a newer update queued before the poll replayed them landed in
/// the same push batch ahead of the replays, and the older replays (same app time) then
/// overwrote it. A fresh event now waits behind a parked event of its record unless that
/// one is ahead of it in the batch.
#[test]
fn a_newer_event_ahead_of_the_replay_in_a_batch_is_overwritten() {
    let config = SimConfig {
        steps: 40,
        records: 4,
        profile: Profile::parse(
            "today+deletes_and_sweeps+records_without_email+phone_variants+bursts",
        )
        .expect("profile"),
        faults: FaultSet::parse("all,-push_visibility_race,-sf_tokens_revoked").expect("faults"),
        emails: None,
        ..SimConfig::new(910)
    };
    let report = crmsync_sim::run_seed(&config);
    assert!(report.passed(), "{}", report.failure_text());
}

/// Seeds found once CI ran every fault kind (30 steps, 4 records), each with what it found:
/// - people seed 220, deals seed 83: `push_visibility_race`: a second worker pushed a
///   create the first had checked for a report before stalling; the first then created it
///   again after the second reported and cleared its intent. The intent is now written
///   conditionally (a live one refuses a second worker: retried) and re-checked against
///   the report, and an intent younger than the push function's timeout is an attempt
///   still running (retried, never adopted over).
/// - deals seed 32: events of a record queued before a parked replay: once one waits
///   behind the replay, its later ones in the batch must wait too (it overwrote a newer
///   update).
/// - deals seed 96: a refresh race after the grant was revoked (harness: the credential
///   check now knows about the revoke) and the reconnect refused while the API limit is
///   spent (the sim's reconnect no longer panics; the admin retries).
#[test]
fn seeds_found_with_every_fault_kind_hold() {
    const PEOPLE: &str = "today+deletes_and_sweeps+records_without_email+phone_variants+bursts";
    for (seed, profile) in [
        (220, PEOPLE),
        (83, "full"),
        (32, "full"),
        (96, "full"),
        (7, "full"),
    ] {
        let config = SimConfig {
            steps: 30,
            records: 4,
            profile: Profile::parse(profile).expect("profile"),
            faults: FaultSet::parse("all").expect("faults"),
            emails: None,
            ..SimConfig::new(seed)
        };
        let report = crmsync_sim::run_seed(&config);
        assert!(report.passed(), "{}", report.failure_text());
    }
}

/// Found by the 40-step long run with every fault (deals seeds 778, 857, 948, 1026; people
/// seed 778): an event parked while the connection needed a reconnect whose message was
/// also redelivered (acks lost) was pushed by the redelivery and then again by the parked
/// replay, which skipped the report check like an operator's re-push and created the demo
/// set's Opportunity twice. A replay now counts as done once the event is reported.
#[test]
fn a_parked_replay_of_an_event_its_redelivery_finished_writes_again() {
    const PEOPLE: &str = "today+deletes_and_sweeps+records_without_email+phone_variants+bursts";
    // 1554, 1784 (deals) and 2451 (people): settling after a revoke the service had not
    // noticed yet ended NotConnected (harness: settle now reconnects and waits for it).
    seeds_hold(&[
        (857, "full"),
        (778, "full"),
        (778, PEOPLE),
        (1554, "full"),
        (1784, "full"),
        (2451, PEOPLE),
        // Deals 2002: events already reported, redelivered (lost acks) into a batch that
        // hit the API limit, were parked over their Success reports and written again.
        (2002, "full"),
    ]);
}

/// Found by the 40-step long run with every fault (people seed 7884): a worker stalled in
/// a batch of linked updates while the visibility timeout passed; a second worker received
/// the same messages and wrote the record's two updates (e36, then e37); the first then
/// resumed and wrote e36's earlier FirstName over e37's (invariant 4). Updates now take a
/// write intent like creates, so the second worker waits (`InFlight`) while the first
/// attempt may still run, and a resumed attempt finds the event reported.
#[test]
fn a_stalled_worker_writes_an_earlier_update_over_a_racing_workers_later_one() {
    let config = SimConfig {
        steps: 40,
        records: 4,
        profile: Profile::parse(
            "today+deletes_and_sweeps+records_without_email+phone_variants+bursts",
        )
        .expect("profile"),
        faults: FaultSet::parse("all").expect("faults"),
        emails: None,
        ..SimConfig::new(7884)
    };
    let report = crmsync_sim::run_seed(&config);
    assert!(report.passed(), "{}", report.failure_text());
}

/// Found by the 20,000-seed long run (deals seeds 8619, 10160, 16862): a demo set's
/// writes committed and their responses were lost; a Salesforce user then deleted the
/// Contact the demo set had made. The redelivery did not find the Contact (deleted), took
/// that as "the earlier attempt committed nothing after it" and created the Opportunity a
/// second time. A parent that does not identify its child (an Opportunity's `ContactId`)
/// no longer stops the search; the found Opportunity is updated to point at the new
/// Contact.
#[test]
fn a_redelivered_demo_set_whose_contact_was_deleted_makes_a_second_opportunity() {
    assert_holds(
        "a_redelivered_demo_set_whose_contact_was_deleted_makes_a_second_opportunity",
        1,
        false,
        vec![
            Step::AppCreate { app: 0 },
            drain(),
            Step::AppDemoSet { app: 0 },
            Step::DrainPush {
                fault: Some(Fault::Salesforce(SfFault::CommitLost { per_mille: 1000 })),
            },
            Step::SfDelete { app: 0 },
            Step::Advance { secs: 61 },
            Step::Poll { fault: None },
            Step::Advance { secs: 200 },
        ],
    );
}

/// The long run's failing seeds, replayed whole (40 steps, every fault): 8619, 10160 and
/// 16862 as above; 19807 ended with a poll still on a killed poll's lease (`Busy`), which
/// the harness took for quiescence and then found the quota pause unexpired (a harness
/// defect: settling now waits out `Busy` too). 795 (the long run on the merged outbox): a
/// racing worker's catch-up read, taken before the first worker wrote an update, was
/// applied after that write's link update as a Salesforce change, so the link got the old
/// value back and every later app change was judged older (invariant 4). The catch-up now
/// skips a record whose link was written since its read began.
#[test]
fn long_run_seeds_hold() {
    let seeds = [8619, 10160, 16862, 19807, 795];
    seeds_hold(&seeds.map(|seed| (seed, "full")));
}

/// Found with drawn rules and both sides editing the Title (`+rules+contested`, people seed
/// 11 and 40 more of the first 600): the app changes a Lead's Title, a Salesforce user
/// changes it 5 s later, and the push runs before any poll. The push knew nothing of the
/// newer edit and wrote the app's older value over it: under `most_recent` (and `crm_wins`)
/// Salesforce's edit must stand. Fixed: a push first reads the linked records whose two-way
/// fields its events change and applies them as a poll would (`push::catch_up`).
#[test]
fn a_push_writes_an_older_app_change_over_a_newer_salesforce_edit_it_never_polled() {
    for policy in ["most_recent", "crm_wins"] {
        let config = SimConfig {
            records: 1,
            profile: Profile::parse("today+rules+contested").expect("profile"),
            faults: FaultSet::none(),
            emails: Some(true),
            rules: Some(crmsync_sim::Rules::parse(policy).expect("rules")),
            ..SimConfig::new(0)
        };
        let steps = vec![
            Step::AppCreate { app: 0 },
            drain(),
            Step::Poll { fault: None },
            Step::Advance { secs: 5 },
            Step::AppTitle { app: 0 },
            Step::Advance { secs: 5 },
            Step::SfEditPerson {
                app: 0,
                title: "Title-newer".into(),
                late_by_secs: None,
            },
            drain(),
        ];
        let report = run_script(&config, steps);
        assert!(report.passed(), "{policy}:\n{}", report.failure_text());
    }
}

/// A one-record `today+rules+contested` scenario under the conflict policy `policy`.
fn contested(policy: &str, steps: Vec<Step>) -> crmsync_sim::RunReport {
    let config = SimConfig {
        records: 1,
        profile: Profile::parse("today+rules+contested").expect("profile"),
        faults: FaultSet::none(),
        emails: Some(true),
        rules: Some(crmsync_sim::Rules::parse(policy).expect("rules")),
        ..SimConfig::new(0)
    };
    run_script(&config, steps)
}

/// Found with `+rules+contested` (non-convergence while an app change is queued): the app
/// changes a Lead's Title; before the push runs, a Salesforce user changes it and a poll
/// delivers that value, which the app applies over its own change. The push then writes the
/// app's value (`app_wins`), and the app was left holding Salesforce's old value. Fixed: a push
/// that writes over a value the feed delivered at or after the app's change tells the app
/// its value back (`LinkUpdate::restate`, `push::restate`).
#[test]
fn a_push_overwrites_a_value_the_feed_delivered_while_the_app_change_was_queued() {
    let steps = vec![
        Step::AppCreate { app: 0 },
        drain(),
        Step::Poll { fault: None },
        Step::Advance { secs: 5 },
        Step::AppTitle { app: 0 },
        Step::Advance { secs: 5 },
        Step::SfEditPerson {
            app: 0,
            title: "Title-newer".into(),
            late_by_secs: None,
        },
        Step::Advance { secs: 5 },
        Step::Poll { fault: None },
        drain(),
    ];
    let report = contested("app_wins", steps);
    assert!(report.passed(), "app_wins:\n{}", report.failure_text());
}

/// Found with `+rules+contested` (a refused app change not told to the app): a Salesforce
/// user changes a Lead's Title, a poll delivers it, and the app changes the Title in that
/// same second. Under `most_recent` the tie goes to Salesforce, so the push refuses the
/// app's change; the app kept its own value. Fixed: the push's catch-up read restates
/// Salesforce's value to the app for a pending change it will refuse
/// (`crmsync_core::catch_up`).
#[test]
fn a_refused_app_change_leaves_the_app_with_its_own_value() {
    let steps = vec![
        Step::AppCreate { app: 0 },
        drain(),
        Step::Poll { fault: None },
        Step::Advance { secs: 5 },
        Step::SfEditPerson {
            app: 0,
            title: "Title-sf".into(),
            late_by_secs: None,
        },
        Step::Poll { fault: None },
        Step::AppTitle { app: 0 },
        drain(),
    ];
    let report = contested("most_recent", steps);
    assert!(report.passed(), "most_recent:\n{}", report.failure_text());
}

/// Found with `+rules+contested` once pushes told the app its values back (people seed 52):
/// a push wrote the app's Title over a value the feed delivered in the same instant and told
/// the app that value back, after the app had already sent a newer Title; the newer one was
/// then written without being told back, so the app ended on the older, restated value.
/// Fixed: the link keeps when a value was last told back (`LinkTimes::fed`), and a later
/// write of an app change made before then is told back too.
#[test]
fn a_restated_older_app_value_stands_over_the_apps_newer_change() {
    let steps = vec![
        Step::AppCreate { app: 0 },
        drain(),
        Step::Poll { fault: None },
        Step::Advance { secs: 5 },
        Step::SfEditPerson {
            app: 0,
            title: "Title-sf".into(),
            late_by_secs: None,
        },
        Step::Poll { fault: None },
        Step::AppTitle { app: 0 },
        Step::Advance { secs: 5 },
        Step::AppTitle { app: 0 },
        drain(),
    ];
    let report = contested("crm_wins", steps);
    assert!(report.passed(), "crm_wins:\n{}", report.failure_text());
}

/// Found with `+rules+contested` (people seeds 52, 215, 301, 413, 498 and the `crm_wins`
/// finals with the app's Title): a Salesforce user creates a Lead (the phone formatted
/// differently); the app creates the contact, which will match that Lead, and changes its
/// Title; a Salesforce user changes the Title too; then one push batch takes both events.
/// The batch's catch-up read (before its first wave) found no link, so the second wave
/// wrote the app's Title over an edit no poll had read, which `crm_wins` and `most_recent`
/// must keep. Fixed: each later wave catches up with the records an earlier wave linked.
#[test]
fn a_salesforce_edit_made_before_the_create_matched_the_record_is_overwritten() {
    for policy in ["crm_wins", "most_recent"] {
        let config = SimConfig {
            records: 1,
            profile: Profile::parse("today+records_without_email+phone_variants+rules+contested")
                .expect("profile"),
            faults: FaultSet::none(),
            emails: Some(false),
            rules: Some(crmsync_sim::Rules::parse(policy).expect("rules")),
            ..SimConfig::new(0)
        };
        let steps = vec![
            Step::SfPreexistingLead { app: 0 },
            Step::Advance { secs: 5 },
            Step::AppCreate { app: 0 },
            Step::Advance { secs: 5 },
            Step::AppTitle { app: 0 },
            Step::Advance { secs: 5 },
            Step::SfEditPerson {
                app: 0,
                title: "Title-sf".into(),
                late_by_secs: None,
            },
            Step::Advance { secs: 5 },
            drain(),
            Step::Advance { secs: 61 },
            Step::Poll { fault: None },
        ];
        let report = run_script(&config, steps);
        assert!(report.passed(), "{policy}:\n{}", report.failure_text());
    }
}

/// Found with `+rules+contested` (`app_wins`; people seeds 216, 555, deals 450, 702, 813,
/// 892): a Salesforce edit committed after crmsync wrote the app's Title but dated before
/// that write. The poll refused it (made while the app's value was in flight) and
/// Salesforce kept it. A real org cannot produce that history: an update locks the record
/// until its transaction commits, so crmsync's write would have waited and landed after the
/// edit. Harness fix: a late commit is dated no earlier than the record's last write.
#[test]
fn a_late_commit_dated_before_crmsyncs_write_of_the_record_stays_in_salesforce() {
    let steps = vec![
        Step::AppCreate { app: 0 },
        drain(),
        Step::Poll { fault: None },
        Step::Advance { secs: 5 },
        Step::AppTitle { app: 0 },
        Step::Advance { secs: 10 },
        drain(),
        Step::SfEditPerson {
            app: 0,
            title: "Title-late".into(),
            late_by_secs: Some(12),
        },
        Step::Advance { secs: 61 },
        Step::Poll { fault: None },
    ];
    let report = contested("app_wins", steps);
    assert!(report.passed(), "app_wins:\n{}", report.failure_text());
}

/// Found with `+activities` (deals seed 32 of `full+owners+toggles+activities`): an
/// activity sent before its contact's push parks `WAITING_FOR_LINK`; its re-send, in the
/// same batch after the contact's create linked it, was written at once, and the parked
/// first send, replayed later, wrote its older notes over the re-send's (invariant 4).
/// Fixed: an activity parked for its link parks its record's later events of the batch
/// behind it (`push::plan`, `Budget::parked`), so they replay after it.
#[test]
fn a_resent_activity_is_overwritten_by_its_parked_first_send() {
    let config = SimConfig {
        records: 1,
        profile: Profile::parse("today+activities").expect("profile"),
        faults: FaultSet::none(),
        emails: Some(true),
        ..SimConfig::new(0)
    };
    let steps = vec![
        Step::AppCreate { app: 0 },
        Step::AppActivity {
            app: 0,
            resend: false,
            email: false,
        },
        Step::AppActivity {
            app: 0,
            resend: true,
            email: true,
        },
        drain(),
        Step::Poll { fault: None },
        drain(),
    ];
    let report = run_script(&config, steps);
    assert!(report.passed(), "{}", report.failure_text());
    let seed = SimConfig {
        profile: Profile::parse("full+owners+toggles+activities").expect("profile"),
        ..SimConfig::new(32)
    };
    let report = crmsync_sim::run_seed(&seed);
    assert!(report.passed(), "{}", report.failure_text());
}

/// Found with `+rules+contested` (`app_wins`, people seed 2812, fault
/// `sf_refresh_rotation_race`): a poll ran alongside a push. The poll applied the Lead from
/// the link as it stood before the push's write and fed Salesforce's Title to the app; the
/// push had planned the app's Title on that same older link (nothing to tell back then),
/// wrote it, and its link write replaced the poll's. The app ended on Salesforce's old
/// Title, Salesforce on the app's. Fixed: the push writes the link only over the version it
/// read (`LinkStore::update_synced_if`); when a poll moved it, the push tells the app its
/// value back for a field the poll fed at or after the app's change.
#[test]
fn a_pushs_link_write_replaces_a_racing_polls_feed_of_the_field_it_overwrote() {
    seeds_hold(&[(
        2812,
        "today+deletes_and_sweeps+records_without_email+phone_variants+bursts+rules+contested",
    )]);
}

/// Found with `full+toggles+activities` (deals seeds 262, 299, 314, 522, fault
/// `sf_commit_then_lose_response`): an activity's Task was created on its contact's Lead
/// and the response lost; before the redelivery a demo set converted the Lead and made
/// the Opportunity, so the retry would write `WhoId` = the Contact and `WhatId` = the
/// Opportunity. The reconciling lookup matched a Task on `WhoId` and `WhatId` too, missed
/// the committed Task and created a second one (invariant 1); the re-send then updated only
/// one of them (invariant 4).
#[test]
fn a_redelivered_activity_after_its_leads_conversion_makes_a_second_task() {
    let config = SimConfig {
        records: 1,
        profile: Profile::parse("today+demo_and_sale+activities").expect("profile"),
        faults: FaultSet::none(),
        emails: Some(true),
        ..SimConfig::new(0)
    };
    let steps = vec![
        Step::AppCreate { app: 0 },
        drain(),
        Step::AppActivity {
            app: 0,
            resend: false,
            email: false,
        },
        Step::DrainPush {
            fault: Some(Fault::Salesforce(SfFault::CommitLost { per_mille: 1000 })),
        },
        Step::AppDemoSet { app: 0 },
        drain(),
        Step::AppActivity {
            app: 0,
            resend: true,
            email: false,
        },
        drain(),
    ];
    let report = run_script(&config, steps);
    assert!(report.passed(), "{}", report.failure_text());
    seeds_hold(&[
        (262, "full+toggles+activities"),
        (299, "full+toggles+activities"),
        (314, "full+toggles+activities"),
        (522, "full+toggles+activities"),
    ]);
}

/// Found with `+toggles` (deals seeds 108, 704, 987 of `full+toggles+activities` and
/// `full+owners+toggles+activities`, Lead updates off): a Salesforce user edits a Lead's
/// Title; before a poll reads it, a demo set converts the Lead. `convertLead` copies the
/// Title to the Contact, whose link starts from the Lead link's hashes, and a Salesforce
/// user deletes (or edits) that Contact before any poll: the Lead's edit never reaches the
/// app (invariant 3). The push's catch-up skipped the Lead because its outbound updates are
/// off (and skipped every record under `app_wins`). Fixed: the catch-up reads the Leads a
/// batch converts whatever their outbound toggle and the policy (`push::catch_up`).
#[test]
fn a_lead_edit_before_crmsync_converts_the_lead_is_lost_under_lead_updates_off() {
    for rules in [None, Some("app_wins"), Some("crm_wins")] {
        let config = SimConfig {
            records: 1,
            profile: Profile::parse("today+demo_and_sale+deletes_and_sweeps+toggles")
                .expect("profile"),
            faults: FaultSet::none(),
            emails: Some(true),
            rules: rules.map(|r| crmsync_sim::Rules::parse(r).expect("rules")),
            // Seed 987 draws the toggles `off lead.out.update` (the trace's first line).
            ..SimConfig::new(987)
        };
        let steps = vec![
            Step::AppCreate { app: 0 },
            drain(),
            Step::Poll { fault: None },
            Step::Advance { secs: 5 },
            Step::SfEditPerson {
                app: 0,
                title: "Title-on-the-lead".into(),
                late_by_secs: None,
            },
            Step::Advance { secs: 5 },
            Step::AppDemoSet { app: 0 },
            drain(),
            Step::Advance { secs: 5 },
            Step::SfDelete { app: 0 },
            Step::Advance { secs: 61 },
            Step::Poll { fault: None },
        ];
        let report = run_script(&config, steps);
        let name = rules.unwrap_or("standard");
        assert!(
            report
                .trace
                .first()
                .is_some_and(|l| l.contains("off lead.out.update")),
            "{name}: seed 987 no longer draws Lead updates off: {:?}",
            report.trace.first()
        );
        assert!(report.passed(), "{name}:\n{}", report.failure_text());
    }
    seeds_hold(&[
        (704, "full+toggles+activities"),
        (108, "full+owners+toggles+activities"),
        (987, "full+owners+toggles+activities"),
    ]);
}

/// Found with `+toggles` (deals seed 664 of `full+owners+toggles+activities`, Lead updates
/// off, fault `store_commit_then_fail`): the app changes a Lead's first name (not written:
/// Lead updates off), then sets a demo; its composite graph converts the Lead and writes
/// that first name to the Contact; a store fault after the commit loses the link update and
/// the batch is retried. The next poll took crmsync's own write for a Salesforce edit made
/// after the app's next change, `most_recent` refused that change, and the app was told the
/// older name (invariant 4). Fixed: a graph marks the hashes it writes to linked records as
/// pending before it is sent (`push::atomic`), as single updates did.
#[test]
fn a_demo_sets_own_write_whose_link_is_lost_is_taken_for_a_salesforce_edit() {
    let mut failures = Vec::new();
    for at_call in 0..60 {
        for after_commit in [false, true] {
            let config = SimConfig {
                records: 1,
                profile: Profile::parse("today+demo_and_sale+toggles").expect("profile"),
                faults: FaultSet::none(),
                emails: Some(true),
                // Lead updates off (see the test above).
                ..SimConfig::new(987)
            };
            let steps = vec![
                Step::AppCreate { app: 0 },
                drain(),
                Step::Poll { fault: None },
                Step::Advance { secs: 5 },
                Step::AppUpdate { app: 0 },
                drain(),
                Step::Advance { secs: 5 },
                Step::AppDemoSet { app: 0 },
                Step::Advance { secs: 5 },
                Step::AppUpdate { app: 0 },
                Step::Advance { secs: 5 },
                Step::DrainPush {
                    fault: Some(Fault::Store {
                        at_call,
                        after_commit,
                    }),
                },
                Step::Advance { secs: 61 },
                Step::Poll { fault: None },
                Step::Advance { secs: 5 },
                drain(),
                Step::Advance { secs: 61 },
                Step::Poll { fault: None },
            ];
            let report = run_script(&config, steps);
            if !report.passed() {
                failures.push(format!(
                    "{at_call} {after_commit}: {}",
                    report.failure_text()
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    seeds_hold(&[(664, "full+owners+toggles+activities")]);
}

/// A one-record `today+owners` scenario (standard rules: `most_recent`). Seed 0 draws a0's
/// owner `u-ava` (APP_USERS index 1), not kept; the steps reassign it to the others.
fn owners(steps: Vec<Step>) -> crmsync_sim::RunReport {
    let config = SimConfig {
        records: 1,
        profile: Profile::parse("today+owners").expect("profile"),
        faults: FaultSet::none(),
        emails: Some(true),
        ..SimConfig::new(0)
    };
    let report = run_script(&config, steps);
    assert!(
        report.trace.iter().any(|l| l.ends_with("owners: a0=u-ava")),
        "seed 0 no longer draws a0=u-ava, not kept: pick another seed\n{}",
        report.trace.join("\n")
    );
    report
}

/// Found with `+owners` (people seeds 42, 168, 250; deals 59, 200, 950, 959 of
/// `…+owners+toggles+activities`): a Salesforce user reassigns a Lead, the app gives the
/// contact another owner 5 s later, and a poll delivers the reassignment before the push
/// runs; the app applies it over its own change. The push then writes the app's (newer)
/// owner, and the app was left holding the Salesforce user's. Fixed: the owner is told
/// back as a mapped field is (`LinkUpdate::restate`/`restatable` carry `Owner.Email`).
#[test]
fn a_push_writes_the_apps_owner_over_a_reassignment_the_feed_delivered_meanwhile() {
    let report = owners(vec![
        Step::AppCreate { app: 0 },
        drain(),
        Step::Poll { fault: None },
        Step::Advance { secs: 5 },
        Step::SfReassign { app: 0, user: 2 },
        Step::Advance { secs: 5 },
        Step::AppOwner { app: 0, user: 0 },
        Step::Advance { secs: 5 },
        Step::Poll { fault: None },
        drain(),
    ]);
    assert!(report.passed(), "{}", report.failure_text());
}

/// Found with `+owners` (the same seeds): a poll delivers a Salesforce user's
/// reassignment and the app changes the owner in that same second. Under `most_recent` the
/// tie goes to Salesforce, so the push refuses the app's owner (`NO_CHANGE`), and the app
/// kept its own. Fixed: the push's catch-up reads the owner of a record whose owner its
/// events change and restates Salesforce's owner for a change it will refuse
/// (`crmsync_core::catch_up`, `push::catch_up`).
#[test]
fn a_refused_owner_change_leaves_the_app_with_its_own_owner() {
    let report = owners(vec![
        Step::AppCreate { app: 0 },
        drain(),
        Step::Poll { fault: None },
        Step::Advance { secs: 5 },
        Step::SfReassign { app: 0, user: 2 },
        Step::Poll { fault: None },
        Step::AppOwner { app: 0, user: 0 },
        drain(),
    ]);
    assert!(report.passed(), "{}", report.failure_text());
}

/// The long run's seeds that found the two owner defects above (each failed before the
/// fix with invariant 2: the app's view of the owner differs from Salesforce's).
#[test]
fn owner_seeds_of_the_long_run_hold() {
    let people = "today+deletes_and_sweeps+records_without_email+phone_variants+bursts+owners+toggles+activities";
    let deals = "full+owners+toggles+activities";
    seeds_hold(&[
        (42, people),
        (168, people),
        (250, people),
        (200, deals),
        (950, deals),
        (959, deals),
    ]);
}

/// Found with `+owners` once the push's catch-up read owners (deals seed 3057 of
/// `full+owners`): a Salesforce user reassigns the Lead of a contact that keeps its owner;
/// the app then sends an event carrying the contact's unchanged owner (as every demo set
/// and sale does). The catch-up counted that echo as an app change, refused the
/// reassignment under `conflict_policy` (newer app change), and the push wrote nothing (the
/// owner echoed the last sync); the later poll's `keep_owner_field` refusal of the same owner
/// counted as told, so the app never heard why Salesforce's owner differs. Fixed: only
/// values the push writes are pending (`crmsync_core::catch_up::pending_changes`).
#[test]
fn an_unchanged_owner_on_an_event_refuses_a_reassignment_the_app_keeps_its_owner_against() {
    let config = SimConfig {
        records: 1,
        profile: Profile::parse("today+owners").expect("profile"),
        faults: FaultSet::none(),
        emails: Some(true),
        ..SimConfig::new(2)
    };
    let report = run_script(
        &config,
        vec![
            Step::AppCreate { app: 0 },
            drain(),
            Step::Poll { fault: None },
            Step::Advance { secs: 5 },
            Step::SfReassign { app: 0, user: 0 },
            Step::Advance { secs: 5 },
            Step::AppOwner { app: 0, user: 2 },
            drain(),
            Step::Advance { secs: 61 },
            Step::Poll { fault: None },
        ],
    );
    assert!(
        report
            .trace
            .iter()
            .any(|l| l.ends_with("owners: a0=u-omar (kept)")),
        "seed 2 no longer draws a0=u-omar, kept: pick another seed\n{}",
        report.trace.join("\n")
    );
    assert!(report.passed(), "{}", report.failure_text());
}

/// Found with `full+toggles+activities` (deals seed 1999, fault `push_visibility_race`):
/// two push workers converted one person's Lead (the second read the conversion back).
/// The first moved the links to the Contact and wrote the app's later FirstName on it;
/// the second's move then wrote the Contact link again with the Lead link's hashes, read
/// before that write. The next poll took crmsync's own FirstName for a Salesforce user's
/// edit made at the write's time and fed it to the app, and the app's next change, made
/// at that instant, lost to it (`most_recent` ties go to Salesforce): `NO_CHANGE`,
/// invariant 4. A poll noticing the conversion while a push moves the links does the
/// same on AWS. A move now keeps a link already on the record the Lead became
/// (`conversion::move_links`).
#[test]
fn a_second_move_of_a_converted_leads_links_restores_the_leads_hashes() {
    let config = SimConfig {
        records: 2,
        profile: Profile::parse("full+activities").expect("profile"),
        faults: FaultSet::none(),
        emails: Some(true),
        ..SimConfig::new(0)
    };
    for at_call in 0..40 {
        let steps = vec![
            Step::AppCreate { app: 1 },
            drain(),
            Step::AppActivity {
                app: 1,
                resend: false,
                email: false,
            },
            Step::AppCreate { app: 0 },
            Step::AppDemoSet { app: 1 },
            Step::AppDemoSet { app: 0 },
            Step::AppUpdate { app: 0 },
            Step::DrainPush {
                fault: Some(Fault::VisibilityExpiryRace { at_call }),
            },
            Step::Poll { fault: None },
            Step::AppUpdate { app: 0 },
            drain(),
        ];
        let report = run_script(&config, steps);
        assert!(
            report.violations.iter().all(|v| v.invariant != 4),
            "race at store call {at_call}:\n{}",
            report.failure_text()
        );
    }
    seeds_hold(&[(1999, "full+toggles+activities")]);
}

/// Found with `full+rules+contested+owners+toggles+activities` (deals seed 40356, `crm_wins`,
/// fault `push_visibility_race`): a Salesforce user changes a Lead's Title, the app changes
/// it a second later, and the push's catch-up reads Salesforce's change in the app change's
/// second. The catch-up dated the delivery `now`, the app change ties with it, and a tie
/// counts as made after the delivery, so the push wrote the app's value over Salesforce's
/// under `crm_wins`, though the app made it before it saw Salesforce's (it was queued
/// before the read). Without a stall the feed entry shares that second and the model
/// allows either; a stall before the feed entry's write dates it later and shows the lost
/// update. Fixed: a delivery by the catch-up read is dated after the pending changes
/// (`crmsync_core::catch_up`).
#[test]
fn a_catch_up_read_in_the_app_changes_second_lets_it_win_under_crm_wins() {
    for at_call in 0..40 {
        let steps = vec![
            Step::AppCreate { app: 0 },
            drain(),
            Step::Poll { fault: None },
            Step::Advance { secs: 5 },
            Step::SfEditPerson {
                app: 0,
                title: "Title-sf".into(),
                late_by_secs: None,
            },
            Step::Advance { secs: 1 },
            Step::AppTitle { app: 0 },
            Step::DrainPush {
                fault: Some(Fault::VisibilityExpiryRace { at_call }),
            },
            Step::Advance { secs: 5 },
            Step::Poll { fault: None },
        ];
        let report = contested("crm_wins", steps);
        assert!(
            report.passed(),
            "race at store call {at_call}:\n{}",
            report.failure_text()
        );
    }
    seeds_hold(&[(40356, "full+rules+contested+owners+toggles+activities")]);
}

/// Found by the long run on the session's final code (deals seed 51339 of
/// `full+rules+owners+toggles+activities`, fault `sf_commit_then_lose_response`): a demo set
/// converted a person's Lead and its answer was lost; an activity of the same batch then
/// created its Task with `WhoId` = the converted Lead, which the emulator accepted; once the
/// links moved, the retry's reconciling lookup (by the Contact) missed it and created a
/// second Task (invariant 1). A real org refuses to reference a converted Lead
/// (`CANNOT_UPDATE_CONVERTED_LEAD`, "cannot reference converted lead"); the emulator now
/// does too, and the push redelivers such a Task, whose links follow the conversion.
#[test]
fn a_task_created_on_a_lead_converted_by_a_lost_answer_is_made_twice() {
    seeds_hold(&[(51339, "full+rules+owners+toggles+activities")]);
}
