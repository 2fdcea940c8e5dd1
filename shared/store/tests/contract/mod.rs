//! The one contract suite every adapter set must pass. Each function takes a fresh
//! [`Harness`]; `all_contract_tests!` turns the list into `#[tokio::test]`s for a
//! harness constructor (see `embedded.rs` and `aws.rs`).

#![allow(dead_code)]

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, NaiveDate, Utc};
use crmsync_store::*;
use futures::future::join_all;

pub struct Harness {
    pub stores: Stores,
    pub clock: Arc<ManualClock>,
    /// Removed when the harness is dropped (embedded state files).
    pub temp_dir: Option<std::path::PathBuf>,
}

impl Drop for Harness {
    fn drop(&mut self) {
        if let Some(dir) = &self.temp_dir {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

/// Upper bound for any one contract test.
pub const TEST_TIMEOUT: Duration = Duration::from_secs(120);

#[macro_export]
macro_rules! contract_tests {
    ($make:path; $($name:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() {
                let h = $make().await;
                tokio::time::timeout(contract::TEST_TIMEOUT, contract::$name(&h))
                    .await
                    .expect(concat!(stringify!($name), " timed out"));
            }
        )*
    };
}

#[macro_export]
macro_rules! all_contract_tests {
    ($make:path) => {
        $crate::contract_tests!($make;
            connections_crud_status_and_paging,
            tenants_lookup_and_rotation,
            tenant_created_twice_at_once_has_one_winner,
            config_versions_are_optimistic,
            cursor_only_moves_forward,
            reconcile_checkpoint_is_kept_with_the_cursor,
            link_race_has_exactly_one_winner,
            links_found_by_either_side_updated_and_unlinked,
            links_listed_per_object_and_paged,
            link_replaced_moves_to_its_new_salesforce_id,
            intents_put_get_clear_and_expire,
            link_hashes_and_times_are_replaced_together,
            link_writes_conditional_on_the_version_read,
            report_status_transition_is_conditional,
            lease_is_exclusive_and_expires,
            leases_read_and_granted_in_batches,
            oauth_state_is_taken_once_and_expires,
            idempotency_keys_dedupe_until_expiry,
            reports_page_filter_and_expire,
            runs_listed_newest_first_per_connection_and_expire,
            oversized_run_summary_is_stored_cut_down,
            change_feed_sequences_and_pages,
            quota_counters_add_up,
            vault_rotation_is_compare_and_swap,
            queues_batch_dedupe_and_order,
            queues_batch_split_by_total_size,
            queues_refuse_oversized_message,
            bad_input_names_the_field,
            checkpoints_are_kept_per_connection_and_name,
            outbox_keeps_append_order_per_connection,
            outbox_concurrent_appends_interleave_whole,
        );
    };
}

fn tid(s: &str) -> TenantId {
    TenantId::new(s).unwrap()
}

fn cid(s: &str) -> ConnectionId {
    ConnectionId::new(s).unwrap()
}

fn at(h: &Harness, secs: i64) -> DateTime<Utc> {
    h.clock.now() + chrono::Duration::seconds(secs)
}

pub fn connection(h: &Harness, tenant: &str, id: &str) -> Connection {
    let now = h.clock.now();
    Connection {
        tenant: tid(tenant),
        id: cid(id),
        status: ConnectionStatus::Connected,
        environment: Environment::Production,
        org_id: "00D000000000001".into(),
        org_name: format!("Org of {tenant}"),
        instance_url: "https://example.my.salesforce.com".into(),
        login_url: "https://login.salesforce.com".into(),
        user: ConnectedUser {
            id: "005000000000001".into(),
            username: "admin@example.com".into(),
            email: Some("admin@example.com".into()),
        },
        secret_name: format!("crmsync/{tenant}/{id}"),
        last_sync_at: None,
        last_poll_at: None,
        poll_minutes: None,
        last_error: None,
        last_success_at: None,
        last_failure_at: None,
        last_error_code: None,
        created_at: now,
        updated_at: now,
        provisioning: None,
        sync_enabled: true,
    }
}

fn link(h: &Harness, app_id: &str, sf_id: &str) -> Link {
    Link {
        tenant: tid("t1"),
        connection: cid("c1"),
        app_object: "contact".into(),
        app_id: app_id.into(),
        sf_object: "Contact".into(),
        sf_id: sf_id.into(),
        hashes: BTreeMap::from([("Email".to_string(), "h1".to_string())]),
        times: LinkTimes::default(),
        created_at: h.clock.now(),
        updated_at: h.clock.now(),
        // What a create stores.
        version: 1,
    }
}

pub async fn connections_crud_status_and_paging(h: &Harness) {
    let s = &h.stores.connections;
    for (t, c) in [("t1", "c1"), ("t1", "c2"), ("t2", "c1")] {
        s.put(&connection(h, t, c)).await.unwrap();
    }
    let got = s.get(&tid("t1"), &cid("c2")).await.unwrap().unwrap();
    assert_eq!(got, connection(h, "t1", "c2"));
    assert!(s.get(&tid("t1"), &cid("nope")).await.unwrap().is_none());

    let mut t1: Vec<String> = s
        .list_for_tenant(&tid("t1"))
        .await
        .unwrap()
        .into_iter()
        .map(|c| c.id.to_string())
        .collect();
    t1.sort();
    assert_eq!(t1, ["c1", "c2"]);

    // Paging with limit 2 over 3 connections: every one exactly once.
    let mut seen = Vec::new();
    let mut page = PageRequest::first(2);
    for _ in 0..10 {
        let p = s.list_all(&page).await.unwrap();
        assert!(p.items.len() <= 2);
        seen.extend(
            p.items
                .into_iter()
                .map(|c| format!("{}/{}", c.tenant, c.id)),
        );
        match p.next {
            Some(t) => page = PageRequest::next(2, t),
            None => break,
        }
    }
    seen.sort();
    assert_eq!(seen, ["t1/c1", "t1/c2", "t2/c1"]);
    let bad_token = s
        .list_all(&PageRequest::next(2, PageToken("%%".into())))
        .await;
    assert!(matches!(bad_token, Err(StoreError::InvalidInput { .. })));

    // Conditional status change.
    let err = s
        .update_status(
            &tid("t1"),
            &cid("c1"),
            Some(ConnectionStatus::Failed),
            ConnectionStatus::ReconnectNeeded,
            None,
        )
        .await
        .unwrap_err();
    assert!(err.is_conflict(), "{err}");
    h.clock.advance(chrono::Duration::seconds(5));
    let updated = s
        .update_status(
            &tid("t1"),
            &cid("c1"),
            Some(ConnectionStatus::Connected),
            ConnectionStatus::ReconnectNeeded,
            Some(ConnectionFailure {
                at: at(h, 3),
                code: Some("invalid_grant".into()),
                message: "token refresh refused".into(),
            }),
        )
        .await
        .unwrap();
    assert_eq!(updated.status, ConnectionStatus::ReconnectNeeded);
    assert_eq!(updated.last_error.as_deref(), Some("token refresh refused"));
    assert_eq!(updated.last_error_code.as_deref(), Some("invalid_grant"));
    assert_eq!(
        updated.last_failure_at.map(|t| t.timestamp_millis()),
        Some(at(h, 3).timestamp_millis())
    );
    assert!(updated.updated_at > updated.created_at);
    let reread = s.get(&tid("t1"), &cid("c1")).await.unwrap().unwrap();
    assert_eq!(reread, updated);
    let cleared = s
        .update_status(
            &tid("t1"),
            &cid("c1"),
            None,
            ConnectionStatus::Connected,
            None,
        )
        .await
        .unwrap();
    assert_eq!(cleared.last_error, None);
    // The failure history stays for the health panel.
    assert_eq!(cleared.last_error_code.as_deref(), Some("invalid_grant"));
    assert_eq!(cleared.last_failure_at, updated.last_failure_at);

    // Both adapters store times at millisecond precision.
    let mut precise = connection(h, "t3", "c1");
    precise.created_at += chrono::Duration::nanoseconds(123_456);
    s.put(&precise).await.unwrap();
    let stored = s.get(&tid("t3"), &cid("c1")).await.unwrap().unwrap();
    assert_eq!(stored.created_at, h.clock.now());

    let missing = s
        .update_status(&tid("t9"), &cid("c1"), None, ConnectionStatus::Failed, None)
        .await
        .unwrap_err();
    assert!(matches!(missing, StoreError::NotFound(_)), "{missing}");

    let synced_at = at(h, 10);
    s.record_sync(&tid("t2"), &cid("c1"), synced_at, SyncRun::Poll)
        .await
        .unwrap();
    let c = s.get(&tid("t2"), &cid("c1")).await.unwrap().unwrap();
    assert_eq!(
        c.last_sync_at.map(|t| t.timestamp_millis()),
        Some(synced_at.timestamp_millis())
    );
    assert_eq!(c.last_success_at, c.last_sync_at, "a sync run is a success");
    assert_eq!(c.last_poll_at, c.last_sync_at);
    // A push moves the sync and success times, not the scheduler's poll clock.
    let pushed_at = at(h, 20);
    s.record_sync(&tid("t2"), &cid("c1"), pushed_at, SyncRun::Push)
        .await
        .unwrap();
    let c = s.get(&tid("t2"), &cid("c1")).await.unwrap().unwrap();
    assert_eq!(
        c.last_sync_at.map(|t| t.timestamp_millis()),
        Some(pushed_at.timestamp_millis())
    );
    assert_eq!(c.last_success_at, c.last_sync_at);
    assert_eq!(
        c.last_poll_at.map(|t| t.timestamp_millis()),
        Some(synced_at.timestamp_millis())
    );
    assert!(matches!(
        s.record_sync(&tid("t9"), &cid("c1"), synced_at, SyncRun::Poll)
            .await,
        Err(StoreError::NotFound(_))
    ));

    // The scheduler's copy of the poll frequency: set alone, read back, listed.
    assert_eq!(c.poll_minutes, None);
    s.set_poll_minutes(&tid("t2"), &cid("c1"), 15)
        .await
        .unwrap();
    let c = s.get(&tid("t2"), &cid("c1")).await.unwrap().unwrap();
    assert_eq!(c.poll_minutes, Some(15));
    assert_eq!(
        c.last_poll_at.map(|t| t.timestamp_millis()),
        Some(synced_at.timestamp_millis())
    );
    let listed = s.list_all(&PageRequest::first(1000)).await.unwrap().items;
    let found = listed
        .iter()
        .find(|l| l.id == cid("c1") && l.tenant == tid("t2"));
    assert_eq!(found.and_then(|l| l.poll_minutes), Some(15));
    assert!(matches!(
        s.set_poll_minutes(&tid("t9"), &cid("c1"), 5).await,
        Err(StoreError::NotFound(_))
    ));
}

pub async fn tenants_lookup_and_rotation(h: &Harness) {
    let s = &h.stores.tenants;
    let tenant = Tenant {
        id: tid("acme"),
        name: "Acme".into(),
        api_key_hash: "hash-old".into(),
        webhook_secret_ref: "crmsync/acme/webhook".into(),
        created_at: h.clock.now(),
    };
    s.put(&tenant).await.unwrap();
    assert_eq!(s.get(&tid("acme")).await.unwrap().as_ref(), Some(&tenant));
    assert_eq!(
        s.find_by_api_key_hash("hash-old")
            .await
            .unwrap()
            .map(|t| t.id),
        Some(tid("acme"))
    );
    let rotated = s.rotate_api_key(&tid("acme"), "hash-new").await.unwrap();
    assert_eq!(rotated.api_key_hash, "hash-new");
    assert!(s.find_by_api_key_hash("hash-old").await.unwrap().is_none());
    assert_eq!(
        s.find_by_api_key_hash("hash-new")
            .await
            .unwrap()
            .map(|t| t.id),
        Some(tid("acme"))
    );
    assert!(matches!(
        s.rotate_api_key(&tid("ghost"), "x").await,
        Err(StoreError::NotFound(_))
    ));
}

pub async fn tenant_created_twice_at_once_has_one_winner(h: &Harness) {
    let s = &h.stores.tenants;
    let tenant = |hash: &str| Tenant {
        id: tid("race"),
        name: "Race".into(),
        api_key_hash: hash.into(),
        webhook_secret_ref: "crmsync/race/webhook".into(),
        created_at: h.clock.now(),
    };
    let (a, b) = (tenant("hash-a"), tenant("hash-b"));
    let (ra, rb) = tokio::join!(s.create(&a), s.create(&b));
    let winners = [&ra, &rb].iter().filter(|r| r.is_ok()).count();
    assert_eq!(winners, 1, "{ra:?} {rb:?}");
    let loser = if ra.is_ok() { rb } else { ra };
    assert!(matches!(loser, Err(StoreError::Conflict(_))), "{loser:?}");
    let stored = s.get(&tid("race")).await.unwrap().unwrap();
    let winner_hash = if stored.api_key_hash == "hash-a" {
        "hash-a"
    } else {
        "hash-b"
    };
    assert_eq!(
        stored,
        tenant(winner_hash),
        "the winner's credentials stand"
    );
}

pub async fn config_versions_are_optimistic(h: &Harness) {
    let s = &h.stores.configs;
    let (t, c) = (tid("t1"), cid("c1"));
    assert!(s.get_latest(&t, &c).await.unwrap().is_none());
    let v1 = s
        .put(&t, &c, 0, serde_json::json!({"objects": ["Contact"]}))
        .await
        .unwrap();
    assert_eq!(v1.version, 1);
    assert!(
        s.put(&t, &c, 0, serde_json::json!({}))
            .await
            .unwrap_err()
            .is_conflict()
    );
    assert!(
        s.put(&t, &c, 5, serde_json::json!({}))
            .await
            .unwrap_err()
            .is_conflict()
    );
    let v2 = s
        .put(
            &t,
            &c,
            1,
            serde_json::json!({"objects": ["Contact", "Lead"], "n": 1.5}),
        )
        .await
        .unwrap();
    assert_eq!(v2.version, 2);
    assert_eq!(s.get_latest(&t, &c).await.unwrap(), Some(v2.clone()));
    assert_eq!(s.get_version(&t, &c, 1).await.unwrap(), Some(v1));

    // Two editors who both read version 2: exactly one stores version 3.
    let results =
        join_all((0..4).map(|i| s.put(&t, &c, 2, serde_json::json!({ "editor": i })))).await;
    let wins = results.iter().filter(|r| r.is_ok()).count();
    assert_eq!(wins, 1, "{results:?}");
    assert!(
        results
            .iter()
            .filter_map(|r| r.as_ref().err())
            .all(StoreError::is_conflict)
    );
    assert_eq!(s.get_latest(&t, &c).await.unwrap().unwrap().version, 3);
}

pub async fn cursor_only_moves_forward(h: &Harness) {
    let s = &h.stores.cursors;
    let (t, c) = (tid("t1"), cid("c1"));
    assert_eq!(
        s.get(&t, &c, "Contact").await.unwrap(),
        ObjectCursor::default()
    );
    let p = |secs, id: &str| CursorPosition {
        system_modstamp: at(h, secs),
        last_id: id.into(),
    };
    s.advance(&t, &c, "Contact", None, &p(10, "003A"))
        .await
        .unwrap();
    // A second writer that also read "no cursor" loses.
    assert!(
        s.advance(&t, &c, "Contact", None, &p(20, "003B"))
            .await
            .unwrap_err()
            .is_conflict()
    );
    // Backwards is refused even with the right expectation.
    let back = s
        .advance(&t, &c, "Contact", Some(&p(10, "003A")), &p(5, "003Z"))
        .await
        .unwrap_err();
    assert!(back.is_conflict(), "{back}");
    let same_ms_lower_id = s
        .advance(&t, &c, "Contact", Some(&p(10, "003A")), &p(10, "0030"))
        .await
        .unwrap_err();
    assert!(same_ms_lower_id.is_conflict());
    s.advance(&t, &c, "Contact", Some(&p(10, "003A")), &p(10, "003B"))
        .await
        .unwrap();
    s.advance(&t, &c, "Contact", Some(&p(10, "003B")), &p(30, "003C"))
        .await
        .unwrap();
    // Stale expectation.
    assert!(
        s.advance(&t, &c, "Contact", Some(&p(10, "003B")), &p(40, "003D"))
            .await
            .unwrap_err()
            .is_conflict()
    );
    let cur = s.get(&t, &c, "Contact").await.unwrap();
    assert_eq!(cur.position, Some(p(30, "003C")));
    // Objects are independent.
    assert_eq!(s.get(&t, &c, "Lead").await.unwrap().position, None);

    s.set_last_sweep(&t, &c, "Contact", at(h, 100))
        .await
        .unwrap();
    assert!(
        s.set_last_sweep(&t, &c, "Contact", at(h, 50))
            .await
            .unwrap_err()
            .is_conflict()
    );
    let cur = s.get(&t, &c, "Contact").await.unwrap();
    assert_eq!(cur.last_sweep_at, Some(at(h, 100)));
    assert_eq!(
        cur.position,
        Some(p(30, "003C")),
        "sweep keeps the position"
    );
}

pub async fn reconcile_checkpoint_is_kept_with_the_cursor(h: &Harness) {
    let s = &h.stores.cursors;
    let (t, c) = (tid("t1"), cid("c1"));
    s.set_last_sweep(&t, &c, "Contact", at(h, 100))
        .await
        .unwrap();
    let checkpoint = ReconcileCheckpoint {
        started_at: at(h, 200),
        after: Some("opaque-token".into()),
        checked: 400,
    };
    s.set_reconcile(&t, &c, "Contact", Some(&checkpoint))
        .await
        .unwrap();
    let cur = s.get(&t, &c, "Contact").await.unwrap();
    assert_eq!(cur.reconcile, Some(checkpoint));
    assert_eq!(cur.last_sweep_at, Some(at(h, 100)), "the sweep time stays");
    assert_eq!(s.get(&t, &c, "Lead").await.unwrap().reconcile, None);
    s.set_reconcile(&t, &c, "Contact", None).await.unwrap();
    let cur = s.get(&t, &c, "Contact").await.unwrap();
    assert_eq!(cur.reconcile, None);
    assert_eq!(cur.last_sweep_at, Some(at(h, 100)));
    // The calculated-field re-read keeps its own checkpoint beside them.
    let recalc = RecalcCheckpoint {
        at: at(h, 300),
        after: Some("0015g000000000AAA".into()),
    };
    s.set_recalc(&t, &c, "Contact", &recalc).await.unwrap();
    let cur = s.get(&t, &c, "Contact").await.unwrap();
    assert_eq!(cur.recalc, Some(recalc));
    assert_eq!(cur.last_sweep_at, Some(at(h, 100)), "the sweep time stays");
    assert_eq!(s.get(&t, &c, "Lead").await.unwrap().recalc, None);
}

pub async fn link_race_has_exactly_one_winner(h: &Harness) {
    let s = &h.stores.links;
    let candidates: Vec<Link> = (0..8)
        .map(|i| link(h, "app-1", &format!("003RACE{i}")))
        .collect();
    let results = join_all(candidates.iter().map(|l| s.create_if_absent(l))).await;
    let results: Vec<LinkCreate> = results.into_iter().map(Result::unwrap).collect();
    let winners: Vec<&Link> = results
        .iter()
        .filter(|r| r.was_created())
        .map(LinkCreate::link)
        .collect();
    assert_eq!(winners.len(), 1, "{results:?}");
    let winner = winners[0].clone();
    for r in &results {
        assert_eq!(r.link(), &winner, "losers see the winner's link");
    }
    let stored = s
        .get_by_app(&tid("t1"), &cid("c1"), "contact", "app-1")
        .await
        .unwrap();
    assert_eq!(stored, Some(winner.clone()));
    // Creating again later is also "existing".
    let again = s
        .create_if_absent(&link(h, "app-1", "003OTHER"))
        .await
        .unwrap();
    assert_eq!(again, LinkCreate::Existing(winner));
}

pub async fn links_found_by_either_side_updated_and_unlinked(h: &Harness) {
    let s = &h.stores.links;
    let l = link(h, "app-2", "0035000000ABCDE");
    assert!(s.create_if_absent(&l).await.unwrap().was_created());
    s.create_if_absent(&link(h, "app-3", "0035000000ZZZZZ"))
        .await
        .unwrap();
    let by_sf = s
        .get_by_sf_id(&tid("t1"), &cid("c1"), "0035000000ABCDE")
        .await
        .unwrap();
    assert_eq!(by_sf, Some(l.clone()));
    assert!(
        s.get_by_sf_id(&tid("t1"), &cid("c2"), "0035000000ABCDE")
            .await
            .unwrap()
            .is_none()
    );

    h.clock.advance(chrono::Duration::seconds(3));
    let hashes = BTreeMap::from([
        ("Email".to_string(), "h2".to_string()),
        ("Phone".to_string(), "h3".to_string()),
    ]);
    let updated = s
        .update_hashes(&tid("t1"), &cid("c1"), "contact", "app-2", hashes.clone())
        .await
        .unwrap();
    assert_eq!(updated.hashes, hashes);
    assert!(updated.updated_at > l.updated_at);
    assert_eq!(
        s.get_by_app(&tid("t1"), &cid("c1"), "contact", "app-2")
            .await
            .unwrap(),
        Some(updated.clone())
    );

    let removed = s
        .delete(&tid("t1"), &cid("c1"), "contact", "app-2")
        .await
        .unwrap();
    assert_eq!(removed, Some(updated));
    assert!(
        s.delete(&tid("t1"), &cid("c1"), "contact", "app-2")
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        s.get_by_app(&tid("t1"), &cid("c1"), "contact", "app-2")
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        s.get_by_sf_id(&tid("t1"), &cid("c1"), "0035000000ABCDE")
            .await
            .unwrap()
            .is_none()
    );
    assert!(matches!(
        s.update_hashes(&tid("t1"), &cid("c1"), "contact", "app-2", BTreeMap::new())
            .await,
        Err(StoreError::NotFound(_))
    ));
    // The other link is untouched.
    assert!(
        s.get_by_app(&tid("t1"), &cid("c1"), "contact", "app-3")
            .await
            .unwrap()
            .is_some()
    );
}

pub async fn link_replaced_moves_to_its_new_salesforce_id(h: &Harness) {
    let s = &h.stores.links;
    let old = link(h, "app-move", "006000000000OLDAAA");
    assert!(s.create_if_absent(&old).await.unwrap().was_created());
    h.clock.advance(chrono::Duration::seconds(2));
    let mut moved = link(h, "app-move", "006000000000NEWAAA");
    moved.hashes = BTreeMap::from([("StageName".to_string(), "h9".to_string())]);
    moved.created_at = old.created_at;
    s.replace(&moved).await.unwrap();
    // Stored one version on from the one passed.
    moved.version += 1;
    let (t, c) = (tid("t1"), cid("c1"));
    assert_eq!(
        s.get_by_app(&t, &c, "contact", "app-move").await.unwrap(),
        Some(moved.clone())
    );
    // Found by the new id only (the index is eventually consistent on DynamoDB).
    let mut by_new = None;
    for _ in 0..20 {
        by_new = s.get_by_sf_id(&t, &c, "006000000000NEWAAA").await.unwrap();
        if by_new.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(by_new, Some(moved.clone()));
    assert!(
        s.get_by_sf_id(&t, &c, "006000000000OLDAAA")
            .await
            .unwrap()
            .is_none(),
        "the old id no longer resolves"
    );
    // Replacing an absent link creates it.
    let fresh = link(h, "app-fresh", "006000000000FRESHA");
    s.replace(&fresh).await.unwrap();
    assert_eq!(
        s.get_by_app(&t, &c, "contact", "app-fresh").await.unwrap(),
        Some(Link {
            version: fresh.version + 1,
            ..fresh
        })
    );
}

fn intent(h: &Harness, event: &str, ttl_secs: i64) -> WriteIntent {
    WriteIntent {
        tenant: tid("t1"),
        connection: cid("c1"),
        event_id: event.into(),
        started_at: h.clock.now(),
        known_ids: vec!["006000000000OLDAAA".into()],
        creates: vec![PendingCreate {
            sf_object: "Opportunity".into(),
            identity: [("Name".to_string(), serde_json::json!("Opp 1"))].into(),
            app_object: "contact.Opportunity".into(),
            app_id: "app-1".into(),
            hashes: [("Name".to_string(), "h1".to_string())].into(),
            times: LinkTimes::default(),
        }],
        expires_at: at(h, ttl_secs),
    }
}

pub async fn intents_put_get_clear_and_expire(h: &Harness) {
    let s = &h.stores.intents;
    let (t, c) = (tid("t1"), cid("c1"));
    assert!(s.get(&t, &c, "evt-1").await.unwrap().is_none());
    let first = intent(h, "evt-1", 3600);
    s.put(&first).await.unwrap();
    let got = s.get(&t, &c, "evt-1").await.unwrap().expect("stored");
    assert_eq!(got.started_at, first.started_at);
    assert_eq!(got.known_ids, first.known_ids);
    assert_eq!(got.creates, first.creates);
    // Per connection and per event.
    assert!(s.get(&t, &cid("c2"), "evt-1").await.unwrap().is_none());
    assert!(s.get(&t, &c, "evt-2").await.unwrap().is_none());
    // A live intent is never replaced: a second worker on the same event is refused.
    h.clock.advance(chrono::Duration::seconds(5));
    let second = intent(h, "evt-1", 3600);
    let refused = s.put(&second).await;
    assert!(
        matches!(refused, Err(StoreError::Conflict(_))),
        "{refused:?}"
    );
    assert_eq!(
        s.get(&t, &c, "evt-1").await.unwrap().unwrap().started_at,
        first.started_at
    );
    s.clear(&t, &c, "evt-1").await.unwrap();
    s.put(&second).await.unwrap();
    s.clear(&t, &c, "evt-1").await.unwrap();
    assert!(s.get(&t, &c, "evt-1").await.unwrap().is_none());
    s.clear(&t, &c, "evt-1").await.unwrap();
    // Expired intents are invisible before any sweeper removes them.
    s.put(&intent(h, "evt-3", 60)).await.unwrap();
    assert!(s.get(&t, &c, "evt-3").await.unwrap().is_some());
    // Open intents of the connection: not another connection's, not expired ones.
    s.put(&intent(h, "evt-4", 3600)).await.unwrap();
    let mut other = intent(h, "evt-5", 3600);
    other.connection = cid("c2");
    s.put(&other).await.unwrap();
    let mut open: Vec<String> = s
        .list_open(&t, &c)
        .await
        .unwrap()
        .into_iter()
        .map(|i| i.event_id)
        .collect();
    open.sort();
    assert_eq!(open, ["evt-3", "evt-4"]);
    h.clock.advance(chrono::Duration::seconds(61));
    assert!(s.get(&t, &c, "evt-3").await.unwrap().is_none());
    // An expired intent no longer blocks a new one.
    s.put(&intent(h, "evt-3", 60)).await.unwrap();
    s.clear(&t, &c, "evt-3").await.unwrap();
    let open = s.list_open(&t, &c).await.unwrap();
    assert_eq!(open.len(), 1, "{open:?}");
    assert_eq!(open[0].creates, intent(h, "evt-4", 1).creates);
}

pub async fn link_hashes_and_times_are_replaced_together(h: &Harness) {
    let s = &h.stores.links;
    let l = link(h, "app-t", "0035000000TTTTT");
    s.create_if_absent(&l).await.unwrap();
    let change = FieldChange {
        at: at(h, 5),
        synced_at: at(h, 9),
    };
    let times = LinkTimes {
        app: BTreeMap::from([("Phone".to_string(), change)]),
        salesforce: BTreeMap::from([("Title".to_string(), change)]),
        owner_locked: Some(true),
        // Pending writes survive a round trip on both adapters.
        pending: BTreeMap::from([("Email".to_string(), "h4".to_string())]),
        fed: BTreeMap::from([("Title".to_string(), at(h, 7))]),
        linked_by_event_at: Some(at(h, 4)),
        refused: BTreeMap::from([("Owner.Email".to_string(), "h5".to_string())]),
    };
    let hashes = BTreeMap::from([("Phone".to_string(), "h9".to_string())]);
    h.clock.advance(chrono::Duration::seconds(3));
    let updated = s
        .update_synced(
            &tid("t1"),
            &cid("c1"),
            "contact",
            "app-t",
            hashes.clone(),
            times.clone(),
        )
        .await
        .unwrap();
    assert_eq!(
        (updated.hashes.clone(), updated.times.clone()),
        (hashes.clone(), times.clone())
    );
    assert!(updated.updated_at > l.updated_at);
    let read = s
        .get_by_app(&tid("t1"), &cid("c1"), "contact", "app-t")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(read.times, times);
    // Hash updates keep the times.
    let kept = s
        .update_hashes(&tid("t1"), &cid("c1"), "contact", "app-t", hashes)
        .await
        .unwrap();
    assert_eq!(kept.times, times);
    assert!(matches!(
        s.update_synced(
            &tid("t1"),
            &cid("c1"),
            "contact",
            "gone",
            BTreeMap::new(),
            times
        )
        .await,
        Err(StoreError::NotFound(_))
    ));
}

/// A conditional link write lands only over the version its writer read: a poll and a
/// push that both read version n, the first to write wins and the other gets `Conflict`
/// (sim people seed 2812); every write bumps the version.
pub async fn link_writes_conditional_on_the_version_read(h: &Harness) {
    let s = &h.stores.links;
    let (t, c) = (tid("t1"), cid("c1"));
    let created = s
        .create_if_absent(&link(h, "app-v", "0035000000VVVVV"))
        .await
        .unwrap()
        .into_link();
    assert_eq!(created.version, 1);
    let read = s
        .get_by_app(&t, &c, "contact", "app-v")
        .await
        .unwrap()
        .unwrap();
    let poll_hashes = BTreeMap::from([("Title".to_string(), "sf".to_string())]);
    let polled = s
        .update_synced_if(
            &t,
            &c,
            "contact",
            "app-v",
            read.version,
            poll_hashes.clone(),
            LinkTimes::default(),
        )
        .await
        .unwrap();
    assert_eq!(polled.version, 2);
    // The racing writer read the same version: refused, and the first write stands.
    let push = s
        .update_synced_if(
            &t,
            &c,
            "contact",
            "app-v",
            read.version,
            BTreeMap::from([("Title".to_string(), "app".to_string())]),
            LinkTimes::default(),
        )
        .await;
    assert!(matches!(&push, Err(StoreError::Conflict(_))), "{push:?}");
    assert!(!push.unwrap_err().is_retryable());
    let now = s
        .get_by_app(&t, &c, "contact", "app-v")
        .await
        .unwrap()
        .unwrap();
    assert_eq!((now.hashes.clone(), now.version), (poll_hashes, 2));
    // Re-read, it lands; unconditional writes bump the version too.
    let pushed = s
        .update_synced_if(
            &t,
            &c,
            "contact",
            "app-v",
            now.version,
            BTreeMap::new(),
            LinkTimes::default(),
        )
        .await
        .unwrap();
    assert_eq!(pushed.version, 3);
    let hashed = s
        .update_hashes(&t, &c, "contact", "app-v", BTreeMap::new())
        .await
        .unwrap();
    assert_eq!(hashed.version, 4);
    // `replace` stores one more than the version passed.
    s.replace(&hashed).await.unwrap();
    let replaced = s
        .get_by_app(&t, &c, "contact", "app-v")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(replaced.version, 5);
    assert!(matches!(
        s.update_synced_if(
            &t,
            &c,
            "contact",
            "gone",
            1,
            BTreeMap::new(),
            LinkTimes::default()
        )
        .await,
        Err(StoreError::NotFound(_))
    ));
}

pub async fn report_status_transition_is_conditional(h: &Harness) {
    let s = &h.stores.reports;
    let parked = report(h, "p1", "Contact", ReportStatus::Parked, 1);
    s.write(&parked).await.unwrap();
    let mut requeued = parked.clone();
    requeued.code = Some("REQUEUED".into());
    requeued.updated_at = at(h, 2);
    s.write_if_status(&requeued, ReportStatus::Parked)
        .await
        .unwrap();
    let got = s.get(&tid("t1"), &cid("c1"), "p1").await.unwrap().unwrap();
    assert_eq!(got.code.as_deref(), Some("REQUEUED"));
    // The push worker finishes it; a stale transition must not overwrite that.
    let done = report(h, "p1", "Contact", ReportStatus::Success, 3);
    s.write(&done).await.unwrap();
    assert!(matches!(
        s.write_if_status(&requeued, ReportStatus::Parked).await,
        Err(StoreError::Conflict(_))
    ));
    let got = s.get(&tid("t1"), &cid("c1"), "p1").await.unwrap().unwrap();
    assert_eq!(got.status, ReportStatus::Success);
    // No entry at all: nothing to transition.
    let absent = report(h, "p2", "Contact", ReportStatus::Parked, 1);
    assert!(matches!(
        s.write_if_status(&absent, ReportStatus::Parked).await,
        Err(StoreError::Conflict(_))
    ));
    assert!(s.get(&tid("t1"), &cid("c1"), "p2").await.unwrap().is_none());
}

pub async fn links_listed_per_object_and_paged(h: &Harness) {
    let s = &h.stores.links;
    for i in 0..5 {
        s.create_if_absent(&link(h, &format!("c-{i}"), &format!("0035000000L{i:04}")))
            .await
            .unwrap();
    }
    let mut account = link(h, "acct-1", "0015000000A0001");
    account.app_object = "company".into();
    account.sf_object = "Account".into();
    s.create_if_absent(&account).await.unwrap();
    let mut other_conn = link(h, "c-x", "0035000000X0001");
    other_conn.connection = cid("c2");
    s.create_if_absent(&other_conn).await.unwrap();

    let mut seen = Vec::new();
    let mut page = PageRequest::first(2);
    loop {
        let batch = s
            .list_for_object(&tid("t1"), &cid("c1"), "Contact", &page)
            .await
            .unwrap();
        assert!(batch.items.len() <= 2);
        seen.extend(batch.items.into_iter().map(|l| l.sf_id));
        match batch.next {
            Some(t) => page = PageRequest::next(2, t),
            None => break,
        }
    }
    seen.sort();
    let want: Vec<String> = (0..5).map(|i| format!("0035000000L{i:04}")).collect();
    assert_eq!(seen, want, "every Contact link of t1/c1 once, nothing else");
    let accounts = s
        .list_for_object(&tid("t1"), &cid("c1"), "Account", &PageRequest::first(10))
        .await
        .unwrap();
    assert_eq!(accounts.items, vec![account]);
}

pub async fn lease_is_exclusive_and_expires(h: &Harness) {
    let s = &h.stores.leases;
    let ttl = Duration::from_secs(30);
    let a = s
        .acquire("refresh-t1-c1", "worker-a", ttl)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(a.owner, "worker-a");
    assert!(
        s.acquire("refresh-t1-c1", "worker-b", ttl)
            .await
            .unwrap()
            .is_none(),
        "taken twice"
    );

    // Five racers for a fresh lease: one wins.
    let owners: Vec<String> = (0..5).map(|i| format!("w{i}")).collect();
    let racers = join_all(
        owners
            .iter()
            .map(|o| async move { (o, s.acquire("poll-t1-c1", o, ttl).await) }),
    )
    .await;
    let won: Vec<_> = racers
        .iter()
        .filter(|(_, r)| r.as_ref().unwrap().is_some())
        .collect();
    assert_eq!(won.len(), 1, "{racers:?}");

    h.clock.advance(chrono::Duration::seconds(20));
    let a = s.renew(&a, ttl).await.unwrap();
    h.clock.advance(chrono::Duration::seconds(20));
    assert!(
        s.acquire("refresh-t1-c1", "worker-b", ttl)
            .await
            .unwrap()
            .is_none(),
        "renewed lease holds"
    );
    h.clock.advance(chrono::Duration::seconds(11));
    // Expired: renew fails, someone else may take it.
    assert!(s.renew(&a, ttl).await.unwrap_err().is_conflict());
    let b = s
        .acquire("refresh-t1-c1", "worker-b", ttl)
        .await
        .unwrap()
        .unwrap();
    assert!(
        s.release(&a).await.unwrap_err().is_conflict(),
        "only the owner releases"
    );
    s.release(&b).await.unwrap();
    assert!(
        s.acquire("refresh-t1-c1", "worker-a", ttl)
            .await
            .unwrap()
            .is_some()
    );
}

/// The scheduler's batched marks: `held` sees exactly the unexpired leases (past one
/// `BatchGetItem` of 100), and `grant_unchecked` writes leases their owner can release.
pub async fn leases_read_and_granted_in_batches(h: &Harness) {
    let s = &h.stores.leases;
    let ttl = Duration::from_secs(60);
    let names: Vec<String> = (0..130).map(|i| format!("queued:t1:c{i:03}")).collect();
    assert!(s.held(&names).await.unwrap().is_empty());
    s.acquire(&names[7], "other", Duration::from_secs(10))
        .await
        .unwrap()
        .unwrap();
    let granted = s
        .grant_unchecked(&names[100..], "pass-1", ttl)
        .await
        .unwrap();
    assert_eq!(granted.len(), 30);
    let mut held: Vec<(String, String)> = s
        .held(&names)
        .await
        .unwrap()
        .into_iter()
        .map(|l| (l.name, l.owner))
        .collect();
    held.sort();
    let mut expected: Vec<(String, String)> = names[100..]
        .iter()
        .map(|n| (n.clone(), "pass-1".to_string()))
        .collect();
    expected.insert(0, (names[7].clone(), "other".to_string()));
    assert_eq!(held, expected);
    // A granted lease is an ordinary lease: it excludes others and its owner releases it.
    assert!(s.acquire(&names[100], "x", ttl).await.unwrap().is_none());
    s.release(&granted[0]).await.unwrap();
    h.clock.advance(chrono::Duration::seconds(11));
    let held: Vec<String> = s
        .held(&names)
        .await
        .unwrap()
        .into_iter()
        .map(|l| l.name)
        .collect();
    assert_eq!(
        held.len(),
        29,
        "released and expired ones are not held: {held:?}"
    );
    assert!(!held.contains(&names[7]) && !held.contains(&names[100]));
}

fn oauth_state(h: &Harness, value: &str, ttl_secs: i64) -> OAuthState {
    OAuthState {
        state: Secret::new(value),
        tenant: tid("t1"),
        connection: cid("c1"),
        environment: Environment::Sandbox,
        pkce_verifier: Secret::new("verifier-verifier-verifier-verifier-verifier"),
        return_to: Some("https://app.example.com/settings".into()),
        created_at: h.clock.now(),
        expires_at: at(h, ttl_secs),
    }
}

pub async fn oauth_state_is_taken_once_and_expires(h: &Harness) {
    let s = &h.stores.oauth_states;
    let st = oauth_state(h, "state-abc", 600);
    s.put(&st).await.unwrap();
    assert!(s.put(&st).await.unwrap_err().is_conflict());
    let takes = join_all((0..4).map(|_| s.take("state-abc"))).await;
    let got: Vec<OAuthState> = takes.into_iter().filter_map(|r| r.unwrap()).collect();
    assert_eq!(got, vec![st], "exactly one take succeeds");
    assert!(s.take("state-abc").await.unwrap().is_none());
    assert!(s.take("never-issued").await.unwrap().is_none());

    s.put(&oauth_state(h, "state-old", 60)).await.unwrap();
    h.clock.advance(chrono::Duration::seconds(61));
    assert!(
        s.take("state-old").await.unwrap().is_none(),
        "expired state is invisible"
    );
    let dbg = format!("{:?}", oauth_state(h, "state-secret-value", 1));
    assert!(
        !dbg.contains("state-secret-value") && !dbg.contains("verifier-verifier"),
        "{dbg}"
    );
}

pub async fn idempotency_keys_dedupe_until_expiry(h: &Harness) {
    let s = &h.stores.idempotency;
    let ttl = Duration::from_secs(3600);
    let t = tid("t1");
    let firsts = join_all((0..5).map(|_| s.put_if_absent(&t, "evt-1", ttl))).await;
    assert_eq!(
        firsts.iter().filter(|r| *r.as_ref().unwrap()).count(),
        1,
        "{firsts:?}"
    );
    assert!(!s.put_if_absent(&t, "evt-1", ttl).await.unwrap());
    assert!(
        s.put_if_absent(&tid("t2"), "evt-1", ttl).await.unwrap(),
        "keys are per tenant"
    );
    h.clock.advance(chrono::Duration::seconds(3601));
    assert!(
        s.put_if_absent(&t, "evt-1", ttl).await.unwrap(),
        "expired keys are gone"
    );
}

fn report(h: &Harness, event: &str, object: &str, status: ReportStatus, secs: i64) -> ReportEntry {
    ReportEntry {
        tenant: tid("t1"),
        connection: cid("c1"),
        event_id: event.into(),
        object: object.into(),
        app_id: Some(format!("app-{event}")),
        sf_id: None,
        status,
        code: (status != ReportStatus::Success).then(|| "REQUIRED_FIELD_MISSING".into()),
        reason: (status != ReportStatus::Success).then(|| "LastName is required".into()),
        payload: Some(serde_json::json!({"event": event, "fields": {"Email": "a@b.c"}})),
        created_at: at(h, secs),
        updated_at: at(h, secs),
        expires_at: Some(at(h, 86_400)),
    }
}

async fn list_all_reports(h: &Harness, q: &ReportQuery, limit: u32) -> Vec<String> {
    let mut q = q.clone();
    q.page = PageRequest::first(limit);
    let mut out = Vec::new();
    for _ in 0..50 {
        let page = h.stores.reports.list(&q).await.unwrap();
        assert!(page.items.len() <= limit as usize);
        out.extend(page.items.into_iter().map(|e| e.event_id));
        match page.next {
            Some(t) => q.page = PageRequest::next(limit, t),
            None => return out,
        }
    }
    panic!("report paging did not end");
}

pub async fn reports_page_filter_and_expire(h: &Harness) {
    let s = &h.stores.reports;
    for i in 0..7 {
        s.write(&report(
            h,
            &format!("e{i}"),
            "Contact",
            ReportStatus::Error,
            i,
        ))
        .await
        .unwrap();
    }
    s.write(&report(h, "l1", "Lead", ReportStatus::Error, 3))
        .await
        .unwrap();
    s.write(&report(h, "ok1", "Contact", ReportStatus::Success, 2))
        .await
        .unwrap();
    let mut short = report(h, "short", "Contact", ReportStatus::Error, 4);
    short.expires_at = Some(at(h, 60));
    s.write(&short).await.unwrap();

    let q = ReportQuery {
        tenant: tid("t1"),
        connection: cid("c1"),
        status: ReportStatus::Error,
        object: Some("Contact".into()),
        from: None,
        to: None,
        page: PageRequest::default(),
    };
    let before_expiry = list_all_reports(h, &q, 3).await;
    assert_eq!(before_expiry.len(), 8);
    h.clock.advance(chrono::Duration::seconds(61));
    let ids = list_all_reports(h, &q, 3).await;
    assert_eq!(
        ids,
        ["e6", "e5", "e4", "e3", "e2", "e1", "e0"],
        "newest first, expired hidden"
    );
    assert!(
        s.get(&tid("t1"), &cid("c1"), "short")
            .await
            .unwrap()
            .is_none()
    );

    let all_objects = ReportQuery {
        object: None,
        ..q.clone()
    };
    assert_eq!(list_all_reports(h, &all_objects, 100).await.len(), 8);
    let window = ReportQuery {
        from: Some(report(h, "x", "Contact", ReportStatus::Error, 2 - 61).updated_at),
        to: Some(report(h, "x", "Contact", ReportStatus::Error, 5 - 61).updated_at),
        ..q.clone()
    };
    assert_eq!(list_all_reports(h, &window, 2).await, ["e4", "e3", "e2"]);
    let successes = ReportQuery {
        status: ReportStatus::Success,
        ..q.clone()
    };
    assert_eq!(list_all_reports(h, &successes, 10).await, ["ok1"]);

    // Fetch one for re-push; re-writing the same event replaces it.
    let e3 = s.get(&tid("t1"), &cid("c1"), "e3").await.unwrap().unwrap();
    let mut expected = report(h, "e3", "Contact", ReportStatus::Error, 3 - 61);
    expected.expires_at = Some(at(h, 86_400 - 61));
    assert_eq!(e3, expected);
    let mut fixed = e3.clone();
    fixed.status = ReportStatus::Success;
    fixed.updated_at = h.clock.now();
    s.write(&fixed).await.unwrap();
    assert_eq!(list_all_reports(h, &q, 100).await.len(), 6);
    assert_eq!(list_all_reports(h, &successes, 10).await, ["e3", "ok1"]);

    let bad = s
        .list(&ReportQuery {
            page: PageRequest::next(2, PageToken("garbage!".into())),
            ..q.clone()
        })
        .await
        .unwrap_err();
    assert!(matches!(bad, StoreError::InvalidInput { .. }), "{bad}");
}

fn run(h: &Harness, tenant: &str, conn: &str, id: &str, secs: i64) -> RunRecord {
    RunRecord {
        tenant: tid(tenant),
        connection: cid(conn),
        id: id.into(),
        kind: "poll".into(),
        status: "completed".into(),
        started_at: at(h, secs),
        finished_at: at(h, secs + 1),
        summary: serde_json::json!({
            "run": id,
            "objects": {"Lead": {"fetched": secs, "created": 1}},
            "messages": ["Lead 00Q1: LastName is required"],
        }),
        summary_truncated: false,
        expires_at: Some(at(h, 86_400)),
    }
}

/// A page token continues only the listing that issued it: one from tenant t1's run
/// history (or report listing) used on tenant t2's, or on another connection's, is
/// refused as bad input, never passed on as a start key the table rejects (a 500).
/// Registered for the DynamoDB adapter only: the embedded adapter's tokens are plain
/// sort keys, and a foreign one there just yields an empty or shorter page.
pub async fn foreign_page_tokens_are_refused(h: &Harness) {
    let s = &h.stores.runs;
    for i in 0..3 {
        s.record(&run(h, "t1", "c1", &format!("a{i}"), i))
            .await
            .unwrap();
        s.record(&run(h, "t2", "c1", &format!("b{i}"), i))
            .await
            .unwrap();
    }
    let first = s
        .list(&tid("t1"), &cid("c1"), &PageRequest::first(1))
        .await
        .unwrap();
    let token = first.next.expect("more than one page");
    // The token still works where it came from.
    let second = s
        .list(&tid("t1"), &cid("c1"), &PageRequest::next(1, token.clone()))
        .await
        .unwrap();
    assert_eq!(second.items[0].tenant, tid("t1"));
    for (t, c) in [("t2", "c1"), ("t1", "c2")] {
        let err = s
            .list(&tid(t), &cid(c), &PageRequest::next(1, token.clone()))
            .await
            .unwrap_err();
        assert!(
            matches!(&err, StoreError::InvalidInput { field, .. } if field == "page token"),
            "{t}/{c}: {err}"
        );
    }

    let r = &h.stores.reports;
    for i in 0..3 {
        r.write(&report(
            h,
            &format!("e{i}"),
            "Contact",
            ReportStatus::Error,
            i,
        ))
        .await
        .unwrap();
    }
    let q = ReportQuery {
        tenant: tid("t1"),
        connection: cid("c1"),
        status: ReportStatus::Error,
        object: None,
        from: None,
        to: None,
        page: PageRequest::first(1),
    };
    let token = r.list(&q).await.unwrap().next.expect("more than one page");
    for other in [
        ReportQuery {
            tenant: tid("t2"),
            ..q.clone()
        },
        ReportQuery {
            status: ReportStatus::Success,
            ..q.clone()
        },
    ] {
        let err = r
            .list(&ReportQuery {
                page: PageRequest::next(1, token.clone()),
                ..other
            })
            .await
            .unwrap_err();
        assert!(matches!(err, StoreError::InvalidInput { .. }), "{err}");
    }
    // The run token is no report token, and the other way round.
    let err = r
        .list(&ReportQuery {
            page: PageRequest::next(1, first_run_token(h).await),
            ..q.clone()
        })
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::InvalidInput { .. }), "{err}");
    let err = s
        .list(&tid("t1"), &cid("c1"), &PageRequest::next(1, token))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::InvalidInput { .. }), "{err}");
}

