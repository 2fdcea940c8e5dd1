//! Run summaries: what one poll, test sync, push batch or sweep did, for logs, the CLI and
//! the report API. Finished polls, test syncs and sweeps are kept as the connection's run
//! history ([`save`], read by `GET /v1/connections/{c}/runs`) for [`RUN_HISTORY_DAYS`].

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};

use chrono::{DateTime, Utc};
use crmsync_store::{ConnectionId, RunRecord, TenantId};
use serde::Serialize;

use crate::app::App;

/// How long a finished run stays in the history (from when it finished).
pub const RUN_HISTORY_DAYS: i64 = 30;

/// Counts for one Salesforce object in one run.
#[derive(Debug, Clone, Default, PartialEq, Serialize, utoipa::ToSchema)]
pub struct ObjectStats {
    pub fetched: u64,
    pub created: u64,
    pub updated: u64,
    pub unchanged: u64,
    pub skipped: u64,
    pub unlinked: u64,
    pub errors: u64,
}

/// What a drift comparison found and fixed (`drift_scan` in a poll, `drift_check` for the
/// app's side), counted by record.
#[derive(Debug, Clone, Default, PartialEq, Serialize, utoipa::ToSchema)]
pub struct DriftStats {
    /// Linked records compared.
    pub compared: u64,
    /// Records whose Salesforce value of a mapped field was not what crmsync last carried.
    pub salesforce_drifted: u64,
    /// Of those, fed to the app (a `drift` change-feed entry); the others were refused by
    /// a rule (a notice tells the app) or the conflict policy.
    pub salesforce_fixed: u64,
    /// App records whose value of an outbound field was not what crmsync last carried.
    pub app_drifted: u64,
    /// Of those, queued to the push as update events.
    pub app_fixed: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RunKind {
    Poll,
    TestSync,
    Sweep,
    /// The app sent its values for a drift comparison (`POST …/drift-check`).
    DriftCheck,
}

impl RunKind {
    /// The serialized name (`poll`, `test_sync`, `sweep`).
    pub fn as_str(self) -> &'static str {
        match self {
            RunKind::Poll => "poll",
            RunKind::TestSync => "test_sync",
            RunKind::Sweep => "sweep",
            RunKind::DriftCheck => "drift_check",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RunStatus {
    Completed,
    /// Stopped at the per-run cap; the rest comes next run.
    Capped,
    /// Another worker holds this connection's lease.
    Busy,
    /// The connection is not Connected (needs reconnect, disconnected, failed).
    NotConnected,
    /// The connection's API budget is spent for now.
    QuotaPaused,
    /// Today's projected API burn passes the budget: this poll waits for a longer interval.
    Slowed,
    /// The sync config is not ready (e.g. a required app field is unmapped).
    NotReady,
    /// The connection's sync is switched off.
    SyncOff,
    /// The connection's own sweep interval has not passed since its last sweep.
    NotDue,
    Failed,
}

impl RunStatus {
    /// The serialized name (`completed`, `capped`, `busy`, `not_connected`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            RunStatus::Completed => "completed",
            RunStatus::Capped => "capped",
            RunStatus::Busy => "busy",
            RunStatus::NotConnected => "not_connected",
            RunStatus::QuotaPaused => "quota_paused",
            RunStatus::Slowed => "slowed",
            RunStatus::NotReady => "not_ready",
            RunStatus::SyncOff => "sync_off",
            RunStatus::NotDue => "not_due",
            RunStatus::Failed => "failed",
        }
    }
}

/// One run's outcome.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct RunSummary {
    pub tenant: String,
    pub connection: String,
    pub kind: RunKind,
    pub status: RunStatus,
    pub started_at: DateTime<Utc>,
    pub finished_at: DateTime<Utc>,
    pub objects: BTreeMap<String, ObjectStats>,
    /// Salesforce owners whose email maps to no app user (they got the default owner).
    pub unmapped_owners: Vec<String>,
    /// Why records were skipped, with how many (e.g. "Lead: required app field `phone` is
    /// blank" → 15).
    pub skip_reasons: BTreeMap<String, u64>,
    /// Problems worth showing (per-record errors, readiness problems), never secrets.
    pub messages: Vec<String>,
    pub api_calls: u64,
    /// Set when the run compared records for drift.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub drift: Option<DriftStats>,
}

impl RunSummary {
    pub fn new(tenant: &str, connection: &str, kind: RunKind, now: DateTime<Utc>) -> Self {
        Self {
            tenant: tenant.to_string(),
            connection: connection.to_string(),
            kind,
            status: RunStatus::Completed,
            started_at: now,
            finished_at: now,
            objects: BTreeMap::new(),
            unmapped_owners: Vec::new(),
            skip_reasons: BTreeMap::new(),
            messages: Vec::new(),
            api_calls: 0,
            drift: None,
        }
    }

    pub fn stats(&mut self, object: &str) -> &mut ObjectStats {
        self.objects.entry(object.to_string()).or_default()
    }

    pub fn note_unmapped_owner(&mut self, email: &str) {
        if !self
            .unmapped_owners
            .iter()
            .any(|e| e.eq_ignore_ascii_case(email))
        {
            self.unmapped_owners.push(email.to_string());
        }
    }

