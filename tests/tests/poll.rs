//! Scenario 3: the minute poll. Salesforce changes reach the change feed in one poll; the
//! per-run cap holds and the rest comes next run; a record committed late with an older
//! `SystemModstamp` (inside the overlap window) is not lost; what crmsync pushed does not
//! come back as a change.

use std::collections::BTreeSet;

use crmsync_e2e::*;
use crmsync_service::runs::RunStatus;
use crmsync_store::{ChangeKind, Environment};
use serde_json::json;

e2e!(
    changes_arrive_capped_and_late_commits_are_kept,
    pushed_records_do_not_echo,
    only_records_owned_by_app_users_are_imported
);

fn lead(i: usize) -> serde_json::Value {
    json!({"FirstName": "Poll", "LastName": format!("Lead{i}"), "Company": format!("Poll Co {i}"),
           "Email": format!("poll.lead{i}@poll.example"), "Phone": format!("+1 555 02{i:02}")})
}

async fn changes_arrive_capped_and_late_commits_are_kept(backend: Backend) {
    let s = Stack::start(backend).await;
    s.connect("prod", Environment::Production).await;
    let first = s.poll("prod").await;
    assert_eq!(first.status, RunStatus::Completed, "{first:#?}");
    s.edit_config("prod", |c| c.poll_cap = 5).await;

    // Eight new leads, committed at the same instant (ties on SystemModstamp).
    s.advance(chrono::Duration::minutes(1));
    let leads: Vec<String> = (0..8)
        .map(|i| s.insert(PROD_ORG, "Lead", lead(i)))
        .collect();
    let before = s.last_seq().await;

    let run = s.poll("prod").await;
    assert_eq!(run.status, RunStatus::Capped, "{run:#?}");
    assert_eq!(run.total().created, 5, "{run:#?}");
    let got = s.changes_after(before).await;
    assert_eq!(got.len(), 5, "the cap holds: {got:#?}");

    s.advance(chrono::Duration::minutes(1));
    let run = s.poll("prod").await;
    assert_eq!(run.status, RunStatus::Completed, "{run:#?}");
    let got = s.changes_after(before).await;
    let ids: BTreeSet<&str> = got.iter().map(|c| c.sf_id.as_str()).collect();
    assert_eq!(
        ids,
        leads.iter().map(String::as_str).collect::<BTreeSet<_>>(),
        "the rest came next run, each once: {got:#?}"
    );
    assert_eq!(got.len(), 8, "no record twice: {got:#?}");
    for c in &got {
        assert_eq!(c.kind, ChangeKind::Upsert);
        assert_eq!(str_field(&c.payload, "action"), Some("create"));
        assert_eq!(str_field(&c.payload["fields"], "lead_type"), Some("lead"));
    }

    // An edit in Salesforce reaches the feed in one poll.
    let before = s.last_seq().await;
    s.advance(chrono::Duration::minutes(1));
    s.update(
        PROD_ORG,
        "Lead",
        &leads[3],
        json!({"Title": "VP Operations"}),
    );
    let run = s.poll("prod").await;
    assert_eq!(run.status, RunStatus::Completed, "{run:#?}");
    let got = s.changes_after(before).await;
    assert_eq!(got.len(), 1, "{got:#?}");
    assert_eq!(got[0].sf_id, leads[3]);
    assert_eq!(str_field(&got[0].payload, "action"), Some("update"));
    assert_eq!(
        str_field(&got[0].payload["fields"], "title"),
        Some("VP Operations")
    );

    // A late commit: visible only now, stamped two minutes before the cursor.
    let before = s.last_seq().await;
    let stamp = s.now() - chrono::Duration::minutes(2);
    s.advance(chrono::Duration::minutes(1));
    let late =
        s.sf.commit_late(
            PROD_ORG,
            "Lead",
            None,
            match lead(42) {
                serde_json::Value::Object(m) => m,
                _ => unreachable!(),
            },
            stamp,
        )
        .unwrap();
    let run = s.poll("prod").await;
    assert_eq!(run.status, RunStatus::Completed, "{run:#?}");
    let got = s.changes_after(before).await;
    assert_eq!(got.len(), 1, "{got:#?}");
    assert_eq!(got[0].sf_id, late, "the late commit is not lost");
    assert_eq!(
        str_field(&got[0].payload["fields"], "last_name"),
        Some("Lead42")
    );

    // Nothing new: a poll adds nothing.
    s.advance(chrono::Duration::minutes(1));
    let before = s.last_seq().await;
    s.poll("prod").await;
    assert!(s.changes_after(before).await.is_empty());
}

