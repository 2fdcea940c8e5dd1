//! Embedded token vault: versions are random ids, rotation compares them.

use async_trait::async_trait;

use super::EmbeddedStore;
use super::state::VaultEntry;
use crate::error::{StoreError, StoreResult};
use crate::ids::{ConnectionId, TenantId};
use crate::model::{StoredToken, TokenVersion, VersionedToken};
use crate::ports::TokenVault;

fn stored(entry: &VaultEntry) -> VersionedToken {
    VersionedToken {
        token: entry.token.clone(),
        version: TokenVersion(entry.version.clone()),
    }
}

#[async_trait]
impl TokenVault for EmbeddedStore {
    fn secret_name(&self, tenant: &TenantId, connection: &ConnectionId) -> String {
        format!("{}{tenant}/{connection}", self.secret_prefix)
    }

    async fn put(
        &self,
        tenant: &TenantId,
        connection: &ConnectionId,
        token: &StoredToken,
    ) -> StoreResult<VersionedToken> {
        let name = self.secret_name(tenant, connection);
        self.write(|s, _| {
            let entry = VaultEntry {
                token: token.clone(),
                version: uuid::Uuid::new_v4().to_string(),
            };
            let out = stored(&entry);
            s.vault.insert(name, entry);
            Ok(out)
        })
        .await
    }

    async fn get(
        &self,
        tenant: &TenantId,
        connection: &ConnectionId,
    ) -> StoreResult<Option<VersionedToken>> {
        let name = self.secret_name(tenant, connection);
        Ok(self.read(|s, _| s.vault.get(&name).map(stored)).await)
    }

    async fn rotate(
        &self,
        tenant: &TenantId,
        connection: &ConnectionId,
        expected: &TokenVersion,
        token: &StoredToken,
    ) -> StoreResult<VersionedToken> {
        let name = self.secret_name(tenant, connection);
        self.write(|s, _| {
            let entry = s
                .vault
                .get_mut(&name)
                .ok_or_else(|| StoreError::NotFound(format!("token of {tenant}/{connection}")))?;
            if entry.version != expected.0 {
                return Err(StoreError::Conflict(format!(
                    "token of {tenant}/{connection} was rotated by someone else"
                )));
            }
            entry.token = token.clone();
            entry.version = uuid::Uuid::new_v4().to_string();
            Ok(stored(entry))
        })
        .await
    }

    async fn delete(&self, tenant: &TenantId, connection: &ConnectionId) -> StoreResult<()> {
        let name = self.secret_name(tenant, connection);
        self.write(|s, _| {
            s.vault.remove(&name);
            Ok(())
        })
        .await
    }
}
