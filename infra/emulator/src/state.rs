//! The emulator's whole state: clock, orgs, tokens, authorization codes, query locators.

use crate::EmulatorOptions;
use crate::clock::Clock;
use crate::error::EmulatorError;
use crate::faults::FaultSpec;
use crate::schema::{ObjectDef, standard_objects};
use crate::spec::{DuplicateRule, OrgSpec, ValidationRule};
use crate::store::Store;
use chrono::{DateTime, Utc};
use rand::SeedableRng;
use rand::rngs::StdRng;
use std::collections::{BTreeMap, HashMap};

#[derive(Clone)]
pub struct OrgSettings {
    pub daily_api_limit: u64,
    pub limit_header: crate::spec::LimitHeaderForm,
    pub app_quota: Option<crate::spec::AppQuotaSpec>,
    pub rotate_refresh_tokens: bool,
    pub auto_approve: bool,
    pub client_id: String,
    pub client_secret: String,
    /// getUpdated/getDeleted answer EXCEEDED_ID_LIMIT above this many ids (600,000).
    pub change_id_limit: usize,
}

pub struct Org {
    pub alias: String,
    pub org_id: String,
    pub name: String,
    pub is_sandbox: bool,
    pub settings: OrgSettings,
    pub schema: BTreeMap<String, ObjectDef>,
    pub store: Store,
    /// lower-cased username → (user id, password)
    pub logins: HashMap<String, (String, String)>,
    pub faults: FaultSpec,
    pub counters: BTreeMap<String, u64>,
    pub meter: crate::meter::ApiMeter,
    /// Calls by the connected app, against its per-app quota when one is set.
    pub app_meter: crate::meter::ApiMeter,
    pub validation_rules: Vec<ValidationRule>,
    pub duplicate_rules: Vec<DuplicateRule>,
    pub admin_user_id: String,
    /// Object → the record type its records get when created without one.
    pub record_type_defaults: BTreeMap<String, String>,
    /// The user of the data-API request being served (field-level security applies);
    /// `None` for internal and admin access.
    pub acting_user: Option<String>,
    /// Users without the Customize Application permission (metadata changes refused).
    pub no_customize_application: std::collections::HashSet<String>,
    /// Tooling API `CustomField` Ids (`00N…`) by `Object.Field__c`, given out on first sight.
    pub tooling_ids: BTreeMap<String, String>,
}

impl Org {
    /// Canonical object name for a case-insensitive name.
    pub fn object(&self, name: &str) -> Option<&ObjectDef> {
        self.schema
            .values()
            .find(|o| o.name.eq_ignore_ascii_case(name))
    }
    pub fn object_by_prefix(&self, id: &str) -> Option<&ObjectDef> {
        self.schema.values().find(|o| id.starts_with(&o.key_prefix))
    }
    pub fn count(&mut self, endpoint: &str) {
        *self.counters.entry(endpoint.to_string()).or_default() += 1;
    }
}

#[derive(Debug, Clone)]
pub struct AccessGrant {
    pub org: usize,
    pub user_id: String,
    pub expires: DateTime<Utc>,
}

#[derive(Debug, Clone)]
pub struct RefreshGrant {
    pub org: usize,
    pub user_id: String,
    pub client_id: String,
}

#[derive(Debug, Clone)]
pub struct AuthCode {
    pub org: usize,
    pub user_id: String,
    pub client_id: String,
    pub redirect_uri: String,
    pub challenge: Option<String>,
    pub expires: DateTime<Utc>,
}

/// A query cursor: the rendered result set, served in batches.
#[derive(Debug, Clone)]
pub struct Locator {
    pub org: usize,
    pub records: Vec<serde_json::Value>,
    pub batch: usize,
    /// Locators die after 15 minutes without use, like Salesforce's query cursors.
    pub last_used: DateTime<Utc>,
}

pub struct State {
    pub base_url: String,
    pub clock: Clock,
    pub orgs: Vec<Org>,
    pub access: HashMap<String, AccessGrant>,
    pub refresh: HashMap<String, RefreshGrant>,
    pub codes: HashMap<String, AuthCode>,
    pub locators: HashMap<String, Locator>,
    /// Bulk API 2.0 jobs.
    pub bulk: crate::bulk::Jobs,
    pub access_ttl: chrono::Duration,
    pub rng: StdRng,
    pub seq: u64,
}

impl State {
    pub fn new(opts: &EmulatorOptions, base_url: String) -> Result<Self, EmulatorError> {
        let mut st = State {
            base_url,
            clock: Clock::default(),
            orgs: Vec::new(),
            access: HashMap::new(),
            refresh: HashMap::new(),
            codes: HashMap::new(),
            locators: HashMap::new(),
            bulk: crate::bulk::Jobs::default(),
            access_ttl: chrono::Duration::from_std(opts.access_token_ttl)
                .unwrap_or(chrono::Duration::hours(2)),
            rng: StdRng::seed_from_u64(opts.seed),
            seq: 0,
        };
        for spec in &opts.orgs {
            st.add_org(spec)?;
        }
        Ok(st)
    }

    /// Next value of the global Id counter (Ids are unique across orgs and objects).
    pub fn next_seq(&mut self) -> u64 {
        self.seq += 1;
        self.seq
    }

    pub fn org_index(&self, alias: &str) -> Result<usize, EmulatorError> {
        self.orgs
            .iter()
            .position(|o| o.alias == alias)
            .ok_or_else(|| EmulatorError::UnknownOrg(alias.to_string()))
    }

