//! Creates as upserts by crmsync's key (issue 12): where provisioning found
//! `Crmsync_App_Id__c` writable on an object (`Connection.provisioning.key_objects`), every
//! record crmsync would create there is upserted by it instead, keyed
//! `<app_object>:<app_id>` (a sale's line items `<event_id>:<item index>`, a person's
//! Opportunities `<event_id>:Opportunity`: a person has one per demo set), so a repeat
//! (a redelivery, or a commit whose response was lost) updates the record instead of
//! creating a second one. Matching tries the key first: the keys are folded into the
//! chunk's matching queries ([`super::prefetch`]), and a record found by its key is
//! written and linked without an email/phone guess. Without provisioning (never run,
//! refused, or the field not writable) nothing here applies.
//!
//! Salesforce behaviour relied on (REST API Developer Guide):
//! - "Upsert Records Using sObject Rows by External ID": `PATCH
//!   sobjects/{Object}/{Field}/{value}` creates (201, `created: true`) when no record has
//!   the value, updates the one that has it (200 with `created: false` from API 46.0; 204
//!   before), and answers 300 with the matching records when several have it. "Do not
//!   specify Id or an external ID field in the request body": the key goes in the URL only.
//!   A unique external id needs no extra permission (a non-unique one needs View All Data).
//! - "Upsert Records Using sObject Collections" (API 46.0+): `PATCH
//!   composite/sobjects/{Object}/{ExternalIdField}` with up to 200 records of that one
//!   type, each with `attributes.type` and its key value, and no `Id`; 200 OK with one
//!   UpsertResult (`id`, `success`, `errors`, `created`) per record, in request order.
//! - A composite graph node may be any sObject request, an upsert URL included; its body
//!   answers as the single upsert does, so `id` is there whether it created or updated.
//! - Custom field matching is case-sensitive unless the field is Unique and case
//!   insensitive (Apex Developer Guide, "Upserting Records"); the key field is provisioned
//!   case-sensitive, and keys found by the matching query are compared exactly.
//!
//! crmsync sends API 62.0 (`CRMSYNC_SF_API_VERSION`), past the 46.0 these need.

use std::collections::{BTreeMap, BTreeSet};

use crmsync_core::config::SyncConfig;
use crmsync_core::describe::ObjectDescribe;
use crmsync_core::matching::Lookup;
use crmsync_core::outbound::{WriteOp, WritePlan, WriteStep};
use crmsync_core::provision::{KEY_FIELD, event_record_key, line_item_key, record_key};
use crmsync_core::types::AppObject;
use crmsync_salesforce::soql::{Condition, SoqlBuilder};
use crmsync_salesforce::{SfClient, SfError};
use crmsync_store::{Connection, ProvisioningState};
use futures::StreamExt;
use serde_json::{Map, Value};

use super::prefetch::Prefetched;
use super::steps::{self, Resolved};
use crate::error::ServiceError;

const LINE_ITEM: &str = "OpportunityLineItem";

/// The objects whose creates upsert by crmsync's key on one connection.
#[derive(Debug, Clone, Default)]
pub(super) struct Keyed {
    objects: BTreeSet<String>,
}

impl Keyed {
    /// From the connection's last provisioning run: its `key_objects` unless it was refused.
    pub fn of(conn: &Connection) -> Self {
        let objects = match &conn.provisioning {
            Some(p) if p.state != ProvisioningState::Refused => {
                p.key_objects.iter().cloned().collect()
            }
            _ => BTreeSet::new(),
        };
        Self { objects }
    }

    /// Per step of `plan`, the key its create upserts by (`None`: not a keyed create).
    pub fn keys(&self, plan: &WritePlan, event_id: &str) -> Vec<Option<String>> {
        let mut line = 0;
        plan.steps
            .iter()
            .map(|step| {
                let index = line;
                if step.object == LINE_ITEM {
                    line += 1;
                }
                if !self.objects.contains(&step.object) || !creates(step) {
                    return None;
                }
                match &step.link {
                    // A person can have several Opportunities (each demo set makes one):
                    // only a deal's is its app record's; a person's is its event's.
                    Some(l) if step.object == "Opportunity" && l.app_object != AppObject::Deal => {
                        Some(event_record_key(event_id, "Opportunity"))
                    }
                    Some(l) => Some(record_key(l.app_object.as_str(), &l.app_id)),
                    None if step.object == LINE_ITEM => Some(line_item_key(event_id, index)),
                    None => None,
                }
            })
            .collect()
    }
}