    /// Counts one skipped record of `object` under its reason.
    pub fn note_skip(&mut self, object: &str, reason: &str) {
        self.stats(object).skipped += 1;
        *self
            .skip_reasons
            .entry(format!("{object}: {reason}"))
            .or_default() += 1;
    }

    /// The run's drift counts, started at zero when it first compares.
    pub fn drift(&mut self) -> &mut DriftStats {
        self.drift.get_or_insert_default()
    }

    pub fn total(&self) -> ObjectStats {
        let mut t = ObjectStats::default();
        for s in self.objects.values() {
            t.fetched += s.fetched;
            t.created += s.created;
            t.updated += s.updated;
            t.unchanged += s.unchanged;
            t.skipped += s.skipped;
            t.unlinked += s.unlinked;
            t.errors += s.errors;
        }
        t
    }
}

/// Adds a finished run to its connection's history, kept [`RUN_HISTORY_DAYS`] after it
/// finished. Runs where nothing happened are not kept: `Busy` (another worker held the
/// lease) and quota-paused or slowed minute polls (one a minute while a budget is spent or
/// stretched; the quota endpoint shows that state).
/// Never fails: the history is a report, so a write that fails is logged and the run goes
/// on as if it had been recorded.
pub async fn save(app: &App, run: &RunSummary) {
    let nothing_happened = run.status == RunStatus::Busy
        || (run.kind == RunKind::Poll
            && matches!(run.status, RunStatus::QuotaPaused | RunStatus::Slowed));
    if nothing_happened {
        return;
    }
    let result = match record_of(run) {
        Ok(record) => app.stores.runs.record(&record).await,
        Err(e) => Err(e),
    };
    if let Err(e) = result {
        tracing::warn!(
            tenant = run.tenant,
            connection = run.connection,
            kind = run.kind.as_str(),
            status = run.status.as_str(),
            error = %e,
            "run history not recorded"
        );
    }
}

/// A run id that sorts by creation: wall-clock nanoseconds, kept strictly increasing
/// within the process, then a random tail that keeps different workers' ids apart. The
/// history lists runs that started in the same millisecond newest id first, so in the
/// order they were recorded.
fn new_run_id() -> String {
    static LAST: AtomicU64 = AtomicU64::new(0);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX));
    let next = |last: u64| now.max(last.saturating_add(1));
    let last = LAST
        .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |last| {
            Some(next(last))
        })
        .unwrap_or_else(|last| last);
    let random = uuid::Uuid::new_v4().simple().to_string();
    format!("{:016x}-{}", next(last), &random[..12])
}

/// The stored form of a finished run.
fn record_of(run: &RunSummary) -> crmsync_store::StoreResult<RunRecord> {
    let summary =
        serde_json::to_value(run).map_err(|e| crmsync_store::StoreError::InvalidInput {
            field: "summary".into(),
            message: e.to_string(),
        })?;
    Ok(RunRecord {
        tenant: TenantId::new(run.tenant.as_str())?,
        connection: ConnectionId::new(run.connection.as_str())?,
        id: new_run_id(),
        kind: run.kind.as_str().to_string(),
        status: run.status.as_str().to_string(),
        started_at: run.started_at,
        finished_at: run.finished_at,
        summary,
        summary_truncated: false,
        expires_at: run
            .finished_at
            .checked_add_signed(chrono::Duration::days(RUN_HISTORY_DAYS)),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_match_the_serialized_form() {
        for kind in [
            RunKind::Poll,
            RunKind::TestSync,
            RunKind::Sweep,
            RunKind::DriftCheck,
        ] {
            assert_eq!(serde_json::to_value(kind).unwrap(), kind.as_str());
        }
        for status in [
            RunStatus::Completed,
            RunStatus::Capped,
            RunStatus::Busy,
            RunStatus::NotConnected,
            RunStatus::QuotaPaused,
            RunStatus::Slowed,
            RunStatus::NotReady,
            RunStatus::Failed,
        ] {
            assert_eq!(serde_json::to_value(status).unwrap(), status.as_str());
        }
    }

    #[test]
    fn run_ids_sort_in_creation_order() {
        let ids: Vec<String> = (0..1000).map(|_| new_run_id()).collect();
        let mut sorted = ids.clone();
        sorted.sort();
        sorted.dedup();
        assert_eq!(sorted, ids);
        assert!(ids.iter().all(|id| id.len() == 29 && !id.contains('#')));
    }

    #[test]
    fn records_expire_thirty_days_after_the_run_finished() {
        let start = Utc::now();
        let mut run = RunSummary::new("acme", "prod", RunKind::Sweep, start);
        run.finished_at = start + chrono::Duration::minutes(3);
        run.stats("Lead").unlinked = 2;
        let r = record_of(&run).unwrap();
        assert_eq!((r.kind.as_str(), r.status.as_str()), ("sweep", "completed"));
        assert_eq!(
            r.expires_at,
            Some(run.finished_at + chrono::Duration::days(30))
        );
        assert_eq!(r.summary["objects"]["Lead"]["unlinked"], 2);
        assert_eq!(r.summary, serde_json::to_value(&run).unwrap());
    }
}
