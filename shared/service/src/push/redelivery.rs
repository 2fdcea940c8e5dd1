//! Redelivered creates: a write intent before the first create of an event, and on a
//! redelivery (intent found, no report) a reconciling lookup before creating again.
//!
//! A create can commit in Salesforce while its response, the links or the report are
//! lost (a timed-out POST, a store error, a Lambda timeout); the queue then delivers the
//! event again. With an intent on record, each create of the event first reads back the
//! records the integration user created since the intent (`CreatedById`, `CreatedDate`)
//! with the step's identity keys ([`crmsync_core::reconcile`]) and adopts the match. One
//! query per object and lookup values, cached for the event's other steps (a sale's line
//! items are read once per Opportunity).

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};
use crmsync_core::outbound::{WriteOp, WriteStep};
use crmsync_core::reconcile::{
    Candidate, created_since, identity_fields, keys_of, pick, unverified_on_adoption,
};
use crmsync_core::types::FieldMap;
use crmsync_salesforce::soql::{Condition, Literal, SoqlBuilder};
use crmsync_salesforce::{SObjectRecord, SfClient, SfError};
use crmsync_store::{Connection, PendingCreate, WriteIntent};
use futures::StreamExt;
use serde_json::Value;

use super::{EventOutcome, Planned, Verdict, report_msg, write_link};
use crate::app::App;
use crate::error::ServiceError;
use crate::links::{link_app_key, link_by_sf_id};

/// Intents outlive any redelivery (the queue's retention is 4 days) and parked replays.
const INTENT_TTL_DAYS: i64 = 14;

/// An event's intent: `redelivered` when it was already on record (an earlier attempt may
/// have committed).
pub(super) struct EventIntent {
    pub intent: WriteIntent,
    pub redelivered: bool,
}

/// The event's intent: the earlier one on a redelivery, else a new one, recorded now
/// (before any create is sent). [`ServiceError::InFlight`] (retried) while an earlier
/// attempt may still be running.
pub(super) async fn begin(
    app: &App,
    conn: &Connection,
    planned: &Planned,
) -> Result<EventIntent, ServiceError> {
    let event_id = &planned.msg.event.event_id;
    if let Some(intent) = app
        .stores
        .intents
        .get(&conn.tenant, &conn.id, event_id)
        .await?
    {
        // An attempt younger than the push function's timeout may still be running (the
        // same message delivered twice at once): creating now could race its creates.
        let timeout = chrono::Duration::from_std(crate::parked::PUSH_FUNCTION_TIMEOUT)
            .expect("small duration");
        if app.now() - intent.started_at < timeout {
            return Err(ServiceError::InFlight(event_id.clone()));
        }
        return Ok(EventIntent {
            intent,
            redelivered: true,
        });
    }
    let now = app.now();
    let intent = WriteIntent {
        tenant: conn.tenant.clone(),
        connection: conn.id.clone(),
        event_id: event_id.clone(),
        started_at: now,
        known_ids: planned.linked.clone(),
        creates: pending_creates(&planned.plan.steps),
        expires_at: now + chrono::Duration::days(INTENT_TTL_DAYS),
    };
    match app.stores.intents.put(&intent).await {
        Ok(()) => {}
        // Another worker recorded it since the read: it is pushing the event now.
        Err(e) if e.is_conflict() => return Err(ServiceError::InFlight(event_id.clone())),
        Err(e) => return Err(e.into()),
    }
    // A worker that pushed the event at once may have reported and cleared its intent
    // since this one checked for a report: then nothing is left to do (the retry finds
    // the report).
    if super::already_done(app, &conn.tenant, &conn.id, &planned.msg).await? {
        finish(app, conn, event_id).await;
        return Err(ServiceError::InFlight(event_id.clone()));
    }
    Ok(EventIntent {
        intent,
        redelivered: false,
    })
}

