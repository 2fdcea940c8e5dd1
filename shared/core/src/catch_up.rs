//! The inbound decision a push makes when it reads its linked records before writing
//! (the service's `push::catch_up`): as a poll's, but counting the app changes the push is
//! about to write (`pending`, Salesforce field → change).
//!
//! A pending change that the conflict policy will refuse (`most_recent`: not newer than
//! Salesforce's last change; `crm_wins`: made before that change reached the app) leaves
//! the app holding its own value while Salesforce keeps its one. Unless the change feed
//! delivered Salesforce's value after the app made its change (the app then holds it
//! already), the decision restates Salesforce's value to the app, so both sides converge
//! (sim `+rules+contested`, e.g. a `most_recent` tie). The owner ([`OWNER_HASH_KEY`]) is
//! judged and told back the same way, except to a record that keeps its owner
//! (`owners.keep_owner_field`).

use std::collections::BTreeMap;

use chrono::{DateTime, TimeDelta, Utc};
use serde_json::Value;

use crate::config::{
    ConflictPolicy, FieldMapping, ObjectConfig, OwnerMapping, SyncConfig, SyncRule,
};
use crate::conflict::app_change_applies;
use crate::event::AppEvent;
use crate::hash::owner_hash;
use crate::inbound::{InboundAction, InboundDecision, InboundError, decide_inbound_linked};
use crate::mapping::app_value_of_owned;
use crate::record::SalesforceRecord;
use crate::types::{FieldChange, FieldNote, Link, OWNER_HASH_KEY, is_blank};

/// The note on a Salesforce value told back to the app because its own change lost.
pub const RESTATED_NOTE: &str =
    "restated: the app's change is refused (conflict_policy); Salesforce's value stands";

/// [`decide_inbound_linked`] with the app's not yet written changes `pending` counted as
/// if made (they are not stored: the push stamps them when it writes them), and
/// Salesforce's value restated for each one the push will refuse.
pub fn decide_inbound_catching_up<R: SalesforceRecord + ?Sized>(
    config: &SyncConfig,
    sf_object: &str,
    record: &R,
    link: Option<&Link>,
    pending: &BTreeMap<String, FieldChange>,
    now: DateTime<Utc>,
) -> Result<InboundDecision, InboundError> {
    let mut judged = link.cloned();
    if let Some(l) = judged.as_mut() {
        for (key, change) in pending {
            let newer = l.times.app.get(key).is_none_or(|c| c.at < change.at);
            if newer {
                l.times.app.insert(key.clone(), *change);
            }
        }
    }
    let mut decision = decide_inbound_linked(config, sf_object, record, judged.as_ref(), now)?;
    let Some(link) = link else {
        return Ok(decision);
    };
    if config.conflict_policy == ConflictPolicy::CrmWins {
        reached_after_pending(&mut decision.link_times, pending, now);
    }
    decision.link_times.app = link.times.app.clone();
    let Some(obj) = config.object(sf_object) else {
        return Ok(decision);
    };
    let mut restated = crate::types::FieldMap::new();
    for (key, change) in pending {
        let Some(told) = Told::of(config, obj, key, link) else {
            continue;
        };
        let applied = match &decision.action {
            InboundAction::Update { fields } => fields.contains_key(told.app_field()),
            InboundAction::NoChange => false,
            InboundAction::Create { .. } | InboundAction::Skipped { .. } => return Ok(decision),
        };
        if applied {
            continue;
        }
        let sf = decision.link_times.salesforce.get(key);
        let refused = !app_change_applies(config.conflict_policy, change.at, sf);
        // Delivered after the app's change, and nothing told back since: the app applied it
        // over its own already. A delivery dated just after a change made in its own clock
        // tick ([`reached_after_pending`]) may have come before it: told again (people seed 58 of
        // `+rules+contested` under `--rules crm_wins`).
        let told_back = link.times.fed.get(key);
        let app_has_it = sf.is_some_and(|s| {
            s.synced_at > change.at + AFTER_PENDING && told_back.is_none_or(|t| s.synced_at >= *t)
        });
        if !refused || app_has_it {
            continue;
        }
        let Some(value) = told.value(config, record) else {
            continue;
        };
        restated.insert(told.app_field().to_string(), value);
        decision.link_times.fed.insert(key.clone(), now);
        decision.notes.push(FieldNote::new(key, RESTATED_NOTE));
    }
    if restated.is_empty() {
        return Ok(decision);
    }
    match &mut decision.action {
        InboundAction::Update { fields } => fields.extend(restated),
        action => *action = InboundAction::Update { fields: restated },
    }
    Ok(decision)
}