async fn pushed_records_do_not_echo(backend: Backend) {
    let s = Stack::start(backend).await;
    s.connect("prod", Environment::Production).await;
    s.edit_config("prod", |c| {
        c.owners
            .app_users
            .insert(Stack::MAPPED_USER.into(), "app-user-ava".into());
    })
    .await;
    s.poll("prod").await;

    // The app creates a contact; crmsync writes it to Salesforce as a Lead.
    let event = app_event(
        "create",
        "contact",
        "app-echo-1",
        s.now(),
        json!({"first_name": "Echo", "last_name": "Tester", "email": "echo.tester@echo.example",
               "phone": "+1 555 0300", "company_name": "Echo Co", "owner_id": "app-user-ava",
               "lead_status": "Open - Not Contacted", "phase": "ColdCallCold"}),
    );
    s.send_events("prod", vec![event]).await;
    let drained = s.drain_push().await;
    assert_eq!(drained.outcomes.len(), 1, "{drained:#?}");
    let sf_id = drained.outcomes[0]
        .sf_id
        .clone()
        .unwrap_or_else(|| panic!("pushed: {drained:#?}"));
    let written = s.record(PROD_ORG, "Lead", &sf_id);
    assert_eq!(written["Email"], json!("echo.tester@echo.example"));
    assert_eq!(
        written["OwnerId"],
        json!(s.user_id(PROD_ORG, Stack::MAPPED_USER)),
        "the app owner is mapped to the Salesforce user by email"
    );

    // The next poll reads the record crmsync wrote, and recognises it.
    s.advance(chrono::Duration::minutes(1));
    let before = s.last_seq().await;
    let run = s.poll("prod").await;
    assert_eq!(run.status, RunStatus::Completed, "{run:#?}");
    let got = s.changes_after(before).await;
    assert!(
        find_changes(&got, &sf_id).is_empty(),
        "a record crmsync pushed came back as a change: {got:#?}"
    );

    // A real edit in Salesforce still comes through, with only what changed.
    s.advance(chrono::Duration::minutes(1));
    s.update(PROD_ORG, "Lead", &sf_id, json!({"Phone": "+1 555 0399"}));
    let before = s.last_seq().await;
    s.poll("prod").await;
    let got = s.changes_after(before).await;
    let mine = find_changes(&got, &sf_id);
    assert_eq!(mine.len(), 1, "{got:#?}");
    assert_eq!(str_field(&mine[0].payload, "app_id"), Some("app-echo-1"));
    assert_eq!(
        mine[0].payload["fields"],
        json!({"phone": "+1 555 0399"}),
        "only the edited field comes back"
    );
}

/// Seed 002's import rule (`only_app_user_owners`): an Account owned by a Salesforce user
/// who is no app user makes no app record, and the run says why; once linked, a record is
/// not dropped by the rule.
async fn only_records_owned_by_app_users_are_imported(backend: Backend) {
    let s = Stack::start(backend).await;
    s.connect("prod", Environment::Production).await;
    s.edit_config("prod", |c| {
        c.owners
            .app_users
            .insert(Stack::MAPPED_USER.into(), "app-user-ava".into());
        c.objects.get_mut("Account").unwrap().only_app_user_owners = true;
    })
    .await;
    s.poll("prod").await;
    s.advance(chrono::Duration::minutes(1));
    let mapped = s.user_id(PROD_ORG, Stack::MAPPED_USER);
    let unmapped = s.user_id(PROD_ORG, Stack::UNMAPPED_USER);
    let ours = s.insert(
        PROD_ORG,
        "Account",
        json!({"Name": "Owned By Ava Ltd", "Phone": "+1 555 0301", "OwnerId": mapped}),
    );
    let theirs = s.insert(
        PROD_ORG,
        "Account",
        json!({"Name": "Owned By Omar Ltd", "Phone": "+1 555 0302", "OwnerId": unmapped}),
    );
    let before = s.last_seq().await;
    let run = s.poll("prod").await;
    let changes = s.changes_after(before).await;
    assert_eq!(find_changes(&changes, &ours).len(), 1, "{changes:#?}");
    assert!(find_changes(&changes, &theirs).is_empty(), "{changes:#?}");
    assert_eq!(run.objects["Account"].skipped, 1, "{run:#?}");
    assert!(
        run.skip_reasons
            .keys()
            .any(|r| r.contains("owned by app users")),
        "{run:#?}"
    );
    let links = &s.app.stores.links;
    assert!(
        links
            .get_by_sf_id(&s.tenant, &s.conn("prod"), &theirs)
            .await
            .unwrap()
            .is_none()
    );

    // The linked Account moves to a non-app-user owner: it keeps syncing (the rule is about
    // import).
    s.advance(chrono::Duration::minutes(1));
    s.update(
        PROD_ORG,
        "Account",
        &ours,
        json!({"OwnerId": unmapped, "Phone": "+1 555 0399"}),
    );
    let before = s.last_seq().await;
    s.poll("prod").await;
    let changes = s.changes_after(before).await;
    assert_eq!(find_changes(&changes, &ours).len(), 1, "{changes:#?}");
}
