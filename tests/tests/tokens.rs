//! Scenario 6: token life. An expired access token is invisible (the next poll and push
//! refresh and carry on); a revoked refresh token marks the connection ReconnectNeeded and
//! parks its pushes; reconnecting through OAuth replays the parked work, nothing lost, and
//! keeps the mappings.

use crmsync_e2e::*;
use crmsync_service::poll;
use crmsync_service::push;
use crmsync_service::runs::RunStatus;
use crmsync_store::{ConnectionStatus, Environment, ReportStatus};
use serde_json::{Value, json};

e2e!(
    access_token_expiry_is_invisible,
    revoked_refresh_token_parks_work_until_reconnect,
);

fn person(s: &Stack, tag: &str, i: usize) -> Value {
    app_event(
        "create",
        "contact",
        &format!("app-{tag}-{i}"),
        s.now(),
        json!({"last_name": format!("{tag}{i}"), "phone": format!("+1 555 09{i:02}"),
               "email": format!("{tag}{i}@tokens.example"), "company_name": "Token Co"}),
    )
}

async fn access_token_expiry_is_invisible(backend: Backend) {
    let s = Stack::start(backend).await;
    s.connect("prod", Environment::Production).await;
    s.poll("prod").await;
    let refreshes = || s.sf.api_count(PROD_ORG, "oauth.token").unwrap();
    let after_connect = refreshes();

    // Three hours later every access token has expired (sessions last two).
    s.advance(chrono::Duration::hours(3));
    let lead = s.insert(
        PROD_ORG,
        "Lead",
        json!({"LastName": "Expiry", "Company": "Expiry Co", "Phone": "+1 555 0950"}),
    );
    let before = s.last_seq().await;
    let run = s.poll("prod").await;
    assert_eq!(run.status, RunStatus::Completed, "{run:#?}");
    let got = s.changes_after(before).await;
    assert_eq!(find_changes(&got, &lead).len(), 1, "{got:#?}");
    assert_eq!(refreshes(), after_connect + 1, "one refresh happened");
    assert_eq!(
        s.connection("prod").await.status,
        ConnectionStatus::Connected
    );

    // Again, on the push side.
    s.advance(chrono::Duration::hours(3));
    let ev = person(&s, "expiry", 0);
    let id = ev["event_id"].as_str().unwrap().to_string();
    s.send_events("prod", vec![ev]).await;
    let drained = s.drain_push().await;
    assert!(drained.retried.is_empty(), "{drained:#?}");
    let r = s.report("prod", &id).await.expect("reported");
    assert_eq!(r.status, ReportStatus::Success, "{r:#?}");
    assert_eq!(refreshes(), after_connect + 2, "one more refresh");
    assert_eq!(s.count(PROD_ORG, "Lead", "LastName = 'expiry0'").await, 1);
}

async fn revoked_refresh_token_parks_work_until_reconnect(backend: Backend) {
    let s = Stack::start_per_event(backend).await;
    s.connect("prod", Environment::Production).await;
    s.edit_config("prod", |c| c.poll_cap = 77).await;
    s.poll("prod").await;

    // Events in flight when the admin's password reset revokes every token.
    let events: Vec<Value> = (0..2).map(|i| person(&s, "parked", i)).collect();
    let mut ids: Vec<String> = events
        .iter()
        .map(|e| e["event_id"].as_str().unwrap().to_string())
        .collect();
    s.send_events("prod", events).await;
    s.sf.revoke_tokens(PROD_ORG).unwrap();

    let batch = s.receive_push(10).await;
    assert_eq!(batch.len(), 2);
    let first = push::push_batch(&s.app, inbound(&batch)).await;
    assert_eq!(first.retry.len(), 2, "not acknowledged: {first:#?}");
    let c = s.connection("prod").await;
    assert_eq!(c.status, ConnectionStatus::ReconnectNeeded, "{c:#?}");
    // The redelivery parks them instead of dropping them.
    let second = push::push_batch(&s.app, inbound(&batch)).await;
    assert!(second.retry.is_empty(), "{second:#?}");
    assert_eq!(second.outcomes.len(), 2, "{second:#?}");
    s.ack_push(&batch).await;
    for id in &ids {
        let r = s.report("prod", id).await.expect("reported");
        assert_eq!(r.status, ReportStatus::Parked, "{r:#?}");
    }

    // More work while disconnected is parked too; polls stop.
    // The record's update, a second later, must not overtake its create on replay.
    let late = person(&s, "parked", 2);
    let mut late_update = late.clone();
    late_update["event_id"] = json!(format!("{}-update", late["event_id"].as_str().unwrap()));
    late_update["kind"] = json!("update");
    late_update["occurred_at"] = json!((s.now() + chrono::Duration::seconds(1)).to_rfc3339());
    late_update["fields"]["phone"] = json!("+1 555 0777");
    for e in [&late, &late_update] {
        ids.push(e["event_id"].as_str().unwrap().to_string());
    }
    s.send_events("prod", vec![late, late_update]).await;
    let drained = s.drain_push().await;
    assert_eq!(drained.outcomes.len(), 2, "{drained:#?}");
    assert!(
        drained
            .outcomes
            .iter()
            .all(|o| o.status == ReportStatus::Parked),
        "{drained:#?}"
    );
    let run = poll::poll_connection(&s.app, &s.tenant, &s.conn("prod"))
        .await
        .expect("a poll of a disconnected connection is a no-op");
    assert_eq!(run.status, RunStatus::NotConnected);
    assert_eq!(
        s.count(PROD_ORG, "Lead", "LastName LIKE 'parked%'").await,
        0
    );

    // The admin reconnects: parked work is replayed and written, once each.
    let back = s.connect("prod", Environment::Production).await;
    assert!(back.reconnected);
    assert_eq!(back.replayed_parked_events, 4, "{back:#?}");
    assert_eq!(
        s.connection("prod").await.status,
        ConnectionStatus::Connected
    );
    assert_eq!(s.config("prod").await.config.poll_cap, 77, "mappings kept");
    let drained = s.drain_push().await;
    assert!(drained.retried.is_empty(), "{drained:#?}");
    for id in &ids {
        let r = s.report("prod", id).await.expect("reported");
        assert_eq!(r.status, ReportStatus::Success, "{r:#?}");
    }
    for i in 0..3 {
        assert_eq!(
            s.count(PROD_ORG, "Lead", &format!("LastName = 'parked{i}'"))
                .await,
            1
        );
    }
    let updated = s
        .soql(
            PROD_ORG,
            "SELECT Phone FROM Lead WHERE LastName = 'parked2'",
        )
        .await;
    assert_eq!(updated[0]["Phone"], "+1 555 0777", "replayed in order");
    // Nothing is left to replay.
    assert_eq!(
        crmsync_service::parked::replay(&s.app, &s.tenant, &s.conn("prod"))
            .await
            .unwrap(),
        0
    );
}
