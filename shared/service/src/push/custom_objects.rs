//! Seed 003's multi-site sync and "Organization" custom object (`custom_objects` config),
//! written after a batch's sales and company events have been written and linked.
//!
//! Per batch, for the events that succeeded: the company's Organization record (when
//! configured) is its link, else matched (by its Account lookup, else by name), else
//! created; then one query reads the sites already under the parents (Account, else
//! Organization), and one sObject Collections call creates the missing ones. Sites are
//! matched by parent and value (or crmsync's key), so a redelivered or repeated event
//! creates nothing twice; values removed in the app are left in Salesforce. Cost per batch
//! that has such events: one query and one create call for sites (≤200 records a call),
//! plus one query and one create call for Organizations when configured and not linked;
//! nothing at all for a connection without `custom_objects`.
//!
//! A failure after the event's own records were written replaces its report: parked (and
//! replayed, which matches what was already made) when Salesforce may succeed later, else
//! an error with Salesforce's code, re-pushable. A store error or a killed worker after
//! the event's report sends the batch again: the event is then already done, and this
//! step runs again for it (its report says `Success`).

use std::collections::BTreeMap;

use crmsync_core::config::{OrganizationConfig, SitesConfig, SyncConfig};
use crmsync_core::sites::{ExistingSite, event_wants_custom_objects, list_values, missing_sites};
use crmsync_salesforce::soql::{Condition, SoqlBuilder};
use crmsync_salesforce::{RecordOutcome, SObjectRecord, SfClient, SfError};
use crmsync_store::{Connection, Link, ReportStatus};
use futures::StreamExt;
use serde_json::{Map, Value};

use super::budget::{BUDGET_SPENT, BUDGET_SPENT_REASON, Budget, COLLECTION_SIZE};
use super::{BatchOutcome, Verdict, park, report_msg};
use crate::app::App;
use crate::error::ServiceError;
use crate::links::link_app_key;
use crate::messages::PushMessage;

/// Most ids in one `IN` list (keeps the query URI well under 16,384 bytes).
const IN_CHUNK: usize = 200;

/// The events of a batch that write custom-object records (none without the config).
pub(super) fn wanted<'a>(
    config: &SyncConfig,
    batch: impl IntoIterator<Item = &'a PushMessage>,
) -> Vec<PushMessage> {
    batch
        .into_iter()
        .filter(|m| event_wants_custom_objects(&config.custom_objects, &m.event))
        .cloned()
        .collect()
}

/// One succeeded event's work.
struct Item {
    msg: PushMessage,
    account: Option<String>,
    organization: Option<String>,
    /// Why the event's custom objects failed, once they did: (code, reason, retryable).
    failed: Option<(String, String, bool)>,
}

impl Item {
    fn fail(&mut self, code: &str, reason: String, retryable: bool) {
        if self.failed.is_none() {
            self.failed = Some((code.to_string(), reason, retryable));
        }
    }
}

