//! Issue 13 item 8: formula and roll-up fields. Salesforce recomputes a calculated field
//! without moving `SystemModstamp`, so the minute poll cannot see the change; the rolling
//! re-read (`crmsync_service::recalc`, every 15 minutes per object) finds it and feeds the
//! app the new value of the linked record. A parent whose child changed (an Account whose
//! Opportunity a poll read) is re-read in that same poll, as its roll-ups moved with it.

use crmsync_core::config::{FieldMapping, SyncRule};
use crmsync_core::provision::{CustomFieldSpec, CustomFieldType};
use crmsync_core::transform::FieldKind;
use crmsync_e2e::*;
use crmsync_service::provision;
use crmsync_service::recalc::RECALC_EVERY;
use crmsync_store::Environment;
use serde_json::json;

e2e!(
    a_recomputed_formula_reaches_the_app_on_the_slower_cadence,
    a_rollup_that_moved_with_a_changed_child_reaches_the_app_in_the_same_poll,
);

const SCORE: &str = "Health_Score__c";

/// A connected stack whose Account maps `Health_Score__c`, made a calculated field.
async fn with_calculated_score(backend: Backend) -> Stack {
    let s = Stack::start(backend).await;
    s.connect("prod", Environment::Production).await;
    s.edit_config("prod", |c| {
        c.custom_fields = vec![CustomFieldSpec {
            object: "Account".into(),
            api_name: SCORE.into(),
            label: "Health Score".into(),
            kind: CustomFieldType::Number,
            length: None,
            precision: Some(5),
            scale: Some(0),
            values: Vec::new(),
        }];
        c.objects
            .get_mut("Account")
            .unwrap()
            .fields
            .push(FieldMapping::new(
                "health_score",
                SCORE,
                SyncRule::SalesforceUnlessBlank,
                FieldKind::Number,
            ));
    })
    .await;
    provision::provision(&s.app, &s.tenant, &s.conn("prod"))
        .await
        .expect("provisioning runs");
    // The admin turns the field into a formula: read-only and calculated.
    s.sf.alter_field(PROD_ORG, "Account", SCORE, |f| {
        f.calculated = true;
        f.createable = false;
        f.updateable = false;
    })
    .unwrap();
    // Describes are read again after 15 minutes of wall-clock time (not the test's
    // clock): drop the cached one as that refresh would.
    let conn = s.connection("prod").await;
    s.app
        .salesforce
        .client(&conn)
        .unwrap()
        .invalidate_describe("Account");
    s
}

async fn a_recomputed_formula_reaches_the_app_on_the_slower_cadence(backend: Backend) {
    let s = with_calculated_score(backend).await;
    s.poll("prod").await;

    s.advance(chrono::Duration::minutes(1));
    let account = s.insert(
        PROD_ORG,
        "Account",
        json!({"Name": "Formula Works", "Phone": "+1 555 0800"}),
    );
    let seq = s.last_seq().await;
    s.poll("prod").await;
    assert_eq!(find_changes(&s.changes_after(seq).await, &account).len(), 1);

    // A newer record moves the poll's cursor past the account and its overlap window
    // (the poll re-reads records stamped up to five minutes behind its cursor).
    s.advance(chrono::Duration::minutes(6));
    s.insert(
        PROD_ORG,
        "Account",
        json!({"Name": "Later Co", "Phone": "+1 555 0801"}),
    );
    s.poll("prod").await;

    // Salesforce recomputes the formula: no SystemModstamp change.
    let stamp = s.record(PROD_ORG, "Account", &account)["SystemModstamp"].clone();
    s.sf.recompute(
        PROD_ORG,
        "Account",
        &account,
        json!({SCORE: 87}).as_object().unwrap().clone(),
    )
    .unwrap();
    assert_eq!(
        s.record(PROD_ORG, "Account", &account)["SystemModstamp"],
        stamp
    );

    // The minute poll cannot see it.
    s.advance(chrono::Duration::minutes(1));
    let seq = s.last_seq().await;
    s.poll("prod").await;
    assert!(
        find_changes(&s.changes_after(seq).await, &account).is_empty(),
        "a poll by SystemModstamp does not see a recomputed formula"
    );

    // The re-read on its slower cadence does, once.
    s.advance(RECALC_EVERY);
    let seq = s.last_seq().await;
    let run = s.poll("prod").await;
    let changes = s.changes_after(seq).await;
    let change = find_changes(&changes, &account);
    assert_eq!(change.len(), 1, "{changes:#?} {run:#?}");
    assert_eq!(
        change[0].payload["fields"]["health_score"].as_f64(),
        Some(87.0),
        "{changes:#?}"
    );
    s.advance(RECALC_EVERY);
    let seq = s.last_seq().await;
    s.poll("prod").await;
    assert!(
        find_changes(&s.changes_after(seq).await, &account).is_empty(),
        "an unchanged value is not fed again"
    );
}

async fn a_rollup_that_moved_with_a_changed_child_reaches_the_app_in_the_same_poll(
    backend: Backend,
) {
    let s = with_calculated_score(backend).await;
    let account = s.insert(
        PROD_ORG,
        "Account",
        json!({"Name": "Rollup Works", "Phone": "+1 555 0810"}),
    );
    s.poll("prod").await;
    // A newer Account moves the poll's cursor past this one's overlap window.
    s.advance(chrono::Duration::minutes(6));
    s.insert(
        PROD_ORG,
        "Account",
        json!({"Name": "Later Rollup Co", "Phone": "+1 555 0811"}),
    );
    // The rolling scan's turn: it reads the Account now, and not again for 15 minutes.
    s.advance(RECALC_EVERY);
    s.poll("prod").await;
    s.advance(chrono::Duration::minutes(1));
    s.poll("prod").await;

    // A Salesforce user adds an Opportunity; the Account's roll-up moves with it, without
    // the Account's SystemModstamp.
    s.advance(chrono::Duration::minutes(1));
    let stamp = s.record(PROD_ORG, "Account", &account)["SystemModstamp"].clone();
    s.insert(
        PROD_ORG,
        "Opportunity",
        json!({"Name": "Rollup deal", "StageName": "Prospecting",
               "CloseDate": "2026-12-31", "AccountId": account, "Amount": 500}),
    );
    s.sf.recompute(
        PROD_ORG,
        "Account",
        &account,
        json!({SCORE: 42}).as_object().unwrap().clone(),
    )
    .unwrap();
    assert_eq!(
        s.record(PROD_ORG, "Account", &account)["SystemModstamp"],
        stamp
    );

    // Well before the rolling scan's next turn, the poll that reads the Opportunity
    // re-reads its Account.
    s.advance(chrono::Duration::minutes(1));
    let seq = s.last_seq().await;
    let run = s.poll("prod").await;
    let changes = s.changes_after(seq).await;
    let change = find_changes(&changes, &account);
    assert_eq!(change.len(), 1, "{changes:#?} {run:#?}");
    assert_eq!(
        change[0].payload["fields"]["health_score"].as_f64(),
        Some(42.0),
        "{changes:#?}"
    );

    // Nothing changed since: no re-read, nothing fed.
    s.advance(chrono::Duration::minutes(1));
    let seq = s.last_seq().await;
    s.poll("prod").await;
    assert!(find_changes(&s.changes_after(seq).await, &account).is_empty());
}
