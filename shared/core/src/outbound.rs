//! Outbound decision: one app event → a Salesforce write plan (data, not calls).
//!
//! The plan is an ordered list of steps; a step may take another step's resulting record
//! id into one of its fields (`references`), so the client can batch independent steps and
//! resolve the rest in order. Matching steps say what to look up; the service runs the
//! lookups and calls [`crate::matching`] to decide between update and create.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::activity::{ActivityLinks, Unready};
use crate::config::{ObjectConfig, SyncConfig};
use crate::conflict::{app_change_applies, app_change_is_superseded};
use crate::describe::ObjectDescribe;
use crate::event::{AppEvent, text_of};
use crate::hash::{field_hash, owner_hash};
use crate::mapping::sf_value_of;
use crate::matching::{AccountQuery, ContactQuery, Lookup, MatchStep};
use crate::preflight::{PreflightError, WriteKind, check_write};
use crate::transform::{SF_DATE_FORMAT, parse_date, parse_datetime};
use crate::types::{
    AppObject, EventKind, FieldChange, FieldMap, FieldNote, Link, LinkHashes, LinkTimes,
    OWNER_HASH_KEY,
};

/// What the outbound side needs besides the event.
#[derive(Debug, Clone, Copy)]
pub struct OutboundContext<'a> {
    pub config: &'a SyncConfig,
    /// This app record's links, by Salesforce object (`Lead`, `Contact`, `Account`, `Opportunity`).
    pub links: &'a BTreeMap<String, Link>,
    /// Describe results by object; objects without one are not pre-flight checked.
    pub describes: &'a BTreeMap<String, ObjectDescribe>,
    /// Salesforce users: email → User Id.
    pub owner_directory: &'a BTreeMap<String, String>,
    /// When the plan is written: the `synced_at` of the app changes it carries.
    pub now: DateTime<Utc>,
    /// For an activity: the links of the person and deal it names ([`crate::activity`]).
    pub activity: Option<&'a ActivityLinks>,
}

/// Where a step's target record comes from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Ref {
    /// The record id produced by an earlier step.
    Step(usize),
    /// A known Salesforce id.
    Id(String),
}

/// How a step's record is resolved before writing.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "matcher", rename_all = "snake_case")]
pub enum Matcher {
    /// Seed 003's account cascade ([`crate::matching::match_account`]).
    Account {
        query: AccountQuery,
        lookups: Vec<Lookup>,
    },
    /// Seed 003's contact cascade under `account` ([`crate::matching::match_contact`]).
    Contact {
        query: ContactQuery,
        account: Option<Ref>,
    },
    /// Keys in order ([`crate::matching::match_by_keys`]).
    Keys { keys: Vec<(MatchStep, Lookup)> },
}

/// The write a step performs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum WriteOp {
    Create,
    Update {
        id: String,
    },
    Upsert {
        external_id_field: String,
        external_id: String,
    },
    /// Match first: update the match with `fields`, or create when `create` allows.
    MatchThenWrite {
        matcher: Matcher,
        create: bool,
    },
}

/// Which app record a step's result is linked to, with the hashes of what was written.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LinkUpdate {
    pub app_object: AppObject,
    pub app_id: String,
    pub hashes: LinkHashes,
    /// The link's change times after this write (conflict policy, per-record order).
    #[serde(default)]
    pub times: LinkTimes,
    /// App values to tell the app back once written (change feed): the write overwrites a
    /// Salesforce value the feed delivered at or after the app made its change, which the
    /// app may have applied over its own ([`Builder::restates`]). The owner too, as
    /// `owners.app_field` (keyed [`OWNER_HASH_KEY`] in `restatable` and the link times).
    #[serde(default, skip_serializing_if = "FieldMap::is_empty")]
    pub restate: FieldMap,
    /// The written app values the app could be told back, by Salesforce field (fields of
    /// the event's own record that reach the app). A poll may feed a value of such a field
    /// after the plan read the link and before the write's link lands; the push re-checks
    /// these against the link it finds then ([`restated_on`]).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub restatable: BTreeMap<String, Restatable>,
}

/// An app value a write puts in Salesforce, with the app field it came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Restatable {
    pub app_field: String,
    pub value: Value,
}

/// Whether the app must be told back its change to `sf_field`, made at `app_at`, written
/// over what `link` holds: the feed delivered a value of the field (Salesforce's last
/// change, or a value told back) at or after the change.
pub fn restated_on(link: &Link, sf_field: &str, app_at: DateTime<Utc>) -> bool {
    link.times
        .salesforce
        .get(sf_field)
        .is_some_and(|s| s.synced_at >= app_at)
        || link.times.fed.get(sf_field).is_some_and(|t| *t >= app_at)
}

/// One write.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WriteStep {
    /// A readable name: `lead`, `contact`, `account`, `opportunity`, `line_item[0]`, ...
    pub key: String,
    pub object: String,
    #[serde(flatten)]
    pub op: WriteOp,
    pub fields: FieldMap,
    /// Field ← the id of the record an earlier step produced.
    #[serde(default)]
    pub references: BTreeMap<String, usize>,
    #[serde(default)]
    pub link: Option<LinkUpdate>,
}

