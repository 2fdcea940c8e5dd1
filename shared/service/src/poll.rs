//! Pull (flow 2): the per-connection sync (the minute scheduler pass is `schedule`).
//!
//! Per enabled object: SOQL from the cursor `(SystemModstamp, Id)` back by an overlap
//! window, so a record committed late with an older stamp is not lost; every object's first
//! page in one composite request (an idle minute is one API call); capped per run; each
//! record mapped through the core; the change appended to the tenant's feed, then the link
//! written; the cursor advanced only after its records are applied. One poller per
//! connection at a time (a lease).

use std::collections::BTreeMap;
use std::time::Duration;

use chrono::{DateTime, Utc};
use crmsync_core::catch_up::decide_inbound_catching_up;
use crmsync_core::config::SyncConfig;
use crmsync_core::inbound::InboundAction;
use crmsync_core::query::fields_to_select;
use crmsync_salesforce::SfClient;
use crmsync_salesforce::soql::{Condition, Order, SoqlBuilder};
use crmsync_store::{
    ChangeKind, Connection, ConnectionId, CursorPosition, Link, NewChange, SyncRun, TenantId,
};
use futures::StreamExt;
use serde::Deserialize;

use crate::app::App;
use crate::config_service;
use crate::error::ServiceError;
use crate::guard::{self, PollBudget, RunStart};
use crate::leases::LeaseKind;
use crate::runs::{RunKind, RunStatus, RunSummary};
use crate::schedule;

/// Late commits older than the cursor by at most this much are still picked up.
pub const OVERLAP: Duration = Duration::from_secs(5 * 60);
const POLL_LEASE_TTL: Duration = Duration::from_secs(5 * 60);
/// Test syncs look at small segments.
const TEST_SYNC_DEFAULT_LIMIT: u32 = 200;

/// A test segment: a small filter to try the mapping on before a full sync.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TestSegment {
    /// Salesforce objects to include (default: every enabled inbound object).
    #[serde(default)]
    pub objects: Option<Vec<String>>,
    /// Only records modified in the last N hours (e.g. 24).
    #[serde(default)]
    pub modified_within_hours: Option<u32>,
    /// Salesforce field = value filters (ANDed); fields are checked against describe.
    #[serde(default)]
    pub filter: BTreeMap<String, serde_json::Value>,
    /// Most records per object (default 200, at most 2000).
    #[serde(default)]
    pub limit: Option<u32>,
}

/// Syncs one connection from Salesforce (the poll worker).
pub async fn poll_connection(
    app: &App,
    tenant: &TenantId,
    id: &ConnectionId,
) -> Result<RunSummary, ServiceError> {
    let mut run = RunSummary::new(tenant.as_str(), id.as_str(), RunKind::Poll, app.now());
    let start = guard::begin_run(app, tenant, id, LeaseKind::Poll, POLL_LEASE_TTL).await?;
    let (connection, lease) = match start {
        RunStart::Ready { connection, lease } => (*connection, lease),
        RunStart::Skip(status) => {
            run.status = status;
            return Ok(finish(app, run).await);
        }
    };
    let result = poll_under_lease(app, &connection, &mut run).await;
    if let Err(e) = app.stores.leases.release(&lease).await {
        tracing::warn!(error = %e, "poll lease release failed; it will expire");
    }
    if let Err(e) = result {
        return Err(failed(app, run, e).await);
    }
    if matches!(run.status, RunStatus::Completed | RunStatus::Capped) {
        guard::note_sync_success(app, &connection, SyncRun::Poll).await?;
    }
    Ok(finish(app, run).await)
}

