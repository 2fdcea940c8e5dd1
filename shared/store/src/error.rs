//! The one error type every port returns.

/// What can go wrong talking to state, tokens or queues.
///
/// Messages never carry secret values: adapters build them from AWS error codes, key
/// names and field names only.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A conditional write lost: someone else wrote first, or the expected version /
    /// owner / position did not match. Re-read and decide; retrying blindly is wrong.
    #[error("conflict: {0}")]
    Conflict(String),
    /// The item an update needs does not exist.
    #[error("not found: {0}")]
    NotFound(String),
    /// Bad input from the caller, naming the field.
    #[error("invalid {field}: {message}")]
    InvalidInput { field: String, message: String },
    /// Transient: throttling, 5xx, timeouts, connection failures. Safe to retry later.
    #[error("{service} {operation} temporarily failed: {message}")]
    Unavailable {
        service: &'static str,
        operation: &'static str,
        message: String,
    },
    /// Permanent rejection by the service (validation, access denied, missing table...).
    #[error("{service} {operation} rejected ({code}): {message}")]
    Rejected {
        service: &'static str,
        operation: &'static str,
        code: String,
        message: String,
    },
    /// Stored data that no longer decodes (schema drift or manual edits).
    #[error("stored item {key} is corrupt: {message}")]
    Corrupt { key: String, message: String },
    /// The embedded adapter's state file could not be read or written.
    #[error("state file {path}: {message}")]
    Io { path: String, message: String },
}

impl StoreError {
    /// True for failures that may succeed if tried again later.
    pub fn is_retryable(&self) -> bool {
        matches!(self, StoreError::Unavailable { .. } | StoreError::Io { .. })
    }

    /// True when a conditional write lost a race.
    pub fn is_conflict(&self) -> bool {
        matches!(self, StoreError::Conflict(_))
    }

    pub(crate) fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        StoreError::InvalidInput {
            field: field.into(),
            message: message.into(),
        }
    }

    pub(crate) fn corrupt(key: impl Into<String>, message: impl ToString) -> Self {
        StoreError::Corrupt {
            key: key.into(),
            message: message.to_string(),
        }
    }
}

/// Result alias for the crate.
pub type StoreResult<T> = Result<T, StoreError>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retryable_only_for_transient_errors() {
        let transient = StoreError::Unavailable {
            service: "dynamodb",
            operation: "PutItem",
            message: "throttled".into(),
        };
        assert!(transient.is_retryable());
        assert!(!StoreError::Conflict("x".into()).is_retryable());
        assert!(!StoreError::invalid("tenant", "bad").is_retryable());
        assert!(StoreError::Conflict("x".into()).is_conflict());
    }
}