/// Writes the Organizations and sites of the batch's succeeded `events`.
pub(super) async fn write(
    app: &App,
    conn: &Connection,
    client: &SfClient,
    config: &SyncConfig,
    events: Vec<PushMessage>,
    budget: &mut Budget,
    out: &mut BatchOutcome,
) -> Result<(), ServiceError> {
    let mut items = Vec::new();
    for msg in events {
        let outcome = out
            .outcomes
            .iter()
            .rev()
            .find(|o| o.event_id == msg.event.event_id)
            .map(|o| o.status);
        let status = match outcome {
            Some(status) => Some(status),
            // Reported by an earlier delivery that stopped before (or during) this step:
            // a store error or a killed worker sends the batch again, and the sites are
            // matched before they are created, so finishing them here is safe.
            None => app
                .stores
                .reports
                .get(&conn.tenant, &conn.id, &msg.event.event_id)
                .await?
                .map(|r| r.status),
        };
        if status != Some(ReportStatus::Success) {
            continue;
        }
        let key = link_app_key(msg.event.app_object.as_str(), "Account");
        let account = app
            .stores
            .links
            .get_by_app(&conn.tenant, &conn.id, &key, &msg.event.app_id)
            .await?
            .map(|l| l.sf_id);
        items.push(Item {
            msg,
            account,
            organization: None,
            failed: None,
        });
    }
    if items.is_empty() {
        return Ok(());
    }
    let co = &config.custom_objects;
    let result = async {
        if let Some(org) = &co.organization {
            organizations(app, conn, client, org, &mut items, budget).await?;
        }
        if let Some(sites) = &co.sites {
            write_sites(app, conn, client, sites, &mut items, budget).await?;
        }
        Ok::<(), ServiceError>(())
    }
    .await;
    if let Err(ServiceError::Salesforce(e)) = &result {
        // A field the org's describe lacks is refused before any call, as the org would.
        let local = match e {
            SfError::Soql(_) => "INVALID_FIELD",
            _ => "SALESFORCE_ERROR",
        };
        let code = e.code().unwrap_or(local).to_string();
        for item in &mut items {
            item.fail(&code, e.to_string(), e.is_retryable());
        }
    } else {
        result?;
    }
    for item in items {
        let Some((code, reason, retryable)) = item.failed else {
            continue;
        };
        let reason = format!(
            "the event's records were written, its custom objects not: {reason}{}",
            if retryable {
                ""
            } else {
                " (re-push once fixed)"
            }
        );
        let outcome = if code == BUDGET_SPENT || retryable {
            park(app, conn, &item.msg, &code, &reason).await?
        } else {
            report_msg(
                app,
                conn,
                &item.msg,
                Verdict::error().code(&code).reason(&reason),
            )
            .await?
        };
        if let Some(o) = out
            .outcomes
            .iter_mut()
            .rev()
            .find(|o| o.event_id == outcome.event_id)
        {
            *o = outcome;
        }
    }
    Ok(())
}

fn text(r: &Map<String, Value>, field: &str) -> Option<String> {
    r.iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(field))
        .and_then(|(_, v)| v.as_str())
        .map(str::to_string)
}

async fn query_all(
    client: &SfClient,
    object: &str,
    select: &[&str],
    filter: Condition,
) -> Result<Vec<Map<String, Value>>, ServiceError> {
    let describe = client.describe(object).await?;
    let soql = SoqlBuilder::new(&describe)
        .select(select.iter().copied())
        .filter(filter)
        .build()
        .map_err(SfError::from)?;
    let mut records = Vec::new();
    let mut pages = client.query(soql);
    while let Some(page) = pages.next().await {
        records.extend(page?.records.into_iter().map(|r| r.fields));
    }
    Ok(records)
}

/// Reserves and sends creates, `COLLECTION_SIZE` a call; `None` when the budget is spent.
async fn create(
    app: &App,
    conn: &Connection,
    client: &SfClient,
    budget: &mut Budget,
    records: &[SObjectRecord],
) -> Result<Option<Vec<RecordOutcome>>, ServiceError> {
    if records.is_empty() {
        return Ok(Some(Vec::new()));
    }
    let calls = records.len().div_ceil(COLLECTION_SIZE) as u64;
    if !budget.reserve(app, conn, client, calls).await? {
        return Ok(None);
    }
    let outcomes = client
        .create_records(records, false)
        .await
        .map_err(SfError::from)?;
    Ok(Some(outcomes))
}

fn record_failure(o: &RecordOutcome) -> (String, String, bool) {
    let e = o.errors.first();
    (
        e.map_or("CREATE_FAILED".into(), |e| e.status_code.clone()),
        e.map_or("create failed".into(), |e| e.message.clone()),
        o.errors.iter().all(|e| e.is_retryable()) && !o.errors.is_empty(),
    )
}

