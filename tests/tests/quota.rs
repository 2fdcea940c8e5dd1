//! The API budget (architecture: "at the configured share of the daily limit the connection
//! pauses instead of failing"): once crmsync has spent its share of the org's daily limit,
//! polls pause and pushes are parked (not failed, the org never hits its limit); when the
//! budget frees up the next day, normal operation resumes and the parked work is written.

use crmsync_e2e::*;
use crmsync_service::runs::RunStatus;
use crmsync_service::{poll, reports};
use crmsync_store::{ConnectionStatus, Environment, ReportStatus};
use serde_json::json;
use sf_emulator::{AppQuotaSpec, LimitHeaderForm};

e2e!(
    spent_budget_pauses_then_resumes,
    quota_reads_every_header_form,
    app_quota_binds_before_the_org_share,
    a_raised_limit_lifts_the_pause_the_same_day,
    a_raised_limit_is_noticed_within_a_minute_when_the_reserve_lasts,
    a_limit_raised_soon_after_a_pause_is_noticed_within_a_minute_at_any_hour,
    a_projected_burn_slows_polls_before_pausing,
    a_recheck_lifts_the_pause_at_once_without_waiting_for_a_probe_slot,
    a_reconnect_reads_a_raised_limit_at_once
);

/// Moves both clocks to the next `hour`:00 UTC, so the day's projected burn (which depends
/// on the time of day) is the same whenever the test runs.
fn advance_to_hour(s: &Stack, hour: u32) {
    let now = s.now();
    let mut target = now
        .date_naive()
        .and_hms_opt(hour, 0, 0)
        .expect("valid hour")
        .and_utc();
    if target <= now {
        target += chrono::Duration::days(1);
    }
    s.advance(target - now);
}

/// Polls a minute apart until the connection pauses (a slowed poll just waits); panics if it
/// never does within `limit` minutes.
async fn poll_until_paused(s: &Stack, limit: usize) {
    for i in 0..limit {
        s.advance(chrono::Duration::minutes(1));
        let run = poll::poll_connection(&s.app, &s.tenant, &s.conn("prod"))
            .await
            .unwrap_or_else(|e| panic!("poll {i} failed instead of pausing: {e}"));
        match run.status {
            RunStatus::QuotaPaused => return,
            RunStatus::Completed | RunStatus::Slowed => {}
            other => panic!("poll {i}: {other:?} {run:#?}"),
        }
    }
    panic!("the connection never paused in {limit} minutes");
}

async fn spent_budget_pauses_then_resumes(backend: Backend) {
    let s = Stack::start(backend).await;
    // A tiny org: 80 calls a day, crmsync may use half. Late in the day, so the day's
    // projection does not space the polls out much.
    s.sf.set_daily_limit(PROD_ORG, 80).unwrap();
    advance_to_hour(&s, 23);
    s.connect("prod", Environment::Production).await;

    poll_until_paused(&s, 40).await;
    let usage = s.sf.api_usage(PROD_ORG).unwrap();
    assert!(
        usage.used < usage.max,
        "crmsync must pause before the org's limit: {usage:?}"
    );
    assert_eq!(
        s.connection("prod").await.status,
        ConnectionStatus::Connected
    );

    // Pushes go on while their (smaller) cost fits; once it does not, they are parked.
    let mut parked = None;
    for i in 0..20 {
        let ev = app_event(
            "create",
            "contact",
            &format!("app-quota-{i}"),
            s.now(),
            json!({"last_name": format!("Budget{i}"), "phone": format!("+1 555 16{i:02}"),
                   "company_name": "Budget Co", "email": format!("budget{i}@quota.example")}),
        );
        let id = ev["event_id"].as_str().unwrap().to_string();
        s.send_events("prod", vec![ev]).await;
        let drained = s.drain_push().await;
        assert!(drained.retried.is_empty(), "{drained:#?}");
        let r = s.report("prod", &id).await.expect("reported");
        if r.status == ReportStatus::Parked {
            assert_eq!(r.code.as_deref(), Some("QUOTA_PAUSED"), "{r:#?}");
            parked = Some((i, id));
            break;
        }
        assert_eq!(r.status, ReportStatus::Success, "{r:#?}");
    }
    let (i, id) = parked.expect("pushes were never paused");
    let usage = s.sf.api_usage(PROD_ORG).unwrap();
    assert!(usage.used < usage.max, "{usage:?}");
    assert_eq!(
        s.count(PROD_ORG, "Lead", &format!("LastName = 'Budget{i}'"))
            .await,
        0
    );

    // A new day: the org's usage rolls over and crmsync's budget is fresh.
    s.advance(chrono::Duration::days(1));
    s.sf.set_api_used(PROD_ORG, 0).unwrap();
    let run = s.poll("prod").await;
    assert_eq!(run.status, RunStatus::Completed, "{run:#?}");
    s.drain_push().await;
    let r = s.report("prod", &id).await.expect("reported");
    assert_eq!(
        r.status,
        ReportStatus::Success,
        "work parked for the budget is written once it frees up: {r:#?}"
    );
    assert_eq!(
        s.count(PROD_ORG, "Lead", &format!("LastName = 'Budget{i}'"))
            .await,
        1
    );
}

