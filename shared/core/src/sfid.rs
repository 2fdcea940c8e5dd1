//! Salesforce record ids. Salesforce accepts a 15-character (case-sensitive) id and its
//! 18-character (case-safe) form everywhere, and always returns 18. crmsync keys and
//! compares ids in the 18-character form only, so the two spellings of one record never
//! look like two records.
//!
//! The 3-character suffix encodes the case of the first 15 characters: for each 5-character
//! chunk, bit `i` is set when character `i` is an uppercase ASCII letter, and the 5-bit
//! number picks a character of `A`–`Z` then `0`–`5`.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

const SUFFIX_ALPHABET: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ012345";

/// Why text is not a Salesforce id.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SfIdError {
    #[error("a Salesforce id has 15 or 18 characters, not {0}")]
    Length(usize),
    #[error("a Salesforce id holds only letters and digits")]
    Character,
    #[error("the last 3 characters of an 18-character Salesforce id do not match its first 15")]
    Checksum,
}

/// A valid Salesforce id, always held in its 18-character form.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SfId(String);

impl SfId {
    /// Validates a 15- or 18-character id and returns its 18-character form.
    pub fn parse(text: &str) -> Result<Self, SfIdError> {
        if !text.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return Err(SfIdError::Character);
        }
        match text.len() {
            15 => Ok(Self(format!("{text}{}", suffix(text)))),
            18 => {
                let (head, tail) = text.split_at(15);
                // Salesforce reads the suffix case-insensitively: it restores case, it is
                // not itself case-sensitive.
                if suffix(head).eq_ignore_ascii_case(tail) {
                    Ok(Self(format!("{head}{}", suffix(head))))
                } else {
                    Err(SfIdError::Checksum)
                }
            }
            n => Err(SfIdError::Length(n)),
        }
    }

    /// The 18-character form.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The case-sensitive 15-character form.
    pub fn short(&self) -> &str {
        &self.0[..15]
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

/// The 18-character form of a 15- or 18-character id.
pub fn to_18(text: &str) -> Result<String, SfIdError> {
    SfId::parse(text).map(SfId::into_string)
}

/// The 18-character form when `text` is a valid id, otherwise `text` unchanged: for
/// comparing values that may or may not be ids (a record's `Id` is always 18 already).
pub fn canonical(text: &str) -> String {
    to_18(text).unwrap_or_else(|_| text.to_string())
}

/// Whether two texts name the same record (either may be 15 or 18 characters).
pub fn same_id(a: &str, b: &str) -> bool {
    a == b || canonical(a) == canonical(b)
}

/// The 3-character case-safe suffix of a 15-character id.
fn suffix(id15: &str) -> String {
    id15.as_bytes()
        .chunks(5)
        .map(|chunk| {
            let bits = chunk
                .iter()
                .enumerate()
                .filter(|(_, b)| b.is_ascii_uppercase())
                .fold(0usize, |acc, (i, _)| acc | (1 << i));
            SUFFIX_ALPHABET[bits] as char
        })
        .collect()
}

impl fmt::Display for SfId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl AsRef<str> for SfId {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl std::str::FromStr for SfId {
    type Err = SfIdError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl Serialize for SfId {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for SfId {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        Self::parse(&text).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn known_vectors() {
        // Public examples: salesforce_id_converter's README and Salesforce's own
        // "001A0000006Vm9r" Account id example.
        assert_eq!(to_18("00558000001N0Ke").unwrap(), "00558000001N0KeAAK");
        assert_eq!(to_18("001A0000006Vm9r").unwrap(), "001A0000006Vm9rIAC");
        assert_eq!(to_18("000000000000000").unwrap(), "000000000000000AAA");
        assert_eq!(to_18("AAAAAAAAAAAAAAA").unwrap(), "AAAAAAAAAAAAAAA555");
        assert_eq!(to_18("aaaaaaaaaaaaaaa").unwrap(), "aaaaaaaaaaaaaaaAAA");
    }

    #[test]
    fn eighteen_character_ids_are_checked_and_kept() {
        assert_eq!(to_18("00558000001N0KeAAK").unwrap(), "00558000001N0KeAAK");
        // The suffix is read case-insensitively and given back in canonical case.
        assert_eq!(to_18("00558000001N0Keaak").unwrap(), "00558000001N0KeAAK");
        assert_eq!(to_18("00558000001N0KeAAB"), Err(SfIdError::Checksum));
        // Another record's case pattern under the same letters.
        assert_eq!(to_18("00558000001n0KeAAK"), Err(SfIdError::Checksum));
    }

    #[test]
    fn invalid_ids_say_why() {
        assert_eq!(to_18(""), Err(SfIdError::Length(0)));
        assert_eq!(
            to_18("0035000000ABCDE"[..14].as_ref()),
            Err(SfIdError::Length(14))
        );
        assert_eq!(to_18("0035000000ABCD'"), Err(SfIdError::Character));
        assert_eq!(to_18("003500000 ABCDE"), Err(SfIdError::Character));
        assert_eq!(to_18("003500000éABCD"), Err(SfIdError::Character));
        assert!(SfIdError::Length(3).to_string().contains("15 or 18"));
    }

    #[test]
    fn comparisons_accept_either_form() {
        assert!(same_id("001A0000006Vm9r", "001A0000006Vm9rIAC"));
        assert!(!same_id("001A0000006Vm9r", "001A0000006vm9r"));
        assert_eq!(canonical("not an id"), "not an id");
        let id = SfId::parse("001A0000006Vm9r").unwrap();
        assert_eq!(id.short(), "001A0000006Vm9r");
        assert_eq!(
            serde_json::to_string(&id).unwrap(),
            "\"001A0000006Vm9rIAC\""
        );
        let back: SfId = serde_json::from_str("\"001A0000006Vm9r\"").unwrap();
        assert_eq!(back, id);
        assert!(serde_json::from_str::<SfId>("\"nope\"").is_err());
    }

    fn any_id15() -> impl Strategy<Value = String> {
        "[A-Za-z0-9]{15}"
    }

    proptest! {
        #[test]
        fn the_15_character_prefix_of_an_18_character_id_converts_back(id15 in any_id15()) {
            let id18 = to_18(&id15).unwrap();
            prop_assert_eq!(id18.len(), 18);
            prop_assert_eq!(&id18[..15], id15.as_str());
            prop_assert_eq!(to_18(&id18[..15]).unwrap(), id18.clone());
            prop_assert_eq!(to_18(&id18).unwrap(), id18.clone());
            // The suffix makes ids that differ only in case differ case-insensitively.
            let flipped: String = id15.chars().map(|c| if c.is_ascii_uppercase() {
                c.to_ascii_lowercase() } else { c.to_ascii_uppercase() }).collect();
            if flipped != id15 {
                prop_assert!(!to_18(&flipped).unwrap().eq_ignore_ascii_case(&id18));
            }
        }
    }
}