async fn poll_under_lease(
    app: &App,
    connection: &Connection,
    run: &mut RunSummary,
) -> Result<(), ServiceError> {
    // A push outbox whose nudge was lost is woken here; a failure waits for the next poll.
    match crate::outbox::nudge_if_stale(app, &connection.tenant, &connection.id).await {
        Ok(true) => run
            .messages
            .push("the push outbox had waiting events: the push worker was nudged".into()),
        Ok(false) => {}
        Err(e) => tracing::warn!(error = %e, "nudging the push outbox failed; next poll retries"),
    }
    let config = config_service::load_or_init(app, &connection.tenant, &connection.id)
        .await?
        .config;
    // Repairs the scheduler's copy of the frequency if a config write missed it.
    if let Err(e) = schedule::sync_frequency(app, connection, config.frequency).await {
        tracing::warn!(error = %e, "poll frequency not copied to the connection; next poll retries");
    }
    if !ready(&config, run) {
        return Ok(());
    }
    let objects = inbound_objects(&config);
    let interval = config.frequency.minutes();
    match guard::poll_budget(app, connection, poll_cost(objects.len()), interval).await? {
        PollBudget::Go => {}
        PollBudget::Paused => {
            run.status = RunStatus::QuotaPaused;
            return Ok(());
        }
        PollBudget::Slowed { slowdown, next_due } => {
            run.status = RunStatus::Slowed;
            run.messages.push(format!(
                "today's projected API use passes the budget: polling every {} minute(s), next at {next_due}",
                interval * i64::from(slowdown)
            ));
            return Ok(());
        }
    }
    // The budget has room again: events parked while it was spent go back to the push queue.
    // A replay that fails is tried again next minute; it never stops the poll itself.
    match crate::parked::replay(app, &connection.tenant, &connection.id).await {
        Ok(0) => {}
        Ok(replayed) => run.messages.push(format!(
            "{replayed} parked event(s) sent back to the push queue"
        )),
        Err(e) => tracing::warn!(error = %e, "replaying parked events failed; next poll retries"),
    }
    // Bulk imports go on from their checkpoints (nothing to do: one store read, no call).
    match crate::import::resume(app, connection).await {
        Ok(messages) => run.messages.extend(messages),
        Err(e) => tracing::warn!(error = %e, "continuing an import failed; next poll retries"),
    }
    let client = app.salesforce.client(connection)?;
    let calls_before = client.requests_sent();
    let cap = config.poll_cap.min(app.settings.poll_cap as u32).max(1);
    let mut remaining = cap;
    let outcome = async {
        // Large pulls (the initial import, a backlog) go through Bulk API; see `backfill`.
        let mut rest_objects = Vec::with_capacity(objects.len());
        for object in &objects {
            let start = app
                .stores
                .cursors
                .get(&connection.tenant, &connection.id, object)
                .await?
                .position;
            let bulk = crate::backfill::pull(
                app,
                connection,
                &client,
                &config,
                object,
                start.as_ref(),
                run,
            )
            .await?;
            if bulk.is_none() {
                rest_objects.push((object.clone(), start));
            }
        }
        let queries = object_queries(&client, &config, rest_objects, cap).await?;
        for q in &queries {
            note_paused(run, paused_mappings(&client, &config, &q.object).await?);
        }
        let soqls: Vec<String> = queries.iter().map(|q| q.soql.clone()).collect();
        // Every object's first page in one composite request (one API call per five
        // objects): an idle minute costs one call.
        let first_pages = client.query_first_pages(&soqls).await?;
        let mut touched = crate::recalc::Touched::default();
        for (mut query, first_page) in queries.into_iter().zip(first_pages) {
            if remaining == 0 {
                run.status = RunStatus::Capped;
                break;
            }
            let first_page = match first_page {
                // The org's schema changed since the describe was read: read it afresh
                // and query again without the fields it no longer has.
                Err(e) if e.code() == Some("INVALID_FIELD") => {
                    client.invalidate_describe(&query.object);
                    let start = query.start.clone();
                    query =
                        object_queries(&client, &config, vec![(query.object.clone(), start)], cap)
                            .await?
                            .remove(0);
                    note_paused(run, paused_mappings(&client, &config, &query.object).await?);
                    client
                        .query_first_pages(std::slice::from_ref(&query.soql))
                        .await?
                        .remove(0)
                }
                other => other,
            };
            let pulled = pull_object(
                app,
                connection,
                &client,
                &config,
                (query, first_page?),
                remaining,
                (run, &mut touched),
            )
            .await?;
            remaining -= pulled.min(remaining);
        }
        // Parents of what changed may hold roll-ups that moved with it: re-read them now.
        crate::recalc::reread_touched(app, connection, &client, &config, &touched, run).await?;
        // Calculated fields move without a SystemModstamp: re-read them on their own,
        // slower cadence, unless this run already spent its cap on a backlog.
        if remaining > 0 {
            crate::recalc::reread_due(app, connection, &client, &config, run).await?;
            crate::drift_scan::compare_due(app, connection, &client, &config, run).await?;
        }
        Ok::<(), ServiceError>(())
    }
    .await;
    run.api_calls = guard::book_calls(app, connection, &client, calls_before).await;
    if let Err(ServiceError::Salesforce(e)) = &outcome {
        guard::note_salesforce_error(app, connection, e).await;
    }
    if remaining == 0 && run.status == RunStatus::Completed {
        run.status = RunStatus::Capped;
    }
    outcome
}

