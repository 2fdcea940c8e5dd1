//! JSON errors for every route: `{"error":{"code":…,"message":…}}` with the status the
//! [`ServiceError`] maps to, plus `field` (the request field at fault) and `problems` (every
//! problem of a refused config, each with its path) when they apply.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use crmsync_core::config::ConfigProblem;
use serde::Serialize;
use utoipa::openapi::{ContentBuilder, Ref, RefOr, ResponseBuilder};

use crate::error::ServiceError;

/// An error response of the JSON APIs.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    pub field: Option<String>,
    pub problems: Vec<ConfigProblem>,
}

/// The body of every JSON error: `{"error":{…}}`.
#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = Error)]
pub(crate) struct ErrorBody<'a> {
    error: ErrorDetail<'a>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub(crate) struct ErrorDetail<'a> {
    /// Stable and machine-readable: `bad_request`, `unauthorized`, `not_found`,
    /// `conflict`, `invalid_config`, `reconnect_needed`, `method_not_allowed`, ...
    code: &'a str,
    /// A sentence for people; never a token or a secret.
    message: &'a str,
    /// The request field at fault: a query parameter, a path segment or a JSON path.
    #[serde(skip_serializing_if = "Option::is_none")]
    field: Option<&'a str>,
    /// Every problem of a refused sync config, each with its path.
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    problems: &'a [ConfigProblem],
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            field: None,
            problems: Vec::new(),
        }
    }

    /// 400 naming the request field (query parameter, path segment or JSON path).
    pub fn bad_request(field: impl Into<String>, message: impl std::fmt::Display) -> Self {
        let field = field.into();
        Self {
            status: StatusCode::BAD_REQUEST,
            code: "bad_request",
            message: format!("{field}: {message}"),
            field: Some(field),
            problems: Vec::new(),
        }
    }

    pub fn unauthorized(message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "unauthorized", message)
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", message)
    }

    /// 400 listing every problem of a refused sync config.
    pub fn invalid_config(problems: Vec<ConfigProblem>) -> Self {
        let message = format!(
            "sync config has {} problem(s): {}",
            problems.len(),
            problems
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("; ")
        );
        Self {
            status: StatusCode::BAD_REQUEST,
            code: "invalid_config",
            message,
            field: None,
            problems,
        }
    }
}

impl From<ServiceError> for ApiError {
    fn from(e: ServiceError) -> Self {
        let status =
            StatusCode::from_u16(e.http_status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let field = match &e {
            ServiceError::BadRequest { field, .. } => Some(field.clone()),
            _ => None,
        };
        // Server-side failures are logged in full and answered briefly: store and settings
        // details (table names, secret ids) are not the caller's business.
        let message = if status.is_server_error() && !matches!(e, ServiceError::Salesforce(_)) {
            tracing::error!(error = %e, code = e.code(), "request failed");
            if e.is_retryable() {
                "temporarily unavailable; retry later".to_string()
            } else {
                "internal error".to_string()
            }
        } else {
            if status.is_server_error() {
                tracing::warn!(error = %e, "salesforce call failed");
            }
            e.to_string()
        };
        Self {
            status,
            code: e.code(),
            message,
            field,
            problems: Vec::new(),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = ErrorBody {
            error: ErrorDetail {
                code: self.code,
                message: &self.message,
                field: self.field.as_deref(),
                problems: &self.problems,
            },
        };
        let mut response = (self.status, axum::Json(body)).into_response();
        if self.status == StatusCode::UNAUTHORIZED {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        response
    }
}

/// Documented once as the `Error` response and referenced by every JSON operation.
impl<'r> utoipa::ToResponse<'r> for ApiError {
    fn response() -> (&'r str, RefOr<utoipa::openapi::Response>) {
        let content = ContentBuilder::new()
            .schema(Some(Ref::from_schema_name("Error")))
            .build();
        let response = ResponseBuilder::new()
            .description(
                "`{\"error\":{\"code\",\"message\",\"field\"?,\"problems\"?}}` \
                 with the status of the failure",
            )
            .content("application/json", content)
            .build();
        ("Error", response.into())
    }
}

/// Fallback for unknown routes.
pub(crate) async fn not_found(uri: axum::http::Uri) -> ApiError {
    ApiError::not_found(format!("no route for {}", uri.path()))
}

/// Fallback for known routes called with the wrong method.
pub(crate) async fn method_not_allowed(
    method: axum::http::Method,
    uri: axum::http::Uri,
) -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        format!("{method} is not allowed on {}", uri.path()),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn service_errors_keep_status_code_and_field() {
        let e = ApiError::from(ServiceError::bad_request("limit", "must be 1 to 1000"));
        assert_eq!(e.status, StatusCode::BAD_REQUEST);
        assert_eq!(e.field.as_deref(), Some("limit"));
        assert!(e.message.contains("limit"));
        let e = ApiError::from(ServiceError::NotFound("connection x".into()));
        assert_eq!((e.status, e.code), (StatusCode::NOT_FOUND, "not_found"));
    }

    #[test]
    fn internal_details_are_not_returned() {
        let e = ApiError::from(ServiceError::Internal("table crmsync-prod exploded".into()));
        assert!(e.status.is_server_error());
        assert!(!e.message.contains("crmsync-prod"), "{}", e.message);
    }
}
