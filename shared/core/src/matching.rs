//! Matching decisions over candidate lists the service fetched.
//!
//! Core never queries: each cascade first says which `(object, field = value)` lookups it
//! needs ([`Lookup`]); the service runs them and hands the candidates back to a pure
//! function that walks seed 003's tree exactly and says which step decided.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::record::SalesforceRecord;

/// One lookup the service must run: records of `object` where every `field = value` holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Lookup {
    pub object: String,
    pub conditions: Vec<(String, String)>,
    /// Fields to fetch for each candidate.
    pub fields: Vec<String>,
}

/// The result of a match.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum MatchOutcome {
    Matched { id: String, step: MatchStep },
    Create { step: MatchStep },
}

impl MatchOutcome {
    pub fn matched_id(&self) -> Option<&str> {
        match self {
            MatchOutcome::Matched { id, .. } => Some(id),
            MatchOutcome::Create { .. } => None,
        }
    }
}

/// The step of a cascade that decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MatchStep {
    /// Already linked.
    Link,
    ExternalId,
    Email,
    Phone,
    // Account cascade, branch 1 (phone matched).
    /// Phone matched, exactly one of those matched the name.
    PhoneName,
    /// Phone matched, several matched the name, exactly one the city.
    PhoneNameCity,
    /// Phone matched, several matched the name, several matched the city.
    PhoneNameCityAmbiguous,
    /// Phone matched, several matched the name, none the city.
    PhoneNameCityNone,
    /// Phone matched, none matched the name.
    PhoneNameNone,
    // Account cascade, branch 2 (no phone match).
    /// Name matched, exactly one of those matched the city.
    NameCity,
    /// Name matched, several matched the city.
    NameCityAmbiguous,
    /// Name matched, none matched the city.
    NameCityNone,
    /// Neither phone nor name matched.
    NoMatch,
    /// Neither phone nor name matched; exactly one Account has the address (seed 002).
    Address,
    // Contact cascade (under an account).
    /// Phone matched under the account, exactly one by last name.
    PhoneLastName,
    /// Phone matched, several by last name.
    PhoneLastNameAmbiguous,
    /// Phone matched, none by last name.
    PhoneLastNameNone,
    /// No contact under the account has the phone (or no account yet).
    PhoneNone,
    /// Several candidates on a simple key.
    Ambiguous,
}

/// Digits only, for phone comparison (`(555) 010-0100` = `555.010.0100`), without the
/// North American country code (`+1 555 010 0100` = `(555) 010-0100`).
pub fn normalize_phone(p: &str) -> String {
    let digits: String = p.chars().filter(char::is_ascii_digit).collect();
    match digits.strip_prefix('1') {
        Some(national) if national.len() == 10 => national.to_string(),
        _ => digits,
    }
}

/// Salesforce fields holding phone numbers, matched by [`phone_variants`].
pub const PHONE_FIELDS: [&str; 3] = ["Phone", "MobilePhone", "HomePhone"];

/// The common ways a number is stored, for a SOQL `IN` list (SOQL cannot normalise):
/// the text as given, its digits, and for a 10-digit North American number the usual
/// punctuations with and without `+1`. Candidates are then compared normalised.
pub fn phone_variants(p: &str) -> Vec<String> {
    let n = normalize_phone(p);
    let mut out = vec![p.trim().to_string()];
    if n.len() == 10 {
        let (a, b, c) = (&n[..3], &n[3..6], &n[6..]);
        for national in [
            format!("{a}{b}{c}"),
            format!("({a}) {b}-{c}"),
            format!("({a}){b}-{c}"),
            format!("{a}-{b}-{c}"),
            format!("{a}.{b}.{c}"),
            format!("{a} {b} {c}"),
            format!("{a} {b}-{c}"),
        ] {
            for prefix in ["", "+1 ", "1 ", "+1", "1", "+1-", "1-", "+1."] {
                out.push(format!("{prefix}{national}"));
            }
        }
    } else if !n.is_empty() {
        out.push(n.clone());
        out.push(format!("+{n}"));
    }
    out.retain(|v| !v.is_empty());
    let mut seen = std::collections::BTreeSet::new();
    out.retain(|v| seen.insert(v.clone()));
    out
}

