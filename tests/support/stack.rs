//! One running stack: emulator (production + sandbox org), stores, app, tenant, clocks.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use crmsync_core::config::SyncConfig;
use crmsync_service::config_service::{self, VersionedConfig};
use crmsync_service::connect::{self, Connected};
use crmsync_service::ingest::{self, Accepted};
use crmsync_service::push::{self, EventOutcome, InboundMessage};
use crmsync_service::runs::RunSummary;
use crmsync_service::tenants::{self, IssuedCredentials};
use crmsync_service::{App, AppCredentials, Settings, poll, signing};
use crmsync_store::{
    AwsSettings, ChangeEntry, Clock, Connection, ConnectionId, Environment, ManualClock, QueueKind,
    ReceivedMessage, ReportEntry, TenantId,
};
use serde_json::{Map, Value, json};
use sf_emulator::{AdminHandle, Emulator, EmulatorOptions, OrgSpec, UserSpec};
use url::Url;

use crate::backend::{self, Backend};

/// Alias of the production org (the emulator's demo org spec).
pub const PROD_ORG: &str = sf_emulator::demo::ORG_ALIAS;
/// Alias of the sandbox org.
pub const SANDBOX_ORG: &str = "sandbox";
const SANDBOX_ADMIN: &str = "admin@sandbox.example";
const API_VERSION: &str = "62.0";

/// How a stack is built.
#[derive(Debug, Clone, Default)]
pub struct StackOptions {
    /// Generate the emulator's demo data set in the production org (hundreds of records).
    pub demo_data: bool,
    /// Record types the production org defines.
    pub record_types: Vec<sf_emulator::RecordTypeSpec>,
    /// Custom objects the production org defines (`Site__c`, `Organization__c`).
    pub custom_objects: Vec<sf_emulator::schema::ObjectDef>,
    /// Records one poll reads per object (the service default, 1,000, when `None`): a low
    /// cap lets a volume scenario stay small.
    pub poll_cap: Option<usize>,
    /// Link pages one sweep run reconciles (the service default when `None`): a low value
    /// makes a reconcile span several runs.
    pub reconcile_pages_per_run: Option<usize>,
    /// Ingest sends each event as its own push-queue message, as before the outbox (the
    /// path that still serves messages sent then); by default events go through the
    /// connection's outbox and the queue carries nudges.
    pub per_event_push: bool,
    /// New connections start with their sync off, as in a deployed stack (the product
    /// default); most scenarios start syncing at connect and leave this false.
    pub sync_off_at_connect: bool,
}

/// What one drain of the push queue did.
#[derive(Debug, Default)]
pub struct Drained {
    pub outcomes: Vec<EventOutcome>,
    pub retried: Vec<String>,
    pub duplicates: usize,
    pub batches: usize,
}

/// A running end-to-end stack. Build one per scenario.
pub struct Stack {
    pub backend: Backend,
    pub emulator: Emulator,
    /// Typed control of the emulated orgs.
    pub sf: AdminHandle,
    /// The stores' clock (the emulator's clock is frozen at the same start).
    pub clock: Arc<ManualClock>,
    pub app: Arc<App>,
    pub tenant: TenantId,
    pub credentials: IssuedCredentials,
    /// Resource names on moto (AWS backend only).
    pub aws: Option<AwsSettings>,
    http: reqwest::Client,
}

impl Stack {
    /// Production org: the demo org spec (Crmsync_Id__c, Amount rule, Lead email duplicate
    /// rule) without generated data, plus two sales users. Sandbox org: an empty org.
    pub const MAPPED_USER: &'static str = "ava.sales@demo.example";
    pub const UNMAPPED_USER: &'static str = "omar.rep@demo.example";

    pub async fn start(backend: Backend) -> Stack {
        Self::start_with(backend, StackOptions::default()).await
    }

    /// A stack whose ingest sends one push-queue message per event: the path that still
    /// serves messages sent before the outbox (tests that handle those messages one by one).
    pub async fn start_per_event(backend: Backend) -> Stack {
        let options = StackOptions {
            per_event_push: true,
            ..StackOptions::default()
        };
        Self::start_with(backend, options).await
    }

