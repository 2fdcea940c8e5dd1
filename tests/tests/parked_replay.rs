//! Parked replay sends each event once and in order (issue 10: "Parked replay sends events
//! twice or out of order"). Each scenario failed on the code before its fix.

use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use chrono::Duration;
use crmsync_core::event::AppEvent;
use crmsync_e2e::*;
use crmsync_service::messages::PushMessage;
use crmsync_service::{App, AppCredentials, parked};
use crmsync_store::{
    Environment, Page, ReportEntry, ReportQuery, ReportStatus, ReportStore, StoreResult,
};
use serde_json::{Value, json};

e2e!(
    a_requeued_event_is_not_sent_again_while_its_message_may_be_in_flight,
    a_replay_waits_while_another_replay_of_the_connection_runs,
    a_replay_never_overwrites_an_outcome_written_meanwhile,
    an_older_parked_update_does_not_overwrite_a_newer_one,
);

async fn connected(backend: Backend) -> Stack {
    let s = Stack::start(backend).await;
    s.connect("prod", Environment::Production).await;
    s.poll("prod").await;
    s
}

/// Stores a parked report entry for `event`, as the push worker does.
async fn park(s: &Stack, event: &Value) -> String {
    let event: AppEvent = serde_json::from_value(event.clone()).expect("event");
    let message = PushMessage {
        tenant: s.tenant.as_str().into(),
        connection: "prod".into(),
        event: event.clone(),
        repush_id: None,
        accepted: Some(crmsync_service::messages::accept_stamp(s.now())),
    };
    let now = s.now();
    let entry = ReportEntry {
        tenant: s.tenant.clone(),
        connection: s.conn("prod"),
        event_id: event.event_id.clone(),
        object: "contact".into(),
        app_id: Some(event.app_id.clone()),
        sf_id: None,
        status: ReportStatus::Parked,
        code: Some("RECONNECT_NEEDED".into()),
        reason: None,
        payload: Some(serde_json::to_value(&message).unwrap()),
        created_at: now,
        updated_at: now,
        expires_at: Some(now + Duration::days(30)),
    };
    s.app.stores.reports.write(&entry).await.expect("parked");
    event.event_id
}

fn person(s: &Stack, id: &str, at: chrono::DateTime<chrono::Utc>, first: &str) -> Value {
    app_event(
        "create",
        "contact",
        id,
        at.min(s.now()),
        json!({"first_name": first, "last_name": format!("L-{id}"), "phone": "+1 555 0700",
               "email": format!("{id}@replay.example"), "company_name": "Replay Co"}),
    )
}

/// The push queue's visibility timeout is 12 minutes: a replayed message can be in flight
/// that long, so a replay 11 minutes later must not send the event again.
async fn a_requeued_event_is_not_sent_again_while_its_message_may_be_in_flight(backend: Backend) {
    let s = connected(backend).await;
    park(&s, &person(&s, "r1", s.now(), "Ray")).await;
    let app = &s.app;
    assert_eq!(
        parked::replay(app, &s.tenant, &s.conn("prod"))
            .await
            .unwrap(),
        1
    );
    // The push worker received it and is still working (or was killed): not acked.
    let in_flight = s.receive_push(10).await;
    assert_eq!(in_flight.len(), 1);
    s.advance(Duration::minutes(11));
    assert_eq!(
        parked::replay(app, &s.tenant, &s.conn("prod"))
            .await
            .unwrap(),
        0,
        "sent again while the first message may still be in flight"
    );
}

/// A callback replay and a poll replay of one connection must not run together.
async fn a_replay_waits_while_another_replay_of_the_connection_runs(backend: Backend) {
    let s = connected(backend).await;
    park(&s, &person(&s, "r2", s.now(), "Rae")).await;
    let name = format!("replay:{}:prod", s.tenant.as_str());
    let held = s
        .app
        .stores
        .leases
        .acquire(&name, "another-replay", std::time::Duration::from_secs(120))
        .await
        .unwrap()
        .expect("free");
    let app = &s.app;
    assert_eq!(
        parked::replay(app, &s.tenant, &s.conn("prod"))
            .await
            .unwrap(),
        0,
        "replayed while another replay of the connection held it"
    );
    assert!(s.receive_push(10).await.is_empty());
    s.app.stores.leases.release(&held).await.unwrap();
    assert_eq!(
        parked::replay(app, &s.tenant, &s.conn("prod"))
            .await
            .unwrap(),
        1
    );
}

