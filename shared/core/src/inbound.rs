//! Inbound decision: one Salesforce record → the change to apply to the app record.
//!
//! Per field: the sync rule decides whether Salesforce may write it, link hashes suppress
//! echoes, and the conflict policy settles fields both sides changed since the last sync.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::config::{ConflictPolicy, FieldMapping, SyncConfig};
use crate::hash::{field_hash, owner_hash};
use crate::mapping::{app_value_of_owned, hash_of_app_value};
use crate::record::SalesforceRecord;
use crate::refusal::{Refusal, RefusalRule};
use crate::transform::parse_datetime;
use crate::types::{
    AppObject, AppRecord, FieldChange, FieldMap, FieldNote, Link, LinkHashes, LinkTimes,
    OWNER_HASH_KEY, is_blank,
};

/// What to do with the app record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum InboundAction {
    /// Create an app record with these fields.
    Create { fields: FieldMap },
    /// Set these fields on the linked/matched app record.
    Update { fields: FieldMap },
    /// Nothing to apply (echo, or values already equal).
    NoChange,
    /// The record is not applied at all.
    Skipped { reason: SkipReason },
}

/// Why a whole record was skipped.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "reason", rename_all = "snake_case")]
pub enum SkipReason {
    ObjectNotEnabled {
        object: String,
    },
    WrongObjectType {
        expected: String,
        found: String,
    },
    InboundCreateDisabled,
    InboundUpdateDisabled,
    /// A required app field (e.g. phone) has no value, so no app record is created.
    MissingRequiredField {
        field: String,
    },
    /// `only_app_user_owners`: the record's owner is no app user (or it has no owner).
    OwnerNotAppUser {
        owner: Option<String>,
    },
}

/// The full inbound outcome for one record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InboundDecision {
    pub salesforce_id: String,
    pub sf_object: String,
    pub app_object: AppObject,
    pub action: InboundAction,
    /// The link hashes to store after applying `action` (Create/Update/NoChange).
    pub link_hashes: LinkHashes,
    /// Fields not carried over and why (blank, not allowed, conflict lost, bad value).
    pub notes: Vec<FieldNote>,
    /// The owner's email when no app user has it (listed as an unmapped owner).
    pub unmapped_owner_email: Option<String>,
    /// The link's change times to store with `link_hashes` ([`decide_inbound_linked`]).
    #[serde(default)]
    pub link_times: LinkTimes,
    /// Salesforce changes a rule refused that the app has not been told about yet
    /// ([`crate::refusal`]; `link_times.refused` remembers them once told).
    #[serde(default)]
    pub refusals: Vec<Refusal>,
}

/// A record the core cannot read at all.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InboundError {
    #[error("Salesforce record has no string `Id`")]
    MissingId,
}

enum Outcome {
    /// Write this app value; store `hash`.
    Apply(Value, String),
    /// App already equal: store `hash`, write nothing.
    Same(String),
    /// Echo of the last sync: nothing.
    Echo,
    /// Conflict lost by Salesforce: keep the old hash.
    AppWins,
}

struct Ctx<'a> {
    policy: ConflictPolicy,
    sf_modified: Option<DateTime<Utc>>,
    app_record: Option<&'a AppRecord>,
    /// The link's change times and the poll's time, when judged without an app record.
    linked: Option<(&'a LinkTimes, DateTime<Utc>)>,
}

