//! Echo suppression: a stable hash of a normalised Salesforce-side field value.
//!
//! Both directions hash the value in its Salesforce form (after coercion and value maps),
//! so what crmsync wrote and what it later reads back compare equal.

use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::transform::{FieldKind, normalize};

/// Hash of `sf_value` after normalisation for `kind`: 32 hex chars (128 bits of SHA-256).
pub fn field_hash(kind: FieldKind, sf_value: &Value) -> String {
    let mut h = Sha256::new();
    h.update(b"v1:");
    // Fast path: a non-blank text value normalises to itself, trimmed.
    if let (FieldKind::String | FieldKind::Picklist, Value::String(s)) = (kind, sf_value) {
        let t = s.trim();
        if !t.is_empty() {
            if serde_json::to_writer(&mut h, t).is_err() {
                h.update(t.as_bytes());
            }
            return to_hex(&h.finalize()[..16]);
        }
    }
    let norm = normalize(kind, sf_value);
    // Writing JSON into a hasher cannot fail; fall back to Debug text defensively.
    if serde_json::to_writer(&mut h, &norm).is_err() {
        h.update(format!("{norm:?}").as_bytes());
    }
    to_hex(&h.finalize()[..16])
}

/// Lower-case hex; a table lookup (this runs once per mapped field per polled record).
fn to_hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = Vec::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(DIGITS[(b >> 4) as usize]);
        out.push(DIGITS[(b & 0xf) as usize]);
    }
    String::from_utf8(out).unwrap_or_default()
}

/// Hash of an owner email (case-insensitive).
pub fn owner_hash(email: &str) -> String {
    let email = email.trim();
    if email.bytes().any(|b| b.is_ascii_uppercase()) {
        field_hash(
            FieldKind::String,
            &Value::String(email.to_ascii_lowercase()),
        )
    } else {
        let mut h = Sha256::new();
        h.update(b"v1:");
        if serde_json::to_writer(&mut h, email).is_err() {
            h.update(email.as_bytes());
        }
        to_hex(&h.finalize()[..16])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn fast_path_equals_normalised_path() {
        let s = json!("  Hello \"world\" ");
        let slow = {
            let mut h = Sha256::new();
            h.update(b"v1:");
            serde_json::to_writer(&mut h, &normalize(FieldKind::String, &s)).unwrap();
            to_hex(&h.finalize()[..16])
        };
        assert_eq!(field_hash(FieldKind::String, &s), slow);
        assert_eq!(field_hash(FieldKind::Picklist, &s), slow);
    }

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
        assert_eq!(
            owner_hash(" a@b.com"),
            field_hash(FieldKind::String, &json!("a@b.com"))
        );
        assert_eq!(to_hex(&[0x00, 0x9f, 0xff]), hex::encode([0x00, 0x9f, 0xff]));
    }
}