/// One object's cursor and the query that reads from it.
struct ObjectQuery {
    object: String,
    start: Option<CursorPosition>,
    soql: String,
}

/// Builds each object's query from its cursor. With a cursor, one query covers both the
/// overlap window behind it and what lies beyond, `SystemModstamp >= cursor - OVERLAP` in
/// `(SystemModstamp, Id)` order: late commits (visible only after the cursor passed their
/// stamp) come back with the new records, in one query instead of two. Not limited: a
/// cut-off window hides the late commits that sort after the cut, and the cap is applied to
/// the records beyond the cursor while reading. Without a cursor (the first poll) the query
/// starts at the beginning, limited to the cap.
async fn object_queries(
    client: &SfClient,
    config: &SyncConfig,
    objects: Vec<(String, Option<CursorPosition>)>,
    cap: u32,
) -> Result<Vec<ObjectQuery>, ServiceError> {
    let window = chrono::Duration::from_std(OVERLAP).expect("small duration");
    let mut queries = Vec::with_capacity(objects.len());
    for (object, start) in objects {
        let soql = match &start {
            Some(pos) => {
                let since = Condition::ge("SystemModstamp", pos.system_modstamp - window);
                select(client, config, &object, Some(since), None).await?
            }
            None => select(client, config, &object, None, Some(cap)).await?,
        };
        queries.push(ObjectQuery {
            object,
            start,
            soql,
        });
    }
    Ok(queries)
}

/// Applies one object's query, whose first page was read with the others' in one composite
/// request; later pages are read only while records beyond the cursor are still wanted.
/// Every record read is applied (those behind the cursor come back as no change when
/// nothing moved); at most `cap` beyond the cursor. The cursor moves to the last applied
/// record beyond it, so a burst past the cap continues from there next time. Returns how
/// many records beyond the cursor it applied.
async fn pull_object(
    app: &App,
    connection: &Connection,
    client: &SfClient,
    config: &SyncConfig,
    (query, first_page): (ObjectQuery, crmsync_salesforce::QueryPage),
    cap: u32,
    (run, touched): (&mut RunSummary, &mut crate::recalc::Touched),
) -> Result<u32, ServiceError> {
    let ObjectQuery { object, start, .. } = query;
    let object = object.as_str();
    let describe = client.describe(object).await?;
    let mut applied_beyond = 0u32;
    let mut last = start.clone();
    let mut pages = client.query_continue(first_page);
    'pages: while let Some(page) = pages.next().await {
        for record in page?.records {
            let Some(position) = position_of(&record) else {
                run.stats(object).errors += 1;
                continue;
            };
            let beyond = start.as_ref().is_none_or(|s| is_after(&position, s));
            if beyond && applied_beyond >= cap {
                break 'pages;
            }
            apply_record(app, connection, config, object, &record.fields, run).await?;
            if beyond {
                touched.note(&describe, &record.fields);
                applied_beyond += 1;
                last = Some(position);
            }
        }
    }
    drop(pages);
    if last != start
        && let Some(next) = &last
    {
        app.stores
            .cursors
            .advance(
                &connection.tenant,
                &connection.id,
                object,
                start.as_ref(),
                next,
            )
            .await?;
    }
    crate::backfill::note_rest_pull(app, connection, object, applied_beyond, cap).await?;
    Ok(applied_beyond)
}