/// The linked records a plan may create, with the links its push writes for them, so a
/// poll that sees one before the push linked it links it the same way ([`crate::own_creates`]).
/// A step without identity values cannot be told from a user's record and is left out.
fn pending_creates(steps: &[WriteStep]) -> Vec<PendingCreate> {
    steps
        .iter()
        .filter(|s| {
            matches!(
                s.op,
                WriteOp::Create | WriteOp::MatchThenWrite { create: true, .. }
            )
        })
        .filter_map(|s| {
            let link = s.link.as_ref()?;
            let identity: BTreeMap<String, Value> = keys_of(&s.object, &s.fields)
                .into_iter()
                .map(|(f, v)| (f.to_string(), v.clone()))
                .collect();
            (!identity.is_empty()).then(|| PendingCreate {
                sf_object: s.object.clone(),
                identity,
                app_object: link_app_key(link.app_object.as_str(), &s.object),
                app_id: link.app_id.clone(),
                hashes: link.hashes.clone(),
                times: crate::links::store_times(&link.times),
            })
        })
        .collect()
}

/// Clears an event's intent once its report is written. A failure only logs: the report
/// already turns a redelivery into a duplicate, and the intent expires.
pub(super) async fn finish(app: &App, conn: &Connection, event_id: &str) {
    if let Err(e) = app
        .stores
        .intents
        .clear(&conn.tenant, &conn.id, event_id)
        .await
    {
        tracing::warn!(event_id, error = %e, "could not clear the write intent; it expires");
    }
}

/// One create to look for.
pub(super) struct Probe<'a> {
    pub object: &'a str,
    /// What the step writes, references resolved.
    pub fields: &'a FieldMap,
    pub intent: &'a WriteIntent,
    /// The store key and app id of the step's link, if it has one: a record linked to
    /// another app record is never adopted.
    pub link: Option<(String, String)>,
}

/// Reads back and matches committed records; caches reads and never adopts one twice.
pub(super) struct Finder<'c> {
    client: &'c SfClient,
    user: String,
    /// (object, lookup field value) → candidates read.
    read: BTreeMap<(String, String), Vec<Candidate>>,
    taken: BTreeSet<String>,
    pub queries: u64,
}

impl<'c> Finder<'c> {
    pub fn new(client: &'c SfClient, conn: &Connection) -> Self {
        Self {
            client,
            user: conn.user.id.clone(),
            read: BTreeMap::new(),
            taken: BTreeSet::new(),
            queries: 0,
        }
    }

