//! The CLI's error type: which step failed and why, never a secret.

use thiserror::Error;

#[derive(Debug, Error)]
pub enum CliError {
    #[error(transparent)]
    Service(#[from] crmsync_service::ServiceError),
    #[error("state store: {0}")]
    Store(#[from] crmsync_store::StoreError),
    #[error("Salesforce emulator: {0}")]
    Emulator(#[from] sf_emulator::EmulatorError),
    /// An HTTP exchange outside the service (the OAuth redirect hop, a listener).
    #[error("{what}: {message}")]
    Http { what: String, message: String },
    /// The OAuth flow ended without a code (denied, wrong client, bad redirect).
    #[error("OAuth: {0}")]
    OAuth(String),
    /// A step ran but did not reach the state it should have.
    #[error("{step}: {message}")]
    Step { step: String, message: String },
    /// Bad command-line input, naming the option.
    #[error("{option}: {message}")]
    Usage { option: String, message: String },
    #[error("{path}: {message}")]
    Io { path: String, message: String },
}

impl CliError {
    pub fn step(step: impl Into<String>, message: impl Into<String>) -> Self {
        Self::Step {
            step: step.into(),
            message: message.into(),
        }
    }

    pub fn usage(option: impl Into<String>, message: impl Into<String>) -> Self {
        Self::Usage {
            option: option.into(),
            message: message.into(),
        }
    }

    pub fn http(what: impl Into<String>, e: impl std::fmt::Display) -> Self {
        Self::Http {
            what: what.into(),
            message: e.to_string(),
        }
    }

    /// Whether trying the same command again later may succeed.
    pub fn is_retryable(&self) -> bool {
        match self {
            Self::Service(e) => e.is_retryable(),
            Self::Store(e) => e.is_retryable(),
            Self::Http { .. } | Self::Io { .. } => true,
            _ => false,
        }
    }
}

pub type CliResult<T> = Result<T, CliError>;