/// Each documented `Sforce-Limit-Info` form reaches the quota view: the org's usage is known
/// and crmsync's allowance is its share (the guard would switch itself off otherwise).
async fn quota_reads_every_header_form(backend: Backend) {
    let s = Stack::start(backend).await;
    s.connect("prod", Environment::Production).await;
    for form in [LimitHeaderForm::UsageOnly, LimitHeaderForm::WithBursts] {
        s.sf.set_limit_header(PROD_ORG, form).unwrap();
        s.advance(chrono::Duration::minutes(1));
        let run = s.poll("prod").await;
        assert_eq!(run.status, RunStatus::Completed, "{run:#?}");
        let view = reports::quota_usage(&s.app, &s.tenant, &s.conn("prod"))
            .await
            .unwrap();
        let org = s.sf.api_usage(PROD_ORG).unwrap();
        assert_eq!(view.org_max, Some(org.max), "{form:?}: {view:#?}");
        assert_eq!(view.org_used, Some(org.used), "{form:?}: {view:#?}");
        assert_eq!(view.crmsync_allowance, org.max / 2, "{form:?}: {view:#?}");
        assert_eq!((view.app_used, view.app_max), (None, None), "{form:?}");
    }
}

/// An org admin gave crmsync's connected app 40 calls a day, far below half of the org's
/// 15,000: polls pause before the app's quota is spent, and the view shows the app quota.
async fn app_quota_binds_before_the_org_share(backend: Backend) {
    let s = Stack::start(backend).await;
    s.sf.set_app_quota(
        PROD_ORG,
        Some(AppQuotaSpec {
            app_name: "crmsync".into(),
            max: 40,
        }),
    )
    .unwrap();
    advance_to_hour(&s, 23);
    s.connect("prod", Environment::Production).await;
    poll_until_paused(&s, 50).await;
    let org = s.sf.api_usage(PROD_ORG).unwrap();
    assert_eq!(org.app_max, Some(40));
    assert!(
        org.app_used.unwrap() < 40,
        "crmsync must pause before the app's quota: {org:?}"
    );
    assert!(org.used < org.max / 2, "{org:?}");
    let view = reports::quota_usage(&s.app, &s.tenant, &s.conn("prod"))
        .await
        .unwrap();
    assert_eq!(view.app_max, Some(40), "{view:#?}");
    assert_eq!(view.app_used, org.app_used, "{view:#?}");
    assert_eq!(view.crmsync_allowance, 40, "{view:#?}");
}

