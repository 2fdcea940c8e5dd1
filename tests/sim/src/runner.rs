//! Runs one seed (or one scripted scenario) against the real service code: a whole stack
//! in-process on a single-threaded runtime, a manual clock, one seeded RNG.

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use crmsync_e2e::{Backend, PROD_ORG, Stack};
use crmsync_service::push::BatchOutcome;
use crmsync_service::runs::RunStatus;
use crmsync_service::{App, AppCredentials, Settings};
use crmsync_store::faulty::{StoreFault, with_faults};
use crmsync_store::{
    ChangeEntry, ConnectionStatus, Environment, PageRequest, ReportQuery, ReportStatus,
};
use rand::SeedableRng;
use rand::rngs::StdRng;
use serde_json::{Map, Value, json};
use sf_emulator::FaultSpec;
use sha2::{Digest, Sha256};

use crate::faults::{Fault, FaultCounts, FaultSet, SfFault};
use crate::invariants::{self, Violation};
use crate::model::{AppRecord, Model, SentEvent, SfCreated, SfEdit};
use crate::rules::Rules;
use crate::scenario::{self, Profile, Step};
use crate::store_plan::StorePlan;
use crate::toggles::Toggles;
use crate::workers::WorkerKind;

/// The connection every scenario uses.
pub const CONN: &str = "prod";
/// Every run starts at this instant (store and emulator clocks).
const START: &str = "2031-03-03T09:00:00Z";
/// Settling rounds at quiescence before a run counts as stuck.
const SETTLE_ROUNDS: usize = 12;
/// The connected app's secret in the org while it rotates (the app still sends the old).
const ROTATED_CLIENT_SECRET: &str = "rotated-client-secret";
/// Active products of the emulator's demo catalog that sale items are priced by.
const SALE_PRODUCT_CODES: [&str; 4] = ["CC-LIC", "SVC-ONB", "HW-WPRO", "SW-ANNUAL"];
/// The poll cap of the simulated service (production: 1,000): bursts run past it.
pub const SIM_POLL_CAP: usize = 6;
/// Polls at the end before a poll that keeps answering `Capped` counts as stuck.
const FINAL_POLLS: usize = 40;
/// Push worker invocations per settling round.
const DRAINS_PER_ROUND: usize = 30;

/// How a run is set up.
#[derive(Debug, Clone)]
pub struct SimConfig {
    pub seed: u64,
    /// Random steps before quiescence.
    pub steps: usize,
    /// App contacts in the scenario.
    pub records: usize,
    pub profile: Profile,
    pub faults: FaultSet,
    /// Whether app records carry an email (`None`: the profile decides, at random).
    pub emails: Option<bool>,
    /// The tenant's rules (`None`: drawn from the seed with the profile feature `rules`,
    /// else the standard config's).
    pub rules: Option<Rules>,
}

impl SimConfig {
    pub fn new(seed: u64) -> Self {
        Self {
            seed,
            steps: 40,
            records: 4,
            profile: Profile::TODAY,
            faults: FaultSet::all(),
            emails: None,
            rules: None,
        }
    }

    /// The rules this run syncs under.
    pub fn effective_rules(&self) -> Rules {
        match self.rules {
            Some(rules) => rules,
            None if self.profile.rules => Rules::draw(self.seed),
            None => Rules::STANDARD,
        }
    }

    /// The one-line command that replays this run.
    pub fn replay_command(&self) -> String {
        let rules = self
            .rules
            .map(|r| format!(" --rules {}", r.name()))
            .unwrap_or_default();
        format!(
            "cargo run -p crmsync-sim -- --seed {} --steps {} --records {} --profile {} --faults {}{rules}",
            self.seed,
            self.steps,
            self.records,
            self.profile.name(),
            self.faults.name()
        )
    }
}

/// What one run did and found.
#[derive(Debug, Clone)]
pub struct RunReport {
    pub config: SimConfig,
    pub trace: Vec<String>,
    pub violations: Vec<Violation>,
    pub faults: FaultCounts,
    pub trace_hash: String,
    /// A scripted (pinned) scenario rather than a random seed.
    pub scripted: bool,
}

impl RunReport {
    pub fn passed(&self) -> bool {
        self.violations.is_empty()
    }

    /// The replay command, the violations and the trace, for a failing seed.
    pub fn failure_text(&self) -> String {
        let mut out = format!(
            "seed {} violated {} invariant check(s); replay: {}\n",
            self.config.seed,
            self.violations.len(),
            if self.scripted {
                "a scripted scenario (rerun its test)".to_string()
            } else {
                self.config.replay_command()
            }
        );
        for v in &self.violations {
            out.push_str(&format!("  VIOLATION {v}\n"));
        }
        out.push_str("trace:\n");
        for line in &self.trace {
            out.push_str(&format!("  {line}\n"));
        }
        out
    }
}

/// Runs a random scenario for `config.seed`.
pub fn run_seed(config: &SimConfig) -> RunReport {
    run_on_runtime(config, None)
}

