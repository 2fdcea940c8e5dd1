//! The inbound decision a push makes when it reads its linked records before writing
//! (the service's `push::catch_up`): as a poll's, but counting the app changes the push is
//! about to write (`pending`, Salesforce field → change).
//!
//! A pending change that the conflict policy will refuse (`most_recent`: not newer than
//! Salesforce's last change; `crm_wins`: made before that change reached the app) leaves
//! the app holding its own value while Salesforce keeps its one. Unless the change feed
//! delivered Salesforce's value after the app made its change (the app then holds it
//! already), the decision restates Salesforce's value to the app, so both sides converge
//! (sim `+rules+contested`, e.g. a `most_recent` tie).

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde_json::Value;

use crate::config::SyncConfig;
use crate::conflict::app_change_applies;
use crate::inbound::{InboundAction, InboundDecision, InboundError, decide_inbound_linked};
use crate::mapping::app_value_of_owned;
use crate::record::SalesforceRecord;
use crate::types::{FieldChange, FieldNote, Link, is_blank};

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
    decision.link_times.app = link.times.app.clone();
    let Some(obj) = config.object(sf_object) else {
        return Ok(decision);
    };
    let mut restated = crate::types::FieldMap::new();
    for (key, change) in pending {
        let Some(m) = obj
            .fields
            .iter()
            .find(|m| m.rule.inbound() && &m.salesforce_field == key)
        else {
            continue;
        };
        let applied = match &decision.action {
            InboundAction::Update { fields } => fields.contains_key(&m.app_field),
            InboundAction::NoChange => false,
            InboundAction::Create { .. } | InboundAction::Skipped { .. } => return Ok(decision),
        };
        if applied {
            continue;
        }
        let sf = decision.link_times.salesforce.get(key);
        let refused = !app_change_applies(config.conflict_policy, change.at, sf);
        // Delivered after the app's change, and nothing told back since: the app applied it
        // over its own already.
        let told_back = link.times.fed.get(key);
        let app_has_it = sf.is_some_and(|s| {
            s.synced_at > change.at && told_back.is_none_or(|t| s.synced_at >= *t)
        });
        if !refused || app_has_it {
            continue;
        }
        let Some(sf_value) = record.field(key) else {
            continue;
        };
        let value = if is_blank(&sf_value) {
            Value::Null
        } else {
            match app_value_of_owned(config, m, sf_value) {
                Ok(v) => v,
                Err(_) => continue,
            }
        };
        restated.insert(m.app_field.clone(), value);
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
