//! The service's error type: every failure says whether a retry can help and maps to an
//! HTTP status and a stable machine-readable code for the report API.

use thiserror::Error;

#[derive(Debug, Error)]
pub enum ServiceError {
    #[error("setting {var} must be {expected}")]
    Settings {
        var: &'static str,
        expected: &'static str,
    },
    #[error("invalid request: {field}: {message}")]
    BadRequest { field: String, message: String },
    #[error("unauthorized: {0}")]
    Unauthorized(String),
    #[error("not found: {0}")]
    NotFound(String),
    #[error("conflict: {0}")]
    Conflict(String),
    #[error("connection {0} needs to be reconnected to Salesforce")]
    ReconnectNeeded(String),
    #[error("connection {0} is paused: its share of the Salesforce daily API limit is spent")]
    QuotaPaused(String),
    #[error("sync config is not valid: {0}")]
    InvalidConfig(String),
    #[error("salesforce: {0}")]
    Salesforce(#[from] crmsync_salesforce::SfError),
    #[error("state store: {0}")]
    Store(#[from] crmsync_store::StoreError),
    #[error("event {0} is being pushed by another worker; it is retried later")]
    InFlight(String),
    #[error("internal error: {0}")]
    Internal(String),
}

impl ServiceError {
    pub fn settings(var: &'static str, expected: &'static str) -> Self {
        Self::Settings { var, expected }
    }

    pub fn bad_request(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self::BadRequest {
            field: field.into(),
            message: message.into(),
        }
    }

    /// Whether the same work may succeed if tried again later (so a queue should redeliver).
    pub fn is_retryable(&self) -> bool {
        match self {
            Self::Salesforce(e) => e.is_retryable(),
            Self::Store(e) => e.is_retryable(),
            Self::QuotaPaused(_) | Self::InFlight(_) => true,
            // Internal failures (a stored config that does not parse...) repeat on retry.
            Self::Internal(_) => false,
            _ => false,
        }
    }

    /// HTTP status for API responses.
    pub fn http_status(&self) -> u16 {
        match self {
            Self::BadRequest { .. } | Self::InvalidConfig(_) => 400,
            Self::Unauthorized(_) => 401,
            Self::NotFound(_) => 404,
            Self::Conflict(_) | Self::ReconnectNeeded(_) | Self::InFlight(_) => 409,
            Self::QuotaPaused(_) => 429,
            Self::Salesforce(e) if e.is_retryable() => 503,
            Self::Salesforce(_) => 502,
            Self::Store(e) if e.is_retryable() => 503,
            Self::Settings { .. } | Self::Store(_) | Self::Internal(_) => 500,
        }
    }

    /// Stable code for API error bodies.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Settings { .. } => "settings",
            Self::BadRequest { .. } => "bad_request",
            Self::Unauthorized(_) => "unauthorized",
            Self::NotFound(_) => "not_found",
            Self::Conflict(_) => "conflict",
            Self::ReconnectNeeded(_) => "reconnect_needed",
            Self::QuotaPaused(_) => "quota_paused",
            Self::InFlight(_) => "in_flight",
            Self::InvalidConfig(_) => "invalid_config",
            Self::Salesforce(_) => "salesforce",
            Self::Store(_) => "store",
            Self::Internal(_) => "internal",
        }
    }
}