/// Runs a fixed list of steps (pinned scenarios), then settles and checks as a seed does.
pub fn run_script(config: &SimConfig, steps: Vec<Step>) -> RunReport {
    run_on_runtime(config, Some(steps))
}

fn run_on_runtime(config: &SimConfig, script: Option<Vec<Step>>) -> RunReport {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        // Paused tokio time: the Salesforce client's retry backoffs cost no wall-clock time
        // (the store and emulator clocks are manual anyway). CRMSYNC_SIM_REAL_TIME=1 opts out.
        .start_paused(std::env::var_os("CRMSYNC_SIM_REAL_TIME").is_none())
        .build()
        .expect("a current-thread runtime");
    let scripted = script.is_some();
    runtime.block_on(async {
        let mut world = World::start(config).await;
        match script {
            Some(steps) => {
                for step in steps {
                    world.run_step(step).await;
                }
            }
            None => {
                for _ in 0..config.steps {
                    let step = scenario::next_step(
                        &mut world.rng,
                        &world.model,
                        &config.profile,
                        &config.faults,
                    );
                    world.run_step(step).await;
                }
            }
        }
        world.settle().await;
        let violations = invariants::check(&world).await;
        let mut hasher = Sha256::new();
        for line in &world.trace {
            hasher.update(line.as_bytes());
            hasher.update(b"\n");
        }
        RunReport {
            config: config.clone(),
            trace_hash: hex::encode(hasher.finalize()),
            trace: world.trace,
            violations,
            faults: world.faults,
            scripted,
        }
    })
}

/// The running system plus the model of what should have happened.
pub struct World {
    pub stack: Stack,
    /// The service's view of the stores: behind the fault plan.
    pub app: Arc<App>,
    pub plan: Arc<StorePlan>,
    pub rng: StdRng,
    pub model: Model,
    pub trace: Vec<String>,
    pub faults: FaultCounts,
    pub profile: Profile,
    /// The change feed as the app read it at the end.
    pub feed: Vec<ChangeEntry>,
    /// Problems found while settling (stuck work).
    pub settle_problems: Vec<String>,
    /// Broken promises seen right after a step (checked with the others at the end).
    pub step_violations: Vec<Violation>,
    /// A second Lambda on the same stores, with its own in-memory caches (racing workers).
    pub second_app: Arc<App>,
    /// The status of the latest poll or sweep that ran to its end.
    pub last_run_status: Option<RunStatus>,
    /// The org revoked crmsync's grant since the last reconnect (the service may not know
    /// yet): a refresh then fails for good, whatever else the step does.
    pub(crate) grant_revoked: bool,
    pub(crate) step_no: usize,
}

impl World {
    async fn start(config: &SimConfig) -> World {
        let stack = Stack::start(Backend::Embedded).await;
        let start: DateTime<Utc> = START.parse().expect("start time");
        stack.clock.set(start);
        stack.sf.freeze_clock(start);
        stack.connect(CONN, Environment::Production).await;
        let rules = config.effective_rules();
        if rules != Rules::STANDARD {
            stack.edit_config(CONN, |cfg| rules.apply(cfg)).await;
        }
        let toggles = if config.profile.toggles {
            Toggles::draw(config.seed)
        } else {
            Toggles::ALL_ON
        };
        let profile = config.profile;
        if profile.owners || profile.toggles || profile.activities {
            stack
                .edit_config(CONN, |cfg| {
                    if profile.owners {
                        crate::owners::apply(cfg);
                    }
                    toggles.apply(cfg);
                    if profile.activities {
                        cfg.activity.enabled = true;
                    }
                })
                .await;
        }
        let provisioned = if config.profile.provisioned {
            let run =
                crmsync_service::provision::provision(&stack.app, &stack.tenant, &stack.conn(CONN))
                    .await
                    .expect("the emulator's org provisions");
            assert_eq!(
                run.state,
                crmsync_store::ProvisioningState::Provisioned,
                "{run:?}"
            );
            Some(run.key_objects.join(","))
        } else {
            None
        };
        let plan = Arc::new(StorePlan::default());
        let stores = with_faults(stack.app.stores.clone(), plan.clone());
        let credentials = AppCredentials {
            client_id: sf_emulator::demo::CLIENT_ID.into(),
            client_secret: Some(sf_emulator::demo::CLIENT_SECRET.into()),
        };
        let settings = Settings {
            poll_cap: SIM_POLL_CAP,
            ..stack.app.settings.clone()
        };
        let app = Arc::new(
            App::new(settings.clone(), stores.clone(), credentials.clone())
                .expect("faulty app wires"),
        );
        let second_app =
            Arc::new(App::new(settings, stores, credentials).expect("second app wires"));
        let mut rng = StdRng::seed_from_u64(config.seed);
        let mut records: Vec<AppRecord> = (0..config.records.max(1))
            .map(|i| {
                let with_email = config.emails.unwrap_or_else(|| {
                    !config.profile.records_without_email || rand::Rng::random_bool(&mut rng, 0.6)
                });
                AppRecord::new(i, with_email)
            })
            .collect();
        if profile.owners {
            crate::owners::draw(config.seed, &mut records);
        }
        let mut world = World {
            stack,
            app,
            plan,
            rng,
            model: Model {
                records,
                events: Vec::new(),
                sf_edits: Vec::new(),
                sf_created: Vec::new(),
                sf_deleted: Vec::new(),
                deliveries: BTreeMap::new(),
                sf_undeleted: Vec::new(),
                rules,
                toggles,
                activities: Vec::new(),
            },
            trace: Vec::new(),
            faults: FaultCounts::default(),
            profile: config.profile,
            feed: Vec::new(),
            settle_problems: Vec::new(),
            step_violations: Vec::new(),
            second_app,
            last_run_status: None,
            grant_revoked: false,
            step_no: 0,
        };
        if config.profile.rules {
            world.log(format!("rules: {}", rules.name()));
        }
        if profile.toggles {
            world.log(format!("toggles: {}", toggles.name()));
        }
        if profile.owners {
            let owners: Vec<String> = world
                .model
                .records
                .iter()
                .map(|r| {
                    let keep = if r.keeps_owner { " (kept)" } else { "" };
                    format!("{}={}{keep}", r.id, r.owner)
                })
                .collect();
            world.log(format!("owners: {}", owners.join(", ")));
        }
        if let Some(keys) = provisioned {
            world.log(format!("provisioned: creates upsert by the key on {keys}"));
        }
        // The first poll sets the cursors on the empty org.
        world.poll(None).await;
        world
    }

