//! Typed errors: every failure is classified as auth, rate limit, retryable or permanent.

use serde::Deserialize;

use crate::soql::SoqlError;

/// Everything that can go wrong talking to Salesforce.
///
/// Messages come from Salesforce's error bodies or from this crate; they never contain
/// access or refresh tokens.
#[derive(Clone, Debug, thiserror::Error)]
pub enum SfError {
    /// The session or the grant is not usable. `reconnect_needed` means a refresh cannot
    /// help (revoked or expired refresh token, `invalid_grant`): a human must reconnect.
    #[error("Salesforce authentication failed ({code}): {message}")]
    Auth {
        reconnect_needed: bool,
        code: String,
        message: String,
    },
    /// The connected app's own credentials were refused (`invalid_client`, for example while
    /// its secret rotates). Not the connection's fault: retry, and alarm the operator.
    #[error("Salesforce refused the connected app's credentials ({code}): {message}")]
    AppCredentials { code: String, message: String },
    /// The org's API request limit is used up (`REQUEST_LIMIT_EXCEEDED`). Pause, don't retry now.
    #[error("Salesforce API request limit exceeded: {message}")]
    RateLimited { message: String },
    /// Transient: 5xx, `UNABLE_TO_LOCK_ROW`, timeouts, connection errors.
    #[error("transient Salesforce failure ({code}): {message}")]
    Retryable {
        status: Option<u16>,
        code: String,
        message: String,
    },
    /// Salesforce rejected the request; sending it again will fail the same way.
    /// Query errors (`MALFORMED_QUERY`, `INVALID_FIELD`, `INVALID_TYPE`) land here too.
    #[error("Salesforce rejected the request (HTTP {status} {code}): {message}")]
    Permanent {
        status: u16,
        code: String,
        message: String,
        fields: Vec<String>,
    },
    /// An upsert by external id matched several records (HTTP 300).
    #[error("upsert of {sobject} by {field} matched {} records", matches.len())]
    UpsertMultipleMatches {
        sobject: String,
        field: String,
        /// The matching records' URLs, as Salesforce returned them.
        matches: Vec<String>,
    },
    /// getUpdated/getDeleted start is older than the log Salesforce keeps: reconcile by Id scan.
    #[error("replication date out of range (INVALID_REPLICATION_DATE): {message}")]
    InvalidReplicationDate { message: String },
    /// getUpdated/getDeleted would return more than 600,000 ids: use a smaller window.
    #[error("too many ids for one replication call (EXCEEDED_ID_LIMIT): {message}")]
    ExceededIdLimit { message: String },
    /// A SOQL query could not be built (unknown field, bad literal).
    #[error(transparent)]
    Soql(#[from] SoqlError),
    /// The caller passed something this client refuses to send.
    #[error("invalid input for {field}: {message}")]
    InvalidInput { field: String, message: String },
    /// Salesforce answered with a body this client could not understand.
    #[error("unexpected Salesforce response for {context}: {message}")]
    Decode { context: String, message: String },
    /// The client is misconfigured (bad URL, bad API version).
    #[error("Salesforce client configuration error: {message}")]
    Config { message: String },
}

impl SfError {
    /// Sending the same request again later may succeed.
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            SfError::Retryable { .. } | SfError::AppCredentials { .. }
        )
    }

    /// The connected app's credentials (not a connection's grant) were refused.
    pub fn is_app_credentials(&self) -> bool {
        matches!(self, SfError::AppCredentials { .. })
    }

    /// Credentials are the problem (refresh or reconnect).
    pub fn is_auth(&self) -> bool {
        matches!(self, SfError::Auth { .. })
    }

    /// Only a new OAuth consent fixes this: mark the connection `ReconnectNeeded`.
    pub fn is_reconnect_needed(&self) -> bool {
        matches!(
            self,
            SfError::Auth {
                reconnect_needed: true,
                ..
            }
        )
    }

    pub fn is_rate_limited(&self) -> bool {
        matches!(self, SfError::RateLimited { .. })
    }

    /// A SOQL problem reported by Salesforce or found while building the query.
    pub fn is_query_error(&self) -> bool {
        match self {
            SfError::Soql(_) => true,
            SfError::Permanent { code, .. } => {
                matches!(
                    code.as_str(),
                    "MALFORMED_QUERY" | "INVALID_FIELD" | "INVALID_TYPE" | "INVALID_QUERY_LOCATOR"
                )
            }
            _ => false,
        }
    }

    /// The org refuses this connection's API use until an admin acts: the API is off for
    /// the org (`API_DISABLED_FOR_ORG`, editions without API access) or for the user
    /// (`API_CURRENTLY_DISABLED`, no "API Enabled" permission), the org is locked
    /// (`ORG_LOCKED`), or the user lacks access (`INSUFFICIENT_ACCESS`). Codes from the
    /// API's `ExceptionCode` list (partner WSDL); the connection turns `Failed`.
    /// (`INSUFFICIENT_ACCESS_OR_READONLY` is per record and does not count.)
    pub fn is_org_refusal(&self) -> bool {
        matches!(
            self,
            SfError::Permanent { code, .. } if matches!(
                code.as_str(),
                "API_DISABLED_FOR_ORG" | "API_CURRENTLY_DISABLED" | "ORG_LOCKED" | "INSUFFICIENT_ACCESS"
            )
        )
    }

    /// 404 `NOT_FOUND` (or an equivalent code).
    pub fn is_not_found(&self) -> bool {
        matches!(self, SfError::Permanent { status: 404, .. })
            || matches!(self, SfError::Permanent { code, .. } if code == "NOT_FOUND")
    }

    /// Salesforce's error code, when there is one.
    pub fn code(&self) -> Option<&str> {
        match self {
            SfError::Auth { code, .. }
            | SfError::AppCredentials { code, .. }
            | SfError::Retryable { code, .. }
            | SfError::Permanent { code, .. } => Some(code),
            SfError::RateLimited { .. } => Some("REQUEST_LIMIT_EXCEEDED"),
            SfError::InvalidReplicationDate { .. } => Some("INVALID_REPLICATION_DATE"),
            SfError::ExceededIdLimit { .. } => Some("EXCEEDED_ID_LIMIT"),
            _ => None,
        }
    }

    /// True for 401 errors the client answers with one token refresh.
    pub(crate) fn is_session_expired(&self) -> bool {
        matches!(
            self,
            SfError::Auth {
                reconnect_needed: false,
                ..
            }
        )
    }

    /// Safe to resend even a non-idempotent request: Salesforce did not apply it.
    pub(crate) fn request_not_applied(&self) -> bool {
        match self {
            SfError::Retryable { status, code, .. } => {
                *status == Some(503) || code == "UNABLE_TO_LOCK_ROW" || code == "CONNECTION"
            }
            _ => false,
        }
    }

    pub(crate) fn decode(context: impl Into<String>, err: impl std::fmt::Display) -> SfError {
        SfError::Decode {
            context: context.into(),
            message: err.to_string(),
        }
    }

    pub(crate) fn invalid(field: impl Into<String>, message: impl Into<String>) -> SfError {
        SfError::InvalidInput {
            field: field.into(),
            message: message.into(),
        }
    }

    /// Maps a transport failure; the URL is stripped (it may carry record data).
    pub(crate) fn from_transport(err: reqwest::Error) -> SfError {
        let code = if err.is_timeout() {
            "TIMEOUT"
        } else if err.is_connect() {
            "CONNECTION"
        } else {
            "TRANSPORT"
        };
        SfError::Retryable {
            status: None,
            code: code.to_string(),
            message: err.without_url().to_string(),
        }
    }
}