async fn first_run_token(h: &Harness) -> PageToken {
    h.stores
        .runs
        .list(&tid("t1"), &cid("c1"), &PageRequest::first(1))
        .await
        .unwrap()
        .next
        .expect("more than one page")
}

async fn list_all_runs(h: &Harness, tenant: &str, conn: &str, limit: u32) -> Vec<String> {
    let (t, c) = (tid(tenant), cid(conn));
    let mut page = PageRequest::first(limit);
    let mut out = Vec::new();
    for _ in 0..50 {
        let got = h.stores.runs.list(&t, &c, &page).await.unwrap();
        assert!(got.items.len() <= limit as usize);
        for r in got.items {
            assert_eq!((&r.tenant, &r.connection), (&t, &c), "{r:?}");
            out.push(r.id);
        }
        match got.next {
            Some(token) => page = PageRequest::next(limit, token),
            None => return out,
        }
    }
    panic!("run paging did not end");
}

pub async fn runs_listed_newest_first_per_connection_and_expire(h: &Harness) {
    let s = &h.stores.runs;
    // Written out of order; two start in the same second (ties go by id).
    for (id, secs) in [
        ("r2", 2),
        ("r0", 0),
        ("r4", 4),
        ("r1", 1),
        ("r3", 3),
        ("r3b", 3),
    ] {
        s.record(&run(h, "t1", "c1", id, secs)).await.unwrap();
    }
    // Neighbours that must never show up in t1/c1's history: another connection whose id
    // starts the same, the same connection name under another tenant.
    s.record(&run(h, "t1", "c10", "other-conn", 5))
        .await
        .unwrap();
    s.record(&run(h, "t2", "c1", "other-tenant", 6))
        .await
        .unwrap();
    let mut short = run(h, "t1", "c1", "short-lived", 7);
    short.expires_at = Some(at(h, 60));
    short.status = "not_ready".into();
    s.record(&short).await.unwrap();

    let first = s
        .list(&tid("t1"), &cid("c1"), &PageRequest::first(10))
        .await
        .unwrap();
    assert_eq!(first.items[0], short, "stored as written");
    assert_eq!(
        list_all_runs(h, "t1", "c1", 2).await,
        ["short-lived", "r4", "r3b", "r3", "r2", "r1", "r0"]
    );
    assert_eq!(list_all_runs(h, "t1", "c10", 10).await, ["other-conn"]);
    assert_eq!(list_all_runs(h, "t2", "c1", 10).await, ["other-tenant"]);
    assert!(list_all_runs(h, "t2", "c10", 10).await.is_empty());

    // Past its expiry a run is gone; the rest stay, still paged newest first.
    h.clock.advance(chrono::Duration::seconds(61));
    assert_eq!(
        list_all_runs(h, "t1", "c1", 4).await,
        ["r4", "r3b", "r3", "r2", "r1", "r0"]
    );
    let first = s
        .list(&tid("t1"), &cid("c1"), &PageRequest::first(4))
        .await
        .unwrap();
    let ids: Vec<&str> = first.items.iter().map(|r| r.id.as_str()).collect();
    assert_eq!(
        ids,
        ["r4", "r3b", "r3", "r2"],
        "the newest 4 on the first page"
    );
    assert!(first.next.is_some());

    // Recording the same run again replaces it.
    let mut again = run(h, "t1", "c1", "r4", 4 - 61);
    again.status = "capped".into();
    s.record(&again).await.unwrap();
    let page = s
        .list(&tid("t1"), &cid("c1"), &PageRequest::first(1))
        .await
        .unwrap();
    assert_eq!(page.items, [again]);
    assert_eq!(list_all_runs(h, "t1", "c1", 100).await.len(), 6);

    let bad = s
        .list(
            &tid("t1"),
            &cid("c1"),
            &PageRequest::next(2, PageToken("garbage!".into())),
        )
        .await
        .unwrap_err();
    assert!(matches!(bad, StoreError::InvalidInput { .. }), "{bad}");
    let mut forged = run(h, "t1", "c1", "a#b", 0);
    let err = s.record(&forged).await.unwrap_err();
    assert!(err.to_string().contains("id"), "{err}");
    forged.id = "ok".into();
    forged.kind = String::new();
    let err = s.record(&forged).await.unwrap_err();
    assert!(err.to_string().contains("kind"), "{err}");
}