    pub(crate) fn log(&mut self, line: String) {
        self.trace.push(format!("#{:03} {line}", self.step_no));
    }

    fn now(&self) -> DateTime<Utc> {
        self.stack.now()
    }

    /// Runs one step and records it in the trace.
    pub async fn run_step(&mut self, step: Step) {
        self.step_no += 1;
        match step {
            Step::AppCreate { app } => self.app_create(app).await,
            Step::AppUpdate { app } => self.app_update(app).await,
            Step::AppTitle { app } => self.app_title(app).await,
            Step::AppOwner { app, user } => self.app_owner(app, user).await,
            Step::AppActivity { app, resend, email } => self.app_activity(app, resend, email).await,
            Step::SfReassign { app, user } => self.sf_reassign(app, user),
            Step::AppDemoSet { app } => self.app_demo_set(app).await,
            Step::AppSale { app, items } => self.app_sale(app, items).await,
            Step::SfEditPerson {
                app,
                title,
                late_by_secs,
            } => self.sf_edit_person(app, title, late_by_secs),
            Step::SfEditAccount { app, website } => self.sf_edit_account(app, website),
            Step::SfEditDeal { app, lead_source } => self.sf_edit_deal(app, lead_source),
            Step::SfCreateContact { n } => self.sf_create_contact(n),
            Step::SfPreexistingLead { app } => self.sf_preexisting_lead(app),
            Step::SfDelete { app } => self.sf_delete(app),
            Step::SfUndelete { app } => self.sf_undelete(app),
            Step::SfBurst { n, late_by_secs } => self.sf_burst(n, late_by_secs),
            Step::Reconnect => self.reconnect_if_needed("admin").await,
            Step::SfApiLimitReset => {
                self.stack.sf.set_api_used(PROD_ORG, 0).expect("org");
                self.log("salesforce: API allowance reset".into());
            }
            Step::Advance { secs } => {
                self.stack.advance(Duration::seconds(i64::from(secs)));
                self.log(format!("advance {secs}s"));
            }
            Step::DrainPush { fault } => {
                self.drain(fault).await;
            }
            Step::Poll { fault } => self.poll(fault).await,
            Step::Sweep { fault } => self.sweep(fault).await,
        }
    }

    // ---- the app ----

    fn person_fields(&self, app: usize) -> Map<String, Value> {
        let r = &self.model.records[app];
        let mut f = Map::new();
        f.insert("first_name".into(), json!(r.first_name));
        f.insert("last_name".into(), json!(r.last_name));
        f.insert("phone".into(), json!(r.app_phone));
        f.insert("company_name".into(), json!(r.company));
        if let Some(email) = &r.email {
            f.insert("email".into(), json!(email));
        }
        if self.profile.owners {
            // `r.owner` is the app's current owner (`app_owner_view` keeps it up to date).
            f.insert("owner_id".into(), json!(r.owner));
            f.insert(crate::owners::KEEP_OWNER_FIELD.into(), json!(r.keeps_owner));
        }
        f
    }

