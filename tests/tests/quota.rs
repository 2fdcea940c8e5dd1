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
    app_quota_binds_before_the_org_share
);

async fn spent_budget_pauses_then_resumes(backend: Backend) {
    let s = Stack::start(backend).await;
    // A tiny org: 80 calls a day, crmsync may use half.
    s.sf.set_daily_limit(PROD_ORG, 80).unwrap();
    s.connect("prod", Environment::Production).await;

    let mut paused = None;
    for i in 0..20 {
        s.advance(chrono::Duration::minutes(1));
        let run = poll::poll_connection(&s.app, &s.tenant, &s.conn("prod"))
            .await
            .unwrap_or_else(|e| panic!("poll {i} failed instead of pausing: {e}"));
        if run.status == RunStatus::QuotaPaused {
            paused = Some(i);
            break;
        }
        assert_eq!(run.status, RunStatus::Completed, "{run:#?}");
    }
    assert!(paused.is_some(), "the connection never paused");
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
    s.connect("prod", Environment::Production).await;
    let mut paused = false;
    for i in 0..40 {
        s.advance(chrono::Duration::minutes(1));
        let run = poll::poll_connection(&s.app, &s.tenant, &s.conn("prod"))
            .await
            .unwrap_or_else(|e| panic!("poll {i} failed instead of pausing: {e}"));
        if run.status == RunStatus::QuotaPaused {
            paused = true;
            break;
        }
        assert_eq!(run.status, RunStatus::Completed, "{run:#?}");
    }
    assert!(paused, "the app quota never paused the connection");
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