pub async fn oversized_run_summary_is_stored_cut_down(h: &Harness) {
    let mut big = run(h, "t1", "c1", "big", 0);
    let messages: Vec<String> = (0..3_000)
        .map(|i| format!("Lead 00Q{i:015}: {}", "required field missing ".repeat(8)))
        .collect();
    big.summary = serde_json::json!({
        "status": "completed",
        "objects": {"Lead": {"fetched": 3000, "errors": 3000}},
        "messages": messages,
    });
    assert!(serde_json::to_string(&big.summary).unwrap().len() > 4 * MAX_RUN_SUMMARY_BYTES);
    h.stores.runs.record(&big).await.unwrap();
    let small = run(h, "t1", "c1", "small", 1);
    h.stores.runs.record(&small).await.unwrap();

    let got = h
        .stores
        .runs
        .list(&tid("t1"), &cid("c1"), &PageRequest::first(10))
        .await
        .unwrap()
        .items;
    assert_eq!(got.len(), 2);
    assert_eq!(got[0], small, "small summaries are stored whole");
    let stored = &got[1];
    assert!(stored.summary_truncated);
    let size = serde_json::to_string(&stored.summary).unwrap().len();
    assert!(size <= MAX_RUN_SUMMARY_BYTES, "{size}");
    assert_eq!(stored.summary["status"], "completed");
    assert_eq!(stored.summary["objects"]["Lead"]["errors"], 3000);
    let kept = stored.summary["messages"].as_array().unwrap();
    assert!(kept.len() > 100 && kept.len() < 3_000, "{}", kept.len());
    assert_eq!(kept[0], serde_json::json!(messages[0]));
}