impl Ctx<'_> {
    /// A Salesforce change `key` that is no echo: the link's times settle it without an
    /// app record; with one, its values do.
    fn resolve_change(
        &self,
        key: &str,
        new_hash: String,
        link_hash: Option<&String>,
        app_hash: Option<String>,
        app_value: Value,
    ) -> Outcome {
        match self.linked {
            Some((times, _)) if self.app_record.is_none() && link_hash != Some(&new_hash) => {
                let app = times.app.get(key);
                if crate::conflict::salesforce_change_applies(self.policy, self.sf_modified, app) {
                    Outcome::Apply(app_value, new_hash)
                } else {
                    Outcome::AppWins
                }
            }
            _ => self.resolve(new_hash, link_hash, app_hash, app_value),
        }
    }

    /// The time to store for an applied Salesforce change.
    fn sf_change(&self) -> Option<FieldChange> {
        self.linked.map(|(_, now)| FieldChange {
            at: self.sf_modified.unwrap_or(now),
            synced_at: now,
        })
    }

    fn resolve(
        &self,
        new_hash: String,
        link_hash: Option<&String>,
        app_hash: Option<String>,
        app_value: Value,
    ) -> Outcome {
        if link_hash == Some(&new_hash) {
            return Outcome::Echo;
        }
        if app_hash.as_ref() == Some(&new_hash) {
            return Outcome::Same(new_hash);
        }
        let app_changed = match (&app_hash, link_hash) {
            (Some(a), Some(l)) => a != l,
            // Unlinked (first match): a non-blank app value differs from Salesforce.
            (Some(a), None) => *a != field_hash(crate::transform::FieldKind::String, &Value::Null),
            (None, _) => false,
        };
        if !app_changed {
            return Outcome::Apply(app_value, new_hash);
        }
        let crm_wins = match self.policy {
            ConflictPolicy::CrmWins => true,
            ConflictPolicy::AppWins => false,
            ConflictPolicy::MostRecent => match (
                self.sf_modified,
                self.app_record.and_then(|a| a.modified_at),
            ) {
                (Some(sf), Some(app)) => sf >= app,
                (_, None) => true,
                (None, Some(_)) => false,
            },
        };
        if crm_wins {
            Outcome::Apply(app_value, new_hash)
        } else {
            Outcome::AppWins
        }
    }
}

fn allowed(m: &FieldMapping, v: &Value) -> bool {
    let Some(allow) = &m.inbound_allow else {
        return true;
    };
    let ok = |s: &Value| matches!(s, Value::String(s) if allow.iter().any(|a| a == s));
    match v {
        Value::Null => false,
        Value::Array(items) => items.iter().all(ok),
        other => ok(other),
    }
}

/// Decide what one Salesforce record means for the app.
///
/// `link` holds the hashes of what was last synced (None when unlinked); `app_record` is the
/// linked or matched app record, when there is one.
pub fn decide_inbound<R: SalesforceRecord + ?Sized>(
    config: &SyncConfig,
    sf_object: &str,
    record: &R,
    link: Option<&LinkHashes>,
    app_record: Option<&AppRecord>,
) -> Result<InboundDecision, InboundError> {
    decide(config, sf_object, record, link, app_record, None)
}

/// [`decide_inbound`] as the poll runs it: no app record, but the link's change times, so
/// the conflict policy and `keep_owner_field` apply ([`crate::conflict`]). `now` is when
/// the poll carries the change to the app; the decision's `link_times` are what to store.
pub fn decide_inbound_linked<R: SalesforceRecord + ?Sized>(
    config: &SyncConfig,
    sf_object: &str,
    record: &R,
    link: Option<&Link>,
    now: DateTime<Utc>,
) -> Result<InboundDecision, InboundError> {
    let empty = LinkTimes::default();
    let times = link.map_or(&empty, |l| &l.times);
    decide(
        config,
        sf_object,
        record,
        link.map(|l| &l.hashes),
        None,
        Some((times, now)),
    )
}

