//! 18-character Salesforce Ids: 3-char key prefix, pod, base-62 counter, 3-char case checksum.

const B62: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
const SUFFIX: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ012345";

/// Builds the 18-char Id for counter `n` under `prefix` (e.g. `003`).
pub fn make_id(prefix: &str, n: u64) -> String {
    let mut digits = [b'0'; 9];
    let mut v = n;
    for d in digits.iter_mut().rev() {
        *d = B62[(v % 62) as usize];
        v /= 62;
    }
    let mut id15 = String::with_capacity(18);
    id15.push_str(prefix);
    id15.push_str("5g0");
    id15.push_str(std::str::from_utf8(&digits).unwrap_or("000000000"));
    let suffix = checksum(&id15);
    id15.push_str(&suffix);
    id15
}

/// The 3-char case-safe suffix Salesforce appends to a 15-char Id.
pub fn checksum(id15: &str) -> String {
    let bytes = id15.as_bytes();
    (0..3)
        .map(|chunk| {
            let mut bits = 0usize;
            for i in 0..5 {
                if let Some(c) = bytes.get(chunk * 5 + i)
                    && c.is_ascii_uppercase()
                {
                    bits |= 1 << i;
                }
            }
            SUFFIX[bits] as char
        })
        .collect()
}

/// Normalises a 15- or 18-char Id to 18 chars; `None` when it is not a well-formed Id.
pub fn normalize(id: &str) -> Option<String> {
    if !id.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return None;
    }
    match id.len() {
        15 => Some(format!("{id}{}", checksum(id))),
        18 => {
            let (head, tail) = id.split_at(15);
            if checksum(head) == tail {
                Some(id.to_string())
            } else {
                None
            }
        }
        _ => None,
    }
}

/// Query locator id (`01g…`).
pub fn locator_id(n: u64) -> String {
    make_id("01g", n)[..15].to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn ids_round_trip_and_checksum() {
        let id = make_id("003", 12345);
        assert_eq!(id.len(), 18);
        assert!(id.starts_with("003"));
        assert_eq!(normalize(&id[..15]).as_deref(), Some(id.as_str()));
        assert_eq!(normalize(&id).as_deref(), Some(id.as_str()));
        assert!(normalize("003xyz").is_none());
        // Known Salesforce example: 001A0000006Vm9r -> 001A0000006Vm9rIAC
        assert_eq!(checksum("001A0000006Vm9r"), "IAC");
    }
}