fn change(i: usize) -> NewChange {
    NewChange {
        connection: cid("c1"),
        object: "Contact".into(),
        sf_id: format!("003CHG{i:04}"),
        app_id: None,
        kind: ChangeKind::Upsert,
        payload: serde_json::json!({"i": i}),
    }
}

pub async fn change_feed_sequences_and_pages(h: &Harness) {
    let s = &h.stores.changes;
    let t = tid("t1");
    let empty = s.read(&t, 0, 10).await.unwrap();
    assert!(empty.entries.is_empty() && !empty.has_more && empty.next_after == 0);
    let first = s.append(&t, (0..3).map(change).collect()).await.unwrap();
    assert_eq!(first.iter().map(|e| e.seq).collect::<Vec<_>>(), [1, 2, 3]);
    let second = s.append(&t, (3..7).map(change).collect()).await.unwrap();
    assert_eq!(
        second.iter().map(|e| e.seq).collect::<Vec<_>>(),
        [4, 5, 6, 7]
    );
    assert_eq!(
        s.append(&tid("t2"), vec![change(0)]).await.unwrap()[0].seq,
        1,
        "per tenant"
    );

    let mut after = 0;
    let mut pages = Vec::new();
    loop {
        let b = s.read(&t, after, 3).await.unwrap();
        pages.push(b.entries.iter().map(|e| e.seq).collect::<Vec<_>>());
        after = b.next_after;
        if !b.has_more {
            break;
        }
    }
    assert_eq!(pages, vec![vec![1, 2, 3], vec![4, 5, 6], vec![7]]);
    let tail = s.read(&t, 7, 3).await.unwrap();
    assert!(tail.entries.is_empty());
    assert_eq!(tail.next_after, 7);
    let e = &s.read(&t, 4, 1).await.unwrap().entries[0];
    assert_eq!(
        (e.seq, e.sf_id.as_str(), &e.payload),
        (5, "003CHG0004", &serde_json::json!({"i": 4}))
    );

    // Concurrent appenders never share a sequence number.
    join_all((0..4).map(|w| s.append(&t, (0..5).map(|i| change(100 + w * 10 + i)).collect())))
        .await
        .into_iter()
        .for_each(|r| assert_eq!(r.unwrap().len(), 5));
    let all = s.read(&t, 0, 1000).await.unwrap();
    let seqs: Vec<u64> = all.entries.iter().map(|e| e.seq).collect();
    assert_eq!(seqs, (1..=27).collect::<Vec<u64>>());
    let ids: BTreeSet<&str> = all.entries.iter().map(|e| e.sf_id.as_str()).collect();
    assert_eq!(ids.len(), 27);
}