    /// Brings the app's owner of contact `app` up to date with the change feed, as the app
    /// does before it sends the contact again: owner entries after its last owner change
    /// apply on top of it.
    async fn app_owner_view(&mut self, app: usize) {
        if !self.profile.owners {
            return;
        }
        let id = self.model.records[app].id.clone();
        let since = self
            .model
            .events
            .iter()
            .rfind(|e| e.app_id == id && e.fields.contains_key("owner_id"))
            .map(|e| e.feed_seq);
        let Some(since) = since else {
            return;
        };
        let newer = self
            .stack
            .changes_after(since)
            .await
            .into_iter()
            .filter(|e| {
                e.kind == crmsync_store::ChangeKind::Upsert
                    && e.app_id.as_deref() == Some(id.as_str())
                    && matches!(e.object.as_str(), "Lead" | "Contact")
            })
            .filter_map(|e| {
                e.payload["fields"]
                    .get("owner_id")
                    .and_then(Value::as_str)
                    .map(str::to_string)
            })
            .next_back();
        if let Some(owner) = newer {
            self.model.records[app].owner = owner;
        }
    }

    /// The app gives the contact another owner (its keep-owner flag rides along).
    async fn app_owner(&mut self, app: usize, user: usize) {
        let r = &mut self.model.records[app];
        r.owner = crate::owners::APP_USERS[user % crate::owners::APP_USERS.len()]
            .1
            .to_string();
        let mut fields = Map::new();
        fields.insert("owner_id".into(), json!(r.owner));
        fields.insert(crate::owners::KEEP_OWNER_FIELD.into(), json!(r.keeps_owner));
        self.send(app, "update", fields, None, Vec::new()).await;
    }

    /// A Salesforce user reassigns the contact's person record.
    fn sf_reassign(&mut self, app: usize, user: usize) {
        let Some((object, id)) = self.person_record(app) else {
            self.log(format!(
                "salesforce user: no person record for a{app} to reassign"
            ));
            return;
        };
        let (user_id, _) = crate::owners::sf_user_of(self, user);
        let owner = Some(self.model.records[app].id.clone());
        self.edit(
            object,
            &id,
            "OwnerId",
            "owner_id",
            json!(user_id),
            owner,
            None,
        );
    }

    async fn send(
        &mut self,
        app: usize,
        kind: &'static str,
        fields: Map<String, Value>,
        cycle: Option<u32>,
        items: Vec<String>,
    ) {
        let app_id = self.model.records[app].id.clone();
        self.send_event("contact", app_id, kind, fields, cycle, items)
            .await;
    }

    /// Sends an event for an app record that is not a contact (an activity); returns its id.
    pub(crate) async fn send_as(
        &mut self,
        app_object: &'static str,
        app_id: &str,
        kind: &'static str,
        fields: Map<String, Value>,
    ) -> String {
        self.send_event(
            app_object,
            app_id.to_string(),
            kind,
            fields,
            None,
            Vec::new(),
        )
        .await
    }

    async fn send_event(
        &mut self,
        app_object: &'static str,
        app_id: String,
        kind: &'static str,
        fields: Map<String, Value>,
        cycle: Option<u32>,
        items: Vec<String>,
    ) -> String {
        let event_id = format!("e{}", self.step_no);
        let at = self.now();
        let feed_seq = self.stack.last_seq().await;
        let mut event = json!({
            "event_id": event_id,
            "kind": kind,
            "app_object": app_object,
            "app_id": app_id,
            "occurred_at": at.to_rfc3339(),
            "fields": fields,
        });
        if !items.is_empty() {
            event["sale_items"] = items
                .iter()
                .enumerate()
                .map(|(j, name)| {
                    // Priced by an active product of the org's catalog; the name (the line
                    // item's Description) is the item's identity.
                    let code = SALE_PRODUCT_CODES[j % SALE_PRODUCT_CODES.len()];
                    json!({"name": name, "product_code": code, "quantity": 1, "unit_price": 100})
                })
                .collect();
        }
        self.stack.send_events(CONN, vec![event]).await;
        // A contact's line reads as before the other app objects (traces replay).
        let what = match app_object {
            "contact" => String::new(),
            other => format!("{other} "),
        };
        self.log(format!(
            "app {kind} {what}{app_id} {event_id} {}",
            Value::Object(fields.clone())
        ));
        self.model.events.push(SentEvent {
            step: self.step_no,
            event_id: event_id.clone(),
            app_id,
            app_object,
            kind,
            fields: fields.into_iter().collect(),
            cycle,
            items,
            at,
            feed_seq,
        });
        event_id
    }

    async fn app_create(&mut self, app: usize) {
        self.app_owner_view(app).await;
        let mut fields = self.person_fields(app);
        fields.insert("phase".into(), json!("ColdCallCold"));
        self.model.records[app].created = true;
        self.send(app, "create", fields, None, Vec::new()).await;
    }

    async fn app_update(&mut self, app: usize) {
        let r = &mut self.model.records[app];
        r.first_name = format!("First-{}-{}", r.id, self.step_no);
        let mut fields = Map::new();
        fields.insert("first_name".into(), json!(r.first_name));
        self.send(app, "update", fields, None, Vec::new()).await;
    }