/// `(SystemModstamp, Id)` order, as the query sorts. Only records that share the cursor's
/// stamp are told apart by Id; one misjudged there is still applied, and at worst the
/// cursor does not move past it (it is read again next time), never skipped.
fn is_after(position: &CursorPosition, cursor: &CursorPosition) -> bool {
    (position.system_modstamp, position.last_id.as_str())
        > (cursor.system_modstamp, cursor.last_id.as_str())
}

/// The calls an idle poll of `objects` makes: one composite request per five objects, plus
/// one to spare for a page beyond the first.
pub fn poll_cost(objects: usize) -> u64 {
    objects.div_ceil(crmsync_salesforce::COMPOSITE_MAX_QUERIES) as u64 + 1
}

/// Syncs a small segment without moving cursors: to check mappings before a full sync.
pub async fn test_sync(
    app: &App,
    tenant: &TenantId,
    id: &ConnectionId,
    segment: TestSegment,
) -> Result<RunSummary, ServiceError> {
    let mut run = RunSummary::new(tenant.as_str(), id.as_str(), RunKind::TestSync, app.now());
    let connection = guard::connection(app, tenant, id).await?;
    if !guard::is_connected(&connection) {
        run.status = RunStatus::NotConnected;
        return Ok(finish(app, run).await);
    }
    let config = config_service::load_or_init(app, tenant, id).await?.config;
    if !ready(&config, &mut run) {
        return Ok(finish(app, run).await);
    }
    let limit = segment
        .limit
        .unwrap_or(TEST_SYNC_DEFAULT_LIMIT)
        .clamp(1, 2000);
    let enabled = inbound_objects(&config);
    let objects = match &segment.objects {
        Some(wanted) => {
            for o in wanted {
                if !enabled.contains(o) {
                    return Err(ServiceError::bad_request(
                        "objects",
                        format!("{o} is not an enabled inbound object"),
                    ));
                }
            }
            wanted.clone()
        }
        None => enabled,
    };
    let client = app.salesforce.client(&connection)?;
    let calls_before = client.requests_sent();
    let result = async {
        for object in &objects {
            let mut conditions = Vec::new();
            if let Some(hours) = segment.modified_within_hours {
                let since: DateTime<Utc> =
                    app.now() - chrono::Duration::hours(i64::from(hours.min(24 * 90)));
                conditions.push(Condition::ge("SystemModstamp", since));
            }
            if !segment.filter.is_empty() {
                let describe = client.describe(object).await?;
                for (field, value) in &segment.filter {
                    conditions.push(filter_condition(&describe, field, value)?);
                }
            }
            let filter = (!conditions.is_empty()).then(|| Condition::and(conditions));
            let soql = select(&client, &config, object, filter, Some(limit))
                .await
                .map_err(|e| as_filter_error(e, &segment))?;
            let mut pages = client.query(soql);
            while let Some(page) = pages.next().await {
                let page = page.map_err(|e| as_filter_error(e.into(), &segment))?;
                for record in page.records {
                    apply_record(app, &connection, &config, object, &record.fields, &mut run)
                        .await?;
                }
            }
        }
        Ok::<(), ServiceError>(())
    }
    .await;
    run.api_calls = guard::book_calls(app, &connection, &client, calls_before).await;
    if let Err(e) = result {
        return Err(failed(app, run, e).await);
    }
    Ok(finish(app, run).await)
}

/// `field = value` with the value typed by the field's describe type (dates, numbers and
/// booleans unquoted); a field describe does not know, or a value that is not of its
/// type, is the caller's mistake and names `filter.<field>`.
fn filter_condition(
    describe: &crmsync_salesforce::describe::ObjectDescribe,
    field: &str,
    value: &serde_json::Value,
) -> Result<Condition, ServiceError> {
    let path = format!("filter.{field}");
    let described = describe.field(field).ok_or_else(|| {
        ServiceError::bad_request(&path, format!("{} has no field {field}", describe.name))
    })?;
    let literal = crmsync_salesforce::soql::Literal::for_field(described, value)
        .map_err(|e| ServiceError::bad_request(&path, format!("{e} of {}", describe.name)))?;
    Ok(Condition::eq(&described.name, literal))
}

