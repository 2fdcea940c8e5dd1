//! The Bulk API 2.0 ingest job of an import, phase by phase. Every phase ends with a
//! checkpoint, and every phase can run again after a crash without harm:
//!
//! - upload: create (`Open`), one `PUT` of the CSV, close (`UploadComplete`). An `Open` job
//!   applies nothing, so an upload cut short is aborted and started again; a job found
//!   closed already (a crash after the close, before its checkpoint) is not uploaded twice.
//! - processing: the job's state read with backoff until final or the run's time is up.
//! - recording: `successfulResults/` rows linked, `failedResults/` and
//!   `unprocessedrecords/` rows reported, the cursor saved every [`GROUP`] rows. The results
//!   are read again by a later run (the job keeps them 7 days); rows before the cursor are
//!   not linked again, and linking is idempotent anyway.
//!
//! Every Salesforce call is booked with the quota guard before it is sent.

use std::collections::{BTreeMap, VecDeque};
use std::time::Instant;

use crmsync_core::outbound::LinkUpdate;
use crmsync_salesforce::SfClient;
use crmsync_salesforce::bulk::{IngestOperation, JobInfo, JobState, PollBackoff};
use crmsync_store::Connection;
use futures::StreamExt;

use super::rows::{ID_COLUMN, row_fingerprint};
use super::state::{self, ImportFailure, ImportState, Phase, RowEntry};
use crate::app::App;
use crate::error::ServiceError;

/// Results recorded between checkpoints (and looks at the clock).
pub const GROUP: usize = 500;
/// Links written at once.
const LINK_CONCURRENCY: usize = 16;
/// Calls of the upload phase: create, upload, close.
pub const UPLOAD_CALLS: u64 = 3;
/// Calls of one results read: successful, failed, unprocessed.
pub const RESULTS_CALLS: u64 = 3;

/// One run's Salesforce access: the client, the deadline, the calls booked ahead.
pub struct Run<'a> {
    pub app: &'a App,
    pub conn: &'a Connection,
    pub client: &'a SfClient,
    pub deadline: Instant,
    pub backoff: PollBackoff,
    /// Calls reserved with the guard before they were sent.
    pub reserved: u64,
}

impl Run<'_> {
    /// Books `calls` before they are sent; a spent budget stops the run (it resumes later).
    pub(super) async fn reserve(&mut self, calls: u64) -> Result<(), ServiceError> {
        if !crate::guard::reserve(self.app, self.conn, calls).await? {
            return Err(ServiceError::QuotaPaused(self.conn.id.as_str().to_string()));
        }
        self.reserved += calls;
        Ok(())
    }
}

fn operation(state: &ImportState) -> IngestOperation {
    if state.operation == "upsert" {
        IngestOperation::Upsert
    } else {
        IngestOperation::Insert
    }
}

/// A job an earlier attempt created: found closed, the import goes on with it (true: its
/// rows were mapped and matched then, and its records may exist now, so nothing is mapped
/// or matched again); still `Open`, it applied nothing and is aborted (false).
pub async fn take_over(run: &mut Run<'_>, st: &mut ImportState) -> Result<bool, ServiceError> {
    let Some(job) = st.job_id.clone() else {
        return Ok(false);
    };
    run.reserve(1).await?;
    let info = run.client.bulk_ingest_info(&job).await?;
    if info.state != JobState::Open {
        st.phase = Phase::Processing;
        save(run, st).await?;
        return Ok(true);
    }
    run.reserve(1).await?;
    run.client.bulk_ingest_abort(&job).await?;
    st.job_id = None;
    save(run, st).await?;
    Ok(false)
}

/// Creates, uploads and closes the job (phase `Uploading` → `Processing`). A job left by an
/// earlier attempt is aborted when still `Open`, or taken as closed otherwise.
pub async fn upload(
    run: &mut Run<'_>,
    st: &mut ImportState,
    rows: &[Vec<String>],
) -> Result<(), ServiceError> {
    if let Some(job) = st.job_id.clone() {
        run.reserve(1).await?;
        let info = run.client.bulk_ingest_info(&job).await?;
        if info.state != JobState::Open {
            st.phase = Phase::Processing;
            return save(run, st).await;
        }
        run.reserve(1).await?;
        run.client.bulk_ingest_abort(&job).await?;
        st.job_id = None;
    }
    run.reserve(UPLOAD_CALLS).await?;
    let key = (st.operation == "upsert").then(|| {
        st.upsert_key
            .as_deref()
            .unwrap_or(crmsync_core::provision::KEY_FIELD)
    });
    let info = run
        .client
        .bulk_ingest_create(&st.sf_object, operation(st), key)
        .await?;
    st.job_id = Some(info.id.clone());
    save(run, st).await?;
    run.client
        .bulk_ingest_upload(&info.id, &st.columns, rows)
        .await?;
    run.client.bulk_ingest_close(&info.id).await?;
    st.phase = Phase::Processing;
    save(run, st).await
}