    /// The app changes the Title (a field Salesforce users edit too).
    async fn app_title(&mut self, app: usize) {
        let mut fields = Map::new();
        fields.insert("title".into(), json!(format!("AppTitle-{}", self.step_no)));
        self.send(app, "update", fields, None, Vec::new()).await;
    }

    async fn app_demo_set(&mut self, app: usize) {
        self.app_owner_view(app).await;
        let r = &mut self.model.records[app];
        r.cycles += 1;
        r.open_cycle = true;
        let cycle = r.cycles;
        let name = r.opportunity_name(cycle);
        let mut fields = self.person_fields(app);
        fields.insert("phase".into(), json!("HeldPhase"));
        fields.insert("previous_phase".into(), json!("ColdCallDM"));
        fields.insert("demo_at".into(), json!("2031-03-20T15:00:00Z"));
        fields.insert("name".into(), json!(name));
        self.send(app, "demo_set", fields, Some(cycle), Vec::new())
            .await;
    }

    async fn app_sale(&mut self, app: usize, items: usize) {
        self.app_owner_view(app).await;
        let mut fields = self.person_fields(app);
        let r = &mut self.model.records[app];
        if !r.open_cycle {
            r.cycles += 1;
            fields.insert("name".into(), json!(r.opportunity_name(r.cycles)));
        }
        r.open_cycle = false;
        r.sales += 1;
        let cycle = r.cycles;
        let items: Vec<String> = (0..items)
            .map(|j| format!("It-{}-{}-{j}", r.id, self.step_no))
            .collect();
        fields.insert("amount".into(), json!(100 * items.len().max(1)));
        self.send(app, "sale", fields, Some(cycle), items).await;
    }

    // ---- Salesforce users ----

    /// Live records of `object` whose `field` equals `value`, in creation order.
    pub fn sf_find(
        &self,
        object: &str,
        field: &str,
        value: &str,
    ) -> Vec<(String, Map<String, Value>)> {
        self.stack
            .sf
            .records(PROD_ORG, object)
            .expect("emulator read")
            .into_iter()
            .filter(|(_, f, deleted)| {
                !deleted && f.get(field).and_then(Value::as_str) == Some(value)
            })
            .map(|(id, f, _)| (id, f))
            .collect()
    }

    /// The app contact's person record: its Contact once it has one, else its Lead.
    pub fn person_record(&self, app: usize) -> Option<(&'static str, String)> {
        let last = &self.model.records[app].last_name;
        for object in ["Contact", "Lead"] {
            if let Some((id, _)) = self.sf_find(object, "LastName", last).into_iter().next() {
                return Some((object, id));
            }
        }
        None
    }

    #[allow(clippy::too_many_arguments)]
    fn edit(
        &mut self,
        object: &str,
        id: &str,
        field: &str,
        app_field: &str,
        value: Value,
        owner: Option<String>,
        late_by: Option<u32>,
    ) {
        let before = self
            .stack
            .sf
            .get_record(PROD_ORG, object, id)
            .ok()
            .flatten()
            .and_then(|f| f.get(field).cloned());
        let mut fields = Map::new();
        fields.insert(field.into(), value.clone());
        let mut at = self.now() - Duration::seconds(i64::from(late_by.unwrap_or(0)));
        match late_by {
            Some(_) => {
                // Salesforce locks a record its transaction updates until it commits: a write
                // in between waits (or fails UNABLE_TO_LOCK_ROW) and lands after. So a late
                // commit is never dated before the record's last committed write (Apex
                // Developer Guide, "Locking Statements"; README "The tenant's rules").
                at = at.max(self.last_write(object, id));
                let stamp = at;
                self.stack
                    .sf
                    .commit_late(PROD_ORG, object, Some(id), fields, stamp)
                    .expect("late commit");
            }
            None => self
                .stack
                .sf
                .update_record(PROD_ORG, object, id, fields)
                .expect("salesforce edit"),
        }
        let late = late_by
            .map(|s| format!(" (late by {s}s)"))
            .unwrap_or_default();
        self.log(format!(
            "salesforce user: {object} {id} {field}={value}{late}"
        ));
        self.model.sf_edits.push(SfEdit {
            step: self.step_no,
            object: object.into(),
            sf_id: id.into(),
            sf_field: field.into(),
            app_field: app_field.into(),
            value,
            before,
            owner,
            at,
        });
    }

    /// When `id` was last written (its `SystemModstamp`).
    fn last_write(&self, object: &str, id: &str) -> DateTime<Utc> {
        let fields = self
            .stack
            .sf
            .get_record(PROD_ORG, object, id)
            .ok()
            .flatten();
        fields
            .as_ref()
            .and_then(|f| f.get("SystemModstamp")?.as_str())
            .and_then(crmsync_core::transform::parse_datetime)
            .unwrap_or(DateTime::<Utc>::MIN_UTC)
    }

