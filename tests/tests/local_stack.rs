//! The demo walk-through on the CLI's `LocalStack` (the stack `crmsync demo` and
//! `crmsync dev` run): the emulator's full demo org (~700 records) synced in capped runs,
//! each record reaching the change feed once; a second full sync adds nothing; pushed
//! events are written; a deletion is swept. Once on embedded stores, once on moto.

use std::collections::BTreeSet;

use crmsync_cli::stack::{ClockMode, SalesforceTarget, StateBackend};
use crmsync_cli::{LocalStack, StackOptions};
use crmsync_e2e::*;
use crmsync_store::{ChangeEntry, ChangeKind, Environment, TenantId};
use serde_json::json;

e2e!(demo_org_full_sync_push_and_sweep_on_the_local_stack);

async fn all_changes(stack: &LocalStack, tenant: &TenantId) -> Vec<ChangeEntry> {
    let mut out = Vec::new();
    let mut after = 0;
    loop {
        let batch = stack
            .app()
            .stores
            .changes
            .read(tenant, after, 1000)
            .await
            .unwrap();
        after = batch.next_after;
        out.extend(batch.entries);
        if !batch.has_more {
            return out;
        }
    }
}

async fn demo_org_full_sync_push_and_sweep_on_the_local_stack(backend: Backend) {
    let state = match backend {
        Backend::Embedded => StateBackend::Memory,
        Backend::Aws => StateBackend::AwsEndpoint {
            endpoint: moto_endpoint(),
            name: format!(
                "e2e-ls-{}",
                &uuid::Uuid::new_v4().simple().to_string()[..10]
            ),
        },
    };
    let stack = LocalStack::start(StackOptions {
        salesforce: SalesforceTarget::Emulator { port: 0 },
        state,
        clock: ClockMode::Manual,
        redirect_url: None,
        poll_cap: Some(250),
    })
    .await
    .expect("the local stack starts");
    let sf = stack.emulator_admin().expect("in-process emulator");
    let creds = stack.create_tenant("demo-co", "Demo Co").await.unwrap();
    let tenant = TenantId::new("demo-co").unwrap();
    let connected = stack
        .connect("demo-co", "prod", Environment::Production)
        .await
        .expect("OAuth connect through the emulator");
    assert_eq!(connected.org_name, "Demo Company");
    // A new connection starts with its sync off (a full sync would do nothing).
    let off = stack.full_sync("demo-co", "prod").await;
    assert!(
        off.as_ref()
            .is_err_and(|e| e.to_string().contains("SyncOff")),
        "{off:?}"
    );
    let switched = stack.set_sync("demo-co", "prod", true).await.unwrap();
    assert!(switched.sync_enabled);

    // Full sync in capped runs.
    let sync = stack.full_sync("demo-co", "prod").await.expect("full sync");
    assert!(sync.runs >= 3, "capped at 250 a run: {} runs", sync.runs);
    let totals = sync.total.total();
    assert_eq!(totals.errors, 0, "{:#?}", sync.total);
    // Every record with the preset's required app fields is created once (re-reads of the
    // overlap window count as fetched/unchanged, not created). Every tenth demo lead has no
    // phone, which the preset requires for contacts: those are skipped with that reason.
    for object in ["Account", "Contact", "Opportunity", "User"] {
        let in_org = sf
            .record_count(sf_emulator::demo::ORG_ALIAS, object)
            .unwrap() as u64;
        let stats = sync.total.objects.get(object).cloned().unwrap_or_default();
        assert_eq!(stats.created, in_org, "{object}: {:#?}", sync.total);
    }
    let leads_in_org = sf
        .record_count(sf_emulator::demo::ORG_ALIAS, "Lead")
        .unwrap() as u64;
    let without_phone = leads_in_org.div_ceil(10);
    let leads = sync.total.objects.get("Lead").cloned().unwrap_or_default();
    assert_eq!(
        leads.created,
        leads_in_org - without_phone,
        "{:#?}",
        sync.total
    );
    assert_eq!(
        sync.total
            .skip_reasons
            .get("Lead: required app field `phone` is blank"),
        Some(&without_phone),
        "{:#?}",
        sync.total.skip_reasons
    );
    let feed = all_changes(&stack, &tenant).await;
    assert_eq!(feed.len() as u64, totals.created);
    let distinct: BTreeSet<&str> = feed.iter().map(|c| c.sf_id.as_str()).collect();
    assert_eq!(distinct.len(), feed.len(), "no record twice in the feed");

    // A second full sync finds nothing new.
    stack.advance(std::time::Duration::from_secs(60));
    let again = stack.full_sync("demo-co", "prod").await.unwrap();
    assert_eq!(again.total.total().created, 0, "{:#?}", again.total);
    assert_eq!(all_changes(&stack, &tenant).await.len(), feed.len());

    // Push.
    let event = app_event(
        "create",
        "contact",
        "app-ls-1",
        stack.now(),
        json!({"last_name": "Stacked", "phone": "+1 555 1500", "company_name": "Stack Co",
               "email": "stacked@stack.example"}),
    );
    stack.send_events(&creds, "prod", &[event]).await.unwrap();
    let pushed = stack.drain_push_queue().await.unwrap();
    assert_eq!(pushed.written.len(), 1, "{pushed:#?}");
    assert!(pushed.errors.is_empty(), "{pushed:#?}");

    // Sweep: a synced contact deleted in Salesforce is unlinked.
    let victim = feed
        .iter()
        .find(|c| c.object == "Contact")
        .expect("contacts were synced");
    stack.advance(std::time::Duration::from_secs(120));
    stack.sweep("demo-co", "prod").await.unwrap();
    sf.delete_record(sf_emulator::demo::ORG_ALIAS, "Contact", &victim.sf_id)
        .unwrap();
    stack.advance(std::time::Duration::from_secs(120));
    let swept = stack.sweep("demo-co", "prod").await.unwrap();
    assert_eq!(swept.total().unlinked, 1, "{swept:#?}");
    let last = all_changes(&stack, &tenant).await;
    let unlink = last.last().unwrap();
    assert_eq!(unlink.kind, ChangeKind::Unlink);
    assert_eq!(unlink.sf_id, victim.sf_id);
    stack.shutdown().await;
}
