//! Finished runs land in the connection's run history; a history write that fails never
//! fails the run, and `busy` runs are not kept.

mod http_common;

use std::sync::Arc;

use async_trait::async_trait;
use crmsync_service::runs::{self, RunKind, RunStatus, RunSummary};
use crmsync_service::{App, AppCredentials, Settings, poll, sweep};
use crmsync_store::{
    ConnectionId, ConnectionStatus, Page, PageRequest, RunRecord, RunStore, StoreError,
    StoreResult, Stores, TenantId,
};
use http_common::*;

async fn history(app: &App, tenant: &str) -> Vec<RunRecord> {
    app.stores
        .runs
        .list(&tid(tenant), &cid("production"), &PageRequest::first(100))
        .await
        .unwrap()
        .items
}

/// A connection the runs find not Connected, so they finish without Salesforce.
async fn disconnected(app: &App, tenant: &str) {
    connection(app, tenant, "production").await;
    app.stores
        .connections
        .update_status(
            &tid(tenant),
            &cid("production"),
            None,
            ConnectionStatus::ReconnectNeeded,
            Some(crmsync_store::ConnectionFailure {
                at: app.now(),
                code: Some("invalid_grant".into()),
                message: "refresh token revoked".into(),
            }),
        )
        .await
        .unwrap();
}

#[tokio::test]
async fn poll_test_sync_and_sweep_runs_are_recorded_as_they_finish() {
    let app = app().await;
    disconnected(&app, "acme").await;
    let (t, c) = (tid("acme"), cid("production"));
    let polled = poll::poll_connection(&app, &t, &c).await.unwrap();
    let tested = poll::test_sync(&app, &t, &c, Default::default())
        .await
        .unwrap();
    let swept = sweep::sweep_connection(&app, &t, &c).await.unwrap();
    for run in [&polled, &tested, &swept] {
        assert_eq!(run.status, RunStatus::NotConnected);
    }

    let got = history(&app, "acme").await;
    assert_eq!(got.len(), 3, "{got:#?}");
    // Newest first, also when runs start in the same millisecond.
    let kinds: Vec<&str> = got.iter().map(|r| r.kind.as_str()).collect();
    assert_eq!(kinds, ["sweep", "test_sync", "poll"]);
    for (record, run) in got.iter().zip([&swept, &tested, &polled]) {
        assert_eq!(record.status, "not_connected");
        assert_eq!(record.summary, serde_json::to_value(run).unwrap());
        // The store keeps whole milliseconds.
        let ms = |t: chrono::DateTime<chrono::Utc>| t.timestamp_millis();
        assert_eq!(ms(record.finished_at), ms(run.finished_at));
        assert_eq!(
            record.expires_at.map(ms),
            Some(ms(
                run.finished_at + chrono::Duration::days(runs::RUN_HISTORY_DAYS)
            ))
        );
    }
    assert!(history(&app, "globex").await.is_empty());
}

#[tokio::test]
async fn busy_runs_are_not_recorded() {
    let app = app().await;
    connection(&app, "acme", "production").await;
    let mut busy = RunSummary::new("acme", "production", RunKind::Poll, chrono::Utc::now());
    busy.status = RunStatus::Busy;
    runs::save(&app, &busy).await;
    assert!(history(&app, "acme").await.is_empty());
    let mut done = busy.clone();
    done.status = RunStatus::Completed;
    runs::save(&app, &done).await;
    assert_eq!(history(&app, "acme").await.len(), 1);
}

/// A run history that is down.
struct BrokenRuns;

#[async_trait]
impl RunStore for BrokenRuns {
    async fn record(&self, _: &RunRecord) -> StoreResult<()> {
        Err(StoreError::Unavailable {
            service: "dynamodb",
            operation: "PutItem",
            message: "throttled".into(),
        })
    }

    async fn list(
        &self,
        _: &TenantId,
        _: &ConnectionId,
        _: &PageRequest,
    ) -> StoreResult<Page<RunRecord>> {
        Ok(Page {
            items: Vec::new(),
            next: None,
        })
    }
}

#[tokio::test]
async fn a_failing_history_write_never_fails_the_run() {
    let mut stores = Stores::embedded(None).await.unwrap();
    stores.runs = Arc::new(BrokenRuns);
    let app = App::new(
        Settings::default(),
        stores,
        AppCredentials {
            client_id: "test-client".into(),
            client_secret: None,
        },
    )
    .unwrap();
    disconnected(&app, "acme").await;
    let (t, c) = (tid("acme"), cid("production"));
    let run = poll::poll_connection(&app, &t, &c).await.unwrap();
    assert_eq!(run.status, RunStatus::NotConnected);
    let run = sweep::sweep_connection(&app, &t, &c).await.unwrap();
    assert_eq!(run.status, RunStatus::NotConnected);
}

/// A run that ends in an error is in the history as `failed`, with the error's message.
#[tokio::test]
async fn a_run_that_fails_is_recorded_as_failed() {
    let app = app().await;
    // Connected, but its tokens are not in the vault: the run cannot reach Salesforce.
    connection(&app, "acme", "production").await;
    let (t, c) = (tid("acme"), cid("production"));
    let err = poll::poll_connection(&app, &t, &c)
        .await
        .expect_err("no token, no poll");
    let got = history(&app, "acme").await;
    assert_eq!(got.len(), 1, "{got:#?}");
    assert_eq!(got[0].kind, "poll");
    assert_eq!(got[0].status, "failed", "{got:#?}");
    assert!(
        got[0].summary.to_string().contains(&err.to_string()),
        "{:#}",
        got[0].summary
    );
}