/// An ordered write plan.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct WritePlan {
    pub steps: Vec<WriteStep>,
    pub notes: Vec<FieldNote>,
    /// Owner emails without a Salesforce user (the record goes to the connected user).
    pub unmapped_owners: Vec<String>,
    /// A change was left out as older than one already applied ([`SUPERSEDED_NOTE`]).
    #[serde(default)]
    pub superseded: bool,
}

/// The note on a field change older than the last one applied to it.
pub const SUPERSEDED_NOTE: &str =
    "superseded: a newer app change to this field was already applied";

/// The outbound outcome for one event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "decision", rename_all = "snake_case")]
pub enum OutboundDecision {
    Write {
        plan: WritePlan,
    },
    /// Nothing to write: every mapped value echoes the last sync, or nothing is mapped.
    NoChange {
        notes: Vec<FieldNote>,
    },
    /// Nothing to write because newer app changes to its fields were already applied (a
    /// parked or redelivered event arriving late).
    Superseded {
        notes: Vec<FieldNote>,
    },
    Skipped {
        reason: String,
    },
    /// Not yet: a record the event needs is not linked (an activity whose person has not
    /// been pushed). The service parks it and replays it once the link exists.
    Waiting {
        reason: String,
    },
    /// Salesforce would reject the writes; nothing is sent.
    Rejected {
        errors: Vec<PreflightError>,
        plan: WritePlan,
    },
}

/// Why a builder wrote nothing: skipped for good, or waiting for a link.
enum Stop {
    Skip(String),
    Wait(String),
}

struct Builder<'a> {
    ctx: &'a OutboundContext<'a>,
    event: &'a AppEvent,
    plan: WritePlan,
}

/// Fields mapped for one object, with the hashes to store.
struct Mapped {
    fields: FieldMap,
    hashes: LinkHashes,
    times: LinkTimes,
    /// Link state changed with no field to write (the owner-keeping flag).
    state_changed: bool,
    /// App field → value to tell the app back ([`LinkUpdate::restate`]).
    restate: FieldMap,
    /// [`LinkUpdate::restatable`].
    restatable: BTreeMap<String, Restatable>,
}

impl Mapped {
    /// The fields to write, and the link update of the app record `app` they make.
    fn into_write(self, (app_object, app_id): (AppObject, &str)) -> (FieldMap, Option<LinkUpdate>) {
        let link = LinkUpdate {
            app_object,
            app_id: app_id.to_string(),
            hashes: self.hashes,
            times: self.times,
            restate: self.restate,
            restatable: self.restatable,
        };
        (self.fields, Some(link))
    }
}