/// One entry of Salesforce's top-level error array `[{"message","errorCode","fields"}]`.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
pub struct ApiError {
    #[serde(default)]
    pub message: String,
    #[serde(rename = "errorCode", alias = "statusCode", default)]
    pub error_code: String,
    #[serde(default)]
    pub fields: Vec<String>,
}

/// OAuth endpoints answer `{"error","error_description"}`.
#[derive(Clone, Debug, Deserialize)]
pub(crate) struct OAuthErrorBody {
    pub error: String,
    #[serde(default)]
    pub error_description: Option<String>,
}

/// Parses an error body: the top-level array, a single error object, or an OAuth error.
pub(crate) fn parse_error_body(body: &[u8]) -> Option<ApiError> {
    if let Ok(mut list) = serde_json::from_slice::<Vec<ApiError>>(body)
        && !list.is_empty()
    {
        return Some(list.swap_remove(0));
    }
    if let Ok(one) = serde_json::from_slice::<ApiError>(body)
        && !one.error_code.is_empty()
    {
        return Some(one);
    }
    if let Ok(oauth) = serde_json::from_slice::<OAuthErrorBody>(body) {
        return Some(ApiError {
            message: oauth.error_description.unwrap_or_default(),
            error_code: oauth.error,
            fields: Vec::new(),
        });
    }
    None
}