pub async fn quota_counters_add_up(h: &Harness) {
    let s = &h.stores.quotas;
    let (t, c) = (tid("t1"), cid("c1"));
    let day = NaiveDate::from_ymd_opt(2026, 11, 22).unwrap();
    let next = day.succ_opt().unwrap();
    assert_eq!(
        s.usage(&t, &c, day).await.unwrap(),
        QuotaUsage {
            day,
            calls: 0,
            limit: None
        }
    );
    assert_eq!(s.add_calls(&t, &c, day, 5).await.unwrap(), 5);
    let totals = join_all((0..4).map(|_| s.add_calls(&t, &c, day, 7))).await;
    assert!(totals.iter().all(Result::is_ok));
    assert_eq!(s.add_calls(&t, &c, next, 1).await.unwrap(), 1);
    let app = AppQuota { used: 17, max: 250 };
    s.record_limit(
        &t,
        &c,
        LimitReading {
            used: 1200,
            max: 15000,
            app: Some(app),
        },
    )
    .await
    .unwrap();
    let u = s.usage(&t, &c, day).await.unwrap();
    assert_eq!(u.calls, 33);
    let limit = u.limit.unwrap();
    assert_eq!((limit.used, limit.max, limit.app), (1200, 15000, Some(app)));
    assert_eq!(
        limit.seen_at.timestamp_millis(),
        h.clock.now().timestamp_millis()
    );
    assert_eq!(s.usage(&t, &cid("c2"), day).await.unwrap().calls, 0);
    // A later reading without a per-app quota clears it (the admin removed the quota).
    s.record_limit(
        &t,
        &c,
        LimitReading {
            used: 1300,
            max: 15000,
            app: None,
        },
    )
    .await
    .unwrap();
    assert_eq!(s.usage(&t, &c, day).await.unwrap().limit.unwrap().app, None);
}

