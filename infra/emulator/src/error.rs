//! Error types: [`EmulatorError`] for the Rust API, [`ApiError`] for Salesforce-shaped
//! HTTP error responses (a JSON array of `{message, errorCode, fields}`).

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

/// Errors from the in-process API (start-up, seeding, admin operations).
#[derive(Debug, thiserror::Error)]
pub enum EmulatorError {
    #[error("could not bind the emulator listener: {0}")]
    Bind(#[source] std::io::Error),
    #[error("could not read seed file {path}: {source}")]
    SeedIo {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("invalid seed {path}: {message}")]
    Seed { path: String, message: String },
    #[error("unknown org alias `{0}`")]
    UnknownOrg(String),
    #[error("unknown user `{0}`")]
    UnknownUser(String),
    #[error("{code}: {message}")]
    Api { code: String, message: String },
}

impl EmulatorError {
    /// Only binding can succeed on a retry (e.g. the port was briefly in use).
    pub fn is_retryable(&self) -> bool {
        matches!(self, EmulatorError::Bind(_))
    }
}

impl From<ApiError> for EmulatorError {
    fn from(e: ApiError) -> Self {
        EmulatorError::Api {
            code: e.code,
            message: e.message,
        }
    }
}

/// A Salesforce REST error: status, errorCode, message, fields.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: String,
    pub message: String,
    pub fields: Vec<String>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &str, message: impl Into<String>) -> Self {
        Self {
            status,
            code: code.to_string(),
            message: message.into(),
            fields: Vec::new(),
        }
    }
    pub fn bad(code: &str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, message)
    }
    pub fn with_fields(mut self, fields: Vec<String>) -> Self {
        self.fields = fields;
        self
    }
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "NOT_FOUND", message)
    }
    pub fn invalid_session() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "INVALID_SESSION_ID",
            "Session expired or invalid",
        )
    }
    /// The per-record error shape used by collections (`statusCode`, not `errorCode`).
    pub fn record_error(&self) -> serde_json::Value {
        json!({"statusCode": self.code, "message": self.message, "fields": self.fields})
    }
    pub fn body(&self) -> serde_json::Value {
        let mut e = json!({"message": self.message, "errorCode": self.code});
        if !self.fields.is_empty() {
            e["fields"] = json!(self.fields);
        }
        json!([e])
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.status, axum::Json(self.body())).into_response()
    }
}
