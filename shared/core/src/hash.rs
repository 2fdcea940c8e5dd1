//! Echo suppression: a stable hash of a normalised Salesforce-side field value.
//!
//! Both directions hash the value in its Salesforce form (after coercion and value maps),
//! so what crmsync wrote and what it later reads back compare equal. The hashed bytes are
//! `v1:s:` + the text for values that normalise to text, and `v1:j:` + compact JSON for the
//! rest (numbers, booleans, null); the digest is SHA-256 truncated to 128 bits, in hex.
//! Changing this format invalidates stored link hashes (one extra write per field).

use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::transform::{FieldKind, normalize};

/// Hash of `sf_value` after normalisation for `kind`: 32 hex chars.
pub fn field_hash(kind: FieldKind, sf_value: &Value) -> String {
    // Fast path: non-blank text of a text kind normalises to itself, trimmed.
    if let (FieldKind::String | FieldKind::Picklist, Value::String(s)) = (kind, sf_value) {
        let t = s.trim();
        if !t.is_empty() {
            return text_digest(t);
        }
    }
    match normalize(kind, sf_value) {
        Value::String(t) => text_digest(&t),
        other => {
            let mut h = Sha256::new();
            h.update(b"v1:j:");
            // Writing JSON into a hasher cannot fail; fall back to Debug text defensively.
            if serde_json::to_writer(&mut h, &other).is_err() {
                h.update(format!("{other:?}").as_bytes());
            }
            to_hex(&h.finalize()[..16])
        }
    }
}

fn text_digest(t: &str) -> String {
    const PREFIX: &[u8] = b"v1:s:";
    // Short values (most fields) go through one contiguous one-shot digest.
    let mut buf = [0u8; 128];
    let digest = if t.len() <= buf.len() - PREFIX.len() {
        buf[..PREFIX.len()].copy_from_slice(PREFIX);
        buf[PREFIX.len()..PREFIX.len() + t.len()].copy_from_slice(t.as_bytes());
        Sha256::digest(&buf[..PREFIX.len() + t.len()])
    } else {
        let mut h = Sha256::new();
        h.update(PREFIX);
        h.update(t.as_bytes());
        h.finalize()
    };
    to_hex(&digest[..16])
}

/// Lower-case hex via a table (this runs once per mapped field per polled record).
fn to_hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = [0u8; 64];
    let n = bytes.len().min(32);
    for (i, b) in bytes[..n].iter().enumerate() {
        out[2 * i] = DIGITS[(b >> 4) as usize];
        out[2 * i + 1] = DIGITS[(b & 0xf) as usize];
    }
    // Only ASCII digits were written.
    std::str::from_utf8(&out[..2 * n])
        .map(str::to_string)
        .unwrap_or_default()
}

/// Hash of an owner email (case-insensitive, trimmed).
pub fn owner_hash(email: &str) -> String {
    let email = email.trim();
    if email.bytes().any(|b| b.is_ascii_uppercase()) {
        field_hash(
            FieldKind::String,
            &Value::String(email.to_ascii_lowercase()),
        )
    } else {
        field_hash(FieldKind::String, &Value::String(email.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn fast_path_equals_normalised_path() {
        let s = json!("  Hello \"world\" ");
        let slow = match normalize(FieldKind::String, &s) {
            Value::String(t) => text_digest(&t),
            other => panic!("{other:?}"),
        };
        assert_eq!(field_hash(FieldKind::String, &s), slow);
        assert_eq!(field_hash(FieldKind::Picklist, &s), slow);
    }

    #[test]
    fn text_and_json_values_never_share_a_hash() {
        assert_ne!(
            field_hash(FieldKind::String, &json!("12")),
            field_hash(FieldKind::Number, &json!(12))
        );
        assert_ne!(
            field_hash(FieldKind::String, &json!("null")),
            field_hash(FieldKind::String, &Value::Null)
        );
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
        // Pinned: stored link hashes depend on this exact format.
        assert_eq!(field_hash(FieldKind::String, &json!("x")), text_digest("x"));
        assert_eq!(
            text_digest("x"),
            hex::encode(&Sha256::digest(b"v1:s:x")[..16])
        );
        let long = "y".repeat(500);
        assert_eq!(
            text_digest(&long),
            hex::encode(&Sha256::digest(format!("v1:s:{long}"))[..16])
        );
    }
}
