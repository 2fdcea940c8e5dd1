//! Scenario 7: a record deleted in Salesforce is unlinked by the deletion sweep, and the
//! app learns it from a change-feed entry of kind `unlink`; records still alive stay linked.

use crmsync_e2e::*;
use crmsync_service::runs::RunStatus;
use crmsync_service::sweep;
use crmsync_store::{ChangeKind, Environment};
use serde_json::json;

e2e!(
    deleted_in_salesforce_is_unlinked_by_the_sweep,
    a_connection_with_its_own_sweep_interval_is_swept_when_due,
);

async fn deleted_in_salesforce_is_unlinked_by_the_sweep(backend: Backend) {
    let s = Stack::start(backend).await;
    s.connect("prod", Environment::Production).await;
    s.advance(chrono::Duration::minutes(1));
    let doomed = s.insert(
        PROD_ORG,
        "Contact",
        json!({"LastName": "Doomed", "Phone": "+1 555 1200", "Email": "doomed@sweep.example"}),
    );
    let kept = s.insert(
        PROD_ORG,
        "Contact",
        json!({"LastName": "Kept", "Phone": "+1 555 1201", "Email": "kept@sweep.example"}),
    );
    s.poll("prod").await;
    let links = &s.app.stores.links;
    let doomed_link = links
        .get_by_sf_id(&s.tenant, &s.conn("prod"), &doomed)
        .await
        .unwrap()
        .expect("linked by the poll");

    // A first sweep finds nothing to do.
    s.advance(chrono::Duration::minutes(2));
    let run = sweep::sweep_connection(&s.app, &s.tenant, &s.conn("prod"))
        .await
        .expect("sweep runs");
    assert_eq!(run.total().unlinked, 0, "{run:#?}");

    s.sf.delete_record(PROD_ORG, "Contact", &doomed).unwrap();
    s.advance(chrono::Duration::minutes(2));
    let before = s.last_seq().await;
    let run = sweep::sweep_connection(&s.app, &s.tenant, &s.conn("prod"))
        .await
        .expect("sweep runs");
    assert_eq!(run.total().unlinked, 1, "{run:#?}");

    let got = s.changes_after(before).await;
    assert_eq!(got.len(), 1, "{got:#?}");
    let entry = &got[0];
    assert_eq!(entry.kind, ChangeKind::Unlink);
    assert_eq!(entry.sf_id, doomed);
    assert_eq!(entry.app_id.as_deref(), Some(doomed_link.app_id.as_str()));
    assert_eq!(str_field(&entry.payload, "action"), Some("unlink"));
    assert_eq!(str_field(&entry.payload, "app_object"), Some("contact"));
    let clear = entry.payload["clear_fields"]
        .as_array()
        .expect("CRM fields to clear");
    // Seed 002: two-way and app-native values are app data and are kept; only what
    // Salesforce alone fills (and the stored Salesforce id) is cleared.
    let config = s.config("prod").await;
    let want = crmsync_core::inbound::fields_cleared_on_delete(&config.config, "Contact");
    assert_eq!(clear, &want.iter().map(|f| json!(f)).collect::<Vec<_>>());
    for kept in ["email", "phone", "first_name", "last_name"] {
        assert!(
            !clear.contains(&json!(kept)),
            "{kept} must be kept: {clear:?}"
        );
    }
    assert!(
        clear.contains(&json!(config.config.lead_routing.contact_id_field)),
        "{clear:?}"
    );

    assert!(
        links
            .get_by_sf_id(&s.tenant, &s.conn("prod"), &doomed)
            .await
            .unwrap()
            .is_none(),
        "unlinked"
    );
    assert!(
        links
            .get_by_sf_id(&s.tenant, &s.conn("prod"), &kept)
            .await
            .unwrap()
            .is_some(),
        "live records stay linked"
    );

    // The next sweep does not repeat it.
    s.advance(chrono::Duration::minutes(2));
    let before = s.last_seq().await;
    let run = sweep::sweep_connection(&s.app, &s.tenant, &s.conn("prod"))
        .await
        .expect("sweep runs");
    assert_eq!(run.total().unlinked, 0, "{run:#?}");
    assert!(s.changes_after(before).await.is_empty());
}

/// Seed 002: the sweep interval is a connection's own setting, not only the stack's tick.
async fn a_connection_with_its_own_sweep_interval_is_swept_when_due(backend: Backend) {
    let s = Stack::start(backend).await;
    s.connect("prod", Environment::Production).await;
    s.connect("hourly", Environment::Production).await;
    s.edit_config("hourly", |c| c.sweep_interval_minutes = Some(60))
        .await;
    s.advance(chrono::Duration::minutes(1));
    let doomed = s.insert(
        PROD_ORG,
        "Contact",
        json!({"LastName": "Hourly", "Phone": "+1 555 1210", "Email": "hourly@sweep.example"}),
    );
    s.poll("hourly").await;
    let sweep = |c: &'static str| {
        let s = &s;
        async move {
            sweep::sweep_connection(&s.app, &s.tenant, &s.conn(c))
                .await
                .expect("sweep runs")
        }
    };
    s.advance(chrono::Duration::minutes(2));
    assert_eq!(
        sweep("hourly").await.status,
        RunStatus::Completed,
        "first sweep is due"
    );

    s.sf.delete_record(PROD_ORG, "Contact", &doomed).unwrap();
    s.advance(chrono::Duration::minutes(20));
    let early = sweep("hourly").await;
    assert_eq!(early.status, RunStatus::NotDue, "{early:#?}");
    assert_eq!(early.api_calls, 0);
    let linked = |s: &Stack| {
        let (t, c) = (s.tenant.clone(), s.conn("hourly"));
        let links = s.app.stores.links.clone();
        let id = doomed.clone();
        async move { links.get_by_sf_id(&t, &c, &id).await.unwrap().is_some() }
    };
    assert!(linked(&s).await, "not swept before its interval");
    // The stack's tick still sweeps a connection without its own interval.
    assert_eq!(sweep("prod").await.status, RunStatus::Completed);

    s.advance(chrono::Duration::minutes(41));
    let due = sweep("hourly").await;
    assert_eq!(due.status, RunStatus::Completed, "{due:#?}");
    assert_eq!(due.total().unlinked, 1, "{due:#?}");
    assert!(!linked(&s).await);

    // Out of range is refused by name.
    let mut raw = serde_json::to_value(s.config("hourly").await.config).unwrap();
    raw["sweep_interval_minutes"] = json!(2);
    let problems = crmsync_core::config::SyncConfig::from_json(&raw.to_string()).unwrap_err();
    assert!(
        problems.to_string().contains("sweep_interval_minutes"),
        "{problems}"
    );
}