/// The org's admin raises the daily limit while crmsync is paused at its share: the next
/// poll after the probe interval re-reads the limit (one `GET limits` from the reserve) and
/// runs, instead of waiting for the next day. While paused, crmsync never spends past its
/// share, probes included.
async fn a_raised_limit_lifts_the_pause_the_same_day(backend: Backend) {
    let s = Stack::start(backend).await;
    s.sf.set_daily_limit(PROD_ORG, 80).unwrap();
    advance_to_hour(&s, 23);
    s.connect("prod", Environment::Production).await;
    poll_until_paused(&s, 40).await;
    let paused = reports::quota_usage(&s.app, &s.tenant, &s.conn("prod"))
        .await
        .unwrap();
    assert!(
        paused.crmsync_calls_today <= paused.crmsync_allowance - paused.probe_reserve,
        "work stops short of the share by the probe reserve: {paused:#?}"
    );

    s.sf.set_daily_limit(PROD_ORG, 400).unwrap();
    s.sf.reset_counters(PROD_ORG).unwrap();
    // Within the probe interval the old reading stands.
    s.advance(chrono::Duration::minutes(1));
    assert_eq!(s.poll("prod").await.status, RunStatus::QuotaPaused);
    s.advance(crmsync_service::guard::LIMIT_PROBE_EVERY);
    let run = s.poll("prod").await;
    assert_eq!(run.status, RunStatus::Completed, "{run:#?}");
    assert_eq!(s.sf.api_count(PROD_ORG, "limits").unwrap(), 1);
    let view = reports::quota_usage(&s.app, &s.tenant, &s.conn("prod"))
        .await
        .unwrap();
    assert_eq!(view.org_max, Some(400), "{view:#?}");
    assert_eq!(view.crmsync_allowance, 200, "{view:#?}");
    assert!(!view.paused, "{view:#?}");
}

/// Half an hour before midnight, with 48 calls of probe reserve left, a paused connection
/// probes every minute (the reserve lasts until midnight at that rate): a limit raised
/// between two polls is seen by the next one, a minute later, not ten.
async fn a_raised_limit_is_noticed_within_a_minute_when_the_reserve_lasts(backend: Backend) {
    let s = Stack::start(backend).await;
    s.sf.set_daily_limit(PROD_ORG, 20_000).unwrap();
    advance_to_hour(&s, 23);
    s.advance(chrono::Duration::minutes(30));
    s.connect("prod", Environment::Production).await;
    // A first poll records the org's limit (unknown limits never pause).
    s.advance(chrono::Duration::minutes(1));
    assert_eq!(s.poll("prod").await.status, RunStatus::Completed);
    let today = s.now().date_naive();
    s.app
        .stores
        .quotas
        .add_calls(&s.tenant, &s.conn("prod"), today, 9_952)
        .await
        .unwrap();
    s.advance(chrono::Duration::minutes(1));
    assert_eq!(s.poll("prod").await.status, RunStatus::QuotaPaused);
    assert_eq!(
        s.sf.api_count(PROD_ORG, "limits").unwrap(),
        1,
        "probed at once"
    );

    s.sf.set_daily_limit(PROD_ORG, 40_000).unwrap();
    s.advance(chrono::Duration::minutes(1));
    let run = s.poll("prod").await;
    assert_eq!(run.status, RunStatus::Completed, "{run:#?}");
    assert_eq!(s.sf.api_count(PROD_ORG, "limits").unwrap(), 2);
    let view = reports::quota_usage(&s.app, &s.tenant, &s.conn("prod"))
        .await
        .unwrap();
    assert_eq!(view.org_max, Some(40_000), "{view:#?}");
    assert!(!view.paused, "{view:#?}");
}