impl<'a> Builder<'a> {
    fn cfg(&self) -> &'a SyncConfig {
        self.ctx.config
    }

    /// Map `fields` through `sf_object`'s mappings for this event. On update, values whose
    /// hash equals the link's are echoes and are left out.
    fn map_fields(
        &mut self,
        sf_object: &str,
        obj: &ObjectConfig,
        fields: &FieldMap,
        link: Option<&Link>,
        creating: bool,
    ) -> Mapped {
        let kind = self.event.kind;
        let person_like = sf_object != "Opportunity";
        let mut out = FieldMap::new();
        let mut restate = FieldMap::new();
        let mut restatable = BTreeMap::new();
        let mut hashes = link.map(|l| l.hashes.clone()).unwrap_or_default();
        let mut times = link.map(|l| l.times.clone()).unwrap_or_default();
        let app_at = parse_datetime(&self.event.occurred_at);
        for m in obj.fields.iter().filter(|m| m.rule.outbound()) {
            let fires = m.fires_on(kind)
                || (person_like
                    && matches!(kind, EventKind::DemoSet | EventKind::Sale)
                    && (m.fires_on(EventKind::Create) || m.fires_on(EventKind::Update)));
            if !fires {
                continue;
            }
            let value = match (fields.get(&m.app_field), &m.default) {
                (Some(v), _) => v.clone(),
                (None, Some(d)) if creating => d.clone(),
                _ => continue,
            };
            let sf = match sf_value_of(self.cfg(), m, &value) {
                Ok(v) => v,
                Err(e) => {
                    self.plan.notes.push(FieldNote::new(
                        format!("{sf_object}.{}", m.salesforce_field),
                        format!("not sent: {e}"),
                    ));
                    continue;
                }
            };
            let h = field_hash(m.kind, &sf);
            if !creating && link.and_then(|l| l.hashes.get(&m.salesforce_field)) == Some(&h) {
                continue;
            }
            if !self.admits(sf_object, &m.salesforce_field, link, app_at) {
                continue;
            }
            if creating && sf.is_null() {
                continue;
            }
            if self.restates(obj, m, link, app_at) {
                restate.insert(m.app_field.clone(), value);
                times.fed.insert(m.salesforce_field.clone(), self.ctx.now);
            } else if app_at.is_some() && self.reaches_app(obj, m) {
                let r = Restatable {
                    app_field: m.app_field.clone(),
                    value,
                };
                restatable.insert(m.salesforce_field.clone(), r);
            }
            hashes.insert(m.salesforce_field.clone(), h);
            out.insert(m.salesforce_field.clone(), sf);
            self.stamp(&mut times, &m.salesforce_field, app_at);
        }
        let owners = &self.cfg().owners;
        if owners.enabled
            && owners.rule.outbound()
            && sf_object != "User"
            && sf_object != "OpportunityLineItem"
            && let Some(Value::String(app_user)) = fields.get(&owners.app_field)
        {
            let email = owners.email_for_app_user(app_user).map(str::to_string);
            let sf_user = email.as_ref().and_then(|e| {
                self.ctx
                    .owner_directory
                    .iter()
                    .find(|(k, _)| k.eq_ignore_ascii_case(e))
                    .map(|(_, id)| id.clone())
            });
            match (email, sf_user) {
                (Some(email), Some(user_id)) => {
                    let h = owner_hash(&email);
                    if (creating || link.and_then(|l| l.hashes.get(OWNER_HASH_KEY)) != Some(&h))
                        && self.admits(sf_object, OWNER_HASH_KEY, link, app_at)
                    {
                        out.insert("OwnerId".into(), Value::String(user_id));
                        hashes.insert(OWNER_HASH_KEY.into(), h);
                        // The owner is told back as a mapped field's value is (people
                        // seeds 42, 168, 250 of `+owners`).
                        if let Some(at) = app_at
                            && self.owner_reaches_app(obj, fields, link)
                        {
                            let value = Value::String(app_user.clone());
                            if link.is_some_and(|l| restated_on(l, OWNER_HASH_KEY, at)) {
                                restate.insert(owners.app_field.clone(), value);
                                times.fed.insert(OWNER_HASH_KEY.into(), self.ctx.now);
                            } else {
                                let app_field = owners.app_field.clone();
                                let r = Restatable { app_field, value };
                                restatable.insert(OWNER_HASH_KEY.into(), r);
                            }
                        }
                        self.stamp(&mut times, OWNER_HASH_KEY, app_at);
                    }
                }
                (email, _) => {
                    let who = email.unwrap_or_else(|| format!("app user {app_user}"));
                    if !self.plan.unmapped_owners.contains(&who) {
                        self.plan.unmapped_owners.push(who.clone());
                    }
                    self.plan.notes.push(FieldNote::new(
                        format!("{sf_object}.OwnerId"),
                        format!(
                            "{who} has no Salesforce user; Salesforce assigns the connected user"
                        ),
                    ));
                }
            }
        }

        if creating && let Some(rt) = &obj.record_type_id {
            out.insert("RecordTypeId".into(), Value::String(rt.clone()));
        }
        // The app's owner-keeping flag is kept on the link: the poll has no app record.
        let mut state_changed = false;
        if let Some(flag) = &owners.keep_owner_field
            && let Some(Value::Bool(locked)) = fields.get(flag)
            && times.owner_locked != Some(*locked)
        {
            times.owner_locked = Some(*locked);
            state_changed = true;
        }
        Mapped {
            fields: out,
            hashes,
            times,
            state_changed,
            restate,
            restatable,
        }
    }

    /// Whether writing the app's change to `m` must be told back to the app: the change
    /// feed delivered a value of the field (Salesforce's last change, or a value crmsync
    /// told back, [`LinkTimes::fed`]) at or after the app made its change, so the app may
    /// hold that value over its own (a poll cannot see changes still queued for push), and
    /// this write puts the app's value in Salesforce. Only for the event's own app record
    /// and fields that reach the app at all.
    fn restates(
        &self,
        obj: &ObjectConfig,
        m: &crate::config::FieldMapping,
        link: Option<&Link>,
        app_at: Option<DateTime<Utc>>,
    ) -> bool {
        let (Some(link), Some(at)) = (link, app_at) else {
            return false;
        };
        self.reaches_app(obj, m) && restated_on(link, &m.salesforce_field, at)
    }

    /// Whether a written value of `m` could be told back: a field of the event's own app
    /// record that the app takes inbound updates of.
    fn reaches_app(&self, obj: &ObjectConfig, m: &crate::config::FieldMapping) -> bool {
        m.rule.inbound() && obj.inbound.update && obj.app_object == self.event.app_object
    }

    /// Whether Salesforce's owner of this object reaches the event's app record: owners
    /// pulled, the object's inbound updates on, and the record not keeping its owner
    /// (`owners.keep_owner_field`: as the event says, else as its last event left it).
    fn owner_reaches_app(
        &self,
        obj: &ObjectConfig,
        fields: &FieldMap,
        link: Option<&Link>,
    ) -> bool {
        let owners = &self.cfg().owners;
        let keeps = owners
            .keep_owner_field
            .as_ref()
            .is_some_and(|f| match fields.get(f) {
                Some(Value::Bool(keep)) => *keep,
                _ => link.is_some_and(|l| l.times.owner_locked == Some(true)),
            });
        owners.rule.inbound()
            && obj.inbound.update
            && obj.app_object == self.event.app_object
            && !keeps
    }

    /// Whether the event's change to `key` may be written over what the link knows: not
    /// older than the last app change applied to it (order), and not lost to Salesforce
    /// under the conflict policy. A refusal is noted.
    fn admits(
        &mut self,
        sf_object: &str,
        key: &str,
        link: Option<&Link>,
        app_at: Option<DateTime<Utc>>,
    ) -> bool {
        let (Some(link), Some(at)) = (link, app_at) else {
            return true;
        };
        let field = format!("{sf_object}.{key}");
        if app_change_is_superseded(at, link.times.app.get(key)) {
            self.plan.notes.push(FieldNote::new(field, SUPERSEDED_NOTE));
            self.plan.superseded = true;
            return false;
        }
        let policy = self.cfg().conflict_policy;
        if !app_change_applies(policy, at, link.times.salesforce.get(key)) {
            self.plan.notes.push(FieldNote::new(
                field,
                "conflict: Salesforce's value is kept (conflict_policy)",
            ));
            return false;
        }
        true
    }

    /// Records the app's change to `key` (made at `app_at`, written now).
    fn stamp(&self, times: &mut LinkTimes, key: &str, app_at: Option<DateTime<Utc>>) {
        if let Some(at) = app_at {
            let change = FieldChange {
                at,
                synced_at: self.ctx.now,
            };
            times.app.insert(key.to_string(), change);
        }
    }

    fn push(&mut self, step: WriteStep) -> usize {
        self.plan.steps.push(step);
        self.plan.steps.len() - 1
    }

    /// An existing record: an update step when something changed. Returns the id.
    fn update_existing(
        &mut self,
        key: &str,
        object: &str,
        id: &str,
        mapped: Mapped,
        app: (AppObject, &str),
    ) -> Ref {
        if !mapped.fields.is_empty() || mapped.state_changed {
            let (fields, link) = mapped.into_write(app);
            self.push(WriteStep {
                key: key.into(),
                object: object.into(),
                op: WriteOp::Update { id: id.to_string() },
                fields,
                references: BTreeMap::new(),
                link,
            });
        }
        Ref::Id(id.to_string())
    }

    fn account_query(&self, fields: &FieldMap) -> AccountQuery {
        crate::matching::account_query(&self.cfg().matching, fields)
    }

    /// Connect to or create the Account for this event (seed 003 account cascade).
    fn account(&mut self, fields: &FieldMap, app: (AppObject, &str)) -> Option<Ref> {
        let Some(obj) = self.cfg().object("Account") else {
            self.plan.notes.push(FieldNote::new(
                "Account",
                "Account sync is not enabled; no account connected",
            ));
            return None;
        };
        let link = self.ctx.links.get("Account");
        if let Some(link) = link {
            let mapped = self.map_fields("Account", obj, fields, Some(link), false);
            let id = link.salesforce_id.clone();
            return Some(if obj.outbound.update {
                self.update_existing("account", "Account", &id, mapped, app)
            } else {
                Ref::Id(id)
            });
        }
        let mapped = self.map_fields("Account", obj, fields, None, true);
        let op = match (&obj.external_id_field, app.0) {
            (Some(ext), AppObject::Company) => WriteOp::Upsert {
                external_id_field: ext.clone(),
                external_id: app.1.to_string(),
            },
            _ => {
                let query = self.account_query(fields);
                let lookups = crate::matching::account_lookups(
                    &query,
                    &self.cfg().matching.account_city_field,
                );
                WriteOp::MatchThenWrite {
                    matcher: Matcher::Account { query, lookups },
                    create: obj.outbound.create,
                }
            }
        };
        let (fields, link) = mapped.into_write(app);
        let i = self.push(WriteStep {
            key: "account".into(),
            object: "Account".into(),
            op,
            fields,
            references: BTreeMap::new(),
            link,
        });
        Some(Ref::Step(i))
    }

    fn contact_query(&self, fields: &FieldMap) -> ContactQuery {
        let mc = &self.cfg().matching;
        ContactQuery {
            phone: text_of(fields, &mc.app_phone_field),
            last_name: text_of(fields, &mc.app_last_name_field),
        }
    }

    /// Connect to or create a Contact under `account` (seed 003 contact cascade).
    fn contact(
        &mut self,
        key: &str,
        fields: &FieldMap,
        account: Option<Ref>,
        link: Option<&Link>,
        known_id: Option<String>,
        app: (AppObject, &str),
    ) -> Option<Ref> {
        let obj = self.cfg().object("Contact")?;
        if let Some(id) = link.map(|l| l.salesforce_id.clone()).or(known_id) {
            let mut mapped = self.map_fields("Contact", obj, fields, link, false);
            if link.is_none()
                && let Some(Ref::Id(acc)) = &account
            {
                mapped
                    .fields
                    .entry("AccountId".into())
                    .or_insert_with(|| json!(acc));
            }
            return Some(if obj.outbound.update {
                self.update_existing(key, "Contact", &id, mapped, app)
            } else {
                Ref::Id(id)
            });
        }
        let mut mapped = self.map_fields("Contact", obj, fields, None, true);
        let mut references = BTreeMap::new();
        match &account {
            Some(Ref::Step(i)) => {
                references.insert("AccountId".to_string(), *i);
            }
            Some(Ref::Id(id)) => {
                mapped.fields.insert("AccountId".into(), json!(id));
            }
            None => {}
        }
        let op = WriteOp::MatchThenWrite {
            matcher: Matcher::Contact {
                query: self.contact_query(fields),
                account,
            },
            create: obj.outbound.create,
        };
        let (fields, link) = mapped.into_write(app);
        let i = self.push(WriteStep {
            key: key.into(),
            object: "Contact".into(),
            op,
            fields,
            references,
            link,
        });
        Some(Ref::Step(i))
    }

    fn person_target(&self) -> &'static str {
        person_target(self.cfg(), self.ctx.links, self.event)
    }

    fn lead(&mut self, fields: &FieldMap) -> Option<Ref> {
        let obj = self.cfg().object("Lead")?;
        let app = (self.event.app_object, self.event.app_id.as_str());
        let link = self.ctx.links.get("Lead");
        let known = link
            .map(|l| l.salesforce_id.clone())
            .or_else(|| self.event.text(&self.cfg().lead_routing.lead_id_field));
        if let Some(id) = known {
            if !obj.outbound.update {
                self.plan
                    .notes
                    .push(FieldNote::new("Lead", "outbound updates are off for Lead"));
                return Some(Ref::Id(id));
            }
            let mapped = self.map_fields("Lead", obj, fields, link, false);
            return Some(self.update_existing("lead", "Lead", &id, mapped, app));
        }
        let mapped = self.map_fields("Lead", obj, fields, None, true);
        let op = if let Some(ext) = &obj.external_id_field {
            WriteOp::Upsert {
                external_id_field: ext.clone(),
                external_id: app.1.to_string(),
            }
        } else {
            WriteOp::MatchThenWrite {
                matcher: Matcher::Keys {
                    keys: self.lead_keys(obj, fields),
                },
                create: obj.outbound.create,
            }
        };
        let (fields, link) = mapped.into_write(app);
        let i = self.push(WriteStep {
            key: "lead".into(),
            object: "Lead".into(),
            op,
            fields,
            references: BTreeMap::new(),
            link,
        });
        Some(Ref::Step(i))
    }

    fn lead_keys(&self, obj: &ObjectConfig, fields: &FieldMap) -> Vec<(MatchStep, Lookup)> {
        let mc = &self.cfg().matching;
        let mut keys = Vec::new();
        for k in &mc.contact_keys {
            let (step, app_field, sf_field) = match k {
                crate::config::MatchKey::ExternalId => match &obj.external_id_field {
                    Some(ext) => (MatchStep::ExternalId, None, ext.clone()),
                    None => continue,
                },
                crate::config::MatchKey::Email => (
                    MatchStep::Email,
                    Some(&mc.app_email_field),
                    "Email".to_string(),
                ),
                crate::config::MatchKey::Phone => (
                    MatchStep::Phone,
                    Some(&mc.app_phone_field),
                    "Phone".to_string(),
                ),
            };
            let value = match app_field {
                Some(f) => text_of(fields, f),
                None => Some(self.event.app_id.clone()),
            };
            if let Some(value) = value {
                keys.push((
                    step,
                    Lookup {
                        object: "Lead".into(),
                        conditions: vec![(sf_field, value)],
                        fields: vec!["Id".into()],
                    },
                ));
            }
        }
        keys
    }

    fn opportunity_base(
        &self,
        account: &Option<Ref>,
        contact: &Option<Ref>,
        stage: &str,
        close: String,
    ) -> (FieldMap, BTreeMap<String, usize>) {
        let name = opportunity_name(self.cfg(), self.event);
        let mut fields = FieldMap::new();
        fields.insert("Name".into(), json!(name));
        fields.insert("StageName".into(), json!(stage));
        fields.insert("CloseDate".into(), json!(close));
        let mut refs = BTreeMap::new();
        for (field, r) in [("AccountId", account), ("ContactId", contact)] {
            match r {
                Some(Ref::Step(i)) => {
                    refs.insert(field.to_string(), *i);
                }
                Some(Ref::Id(id)) => {
                    fields.insert(field.into(), json!(id));
                }
                None => {}
            }
        }
        (fields, refs)
    }

    fn event_date(&self) -> String {
        self.event
            .occurred_at()
            .map(|d| d.format(SF_DATE_FORMAT).to_string())
            .unwrap_or_default()
    }

    fn opportunity(&mut self, account: &Option<Ref>, contact: &Option<Ref>) -> Option<Ref> {
        let cfg = self.cfg();
        let obj = cfg.object("Opportunity")?;
        let ev = self.event;
        let app = (ev.app_object, ev.app_id.as_str());
        let (stage, close) = if ev.kind == EventKind::DemoSet {
            let demo = ev
                .text(&cfg.opportunity.demo_time_field)
                .and_then(|t| parse_date(&t))
                .map(|d| d.format(SF_DATE_FORMAT).to_string());
            if demo.is_none() {
                self.plan.notes.push(FieldNote::new(
                    "Opportunity.CloseDate",
                    "no demo time on the event; using the event date",
                ));
            }
            (
                cfg.opportunity.demo_stage.clone(),
                demo.unwrap_or_else(|| self.event_date()),
            )
        } else {
            (cfg.opportunity.sale_stage.clone(), self.event_date())
        };
        let link = self.ctx.links.get("Opportunity");
        // A demo set starts a new sales cycle: always a new Opportunity. A sale closes the
        // cycle's linked Opportunity when there is one.
        if ev.kind == EventKind::Sale
            && let Some(link) = link
        {
            let mut mapped = self.map_fields("Opportunity", obj, &ev.fields, Some(link), false);
            mapped.fields.insert("StageName".into(), json!(stage));
            mapped.hashes.insert(
                "StageName".into(),
                field_hash(crate::transform::FieldKind::Picklist, &json!(stage)),
            );
            let id = link.salesforce_id.clone();
            self.update_existing("opportunity", "Opportunity", &id, mapped, app);
            return Some(Ref::Id(id));
        }
        let (mut fields, references) = self.opportunity_base(account, contact, &stage, close);
        let mapped = self.map_fields("Opportunity", obj, &ev.fields, None, true);
        for (k, v) in mapped.fields {
            if k != "StageName" {
                fields.insert(k, v);
            }
        }
        let (mut hashes, times) = (mapped.hashes, mapped.times);
        hashes.insert(
            "StageName".into(),
            field_hash(crate::transform::FieldKind::Picklist, &json!(stage)),
        );
        let i = self.push(WriteStep {
            key: "opportunity".into(),
            object: "Opportunity".into(),
            op: WriteOp::Create,
            fields,
            references,
            link: Some(LinkUpdate {
                app_object: app.0,
                app_id: app.1.to_string(),
                hashes,
                times,
                restate: FieldMap::new(),
                restatable: BTreeMap::new(),
            }),
        });
        Some(Ref::Step(i))
    }

    fn line_items(&mut self, opportunity: &Ref) {
        for (i, item) in self.event.sale_items.iter().enumerate() {
            let mut fields = item.fields.clone();
            fields.insert("Quantity".into(), json!(item.quantity));
            fields.insert("UnitPrice".into(), json!(item.unit_price));
            fields.insert("Description".into(), json!(item.name));
            if let Some(p) = &item.pricebook_entry_id {
                fields.insert("PricebookEntryId".into(), json!(p));
            }
            if let Some(p) = &item.product_id {
                fields.insert("Product2Id".into(), json!(p));
            }
            let mut references = BTreeMap::new();
            match opportunity {
                Ref::Step(s) => {
                    references.insert("OpportunityId".to_string(), *s);
                }
                Ref::Id(id) => {
                    fields.insert("OpportunityId".into(), json!(id));
                }
            }
            self.push(WriteStep {
                key: format!("line_item[{i}]"),
                object: "OpportunityLineItem".into(),
                op: WriteOp::Create,
                fields,
                references,
                link: None,
            });
        }
    }

    fn person_event(&mut self) -> Result<(), String> {
        let ev = self.event;
        let app = (ev.app_object, ev.app_id.as_str());
        let target = self.person_target();
        let needs_account_chain = target == "Contact";
        if target == "Lead" {
            if self.lead(&ev.fields).is_none() {
                return Err("neither Lead nor Contact sync is enabled".into());
            }
            if ev.kind == EventKind::DemoSet && self.cfg().opportunity.create_at_demo_set {
                self.plan.notes.push(FieldNote::new(
                    "Opportunity",
                    "demo set without a move to the held phase; no Opportunity",
                ));
            }
            return Ok(());
        }
        let link = self.ctx.links.get("Contact");
        let known_contact = ev.text(&self.cfg().lead_routing.contact_id_field);
        let unknown_contact = link.is_none() && known_contact.is_none();
        let account = if needs_account_chain
            && (unknown_contact || matches!(ev.kind, EventKind::DemoSet | EventKind::Sale))
        {
            self.account(&ev.fields, app)
        } else {
            None
        };
        let contact = self.contact(
            "contact",
            &ev.fields,
            account.clone(),
            link,
            known_contact,
            app,
        );
        if contact.is_none() {
            return Err("Contact sync is not enabled".into());
        }
        let opp_wanted = match ev.kind {
            EventKind::DemoSet => self.cfg().opportunity.create_at_demo_set,
            EventKind::Sale => self.cfg().opportunity.sync_sales,
            _ => false,
        };
        if ev.kind == EventKind::Sale {
            for (i, ac) in ev.associated_contacts.iter().enumerate() {
                let app_id = ac.app_id.clone().unwrap_or_default();
                let app = (AppObject::Contact, app_id.as_str());
                self.contact(
                    &format!("associated_contact[{i}]"),
                    &ac.fields,
                    account.clone(),
                    None,
                    None,
                    app,
                );
                if ac.app_id.is_none()
                    && let Some(s) = self.plan.steps.last_mut()
                {
                    s.link = None;
                }
            }
        }
        if opp_wanted {
            match self.opportunity(&account, &contact) {
                Some(opp) if ev.kind == EventKind::Sale => self.line_items(&opp),
                Some(_) => {}
                None => self.plan.notes.push(FieldNote::new(
                    "Opportunity",
                    "Opportunity sync is not enabled",
                )),
            }
        }
        Ok(())
    }

    fn company_event(&mut self) -> Result<(), String> {
        let ev = self.event;
        if self.cfg().object("Account").is_none() {
            return Err("Account sync is not enabled".into());
        }
        self.account(&ev.fields, (ev.app_object, ev.app_id.as_str()));
        Ok(())
    }

    fn deal_event(&mut self) -> Result<(), String> {
        let ev = self.event;
        let app = (ev.app_object, ev.app_id.as_str());
        let obj = self
            .cfg()
            .object("Opportunity")
            .ok_or("Opportunity sync is not enabled")?;
        if let Some(link) = self.ctx.links.get("Opportunity") {
            let mapped = self.map_fields("Opportunity", obj, &ev.fields, Some(link), false);
            if obj.outbound.update {
                let id = link.salesforce_id.clone();
                self.update_existing("opportunity", "Opportunity", &id, mapped, app);
            }
            return Ok(());
        }
        if !obj.outbound.create {
            return Err("outbound creates are off for Opportunity".into());
        }
        let mapped = self.map_fields("Opportunity", obj, &ev.fields, None, true);
        let op = match &obj.external_id_field {
            Some(ext) => WriteOp::Upsert {
                external_id_field: ext.clone(),
                external_id: ev.app_id.clone(),
            },
            None => WriteOp::Create,
        };
        let (fields, link) = mapped.into_write(app);
        self.push(WriteStep {
            key: "opportunity".into(),
            object: "Opportunity".into(),
            op,
            fields,
            references: BTreeMap::new(),
            link,
        });
        Ok(())
    }

    /// App calls/emails → a completed Salesforce Task ([`crate::activity`]).
    fn activity_event(&mut self) -> Result<(), Stop> {
        let cfg = self.cfg();
        if !cfg.activity.enabled {
            return Err(Stop::Skip("activity sync is not enabled".into()));
        }
        let none = ActivityLinks::default();
        let links = self.ctx.activity.unwrap_or(&none);
        let relations = match crate::activity::relations(cfg, self.event, links) {
            Ok(r) => r,
            Err(Unready::NoPerson(reason)) => return Err(Stop::Skip(reason)),
            Err(Unready::Waiting(reason)) => return Err(Stop::Wait(reason)),
        };
        self.plan.notes.extend(relations.note.clone());
        let fields = crate::activity::task_fields(
            cfg,
            self.event,
            &relations,
            self.ctx.describes.get("Task"),
        );
        if let Some(step) =
            crate::activity::task_step(self.event, fields, self.ctx.links.get("Task"))
        {
            self.push(step);
        }
        Ok(())
    }

    /// Schema drift: a mapped field the org's describe lacks (deleted, renamed, hidden) is
    /// left out of the write with a note, so that mapping pauses and the rest of the
    /// record is still written. (`RecordTypeId` keeps its own refusal in the preflight.)
    /// Schema drift: a mapping whose Salesforce field the org no longer has, or whose type
    /// changed, is paused (its field left out with a note) rather than failing the event;
    /// so is a configured value a narrowed restricted picklist no longer accepts.
    fn pause_drifted_mappings(&mut self) {
        let describes = self.ctx.describes;
        let config = self.ctx.config;
        let mut notes = Vec::new();
        for step in &mut self.plan.steps {
            let Some(d) = describes.get(&step.object) else {
                continue;
            };
            let mappings = config.objects.get(&step.object).map(|o| &o.fields);
            step.fields.retain(|name, value| {
                if name.eq_ignore_ascii_case("RecordTypeId") {
                    return true;
                }
                let mapping = mappings
                    .and_then(|fs| fs.iter().find(|m| m.salesforce_field.eq_ignore_ascii_case(name)));
                let app_field = mapping.map_or(name.as_str(), |m| m.app_field.as_str());
                let Some(field) = d.field(name) else {
                    notes.push(FieldNote::new(
                        app_field,
                        crate::preflight::Drift::Missing.reason(&step.object, name),
                    ));
                    return false;
                };
                let Some(m) = mapping else {
                    return true;
                };
                if let Some(drift) = crate::preflight::drift(m, d) {
                    notes.push(FieldNote::new(app_field, drift.reason(&step.object, name)));
                    return false;
                }
                let narrowed = crate::preflight::narrowed_values(config, m, field);
                let sent = value.as_str().unwrap_or_default();
                if narrowed
                    .iter()
                    .any(|a| config.salesforce_value_of(m, a) == sent)
                {
                    notes.push(FieldNote::new(
                        app_field,
                        format!(
                            "{}.{name} not written: the picklist no longer accepts {sent} (narrowed in Salesforce)",
                            step.object
                        ),
                    ));
                    return false;
                }
                true
            });
        }
        self.plan.notes.extend(notes);
    }

    fn preflight(&self) -> Vec<PreflightError> {
        let mut errs = Vec::new();
        for s in &self.plan.steps {
            let Some(d) = self.ctx.describes.get(&s.object) else {
                continue;
            };
            let kind = match &s.op {
                WriteOp::Update { .. } => WriteKind::Update,
                WriteOp::MatchThenWrite { create: false, .. } => WriteKind::Update,
                _ => WriteKind::Create,
            };
            let refs: Vec<&str> = s.references.keys().map(String::as_str).collect();
            let constraints = self
                .cfg()
                .objects
                .get(&s.object)
                .map(|o| o.constraints.clone())
                .unwrap_or_default();
            errs.extend(check_write(d, kind, &s.fields, &refs, &constraints));
        }
        errs
    }
}

