//! `sf-emulator`: an in-process (or standalone) emulator of Salesforce orgs for crmsync tests.
//!
//! One [`Emulator`] hosts several orgs on one `127.0.0.1` listener. Every org shares the
//! server's base URL as its `instance_url`; data requests are routed to the right org by the
//! access token. Each org also has its own login host under `/orgs/{alias}` (the first org
//! is additionally served at the root, like `login.salesforce.com`).
//!
//! Design: all state lives in one [`state::State`] behind a `std::sync::Mutex` (no await is
//! held across it), so every request sees a consistent org. Modules mirror Salesforce
//! features: [`oauth`] (authorize/token/revoke/identity), [`soql`] (lexer, recursive-descent
//! parser, evaluator), [`rest`] (query, sObject rows, collections, composite, change feeds,
//! limits), [`schema`]/[`describe`] (field metadata), [`validate`] (required fields, lengths,
//! picklists, rules), [`faults`] (latency, 5xx, lock errors, forced 401) and [`admin`]
//! (typed [`AdminHandle`] plus the same operations over HTTP under `/__admin`).
//!
//! Time comes from a controllable [`clock::Clock`], so tests can age tokens, move change-feed
//! windows and commit records "late" with an older `SystemModstamp`. The built-in demo org
//! ([`EmulatorOptions::demo`]) is generated deterministically from a fixed RNG seed.
//!
//! Demo credentials: user `admin@demo.example`, password `demo`, client id `crmsync-demo`,
//! client secret `demo-secret`, org alias `demo`.
//!
//! # Routes
//!
//! | route | what |
//! |---|---|
//! | `[/orgs/{alias}]/services/oauth2/authorize` | GET/POST; auto-approves (org setting, `auto_approve=true`, or a matching `login_hint`), else a login form |
//! | `[/orgs/{alias}]/services/oauth2/token` | `authorization_code` (PKCE S256), `refresh_token` (rotation per org), `password` |
//! | `[/orgs/{alias}]/services/oauth2/revoke`, `…/userinfo` | revoke an access or refresh token; OpenID userinfo |
//! | `[/orgs/{alias}]/services/Soap/u/{version}` | partner SOAP `login` (simple-salesforce) and `convertLead` ([`soap::convert`]) |
//! | `/id/{orgId}/{userId}` | identity URL |
//! | `/services/data/vNN.0/…` | `limits`, `query`, `queryAll`, `query/{locator}`, `sobjects`, `sobjects/{T}[/describe\|/updated\|/deleted\|/{id}\|/{field}/{value}]`, `composite/sobjects[/{T}[/{field}]]`, `composite`; `tooling/query`, `tooling/sobjects/CustomField[/{id}]` ([`tooling`]; field-level security: [`permissions`]) |
//! | `/services/data/vNN.0/jobs/…` | Bulk API 2.0 query and ingest jobs ([`bulk`]) |
//! | `/__admin/…` | test control, see below |
//!
//! # Admin API
//!
//! Every [`AdminHandle`] method has an HTTP twin (no auth, JSON, never counted), except the
//! in-process `insert_records` (seeding large orgs), `set_bulk_polls` (Bulk API job
//! pacing) and `convert_lead` (a Lead converted in Salesforce's UI):
//! `GET /__admin/orgs`; `GET /__admin/clock`, `POST /__admin/clock/{advance,set,freeze}`;
//! `GET|PUT|DELETE /__admin/orgs/{alias}/faults` ([`FaultSpec`]);
//! `POST /__admin/orgs/{alias}/revoke-tokens`; `POST /__admin/orgs/{alias}/limit/exhaust`;
//! `PUT /__admin/orgs/{alias}/settings` (`dailyApiLimit`, `apiUsed`, `rotateRefreshTokens`,
//! `autoApprove`, `changeIdLimit`); `GET|DELETE /__admin/orgs/{alias}/usage` (counters per
//! endpoint); `POST /__admin/orgs/{alias}/users`; `PUT
//! /__admin/orgs/{alias}/users/{username}/customize-application` (`{"on": false}`: Tooling
//! metadata changes are refused); `POST /__admin/orgs/{alias}/tokens`
//! (`{"username"}` → tokens); `POST /__admin/orgs/{alias}/records/{Object}`,
//! `GET|PATCH|DELETE /__admin/orgs/{alias}/records/{Object}/{Id}` (bypass validation and
//! counting); `POST /__admin/orgs/{alias}/records/{Object}/{Id}/touch` (system write:
//! only `SystemModstamp` moves); `POST /__admin/orgs/{alias}/commit-late/{Object}`
//! (`{"id"?, "fields", "systemModstamp"}`); `POST /__admin/orgs/{alias}/{validation,duplicate}-rules`.
//! `sf-emulator --help` prints the same list with examples.

