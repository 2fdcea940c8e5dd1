//! Small helpers shared by the adapters.

use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::error::{StoreError, StoreResult};
use crate::ids::validate_key_part;
use crate::model::CursorPosition;

/// `now + ttl`, rejecting absurd TTLs instead of overflowing.
pub(crate) fn expiry(now: DateTime<Utc>, ttl: Duration, field: &str) -> StoreResult<DateTime<Utc>> {
    chrono::Duration::from_std(ttl)
        .ok()
        .and_then(|d| now.checked_add_signed(d))
        .ok_or_else(|| StoreError::invalid(field, "duration out of range"))
}

/// Truncates to whole milliseconds, the precision stored everywhere.
pub(crate) fn millis(t: DateTime<Utc>) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(t.timestamp_millis()).unwrap_or(t)
}

pub(crate) fn check_parts(parts: &[(&str, &str)]) -> StoreResult<()> {
    parts
        .iter()
        .try_for_each(|(field, value)| validate_key_part(field, value))
}

pub(crate) fn check_position(p: &CursorPosition) -> StoreResult<()> {
    validate_key_part("cursor.last_id", &p.last_id)
}