fn decide<R: SalesforceRecord + ?Sized>(
    config: &SyncConfig,
    sf_object: &str,
    record: &R,
    link: Option<&LinkHashes>,
    app_record: Option<&AppRecord>,
    linked: Option<(&LinkTimes, DateTime<Utc>)>,
) -> Result<InboundDecision, InboundError> {
    let stored_times = linked.map(|(t, _)| t.clone()).unwrap_or_default();
    let salesforce_id = record
        .string("Id")
        .filter(|s| !s.is_empty())
        .ok_or(InboundError::MissingId)?;
    let skipped = |app_object, reason| InboundDecision {
        salesforce_id: salesforce_id.clone(),
        sf_object: sf_object.to_string(),
        app_object,
        action: InboundAction::Skipped { reason },
        link_hashes: link.cloned().unwrap_or_default(),
        notes: Vec::new(),
        unmapped_owner_email: None,
        link_times: stored_times.clone(),
        refusals: Vec::new(),
    };
    let Some(obj) = config.object(sf_object) else {
        let app_object =
            crate::config::expected_app_object(sf_object).unwrap_or(AppObject::Contact);
        return Ok(skipped(
            app_object,
            SkipReason::ObjectNotEnabled {
                object: sf_object.to_string(),
            },
        ));
    };
    if record.object_type_is(sf_object) == Some(false)
        && let Some(found) = record.object_type()
    {
        return Ok(skipped(
            obj.app_object,
            SkipReason::WrongObjectType {
                expected: sf_object.to_string(),
                found,
            },
        ));
    }
    // Only the most-recent policy with an app record to compare needs the timestamp.
    let needs_time = (app_record.is_some() && config.conflict_policy == ConflictPolicy::MostRecent)
        || linked.is_some();
    let sf_modified = if needs_time {
        record
            .string("LastModifiedDate")
            .or_else(|| record.string("SystemModstamp"))
            .and_then(|s| parse_datetime(&s))
    } else {
        None
    };
    let ctx = Ctx {
        policy: config.conflict_policy,
        sf_modified,
        app_record,
        linked,
    };
    let mut hashes = link.cloned().unwrap_or_default();
    let mut times = stored_times.clone();
    let mut fields = FieldMap::new();
    let mut notes = Vec::new();
    let mut refusals = Vec::new();

    for m in obj.fields.iter().filter(|m| m.rule.inbound()) {
        let Some(sf_value) = record.field(&m.salesforce_field) else {
            continue;
        };
        if is_blank(&sf_value) && m.rule == crate::config::SyncRule::SalesforceUnlessBlank {
            continue;
        }
        let new_hash = field_hash(m.kind, &sf_value);
        if times.pending.get(&m.salesforce_field) == Some(&new_hash) {
            // crmsync's own write landed though its link update did not: the value is the
            // app's, so it is the new baseline, not a Salesforce change to report.
            hashes.insert(m.salesforce_field.clone(), new_hash);
            times.pending.remove(&m.salesforce_field);
            continue;
        }
        if link.is_some()
            && app_record.is_none()
            && is_blank(&sf_value)
            && !hashes.contains_key(&m.salesforce_field)
        {
            // Linked, never synced, still blank: the app was not told a value, so there is
            // nothing to clear (a pushed record comes back with its unsent fields empty).
            hashes.insert(m.salesforce_field.clone(), new_hash);
            continue;
        }
        let converted = if is_blank(&sf_value) {
            Ok(Value::Null)
        } else {
            app_value_of_owned(config, m, sf_value)
        };
        let app_value = match converted {
            Ok(v) => v,
            Err(e) => {
                notes.push(FieldNote::new(
                    &m.salesforce_field,
                    format!("not applied: {e}"),
                ));
                continue;
            }
        };
        if m.inbound_allow.is_some() && !allowed(m, &app_value) {
            let allow = m.inbound_allow.as_deref().unwrap_or_default().join(", ");
            refusals.push(Refusal {
                field: m.salesforce_field.clone(),
                app_field: m.app_field.clone(),
                rule: RefusalRule::InboundAllow,
                setting: format!("accepted: {allow}"),
                value: app_value.clone(),
                key: m.salesforce_field.clone(),
                hash: new_hash.clone(),
            });
            notes.push(FieldNote::new(
                &m.salesforce_field,
                format!(
                    "value {app_value} is not accepted from Salesforce for `{}`",
                    m.app_field
                ),
            ));
            continue;
        }
        let app_hash = app_record.map(|a| {
            let current = a.fields.get(&m.app_field).cloned().unwrap_or(Value::Null);
            hash_of_app_value(config, m, &current).unwrap_or_default()
        });
        match ctx.resolve_change(
            &m.salesforce_field,
            new_hash,
            hashes.get(&m.salesforce_field),
            app_hash,
            app_value,
        ) {
            Outcome::Apply(v, h) => {
                fields.insert(m.app_field.clone(), v);
                hashes.insert(m.salesforce_field.clone(), h);
                if let Some(c) = ctx.sf_change() {
                    times.salesforce.insert(m.salesforce_field.clone(), c);
                }
            }
            Outcome::Same(h) => {
                hashes.insert(m.salesforce_field.clone(), h);
            }
            Outcome::Echo => {}
            Outcome::AppWins => {
                // Rare: read the value again rather than keep a copy of every field's.
                let value = record.field(&m.salesforce_field).unwrap_or(Value::Null);
                refusals.push(Refusal {
                    field: m.salesforce_field.clone(),
                    app_field: m.app_field.clone(),
                    rule: RefusalRule::ConflictPolicy,
                    setting: ctx.policy.as_str().to_string(),
                    hash: field_hash(m.kind, &value),
                    value,
                    key: m.salesforce_field.clone(),
                });
                notes.push(FieldNote::new(
                    &m.salesforce_field,
                    "conflict: the app's newer value is kept",
                ))
            }
        }
    }
    if link.is_some() {
        refusals.extend(app_only_changes(obj, record, &hashes, &times));
    }

    let mut unmapped_owner_email = None;
    let owners = &config.owners;
    if owners.enabled
        && owners.rule.inbound()
        && sf_object != "User"
        && let Some(email) = record
            .string("Owner.Email")
            .filter(|e| !e.trim().is_empty())
    {
        let app_user = match owners.app_user_for_email(&email) {
            Some(id) => Some(id.to_string()),
            None => {
                unmapped_owner_email = Some(email.clone());
                owners.default_owner.clone()
            }
        };
        let new_hash = owner_hash(&email);
        let app_hash = app_record.map(|a| match a.fields.get(&owners.app_field) {
            Some(Value::String(id)) => owners
                .email_for_app_user(id)
                .map(owner_hash)
                .unwrap_or_else(|| owner_hash(id)),
            _ => field_hash(crate::transform::FieldKind::String, &Value::Null),
        });
        // The app's flag: from its record when given, else as its last event left it.
        let owner_locked = owners.keep_owner_field.as_ref().is_some_and(|f| {
            app_record.is_some_and(|a| a.fields.get(f) == Some(&Value::Bool(true)))
                || (app_record.is_none() && times.owner_locked == Some(true))
        });
        if let Some(app_user) = app_user {
            let refusal = |rule, setting: String| Refusal {
                field: "OwnerId".into(),
                app_field: owners.app_field.clone(),
                rule,
                setting,
                value: Value::String(email.clone()),
                key: OWNER_HASH_KEY.into(),
                hash: owner_hash(&email),
            };
            match ctx.resolve_change(
                OWNER_HASH_KEY,
                new_hash,
                hashes.get(OWNER_HASH_KEY),
                app_hash,
                Value::String(app_user),
            ) {
                Outcome::Apply(_, _) if owner_locked => {
                    let flag = owners.keep_owner_field.clone().unwrap_or_default();
                    refusals.push(refusal(RefusalRule::KeepOwnerField, flag));
                    notes.push(FieldNote::new(
                        OWNER_HASH_KEY,
                        "owner change refused: the app record has future scheduled events",
                    ))
                }
                Outcome::Apply(v, h) => {
                    fields.insert(owners.app_field.clone(), v);
                    hashes.insert(OWNER_HASH_KEY.to_string(), h);
                    if let Some(c) = ctx.sf_change() {
                        times.salesforce.insert(OWNER_HASH_KEY.to_string(), c);
                    }
                }
                Outcome::Same(h) => {
                    hashes.insert(OWNER_HASH_KEY.to_string(), h);
                }
                Outcome::Echo => {}
                Outcome::AppWins => {
                    let policy = ctx.policy.as_str().to_string();
                    refusals.push(refusal(RefusalRule::ConflictPolicy, policy));
                    notes.push(FieldNote::new(
                        OWNER_HASH_KEY,
                        "conflict: the app's newer owner is kept",
                    ))
                }
            }
        } else {
            notes.push(FieldNote::new(
                OWNER_HASH_KEY,
                format!("owner {email} has no app user and no default owner is set"),
            ));
        }
    }

    let creating = link.is_none() && app_record.is_none();
    for (k, v) in &obj.app_defaults {
        let differs = app_record.is_some_and(|a| a.fields.get(k) != Some(v));
        if creating || (differs && !fields.is_empty()) {
            fields.insert(k.clone(), v.clone());
        }
    }

    let action = if creating {
        let missing = config
            .required_app_fields
            .get(&obj.app_object)
            .and_then(|req| req.iter().find(|f| fields.get(*f).is_none_or(is_blank)));
        let owner_email = record
            .string("Owner.Email")
            .filter(|e| !e.trim().is_empty());
        let owned_by_app_user = owner_email
            .as_deref()
            .is_some_and(|e| owners.app_user_for_email(e).is_some());
        if !obj.inbound.create {
            InboundAction::Skipped {
                reason: SkipReason::InboundCreateDisabled,
            }
        } else if obj.only_app_user_owners && !owned_by_app_user {
            InboundAction::Skipped {
                reason: SkipReason::OwnerNotAppUser { owner: owner_email },
            }
        } else if let Some(field) = missing {
            InboundAction::Skipped {
                reason: SkipReason::MissingRequiredField {
                    field: field.clone(),
                },
            }
        } else {
            InboundAction::Create { fields }
        }
    } else if fields.is_empty() {
        InboundAction::NoChange
    } else if !obj.inbound.update {
        InboundAction::Skipped {
            reason: SkipReason::InboundUpdateDisabled,
        }
    } else {
        InboundAction::Update { fields }
    };
    let refusals = if matches!(action, InboundAction::Skipped { .. }) {
        hashes = link.cloned().unwrap_or_default();
        times = stored_times;
        Vec::new()
    } else {
        let untold = crate::refusal::untold(refusals.clone(), &stored_times.refused);
        times.refused = crate::refusal::remembered(&refusals);
        untold
    };
    Ok(InboundDecision {
        salesforce_id,
        sf_object: sf_object.to_string(),
        app_object: obj.app_object,
        action,
        link_hashes: hashes,
        notes,
        unmapped_owner_email,
        link_times: times,
        refusals,
    })
}

