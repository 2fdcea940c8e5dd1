//! Bearer authentication. Tenant routes resolve the API key to its tenant (the only way a
//! request gets a tenant: never from the URL). Operator routes compare the SHA-256 of the
//! presented key, in constant time, with the configured operator key hash.
//!
//! Where the operator key hash comes from: the Lambda reads the secret named by
//! `CRMSYNC_OPERATOR_KEY_SECRET_ID` at cold start and passes the hash to
//! [`super::report_router_with_operator_hash`]. Local runs (`crmsync dev`) keep it in the
//! token vault under the pseudo-entry tenant [`OPERATOR_VAULT_TENANT`], connection
//! [`OPERATOR_VAULT_CONNECTION`] (set with [`set_operator_key`]); [`super::report_router`]
//! reads it from there on each admin request. No hash configured: the operator API is off.

use axum::extract::FromRequestParts;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use crmsync_store::{ConnectionId, Secret, StoredToken, TenantId};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::error::ApiError;
use super::{HttpState, OperatorKeySource};
use crate::api_keys::hash_key;
use crate::app::App;
use crate::error::ServiceError;
use crate::tenants;

/// Vault pseudo-entry holding the operator key hash for local runs. Tenant ids starting
/// with `_crmsync` are refused by the admin API so no tenant can own this entry.
pub const OPERATOR_VAULT_TENANT: &str = "_crmsync";
pub const OPERATOR_VAULT_CONNECTION: &str = "operator-key";

fn operator_entry() -> (TenantId, ConnectionId) {
    (
        TenantId::new(OPERATOR_VAULT_TENANT).expect("constant id is valid"),
        ConnectionId::new(OPERATOR_VAULT_CONNECTION).expect("constant id is valid"),
    )
}

/// The operator key hash kept in the vault pseudo-entry, if any.
pub async fn operator_key_hash(app: &App) -> Result<Option<String>, ServiceError> {
    let (tenant, conn) = operator_entry();
    Ok(app
        .stores
        .vault
        .get(&tenant, &conn)
        .await?
        .map(|t| t.token.refresh_token.expose().to_string()))
}

/// Stores the hash of `key` as the operator key (local runs, tests). The key itself is not kept.
pub async fn set_operator_key(app: &App, key: &str) -> Result<(), ServiceError> {
    if key.len() < 16 {
        return Err(ServiceError::bad_request(
            "operator_key",
            "must be at least 16 characters",
        ));
    }
    let (tenant, conn) = operator_entry();
    let token = StoredToken {
        refresh_token: Secret::new(hash_key(key)),
        instance_url: String::new(),
        issued_at: app.now(),
        metadata: [("kind".to_string(), "operator-key-sha256".to_string())].into(),
    };
    app.stores.vault.put(&tenant, &conn, &token).await?;
    Ok(())
}

/// The bearer credential of a request.
fn bearer(parts: &Parts) -> Result<&str, ApiError> {
    let missing = || ApiError::unauthorized("missing `Authorization: Bearer <key>` header");
    let value = parts.headers.get(AUTHORIZATION).ok_or_else(missing)?;
    let value = value.to_str().map_err(|_| missing())?;
    let (scheme, key) = value.split_once(' ').ok_or_else(missing)?;
    if !scheme.eq_ignore_ascii_case("bearer") || key.trim().is_empty() {
        return Err(missing());
    }
    Ok(key.trim())
}

/// Whether `key` hashes (SHA-256, hex) to `expected_hex`, compared in constant time.
pub(crate) fn key_matches_hash(key: &str, expected_hex: &str) -> bool {
    let Ok(expected) = hex::decode(expected_hex.trim()) else {
        return false;
    };
    let actual = Sha256::digest(key.as_bytes());
    expected.len() == actual.len() && bool::from(actual.as_slice().ct_eq(&expected))
}

/// A request authenticated with a tenant API key (or an admin page session).
#[derive(Debug, Clone)]
pub(crate) struct TenantAuth {
    pub tenant: TenantId,
}

impl FromRequestParts<HttpState> for TenantAuth {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &HttpState,
    ) -> Result<Self, Self::Rejection> {
        // The admin page's signed session (see `super::ui::session`).
        if let Some(token) = super::ui::session_token(parts) {
            return super::ui::authenticate(state, token, parts.uri.path()).await;
        }
        let key = bearer(parts)?;
        let tenant = tenants::authenticate(&state.app, key)
            .await
            .map_err(ApiError::from)?;
        Ok(Self { tenant: tenant.id })
    }
}

/// A request authenticated with the operator key.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Operator;

impl FromRequestParts<HttpState> for Operator {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &HttpState,
    ) -> Result<Self, Self::Rejection> {
        let key = bearer(parts)?;
        let hash = match &state.operator {
            OperatorKeySource::Fixed(hash) => hash.clone(),
            OperatorKeySource::Vault => operator_key_hash(&state.app)
                .await
                .map_err(ApiError::from)?,
        };
        let Some(hash) = hash.filter(|h| !h.trim().is_empty()) else {
            return Err(ApiError::unauthorized(
                "the operator API is disabled (no operator key configured)",
            ));
        };
        if key_matches_hash(key, &hash) {
            Ok(Operator)
        } else {
            Err(ApiError::unauthorized("invalid operator key"))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn operator_key_hash_comparison() {
        let hash = hash_key("op-key-0123456789");
        assert!(key_matches_hash("op-key-0123456789", &hash));
        assert!(key_matches_hash(
            "op-key-0123456789",
            &format!(" {}\n", hash.to_uppercase())
        ));
        assert!(!key_matches_hash("op-key-012345678", &hash));
        assert!(!key_matches_hash("op-key-0123456789", "not hex"));
        assert!(!key_matches_hash("op-key-0123456789", &hash[..32]));
    }
}