fn token(refresh: &str) -> StoredToken {
    StoredToken {
        refresh_token: Secret::new(refresh),
        instance_url: "https://example.my.salesforce.com".into(),
        issued_at: DateTime::from_timestamp(1_800_000_000, 0).unwrap(),
        metadata: BTreeMap::from([("scope".to_string(), "api refresh_token".to_string())]),
    }
}

pub async fn vault_rotation_is_compare_and_swap(h: &Harness) {
    let v = &h.stores.vault;
    let (t, c) = (tid("t1"), cid("c1"));
    assert!(v.secret_name(&t, &c).ends_with("t1/c1"));
    assert!(v.get(&t, &c).await.unwrap().is_none());
    assert!(matches!(
        v.rotate(&t, &c, &TokenVersion("nope".into()), &token("x"))
            .await,
        Err(StoreError::NotFound(_))
    ));
    let v1 = v.put(&t, &c, &token("rt-1")).await.unwrap();
    assert_eq!(v.get(&t, &c).await.unwrap(), Some(v1.clone()));
    let v2 = v.rotate(&t, &c, &v1.version, &token("rt-2")).await.unwrap();
    assert_ne!(v2.version, v1.version);
    let stale = v
        .rotate(&t, &c, &v1.version, &token("rt-stale"))
        .await
        .unwrap_err();
    assert!(stale.is_conflict(), "{stale}");
    assert_eq!(
        v.get(&t, &c)
            .await
            .unwrap()
            .unwrap()
            .token
            .refresh_token
            .expose(),
        "rt-2"
    );

    // Two refreshers who both read v2: one wins, the other is refused.
    let candidates = [token("rt-a"), token("rt-b")];
    let racers = join_all(
        candidates
            .iter()
            .map(|tok| v.rotate(&t, &c, &v2.version, tok)),
    )
    .await;
    let winners: Vec<&VersionedToken> = racers.iter().filter_map(|r| r.as_ref().ok()).collect();
    assert_eq!(winners.len(), 1, "{racers:?}");
    assert!(
        racers
            .iter()
            .filter_map(|r| r.as_ref().err())
            .all(StoreError::is_conflict)
    );
    assert_eq!(v.get(&t, &c).await.unwrap().as_ref(), Some(winners[0]));

    let dbg = format!("{:?}", v.get(&t, &c).await.unwrap());
    assert!(!dbg.contains("rt-a") && !dbg.contains("rt-b"), "{dbg}");

    v.delete(&t, &c).await.unwrap();
    v.delete(&t, &c).await.unwrap();
    assert!(v.get(&t, &c).await.unwrap().is_none());
    // Reconnect after disconnect.
    let again = v.put(&t, &c, &token("rt-3")).await.unwrap();
    assert_eq!(v.get(&t, &c).await.unwrap(), Some(again));
}