/// Each item's Organization record: its link, else a match, else a new one (linked).
async fn organizations(
    app: &App,
    conn: &Connection,
    client: &SfClient,
    cfg: &OrganizationConfig,
    items: &mut [Item],
    budget: &mut Budget,
) -> Result<(), ServiceError> {
    for item in items.iter_mut() {
        let key = link_app_key(item.msg.event.app_object.as_str(), &cfg.object);
        item.organization = app
            .stores
            .links
            .get_by_app(&conn.tenant, &conn.id, &key, &item.msg.event.app_id)
            .await?
            .map(|l| l.sf_id);
    }
    let name_of = |item: &Item| {
        item.msg
            .event
            .fields
            .get(&cfg.app_name_field)
            .and_then(Value::as_str)
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
    };
    let by_account = |item: &Item| cfg.account_field.as_ref().and(item.account.clone());
    let open: Vec<usize> = (0..items.len())
        .filter(|&i| items[i].organization.is_none())
        .collect();
    if open.is_empty() {
        return Ok(());
    }
    // One query for every open item: by Account where the lookup is configured, else name.
    let accounts: Vec<String> = open.iter().filter_map(|&i| by_account(&items[i])).collect();
    let names: Vec<String> = open
        .iter()
        .filter(|&&i| by_account(&items[i]).is_none())
        .filter_map(|&i| name_of(&items[i]))
        .collect();
    let mut any = Vec::new();
    if let (Some(f), false) = (&cfg.account_field, accounts.is_empty()) {
        any.push(Condition::in_list(f, accounts.iter().map(String::as_str)));
    }
    if !names.is_empty() {
        any.push(Condition::in_list(
            &cfg.name_field,
            names.iter().map(String::as_str),
        ));
    }
    let mut select = vec!["Id", cfg.name_field.as_str()];
    select.extend(cfg.account_field.as_deref());
    let found = if any.is_empty() {
        Vec::new()
    } else {
        query_all(client, &cfg.object, &select, Condition::or(any)).await?
    };
    let matches = |item: &Item, r: &Map<String, Value>| match (by_account(item), &cfg.account_field)
    {
        (Some(acct), Some(f)) => text(r, f).is_some_and(|v| crmsync_core::sfid::same_id(&v, &acct)),
        _ => name_of(item).is_some_and(|n| {
            text(r, &cfg.name_field).is_some_and(|v| v.trim().eq_ignore_ascii_case(&n))
        }),
    };
    let mut to_create: Vec<(usize, SObjectRecord)> = Vec::new();
    for &i in &open {
        if let Some(r) = found.iter().find(|r| matches(&items[i], r)) {
            items[i].organization = text(r, "Id");
            continue;
        }
        let Some(name) = name_of(&items[i]) else {
            items[i].fail(
                "MISSING_COMPANY_NAME",
                format!(
                    "no `{}` to name the {} record",
                    cfg.app_name_field, cfg.object
                ),
                false,
            );
            continue;
        };
        let mut fields = Map::new();
        fields.insert(cfg.name_field.clone(), Value::String(name));
        if let (Some(f), Some(acct)) = (&cfg.account_field, &items[i].account) {
            fields.insert(f.clone(), Value::String(acct.clone()));
        }
        to_create.push((i, SObjectRecord::new(&cfg.object, fields)));
    }
    // Two events of one company in a batch share one new record.
    let mut unique: Vec<SObjectRecord> = Vec::new();
    let mut slot: Vec<(usize, usize)> = Vec::new();
    for (i, rec) in &to_create {
        let at = match unique.iter().position(|u| u.fields == rec.fields) {
            Some(at) => at,
            None => {
                unique.push(rec.clone());
                unique.len() - 1
            }
        };
        slot.push((*i, at));
    }
    let Some(outcomes) = create(app, conn, client, budget, &unique).await? else {
        for (i, _) in &slot {
            items[*i].fail(BUDGET_SPENT, BUDGET_SPENT_REASON.into(), true);
        }
        return Ok(());
    };
    for (i, at) in slot {
        match outcomes.get(at) {
            Some(o) if o.success => items[i].organization = o.id.clone(),
            Some(o) => {
                let (code, reason, retry) = record_failure(o);
                items[i].fail(&code, format!("{}: {reason}", cfg.object), retry);
            }
            None => items[i].fail("CREATE_FAILED", "no result".into(), true),
        }
    }
    // Link what was matched or created (the linked ones were skipped above).
    for &i in &open {
        if let Some(id) = &items[i].organization {
            link(app, conn, &items[i].msg, &cfg.object, id).await?;
        }
    }
    Ok(())
}

/// Links the event's app record to its Organization record (no fields are synced on it).
async fn link(
    app: &App,
    conn: &Connection,
    msg: &PushMessage,
    sf_object: &str,
    sf_id: &str,
) -> Result<(), ServiceError> {
    let now = app.now();
    let link = Link {
        tenant: conn.tenant.clone(),
        connection: conn.id.clone(),
        app_object: link_app_key(msg.event.app_object.as_str(), sf_object),
        app_id: msg.event.app_id.clone(),
        sf_object: sf_object.to_string(),
        sf_id: crmsync_core::sfid::canonical(sf_id),
        hashes: BTreeMap::new(),
        times: Default::default(),
        created_at: now,
        updated_at: now,
        version: 0,
    };
    crate::links::link_record(app, &link).await
}