    /// The record each probe's create already made, if an earlier attempt committed it.
    pub async fn find(
        &mut self,
        app: &App,
        conn: &Connection,
        probes: &[Probe<'_>],
    ) -> Result<Vec<Option<String>>, ServiceError> {
        self.read_missing(probes).await?;
        let mut out = Vec::with_capacity(probes.len());
        for p in probes {
            let since = created_since(p.intent.started_at);
            let candidates = self
                .read
                .get(&(p.object.to_string(), lookup_value(p)))
                .map(Vec::as_slice)
                .unwrap_or_default();
            let mut refused: BTreeSet<String> = BTreeSet::new();
            let found = loop {
                let excluded = |id: &str| {
                    self.taken.contains(id)
                        || refused.contains(id)
                        || p.intent.known_ids.iter().any(|k| same(k, id))
                };
                let Some(c) = pick(p.object, p.fields, since, candidates, excluded) else {
                    break None;
                };
                if linked_elsewhere(app, conn, p, &c.id).await? {
                    refused.insert(c.id.clone());
                    continue;
                }
                break Some(c.id.clone());
            };
            if let Some(id) = &found {
                tracing::info!(
                    event_id = p.intent.event_id,
                    object = p.object,
                    id,
                    "redelivered create already committed; adopting it"
                );
                self.taken.insert(id.clone());
            }
            out.push(found);
        }
        Ok(out)
    }

    /// One query per object for the lookup values not read yet.
    async fn read_missing(&mut self, probes: &[Probe<'_>]) -> Result<(), ServiceError> {
        let mut wanted: BTreeMap<&str, (BTreeSet<String>, DateTime<Utc>)> = BTreeMap::new();
        for p in probes {
            let key = (p.object.to_string(), lookup_value(p));
            if self.read.contains_key(&key) {
                continue;
            }
            let since = created_since(p.intent.started_at);
            let entry = wanted.entry(p.object).or_insert((BTreeSet::new(), since));
            entry.0.insert(key.1);
            entry.1 = entry.1.min(since);
        }
        for (object, (values, since)) in wanted {
            let found = self.query(object, &values, since).await?;
            for v in values {
                // Under "" every candidate (the step has no lookup value; identity decides).
                let of_value: Vec<Candidate> = found
                    .iter()
                    .filter(|c| v.is_empty() || lookup_of(object, &c.fields) == v)
                    .cloned()
                    .collect();
                self.read.insert((object.to_string(), v), of_value);
            }
        }
        Ok(())
    }

    /// `SELECT Id, CreatedDate, <identity fields> FROM object WHERE CreatedById = user AND
    /// CreatedDate >= since [AND <lookup> IN (values)]`, every page.
    async fn query(
        &mut self,
        object: &str,
        values: &BTreeSet<String>,
        since: DateTime<Utc>,
    ) -> Result<Vec<Candidate>, ServiceError> {
        let describe = self.client.describe(object).await?;
        // Typed by describe: ids as 18 characters, numbers unquoted, the datetime unquoted.
        let typed = |field: &str, v: &str| {
            describe
                .field(field)
                .and_then(|f| Literal::for_field(f, &Value::from(v)).ok())
        };
        let user = typed("CreatedById", &self.user).ok_or_else(|| {
            ServiceError::Internal(format!(
                "{object}.CreatedById cannot be compared with the integration user {}",
                self.user
            ))
        })?;
        let mut conditions = vec![
            Condition::eq("CreatedById", user),
            Condition::ge("CreatedDate", Literal::DateTime(since)),
        ];
        let lookup = identity_fields(object)[0];
        let literals: Option<Vec<Literal>> = values.iter().map(|v| typed(lookup, v)).collect();
        // Without a typed IN list (a value missing or of another type), read them all.
        if let Some(literals) = literals.filter(|_| !values.contains("")) {
            conditions.push(Condition::in_list(lookup, literals));
        }
        let fields: Vec<&str> = ["Id", "CreatedDate"]
            .into_iter()
            .chain(
                identity_fields(object)
                    .iter()
                    .copied()
                    .filter(|f| describe.field(f).is_some()),
            )
            .collect();
        let soql = SoqlBuilder::new(&describe)
            .select(fields)
            .filter(Condition::and(conditions))
            .build()
            .map_err(SfError::from)?;
        self.queries += 1;
        let mut out = Vec::new();
        let mut pages = self.client.query(soql);
        while let Some(page) = pages.next().await {
            for r in page?.records {
                let (Some(id), Some(created_at)) = (r.id(), r.get_datetime("CreatedDate")) else {
                    continue;
                };
                out.push(Candidate {
                    id: id.to_string(),
                    created_at,
                    fields: r
                        .fields
                        .iter()
                        .map(|(k, v)| (k.clone(), v.clone()))
                        .collect(),
                });
            }
        }
        Ok(out)
    }
}

/// The probe's value of its object's lookup field ("" when it has none: read them all).
fn lookup_value(p: &Probe<'_>) -> String {
    lookup_of(p.object, p.fields)
}

fn lookup_of(object: &str, fields: &FieldMap) -> String {
    let lookup = identity_fields(object)[0];
    match keys_of(object, fields).first() {
        Some((f, v)) if *f == lookup => match v {
            Value::String(s) => crmsync_core::sfid::canonical(s.trim()),
            other => other.to_string(),
        },
        _ => String::new(),
    }
}

fn same(a: &str, b: &str) -> bool {
    crmsync_core::sfid::same_id(a, b)
}

/// Whether `id` is linked to an app record other than the probe's.
async fn linked_elsewhere(
    app: &App,
    conn: &Connection,
    p: &Probe<'_>,
    id: &str,
) -> Result<bool, ServiceError> {
    let Some(link) = link_by_sf_id(app, &conn.tenant, &conn.id, id).await? else {
        return Ok(false);
    };
    Ok(match &p.link {
        Some((key, app_id)) => &link.app_object != key || &link.app_id != app_id,
        None => true,
    })
}

/// The probe link key of a step's link update.
pub(super) fn link_of(
    object: &str,
    link: Option<&crmsync_core::outbound::LinkUpdate>,
) -> Option<(String, String)> {
    link.map(|l| {
        (
            link_app_key(l.app_object.as_str(), object),
            l.app_id.clone(),
        )
    })
}

/// Single writes about to go out in collections calls (`batches`, keyed by object and
/// whether it is an update): each gets an intent; a redelivered create whose record an
/// earlier attempt committed leaves its batch and is linked and reported as written.
pub(super) async fn prepare_singles(
    app: &App,
    conn: &Connection,
    client: &SfClient,
    planned: &[Planned],
    batches: &mut BTreeMap<(String, bool), Vec<(usize, SObjectRecord)>>,
) -> Result<Vec<EventOutcome>, ServiceError> {
    let mut intents = Vec::new();
    for ((object, is_update), items) in batches.iter() {
        for (i, _) in items {
            // Updates take an intent too: a second worker on the same messages (a visibility
            // timeout passed while this one stalled) then waits instead of writing the
            // record's later value before this one writes its earlier one.
            let intent = begin(app, conn, &planned[*i]).await?;
            if !is_update {
                intents.push((object.clone(), *i, intent));
            }
        }
    }
    let redelivered: Vec<&(String, usize, EventIntent)> =
        intents.iter().filter(|(_, _, e)| e.redelivered).collect();
    if redelivered.is_empty() {
        return Ok(Vec::new());
    }
    let probes: Vec<Probe<'_>> = redelivered
        .iter()
        .map(|(object, i, e)| {
            let step = &planned[*i].plan.steps[0];
            Probe {
                object,
                fields: &step.fields,
                intent: &e.intent,
                link: link_of(object, step.link.as_ref()),
            }
        })
        .collect();
    let found = Finder::new(client, conn).find(app, conn, &probes).await?;
    let mut outcomes = Vec::new();
    for ((object, i, _), id) in redelivered.iter().zip(found) {
        let Some(id) = id else { continue };
        if let Some(items) = batches.get_mut(&(object.clone(), false)) {
            items.retain(|(j, _)| j != i);
        }
        let p = &planned[*i];
        if let Some(link) = &p.plan.steps[0].link {
            // What the adoption did not compare may differ on the record: not linked as
            // written, so the next write sends it.
            let mut link = link.clone();
            for field in unverified_on_adoption(object) {
                link.hashes.remove(*field);
            }
            write_link(app, conn, object, &id, &link).await?;
        }
        let o = report_msg(
            app,
            conn,
            &p.msg,
            Verdict::success().sf_id(id).plan(&p.plan),
        )
        .await?;
        finish(app, conn, &p.msg.event.event_id).await;
        outcomes.push(o);
    }
    batches.retain(|_, items| !items.is_empty());
    Ok(outcomes)
}

/// A redelivered multi-step plan: each create step whose record the earlier attempt
/// committed gets that id in `known` and is marked `adopted` (written already, so not
/// written again). Steps run in order, so a child sees its adopted parent's id.
pub(super) async fn adopt_steps(
    app: &App,
    conn: &Connection,
    client: &SfClient,
    steps: &[WriteStep],
    intent: &EventIntent,
    known: &mut [Option<String>],
    adopted: &mut [bool],
) -> Result<(), ServiceError> {
    let mut finder = Finder::new(client, conn);
    for (i, step) in steps.iter().enumerate() {
        if known[i].is_some() || matches!(step.op, WriteOp::Upsert { .. }) {
            continue;
        }
        let Some((fields, complete)) = probe_fields(step, known) else {
            // A parent that identifies this step was not found: it cannot be told apart.
            continue;
        };
        let probe = Probe {
            object: &step.object,
            fields: &fields,
            intent: &intent.intent,
            link: link_of(&step.object, step.link.as_ref()),
        };
        if let Some(id) = finder.find(app, conn, &[probe]).await?.pop().flatten() {
            known[i] = Some(id);
            // With a parent missing (a Salesforce user deleted what the earlier attempt
            // created), the record is written again as an update, to point at the new parent.
            adopted[i] = complete;
        }
    }
    Ok(())
}

/// What identifies a step's record on a redelivery: its fields with the references known
/// so far, and whether every reference was known. `None` when a reference that is an
/// identity field is unknown. A parent can be unknown although the earlier attempt
/// committed this step (the parent was deleted since), so a reference that does not
/// identify the record does not stop the search.
fn probe_fields(step: &WriteStep, known: &[Option<String>]) -> Option<(FieldMap, bool)> {
    let mut fields = step.fields.clone();
    let mut complete = true;
    for (field, &parent) in &step.references {
        match known.get(parent).cloned().flatten() {
            Some(id) => {
                fields.insert(field.clone(), Value::String(id));
            }
            None if identity_fields(&step.object).contains(&field.as_str()) => return None,
            None => complete = false,
        }
    }
    Some((fields, complete))
}