/// At 09:00 the probe reserve spread over the rest of the day affords a probe only every
/// 10 minutes; but right after a pause, when the org's admin hears of it, crmsync probes
/// every minute with the first half of the reserve: a limit raised a few minutes into the
/// pause is seen by the next poll, a minute later.
async fn a_limit_raised_soon_after_a_pause_is_noticed_within_a_minute_at_any_hour(
    backend: Backend,
) {
    let s = Stack::start(backend).await;
    s.sf.set_daily_limit(PROD_ORG, 20_000).unwrap();
    advance_to_hour(&s, 9);
    s.connect("prod", Environment::Production).await;
    s.advance(chrono::Duration::minutes(1));
    assert_eq!(s.poll("prod").await.status, RunStatus::Completed);
    let today = s.now().date_naive();
    s.app
        .stores
        .quotas
        .add_calls(&s.tenant, &s.conn("prod"), today, 9_952)
        .await
        .unwrap();
    for minute in 1..=3 {
        s.advance(chrono::Duration::minutes(1));
        assert_eq!(s.poll("prod").await.status, RunStatus::QuotaPaused);
        assert_eq!(
            s.sf.api_count(PROD_ORG, "limits").unwrap(),
            minute,
            "a probe every minute of the fresh pause"
        );
    }

    s.sf.set_daily_limit(PROD_ORG, 40_000).unwrap();
    s.advance(chrono::Duration::minutes(1));
    let run = s.poll("prod").await;
    // Not paused any more; at 09:00 this day's burn is still spaced out (`Slowed`).
    assert!(
        matches!(run.status, RunStatus::Completed | RunStatus::Slowed),
        "{run:#?}"
    );
    assert_eq!(s.sf.api_count(PROD_ORG, "limits").unwrap(), 4);
    let view = reports::quota_usage(&s.app, &s.tenant, &s.conn("prod"))
        .await
        .unwrap();
    assert_eq!(view.org_max, Some(40_000), "{view:#?}");
    assert!(!view.paused, "{view:#?}");
}

/// At noon crmsync has already spent 600 of its 1,000 calls: at that rate the day would
/// end near 1,200, so polls are spaced out (the run says so and the quota view shows the
/// projection) instead of running every minute until the budget pauses them.
async fn a_projected_burn_slows_polls_before_pausing(backend: Backend) {
    let s = Stack::start(backend).await;
    s.sf.set_daily_limit(PROD_ORG, 2_000).unwrap();
    advance_to_hour(&s, 12);
    s.connect("prod", Environment::Production).await;
    s.advance(chrono::Duration::minutes(1));
    assert_eq!(s.poll("prod").await.status, RunStatus::Completed);
    let calm = reports::quota_usage(&s.app, &s.tenant, &s.conn("prod"))
        .await
        .unwrap();
    assert_eq!(calm.poll_slowdown, 1, "{calm:#?}");

    s.app
        .stores
        .quotas
        .add_calls(&s.tenant, &s.conn("prod"), s.now().date_naive(), 600)
        .await
        .unwrap();
    let view = reports::quota_usage(&s.app, &s.tenant, &s.conn("prod"))
        .await
        .unwrap();
    assert!(
        view.projected_day_calls > view.crmsync_allowance,
        "{view:#?}"
    );
    assert!(view.poll_slowdown >= 2 && !view.paused, "{view:#?}");

    s.advance(chrono::Duration::minutes(1));
    let calls_before = s.sf.api_usage(PROD_ORG).unwrap().used;
    let run = s.poll("prod").await;
    assert_eq!(run.status, RunStatus::Slowed, "{run:#?}");
    assert_eq!(
        s.sf.api_usage(PROD_ORG).unwrap().used,
        calls_before,
        "a slowed poll makes no call"
    );
    // Once the stretched interval has passed, the poll runs.
    s.advance(chrono::Duration::minutes(i64::from(view.poll_slowdown) - 1));
    let run = s.poll("prod").await;
    assert_eq!(run.status, RunStatus::Completed, "{run:#?}");
}

