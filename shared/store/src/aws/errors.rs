//! Maps SDK errors to [`StoreError`]: transient (retryable) vs permanent, plus
//! `Conflict` for a failed condition. Only codes and messages from AWS are kept, never
//! request content.

use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};

use crate::error::StoreError;

/// Error codes AWS documents as transient across DynamoDB, SQS and Secrets Manager.
const RETRYABLE_CODES: &[&str] = &[
    "ProvisionedThroughputExceededException",
    "ThrottlingException",
    "Throttling",
    "RequestLimitExceeded",
    "ThrottledException",
    "InternalServerError",
    "InternalServiceError",
    "InternalFailure",
    "ServiceUnavailable",
    "TransactionConflictException",
    "LimitExceededException",
    "RequestThrottled",
    "KMS.ThrottlingException",
];

pub(crate) fn classify<E>(
    service: &'static str,
    operation: &'static str,
    err: SdkError<E>,
) -> StoreError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    let status = err.raw_response().map(|r| r.status().as_u16());
    match &err {
        SdkError::ServiceError(_) | SdkError::ResponseError(_) => {
            let code = err.code().unwrap_or("Unknown").to_string();
            let message = err.message().unwrap_or("").to_string();
            if code == "ConditionalCheckFailedException" {
                return StoreError::Conflict(format!("{service} {operation}: condition failed"));
            }
            let transient = RETRYABLE_CODES.contains(&code.as_str())
                || status.is_some_and(|s| s == 429 || s >= 500);
            if transient {
                StoreError::Unavailable {
                    service,
                    operation,
                    message: format!("{code}: {message}"),
                }
            } else {
                StoreError::Rejected {
                    service,
                    operation,
                    code,
                    message,
                }
            }
        }
        SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) => StoreError::Unavailable {
            service,
            operation,
            message: aws_sdk_dynamodb::error::DisplayErrorContext(&err).to_string(),
        },
        _ => StoreError::Rejected {
            service,
            operation,
            code: "ClientError".to_string(),
            message: aws_sdk_dynamodb::error::DisplayErrorContext(&err).to_string(),
        },
    }
}