/// A step that may create: a plain create, or a match that creates when nothing matches.
/// (An upsert by the config's own external id field keeps that field.)
fn creates(step: &WriteStep) -> bool {
    matches!(
        step.op,
        WriteOp::Create | WriteOp::MatchThenWrite { create: true, .. }
    )
}

/// The key lookups to fold into the chunk's matching queries: one per keyed step whose
/// matcher queries anyway (a step that does not match is left to the upsert itself).
pub(super) fn key_lookups(steps: &[WriteStep], keys: &[Option<String>]) -> Vec<Lookup> {
    steps
        .iter()
        .zip(keys)
        .filter(|(step, _)| !steps::known_lookups(step).is_empty())
        .filter_map(|(step, key)| {
            Some(Lookup {
                object: step.object.clone(),
                conditions: vec![(KEY_FIELD.to_string(), key.clone()?)],
                fields: vec!["Id".into(), KEY_FIELD.into()],
            })
        })
        .collect()
}

/// Key values by object, from [`key_lookups`].
pub(super) fn keys_by_object(keys: &[Lookup]) -> BTreeMap<String, BTreeSet<String>> {
    let mut out: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for lookup in keys {
        if let [(_, key)] = lookup.conditions.as_slice() {
            out.entry(lookup.object.clone())
                .or_default()
                .insert(key.clone());
        }
    }
    out
}

/// `Crmsync_App_Id__c IN (…)` for `object`'s keys, once per object (the first matching
/// query of the object takes them); `None` when it has none or its describe (as this
/// instance cached it) does not show the field.
pub(super) fn take_keys(
    keys: &mut BTreeMap<String, BTreeSet<String>>,
    object: &str,
    describe: &ObjectDescribe,
) -> Option<Condition> {
    describe.field(KEY_FIELD)?;
    let values = keys.remove(object)?;
    Some(Condition::in_list(KEY_FIELD, values))
}

/// The (object, key) → id of each row that carries a key.
pub(super) fn found_keys(
    object: &str,
    rows: &[Map<String, Value>],
) -> Vec<((String, String), String)> {
    rows.iter()
        .filter_map(|r| {
            let key = r.get(KEY_FIELD)?.as_str()?;
            let id = r.get("Id")?.as_str()?;
            Some(((object.to_string(), key.to_string()), id.to_string()))
        })
        .collect()
}

/// Where a step writes, trying its key first: a record found by the key is the step's
/// record (no email/phone guess); else the step's own matching.
pub(super) async fn resolve(
    client: &SfClient,
    config: &SyncConfig,
    step: &WriteStep,
    key: Option<&str>,
    ids: &[Option<String>],
    pre: &Prefetched,
) -> Result<Resolved, ServiceError> {
    if let Some(id) = key.and_then(|k| pre.by_key(&step.object, k)) {
        return Ok(Resolved::Existing(id));
    }
    steps::resolve(client, config, step, ids, pre).await
}

/// A redelivered multi-step plan (a sale, a demo set): its keyed steps' records, read by
/// key (one query per object). A record keyed by this event (a person's Opportunity, a
/// line item) was committed by the earlier attempt with these very fields: adopted, not
/// written again (an upsert would update it, and `ContactId` or `PricebookEntryId` can
/// only be set on create: `INVALID_FIELD_FOR_INSERT_UPDATE`). A record keyed by its app
/// record is the step's record, written as an update.
pub(super) async fn adopt_keyed(
    client: &SfClient,
    steps: &[WriteStep],
    keys: &[Option<String>],
    event_id: &str,
    known: &mut [Option<String>],
    adopted: &mut [bool],
) -> Result<(), ServiceError> {
    let mut wanted: BTreeMap<&str, BTreeSet<String>> = BTreeMap::new();
    for (i, (step, key)) in steps.iter().zip(keys).enumerate() {
        if let (None, Some(key)) = (&known[i], key) {
            wanted.entry(&step.object).or_default().insert(key.clone());
        }
    }
    let mut found: BTreeMap<(String, String), String> = BTreeMap::new();
    for (object, values) in wanted {
        let describe = client.describe(object).await?;
        if describe.field(KEY_FIELD).is_none() {
            continue;
        }
        let soql = SoqlBuilder::new(&describe)
            .select(["Id", KEY_FIELD])
            .filter(Condition::in_list(KEY_FIELD, values))
            .build()
            .map_err(SfError::from)?;
        let mut pages = client.query(soql);
        while let Some(page) = pages.next().await {
            let rows: Vec<Map<String, Value>> =
                page?.records.into_iter().map(|r| r.fields).collect();
            found.extend(found_keys(object, &rows));
        }
    }
    let own = format!("{event_id}:");
    for (i, (step, key)) in steps.iter().zip(keys).enumerate() {
        let Some(key) = key else { continue };
        if known[i].is_some() {
            continue;
        }
        if let Some(id) = found.get(&(step.object.clone(), key.clone())) {
            known[i] = Some(id.clone());
            adopted[i] = key.starts_with(&own);
        }
    }
    Ok(())
}

