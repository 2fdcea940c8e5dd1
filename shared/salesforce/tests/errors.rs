//! Error classes over real HTTP: refresh on expiry, reconnect on revoked grants, retries
//! for 5xx and row locks, rate limits and permanent query errors.

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::{Harness, ORG, bounded, fast_retry, fields};
use crmsync_salesforce::{
    AccessToken, HttpTimeouts, QueryScope, SfError, StaticTokenProvider, TokenProvider,
};
use futures::TryStreamExt;
use sf_emulator::{EmulatorOptions, FaultSpec};

#[tokio::test]
async fn expired_access_token_is_refreshed_transparently() {
    bounded(async {
        let h = Harness::start().await;
        h.emu
            .admin()
            .insert_record(
                ORG,
                "Contact",
                fields(serde_json::json!({"LastName": "Exp"})),
            )
            .unwrap();
        let (provider, minted) = h.provider();
        let client = h.client_with(h.config(), provider.clone());
        h.emu.admin().expire_access_token(&minted.access_token);

        let page = client
            .query_first_page("SELECT Id FROM Contact LIMIT 1", QueryScope::Live)
            .await
            .expect("query succeeds after one refresh");
        assert_eq!(page.records.len(), 1);
        assert_eq!(provider.refresh_count().await, 1);
        let current = provider.access_token().await.unwrap();
        assert_ne!(
            current.secret(),
            minted.access_token,
            "a new session is in use"
        );

        // Later calls reuse the new token without refreshing again.
        client
            .query_first_page("SELECT Id FROM Contact LIMIT 1", QueryScope::Live)
            .await
            .unwrap();
        assert_eq!(provider.refresh_count().await, 1);
        h.stop().await;
    })
    .await;
}

#[tokio::test]
async fn concurrent_401s_spend_one_refresh() {
    bounded(async {
        let h = Harness::start().await;
        h.emu.admin().set_refresh_rotation(ORG, true).unwrap();
        let (provider, minted) = h.provider();
        let client = h.client_with(h.config(), provider.clone());
        h.emu.admin().expire_access_token(&minted.access_token);
        let calls = (0..6).map(|_| {
            let client = client.clone();
            async move { client.limits().await }
        });
        for result in futures::future::join_all(calls).await {
            result.expect("every call succeeds after the shared refresh");
        }
        // With rotation, a second refresh would have spent a dead token and failed.
        assert_eq!(provider.refresh_count().await, 1);
        h.stop().await;
    })
    .await;
}

#[tokio::test]
async fn revoked_refresh_token_needs_reconnect() {
    bounded(async {
        let h = Harness::start().await;
        let (client, provider) = h.client();
        h.emu.admin().revoke_tokens(ORG).unwrap();

        let err = client
            .query_first_page("SELECT Id FROM Contact LIMIT 1", QueryScope::Live)
            .await
            .expect_err("revoked grant cannot be used");
        assert!(err.is_reconnect_needed(), "{err:?}");
        assert!(err.is_auth() && !err.is_retryable());
        assert_eq!(err.code(), Some("invalid_grant"));
        assert_eq!(
            provider.refresh_count().await,
            0,
            "the failed refresh is not counted"
        );
        h.stop().await;
    })
    .await;
}

#[tokio::test]
async fn second_401_after_refresh_needs_reconnect() {
    bounded(async {
        let h = Harness::start().await;
        let (client, provider) = h.client();
        h.emu
            .admin()
            .set_faults(ORG, FaultSpec::none().unauthorized(true))
            .unwrap();
        let err = client
            .describe("Contact")
            .await
            .expect_err("every call is rejected");
        assert!(err.is_reconnect_needed(), "{err:?}");
        assert_eq!(
            provider.refresh_count().await,
            1,
            "exactly one refresh was tried"
        );
        assert_eq!(
            client.requests_sent(),
            2,
            "one send, one resend after refresh"
        );
        h.stop().await;
    })
    .await;
}

