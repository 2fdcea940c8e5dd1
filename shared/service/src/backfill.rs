//! Bulk backfill: large pulls through a Bulk API 2.0 query job instead of REST pages.
//!
//! When: the previous poll's size decides. A REST pull that filled its whole cap (the
//! initial import's first run of a large object, or a backlog later) leaves a `Backlog`
//! mark; the next poll counts what lies beyond the cursor (`SELECT COUNT()`, one call) and
//! starts a job when that is above `settings.bulk_threshold` (2,000 by default). So an
//! idle or small poll pays nothing extra, and an initial import costs one REST page (up
//! to the poll cap) before the job takes the rest. The job's planned calls are checked
//! against the connection's API budget first; without room the REST pull goes on.
//!
//! How: one query job (`SELECT <mapped fields> FROM <object> [WHERE beyond cursor]`, no
//! `ORDER BY`/`LIMIT`, which the guide says disable PK chunking), its state polled with
//! backoff, its results read set by set (`maxRecords` = `settings.bulk_set_records`) by
//! `Sforce-Locator`. Every row goes through [`crate::poll::apply_record`], the REST
//! poll's own mapping, linking and change-feed path. Rows come unordered, so the highest
//! `(SystemModstamp, Id)` seen is kept and the cursor moves there once the last set is
//! applied; changes made after the job started sort above it and the next REST poll
//! (with its overlap re-read) picks them up.
//!
//! Resuming: a run works for at most `settings.bulk_run_budget`, then keeps a checkpoint
//! (`bulk:<Object>` in the checkpoint store: job id, locator of the set being read, rows
//! of it applied, the highest position) and stops; the next poll continues from there, so
//! a job outlives any one Lambda invocation. A row applied twice (a crash between apply
//! and checkpoint) comes back as no change.
//!
//! API calls for N records: the first REST page, 1 count, 1 job create, the status reads (backoff from 0.5 s,
//! doubling to 30 s), ⌈N / set size⌉ result sets, plus the describes the REST pull makes
//! anyway: 1,000,000 records with sets of 50,000 → 1 + 1 + polls + 20.

use std::time::Instant;

use crmsync_core::config::SyncConfig;
use crmsync_salesforce::bulk::{JobState, PollBackoff, typed_record};
use crmsync_salesforce::soql::{Condition, SoqlBuilder};
use crmsync_salesforce::{QueryScope, SfClient};
use crmsync_store::{Connection, CursorPosition};
use futures::StreamExt;
use serde::{Deserialize, Serialize};

use crate::app::App;
use crate::error::ServiceError;
use crate::poll::Shape;
use crate::runs::RunSummary;

/// Rows applied between looks at the clock.
const ROWS_PER_CHECK: usize = 500;

