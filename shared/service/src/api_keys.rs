//! Tenant API keys and webhook secrets: random, shown once, stored only as SHA-256 hashes
//! (keys) so a leaked table does not leak credentials.

use rand::RngCore;
use sha2::{Digest, Sha256};

/// Prefix that makes a leaked key recognisable by secret scanners.
const KEY_PREFIX: &str = "csk_";
const WEBHOOK_PREFIX: &str = "whsec_";

pub fn new_api_key() -> String {
    format!("{KEY_PREFIX}{}", random_hex(32))
}

pub fn new_webhook_secret() -> String {
    format!("{WEBHOOK_PREFIX}{}", random_hex(32))
}

pub fn hash_key(key: &str) -> String {
    hex::encode(Sha256::digest(key.as_bytes()))
}

fn random_hex(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    rand::rng().fill_bytes(&mut buf);
    hex::encode(buf)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_random_and_hash_stably() {
        let (a, b) = (new_api_key(), new_api_key());
        assert_ne!(a, b);
        assert!(a.starts_with("csk_") && a.len() == 4 + 64);
        assert_eq!(hash_key(&a), hash_key(&a));
        assert_ne!(hash_key(&a), hash_key(&b));
        assert!(!hash_key(&a).contains(&a[4..]));
    }
}