#[tokio::test]
async fn static_token_rejected_is_auth_error() {
    bounded(async {
        let h = Harness::start().await;
        let tokens: Arc<dyn TokenProvider> = Arc::new(StaticTokenProvider::new(AccessToken::new(
            "00Dbogus!notatoken",
        )));
        let client = h.client_with(h.config(), tokens);
        let err = client.limits().await.expect_err("bogus token");
        assert!(err.is_auth(), "{err:?}");
        // The token never leaks into the error text.
        assert!(!format!("{err} {err:?}").contains("notatoken"));
        h.stop().await;
    })
    .await;
}

#[tokio::test]
async fn server_errors_are_retried_then_reported_retryable() {
    bounded(async {
        let h = Harness::start().await;
        let (provider, _) = h.provider();
        let client = h.client_with(h.config().with_retry(fast_retry(4)), provider);
        h.emu
            .admin()
            .set_faults(ORG, FaultSpec::none().errors(503, 1.0))
            .unwrap();
        let err = client.limits().await.expect_err("always 503");
        assert!(err.is_retryable(), "{err:?}");
        assert_eq!(client.requests_sent(), 4, "max_attempts sends");
        h.stop().await;
    })
    .await;
}

#[tokio::test]
async fn intermittent_503_succeeds_after_retries() {
    bounded(async {
        let h = Harness::start().await;
        let (provider, _) = h.provider();
        let client = h.client_with(h.config().with_retry(fast_retry(30)), provider);
        h.emu
            .admin()
            .set_faults(ORG, FaultSpec::none().errors(503, 0.5))
            .unwrap();
        for _ in 0..5 {
            client.limits().await.expect("retries hide a 50% 503 rate");
        }
        assert!(client.requests_sent() >= 5);
        h.stop().await;
    })
    .await;
}

#[tokio::test]
async fn row_lock_is_retried_and_non_idempotent_500_is_not() {
    bounded(async {
        let h = Harness::start().await;
        let (provider, _) = h.provider();
        let client = h.client_with(h.config().with_retry(fast_retry(3)), provider);
        let id = client
            .create("Account", &fields(serde_json::json!({"Name": "Lock Co"})))
            .await
            .unwrap();

        h.emu
            .admin()
            .set_faults(ORG, FaultSpec::none().lock_rows(1.0))
            .unwrap();
        let before = client.requests_sent();
        let err = client
            .update(
                "Account",
                &id,
                &fields(serde_json::json!({"Name": "Locked"})),
            )
            .await
            .expect_err("row always locked");
        assert!(err.is_retryable(), "{err:?}");
        assert_eq!(err.code(), Some("UNABLE_TO_LOCK_ROW"));
        assert_eq!(
            client.requests_sent() - before,
            3,
            "lock errors are retried"
        );

        // A 500 on a POST may have been applied: report it, do not resend.
        h.emu
            .admin()
            .set_faults(ORG, FaultSpec::none().errors(500, 1.0))
            .unwrap();
        let before = client.requests_sent();
        let err = client
            .create("Account", &fields(serde_json::json!({"Name": "Maybe"})))
            .await
            .expect_err("500");
        assert!(err.is_retryable());
        assert_eq!(
            client.requests_sent() - before,
            1,
            "POST is not resent after a 500"
        );

        // A 503 means not applied: the POST is resent.
        h.emu
            .admin()
            .set_faults(ORG, FaultSpec::none().errors(503, 1.0))
            .unwrap();
        let before = client.requests_sent();
        client
            .create("Account", &fields(serde_json::json!({"Name": "Again"})))
            .await
            .expect_err("503");
        assert_eq!(client.requests_sent() - before, 3);
        h.stop().await;
    })
    .await;
}

#[tokio::test]
async fn exhausted_limit_is_rate_limited_without_retry() {
    bounded(async {
        let h = Harness::start().await;
        let (client, _) = h.client();
        h.emu.admin().exhaust_api_limit(ORG).unwrap();
        let err = client
            .query_first_page("SELECT Id FROM Contact LIMIT 1", QueryScope::Live)
            .await
            .expect_err("limit exhausted");
        assert!(err.is_rate_limited(), "{err:?}");
        assert!(!err.is_retryable());
        assert_eq!(client.requests_sent(), 1);
        h.stop().await;
    })
    .await;
}