/// How a SELECT of the mapped fields is shaped.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Shape {
    /// `(SystemModstamp, Id)` order, as the REST pull and its cursor need, optionally limited.
    Ordered { limit: Option<u32> },
    /// No `ORDER BY` or `LIMIT`: a Bulk API query job, where they disable PK chunking.
    Unordered,
    /// `Id` order, limited: a rolling scan's page (`drift_scan`).
    ById { limit: u32 },
}

/// Builds an allow-listed, escaped SELECT of the fields the config maps for `object`.
pub(crate) async fn select_mapped(
    client: &SfClient,
    config: &SyncConfig,
    object: &str,
    filter: Option<Condition>,
    shape: Shape,
) -> Result<String, ServiceError> {
    let describe = client.describe(object).await?;
    let mut fields = fields_to_select(object, config);
    // Schema drift: a mapped field the org no longer has (deleted, renamed, hidden) is left
    // out, so that mapping pauses and the others keep syncing ([`paused_mappings`]).
    let drifted: Vec<String> = config
        .object(object)
        .map(|o| {
            o.fields
                .iter()
                .filter(|m| crmsync_core::preflight::drift(m, &describe).is_some())
                .map(|m| m.salesforce_field.to_ascii_lowercase())
                .collect()
        })
        .unwrap_or_default();
    fields.retain(|f| {
        f.contains('.')
            || (describe.field(f).is_some() && !drifted.contains(&f.to_ascii_lowercase()))
    });
    // Also what tells crmsync's own unlinked creates apart (`own_creates`), and a
    // Lead's conversion (`conversion`).
    let conversion = crate::conversion::CONVERSION_FIELDS
        .into_iter()
        .filter(|_| object.eq_ignore_ascii_case("Lead"));
    for f in crate::own_creates::recognition_fields(object).chain(conversion) {
        if describe.field(f).is_some() && !fields.iter().any(|s| s.eq_ignore_ascii_case(f)) {
            fields.push(f.to_string());
        }
    }
    let needs_user = fields.iter().any(|f| f.starts_with("Owner."));
    let user = if needs_user {
        Some(client.describe("User").await?)
    } else {
        None
    };
    let mut builder = SoqlBuilder::new(&describe).select(fields.iter());
    if let Some(user) = &user {
        builder = builder.related(user);
    }
    if let Some(f) = filter {
        builder = builder.filter(f);
    }
    match shape {
        Shape::Ordered { limit } => {
            builder = builder
                .order_by("SystemModstamp", Order::Asc)
                .order_by("Id", Order::Asc);
            if let Some(limit) = limit {
                builder = builder.limit(limit);
            }
        }
        Shape::ById { limit } => builder = builder.order_by("Id", Order::Asc).limit(limit),
        Shape::Unordered => {}
    }
    let soql = builder.build().map_err(crmsync_salesforce::SfError::from)?;
    Ok(soql)
}

/// Inbound mappings of `object` whose Salesforce field drifted (the org lacks it, or its
/// type changed): they are paused (left out of the pull) until the field is back or the
/// config changes. Each as its reason.
pub(crate) async fn paused_mappings(
    client: &SfClient,
    config: &SyncConfig,
    object: &str,
) -> Result<Vec<String>, ServiceError> {
    let Some(obj) = config.object(object) else {
        return Ok(Vec::new());
    };
    let describe = client.describe(object).await?;
    Ok(obj
        .fields
        .iter()
        .filter(|m| m.rule.inbound())
        .filter_map(|m| {
            crmsync_core::preflight::drift(m, &describe)
                .map(|d| d.reason(object, &m.salesforce_field))
        })
        .collect())
}

fn note_paused(run: &mut RunSummary, paused: Vec<String>) {
    for reason in paused {
        run.messages
            .push(format!("{reason}; the other fields keep syncing"));
    }
}

/// The REST pull's SELECT: ordered for the cursor.
async fn select(
    client: &SfClient,
    config: &SyncConfig,
    object: &str,
    filter: Option<Condition>,
    limit: Option<u32>,
) -> Result<String, ServiceError> {
    select_mapped(client, config, object, filter, Shape::Ordered { limit }).await
}

fn position_of(record: &crmsync_salesforce::Record) -> Option<CursorPosition> {
    Some(CursorPosition {
        system_modstamp: record.system_modstamp()?,
        last_id: record.id()?.to_string(),
    })
}