/// The values a lookup condition on `field` matches: the phone variants for a phone
/// field, else the value itself.
pub fn lookup_values(field: &str, value: &str) -> Vec<String> {
    if PHONE_FIELDS.contains(&field) {
        phone_variants(value)
    } else {
        vec![value.to_string()]
    }
}

fn same_phone(a: &str, b: &str) -> bool {
    let (a, b) = (normalize_phone(a), normalize_phone(b));
    !a.is_empty() && a == b
}

fn same_text(a: &str, b: &str) -> bool {
    let a = a.split_whitespace().collect::<Vec<_>>().join(" ");
    let b = b.split_whitespace().collect::<Vec<_>>().join(" ");
    !a.is_empty() && a.to_lowercase() == b.to_lowercase()
}

fn opt_eq(a: &Option<String>, b: &Option<String>, f: fn(&str, &str) -> bool) -> bool {
    matches!((a, b), (Some(a), Some(b)) if f(a, b))
}

// ---------------------------------------------------------------- account cascade

/// The app-side values the account cascade searches with.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct AccountQuery {
    pub phone: Option<String>,
    pub name: Option<String>,
    pub city: Option<String>,
    /// Street and postal code, for the address fallback (only when the config names them).
    #[serde(default)]
    pub street: Option<String>,
    #[serde(default)]
    pub postal_code: Option<String>,
}

/// The account cascade's search values, read from an app record's fields.
pub fn account_query(
    mc: &crate::config::MatchingConfig,
    fields: &crate::types::FieldMap,
) -> AccountQuery {
    let text = |f: &String| crate::event::text_of(fields, f);
    AccountQuery {
        phone: text(&mc.app_phone_field),
        name: text(&mc.app_business_name_field),
        city: text(&mc.app_city_field),
        street: mc.app_street_field.as_ref().and_then(text),
        postal_code: mc.app_postal_code_field.as_ref().and_then(text),
    }
}

/// The standard Account address fields the address fallback compares with.
pub const ACCOUNT_STREET_FIELD: &str = "BillingStreet";
pub const ACCOUNT_POSTAL_CODE_FIELD: &str = "BillingPostalCode";

/// A Salesforce Account candidate.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct AccountCandidate {
    pub id: String,
    pub phone: Option<String>,
    pub name: Option<String>,
    pub city: Option<String>,
    #[serde(default)]
    pub street: Option<String>,
    #[serde(default)]
    pub postal_code: Option<String>,
}

impl AccountCandidate {
    /// From a queried Account record (`Id`, `Phone`, `Name`, and the configured city field).
    pub fn from_record<R: SalesforceRecord + ?Sized>(r: &R, city_field: &str) -> Option<Self> {
        Some(Self {
            id: r.string("Id")?,
            phone: r.string("Phone"),
            name: r.string("Name"),
            city: r.string(city_field),
            street: r.string(ACCOUNT_STREET_FIELD),
            postal_code: r.string(ACCOUNT_POSTAL_CODE_FIELD),
        })
    }
}

/// Lookups the account cascade needs: Accounts by phone, and by name; by postal code too
/// when the query has an address (the street is compared in memory: a long text field
/// cannot be filtered on in every org).
pub fn account_lookups(q: &AccountQuery, city_field: &str) -> Vec<Lookup> {
    let address = q.street.as_ref().is_some_and(|s| !s.trim().is_empty())
        && q.postal_code.as_ref().is_some_and(|p| !p.trim().is_empty());
    let mut fields: Vec<String> = vec![
        "Id".into(),
        "Phone".into(),
        "Name".into(),
        city_field.to_string(),
    ];
    if address {
        fields.push(ACCOUNT_STREET_FIELD.into());
        fields.push(ACCOUNT_POSTAL_CODE_FIELD.into());
    }
    let mut out = Vec::new();
    if let Some(p) = q.phone.as_ref().filter(|p| !p.trim().is_empty()) {
        out.push(Lookup {
            object: "Account".into(),
            conditions: vec![("Phone".into(), p.clone())],
            fields: fields.clone(),
        });
    }
    if let Some(n) = q.name.as_ref().filter(|n| !n.trim().is_empty()) {
        out.push(Lookup {
            object: "Account".into(),
            conditions: vec![("Name".into(), n.clone())],
            fields: fields.clone(),
        });
    }
    if let (true, Some(p)) = (address, &q.postal_code) {
        out.push(Lookup {
            object: "Account".into(),
            conditions: vec![(ACCOUNT_POSTAL_CODE_FIELD.into(), p.trim().to_string())],
            fields,
        });
    }
    out
}