    pub fn add_org(&mut self, spec: &OrgSpec) -> Result<usize, EmulatorError> {
        if self.orgs.iter().any(|o| o.alias == spec.alias) {
            return Err(EmulatorError::Seed {
                path: spec.alias.clone(),
                message: format!("duplicate org alias `{}`", spec.alias),
            });
        }
        let mut schema = standard_objects();
        for (obj, fields) in &spec.custom_fields {
            let Some(def) = schema.get_mut(obj.as_str()) else {
                return Err(EmulatorError::Seed {
                    path: format!("customFields.{obj}"),
                    message: format!("unknown object `{obj}`"),
                });
            };
            def.fields.extend(fields.iter().cloned().map(|mut f| {
                default_relationship_name(&mut f);
                f
            }));
        }
        for (i, custom) in spec.custom_objects.iter().enumerate() {
            let mut def = custom.clone();
            if !def.name.ends_with("__c") {
                return Err(EmulatorError::Seed {
                    path: format!("customObjects[{i}].name"),
                    message: format!("custom object `{}` must end in __c", def.name),
                });
            }
            def.custom = true;
            if def.key_prefix.is_empty() {
                let taken = |p: &str| {
                    schema.values().any(|o| o.key_prefix == p)
                        || spec.custom_objects.iter().any(|o| o.key_prefix == p)
                };
                def.key_prefix = (i..)
                    .map(|n| format!("a{n:02}"))
                    .find(|p| p.len() == 3 && !taken(p))
                    .unwrap_or_else(|| "a99".into());
            }
            if def.key_prefix.len() != 3 || schema.values().any(|o| o.key_prefix == def.key_prefix)
            {
                return Err(EmulatorError::Seed {
                    path: format!("customObjects[{i}].keyPrefix"),
                    message: format!("`{}` must be 3 characters and unused", def.key_prefix),
                });
            }
            let mut fields = crate::schema::custom_object_system_fields();
            for f in &mut def.fields {
                default_relationship_name(f);
            }
            fields.append(&mut def.fields);
            def.fields = fields;
            schema.insert(def.name.clone(), def);
        }
        crate::record_types::add_fields(&mut schema, &spec.record_types)?;
        let seq = self.next_seq();
        let org_id = match &spec.org_id {
            Some(id) => crate::ids::normalize(id)
                .filter(|id| id.starts_with("00D"))
                .ok_or_else(|| EmulatorError::Seed {
                    path: format!("orgs.{}.orgId", spec.alias),
                    message: format!("`{id}` is not a 15/18-character organization id (00D…)"),
                })?,
            None => crate::ids::make_id("00D", seq),
        };
        if self.orgs.iter().any(|o| o.org_id == org_id) {
            return Err(EmulatorError::Seed {
                path: format!("orgs.{}.orgId", spec.alias),
                message: format!("duplicate org id {org_id}"),
            });
        }
        let idx = self.orgs.len();
        self.orgs.push(Org {
            alias: spec.alias.clone(),
            org_id: org_id.clone(),
            name: spec.name.clone(),
            is_sandbox: spec.is_sandbox,
            settings: OrgSettings {
                daily_api_limit: spec.daily_api_limit,
                limit_header: spec.limit_header,
                app_quota: spec.app_quota.clone(),
                rotate_refresh_tokens: spec.rotate_refresh_tokens,
                auto_approve: spec.auto_approve,
                client_id: spec.client_id.clone(),
                client_secret: spec.client_secret.clone(),
                change_id_limit: 600_000,
            },
            schema,
            store: Store::default(),
            logins: HashMap::new(),
            faults: FaultSpec::default(),
            counters: BTreeMap::new(),
            meter: Default::default(),
            app_meter: Default::default(),
            validation_rules: spec.validation_rules.clone(),
            duplicate_rules: spec.duplicate_rules.clone(),
            admin_user_id: String::new(),
            record_type_defaults: BTreeMap::new(),
            acting_user: None,
            no_customize_application: Default::default(),
            tooling_ids: BTreeMap::new(),
        });
        crate::seed::populate(self, idx, spec)?;
        Ok(idx)
    }
}

/// A custom lookup `Account__c` has the relationship name `Account__r` (SOQL and SOSL
/// Reference, "Understanding Relationship Names, Custom Objects, and Custom Fields"):
/// the seed may omit it, a real org never does.
fn default_relationship_name(f: &mut crate::schema::FieldDef) {
    if f.ftype == crate::schema::FieldType::Reference
        && f.relationship_name.is_none()
        && let Some(stem) = f.name.strip_suffix("__c")
    {
        f.relationship_name = Some(format!("{stem}__r"));
    }
}

// Secrets (client secret, passwords, tokens) never appear in Debug output.
impl std::fmt::Debug for OrgSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OrgSettings")
            .field("daily_api_limit", &self.daily_api_limit)
            .field("rotate_refresh_tokens", &self.rotate_refresh_tokens)
            .field("auto_approve", &self.auto_approve)
            .field("client_id", &self.client_id)
            .field("client_secret", &"<redacted>")
            .field("change_id_limit", &self.change_id_limit)
            .finish()
    }
}

impl std::fmt::Debug for Org {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Org")
            .field("alias", &self.alias)
            .field("org_id", &self.org_id)
            .field("name", &self.name)
            .field("is_sandbox", &self.is_sandbox)
            .field("settings", &self.settings)
            .field("faults", &self.faults)
            .field("users", &self.logins.len())
            .finish_non_exhaustive()
    }
}

impl std::fmt::Debug for State {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("State")
            .field("base_url", &self.base_url)
            .field("orgs", &self.orgs)
            .field("access_tokens", &self.access.len())
            .field("refresh_tokens", &self.refresh.len())
            .field("open_locators", &self.locators.len())
            .finish_non_exhaustive()
    }
}