pub mod activity;
pub mod admin;
pub mod bulk;
pub mod clock;
pub mod demo_seed;
pub mod describe;
pub mod error;
pub mod faults;
pub mod ids;
pub mod meter;
pub mod oauth;
pub mod permissions;
pub mod pricing;
pub mod record_types;
pub mod rest;
pub mod schema;
pub mod seed;
pub mod server;
pub mod soap;
pub mod soql;
pub mod spec;
pub mod state;
pub mod store;
pub mod tooling;
pub mod validate;
pub mod writes;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

pub use admin::AdminHandle;
pub use error::EmulatorError;
pub use faults::FaultSpec;
pub use spec::{
    AppQuotaSpec, DuplicateRule, LimitHeaderForm, OrgSpec, ProductSpec, RecordTypeSpec, SeedFile,
    UserSpec, ValidationRule,
};

/// Demo org constants (fixed; documented in `--help`).
pub mod demo {
    pub const ORG_ALIAS: &str = "demo";
    pub const USERNAME: &str = "admin@demo.example";
    pub const PASSWORD: &str = "demo";
    pub const CLIENT_ID: &str = "crmsync-demo";
    pub const CLIENT_SECRET: &str = "demo-secret";
}

/// What the emulator hosts and how it behaves.
#[derive(Debug, Clone)]
pub struct EmulatorOptions {
    pub orgs: Vec<OrgSpec>,
    /// Access tokens expire after this long (Salesforce's default session is 2 hours).
    pub access_token_ttl: Duration,
    /// Seed for ids and random faults, so runs are reproducible.
    pub seed: u64,
    /// Port to bind on 127.0.0.1 (0 = any free port).
    pub port: u16,
}

impl EmulatorOptions {
    /// One demo org (alias `demo`) with a few hundred generated records.
    pub fn demo() -> Self {
        Self::empty().with_org(OrgSpec::demo())
    }

    /// No orgs; add them with [`EmulatorOptions::with_org`].
    pub fn empty() -> Self {
        Self {
            orgs: Vec::new(),
            access_token_ttl: Duration::from_secs(2 * 60 * 60),
            seed: 42,
            port: 0,
        }
    }

    pub fn with_org(mut self, org: OrgSpec) -> Self {
        self.orgs.push(org);
        self
    }

    pub fn access_token_ttl(mut self, d: Duration) -> Self {
        self.access_token_ttl = d;
        self
    }

    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    pub fn port(mut self, port: u16) -> Self {
        self.port = port;
        self
    }

    /// Loads orgs from a JSON or YAML seed file (see [`SeedFile`]).
    pub fn with_seed_file(mut self, path: &std::path::Path) -> Result<Self, EmulatorError> {
        let seed = SeedFile::load(path)?;
        self.orgs.extend(seed.orgs);
        Ok(self)
    }
}

/// A running emulator. Dropping it stops the server (without waiting); [`Emulator::shutdown`]
/// also waits for in-flight requests.
pub struct Emulator {
    addr: SocketAddr,
    shared: Arc<Mutex<state::State>>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl std::fmt::Debug for Emulator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Emulator")
            .field("addr", &self.addr)
            .finish()
    }
}

impl Drop for Emulator {
    /// A dropped emulator stops serving (tests need not call `shutdown`).
    fn drop(&mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
    }
}

impl Emulator {
    /// Builds the orgs and binds `127.0.0.1:{opts.port}` (0 = any free port).
    pub async fn start(opts: EmulatorOptions) -> Result<Emulator, EmulatorError> {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", opts.port))
            .await
            .map_err(EmulatorError::Bind)?;
        let addr = listener.local_addr().map_err(EmulatorError::Bind)?;
        let base_url = format!("http://{addr}");
        let st = state::State::new(&opts, base_url)?;
        let shared = Arc::new(Mutex::new(st));
        let app = server::router(shared.clone());
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            let serve = axum::serve(listener, app).with_graceful_shutdown(async move {
                let _ = rx.await;
            });
            if let Err(e) = serve.await {
                tracing::error!(error = %e, "emulator server stopped");
            }
        });
        Ok(Emulator {
            addr,
            shared,
            stop: Some(tx),
            task: Some(task),
        })
    }

    /// `http://127.0.0.1:PORT`; also every org's `instance_url`.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Login host base for an org; the client appends `/services/oauth2/...`.
    pub fn login_url(&self, org_alias: &str) -> String {
        format!("{}/orgs/{org_alias}", self.base_url())
    }

    /// Direct, typed control of the orgs (same operations as the HTTP admin API).
    pub fn admin(&self) -> AdminHandle {
        AdminHandle::new(self.shared.clone())
    }

    /// Waits for the server to finish (for the binary).
    pub async fn wait(mut self) {
        if let Some(t) = self.task.take() {
            let _ = t.await;
        }
    }

    /// Stops accepting connections and waits for in-flight requests.
    pub async fn shutdown(mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        if let Some(t) = self.task.take() {
            let _ = t.await;
        }
    }
}