/// The Name of an Opportunity a person's demo set or sale creates: the event's `name`,
/// else its business name, else the app id.
pub fn opportunity_name(cfg: &SyncConfig, ev: &AppEvent) -> String {
    ev.text("name")
        .or_else(|| ev.text(&cfg.matching.app_business_name_field))
        .unwrap_or_else(|| ev.app_id.clone())
}

/// Seed 003: Contact when a demo set moves the lead from a cold-call phase to the held
/// phase, on a sale, or when the record already carries a Salesforce Contact id; else Lead.
pub fn person_target(
    cfg: &SyncConfig,
    links: &BTreeMap<String, Link>,
    ev: &AppEvent,
) -> &'static str {
    let lr = &cfg.lead_routing;
    let has_contact_id = links.contains_key("Contact") || ev.text(&lr.contact_id_field).is_some();
    let demo_to_held = ev.kind == EventKind::DemoSet
        && ev.text(&lr.phase_field).is_none_or(|p| p == lr.held_phase)
        && ev
            .text(&lr.previous_phase_field)
            .is_none_or(|p| p.starts_with(&lr.cold_call_prefix));
    let wants_contact = has_contact_id || demo_to_held || ev.kind == EventKind::Sale;
    match (
        wants_contact,
        cfg.object("Lead").is_some(),
        cfg.object("Contact").is_some(),
    ) {
        (true, _, true) | (false, false, true) => "Contact",
        _ => "Lead",
    }
}