/// Salesforce changes to `app_only` fields of a linked record: the value differs from the
/// one crmsync last wrote (and is not a write of crmsync's still pending).
fn app_only_changes<R: SalesforceRecord + ?Sized>(
    obj: &crate::config::ObjectConfig,
    record: &R,
    hashes: &LinkHashes,
    times: &LinkTimes,
) -> Vec<Refusal> {
    let mut out = Vec::new();
    for m in obj
        .fields
        .iter()
        .filter(|m| m.rule == crate::config::SyncRule::AppOnly)
    {
        let Some(value) = record.field(&m.salesforce_field) else {
            continue;
        };
        let hash = field_hash(m.kind, &value);
        let last = hashes.get(&m.salesforce_field);
        if last.is_none_or(|l| *l == hash) || times.pending.get(&m.salesforce_field) == Some(&hash)
        {
            continue;
        }
        out.push(Refusal {
            field: m.salesforce_field.clone(),
            app_field: m.app_field.clone(),
            rule: RefusalRule::AppOnly,
            setting: "app_only".into(),
            value,
            key: m.salesforce_field.clone(),
            hash,
        });
    }
    out
}

/// What unlinking an app record from a deleted Salesforce record clears: the app fields
/// whose values only come from Salesforce (rule `salesforce_unless_blank`) and the stored
/// Salesforce ids. Two-way and app-only fields are app data too and are kept.
pub fn fields_cleared_on_delete(config: &SyncConfig, sf_object: &str) -> Vec<String> {
    let mut out: Vec<String> = config
        .objects
        .get(sf_object)
        .map(|o| {
            o.fields
                .iter()
                .filter(|m| m.rule == crate::config::SyncRule::SalesforceUnlessBlank)
                .map(|m| m.app_field.clone())
                .collect()
        })
        .unwrap_or_default();
    let lr = &config.lead_routing;
    match sf_object {
        "Contact" => out.push(lr.contact_id_field.clone()),
        "Lead" => out.push(lr.lead_id_field.clone()),
        _ => {}
    }
    out.sort();
    out.dedup();
    out
}