    fn sf_edit_person(&mut self, app: usize, title: String, late_by: Option<u32>) {
        let Some((object, id)) = self.person_record(app) else {
            self.log(format!(
                "salesforce user: no person record for a{app} to edit"
            ));
            return;
        };
        let owner = Some(self.model.records[app].id.clone());
        // With drawn rules each value is unique: the checker tells whose value stands.
        let title = if self.profile.rules {
            format!("{title}-s{}", self.step_no)
        } else {
            title
        };
        self.edit(object, &id, "Title", "title", json!(title), owner, late_by);
    }

    fn sf_edit_account(&mut self, app: usize, website: String) {
        let company = self.model.records[app].company.clone();
        let Some((id, _)) = self.sf_find("Account", "Name", &company).into_iter().next() else {
            self.log(format!("salesforce user: no Account for a{app} to edit"));
            return;
        };
        let owner = Some(self.model.records[app].id.clone());
        self.edit(
            "Account",
            &id,
            "Website",
            "website",
            json!(website),
            owner,
            None,
        );
    }

    fn sf_edit_deal(&mut self, app: usize, lead_source: String) {
        let r = &self.model.records[app];
        let prefix = format!("Opp-{}-", r.id);
        let owner = Some(r.id.clone());
        let latest = self
            .stack
            .sf
            .records(PROD_ORG, "Opportunity")
            .expect("emulator read")
            .into_iter()
            .rev()
            .find(|(_, f, deleted)| {
                !deleted
                    && f.get("Name")
                        .and_then(Value::as_str)
                        .is_some_and(|n| n.starts_with(&prefix))
            });
        let Some((id, _, _)) = latest else {
            self.log(format!(
                "salesforce user: no Opportunity for a{app} to edit"
            ));
            return;
        };
        self.edit(
            "Opportunity",
            &id,
            "LeadSource",
            "lead_source",
            json!(lead_source),
            owner,
            None,
        );
    }

    fn sf_create_contact(&mut self, n: usize) {
        let last_name = format!("Sf-{n}-{}", self.step_no);
        let id = self
            .stack
            .sf
            .insert_record(
                PROD_ORG,
                "Contact",
                json!({"LastName": last_name, "FirstName": "Sally", "Phone": format!("+1 555 020 {n:04}")})
                    .as_object()
                    .cloned()
                    .unwrap_or_default(),
            )
            .expect("salesforce create");
        self.log(format!("salesforce user: created Contact {id} {last_name}"));
        self.model.sf_created.push(SfCreated {
            step: self.step_no,
            object: "Contact".into(),
            sf_id: id,
            last_name,
        });
    }

    /// `n` Contacts created at one instant (or all stamped `late_by` seconds ago).
    fn sf_burst(&mut self, n: usize, late_by: Option<u32>) {
        let stamp = late_by.map(|s| self.now() - Duration::seconds(i64::from(s)));
        for k in 0..n {
            let last_name = format!("Burst-{}-{k}", self.step_no);
            // A phone, as the Salesforce users' own Contacts carry (the sync skips a
            // Contact without email or phone).
            let phone = format!("+1 555 03{:02} {k:04}", self.step_no % 100);
            let fields = json!({"LastName": last_name, "FirstName": "Bea", "Phone": phone})
                .as_object()
                .cloned()
                .unwrap_or_default();
            let sf = &self.stack.sf;
            let id = match stamp {
                Some(stamp) => sf.commit_late(PROD_ORG, "Contact", None, fields, stamp),
                None => sf.insert_record(PROD_ORG, "Contact", fields),
            }
            .expect("salesforce create");
            self.model.sf_created.push(SfCreated {
                step: self.step_no,
                object: "Contact".into(),
                sf_id: id,
                last_name,
            });
        }
        let late = late_by
            .map(|s| format!(" (late by {s}s)"))
            .unwrap_or_default();
        self.log(format!("salesforce users: a burst of {n} Contacts{late}"));
    }

    /// Reconnects the connection when it needs it (`who` does it: the admin mid-run, or
    /// settling).
    async fn reconnect_if_needed(&mut self, who: &str) {
        let status = self.stack.connection(CONN).await.status;
        // A revoked grant the service has not noticed yet needs the reconnect too.
        if status != ConnectionStatus::Connected || self.grant_revoked {
            // A refused reconnect (the callback's identity call while the org's API limit
            // is spent) is an outcome: the admin tries again later.
            match self.stack.try_connect(CONN, Environment::Production).await {
                Ok(_) => {
                    self.grant_revoked = false;
                    self.log(format!("{who}: reconnected (was {status:?})"));
                }
                Err(e) => self.log(format!("{who}: reconnect refused (was {status:?}): {e}")),
            }
        }
    }

    fn sf_preexisting_lead(&mut self, app: usize) {
        let r = &self.model.records[app];
        if r.preexisting_lead || r.created {
            self.log(format!("salesforce user: a{app} already has its Lead"));
            return;
        }
        let fields = json!({"LastName": r.last_name, "Company": r.company, "Phone": r.phone});
        let id = self
            .stack
            .sf
            .insert_record(
                PROD_ORG,
                "Lead",
                fields.as_object().cloned().unwrap_or_default(),
            )
            .expect("salesforce create");
        self.log(format!(
            "salesforce user: created Lead {id} for a{app} with phone {}",
            r.phone
        ));
        self.model.records[app].preexisting_lead = true;
    }