fn skip_reason_text(reason: &crmsync_core::inbound::SkipReason) -> String {
    use crmsync_core::inbound::SkipReason;
    match reason {
        SkipReason::ObjectNotEnabled { object } => format!("{object} is not enabled"),
        SkipReason::WrongObjectType { expected, found } => {
            format!("record of type {found} where {expected} was expected")
        }
        SkipReason::InboundCreateDisabled => "creating app records from Salesforce is off".into(),
        SkipReason::InboundUpdateDisabled => "updating app records from Salesforce is off".into(),
        SkipReason::MissingRequiredField { field } => {
            format!("required app field `{field}` is blank")
        }
        SkipReason::OwnerNotAppUser { owner: Some(_) } => {
            "only records owned by app users are imported; the owner is no app user".into()
        }
        SkipReason::OwnerNotAppUser { owner: None } => {
            "only records owned by app users are imported; the record has no owner".into()
        }
    }
}

/// Maps one Salesforce record and applies it: change-feed entry first, then the link, so a
/// crash in between repeats the change rather than losing it.
pub(crate) async fn apply_record(
    app: &App,
    connection: &Connection,
    config: &SyncConfig,
    object: &str,
    fields: &serde_json::Map<String, serde_json::Value>,
    run: &mut RunSummary,
) -> Result<(), ServiceError> {
    apply_record_with(
        app,
        connection,
        config,
        object,
        fields,
        &BTreeMap::new(),
        run,
    )
    .await
}

/// [`apply_record`], judging the conflict policy as if the app had also made `pending`
/// (Salesforce field → change): app changes not written yet, which a push about to write
/// them knows of (`push::catch_up`), restating Salesforce's value to the app for those the
/// push will refuse (`crmsync_core::catch_up`). They are not stored on the link; the push
/// stamps them when it writes them.
pub(crate) async fn apply_record_with(
    app: &App,
    connection: &Connection,
    config: &SyncConfig,
    object: &str,
    fields: &serde_json::Map<String, serde_json::Value>,
    pending: &BTreeMap<String, crmsync_core::types::FieldChange>,
    run: &mut RunSummary,
) -> Result<(), ServiceError> {
    let read = InboundRead {
        object,
        fields,
        pending,
        kind: ChangeKind::Upsert,
    };
    apply_inbound(app, connection, config, read, run).await
}

/// One Salesforce record to apply, and the kind of feed entry a change of it makes
/// (`upsert`; `drift` when the drift scan found it, `drift_scan`).
pub(crate) struct InboundRead<'a> {
    pub object: &'a str,
    pub fields: &'a serde_json::Map<String, serde_json::Value>,
    pub pending: &'a BTreeMap<String, crmsync_core::types::FieldChange>,
    pub kind: ChangeKind,
}