    pub async fn start_with(backend: Backend, options: StackOptions) -> Stack {
        let mut prod = OrgSpec::demo().demo_data(options.demo_data);
        prod.record_types = options.record_types.clone();
        prod.custom_objects
            .extend(options.custom_objects.iter().cloned());
        for (username, first, last) in [
            (Self::MAPPED_USER, "Ava", "Sales"),
            (Self::UNMAPPED_USER, "Omar", "Rep"),
        ] {
            let mut user = UserSpec::new(username, "unused").named(first, last);
            user.password = None;
            prod = prod.user(user);
        }
        let sandbox = OrgSpec::new(SANDBOX_ORG)
            .name("Demo Company (Sandbox)")
            .sandbox(true);
        let emulator = Emulator::start(EmulatorOptions::empty().with_org(prod).with_org(sandbox))
            .await
            .expect("emulator starts on 127.0.0.1");
        let sf = emulator.admin();
        let clock = Arc::new(ManualClock::starting_now());
        sf.freeze_clock(clock.now());

        let (stores, aws) = backend::stores(backend, clock.clone()).await;
        let mut settings = Settings {
            sf_login_url: emulator.login_url(PROD_ORG),
            sf_sandbox_login_url: emulator.login_url(SANDBOX_ORG),
            sf_api_version: API_VERSION.into(),
            oauth_redirect_url: "http://127.0.0.1:9/oauth/callback".into(),
            ..Settings::default()
        };
        if let Some(cap) = options.poll_cap {
            settings.poll_cap = cap;
        }
        settings.push_outbox = !options.per_event_push;
        settings.sync_on_connect = !options.sync_off_at_connect;
        if let Some(pages) = options.reconcile_pages_per_run {
            settings.reconcile_pages_per_run = pages;
        }
        if let Some(aws) = &aws {
            settings.table = aws.table.clone();
            settings.push_queue_url = aws.push_queue_url.clone();
            settings.poll_queue_url = aws.poll_queue_url.clone();
            settings.sweep_queue_url = aws.sweep_queue_url.clone();
            settings.secret_prefix = aws.secret_prefix.clone();
        }
        let credentials = AppCredentials {
            client_id: sf_emulator::demo::CLIENT_ID.into(),
            client_secret: Some(sf_emulator::demo::CLIENT_SECRET.into()),
        };
        let app = Arc::new(App::new(settings, stores, credentials).expect("app wires"));
        let tenant = TenantId::new("acme").expect("tenant id");
        let issued = tenants::create_tenant(&app, tenant.as_str(), "Acme Inc")
            .await
            .expect("tenant is created");
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("http client");
        Stack {
            backend,
            emulator,
            sf,
            clock,
            app,
            tenant,
            credentials: issued,
            aws,
            http,
        }
    }

    pub fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    /// Moves the store clock and the emulator's clock together.
    pub fn advance(&self, by: chrono::Duration) {
        self.clock.advance(by);
        self.sf
            .advance_clock(by.to_std().expect("tests only move time forward"));
    }

    pub fn conn(&self, id: &str) -> ConnectionId {
        ConnectionId::new(id).expect("connection id")
    }

    // ---- OAuth ----

    /// Starts a connect and returns the authorize URL.
    pub async fn start_connect(&self, conn: &str, env: Environment) -> Url {
        self.start_connect_for(&self.tenant, conn, env).await
    }

    /// [`Stack::start_connect`] for another tenant.
    pub async fn start_connect_for(&self, tenant: &TenantId, conn: &str, env: Environment) -> Url {
        connect::start(
            &self.app,
            tenant,
            &self.conn(conn),
            env,
            Some("https://app.example/integrations/salesforce".into()),
        )
        .await
        .expect("connect start")
    }