    fn sf_delete(&mut self, app: usize) {
        let Some((object, id)) = self.person_record(app) else {
            self.log(format!(
                "salesforce user: no person record for a{app} to delete"
            ));
            return;
        };
        self.stack
            .sf
            .delete_record(PROD_ORG, object, &id)
            .expect("salesforce delete");
        let app_id = self.model.records[app].id.clone();
        self.model.records[app].deleted_in_sf = true;
        self.model
            .sf_deleted
            .push((object.into(), id.clone(), app_id));
        self.log(format!("salesforce user: deleted {object} {id}"));
    }

    fn sf_undelete(&mut self, app: usize) {
        let app_id = self.model.records[app].id.clone();
        let Some(i) = self
            .model
            .sf_deleted
            .iter()
            .rposition(|(_, _, a)| *a == app_id)
        else {
            self.log(format!("salesforce user: nothing of a{app} to undelete"));
            return;
        };
        let (object, id, _) = self.model.sf_deleted.remove(i);
        self.stack
            .sf
            .undelete_record(PROD_ORG, &object, &id)
            .expect("salesforce undelete");
        self.log(format!("salesforce user: undeleted {object} {id}"));
        self.model.sf_undeleted.push((object, id));
    }

    // ---- workers and faults ----

    pub(crate) fn arm(&mut self, fault: &Option<Fault>) {
        let Some(fault) = fault else {
            return;
        };
        let sf = &self.stack.sf;
        match fault {
            Fault::Salesforce(f) => {
                let spec = match f {
                    SfFault::ServerError { status, per_mille } => {
                        FaultSpec::none().errors(*status, f64::from(*per_mille) / 1000.0)
                    }
                    SfFault::LockRow { per_mille } => {
                        FaultSpec::none().lock_rows(f64::from(*per_mille) / 1000.0)
                    }
                    SfFault::ExpiredSession => {
                        // Not a 401 on a valid token: a second 401 right after a refresh
                        // would read as a revoked grant.
                        sf.expire_access_tokens(PROD_ORG).expect("org");
                        FaultSpec::none()
                    }
                    SfFault::CommitLost { per_mille } => {
                        FaultSpec::none().commit_lost(f64::from(*per_mille) / 1000.0)
                    }
                    SfFault::ApiLimitExhausted => {
                        sf.exhaust_api_limit(PROD_ORG).expect("org");
                        FaultSpec::none()
                    }
                    SfFault::TokensRevoked => {
                        self.grant_revoked = true;
                        sf.revoke_tokens(PROD_ORG).expect("org");
                        FaultSpec::none()
                    }
                    SfFault::Latency { ms } => FaultSpec::none().latency(u64::from(*ms)),
                    SfFault::RefreshRotationRace => {
                        sf.set_refresh_rotation(PROD_ORG, true).expect("org");
                        // Both workers' first requests find the access token expired.
                        sf.expire_access_tokens(PROD_ORG).expect("org");
                        FaultSpec::none()
                    }
                    SfFault::ClientSecretRotated => {
                        sf.set_client_secret(PROD_ORG, ROTATED_CLIENT_SECRET)
                            .expect("org");
                        sf.expire_access_tokens(PROD_ORG).expect("org");
                        FaultSpec::none()
                    }
                };
                sf.set_faults(PROD_ORG, spec).expect("org");
                self.faults.add(fault.kind());
            }
            Fault::Store {
                at_call,
                after_commit,
            } => {
                let f = if *after_commit {
                    StoreFault::FailAfterCommit
                } else {
                    StoreFault::FailBefore
                };
                self.plan.arm(*at_call, f);
            }
            Fault::WorkerKilled { at_call } => self.plan.arm(*at_call, StoreFault::Hang),
            Fault::Redelivery => self.faults.add(fault.kind()),
            Fault::StoreThrottled { per_mille } => {
                let seed = rand::Rng::random(&mut self.rng);
                self.plan.throttle(*per_mille, seed);
            }
            // Armed with its racing worker (`workers.rs`).
            Fault::LeaseExpiryRace { .. } | Fault::VisibilityExpiryRace { .. } => {}
        }
    }

    /// Clears per-run faults; counts a store fault or kill only if it fired.
    pub(crate) fn disarm(&mut self, fault: &Option<Fault>) -> bool {
        self.stack.sf.clear_faults(PROD_ORG).expect("org");
        let fired = self.plan.disarm();
        if fired && let Some(f) = fault {
            self.faults.add(f.kind());
        }
        fired
    }

    pub(crate) fn fault_text(fault: &Option<Fault>) -> String {
        match fault {
            Some(f) => format!(" [fault {f:?}]"),
            None => String::new(),
        }
    }