/// Paused at 09:00, a probe a minute ago: the next probe slot is minutes away. The org's
/// admin raises the limit and presses "recheck" (`POST …/quota/recheck`): one `GET limits`
/// from the reserve, and the connection runs on the very next poll. A second recheck right
/// after costs nothing (the reading is fresh).
async fn a_recheck_lifts_the_pause_at_once_without_waiting_for_a_probe_slot(backend: Backend) {
    use axum::http::{Method, StatusCode};
    let s = Stack::start(backend).await;
    s.sf.set_daily_limit(PROD_ORG, 20_000).unwrap();
    advance_to_hour(&s, 9);
    s.connect("prod", Environment::Production).await;
    s.advance(chrono::Duration::minutes(1));
    assert_eq!(s.poll("prod").await.status, RunStatus::Completed);
    let today = s.now().date_naive();
    // Past the first half of the reserve: probes are spread (every 10 minutes at 09:00).
    s.app
        .stores
        .quotas
        .add_calls(&s.tenant, &s.conn("prod"), today, 9_975)
        .await
        .unwrap();
    s.advance(chrono::Duration::minutes(1));
    assert_eq!(s.poll("prod").await.status, RunStatus::QuotaPaused);
    s.sf.reset_counters(PROD_ORG).unwrap();
    s.sf.set_daily_limit(PROD_ORG, 40_000).unwrap();
    s.advance(chrono::Duration::minutes(1));
    assert_eq!(
        s.poll("prod").await.status,
        RunStatus::QuotaPaused,
        "no probe slot yet: the old reading stands"
    );
    assert_eq!(s.sf.api_count(PROD_ORG, "limits").unwrap(), 0);

    let api = Api::new(crmsync_service::http::report_router(s.app.clone()));
    let key = s.credentials.api_key.clone();
    let path = "/v1/connections/prod/quota/recheck";
    let (code, view) = api.call(Method::POST, path, Some(&key), None).await;
    assert_eq!(code, StatusCode::OK, "{view}");
    assert_eq!(view["org_max"], 40_000, "{view}");
    assert_eq!(view["paused"], false, "{view}");
    assert_eq!(s.sf.api_count(PROD_ORG, "limits").unwrap(), 1);
    let (_, again) = api.call(Method::POST, path, Some(&key), None).await;
    assert_eq!(again["paused"], false, "{again}");
    assert_eq!(
        s.sf.api_count(PROD_ORG, "limits").unwrap(),
        1,
        "a fresh reading is not read again"
    );
    let run = s.poll("prod").await;
    assert!(
        matches!(run.status, RunStatus::Completed | RunStatus::Slowed),
        "{run:#?}"
    );
}

/// A reconnect (the OAuth callback) reads the org's limit from its own calls' headers: a
/// limit raised during a pause is in force the moment the connection is back, with no
/// `GET limits` and no probe slot to wait for.
async fn a_reconnect_reads_a_raised_limit_at_once(backend: Backend) {
    let s = Stack::start(backend).await;
    s.sf.set_daily_limit(PROD_ORG, 20_000).unwrap();
    advance_to_hour(&s, 9);
    s.connect("prod", Environment::Production).await;
    s.advance(chrono::Duration::minutes(1));
    assert_eq!(s.poll("prod").await.status, RunStatus::Completed);
    let today = s.now().date_naive();
    s.app
        .stores
        .quotas
        .add_calls(&s.tenant, &s.conn("prod"), today, 9_975)
        .await
        .unwrap();
    s.advance(chrono::Duration::minutes(1));
    assert_eq!(s.poll("prod").await.status, RunStatus::QuotaPaused);
    s.sf.reset_counters(PROD_ORG).unwrap();
    s.sf.set_daily_limit(PROD_ORG, 40_000).unwrap();
    s.advance(chrono::Duration::minutes(1));
    s.connect("prod", Environment::Production).await;
    let view = reports::quota_usage(&s.app, &s.tenant, &s.conn("prod"))
        .await
        .unwrap();
    assert_eq!(view.org_max, Some(40_000), "{view:#?}");
    assert!(!view.paused, "{view:#?}");
    let run = s.poll("prod").await;
    assert!(
        matches!(run.status, RunStatus::Completed | RunStatus::Slowed),
        "{run:#?}"
    );
    assert_eq!(s.sf.api_count(PROD_ORG, "limits").unwrap(), 0);
}