/// Moves the import on until it is final or the run's time is up.
pub async fn advance(run: &mut Run<'_>, st: &mut ImportState) -> Result<(), ServiceError> {
    if st.phase == Phase::Processing && !wait(run, st).await? {
        return Ok(());
    }
    if st.phase == Phase::Recording {
        record(run, st).await?;
    }
    Ok(())
}

/// Reads the job's state until final (→ `Recording`); false when the time ran out first.
async fn wait(run: &mut Run<'_>, st: &mut ImportState) -> Result<bool, ServiceError> {
    let Some(job) = st.job_id.clone() else {
        return Err(ServiceError::Internal(format!(
            "import {}: processing without a job",
            st.id
        )));
    };
    let mut n = 0;
    loop {
        run.reserve(1).await?;
        let info = run.client.bulk_ingest_info(&job).await?;
        if info.state.is_final() {
            note_final(st, &info);
            st.phase = Phase::Recording;
            save(run, st).await?;
            return Ok(true);
        }
        n += 1;
        let delay = run.backoff.delay(n);
        if !PollBackoff::fits(delay, Some(run.deadline)) {
            save(run, st).await?;
            return Ok(false);
        }
        tokio::time::sleep(delay).await;
    }
}

fn note_final(st: &mut ImportState, info: &JobInfo) {
    if info.state != JobState::JobComplete {
        st.job_error = Some(format!(
            "the Bulk API job ended {:?}: {}",
            info.state,
            info.error_message.clone().unwrap_or_default()
        ));
    }
}

/// The app record of each result row: a matched row by its record's Id, the others by
/// fingerprint (rows with one fingerprint are taken in order).
struct Owners {
    by_fingerprint: BTreeMap<String, VecDeque<LinkUpdate>>,
    by_id: BTreeMap<String, VecDeque<LinkUpdate>>,
}

impl Owners {
    fn new(entries: Vec<RowEntry>) -> Self {
        let mut by_fingerprint: BTreeMap<String, VecDeque<LinkUpdate>> = BTreeMap::new();
        let mut by_id: BTreeMap<String, VecDeque<LinkUpdate>> = BTreeMap::new();
        for e in entries {
            match e.sf_id {
                Some(id) => by_id
                    .entry(crmsync_core::sfid::canonical(&id))
                    .or_default()
                    .push_back(e.link),
                None => by_fingerprint
                    .entry(e.fingerprint)
                    .or_default()
                    .push_back(e.link),
            }
        }
        Self {
            by_fingerprint,
            by_id,
        }
    }
    /// `sf_id`: the result's `sf__Id`; the uploaded `Id` column is tried too.
    fn take(
        &mut self,
        columns: &[String],
        fields: &BTreeMap<String, String>,
        sf_id: Option<&str>,
    ) -> Option<LinkUpdate> {
        let ids = [sf_id, fields.get(ID_COLUMN).map(String::as_str)];
        for id in ids.into_iter().flatten().filter(|i| !i.is_empty()) {
            let id = crmsync_core::sfid::canonical(id);
            if let Some(l) = self.by_id.get_mut(&id).and_then(VecDeque::pop_front) {
                return Some(l);
            }
        }
        let fp = row_fingerprint(columns, |i| {
            fields.get(&columns[i]).map(String::as_str).unwrap_or("")
        });
        self.by_fingerprint
            .get_mut(&fp)
            .and_then(VecDeque::pop_front)
    }
}