/// A street as compared: lower case, words only, common suffixes spelled one way.
fn normalize_street(s: &str) -> String {
    s.to_lowercase()
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(|w| match w {
            "street" => "st",
            "avenue" => "ave",
            "road" => "rd",
            "boulevard" => "blvd",
            "drive" => "dr",
            "suite" => "ste",
            other => other,
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// Seed 002's fallback when neither phone nor name matched: exactly one Account at the
/// same street and postal code.
fn match_address(q: &AccountQuery, candidates: &[AccountCandidate]) -> Option<String> {
    let (street, postal) = (q.street.as_deref()?, q.postal_code.as_deref()?);
    let (street, postal) = (normalize_street(street), postal.trim().to_lowercase());
    if street.is_empty() || postal.is_empty() {
        return None;
    }
    let at: Vec<&AccountCandidate> = candidates
        .iter()
        .filter(|c| {
            c.postal_code
                .as_deref()
                .is_some_and(|p| p.trim().to_lowercase() == postal)
                && c.street
                    .as_deref()
                    .is_some_and(|s| normalize_street(s) == street)
        })
        .collect();
    match at.as_slice() {
        [one] => Some(one.id.clone()),
        _ => None,
    }
}

/// Seed 003's Sellfire → Salesforce account cascade, exactly:
///
/// 1. Phone matches? → among them, name: one → connect; several → city: one → connect,
///    several or none → create; no name match → create.
/// 2. No phone match: name matches? → city: one → connect; several or none → create.
///    No name match → create.
pub fn match_account(q: &AccountQuery, candidates: &[AccountCandidate]) -> MatchOutcome {
    let by_phone: Vec<&AccountCandidate> = candidates
        .iter()
        .filter(|c| opt_eq(&q.phone, &c.phone, same_phone))
        .collect();
    let by_city = |set: &[&AccountCandidate]| -> Vec<String> {
        set.iter()
            .filter(|c| opt_eq(&q.city, &c.city, same_text))
            .map(|c| c.id.clone())
            .collect()
    };
    if !by_phone.is_empty() {
        let by_name: Vec<&AccountCandidate> = by_phone
            .iter()
            .copied()
            .filter(|c| opt_eq(&q.name, &c.name, same_text))
            .collect();
        return match by_name.len() {
            0 => MatchOutcome::Create {
                step: MatchStep::PhoneNameNone,
            },
            1 => MatchOutcome::Matched {
                id: by_name[0].id.clone(),
                step: MatchStep::PhoneName,
            },
            _ => match by_city(&by_name).as_slice() {
                [one] => MatchOutcome::Matched {
                    id: one.clone(),
                    step: MatchStep::PhoneNameCity,
                },
                [] => MatchOutcome::Create {
                    step: MatchStep::PhoneNameCityNone,
                },
                _ => MatchOutcome::Create {
                    step: MatchStep::PhoneNameCityAmbiguous,
                },
            },
        };
    }
    let by_name: Vec<&AccountCandidate> = candidates
        .iter()
        .filter(|c| opt_eq(&q.name, &c.name, same_text))
        .collect();
    if by_name.is_empty() {
        return match match_address(q, candidates) {
            Some(id) => MatchOutcome::Matched {
                id,
                step: MatchStep::Address,
            },
            None => MatchOutcome::Create {
                step: MatchStep::NoMatch,
            },
        };
    }
    match by_city(&by_name).as_slice() {
        [one] => MatchOutcome::Matched {
            id: one.clone(),
            step: MatchStep::NameCity,
        },
        [] => MatchOutcome::Create {
            step: MatchStep::NameCityNone,
        },
        _ => MatchOutcome::Create {
            step: MatchStep::NameCityAmbiguous,
        },
    }
}

// ---------------------------------------------------------------- contact cascade

/// The app-side values the contact cascade searches with.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ContactQuery {
    pub phone: Option<String>,
    pub last_name: Option<String>,
}

/// A Salesforce Contact candidate.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ContactCandidate {
    pub id: String,
    pub account_id: Option<String>,
    pub phone: Option<String>,
    pub last_name: Option<String>,
}

impl ContactCandidate {
    pub fn from_record<R: SalesforceRecord + ?Sized>(r: &R) -> Option<Self> {
        Some(Self {
            id: r.string("Id")?,
            account_id: r.string("AccountId"),
            phone: r.string("Phone"),
            last_name: r.string("LastName"),
        })
    }
}

/// Lookup the contact cascade needs: Contacts under the account with the phone.
pub fn contact_lookups(q: &ContactQuery, account_id: &str) -> Vec<Lookup> {
    match q.phone.as_ref().filter(|p| !p.trim().is_empty()) {
        Some(p) if !account_id.is_empty() => vec![Lookup {
            object: "Contact".into(),
            conditions: vec![
                ("AccountId".into(), account_id.to_string()),
                ("Phone".into(), p.clone()),
            ],
            fields: vec![
                "Id".into(),
                "AccountId".into(),
                "Phone".into(),
                "LastName".into(),
            ],
        }],
        _ => Vec::new(),
    }
}

/// Seed 003's contact cascade under the connected account, exactly: phone match(es) →
/// last name: one → connect, several → create, none → create; no phone match → create.
pub fn match_contact(
    q: &ContactQuery,
    account_id: &str,
    candidates: &[ContactCandidate],
) -> MatchOutcome {
    let by_phone: Vec<&ContactCandidate> = candidates
        .iter()
        // The app may hold the account's 15-character id; Salesforce returns 18.
        .filter(|c| {
            !account_id.is_empty()
                && c.account_id
                    .as_deref()
                    .is_some_and(|a| crate::sfid::same_id(a, account_id))
        })
        .filter(|c| opt_eq(&q.phone, &c.phone, same_phone))
        .collect();
    if by_phone.is_empty() {
        return MatchOutcome::Create {
            step: MatchStep::PhoneNone,
        };
    }
    let by_last: Vec<&&ContactCandidate> = by_phone
        .iter()
        .filter(|c| opt_eq(&q.last_name, &c.last_name, same_text))
        .collect();
    match by_last.as_slice() {
        [one] => MatchOutcome::Matched {
            id: one.id.clone(),
            step: MatchStep::PhoneLastName,
        },
        [] => MatchOutcome::Create {
            step: MatchStep::PhoneLastNameNone,
        },
        _ => MatchOutcome::Create {
            step: MatchStep::PhoneLastNameAmbiguous,
        },
    }
}

// ---------------------------------------------------------------- simple keys

/// One key of a simple match and the ids its lookup found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyResult {
    pub step: MatchStep,
    pub ids: Vec<String>,
}