async fn drain(h: &Harness, queue: QueueKind, expect: usize) -> Vec<ReceivedMessage> {
    let mut got = Vec::new();
    for _ in 0..200 {
        if got.len() >= expect {
            break;
        }
        let batch = h.stores.queues.receive(queue, 10).await.unwrap();
        assert!(batch.len() <= 10);
        for m in &batch {
            h.stores.queues.ack(queue, &m.receipt).await.unwrap();
        }
        if batch.is_empty() {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        got.extend(batch);
    }
    got
}

pub async fn queues_batch_dedupe_and_order(h: &Harness) {
    let q = &h.stores.queues;
    let push: Vec<OutboundMessage> = (0..23)
        .map(|i| OutboundMessage {
            body: format!("{{\"event\":{i}}}"),
            group_id: Some(format!("record-{}", i % 2)),
            dedup_id: Some(format!("evt-{i}")),
        })
        .collect();
    q.send_batch(QueueKind::Push, &push).await.unwrap();
    // Redelivered events (same dedup ids) are dropped.
    q.send_batch(QueueKind::Push, &push[..3]).await.unwrap();
    let got = drain(h, QueueKind::Push, 23).await;
    assert_eq!(got.len(), 23, "23 unique events");
    for group in ["record-0", "record-1"] {
        let order: Vec<&str> = got
            .iter()
            .filter(|m| m.group_id.as_deref() == Some(group))
            .map(|m| m.body.as_str())
            .collect();
        let expected: Vec<&str> = push
            .iter()
            .filter(|m| m.group_id.as_deref() == Some(group))
            .map(|m| m.body.as_str())
            .collect();
        assert_eq!(order, expected, "FIFO within {group}");
    }
    assert!(q.receive(QueueKind::Push, 10).await.unwrap().is_empty());

    let poll: Vec<OutboundMessage> = (0..12)
        .map(|i| OutboundMessage {
            body: format!("conn-{i}"),
            group_id: None,
            dedup_id: None,
        })
        .collect();
    q.send_batch(QueueKind::Poll, &poll).await.unwrap();
    let got: BTreeSet<String> = drain(h, QueueKind::Poll, 12)
        .await
        .into_iter()
        .map(|m| m.body)
        .collect();
    assert_eq!(
        got,
        poll.into_iter().map(|m| m.body).collect::<BTreeSet<_>>()
    );

    let err = q
        .send_batch(
            QueueKind::Push,
            &[OutboundMessage {
                body: "x".into(),
                group_id: None,
                dedup_id: None,
            }],
        )
        .await
        .unwrap_err();
    assert!(err.to_string().contains("messages[0].group_id"), "{err}");
}

/// Ten 200 KB messages in one call (2 MB): more than a `SendMessageBatch` call may carry
/// (256 KiB classically, 1 MiB since AWS raised the limit and in moto), so the adapter
/// must split by size, not only by count.
pub async fn queues_batch_split_by_total_size(h: &Harness) {
    let q = &h.stores.queues;
    let body = |i: usize| format!("{i:02}{}", "x".repeat(200_000 - 2));
    let push: Vec<OutboundMessage> = (0..10)
        .map(|i| OutboundMessage {
            body: body(i),
            group_id: Some("record-big".into()),
            dedup_id: Some(format!("big-{i}")),
        })
        .collect();
    q.send_batch(QueueKind::Push, &push).await.unwrap();
    let got = drain(h, QueueKind::Push, 10).await;
    let bodies: Vec<&str> = got.iter().map(|m| m.body.as_str()).collect();
    let expected: Vec<String> = (0..10).map(body).collect();
    assert_eq!(bodies, expected, "all 10, in FIFO order");

    let poll: Vec<OutboundMessage> = (0..10)
        .map(|i| OutboundMessage {
            body: body(i),
            group_id: None,
            dedup_id: None,
        })
        .collect();
    q.send_batch(QueueKind::Poll, &poll).await.unwrap();
    let got: BTreeSet<String> = drain(h, QueueKind::Poll, 10)
        .await
        .into_iter()
        .map(|m| m.body)
        .collect();
    assert_eq!(got, expected.into_iter().collect::<BTreeSet<_>>());
}

/// A single message over the 256 KiB limit is refused up front, naming the limit, and
/// nothing of the call is sent.
pub async fn queues_refuse_oversized_message(h: &Harness) {
    let q = &h.stores.queues;
    let messages = [
        OutboundMessage {
            body: "small".into(),
            group_id: Some("g".into()),
            dedup_id: Some("small".into()),
        },
        OutboundMessage {
            body: "x".repeat(300_000),
            group_id: Some("g".into()),
            dedup_id: Some("huge".into()),
        },
    ];
    let err = q.send_batch(QueueKind::Push, &messages).await.unwrap_err();
    assert!(matches!(err, StoreError::InvalidInput { .. }), "{err}");
    let text = err.to_string();
    assert!(text.contains("messages[1].body"), "{text}");
    assert!(text.contains("262144"), "{text}");
    assert!(q.receive(QueueKind::Push, 10).await.unwrap().is_empty());
}

pub async fn bad_input_names_the_field(h: &Harness) {
    let (t, c) = (tid("t1"), cid("c1"));
    let err = h.stores.cursors.get(&t, &c, "Con#tact").await.unwrap_err();
    assert!(err.to_string().contains("object"), "{err}");
    let err = h
        .stores
        .links
        .get_by_app(&t, &c, "contact", "")
        .await
        .unwrap_err();
    assert!(err.to_string().contains("app_id"), "{err}");
    let err = h
        .stores
        .idempotency
        .put_if_absent(&t, "k", Duration::MAX)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("ttl"), "{err}");
    let err = h
        .stores
        .changes
        .append(
            &t,
            vec![NewChange {
                object: String::new(),
                ..change(1)
            }],
        )
        .await
        .unwrap_err();
    assert!(err.to_string().contains("object"), "{err}");
    // Nothing was written by the refused append.
    assert!(
        h.stores
            .changes
            .read(&t, 0, 10)
            .await
            .unwrap()
            .entries
            .is_empty()
    );
}