/// The one inbound apply behind [`apply_record`] and [`apply_record_with`].
pub(crate) async fn apply_inbound(
    app: &App,
    connection: &Connection,
    config: &SyncConfig,
    read: InboundRead<'_>,
    run: &mut RunSummary,
) -> Result<(), ServiceError> {
    let InboundRead {
        object,
        fields,
        pending,
        kind,
    } = read;
    run.stats(object).fetched += 1;
    let Some(sf_id) = fields.get("Id").and_then(|v| v.as_str()) else {
        run.stats(object).errors += 1;
        return Ok(());
    };
    // A converted Lead moves its person's links; its values are no longer the person's.
    if object == "Lead"
        && crate::conversion::apply_converted_lead(app, connection, fields, run).await?
    {
        return Ok(());
    }
    let mut link =
        crate::links::link_by_sf_id(app, &connection.tenant, &connection.id, sf_id).await?;
    if link.is_none() {
        link = crate::own_creates::link_if_own_create(app, connection, object, fields).await?;
    }
    // The link's change times stand in for the app record the poll cannot read: the
    // conflict policy and `keep_owner_field` judge by them (with the push's own pending
    // changes, and Salesforce's value restated for those it will refuse).
    let core_link = link.as_ref().map(crate::links::core_link);
    let decision = match decide_inbound_catching_up(
        config,
        object,
        fields,
        core_link.as_ref(),
        pending,
        app.now(),
    ) {
        Ok(d) => d,
        Err(e) => {
            run.stats(object).errors += 1;
            run.messages.push(format!("{object} {sf_id}: {e}"));
            return Ok(());
        }
    };
    if let Some(email) = &decision.unmapped_owner_email {
        run.note_unmapped_owner(email);
    }
    let (created, app_fields) = match &decision.action {
        InboundAction::Create { fields } => (true, fields.clone()),
        InboundAction::Update { fields } => (false, fields.clone()),
        InboundAction::NoChange => {
            run.stats(object).unchanged += 1;
            if let Some(l) = &link {
                told_refusals(app, connection, l, &decision, fields).await?;
            }
            return Ok(());
        }
        InboundAction::Skipped { reason } => {
            run.note_skip(object, &skip_reason_text(reason));
            return Ok(());
        }
    };
    let app_object = decision.app_object.as_str().to_string();
    let (app_id, linked_to) = feed_app_record(link.as_ref(), &app_object, || {
        external_app_id(config, object, fields).unwrap_or_else(|| format!("sf-{sf_id}"))
    });
    let mut payload = serde_json::json!({
        "action": if created && link.is_none() { "create" } else { "update" },
        "app_object": app_object,
        "app_id": app_id,
        "sf_object": object,
        "fields": app_fields,
        "notes": decision.notes,
        "source": "salesforce",
    });
    if let Some(linked_to) = linked_to {
        payload["linked_to"] = linked_to;
    }
    let mut changes = vec![NewChange {
        connection: connection.id.clone(),
        object: object.to_string(),
        sf_id: sf_id.to_string(),
        app_id: app_id.clone(),
        kind,
        payload,
    }];
    changes.extend(crate::notices::notice(
        connection,
        &decision,
        link.as_ref().map(linked_app_record),
        app_id.clone(),
        fields.get("SystemModstamp"),
    ));
    app.stores
        .changes
        .append(&connection.tenant, changes)
        .await?;
    match &link {
        Some(l) => {
            // Over the version read: a push may have written the link since.
            crate::polled_link::write(
                app,
                connection,
                l,
                decision.link_hashes.clone(),
                crate::links::store_times(&decision.link_times),
            )
            .await?;
            run.stats(object).updated += 1;
        }
        None => {
            let app_id = app_id.unwrap_or_default();
            let now = app.now();
            let new_link = Link {
                tenant: connection.tenant.clone(),
                connection: connection.id.clone(),
                app_object: crate::links::link_app_key(&app_object, object),
                app_id: app_id.clone(),
                sf_object: object.to_string(),
                sf_id: sf_id.to_string(),
                hashes: decision.link_hashes.clone(),
                times: crate::links::store_times(&decision.link_times),
                created_at: now,
                updated_at: now,
                version: 0,
            };
            let outcome = app.stores.links.create_if_absent(&new_link).await?;
            if !outcome.was_created() {
                app.stores
                    .links
                    .update_synced(
                        &connection.tenant,
                        &connection.id,
                        &new_link.app_object,
                        &app_id,
                        decision.link_hashes.clone(),
                        new_link.times.clone(),
                    )
                    .await?;
            }
            run.stats(object).created += 1;
        }
    }
    Ok(())
}

/// A linked record whose only news is a change of what was refused (a notice to tell, or a
/// refusal that ended): the notice first, then the link remembers it, so a crash in
/// between repeats the notice rather than losing it.
async fn told_refusals(
    app: &App,
    connection: &Connection,
    link: &Link,
    decision: &crmsync_core::inbound::InboundDecision,
    fields: &serde_json::Map<String, serde_json::Value>,
) -> Result<(), ServiceError> {
    if link.times.refused == decision.link_times.refused {
        return Ok(());
    }
    let (app_object, app_id) = linked_app_record(link);
    let own = app_object == decision.app_object.as_str();
    if let Some(notice) = crate::notices::notice(
        connection,
        decision,
        Some((app_object, app_id)),
        own.then(|| app_id.to_string()),
        fields.get("SystemModstamp"),
    ) {
        app.stores
            .changes
            .append(&connection.tenant, vec![notice])
            .await?;
    }
    let mut times = link.times.clone();
    times.refused = decision.link_times.refused.clone();
    app.stores
        .links
        .update_synced(
            &connection.tenant,
            &connection.id,
            &link.app_object,
            &link.app_id,
            link.hashes.clone(),
            times,
        )
        .await?;
    Ok(())
}

