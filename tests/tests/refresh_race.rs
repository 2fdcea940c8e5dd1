//! Two workers (two Lambda containers: separate `App`s over the same stores) find the access
//! token expired at the same moment, in an org that rotates refresh tokens. The refresh runs
//! under a lease, so they never spend the same refresh token: both finish, the connection
//! stays Connected, and the rotated token keeps working. The sandbox connection refreshes
//! against the sandbox host.

use std::sync::Arc;

use crmsync_e2e::*;
use crmsync_service::runs::RunStatus;
use crmsync_service::{App, AppCredentials, poll, push};
use crmsync_store::{ConnectionStatus, Environment, ReportStatus};
use serde_json::json;

e2e!(two_workers_refresh_a_rotating_token_without_losing_it);

async fn two_workers_refresh_a_rotating_token_without_losing_it(backend: Backend) {
    let s = Stack::start(backend).await;
    s.sf.set_refresh_rotation(PROD_ORG, true).unwrap();
    s.sf.set_refresh_rotation(SANDBOX_ORG, true).unwrap();
    s.connect("prod", Environment::Production).await;
    s.connect("sbx", Environment::Sandbox).await;
    s.poll("prod").await;
    let second = Arc::new(
        App::new(
            s.app.settings.clone(),
            s.app.stores.clone(),
            AppCredentials {
                client_id: sf_emulator::demo::CLIENT_ID.into(),
                client_secret: Some(sf_emulator::demo::CLIENT_SECRET.into()),
            },
        )
        .unwrap(),
    );

    for round in 0..3 {
        // Sessions expire; a poller and a pusher wake up together.
        s.advance(chrono::Duration::hours(3));
        let lead = s.insert(
            PROD_ORG,
            "Lead",
            json!({"LastName": format!("Race{round}"), "Company": "Race Co",
                   "Phone": format!("+1 555 17{round:02}")}),
        );
        let ev = app_event(
            "create",
            "contact",
            &format!("app-race-{round}"),
            s.now(),
            json!({"last_name": format!("Pushed{round}"), "phone": format!("+1 555 18{round:02}"),
                   "company_name": "Race Co", "email": format!("race{round}@race.example")}),
        );
        let id = ev["event_id"].as_str().unwrap().to_string();
        s.send_events("prod", vec![ev]).await;
        let batch = s.receive_push(10).await;
        assert_eq!(batch.len(), 1);
        let before = s.last_seq().await;
        let prod = s.conn("prod");
        let (polled, pushed) = tokio::join!(
            poll::poll_connection(&s.app, &s.tenant, &prod),
            push::push_batch(&second, inbound(&batch)),
        );
        let polled = polled.unwrap_or_else(|e| panic!("round {round}: poll failed: {e}"));
        assert_eq!(
            polled.status,
            RunStatus::Completed,
            "round {round}: {polled:#?}"
        );
        assert!(pushed.retry.is_empty(), "round {round}: {pushed:#?}");
        s.ack_push(&batch).await;
        let r = s.report("prod", &id).await.expect("reported");
        assert_eq!(r.status, ReportStatus::Success, "round {round}: {r:#?}");
        assert_eq!(
            s.connection("prod").await.status,
            ConnectionStatus::Connected,
            "round {round}: a lost refresh race must not disconnect"
        );
        let got = s.changes_after(before).await;
        assert_eq!(
            find_changes(&got, &lead).len(),
            1,
            "round {round}: {got:#?}"
        );
    }

    // The sandbox connection's refresh goes to the sandbox login host.
    let sandbox_tokens = s.sf.api_count(SANDBOX_ORG, "oauth.token").unwrap();
    let prod_tokens = s.sf.api_count(PROD_ORG, "oauth.token").unwrap();
    s.advance(chrono::Duration::hours(3));
    let run = s.poll("sbx").await;
    assert_eq!(run.status, RunStatus::Completed, "{run:#?}");
    assert_eq!(
        s.sf.api_count(SANDBOX_ORG, "oauth.token").unwrap(),
        sandbox_tokens + 1
    );
    assert_eq!(
        s.sf.api_count(PROD_ORG, "oauth.token").unwrap(),
        prod_tokens
    );
    assert_eq!(
        s.connection("sbx").await.status,
        ConnectionStatus::Connected
    );
}