pub async fn checkpoints_are_kept_per_connection_and_name(h: &Harness) {
    let s = &h.stores.checkpoints;
    let (t, c1, c2) = (tid("t1"), cid("c1"), cid("c2"));
    assert_eq!(s.get(&t, &c1, "bulk:Contact").await.unwrap(), None);
    let v = serde_json::json!({"job": "750x", "locator": "MTAw", "rows": 100, "f": 1.5});
    s.put(&t, &c1, "bulk:Contact", v.clone()).await.unwrap();
    s.put(&t, &c2, "bulk:Contact", serde_json::json!({"job": "other"}))
        .await
        .unwrap();
    let got = s.get(&t, &c1, "bulk:Contact").await.unwrap().unwrap();
    assert_eq!((got.value, got.name.as_str()), (v, "bulk:Contact"));
    assert!(got.updated_at <= h.clock.now());
    assert_eq!(s.get(&t, &c1, "bulk:Lead").await.unwrap(), None);
    let next = serde_json::json!({"job": "750x", "locator": null, "rows": 250});
    s.put(&t, &c1, "bulk:Contact", next.clone()).await.unwrap();
    assert_eq!(
        s.get(&t, &c1, "bulk:Contact").await.unwrap().unwrap().value,
        next
    );
    s.delete(&t, &c1, "bulk:Contact").await.unwrap();
    s.delete(&t, &c1, "bulk:Contact").await.unwrap();
    assert_eq!(s.get(&t, &c1, "bulk:Contact").await.unwrap(), None);
    assert!(
        s.get(&t, &c2, "bulk:Contact").await.unwrap().is_some(),
        "other connection kept"
    );
    assert!(
        s.put(&t, &c1, "bad#name", serde_json::json!(1))
            .await
            .is_err()
    );
}

fn outbox_entries(prefix: &str, n: usize) -> Vec<NewOutboxEntry> {
    (0..n)
        .map(|i| NewOutboxEntry {
            event_id: format!("{prefix}-{i}"),
            body: format!("{{\"n\":{i},\"p\":\"{prefix}\"}}"),
        })
        .collect()
}

fn event_ids(entries: &[OutboxEntry]) -> Vec<String> {
    entries.iter().map(|e| e.event_id.clone()).collect()
}

pub async fn outbox_keeps_append_order_per_connection(h: &Harness) {
    let o = &h.stores.outbox;
    let (t, c1, c2) = (tid("t1"), cid("c1"), cid("c2"));
    assert!(o.oldest(&t, &c1, 10).await.unwrap().is_empty());
    // More than one transaction's worth (99) in one append, then a small one.
    let first = o.append(&t, &c1, outbox_entries("a", 120)).await.unwrap();
    let seqs: Vec<u64> = first.iter().map(|e| e.seq).collect();
    assert_eq!(seqs, (1..=120).collect::<Vec<_>>());
    let second = o.append(&t, &c1, outbox_entries("b", 3)).await.unwrap();
    assert_eq!(
        second.iter().map(|e| e.seq).collect::<Vec<_>>(),
        [121, 122, 123]
    );
    o.append(&t, &c2, outbox_entries("other", 2)).await.unwrap();

    let head = o.oldest(&t, &c1, 5).await.unwrap();
    assert_eq!(event_ids(&head), ["a-0", "a-1", "a-2", "a-3", "a-4"]);
    assert_eq!(head[2].body, "{\"n\":2,\"p\":\"a\"}");
    assert_eq!(
        (head[0].tenant.as_str(), head[0].connection.as_str()),
        ("t1", "c1")
    );
    let all = o.oldest(&t, &c1, 1000).await.unwrap();
    assert_eq!(all.len(), 123);
    assert_eq!(all.last().unwrap().event_id, "b-2");

    // Removal leaves the rest in order; removing absent entries is no error.
    let gone: Vec<u64> = (1..=119).chain([122, 999]).collect();
    o.remove(&t, &c1, &gone).await.unwrap();
    let left = o.oldest(&t, &c1, 10).await.unwrap();
    assert_eq!(event_ids(&left), ["a-119", "b-0", "b-2"]);
    // Numbers are never reused, even once the outbox was emptied.
    o.remove(&t, &c1, &[120, 121, 123]).await.unwrap();
    assert!(o.oldest(&t, &c1, 10).await.unwrap().is_empty());
    let again = o.append(&t, &c1, outbox_entries("c", 1)).await.unwrap();
    assert_eq!(again[0].seq, 124);
    // The other connection's outbox is its own.
    assert_eq!(
        event_ids(&o.oldest(&t, &c2, 10).await.unwrap()),
        ["other-0", "other-1"]
    );
}

pub async fn outbox_concurrent_appends_interleave_whole(h: &Harness) {
    let o = h.stores.outbox.clone();
    let (t, c) = (tid("t1"), cid("c1"));
    let appends = (0..6).map(|w| {
        let (o, t, c) = (o.clone(), t.clone(), c.clone());
        async move { o.append(&t, &c, outbox_entries(&format!("w{w}"), 4)).await }
    });
    let results = join_all(appends).await;
    let mut handed: BTreeSet<u64> = BTreeSet::new();
    for r in &results {
        let r = r.as_ref().unwrap();
        let seqs: Vec<u64> = r.iter().map(|e| e.seq).collect();
        // One append's entries are contiguous and in its order.
        assert!(seqs.windows(2).all(|w| w[1] == w[0] + 1), "{seqs:?}");
        handed.extend(seqs);
    }
    assert_eq!(handed, (1..=24).collect());
    let all = o.oldest(&t, &c, 100).await.unwrap();
    assert_eq!(
        all.iter().map(|e| e.seq).collect::<Vec<_>>(),
        (1..=24).collect::<Vec<_>>()
    );
    for w in 0..6 {
        let mine: Vec<String> = all
            .iter()
            .filter(|e| e.event_id.starts_with(&format!("w{w}-")))
            .map(|e| e.event_id.clone())
            .collect();
        assert_eq!(
            mine,
            (0..4).map(|i| format!("w{w}-{i}")).collect::<Vec<_>>()
        );
    }
}