/// Classifies a non-success REST response.
pub(crate) fn classify(status: u16, body: &[u8]) -> SfError {
    let parsed = parse_error_body(body).unwrap_or_else(|| ApiError {
        message: snippet(body),
        error_code: format!("HTTP_{status}"),
        fields: Vec::new(),
    });
    let ApiError {
        message,
        error_code: code,
        fields,
    } = parsed;
    match (status, code.as_str()) {
        (401, _) | (_, "INVALID_SESSION_ID") => SfError::Auth {
            reconnect_needed: false,
            code,
            message,
        },
        (_, "invalid_grant") => SfError::Auth {
            reconnect_needed: true,
            code,
            message,
        },
        (_, "REQUEST_LIMIT_EXCEEDED") | (429, _) => SfError::RateLimited { message },
        (_, "UNABLE_TO_LOCK_ROW") | (_, "SERVER_UNAVAILABLE") => SfError::Retryable {
            status: Some(status),
            code,
            message,
        },
        (_, "INVALID_REPLICATION_DATE") => SfError::InvalidReplicationDate { message },
        (_, "EXCEEDED_ID_LIMIT") => SfError::ExceededIdLimit { message },
        (500..=599, _) => SfError::Retryable {
            status: Some(status),
            code,
            message,
        },
        _ => SfError::Permanent {
            status,
            code,
            message,
            fields,
        },
    }
}

/// A short, printable excerpt of an unparseable body.
fn snippet(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let mut out: String = text.chars().take(200).collect();
    if text.chars().count() > 200 {
        out.push('…');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_top_level_array() {
        let body =
            br#"[{"message":"No such column 'Foo'","errorCode":"INVALID_FIELD","fields":["Foo"]}]"#;
        let err = classify(400, body);
        match err {
            SfError::Permanent { code, fields, .. } => {
                assert_eq!(code, "INVALID_FIELD");
                assert_eq!(fields, vec!["Foo".to_string()]);
            }
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn classifies_classes() {
        let e = classify(
            401,
            br#"[{"message":"Session expired or invalid","errorCode":"INVALID_SESSION_ID"}]"#,
        );
        assert!(e.is_session_expired());
        let e = classify(
            403,
            br#"[{"message":"TotalRequests Limit exceeded.","errorCode":"REQUEST_LIMIT_EXCEEDED"}]"#,
        );
        assert!(e.is_rate_limited());
        assert!(classify(503, b"<html>down</html>").is_retryable());
        let e = classify(
            400,
            br#"{"error":"invalid_grant","error_description":"expired access/refresh token"}"#,
        );
        assert!(e.is_reconnect_needed());
        let e = classify(
            400,
            br#"[{"message":"unable to obtain exclusive access","errorCode":"UNABLE_TO_LOCK_ROW"}]"#,
        );
        assert!(e.is_retryable() && e.request_not_applied());
        let e = classify(
            400,
            br#"[{"message":"too many ids","errorCode":"EXCEEDED_ID_LIMIT"}]"#,
        );
        assert!(matches!(e, SfError::ExceededIdLimit { .. }));
        assert!(!e.is_retryable());
        assert!(
            !classify(500, b"").request_not_applied(),
            "a 500 may have applied"
        );
        let e = classify(404, br#"[{"message":"gone","errorCode":"NOT_FOUND"}]"#);
        assert!(e.is_not_found());
    }
}