    /// Follows the authorize URL as the admin's browser would (the org auto-approves) and
    /// returns the `(code, state)` Salesforce redirected back with.
    pub async fn authorize(&self, url: &Url) -> (String, String) {
        let reply = self
            .http
            .get(url.clone())
            .send()
            .await
            .expect("authorize request");
        assert!(
            reply.status().is_redirection(),
            "authorize should redirect back, got {}",
            reply.status()
        );
        let location = reply
            .headers()
            .get(reqwest::header::LOCATION)
            .and_then(|v| v.to_str().ok())
            .expect("authorize redirect has a Location");
        let back = Url::parse(location).expect("Location is a URL");
        let get = |name: &str| {
            back.query_pairs()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.into_owned())
                .unwrap_or_else(|| panic!("redirect {location} has no {name}"))
        };
        (get("code"), get("state"))
    }

    /// The whole connect flow; panics if it fails.
    pub async fn connect(&self, conn: &str, env: Environment) -> Connected {
        self.connect_for(&self.tenant, conn, env).await
    }

    /// [`Stack::connect`] for another tenant.
    pub async fn connect_for(&self, tenant: &TenantId, conn: &str, env: Environment) -> Connected {
        self.try_connect_for(tenant, conn, env)
            .await
            .unwrap_or_else(|e| panic!("OAuth callback for {conn} failed: {e}"))
    }

    /// The whole connect flow; the callback's error if Salesforce refuses it (e.g. the
    /// identity call while the org's API limit is spent).
    pub async fn try_connect(
        &self,
        conn: &str,
        env: Environment,
    ) -> Result<Connected, crmsync_service::error::ServiceError> {
        self.try_connect_for(&self.tenant, conn, env).await
    }

    async fn try_connect_for(
        &self,
        tenant: &TenantId,
        conn: &str,
        env: Environment,
    ) -> Result<Connected, crmsync_service::error::ServiceError> {
        let url = self.start_connect_for(tenant, conn, env).await;
        let (code, state) = self.authorize(&url).await;
        connect::callback(&self.app, &code, &state).await
    }

    pub async fn connection(&self, conn: &str) -> Connection {
        self.app
            .stores
            .connections
            .get(&self.tenant, &self.conn(conn))
            .await
            .expect("connection read")
            .unwrap_or_else(|| panic!("connection {conn} exists"))
    }

    // ---- config ----

    pub async fn config(&self, conn: &str) -> VersionedConfig {
        config_service::load_or_init(&self.app, &self.tenant, &self.conn(conn))
            .await
            .expect("config loads")
    }

    /// Edits the stored config through the validating use case.
    pub async fn edit_config(&self, conn: &str, edit: impl FnOnce(&mut SyncConfig)) -> u64 {
        let current = self.config(conn).await;
        let mut config = current.config;
        edit(&mut config);
        let raw = serde_json::to_value(&config).expect("config serializes");
        config_service::replace(
            &self.app,
            &self.tenant,
            &self.conn(conn),
            current.version,
            &raw,
        )
        .await
        .unwrap_or_else(|e| panic!("config replace refused: {e}"))
        .version
    }

    // ---- push ----

    /// Signs and ingests app events for `conn` (the app's `POST /events`).
    pub async fn send_events(&self, conn: &str, events: Vec<Value>) -> Accepted {
        self.send_events_as(&self.tenant, &self.credentials.webhook_secret, conn, events)
            .await
    }

    /// [`Stack::send_events`] for another tenant, signed with its webhook secret.
    pub async fn send_events_as(
        &self,
        tenant: &TenantId,
        webhook_secret: &str,
        conn: &str,
        events: Vec<Value>,
    ) -> Accepted {
        let body = serde_json::to_vec(&json!({ "connection": conn, "events": events }))
            .expect("body serializes");
        let signature = signing::sign(webhook_secret, self.now().timestamp(), &body);
        ingest::ingest(&self.app, Some(tenant.as_str()), Some(&signature), &body)
            .await
            .unwrap_or_else(|e| panic!("ingest refused the events: {e}"))
    }

    /// Receives what is visible on the push queue (up to `max` messages, several calls).
    pub async fn receive_push(&self, max: usize) -> Vec<ReceivedMessage> {
        let mut out = Vec::new();
        for _ in 0..20 {
            if out.len() >= max {
                break;
            }
            let want = (max - out.len()).min(10) as u32;
            let got = self
                .app
                .stores
                .queues
                .receive(QueueKind::Push, want)
                .await
                .expect("receive from the push queue");
            if got.is_empty() {
                break;
            }
            out.extend(got);
        }
        out
    }

    pub async fn ack_push(&self, messages: &[ReceivedMessage]) {
        for m in messages {
            self.app
                .stores
                .queues
                .ack(QueueKind::Push, &m.receipt)
                .await
                .expect("ack");
        }
    }

    /// Runs the push worker over the queue until nothing is visible, acknowledging what it
    /// finished and leaving its retries on the queue (as Lambda's partial batch responses do).
    pub async fn drain_push(&self) -> Drained {
        let mut drained = Drained::default();
        for _ in 0..50 {
            let received = self.receive_push(10).await;
            if received.is_empty() {
                return drained;
            }
            let outcome = push::push_batch(&self.app, inbound(&received)).await;
            drained.batches += 1;
            drained.duplicates += outcome.duplicates;
            let done: Vec<ReceivedMessage> = received
                .into_iter()
                .filter(|m| !outcome.retry.contains(&m.message_id))
                .collect();
            self.ack_push(&done).await;
            drained.retried.extend(outcome.retry);
            drained.outcomes.extend(outcome.outcomes);
        }
        panic!("the push queue did not drain in 50 batches");
    }

    pub async fn report(&self, conn: &str, event_id: &str) -> Option<ReportEntry> {
        self.app
            .stores
            .reports
            .get(&self.tenant, &self.conn(conn), event_id)
            .await
            .expect("report read")
    }

    // ---- pull ----

    pub async fn poll(&self, conn: &str) -> RunSummary {
        poll::poll_connection(&self.app, &self.tenant, &self.conn(conn))
            .await
            .unwrap_or_else(|e| panic!("poll of {conn} failed: {e}"))
    }

    /// Every change-feed entry after `after`, in order.
    pub async fn changes_after(&self, after: u64) -> Vec<ChangeEntry> {
        let mut out = Vec::new();
        let mut cursor = after;
        for _ in 0..100 {
            let batch = self
                .app
                .stores
                .changes
                .read(&self.tenant, cursor, 1000)
                .await
                .expect("change feed read");
            cursor = batch.next_after;
            out.extend(batch.entries);
            if !batch.has_more {
                return out;
            }
        }
        panic!("change feed did not end");
    }

    /// The highest change-feed sequence so far (0 when empty).
    pub async fn last_seq(&self) -> u64 {
        self.changes_after(0)
            .await
            .last()
            .map(|e| e.seq)
            .unwrap_or(0)
    }

    // ---- Salesforce side ----

    /// Inserts a record directly in an org (no API counting, validation or faults).
    pub fn insert(&self, org: &str, object: &str, fields: Value) -> String {
        self.sf
            .insert_record(org, object, object_map(fields))
            .unwrap_or_else(|e| panic!("insert {object} in {org}: {e}"))
    }

    pub fn update(&self, org: &str, object: &str, id: &str, fields: Value) {
        self.sf
            .update_record(org, object, id, object_map(fields))
            .unwrap_or_else(|e| panic!("update {object} {id} in {org}: {e}"));
    }

    pub fn record(&self, org: &str, object: &str, id: &str) -> Map<String, Value> {
        self.sf
            .get_record(org, object, id)
            .expect("emulator read")
            .unwrap_or_else(|| panic!("{object} {id} exists in {org}"))
    }

    pub fn user_id(&self, org: &str, username: &str) -> String {
        self.sf.user_id(org, username).expect("user exists")
    }

    /// Runs SOQL against an org through its REST API (as an admin, outside crmsync).
    pub async fn soql(&self, org: &str, query: &str) -> Vec<Map<String, Value>> {
        let username = if org == SANDBOX_ORG {
            SANDBOX_ADMIN
        } else {
            sf_emulator::demo::USERNAME
        };
        let tokens = self.sf.mint_tokens(org, username).expect("mint tokens");
        let mut url = format!(
            "{}/services/data/v{API_VERSION}/query",
            self.emulator.base_url()
        );
        let mut params = vec![("q", query.to_string())];
        let mut records = Vec::new();
        for _ in 0..100 {
            let page: Value = self
                .http
                .get(&url)
                .query(&params)
                .bearer_auth(&tokens.access_token)
                .send()
                .await
                .expect("SOQL request")
                .json()
                .await
                .expect("SOQL JSON");
            let rows = page["records"]
                .as_array()
                .unwrap_or_else(|| panic!("SOQL {query} failed: {page}"));
            records.extend(rows.iter().filter_map(|r| r.as_object().cloned()));
            match page["nextRecordsUrl"].as_str() {
                Some(next) => {
                    url = format!("{}{next}", self.emulator.base_url());
                    params.clear();
                }
                None => return records,
            }
        }
        panic!("SOQL {query} did not finish paging");
    }

    /// Counts live records matching a SOQL WHERE clause.
    pub async fn count(&self, org: &str, object: &str, filter: &str) -> usize {
        self.soql(org, &format!("SELECT Id FROM {object} WHERE {filter}"))
            .await
            .len()
    }
}

/// Queue messages as the push worker receives them.
pub fn inbound(received: &[ReceivedMessage]) -> Vec<InboundMessage> {
    received
        .iter()
        .map(|m| InboundMessage {
            message_id: m.message_id.clone(),
            body: m.body.clone(),
        })
        .collect()
}

fn object_map(v: Value) -> Map<String, Value> {
    match v {
        Value::Object(m) => m,
        other => panic!("expected a JSON object, got {other}"),
    }
}
