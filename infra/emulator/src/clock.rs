//! A controllable clock: real time plus an offset, or frozen at a set instant.

use chrono::{DateTime, Datelike, Duration, SecondsFormat, Utc};

#[derive(Debug, Clone, Default)]
pub struct Clock {
    offset: Duration,
    frozen: Option<DateTime<Utc>>,
}

impl Clock {
    pub fn now(&self) -> DateTime<Utc> {
        // Salesforce stores milliseconds; truncating keeps round-trips exact.
        let t = self.frozen.unwrap_or_else(Utc::now) + self.offset;
        DateTime::from_timestamp_millis(t.timestamp_millis()).unwrap_or(t)
    }
    /// Moves time forward; `false` (and no change) when the result would be out of range.
    pub fn advance(&mut self, by: Duration) -> bool {
        match (
            self.offset.checked_add(&by),
            self.now().checked_add_signed(by),
        ) {
            (Some(o), Some(t)) if t.year() < 9000 => {
                self.offset = o;
                true
            }
            _ => false,
        }
    }
    /// Jumps to `t`; time keeps running from there.
    pub fn set(&mut self, t: DateTime<Utc>) {
        self.frozen = None;
        self.offset = t - Utc::now();
    }
    /// Stops time at `t` (until the next `set`/`freeze`); `advance` still moves it.
    pub fn freeze(&mut self, t: DateTime<Utc>) {
        self.frozen = Some(t);
        self.offset = Duration::zero();
    }
}

/// `2026-11-21T07:57:32.000+0000`, Salesforce's datetime wire format.
pub fn sf_datetime(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%S%.3f+0000").to_string()
}

/// Parses the datetime formats Salesforce accepts (`Z`, `+0000`, `+00:00`, with or without millis).
pub fn parse_datetime(s: &str) -> Option<DateTime<Utc>> {
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Some(t.with_timezone(&Utc));
    }
    for f in ["%Y-%m-%dT%H:%M:%S%.f%z", "%Y-%m-%dT%H:%M:%S%z"] {
        if let Ok(t) = DateTime::parse_from_str(s, f) {
            return Some(t.with_timezone(&Utc));
        }
    }
    None
}

/// RFC 3339 with `Z`, used by the admin API.
pub fn iso(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}
