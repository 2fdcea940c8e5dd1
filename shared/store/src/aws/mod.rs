//! AWS adapters: DynamoDB ([`dynamo`]), Secrets Manager ([`vault`]) and SQS ([`sqs`]).

pub mod dynamo;
pub(crate) mod errors;
pub mod sqs;
pub mod vault;

pub use vault::read_secret_string;

use crate::error::{StoreError, StoreResult};

/// The three SDK clients, built once per process (Lambda cold start) and shared.
#[derive(Debug, Clone)]
pub struct AwsClients {
    pub dynamodb: aws_sdk_dynamodb::Client,
    pub sqs: aws_sdk_sqs::Client,
    pub secrets: aws_sdk_secretsmanager::Client,
}

impl AwsClients {
    /// Loads the default chain (env, profile, IMDS/Lambda role). Honours
    /// `AWS_ENDPOINT_URL` and the per-service `AWS_ENDPOINT_URL_*` variables.
    pub async fn from_env() -> Self {
        let config = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
        Self::from_sdk_config(&config)
    }

    /// All three clients against one endpoint (moto server in tests), with the given
    /// region and static credentials when none are configured in the environment.
    pub async fn with_endpoint(url: &str) -> Self {
        let creds = aws_sdk_dynamodb::config::Credentials::new(
            "test",
            "test",
            None,
            None,
            "crmsync-store-endpoint",
        );
        let config = aws_config::defaults(aws_config::BehaviorVersion::latest())
            .endpoint_url(url)
            .region(aws_config::Region::new("us-east-1"))
            .credentials_provider(creds)
            .load()
            .await;
        Self::from_sdk_config(&config)
    }

    pub fn from_sdk_config(config: &aws_config::SdkConfig) -> Self {
        Self {
            dynamodb: aws_sdk_dynamodb::Client::new(config),
            sqs: aws_sdk_sqs::Client::new(config),
            secrets: aws_sdk_secretsmanager::Client::new(config),
        }
    }
}

/// Names of the AWS resources, from the environment the SAM template sets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AwsSettings {
    pub table: String,
    pub push_queue_url: String,
    pub poll_queue_url: String,
    /// The sweep fan-out queue; empty where a process never sweeps (`CRMSYNC_SWEEP_QUEUE_URL`).
    pub sweep_queue_url: String,
    /// Secrets are named `{secret_prefix}{tenant}/{connection}`.
    pub secret_prefix: String,
    pub kms_key_id: Option<String>,
}

impl AwsSettings {
    pub const DEFAULT_SECRET_PREFIX: &'static str = "crmsync/";

    /// Reads `CRMSYNC_TABLE`, `CRMSYNC_PUSH_QUEUE_URL`, `CRMSYNC_POLL_QUEUE_URL`,
    /// `CRMSYNC_SECRET_PREFIX` (default `crmsync/`) and `CRMSYNC_KMS_KEY_ID`.
    pub fn from_env() -> StoreResult<Self> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Like [`AwsSettings::from_env`] with an injectable lookup (for tests).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> StoreResult<Self> {
        let non_empty = |name: &str| lookup(name).filter(|v| !v.trim().is_empty());
        let required = |name: &str| {
            non_empty(name)
                .ok_or_else(|| StoreError::invalid(name, "environment variable is not set"))
        };
        Ok(Self {
            table: required("CRMSYNC_TABLE")?,
            push_queue_url: required("CRMSYNC_PUSH_QUEUE_URL")?,
            poll_queue_url: required("CRMSYNC_POLL_QUEUE_URL")?,
            sweep_queue_url: non_empty("CRMSYNC_SWEEP_QUEUE_URL").unwrap_or_default(),
            secret_prefix: non_empty("CRMSYNC_SECRET_PREFIX")
                .unwrap_or_else(|| Self::DEFAULT_SECRET_PREFIX.to_string()),
            kms_key_id: non_empty("CRMSYNC_KMS_KEY_ID"),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_require_table_and_queues_and_default_the_prefix() {
        let env = |name: &str| match name {
            "CRMSYNC_TABLE" => Some("t".to_string()),
            "CRMSYNC_PUSH_QUEUE_URL" => Some("http://q/push.fifo".to_string()),
            "CRMSYNC_POLL_QUEUE_URL" => Some("http://q/poll".to_string()),
            _ => None,
        };
        let s = AwsSettings::from_lookup(env).unwrap();
        assert_eq!(s.secret_prefix, "crmsync/");
        assert_eq!(s.kms_key_id, None);

        let err = AwsSettings::from_lookup(|_| None).unwrap_err();
        assert!(err.to_string().contains("CRMSYNC_TABLE"), "{err}");
    }
}