/// The app record a link belongs to: (app object, app id).
fn linked_app_record(link: &Link) -> (&str, &str) {
    (
        crate::links::app_object_of(&link.app_object),
        link.app_id.as_str(),
    )
}

/// The app record a feed entry names. A link made under another app record (a contact's
/// Account or Opportunity, keyed `contact.Account`) holds the contact's id, which is not
/// this object's app record: the entry then carries no app id and names that record in
/// `linked_to`. Without a link, `new_id` makes one.
fn feed_app_record(
    link: Option<&Link>,
    app_object: &str,
    new_id: impl FnOnce() -> String,
) -> (Option<String>, Option<serde_json::Value>) {
    match link {
        Some(l) if crate::links::app_object_of(&l.app_object) == app_object => {
            (Some(l.app_id.clone()), None)
        }
        Some(l) => (
            None,
            Some(serde_json::json!({
                "app_object": crate::links::app_object_of(&l.app_object),
                "app_id": l.app_id,
            })),
        ),
        None => (Some(new_id()), None),
    }
}

/// The app id carried in the object's external-id field, when the config names one.
fn external_app_id(
    config: &SyncConfig,
    object: &str,
    fields: &serde_json::Map<String, serde_json::Value>,
) -> Option<String> {
    let field = config.object(object)?.external_id_field.as_ref()?;
    fields
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(field))
        .and_then(|(_, v)| v.as_str())
        .filter(|s| !s.trim().is_empty())
        // A value the store cannot key by (e.g. it holds '#') falls back to `sf-<Id>`.
        .filter(|s| crmsync_store::validate_key_part("app_id", s).is_ok())
        .map(str::to_string)
}

/// Enabled objects that bring anything in from Salesforce.
/// Leads come first: a Lead converted in Salesforce moves its person's links to the new
/// Contact before the Contact poll sees it, which would otherwise take it for a new person.
pub fn inbound_objects(config: &SyncConfig) -> Vec<String> {
    let mut objects: Vec<String> = config
        .enabled_objects()
        .filter(|(_, o)| {
            (o.inbound.create || o.inbound.update) && o.fields.iter().any(|m| m.rule.inbound())
        })
        .map(|(name, _)| name.to_string())
        .collect();
    objects.sort_by_key(|o| o != "Lead");
    objects
}

fn ready(config: &SyncConfig, run: &mut RunSummary) -> bool {
    let problems = config.readiness();
    if problems.is_empty() {
        return true;
    }
    run.status = RunStatus::NotReady;
    run.messages
        .extend(problems.iter().map(ToString::to_string));
    false
}

/// Stamps the finish time, logs the run and adds it to the run history.
/// A query the segment's filter made invalid (unknown field, wrong literal type) is the
/// caller's mistake: 400 naming `filter`, not a Salesforce failure.
fn as_filter_error(error: ServiceError, segment: &TestSegment) -> ServiceError {
    match error {
        ServiceError::Salesforce(e) if !segment.filter.is_empty() && e.is_query_error() => {
            ServiceError::bad_request("filter", e.to_string())
        }
        other => other,
    }
}

/// Records a run that ended in an error (the history shows it; the caller gets the error).
pub(crate) async fn failed(app: &App, mut run: RunSummary, error: ServiceError) -> ServiceError {
    run.status = RunStatus::Failed;
    run.messages.push(error.to_string());
    finish(app, run).await;
    error
}

async fn finish(app: &App, mut run: RunSummary) -> RunSummary {
    run.finished_at = app.now();
    tracing::info!(
        tenant = run.tenant,
        connection = run.connection,
        kind = ?run.kind,
        status = ?run.status,
        fetched = run.total().fetched,
        api_calls = run.api_calls,
        "run finished"
    );
    crate::runs::save(app, &run).await;
    run
}
