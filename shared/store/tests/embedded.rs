//! The contract suite against the embedded adapters, plus persistence.

mod contract;

use std::sync::Arc;

use crmsync_store::*;

async fn harness() -> contract::Harness {
    let clock = Arc::new(ManualClock::starting_now());
    let stores = Stores::embedded_with_clock(None, clock.clone())
        .await
        .unwrap();
    contract::Harness {
        stores,
        clock,
        temp_dir: None,
    }
}

/// A harness that also saves to a temp file, so the whole suite exercises
/// persistence too.
async fn persistent_harness() -> contract::Harness {
    let clock = Arc::new(ManualClock::starting_now());
    let path = temp_path();
    let temp_dir = path.parent().map(std::path::Path::to_path_buf);
    let stores = Stores::embedded_with_clock(Some(path), clock.clone())
        .await
        .unwrap();
    contract::Harness {
        stores,
        clock,
        temp_dir,
    }
}

fn temp_path() -> std::path::PathBuf {
    std::env::temp_dir()
        .join(format!("crmsync-store-test-{}", uuid::Uuid::new_v4()))
        .join("state.json")
}

mod in_memory {
    use super::*;
    all_contract_tests!(harness);
}

mod persistent {
    use super::*;
    all_contract_tests!(persistent_harness);
}

#[tokio::test]
async fn state_survives_reopen() {
    let path = temp_path();
    let clock = Arc::new(ManualClock::starting_now());
    let h = contract::Harness {
        stores: Stores::embedded_with_clock(Some(path.clone()), clock.clone())
            .await
            .unwrap(),
        clock: clock.clone(),
        temp_dir: None,
    };
    let conn = contract::connection(&h, "t1", "c1");
    h.stores.connections.put(&conn).await.unwrap();
    let t = TenantId::new("t1").unwrap();
    let c = ConnectionId::new("c1").unwrap();
    h.stores
        .changes
        .append(
            &t,
            vec![NewChange {
                connection: c.clone(),
                object: "Contact".into(),
                sf_id: "003X".into(),
                app_id: None,
                kind: ChangeKind::Upsert,
                payload: serde_json::json!({"a": 1}),
            }],
        )
        .await
        .unwrap();
    let lease = h
        .stores
        .leases
        .acquire("l", "me", std::time::Duration::from_secs(60))
        .await
        .unwrap()
        .unwrap();
    let tok = h
        .stores
        .vault
        .put(
            &t,
            &c,
            &StoredToken {
                refresh_token: Secret::new("rt"),
                instance_url: "https://x".into(),
                issued_at: clock.now(),
                metadata: Default::default(),
            },
        )
        .await
        .unwrap();
    let run = RunRecord {
        tenant: t.clone(),
        connection: c.clone(),
        id: "run-1".into(),
        kind: "poll".into(),
        status: "completed".into(),
        started_at: clock.now(),
        finished_at: clock.now(),
        summary: serde_json::json!({"objects": {"Lead": {"fetched": 2}}}),
        summary_truncated: false,
        expires_at: Some(clock.now() + chrono::Duration::days(30)),
    };
    h.stores.runs.record(&run).await.unwrap();
    h.stores
        .queues
        .send_batch(
            QueueKind::Poll,
            &[OutboundMessage {
                body: "b".into(),
                group_id: None,
                dedup_id: None,
            }],
        )
        .await
        .unwrap();
    drop(h);
    assert!(path.exists());
    assert!(
        !path.with_extension("json.tmp").exists(),
        "temp file renamed away"
    );

    let reopened = Stores::embedded_with_clock(Some(path.clone()), clock.clone())
        .await
        .unwrap();
    assert_eq!(reopened.connections.get(&t, &c).await.unwrap(), Some(conn));
    let feed = reopened.changes.read(&t, 0, 10).await.unwrap();
    assert_eq!(feed.entries.len(), 1);
    // The sequence continues rather than restarting.
    let more = reopened
        .changes
        .append(
            &t,
            feed.entries
                .iter()
                .map(|e| NewChange {
                    connection: e.connection.clone(),
                    object: e.object.clone(),
                    sf_id: e.sf_id.clone(),
                    app_id: None,
                    kind: e.kind,
                    payload: e.payload.clone(),
                })
                .collect(),
        )
        .await
        .unwrap();
    assert_eq!(more[0].seq, 2);
    assert!(
        reopened
            .leases
            .acquire("l", "other", std::time::Duration::from_secs(60))
            .await
            .unwrap()
            .is_none()
    );
    reopened.leases.release(&lease).await.unwrap();
    assert_eq!(reopened.vault.get(&t, &c).await.unwrap(), Some(tok));
    let runs = reopened
        .runs
        .list(&t, &c, &PageRequest::first(10))
        .await
        .unwrap();
    assert_eq!(runs.items, [run]);
    assert_eq!(
        reopened
            .queues
            .receive(QueueKind::Poll, 10)
            .await
            .unwrap()
            .len(),
        1
    );
    std::fs::remove_dir_all(path.parent().unwrap()).unwrap();
}

#[tokio::test]
async fn corrupt_state_file_is_reported_not_overwritten() {
    let path = temp_path();
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(&path, b"{ not json").unwrap();
    let err = Stores::embedded(Some(path.clone())).await.unwrap_err();
    assert!(matches!(err, StoreError::Corrupt { .. }), "{err}");
    assert_eq!(std::fs::read(&path).unwrap(), b"{ not json");
    std::fs::remove_dir_all(path.parent().unwrap()).unwrap();
}

/// Waits (bounded) until the state file holds `needle`.
async fn file_eventually_contains(path: &std::path::Path, needle: &str) -> bool {
    for _ in 0..100 {
        if std::fs::read_to_string(path).is_ok_and(|text| text.contains(needle)) {
            return true;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    false
}

#[tokio::test]
async fn writes_are_saved_behind_while_the_store_lives() {
    let path = temp_path();
    let clock = Arc::new(ManualClock::starting_now());
    let h = contract::Harness {
        stores: Stores::embedded_with_clock(Some(path.clone()), clock.clone())
            .await
            .unwrap(),
        clock,
        temp_dir: None,
    };
    h.stores
        .connections
        .put(&contract::connection(&h, "t1", "saved-behind"))
        .await
        .unwrap();
    assert!(
        file_eventually_contains(&path, "saved-behind").await,
        "the background saver writes the file without the store being dropped"
    );
    std::fs::remove_dir_all(path.parent().unwrap()).unwrap();
}

#[tokio::test]
async fn a_failed_save_is_retried_until_the_file_can_be_written() {
    let path = temp_path();
    let dir = path.parent().unwrap().to_path_buf();
    let clock = Arc::new(ManualClock::starting_now());
    let h = contract::Harness {
        stores: Stores::embedded_with_clock(Some(path.clone()), clock.clone())
            .await
            .unwrap(),
        clock,
        temp_dir: None,
    };
    // Make the state directory unusable: a plain file where the directory was.
    std::fs::write(&dir, b"not a directory").unwrap();
    h.stores
        .connections
        .put(&contract::connection(&h, "t1", "retried"))
        .await
        .unwrap();
    tokio::time::sleep(embedded_flush_delay() * 3).await;
    assert!(!path.exists());
    // The directory comes back: the next retry saves the state.
    std::fs::remove_file(&dir).unwrap();
    assert!(file_eventually_contains(&path, "retried").await);
    drop(h);
    std::fs::remove_dir_all(&dir).unwrap();
}

fn embedded_flush_delay() -> std::time::Duration {
    crmsync_store::embedded::FLUSH_DELAY
}
