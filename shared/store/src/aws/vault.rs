//! Secrets Manager token vault: one secret per connection, compare-and-swap rotation.
//!
//! Rotation stages the new value under `AWSPENDING`, then moves `AWSCURRENT` to it with
//! `RemoveFromVersionId` = the version the caller read. Secrets Manager refuses the move
//! when `AWSCURRENT` is no longer on that version, so of two refreshers that both read
//! version v1, exactly one wins; the other gets `Conflict` and must re-read.

use std::sync::Arc;

use async_trait::async_trait;

use crate::aws::errors::classify;
use crate::error::{StoreError, StoreResult};
use crate::ids::{ConnectionId, TenantId};
use crate::model::{StoredToken, TokenVersion, VersionedToken};
use crate::ports::TokenVault;

const SERVICE: &str = "secretsmanager";

#[derive(Debug, Clone)]
pub struct SecretsVault {
    client: aws_sdk_secretsmanager::Client,
    prefix: Arc<str>,
    kms_key_id: Option<String>,
}

impl SecretsVault {
    pub fn new(
        client: aws_sdk_secretsmanager::Client,
        prefix: impl Into<String>,
        kms_key_id: Option<String>,
    ) -> Self {
        Self {
            client,
            prefix: prefix.into().into(),
            kms_key_id,
        }
    }

    fn encode(token: &StoredToken) -> StoreResult<String> {
        serde_json::to_string(token).map_err(|e| StoreError::invalid("token", e.to_string()))
    }

    /// Stores a new version that becomes `AWSCURRENT`; restores a secret that is
    /// scheduled for deletion (reconnect right after disconnect).
    async fn put_current(&self, name: &str, body: &str) -> StoreResult<TokenVersion> {
        let token = uuid::Uuid::new_v4().to_string();
        let res = self
            .client
            .put_secret_value()
            .secret_id(name)
            .secret_string(body)
            .client_request_token(&token)
            .send()
            .await;
        match res {
            Ok(out) => Ok(TokenVersion(out.version_id.unwrap_or(token))),
            Err(e) => Err(classify(SERVICE, "PutSecretValue", e)),
        }
    }

    async fn create(&self, name: &str, body: &str) -> StoreResult<Option<TokenVersion>> {
        let token = uuid::Uuid::new_v4().to_string();
        let res = self
            .client
            .create_secret()
            .name(name)
            .secret_string(body)
            .client_request_token(&token)
            .set_kms_key_id(self.kms_key_id.clone())
            .description("crmsync Salesforce connection grant")
            .send()
            .await;
        match res.map_err(|e| classify(SERVICE, "CreateSecret", e)) {
            Ok(out) => Ok(Some(TokenVersion(out.version_id.unwrap_or(token)))),
            // Exists (or is scheduled for deletion): fall back to a new version.
            Err(StoreError::Rejected { code, .. })
                if code == "ResourceExistsException" || code == "InvalidRequestException" =>
            {
                Ok(None)
            }
            Err(e) => Err(e),
        }
    }
}

fn is_not_found(e: &StoreError) -> bool {
    matches!(e, StoreError::Rejected { code, .. } if code == "ResourceNotFoundException")
}

fn is_deleted(e: &StoreError) -> bool {
    // Secrets Manager answers InvalidRequestException for a secret pending deletion.
    matches!(e, StoreError::Rejected { code, .. } if code == "InvalidRequestException")
}

#[async_trait]
impl TokenVault for SecretsVault {
    fn secret_name(&self, tenant: &TenantId, connection: &ConnectionId) -> String {
        format!("{}{tenant}/{connection}", self.prefix)
    }

    async fn put(
        &self,
        tenant: &TenantId,
        connection: &ConnectionId,
        token: &StoredToken,
    ) -> StoreResult<VersionedToken> {
        let name = self.secret_name(tenant, connection);
        let body = Self::encode(token)?;
        let version = match self.create(&name, &body).await? {
            Some(v) => v,
            None => match self.put_current(&name, &body).await {
                Err(e) if is_deleted(&e) => {
                    self.client
                        .restore_secret()
                        .secret_id(&name)
                        .send()
                        .await
                        .map_err(|e| classify(SERVICE, "RestoreSecret", e))?;
                    self.put_current(&name, &body).await?
                }
                other => other?,
            },
        };
        Ok(VersionedToken {
            token: token.clone(),
            version,
        })
    }