/// Whether an upsert of `fields` can also update: an upsert that finds its record updates
/// it, and a create-only field (`Opportunity.ContactId`, `Task.TaskSubtype`) then fails
/// it with `INVALID_FIELD_FOR_INSERT_UPDATE`. A single create carrying one stays a plain
/// create (the fallback: a redelivery reads back first). Describes are cached: no call.
pub(super) async fn can_update(
    client: &SfClient,
    object: &str,
    fields: &Map<String, Value>,
) -> Result<bool, ServiceError> {
    let describe = client.describe(object).await?;
    Ok(fields
        .keys()
        .all(|k| describe.field(k).is_none_or(|f| f.updateable)))
}

/// A keyed create's record for a collections upsert: its fields and its key.
pub(super) fn keyed_fields(
    mut fields: serde_json::Map<String, Value>,
    key: &str,
) -> serde_json::Map<String, Value> {
    fields.insert(KEY_FIELD.into(), Value::String(key.to_string()));
    fields
}

#[cfg(test)]
mod tests {
    use super::*;
    use crmsync_core::outbound::{LinkUpdate, Matcher};

    fn step(object: &str, op: WriteOp, link: Option<(AppObject, &str)>) -> WriteStep {
        WriteStep {
            key: object.to_lowercase(),
            object: object.into(),
            op,
            fields: Default::default(),
            references: BTreeMap::new(),
            link: link.map(|(app_object, app_id)| LinkUpdate {
                app_object,
                app_id: app_id.into(),
                hashes: Default::default(),
                times: Default::default(),
                restate: Default::default(),
                restatable: Default::default(),
            }),
        }
    }

    fn keyed(objects: &[&str]) -> Keyed {
        Keyed {
            objects: objects.iter().map(|o| o.to_string()).collect(),
        }
    }

    #[test]
    fn creates_on_key_objects_get_record_and_line_item_keys() {
        let plan = WritePlan {
            steps: vec![
                step(
                    "Account",
                    WriteOp::MatchThenWrite {
                        matcher: Matcher::Keys { keys: Vec::new() },
                        create: true,
                    },
                    Some((AppObject::Company, "c1")),
                ),
                step(
                    "Opportunity",
                    WriteOp::Create,
                    Some((AppObject::Deal, "d1")),
                ),
                step(LINE_ITEM, WriteOp::Create, None),
                step(LINE_ITEM, WriteOp::Create, None),
                step(
                    "Opportunity",
                    WriteOp::Create,
                    Some((AppObject::Contact, "p1")),
                ),
                step(
                    "Contact",
                    WriteOp::Update { id: "003x".into() },
                    Some((AppObject::Contact, "p1")),
                ),
            ],
            ..Default::default()
        };
        let keys = keyed(&["Account", "Opportunity", LINE_ITEM, "Contact"]).keys(&plan, "ev1");
        assert_eq!(
            keys,
            [
                Some("company:c1".to_string()),
                Some("deal:d1".to_string()),
                Some("ev1:0".to_string()),
                Some("ev1:1".to_string()),
                Some("ev1:Opportunity".to_string()),
                None, // an update never upserts
            ]
        );
        // Unprovisioned objects keep their creates.
        let keys = keyed(&["Account"]).keys(&plan, "ev1");
        assert_eq!(keys.iter().flatten().count(), 1);
        assert!(
            Keyed::default()
                .keys(&plan, "ev1")
                .iter()
                .all(Option::is_none)
        );
    }
}