    /// One push worker invocation; returns how many messages it received.
    pub async fn drain(&mut self, fault: Option<Fault>) -> usize {
        self.run_worker(WorkerKind::Push, fault).await
    }

    pub async fn poll(&mut self, fault: Option<Fault>) {
        self.run_worker(WorkerKind::Poll, fault).await;
    }

    pub async fn sweep(&mut self, fault: Option<Fault>) {
        self.run_worker(WorkerKind::Sweep, fault).await;
    }

    /// Parked report entries of the connection.
    pub async fn parked(&self) -> Vec<crmsync_store::ReportEntry> {
        let page = self
            .stack
            .app
            .stores
            .reports
            .list(&ReportQuery {
                tenant: self.stack.tenant.clone(),
                connection: self.stack.conn(CONN),
                status: ReportStatus::Parked,
                object: None,
                from: None,
                to: None,
                page: PageRequest::first(100),
            })
            .await
            .expect("report list");
        page.items
    }

    /// Quiescence: faults off, the API allowance back, a reconnect if needed, then workers
    /// until nothing is queued or parked.
    async fn settle(&mut self) {
        self.step_no += 1;
        self.log("settle: faults off".into());
        self.stack.sf.clear_faults(PROD_ORG).expect("org");
        self.plan.disarm();
        self.stack.sf.set_api_used(PROD_ORG, 0).expect("org");
        let mut settled = false;
        for round in 0..SETTLE_ROUNDS {
            self.reconnect_if_needed("settle").await;
            let wait = if round < 3 {
                Duration::seconds(31)
            } else {
                Duration::minutes(11)
            };
            self.stack.advance(wait);
            let mut received = 0;
            for _ in 0..DRAINS_PER_ROUND {
                let n = self.drain(None).await;
                received += n;
                if n == 0 {
                    break;
                }
            }
            self.last_run_status = None;
            self.poll(None).await;
            // An activity waiting for a contact that has no link waits with its reason.
            let mut parked = 0;
            for entry in self.parked().await {
                if !self.waits_for_absent_link(&entry).await {
                    parked += 1;
                }
            }
            // A poll still paused on the quota reads nothing: the service trusts the org's
            // last (spent) usage reading for 15 minutes, so later rounds wait it out. A
            // killed poll's lease (5 minutes) answers Busy until it expires.
            let paused = matches!(
                self.last_run_status,
                Some(RunStatus::QuotaPaused | RunStatus::NotConnected | RunStatus::Busy)
            );
            if received == 0 && parked == 0 && !paused {
                settled = true;
                break;
            }
        }
        if !settled {
            let parked: Vec<String> = self
                .parked()
                .await
                .iter()
                .map(|p| format!("{} ({})", p.event_id, p.code.clone().unwrap_or_default()))
                .collect();
            self.settle_problems.push(format!(
                "not quiescent after {SETTLE_ROUNDS} settling rounds: the push queue still delivers, or events stay parked: {parked:?}"
            ));
        }
        // Final pulls: everything committed in Salesforce is read. A killed worker's lease
        // expires first (poll: 5 minutes, sweep: 10).
        self.stack.advance(Duration::minutes(6));
        let mut polls = 0;
        loop {
            self.last_run_status = None;
            self.poll(None).await;
            self.stack.advance(Duration::seconds(61));
            polls += 1;
            let capped = self.last_run_status == Some(RunStatus::Capped);
            if self.last_run_status == Some(RunStatus::QuotaPaused) {
                self.settle_problems
                    .push("the poll is still paused on the API quota at quiescence".into());
                break;
            }
            if polls >= 2 && !capped {
                break;
            }
            if polls >= FINAL_POLLS {
                self.settle_problems.push(format!(
                    "the poll still answers Capped after {FINAL_POLLS} polls with nothing new committed"
                ));
                break;
            }
        }
        if self.profile.deletes_and_sweeps {
            self.stack.advance(Duration::minutes(11));
            self.sweep(None).await;
        }
        self.feed = self.stack.changes_after(0).await;
        self.log(format!("settled: {} change-feed entries", self.feed.len()));
    }
}

pub(crate) fn outcomes_text(outcome: &BatchOutcome) -> String {
    let mut parts: Vec<String> = outcome
        .outcomes
        .iter()
        .map(|o| match &o.code {
            Some(code) => format!("{}:{:?}({code})", o.event_id, o.status),
            None => format!("{}:{:?}", o.event_id, o.status),
        })
        .collect();
    if !outcome.retry.is_empty() {
        parts.push(format!("retry {:?}", outcome.retry));
    }
    if outcome.duplicates > 0 {
        parts.push(format!("duplicates {}", outcome.duplicates));
    }
    format!("[{}]", parts.join(", "))
}

/// Per-kind totals over many runs, for `--seeds`.
pub fn sum_faults(reports: &[RunReport]) -> BTreeMap<&'static str, u64> {
    let mut total = FaultCounts::default();
    for r in reports {
        total.merge(&r.faults);
    }
    total.0
}
