//! Validated key types. Everything that ends up inside a DynamoDB key or a secret name
//! is checked here so that `#`-separated keys can never be forged or confused.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::error::{StoreError, StoreResult};

fn is_id_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_' || c == '-'
}

fn validate_id(field: &str, value: &str) -> StoreResult<()> {
    if value.is_empty() || value.len() > 64 {
        return Err(StoreError::invalid(field, "must be 1 to 64 characters"));
    }
    if let Some(bad) = value.chars().find(|c| !is_id_char(*c)) {
        return Err(StoreError::invalid(
            field,
            format!("character {bad:?} not allowed (use A-Z, a-z, 0-9, _ and -)"),
        ));
    }
    Ok(())
}

/// Checks a free-form key segment (object name, app id, Salesforce id, event id,
/// lease name...): 1..=255 characters, no `#` (our key separator), no control chars.
pub fn validate_key_part(field: &str, value: &str) -> StoreResult<()> {
    if value.is_empty() || value.len() > 255 {
        return Err(StoreError::invalid(field, "must be 1 to 255 characters"));
    }
    if value.contains('#') {
        return Err(StoreError::invalid(field, "must not contain '#'"));
    }
    if value.chars().any(char::is_control) {
        return Err(StoreError::invalid(
            field,
            "must not contain control characters",
        ));
    }
    Ok(())
}

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident, $field:literal) => {
        $(#[$doc])*
        #[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, utoipa::ToSchema)]
        #[serde(try_from = "String", into = "String")]
        #[schema(value_type = String, pattern = "^[A-Za-z0-9_-]{1,64}$")]
        pub struct $name(String);

        impl $name {
            /// Validates `[A-Za-z0-9_-]{1,64}`.
            pub fn new(value: impl Into<String>) -> StoreResult<Self> {
                let value = value.into();
                validate_id($field, &value)?;
                Ok(Self(value))
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl TryFrom<String> for $name {
            type Error = StoreError;
            fn try_from(value: String) -> StoreResult<Self> {
                Self::new(value)
            }
        }

        impl From<$name> for String {
            fn from(id: $name) -> String {
                id.0
            }
        }

        impl std::str::FromStr for $name {
            type Err = StoreError;
            fn from_str(s: &str) -> StoreResult<Self> {
                Self::new(s)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({:?})", stringify!($name), self.0)
            }
        }
    };
}

id_type!(
    /// One customer of the app.
    TenantId,
    "tenant"
);
id_type!(
    /// One Salesforce org connection of a tenant (production and sandbox are two).
    ConnectionId,
    "connection"
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_accept_the_allowed_alphabet() {
        assert_eq!(TenantId::new("acme_co-1").unwrap().as_str(), "acme_co-1");
        assert!(ConnectionId::new("a".repeat(64)).is_ok());
    }

    #[test]
    fn ids_reject_separators_and_length() {
        let err = TenantId::new("a#b").unwrap_err();
        assert!(err.to_string().contains("tenant"), "{err}");
        assert!(TenantId::new("").is_err());
        assert!(ConnectionId::new("a".repeat(65)).is_err());
        assert!(ConnectionId::new("a/b").is_err());
    }

    #[test]
    fn ids_validate_when_deserialized() {
        let ok: TenantId = serde_json::from_str("\"t1\"").unwrap();
        assert_eq!(ok.as_str(), "t1");
        assert!(serde_json::from_str::<TenantId>("\"t 1\"").is_err());
    }

    #[test]
    fn key_parts_reject_hash_and_control() {
        assert!(validate_key_part("object", "Contact").is_ok());
        assert!(validate_key_part("object", "Con#tact").is_err());
        assert!(validate_key_part("app_id", "a\nb").is_err());
        assert!(validate_key_part("app_id", "").is_err());
    }
}