    async fn get(
        &self,
        tenant: &TenantId,
        connection: &ConnectionId,
    ) -> StoreResult<Option<VersionedToken>> {
        let name = self.secret_name(tenant, connection);
        // Name the stage explicitly: the default is AWSCURRENT on AWS, but moto keeps
        // serving the pre-rotation version unless the stage is asked for.
        let res = self
            .client
            .get_secret_value()
            .secret_id(&name)
            .version_stage("AWSCURRENT")
            .send()
            .await;
        let out = match res.map_err(|e| classify(SERVICE, "GetSecretValue", e)) {
            Ok(out) => out,
            Err(e) if is_not_found(&e) || is_deleted(&e) => return Ok(None),
            Err(e) => return Err(e),
        };
        let body = out
            .secret_string()
            .ok_or_else(|| StoreError::corrupt(&name, "secret has no string value"))?;
        // serde_json's message can quote input; keep only the position.
        let token: StoredToken = serde_json::from_str(body).map_err(|e| {
            StoreError::corrupt(
                &name,
                format!(
                    "not a crmsync token (line {}, column {})",
                    e.line(),
                    e.column()
                ),
            )
        })?;
        let version = out
            .version_id()
            .ok_or_else(|| StoreError::corrupt(&name, "secret has no version id"))?;
        Ok(Some(VersionedToken {
            token,
            version: TokenVersion(version.to_string()),
        }))
    }

    async fn rotate(
        &self,
        tenant: &TenantId,
        connection: &ConnectionId,
        expected: &TokenVersion,
        token: &StoredToken,
    ) -> StoreResult<VersionedToken> {
        let name = self.secret_name(tenant, connection);
        let body = Self::encode(token)?;
        let request_token = uuid::Uuid::new_v4().to_string();
        let staged = self
            .client
            .put_secret_value()
            .secret_id(&name)
            .secret_string(body)
            .client_request_token(&request_token)
            .version_stages("AWSPENDING")
            .send()
            .await
            .map_err(|e| classify(SERVICE, "PutSecretValue", e));
        let new_version = match staged {
            Ok(out) => out.version_id.unwrap_or(request_token),
            Err(e) if is_not_found(&e) || is_deleted(&e) => {
                return Err(StoreError::NotFound(format!(
                    "token of {tenant}/{connection}"
                )));
            }
            Err(e) => return Err(e),
        };
        let moved = self
            .client
            .update_secret_version_stage()
            .secret_id(&name)
            .version_stage("AWSCURRENT")
            .move_to_version_id(&new_version)
            .remove_from_version_id(&expected.0)
            .send()
            .await
            .map_err(|e| classify(SERVICE, "UpdateSecretVersionStage", e));
        match moved {
            Ok(_) => Ok(VersionedToken {
                token: token.clone(),
                version: TokenVersion(new_version),
            }),
            Err(StoreError::Rejected { code, .. }) if code == "InvalidParameterException" => {
                Err(StoreError::Conflict(format!(
                    "token of {tenant}/{connection} was rotated by someone else"
                )))
            }
            Err(e) => Err(e),
        }
    }

    async fn delete(&self, tenant: &TenantId, connection: &ConnectionId) -> StoreResult<()> {
        let name = self.secret_name(tenant, connection);
        let res = self
            .client
            .delete_secret()
            .secret_id(&name)
            .force_delete_without_recovery(true)
            .send()
            .await
            .map_err(|e| classify(SERVICE, "DeleteSecret", e));
        match res {
            Ok(_) => Ok(()),
            Err(e) if is_not_found(&e) || is_deleted(&e) => Ok(()),
            Err(e) => Err(e),
        }
    }
}

/// Reads a plain secret's current string value, e.g. the connected app's credentials that
/// the deployer stores outside the `crmsync/` prefix. `None` if there is no such secret.
pub async fn read_secret_string(
    clients: &crate::aws::AwsClients,
    secret_id: &str,
) -> StoreResult<Option<String>> {
    let res = clients
        .secrets
        .get_secret_value()
        .secret_id(secret_id)
        .version_stage("AWSCURRENT")
        .send()
        .await;
    match res.map_err(|e| classify(SERVICE, "GetSecretValue", e)) {
        Ok(out) => Ok(out.secret_string().map(str::to_string)),
        Err(e) if is_not_found(&e) || is_deleted(&e) => Ok(None),
        Err(e) => Err(e),
    }
}