/// Keys tried in order: the first with exactly one id wins; a key with several ids is
/// ambiguous and falls through to the next; nothing → create.
pub fn match_by_keys(results: &[KeyResult]) -> MatchOutcome {
    for r in results {
        let mut ids = r.ids.clone();
        ids.sort();
        ids.dedup();
        if let [one] = ids.as_slice() {
            return MatchOutcome::Matched {
                id: one.clone(),
                step: r.step,
            };
        }
    }
    let step = if results.iter().any(|r| r.ids.len() > 1) {
        MatchStep::Ambiguous
    } else {
        MatchStep::NoMatch
    };
    MatchOutcome::Create { step }
}

/// A string view of a JSON value for lookups.
pub fn lookup_value(v: &Value) -> Option<String> {
    match v {
        Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_string()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn acc(id: &str, phone: &str, name: &str, city: &str) -> AccountCandidate {
        AccountCandidate {
            id: id.into(),
            phone: Some(phone.into()),
            name: Some(name.into()),
            city: Some(city.into()),
            street: None,
            postal_code: None,
        }
    }

    fn q() -> AccountQuery {
        AccountQuery {
            phone: Some("(555) 010-0100".into()),
            name: Some("Acme Ltd".into()),
            city: Some("Leeds".into()),
            street: None,
            postal_code: None,
        }
    }

    #[test]
    fn no_phone_or_name_match_falls_back_to_one_account_at_the_address() {
        let q = AccountQuery {
            phone: Some("+1 555 0900".into()),
            name: Some("Harbour Properties".into()),
            city: None,
            street: Some("12 Quay Street, Suite 4".into()),
            postal_code: Some("LS1 4AB".into()),
        };
        let at = |id: &str, street: &str, postal: &str| AccountCandidate {
            street: Some(street.into()),
            postal_code: Some(postal.into()),
            ..acc(id, "+1 555 0000", "Another Name", "Leeds")
        };
        // Lookups: phone, name, and the postal code (the street is compared here).
        let lookups = account_lookups(&q, "BillingCity");
        assert_eq!(
            lookups[2].conditions,
            vec![(ACCOUNT_POSTAL_CODE_FIELD.to_string(), "LS1 4AB".to_string())]
        );
        assert!(lookups[2].fields.iter().any(|f| f == ACCOUNT_STREET_FIELD));
        let one = [
            at("A1", "12 quay st. ste 4", "ls1 4ab"),
            at("A2", "99 Dock Road", "LS1 4AB"),
        ];
        assert_eq!(
            match_account(&q, &one),
            MatchOutcome::Matched {
                id: "A1".into(),
                step: MatchStep::Address
            }
        );
        // Two at the same address, or none: create.
        let two = [
            at("A1", "12 Quay Street Suite 4", "LS1 4AB"),
            at("A3", "12 Quay St, Ste 4", "LS1 4AB"),
        ];
        assert!(matches!(
            match_account(&q, &two),
            MatchOutcome::Create {
                step: MatchStep::NoMatch
            }
        ));
        // Without an address in the query, no fallback.
        let bare = AccountQuery {
            street: None,
            ..q.clone()
        };
        assert!(matches!(
            match_account(&bare, &one),
            MatchOutcome::Create { .. }
        ));
        assert_eq!(account_lookups(&bare, "BillingCity").len(), 2);
    }

    fn outcome(c: &[AccountCandidate]) -> MatchOutcome {
        match_account(&q(), c)
    }

    #[test]
    fn account_phone_then_single_name_connects() {
        let c = [
            acc("A1", "555-010-0100", "acme ltd", "York"),
            acc("A2", "5550100100", "Other", "Leeds"),
        ];
        assert_eq!(
            outcome(&c),
            MatchOutcome::Matched {
                id: "A1".into(),
                step: MatchStep::PhoneName
            }
        );
    }

    #[test]
    fn account_phone_names_then_city() {
        let c = [
            acc("A1", "5550100100", "Acme Ltd", "York"),
            acc("A2", "5550100100", "Acme Ltd", "Leeds"),
        ];
        assert_eq!(
            outcome(&c),
            MatchOutcome::Matched {
                id: "A2".into(),
                step: MatchStep::PhoneNameCity
            }
        );
        let c = [
            acc("A1", "5550100100", "Acme Ltd", "Leeds"),
            acc("A2", "5550100100", "Acme Ltd", "Leeds"),
        ];
        assert_eq!(
            outcome(&c),
            MatchOutcome::Create {
                step: MatchStep::PhoneNameCityAmbiguous
            }
        );
        let c = [
            acc("A1", "5550100100", "Acme Ltd", "York"),
            acc("A2", "5550100100", "Acme Ltd", "Hull"),
        ];
        assert_eq!(
            outcome(&c),
            MatchOutcome::Create {
                step: MatchStep::PhoneNameCityNone
            }
        );
    }

    #[test]
    fn account_phone_match_without_name_creates_and_does_not_fall_to_branch_two() {
        // A2 would match by name+city in branch 2, but branch 1 applies because the phone matched.
        let c = [
            acc("A1", "5550100100", "Someone Else", "Leeds"),
            acc("A2", "999", "Acme Ltd", "Leeds"),
        ];
        assert_eq!(
            outcome(&c),
            MatchOutcome::Create {
                step: MatchStep::PhoneNameNone
            }
        );
    }

    #[test]
    fn account_name_branch_requires_city() {
        let c = [acc("A1", "111", "Acme Ltd", "Leeds")];
        assert_eq!(
            outcome(&c),
            MatchOutcome::Matched {
                id: "A1".into(),
                step: MatchStep::NameCity
            }
        );
        let c = [acc("A1", "111", "Acme Ltd", "York")];
        assert_eq!(
            outcome(&c),
            MatchOutcome::Create {
                step: MatchStep::NameCityNone
            }
        );
        let c = [
            acc("A1", "111", "Acme Ltd", "Leeds"),
            acc("A2", "222", "ACME LTD", "leeds"),
        ];
        assert_eq!(
            outcome(&c),
            MatchOutcome::Create {
                step: MatchStep::NameCityAmbiguous
            }
        );
        assert_eq!(
            outcome(&[acc("A1", "111", "Other", "Leeds")]),
            MatchOutcome::Create {
                step: MatchStep::NoMatch
            }
        );
        assert_eq!(
            outcome(&[]),
            MatchOutcome::Create {
                step: MatchStep::NoMatch
            }
        );
    }

    #[test]
    fn account_lookups_are_phone_then_name() {
        let l = account_lookups(&q(), "BillingCity");
        assert_eq!(l.len(), 2);
        assert_eq!(
            l[0].conditions,
            vec![("Phone".to_string(), "(555) 010-0100".to_string())]
        );
        assert_eq!(
            l[1].conditions,
            vec![("Name".to_string(), "Acme Ltd".to_string())]
        );
        assert!(account_lookups(&AccountQuery::default(), "BillingCity").is_empty());
    }

    fn con(id: &str, acct: &str, phone: &str, last: &str) -> ContactCandidate {
        ContactCandidate {
            id: id.into(),
            account_id: Some(acct.into()),
            phone: Some(phone.into()),
            last_name: Some(last.into()),
        }
    }

    #[test]
    fn contact_cascade_branches() {
        let q = ContactQuery {
            phone: Some("555 1234".into()),
            last_name: Some("Smith".into()),
        };
        let one = [
            con("C1", "A1", "5551234", "Smith"),
            con("C2", "A1", "5551234", "Jones"),
        ];
        assert_eq!(
            match_contact(&q, "A1", &one),
            MatchOutcome::Matched {
                id: "C1".into(),
                step: MatchStep::PhoneLastName
            }
        );
        let two = [
            con("C1", "A1", "5551234", "Smith"),
            con("C2", "A1", "5551234", "smith"),
        ];
        assert_eq!(
            match_contact(&q, "A1", &two),
            MatchOutcome::Create {
                step: MatchStep::PhoneLastNameAmbiguous
            }
        );
        let none = [con("C1", "A1", "5551234", "Jones")];
        assert_eq!(
            match_contact(&q, "A1", &none),
            MatchOutcome::Create {
                step: MatchStep::PhoneLastNameNone
            }
        );
        // Same phone under another account does not count.
        let other = [con("C1", "A9", "5551234", "Smith")];
        assert_eq!(
            match_contact(&q, "A1", &other),
            MatchOutcome::Create {
                step: MatchStep::PhoneNone
            }
        );
        assert_eq!(contact_lookups(&q, "A1")[0].conditions.len(), 2);
        assert!(contact_lookups(&q, "").is_empty());
    }

    #[test]
    fn contact_cascade_treats_15_and_18_character_account_ids_as_one() {
        let q = ContactQuery {
            phone: Some("5551234".into()),
            last_name: Some("Smith".into()),
        };
        let found = [con(
            "003A0000006Vm9rAAA",
            "001A0000006Vm9rIAC",
            "5551234",
            "Smith",
        )];
        assert_eq!(
            match_contact(&q, "001A0000006Vm9r", &found),
            MatchOutcome::Matched {
                id: "003A0000006Vm9rAAA".into(),
                step: MatchStep::PhoneLastName
            }
        );
    }

    #[test]
    fn simple_keys_first_unique_wins() {
        let r = [
            KeyResult {
                step: MatchStep::ExternalId,
                ids: vec![],
            },
            KeyResult {
                step: MatchStep::Email,
                ids: vec!["X".into(), "Y".into()],
            },
            KeyResult {
                step: MatchStep::Phone,
                ids: vec!["Z".into()],
            },
        ];
        assert_eq!(
            match_by_keys(&r),
            MatchOutcome::Matched {
                id: "Z".into(),
                step: MatchStep::Phone
            }
        );
        assert_eq!(
            match_by_keys(&r[..2]),
            MatchOutcome::Create {
                step: MatchStep::Ambiguous
            }
        );
        assert_eq!(
            match_by_keys(&[]),
            MatchOutcome::Create {
                step: MatchStep::NoMatch
            }
        );
    }
}
