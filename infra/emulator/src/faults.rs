//! Per-org fault injection: latency, 5xx and `UNABLE_TO_LOCK_ROW` at a rate, forced 401.

use serde::{Deserialize, Serialize};

/// Faults applied to the org's data API (`/services/data/...`). Rates are 0.0..=1.0.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct FaultSpec {
    /// Added delay on every data request.
    pub latency_ms: u64,
    /// Share of requests answered with `error_status` (500 or 503).
    pub error_rate: f64,
    /// 500 (default) or 503.
    pub error_status: Option<u16>,
    /// Share of write requests answered with `UNABLE_TO_LOCK_ROW`.
    pub lock_row_rate: f64,
    /// Every data request answers 401 `INVALID_SESSION_ID`.
    pub force_401: bool,
}

impl FaultSpec {
    pub fn none() -> Self {
        Self::default()
    }
    pub fn latency(mut self, ms: u64) -> Self {
        self.latency_ms = ms;
        self
    }
    pub fn errors(mut self, status: u16, rate: f64) -> Self {
        self.error_status = Some(status);
        self.error_rate = rate;
        self
    }
    pub fn lock_rows(mut self, rate: f64) -> Self {
        self.lock_row_rate = rate;
        self
    }
    pub fn unauthorized(mut self, yes: bool) -> Self {
        self.force_401 = yes;
        self
    }
}