/// Plan the Salesforce writes for one app event.
pub fn plan_outbound(ctx: &OutboundContext<'_>, event: &AppEvent) -> OutboundDecision {
    let mut b = Builder {
        ctx,
        event,
        plan: WritePlan::default(),
    };
    let result = match event.app_object {
        AppObject::Contact => b.person_event().map_err(Stop::Skip),
        AppObject::Company => b.company_event().map_err(Stop::Skip),
        AppObject::Deal => b.deal_event().map_err(Stop::Skip),
        AppObject::Activity => b.activity_event(),
        AppObject::User => Err(Stop::Skip("app users are not written to Salesforce".into())),
        AppObject::Location => Err(Stop::Skip(
            "locations are written as the company's sites (custom_objects.sites), not on their own"
                .into(),
        )),
    };
    match result {
        Ok(()) => {}
        Err(Stop::Skip(reason)) => return OutboundDecision::Skipped { reason },
        Err(Stop::Wait(reason)) => return OutboundDecision::Waiting { reason },
    }
    b.pause_drifted_mappings();
    let errors = b.preflight();
    if !errors.is_empty() {
        return OutboundDecision::Rejected {
            errors,
            plan: b.plan,
        };
    }
    if b.plan.steps.is_empty() {
        let notes = b.plan.notes;
        return if b.plan.superseded {
            OutboundDecision::Superseded { notes }
        } else {
            OutboundDecision::NoChange { notes }
        };
    }
    let mut plan = b.plan;
    for link in plan.steps.iter_mut().filter_map(|s| s.link.as_mut()) {
        link.times.linked_by_event_at = event.occurred_at();
    }
    OutboundDecision::Write { plan }
}