/// How much after the pending changes a catch-up read's delivery is dated under `crm_wins`.
const AFTER_PENDING: TimeDelta = TimeDelta::nanoseconds(1);

/// Under `crm_wins`, a Salesforce change this read delivers (`synced_at` = `now`) reached
/// the app after every pending change: those were queued before the read. With a coarse
/// clock one may be stamped `now` (or later, by the app's clock), and a tie counts as made
/// after the delivery (people seed 2997), which would write it over Salesforce's change
/// (sim deals seed 40356 of `full+rules+contested+owners+toggles+activities`). So the
/// delivery is dated just after the latest such pending change.
fn reached_after_pending(
    times: &mut crate::types::LinkTimes,
    pending: &BTreeMap<String, FieldChange>,
    now: DateTime<Utc>,
) {
    for (key, change) in pending {
        if let Some(sf) = times.salesforce.get_mut(key)
            && sf.synced_at == now
            && change.at >= sf.synced_at
        {
            sf.synced_at = change.at + AFTER_PENDING;
        }
    }
}

/// The changes `event` (made at `change.at`) makes to its linked record `link` of `obj`,
/// by Salesforce field: each two-way mapped field it carries and, owners two-way, the
/// owner of its own record ([`OWNER_HASH_KEY`]) unless it is the owner the link last
/// synced. Such an echo the push leaves out, so it is no change: a sale carrying the
/// contact's unchanged owner must not refuse a Salesforce user's reassignment (sim
/// `+owners` deals seed 3057). A mapped field counts even when it echoes: the read it
/// causes is what catches up a Lead the batch converts (without it deals seeds 108, 196 of
/// `full+owners` lost a Salesforce user's unpolled Title edit of the converted Lead).
pub fn pending_changes(
    config: &SyncConfig,
    obj: &ObjectConfig,
    event: &AppEvent,
    link: &Link,
    change: FieldChange,
) -> BTreeMap<String, FieldChange> {
    let mut out: BTreeMap<String, FieldChange> = obj
        .fields
        .iter()
        .filter(|m| m.rule == SyncRule::TwoWay && event.fields.contains_key(&m.app_field))
        .map(|m| (m.salesforce_field.clone(), change))
        .collect();
    let owners = &config.owners;
    let email = match event.fields.get(&owners.app_field) {
        Some(Value::String(app_user)) => owners.email_for_app_user(app_user),
        _ => None,
    };
    if owners.enabled
        && owners.rule == SyncRule::TwoWay
        && obj.app_object == event.app_object
        && let Some(email) = email
        && link.hashes.get(OWNER_HASH_KEY) != Some(&owner_hash(email))
    {
        out.insert(OWNER_HASH_KEY.to_string(), change);
    }
    out
}

/// A pending change's field as the app knows it: a mapped field, or the owner
/// ([`OWNER_HASH_KEY`], people seeds 42, 168, 250 of `+owners`).
enum Told<'a> {
    Mapped(&'a FieldMapping),
    Owner(&'a OwnerMapping),
}

impl<'a> Told<'a> {
    /// `key`'s field when Salesforce's value of it reaches the app: an inbound mapping, or
    /// owners pulled onto a record that does not keep its owner (`keep_owner_field`).
    fn of(config: &'a SyncConfig, obj: &'a ObjectConfig, key: &str, link: &Link) -> Option<Self> {
        if key == OWNER_HASH_KEY {
            let owners = &config.owners;
            let keeps = owners.keep_owner_field.is_some() && link.times.owner_locked == Some(true);
            return (owners.enabled && owners.rule.inbound() && !keeps)
                .then_some(Told::Owner(owners));
        }
        obj.fields
            .iter()
            .find(|m| m.rule.inbound() && m.salesforce_field == key)
            .map(Told::Mapped)
    }

    fn app_field(&self) -> &'a str {
        match self {
            Told::Mapped(m) => &m.app_field,
            Told::Owner(o) => &o.app_field,
        }
    }

    /// Salesforce's value as the app's (`None`: not convertible, or no app user).
    fn value<R: SalesforceRecord + ?Sized>(
        &self,
        config: &SyncConfig,
        record: &R,
    ) -> Option<Value> {
        match self {
            Told::Mapped(m) => {
                let sf_value = record.field(&m.salesforce_field)?;
                if is_blank(&sf_value) {
                    return Some(Value::Null);
                }
                app_value_of_owned(config, m, sf_value).ok()
            }
            Told::Owner(o) => {
                let email = record.string(OWNER_HASH_KEY)?;
                let user = o.app_user_for_email(&email).map(str::to_string);
                user.or_else(|| o.default_owner.clone()).map(Value::String)
            }
        }
    }
}