/// Creates the sites the items' parents still lack.
async fn write_sites(
    app: &App,
    conn: &Connection,
    client: &SfClient,
    cfg: &SitesConfig,
    items: &mut [Item],
    budget: &mut Budget,
) -> Result<(), ServiceError> {
    // The parent a site is matched under: the Account, else the Organization record.
    let parent_field = cfg
        .parent_field
        .as_deref()
        .or(cfg.organization_field.as_deref())
        .unwrap_or("Id");
    let parent_of = |item: &Item| -> Option<String> {
        match &cfg.parent_field {
            Some(_) => item.account.clone(),
            None => item.organization.clone(),
        }
    };
    let mut parents: Vec<String> = Vec::new();
    for item in items.iter_mut() {
        if item.failed.is_some() || list_values(cfg, &item.msg.event).is_empty() {
            continue;
        }
        match parent_of(item) {
            Some(p) if !parents.contains(&p) => parents.push(p),
            Some(_) => {}
            None => item.fail(
                "NO_SITE_PARENT",
                format!(
                    "no {} linked to this record to put its {} under",
                    if cfg.parent_field.is_some() {
                        "Account"
                    } else {
                        "Organization"
                    },
                    cfg.object
                ),
                false,
            ),
        }
    }
    if parents.is_empty() {
        return Ok(());
    }
    let mut select = vec!["Id", cfg.name_field.as_str(), parent_field];
    select.extend(cfg.key_field.as_deref());
    let mut existing: BTreeMap<String, Vec<ExistingSite>> = BTreeMap::new();
    for chunk in parents.chunks(IN_CHUNK) {
        let filter = Condition::in_list(parent_field, chunk.iter().map(String::as_str));
        for r in query_all(client, &cfg.object, &select, filter).await? {
            let (Some(id), Some(parent)) = (text(&r, "Id"), text(&r, parent_field)) else {
                continue;
            };
            existing
                .entry(crmsync_core::sfid::canonical(&parent))
                .or_default()
                .push(ExistingSite {
                    id,
                    name: text(&r, &cfg.name_field).unwrap_or_default(),
                    key: cfg.key_field.as_deref().and_then(|k| text(&r, k)),
                });
        }
    }
    let mut records: Vec<(usize, SObjectRecord)> = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let Some(parent) = parent_of(item).filter(|_| item.failed.is_none()) else {
            continue;
        };
        let parent = crmsync_core::sfid::canonical(&parent);
        let under = existing.entry(parent.clone()).or_default();
        for value in missing_sites(&parent, &list_values(cfg, &item.msg.event), under) {
            let mut fields = Map::new();
            fields.insert(cfg.name_field.clone(), Value::String(value.clone()));
            if let Some(f) = &cfg.parent_field {
                fields.insert(f.clone(), Value::String(parent.clone()));
            }
            if let (Some(f), Some(org)) = (&cfg.organization_field, &item.organization) {
                fields.insert(f.clone(), Value::String(org.clone()));
            }
            let key = crmsync_core::sites::site_key(&parent, &value);
            if let Some(f) = &cfg.key_field {
                fields.insert(f.clone(), Value::String(key.clone()));
            }
            // A later event of the same parent in this batch finds it.
            under.push(ExistingSite {
                id: String::new(),
                name: value,
                key: Some(key),
            });
            records.push((i, SObjectRecord::new(&cfg.object, fields)));
        }
    }
    let sends: Vec<SObjectRecord> = records.iter().map(|(_, r)| r.clone()).collect();
    let Some(outcomes) = create(app, conn, client, budget, &sends).await? else {
        for (i, _) in &records {
            items[*i].fail(BUDGET_SPENT, BUDGET_SPENT_REASON.into(), true);
        }
        return Ok(());
    };
    for ((i, _), o) in records.iter().zip(&outcomes) {
        if !o.success {
            let (code, reason, retry) = record_failure(o);
            items[*i].fail(&code, format!("{}: {reason}", cfg.object), retry);
        }
    }
    let created = outcomes.iter().filter(|o| o.success).count();
    tracing::info!(object = cfg.object, created, "sites written");
    Ok(())
}