/// Reports whose `list` lets the push worker finish an entry right after the replay read
/// it (the race of a replay with the worker pushing the same event).
struct FinishedAfterList {
    inner: Arc<dyn ReportStore>,
    finish: Mutex<Option<ReportEntry>>,
}

#[async_trait]
impl ReportStore for FinishedAfterList {
    async fn write(&self, entry: &ReportEntry) -> StoreResult<()> {
        self.inner.write(entry).await
    }
    async fn write_if_status(
        &self,
        entry: &ReportEntry,
        expected: ReportStatus,
    ) -> StoreResult<()> {
        self.inner.write_if_status(entry, expected).await
    }
    async fn get(
        &self,
        tenant: &crmsync_store::TenantId,
        connection: &crmsync_store::ConnectionId,
        event_id: &str,
    ) -> StoreResult<Option<ReportEntry>> {
        self.inner.get(tenant, connection, event_id).await
    }
    async fn list(&self, query: &ReportQuery) -> StoreResult<Page<ReportEntry>> {
        let page = self.inner.list(query).await?;
        let finished = self.finish.lock().unwrap().take();
        if let Some(done) = finished {
            self.inner.write(&done).await?;
        }
        Ok(page)
    }
}

async fn a_replay_never_overwrites_an_outcome_written_meanwhile(backend: Backend) {
    let s = connected(backend).await;
    let id = park(&s, &person(&s, "r3", s.now(), "Rio")).await;
    let mut done = s.report("prod", &id).await.unwrap();
    done.status = ReportStatus::Success;
    done.code = None;
    done.sf_id = Some("00Q000000000001AAA".into());
    let mut stores = s.app.stores.clone();
    stores.reports = Arc::new(FinishedAfterList {
        inner: s.app.stores.reports.clone(),
        finish: Mutex::new(Some(done)),
    });
    let credentials = AppCredentials {
        client_id: sf_emulator::demo::CLIENT_ID.into(),
        client_secret: Some(sf_emulator::demo::CLIENT_SECRET.into()),
    };
    let racing = App::new(s.app.settings.clone(), stores, credentials).unwrap();
    let sent = parked::replay(&racing, &s.tenant, &s.conn("prod"))
        .await
        .unwrap();
    let r = s.report("prod", &id).await.unwrap();
    assert_eq!(r.status, ReportStatus::Success, "{r:#?}");
    assert_eq!(sent, 0, "a finished event was sent again");
}

/// A parked `first_name=Old` (earlier) replays after a newer `first_name=New` was written:
/// the newer value stays, and the old event is reported superseded.
async fn an_older_parked_update_does_not_overwrite_a_newer_one(backend: Backend) {
    let s = connected(backend).await;
    s.send_events("prod", vec![person(&s, "r4", s.now(), "First")])
        .await;
    let drained = s.drain_push().await;
    let lead = drained.outcomes[0].sf_id.clone().expect("created");
    s.advance(Duration::minutes(1));
    let older_at = s.now();
    let older = app_event(
        "update",
        "contact",
        "r4",
        older_at,
        json!({"first_name": "Old"}),
    );
    s.advance(Duration::seconds(30));
    let newer = app_event(
        "update",
        "contact",
        "r4",
        s.now(),
        json!({"first_name": "New"}),
    );
    s.send_events("prod", vec![newer]).await;
    s.drain_push().await;
    assert_eq!(s.record(PROD_ORG, "Lead", &lead)["FirstName"], json!("New"));

    let old_id = park(&s, &older).await;
    s.advance(Duration::minutes(1));
    s.poll("prod").await;
    s.drain_push().await;
    assert_eq!(
        s.record(PROD_ORG, "Lead", &lead)["FirstName"],
        json!("New"),
        "the older parked update overwrote the newer value"
    );
    let r = s.report("prod", &old_id).await.expect("reported");
    assert_eq!(r.status, ReportStatus::Success, "{r:#?}");
    assert_eq!(r.code.as_deref(), Some("SUPERSEDED"), "{r:#?}");
}