/// Links the successes, reports the failures (→ `Done` or `Failed`).
async fn record(run: &mut Run<'_>, st: &mut ImportState) -> Result<(), ServiceError> {
    let Some(job) = st.job_id.clone() else {
        return Err(ServiceError::Internal(format!(
            "import {}: recording without a job",
            st.id
        )));
    };
    run.reserve(RESULTS_CALLS).await?;
    let results = run.client.bulk_ingest_results(&job).await?;
    let entries = state::load_rows(run.app, run.conn, &st.id, st.chunks).await?;
    let mut owners = Owners::new(entries);
    // Successes first: the cursor counts their rows. Every row takes its owner, also the
    // rows before the cursor, so rows with equal values keep the owners they had.
    let total = results.successful.len();
    let mut pending: Vec<(LinkUpdate, String, bool)> = Vec::new();
    for (i, row) in results.successful.iter().enumerate() {
        let owner = owners.take(&st.columns, &row.fields, row.sf_id.as_deref());
        if (i as u64) < st.successes_done {
            continue;
        }
        match (owner, row.sf_id.clone()) {
            (Some(l), Some(id)) => pending.push((l, id, row.created)),
            (_, id) => st.fail(ImportFailure {
                app_id: "?".into(),
                code: "UNMATCHED_RESULT".into(),
                reason: format!(
                    "Salesforce wrote {} but its row matches no uploaded record",
                    id.unwrap_or_default()
                ),
            }),
        }
        if (i + 1) % GROUP == 0 || i + 1 == total {
            link_all(run, &st.sf_object, &pending).await?;
            for (_, _, created) in pending.drain(..) {
                if created {
                    st.created += 1;
                } else {
                    st.updated += 1;
                }
            }
            st.successes_done = i as u64 + 1;
            save(run, st).await?;
            if i + 1 < total && Instant::now() >= run.deadline {
                return Ok(());
            }
        }
    }
    let failed = results.failed.iter().map(|r| {
        let reason = r.error.clone().unwrap_or_default();
        (&r.fields, r.sf_id.as_deref(), reason)
    });
    let unprocessed = results.unprocessed.iter().map(|f| {
        (
            f,
            None,
            "UNPROCESSED:the job ended before this row was processed".to_string(),
        )
    });
    let mut i = 0u64;
    for (fields, sf_id, reason) in failed.chain(unprocessed) {
        let app_id = owners
            .take(&st.columns, fields, sf_id)
            .map(|l| l.app_id)
            .unwrap_or_else(|| "?".into());
        i += 1;
        if i <= st.failures_done {
            continue;
        }
        let code = reason.split(':').next().unwrap_or("").trim().to_string();
        st.fail(ImportFailure {
            app_id,
            code,
            reason,
        });
        st.failures_done = i;
    }
    st.phase = if st.job_error.is_some() {
        Phase::Failed
    } else {
        Phase::Done
    };
    save(run, st).await?;
    finish(run.app, run.conn, st).await
}

/// Drops a final import's rows and its place among the active ones.
pub async fn finish(app: &App, conn: &Connection, st: &ImportState) -> Result<(), ServiceError> {
    state::drop_rows(app, conn, &st.id, st.chunks).await?;
    let mut active = state::active(app, conn).await?;
    active.retain(|a| a != &st.id);
    state::set_active(app, conn, &active).await
}

async fn link_all(
    run: &Run<'_>,
    sf_object: &str,
    links: &[(LinkUpdate, String, bool)],
) -> Result<(), ServiceError> {
    let writes: Vec<_> = links
        .iter()
        .map(|(l, id, _)| crate::push::linking::write_link(run.app, run.conn, sf_object, id, l))
        .collect();
    let results: Vec<Result<(), ServiceError>> = futures::stream::iter(writes)
        .buffer_unordered(LINK_CONCURRENCY)
        .collect()
        .await;
    results.into_iter().collect()
}

async fn save(run: &Run<'_>, st: &mut ImportState) -> Result<(), ServiceError> {
    st.updated_at = run.app.now();
    state::save(run.app, run.conn, st).await
}

/// `job_error` of an import whose upload was cut short and given up: nothing was applied,
/// so sending the import again uploads it again.
pub const UPLOAD_CUT: &str =
    "the upload was cut short and nothing was applied; send the import again";

/// Settles an upload cut short: a job found closed goes on to processing; an open one is
/// aborted and the import fails with [`UPLOAD_CUT`].
pub async fn settle_upload(run: &mut Run<'_>, st: &mut ImportState) -> Result<(), ServiceError> {
    if let Some(job) = st.job_id.clone() {
        run.reserve(1).await?;
        let info = run.client.bulk_ingest_info(&job).await?;
        if info.state != JobState::Open {
            st.phase = Phase::Processing;
            save(run, st).await?;
            return advance(run, st).await;
        }
        run.reserve(1).await?;
        run.client.bulk_ingest_abort(&job).await?;
    }
    st.phase = Phase::Failed;
    st.job_error = Some(UPLOAD_CUT.into());
    save(run, st).await?;
    finish(run.app, run.conn, st).await
}
