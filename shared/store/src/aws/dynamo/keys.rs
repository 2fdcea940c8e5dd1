//! Key layout of the single table (see the crate docs for the table of item types).

use chrono::{DateTime, NaiveDate, Utc};

use crate::ids::{ConnectionId, TenantId};

pub const PK: &str = "pk";
pub const SK: &str = "sk";
pub const GSI1: &str = "gsi1";
pub const GSI1PK: &str = "gsi1pk";
pub const GSI1SK: &str = "gsi1sk";
/// TTL attribute (epoch seconds).
pub const TTL: &str = "expires_at";

pub fn tenant_pk(t: &TenantId) -> String {
    format!("TENANT#{t}")
}
pub const TENANT_SK: &str = "TENANT";
pub fn api_key_gsi(hash: &str) -> String {
    format!("APIKEY#{hash}")
}

pub fn connection_sk(c: &ConnectionId) -> String {
    format!("CONN#{c}")
}
pub const CONNECTIONS_GSI: &str = "CONNS";
pub fn connection_gsi_sk(t: &TenantId, c: &ConnectionId) -> String {
    format!("TENANT#{t}#CONN#{c}")
}

pub fn config_prefix(c: &ConnectionId) -> String {
    format!("CONFIG#{c}#v")
}
pub fn config_sk(c: &ConnectionId, version: u64) -> String {
    format!("{}{version:010}", config_prefix(c))
}

pub fn cursor_sk(c: &ConnectionId, object: &str) -> String {
    format!("CURSOR#{c}#{object}")
}

/// A long job's checkpoint: `CHECKPOINT#c#name`.
pub fn checkpoint_sk(c: &ConnectionId, name: &str) -> String {
    format!("CHECKPOINT#{c}#{name}")
}

pub fn link_sk(c: &ConnectionId, app_object: &str, app_id: &str) -> String {
    format!("LINK#{c}#{app_object}#{app_id}")
}
pub fn link_gsi(t: &TenantId, c: &ConnectionId, sf_id: &str) -> String {
    format!("SFID#{t}#{c}#{sf_id}")
}
pub const LINK_GSI_SK: &str = "LINK";

pub fn report_sk(c: &ConnectionId, event_id: &str) -> String {
    format!("REPORT#{c}#{event_id}")
}
pub fn intent_sk(c: &ConnectionId, event_id: &str) -> String {
    format!("INTENT#{c}#{event_id}")
}

pub fn report_gsi(t: &TenantId, c: &ConnectionId, status: &str) -> String {
    format!("REPORTS#{t}#{c}#{status}")
}
pub fn millis_key(at: DateTime<Utc>) -> String {
    format!("{:015}", at.timestamp_millis().max(0))
}
pub fn report_gsi_sk(at: DateTime<Utc>, event_id: &str) -> String {
    format!("{}#{event_id}", millis_key(at))
}

/// Every run of one connection: `RUN#c#` (the trailing `#` keeps `c` from matching `c2`).
pub fn run_prefix(c: &ConnectionId) -> String {
    format!("RUN#{c}#")
}
/// `RUN#c#startedMs#runId`: a connection's runs sort by start time.
pub fn run_sk(c: &ConnectionId, started_at: DateTime<Utc>, run_id: &str) -> String {
    format!("{}{}#{run_id}", run_prefix(c), millis_key(started_at))
}

pub const CHANGE_PREFIX: &str = "CHANGE#";
pub fn change_sk(seq: u64) -> String {
    format!("{CHANGE_PREFIX}{seq:020}")
}
pub const CHANGE_SEQ_SK: &str = "CHANGESEQ";

pub fn quota_sk(c: &ConnectionId, day: NaiveDate) -> String {
    format!("QUOTA#{c}#{day}")
}
pub fn quota_limit_sk(c: &ConnectionId) -> String {
    format!("QUOTALIMIT#{c}")
}

pub fn idempotency_sk(key: &str) -> String {
    format!("IDEM#{key}")
}

pub fn oauth_pk(state: &str) -> String {
    format!("OAUTH#{state}")
}
pub const OAUTH_SK: &str = "OAUTH";

pub fn lease_pk(name: &str) -> String {
    format!("LEASE#{name}")
}
pub const LEASE_SK: &str = "LEASE";

/// The cursor's sortable form, used in conditions: `ms#id`.
pub fn cursor_pos(modstamp: DateTime<Utc>, id: &str) -> String {
    format!("{}#{id}", millis_key(modstamp))
}

/// One connection's push outbox: `OUTBOX#t#c` (its own partition, so a busy connection's
/// outbox does not share a partition with the tenant's other items).
pub fn outbox_pk(t: &TenantId, c: &ConnectionId) -> String {
    format!("OUTBOX#{t}#{c}")
}
pub const OUTBOX_ENTRY_PREFIX: &str = "ENTRY#";
pub fn outbox_sk(seq: u64) -> String {
    format!("{OUTBOX_ENTRY_PREFIX}{seq:020}")
}
pub const OUTBOX_SEQ_SK: &str = "SEQ";
