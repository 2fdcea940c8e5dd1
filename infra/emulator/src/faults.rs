//! Per-org fault injection: latency, 5xx and `UNABLE_TO_LOCK_ROW` at a rate, forced 401,
//! a 401 for the next N requests (an expired session), and "commit, then lose the response".

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
    /// The next N data requests answer 401 `INVALID_SESSION_ID` (counts down): an access
    /// token that expired early; a refresh then works again.
    pub unauthorized_next: u32,
    /// Share of write requests that commit and then answer 500, as if the response was lost
    /// (timeout, reset, or a 500 after the commit).
    pub commit_lost_rate: f64,
    /// The org's API is off (an edition without API access, or an admin turned it off):
    /// every data request answers 403 `API_DISABLED_FOR_ORG` with Salesforce's message,
    /// `The REST API is not enabled for this Organization.` (as recorded in public client
    /// tests, e.g. jsforce-based connectors and django-allauth's Salesforce provider).
    pub api_disabled: bool,
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
    pub fn unauthorized_next(mut self, n: u32) -> Self {
        self.unauthorized_next = n;
        self
    }
    pub fn api_disabled(mut self, yes: bool) -> Self {
        self.api_disabled = yes;
        self
    }
    pub fn commit_lost(mut self, rate: f64) -> Self {
        self.commit_lost_rate = rate;
        self
    }

    /// Spends one of `unauthorized_next`; true when this request must answer 401.
    pub fn take_unauthorized(&mut self) -> bool {
        if self.unauthorized_next > 0 {
            self.unauthorized_next -= 1;
            return true;
        }
        false
    }

    /// Whether this write commits and then loses its response.
    pub fn loses_commit(&self, rng: &mut impl rand::Rng) -> bool {
        self.commit_lost_rate > 0.0 && rng.random_bool(self.commit_lost_rate.clamp(0.0, 1.0))
    }
}

/// The answer a write whose response was lost gets, after it committed.
pub fn lost_response() -> crate::error::ApiError {
    crate::error::ApiError::new(
        axum::http::StatusCode::INTERNAL_SERVER_ERROR,
        "UNKNOWN_EXCEPTION",
        "An unexpected error occurred (the response was lost after the write committed)",
    )
}