#[tokio::test]
async fn query_errors_are_permanent_with_codes() {
    bounded(async {
        let h = Harness::start().await;
        let (client, _) = h.client();
        let cases = [
            ("SELECT Id, NoSuchField__c FROM Contact", "INVALID_FIELD"),
            ("SELECT Id FROM NoSuchObject__c", "INVALID_TYPE"),
            ("SELECT FROM WHERE", "MALFORMED_QUERY"),
        ];
        for (soql, code) in cases {
            let err = client
                .query(soql)
                .try_collect::<Vec<_>>()
                .await
                .expect_err(soql);
            match &err {
                SfError::Permanent {
                    status, code: got, ..
                } => {
                    assert_eq!(*status, 400, "{soql}");
                    assert_eq!(got, code, "{soql}");
                }
                other => panic!("{soql}: expected Permanent, got {other:?}"),
            }
            assert!(err.is_query_error() && !err.is_retryable());
        }
        assert_eq!(
            client.requests_sent(),
            3,
            "permanent errors are not retried"
        );
        h.stop().await;
    })
    .await;
}

#[tokio::test]
async fn timeouts_are_retryable() {
    bounded(async {
        let h = Harness::start_with(
            EmulatorOptions::demo(),
            HttpTimeouts {
                connect: Duration::from_secs(2),
                request: Duration::from_millis(300),
            },
        )
        .await;
        let (provider, _) = h.provider();
        let client = h.client_with(h.config().with_retry(fast_retry(2)), provider);
        h.emu
            .admin()
            .set_faults(ORG, FaultSpec::none().latency(1500))
            .unwrap();
        let err = client.limits().await.expect_err("slower than the timeout");
        assert!(err.is_retryable(), "{err:?}");
        assert_eq!(err.code(), Some("TIMEOUT"));
        assert_eq!(client.requests_sent(), 2);
        h.stop().await;
    })
    .await;
}

#[tokio::test]
async fn limit_info_is_tracked_and_hooked() {
    bounded(async {
        let h = Harness::start().await;
        let (provider, _) = h.provider();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let sink = seen.clone();
        let client = crmsync_salesforce::SfClient::builder(h.http.clone(), h.config(), provider)
            .usage_hook(move |u| sink.lock().unwrap().push(u))
            .build()
            .unwrap();
        assert_eq!(client.last_api_usage(), None);
        client.describe("Contact").await.unwrap();
        client.limits().await.unwrap();
        let usage = client.last_api_usage().expect("Sforce-Limit-Info parsed");
        let org = h.emu.admin().api_usage(ORG).unwrap();
        assert_eq!(usage.max, org.max);
        assert_eq!(usage.used, org.used);
        let seen = seen.lock().unwrap().clone();
        assert_eq!(seen.len(), 2, "hook called per response");
        assert!(seen[0].used < seen[1].used);
        h.stop().await;
    })
    .await;
}

/// The org reports a per-app quota after the org's usage and bursts; the client reads both.
#[tokio::test]
async fn per_app_quota_is_read_from_the_full_header() {
    bounded(async {
        let h = Harness::start().await;
        h.emu
            .admin()
            .set_app_quota(
                ORG,
                Some(sf_emulator::AppQuotaSpec {
                    app_name: "sample-connected-app".into(),
                    max: 250,
                }),
            )
            .unwrap();
        let (provider, _) = h.provider();
        let client = crmsync_salesforce::SfClient::builder(h.http.clone(), h.config(), provider)
            .build()
            .unwrap();
        client.describe("Contact").await.unwrap();
        let usage = client.last_api_usage().expect("Sforce-Limit-Info parsed");
        let org = h.emu.admin().api_usage(ORG).unwrap();
        assert_eq!((usage.used, usage.max), (org.used, org.max));
        let app = usage.per_app.expect("per-app quota parsed");
        assert_eq!(Some(app.used), org.app_used);
        assert_eq!(app.max, 250);
        h.stop().await;
    })
    .await;
}
