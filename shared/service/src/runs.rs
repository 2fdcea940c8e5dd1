//! Run summaries: what one poll, test sync, push batch or sweep did, for logs, the CLI and
//! the report API.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::Serialize;

/// Counts for one Salesforce object in one run.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ObjectStats {
    pub fetched: u64,
    pub created: u64,
    pub updated: u64,
    pub unchanged: u64,
    pub skipped: u64,
    pub unlinked: u64,
    pub errors: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RunKind {
    Poll,
    TestSync,
    Sweep,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
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
    /// The sync config is not ready (e.g. a required app field is unmapped).
    NotReady,
    Failed,
}

/// One run's outcome.
#[derive(Debug, Clone, PartialEq, Serialize)]
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
