//! Echo suppression: a stable hash of a normalised Salesforce-side field value.
//!
//! Both directions hash the value in its Salesforce form (after coercion and value maps),
//! so what crmsync wrote and what it later reads back compare equal.

use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::transform::{FieldKind, normalize};

/// Hash of `sf_value` after normalisation for `kind`: 32 hex chars (128 bits of SHA-256).
pub fn field_hash(kind: FieldKind, sf_value: &Value) -> String {
    let norm = normalize(kind, sf_value);
    let mut h = Sha256::new();
    h.update(b"v1:");
    // Writing JSON into a hasher cannot fail; fall back to Debug text defensively.
    if serde_json::to_writer(&mut h, &norm).is_err() {
        h.update(format!("{norm:?}").as_bytes());
    }
    let digest = h.finalize();
    hex::encode(&digest[..16])
}

/// Hash of an owner email (case-insensitive).
pub fn owner_hash(email: &str) -> String {
    field_hash(
        FieldKind::String,
        &Value::String(email.trim().to_ascii_lowercase()),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn hash_is_stable_and_normalised() {
        let a = field_hash(FieldKind::Number, &json!(10));
        assert_eq!(a, field_hash(FieldKind::Number, &json!(10.0)));
        assert_eq!(a.len(), 32);
        assert_ne!(a, field_hash(FieldKind::Number, &json!(11)));
        assert_eq!(
            field_hash(FieldKind::String, &json!(" x ")),
            field_hash(FieldKind::String, &json!("x"))
        );
        assert_eq!(owner_hash("A@B.com"), owner_hash("a@b.com"));
    }
}