/// What the checkpoint store keeps under `bulk:<Object>`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
enum BulkState {
    /// The last REST pull filled its cap: count what lies beyond the cursor next time.
    Backlog,
    /// A query job in progress.
    Job(JobCheckpoint),
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct JobCheckpoint {
    job_id: String,
    /// The cursor when the job started (`None`: initial import).
    start: Option<CursorPosition>,
    /// The job reached `JobComplete`.
    complete: bool,
    /// The set being read (`None`: the first).
    locator: Option<String>,
    /// Rows of that set already applied.
    rows_done: usize,
    /// Highest `(SystemModstamp, Id)` applied.
    high: Option<CursorPosition>,
    applied: u64,
}

fn checkpoint_name(object: &str) -> String {
    format!("bulk:{object}")
}

async fn load(
    app: &App,
    connection: &Connection,
    object: &str,
) -> Result<Option<BulkState>, ServiceError> {
    let stored = app
        .stores
        .checkpoints
        .get(&connection.tenant, &connection.id, &checkpoint_name(object))
        .await?;
    Ok(stored.and_then(|c| serde_json::from_value(c.value).ok()))
}

async fn save(
    app: &App,
    connection: &Connection,
    object: &str,
    state: &BulkState,
) -> Result<(), ServiceError> {
    let value = serde_json::to_value(state).map_err(|e| ServiceError::Internal(e.to_string()))?;
    app.stores
        .checkpoints
        .put(
            &connection.tenant,
            &connection.id,
            &checkpoint_name(object),
            value,
        )
        .await?;
    Ok(())
}

async fn clear(app: &App, connection: &Connection, object: &str) -> Result<(), ServiceError> {
    app.stores
        .checkpoints
        .delete(&connection.tenant, &connection.id, &checkpoint_name(object))
        .await?;
    Ok(())
}

/// Records beyond the cursor, as the REST pull reads them.
pub(crate) fn beyond(pos: &CursorPosition) -> Condition {
    Condition::or([
        Condition::gt("SystemModstamp", pos.system_modstamp),
        Condition::and([
            Condition::eq("SystemModstamp", pos.system_modstamp),
            Condition::gt("Id", pos.last_id.as_str()),
        ]),
    ])
}

/// The pull of `object` when it goes through Bulk API: `None` leaves it to the REST pull;
/// `Some(n)` means the bulk path handled this run (n rows applied).
pub(crate) async fn pull(
    app: &App,
    connection: &Connection,
    client: &SfClient,
    config: &SyncConfig,
    object: &str,
    start: Option<&CursorPosition>,
    run: &mut RunSummary,
) -> Result<Option<u32>, ServiceError> {
    let job = match load(app, connection, object).await? {
        Some(BulkState::Job(job)) => job,
        None => return Ok(None),
        Some(BulkState::Backlog) => {
            // The count, the create, two status reads and a first set, checked before spending.
            let planned = 5;
            if crate::guard::quota(app, connection, planned).await?.paused {
                return Ok(None);
            }
            let filter = start.map(beyond);
            let count = count(client, object, filter.clone()).await?;
            if count <= app.settings.bulk_threshold {
                clear(app, connection, object).await?;
                return Ok(None);
            }
            let soql = crate::poll::select_mapped(client, config, object, filter, Shape::Unordered)
                .await?;
            let info = client.bulk_query_create(&soql, QueryScope::Live).await?;
            run.messages.push(format!(
                "{object}: {count} records to pull; Bulk API query job {} started",
                info.id
            ));
            let job = JobCheckpoint {
                job_id: info.id,
                start: start.cloned(),
                complete: false,
                locator: None,
                rows_done: 0,
                high: None,
                applied: 0,
            };
            save(app, connection, object, &BulkState::Job(job.clone())).await?;
            job
        }
    };
    continue_job(app, connection, client, config, object, job, run)
        .await
        .map(Some)
}

/// After a REST pull: a full cap means a backlog, so the next poll counts it.
pub(crate) async fn note_rest_pull(
    app: &App,
    connection: &Connection,
    object: &str,
    applied: u32,
    cap: u32,
) -> Result<(), ServiceError> {
    if applied >= cap {
        save(app, connection, object, &BulkState::Backlog).await?;
    }
    Ok(())
}

async fn count(
    client: &SfClient,
    object: &str,
    filter: Option<Condition>,
) -> Result<u64, ServiceError> {
    let describe = client.describe(object).await?;
    let mut builder = SoqlBuilder::new(&describe).select(["Id"]);
    if let Some(f) = filter {
        builder = builder.filter(f);
    }
    let soql = builder.build().map_err(crmsync_salesforce::SfError::from)?;
    // The builder writes `SELECT Id FROM …`; the count keeps its checked FROM/WHERE.
    let soql = format!("SELECT COUNT(){}", &soql["SELECT Id".len()..]);
    let mut pages = client.query(soql);
    match pages.next().await {
        Some(page) => Ok(page?.total_size),
        None => Ok(0),
    }
}

async fn continue_job(
    app: &App,
    connection: &Connection,
    client: &SfClient,
    config: &SyncConfig,
    object: &str,
    mut job: JobCheckpoint,
    run: &mut RunSummary,
) -> Result<u32, ServiceError> {
    let deadline = Instant::now() + app.settings.bulk_run_budget;
    let mut applied_now = 0u32;
    if !job.complete {
        let info = client
            .bulk_query_wait(&job.job_id, PollBackoff::default(), Some(deadline))
            .await?;
        match info.state {
            JobState::JobComplete => job.complete = true,
            JobState::Failed | JobState::Aborted => {
                // The REST pull takes over from the cursor; nothing was applied past it.
                clear(app, connection, object).await?;
                run.messages.push(format!(
                    "{object}: Bulk API job {} ended {:?}: {}; the REST pull continues",
                    job.job_id,
                    info.state,
                    info.error_message.unwrap_or_default()
                ));
                return Ok(0);
            }
            _ => {
                save(app, connection, object, &BulkState::Job(job.clone())).await?;
                run.messages.push(format!(
                    "{object}: Bulk API job {} still {:?}; the next poll continues",
                    job.job_id, info.state
                ));
                return Ok(0);
            }
        }
    }
    let describe = client.describe(object).await?;
    loop {
        let set = client
            .bulk_query_results(
                &job.job_id,
                job.locator.as_deref(),
                app.settings.bulk_set_records,
            )
            .await?;
        let total = set.rows.len();
        let mut i = job.rows_done;
        while i < total {
            let end = (i + ROWS_PER_CHECK).min(total);
            for row in &set.rows[i..end] {
                let record = crmsync_salesforce::Record {
                    attributes: None,
                    fields: typed_record(&set.columns, row, &describe),
                };
                match (record.system_modstamp(), record.id()) {
                    (Some(stamp), Some(id)) => {
                        let pos = CursorPosition {
                            system_modstamp: stamp,
                            last_id: id.to_string(),
                        };
                        if job.high.as_ref().is_none_or(|h| &pos > h) {
                            job.high = Some(pos);
                        }
                    }
                    _ => {
                        run.stats(object).errors += 1;
                        continue;
                    }
                }
                crate::poll::apply_record(app, connection, config, object, &record.fields, run)
                    .await?;
            }
            applied_now += (end - i) as u32;
            job.applied += (end - i) as u64;
            i = end;
            job.rows_done = i;
            if i < total && Instant::now() >= deadline {
                return pause(app, connection, object, job, applied_now, run).await;
            }
        }
        match set.next_locator {
            Some(next) => {
                job.locator = Some(next);
                job.rows_done = 0;
                if Instant::now() >= deadline {
                    return pause(app, connection, object, job, applied_now, run).await;
                }
            }
            None => break,
        }
    }
    if let Some(high) = &job.high
        && job.start.as_ref().is_none_or(|s| high > s)
    {
        app.stores
            .cursors
            .advance(
                &connection.tenant,
                &connection.id,
                object,
                job.start.as_ref(),
                high,
            )
            .await?;
    }
    clear(app, connection, object).await?;
    run.messages.push(format!(
        "{object}: Bulk API job {} done, {} records applied",
        job.job_id, job.applied
    ));
    Ok(applied_now)
}

async fn pause(
    app: &App,
    connection: &Connection,
    object: &str,
    job: JobCheckpoint,
    applied_now: u32,
    run: &mut RunSummary,
) -> Result<u32, ServiceError> {
    run.messages.push(format!(
        "{object}: Bulk API job {}: {} records applied so far; the next poll continues",
        job.job_id, job.applied
    ));
    save(app, connection, object, &BulkState::Job(job)).await?;
    Ok(applied_now)
}
