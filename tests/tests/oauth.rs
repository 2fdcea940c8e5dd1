//! Scenario 1: connecting through the real OAuth flow (authorize → callback → token
//! exchange → identity → describe), refusing forged, expired and replayed states, and
//! keeping sandbox and production as separate connections.

use crmsync_e2e::*;
use crmsync_service::ServiceError;
use crmsync_service::connect;
use crmsync_store::{ConnectionStatus, Environment};

e2e!(
    connect_through_oauth,
    bad_states_are_refused,
    sandbox_and_production_are_separate
);

async fn connect_through_oauth(backend: Backend) {
    let s = Stack::start(backend).await;
    let done = s.connect("prod", Environment::Production).await;
    assert_eq!(done.org_name, "Demo Company");
    assert!(!done.reconnected);
    assert_eq!(
        done.return_to.as_deref(),
        Some("https://app.example/integrations/salesforce")
    );

    let c = s.connection("prod").await;
    assert_eq!(c.status, ConnectionStatus::Connected);
    assert_eq!(c.environment, Environment::Production);
    assert_eq!(c.org_id, s.sf.org_id(PROD_ORG).unwrap());
    assert_eq!(c.org_name, "Demo Company");
    assert_eq!(c.instance_url, s.emulator.base_url());
    assert_eq!(c.login_url, s.emulator.login_url(PROD_ORG));
    assert_eq!(c.user.username, sf_emulator::demo::USERNAME);
    // The refresh token lives in the vault, never on the connection.
    let stored = s
        .app
        .stores
        .vault
        .get(&s.tenant, &s.conn("prod"))
        .await
        .unwrap()
        .expect("the refresh token is in the vault");
    assert!(!stored.token.refresh_token.expose().is_empty());
    assert!(!format!("{c:?}").contains(stored.token.refresh_token.expose()));
    // The authorize step used PKCE and the token endpoint was called once.
    assert_eq!(s.sf.api_count(PROD_ORG, "oauth.token").unwrap(), 1);
}

async fn bad_states_are_refused(backend: Backend) {
    let s = Stack::start(backend).await;

    // Forged: a state crmsync never issued.
    let err = connect::callback(&s.app, "some-code", "forged-state")
        .await
        .unwrap_err();
    assert!(matches!(err, ServiceError::Unauthorized(_)), "{err}");

    // Forged next to a real code: the real code is useless without its state.
    let url = s.start_connect("prod", Environment::Production).await;
    let (code, state) = s.authorize(&url).await;
    let err = connect::callback(&s.app, &code, &format!("{state}x"))
        .await
        .unwrap_err();
    assert!(matches!(err, ServiceError::Unauthorized(_)), "{err}");
    assert!(
        s.app
            .stores
            .connections
            .get(&s.tenant, &s.conn("prod"))
            .await
            .unwrap()
            .is_none(),
        "a refused callback creates no connection"
    );

    // The genuine pair works once ...
    connect::callback(&s.app, &code, &state)
        .await
        .expect("the genuine state is accepted");
    // ... and is refused when replayed.
    let err = connect::callback(&s.app, &code, &state).await.unwrap_err();
    assert!(matches!(err, ServiceError::Unauthorized(_)), "{err}");

    // Expired: the admin comes back after the 10-minute state TTL.
    let url = s.start_connect("late", Environment::Production).await;
    let (code, state) = s.authorize(&url).await;
    s.clock.advance(
        chrono::Duration::from_std(connect::STATE_TTL).unwrap() + chrono::Duration::seconds(1),
    );
    let err = connect::callback(&s.app, &code, &state).await.unwrap_err();
    assert!(matches!(err, ServiceError::Unauthorized(_)), "{err}");
    assert!(
        s.app
            .stores
            .connections
            .get(&s.tenant, &s.conn("late"))
            .await
            .unwrap()
            .is_none(),
        "an expired state creates no connection"
    );
    // Only the one genuine exchange reached the token endpoint.
    assert_eq!(s.sf.api_count(PROD_ORG, "oauth.token").unwrap(), 1);
}

async fn sandbox_and_production_are_separate(backend: Backend) {
    let s = Stack::start(backend).await;
    let prod = s.connect("prod", Environment::Production).await;
    let sbx = s.connect("sbx", Environment::Sandbox).await;
    assert_eq!(prod.org_name, "Demo Company");
    assert_eq!(sbx.org_name, "Demo Company (Sandbox)");

    let (p, x) = (s.connection("prod").await, s.connection("sbx").await);
    assert_ne!(p.id, x.id);
    assert_ne!(p.org_id, x.org_id);
    assert_eq!(p.org_id, s.sf.org_id(PROD_ORG).unwrap());
    assert_eq!(x.org_id, s.sf.org_id(SANDBOX_ORG).unwrap());
    assert_eq!(p.environment, Environment::Production);
    assert_eq!(x.environment, Environment::Sandbox);
    assert_eq!(x.login_url, s.emulator.login_url(SANDBOX_ORG));
    assert_ne!(p.secret_name, x.secret_name);
    // Each org saw exactly one code exchange: the sandbox connect went to the sandbox host.
    assert_eq!(s.sf.api_count(PROD_ORG, "oauth.token").unwrap(), 1);
    assert_eq!(s.sf.api_count(SANDBOX_ORG, "oauth.token").unwrap(), 1);

    // Data stays apart: a record in the sandbox reaches only the sandbox connection.
    s.edit_config("sbx", |c| c.required_app_fields.clear())
        .await;
    s.edit_config("prod", |c| c.required_app_fields.clear())
        .await;
    s.poll("prod").await;
    s.poll("sbx").await;
    let before = s.last_seq().await;
    s.advance(chrono::Duration::minutes(1));
    let lead = s.insert(
        SANDBOX_ORG,
        "Lead",
        serde_json::json!({"LastName": "Sandboxed", "Company": "Test Co", "Phone": "+1 555 0001"}),
    );
    s.poll("prod").await;
    s.poll("sbx").await;
    let changes = s.changes_after(before).await;
    let mine = find_changes(&changes, &lead);
    assert_eq!(mine.len(), 1, "{changes:#?}");
    assert_eq!(mine[0].connection, s.conn("sbx"));
    assert_eq!(changes.len(), 1, "nothing else changed: {changes:#?}");
}
