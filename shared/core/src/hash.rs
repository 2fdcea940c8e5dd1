//! Echo suppression: a stable hash of a normalised Salesforce-side field value.
//!
//! Both directions hash the value in its Salesforce form (after coercion and value maps),
//! so what crmsync wrote and what it later reads back compare equal. The hashed bytes are
//! `v1:s:` + the text for values that normalise to text, and `v1:j:` + compact JSON for the
//! rest (numbers, booleans, null). The digest is XXH3-128 in hex: a specified, stable,
//! non-cryptographic hash. Collision resistance against an adversary is not needed here
//! (a collision could only hide a change to one's own record), and it runs once per mapped
//! field of every polled record, where SHA-256 cost about 1 µs a record.
//! Changing this format invalidates stored link hashes (one extra write per field).

use serde_json::Value;
use xxhash_rust::xxh3::xxh3_128;

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
            let mut bytes = b"v1:j:".to_vec();
            // Writing JSON into a Vec cannot fail; fall back to Debug text defensively.
            if serde_json::to_writer(&mut bytes, &other).is_err() {
                bytes.extend_from_slice(format!("{other:?}").as_bytes());
            }
            to_hex(xxh3_128(&bytes))
        }
    }
}

fn text_digest(t: &str) -> String {
    const PREFIX: &[u8] = b"v1:s:";
    // Short values (most fields) are hashed from a stack buffer.
    let mut buf = [0u8; 256];
    let n = PREFIX.len() + t.len();
    let h = if n <= buf.len() {
        buf[..PREFIX.len()].copy_from_slice(PREFIX);
        buf[PREFIX.len()..n].copy_from_slice(t.as_bytes());
        xxh3_128(&buf[..n])
    } else {
        let mut v = Vec::with_capacity(n);
        v.extend_from_slice(PREFIX);
        v.extend_from_slice(t.as_bytes());
        xxh3_128(&v)
    };
    to_hex(h)
}

/// Lower-case hex of a 128-bit digest via a table.
fn to_hex(h: u128) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = [0u8; 32];
    for (i, b) in h.to_be_bytes().iter().enumerate() {
        out[2 * i] = DIGITS[(b >> 4) as usize];
        out[2 * i + 1] = DIGITS[(b & 0xf) as usize];
    }
    // Only ASCII digits were written.
    std::str::from_utf8(&out)
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
        assert_eq!(
            to_hex(0x009f_u128 << 112),
            format!("{:032x}", 0x009f_u128 << 112)
        );
        // Pinned: stored link hashes depend on this exact format.
        assert_eq!(
            field_hash(FieldKind::String, &json!("x")),
            format!("{:032x}", xxh3_128(b"v1:s:x"))
        );
        assert_eq!(
            field_hash(FieldKind::Number, &json!(1.5)),
            format!("{:032x}", xxh3_128(b"v1:j:1.5"))
        );
        let long = "y".repeat(500);
        assert_eq!(
            text_digest(&long),
            format!("{:032x}", xxh3_128(format!("v1:s:{long}").as_bytes()))
        );
    }
}
