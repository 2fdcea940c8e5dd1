//! Property: any string value, however hostile, becomes exactly one SOQL string literal
//! that decodes back to itself, and the rest of the query is unchanged.

use crmsync_salesforce::describe::{FieldDescribe, ObjectDescribe};
use crmsync_salesforce::soql::{Condition, SoqlBuilder, escape_like};
use proptest::prelude::*;

fn contact() -> ObjectDescribe {
    let field = |name: &str| -> FieldDescribe {
        serde_json::from_value(serde_json::json!({"name": name, "type": "string"})).unwrap()
    };
    ObjectDescribe {
        name: "Contact".into(),
        fields: vec![field("Id"), field("LastName")],
        ..Default::default()
    }
}

/// Reads one single-quoted literal at the start of `input` following Salesforce's escape
/// table; returns the decoded value and the rest of the input.
fn read_literal(input: &str, like: bool) -> Result<(String, &str), String> {
    let mut chars = input.char_indices();
    match chars.next() {
        Some((_, '\'')) => {}
        other => return Err(format!("literal must open with a quote, got {other:?}")),
    }
    let mut out = String::new();
    let mut pending_surrogate: Option<u16> = None;
    while let Some((i, c)) = chars.next() {
        match c {
            '\'' => {
                if pending_surrogate.is_some() {
                    return Err("dangling surrogate".into());
                }
                return Ok((out, &input[i + 1..]));
            }
            '\\' => {
                let (_, e) = chars.next().ok_or("dangling backslash")?;
                let decoded = match e {
                    'n' | 'N' => '\n',
                    'r' | 'R' => '\r',
                    't' | 'T' => '\t',
                    '"' => '"',
                    '\'' => '\'',
                    '\\' => '\\',
                    '%' | '_' if like => e,
                    'u' => {
                        let hex: String = (0..4)
                            .map(|_| chars.next().map(|(_, h)| h).ok_or("short \\u"))
                            .collect::<Result<_, _>>()?;
                        let unit = u16::from_str_radix(&hex, 16).map_err(|e| e.to_string())?;
                        if let Some(high) = pending_surrogate.take() {
                            let c = char::decode_utf16([high, unit])
                                .next()
                                .unwrap()
                                .map_err(|e| e.to_string())?;
                            out.push(c);
                        } else if (0xD800..0xDC00).contains(&unit) {
                            pending_surrogate = Some(unit);
                        } else {
                            out.push(char::from_u32(unit as u32).ok_or("bad \\u")?);
                        }
                        continue;
                    }
                    other => return Err(format!("escape \\{other} is not valid SOQL")),
                };
                out.push(decoded);
            }
            // A raw control character inside a literal would be fragile; the builder must
            // escape them.
            c if c.is_control() => return Err(format!("raw control char {:?}", c)),
            c => out.push(c),
        }
    }
    Err("unterminated literal".into())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn equality_value_is_one_literal(value in any::<String>()) {
        let describe = contact();
        let soql = SoqlBuilder::new(&describe)
            .select(["Id"])
            .filter(Condition::eq("LastName", value.as_str()))
            .limit(1)
            .build()
            .unwrap();
        let prefix = "SELECT Id FROM Contact WHERE LastName = ";
        prop_assert!(soql.starts_with(prefix), "{}", soql);
        let (decoded, rest) = read_literal(&soql[prefix.len()..], false).map_err(TestCaseError::fail)?;
        prop_assert_eq!(decoded, value);
        prop_assert_eq!(rest, " LIMIT 1");
    }

    #[test]
    fn hostile_text_in_in_lists_stays_literal(a in any::<String>(), b in "[' \\\\)(OR]{0,12}") {
        let describe = contact();
        let soql = SoqlBuilder::new(&describe)
            .select(["Id"])
            .filter(Condition::in_list("LastName", [a.as_str(), b.as_str()]))
            .build()
            .unwrap();
        let prefix = "SELECT Id FROM Contact WHERE LastName IN (";
        prop_assert!(soql.starts_with(prefix));
        let (first, rest) = read_literal(&soql[prefix.len()..], false).map_err(TestCaseError::fail)?;
        prop_assert_eq!(first, a);
        prop_assert!(rest.starts_with(", "));
        let (second, rest) = read_literal(&rest[2..], false).map_err(TestCaseError::fail)?;
        prop_assert_eq!(second, b);
        prop_assert_eq!(rest, ")");
    }

    #[test]
    fn like_escape_matches_literally(value in any::<String>()) {
        let quoted = format!("'{}'", escape_like(&value));
        let (decoded, rest) = read_literal(&quoted, true).map_err(TestCaseError::fail)?;
        prop_assert_eq!(decoded, value.clone());
        prop_assert_eq!(rest, "");
        // No unescaped wildcard survives.
        let mut prev_backslash = false;
        for c in escape_like(&value).chars() {
            if (c == '%' || c == '_') && !prev_backslash {
                prop_assert!(false, "unescaped wildcard in {:?}", value);
            }
            prev_backslash = c == '\\' && !prev_backslash;
        }
    }
}

#[test]
fn known_hostile_values() {
    let describe = contact();
    for value in [
        "x' OR Id != null OR LastName = 'y",
        "\\' OR 1=1 --",
        "multi\nline\r\n\ttab",
        "bell\u{7}ff\u{c}nul\u{0}",
        "emoji 🦀 and é",
    ] {
        let soql = SoqlBuilder::new(&describe)
            .select(["Id"])
            .filter(Condition::eq("LastName", value))
            .build()
            .unwrap();
        let prefix = "SELECT Id FROM Contact WHERE LastName = ";
        let (decoded, rest) = read_literal(&soql[prefix.len()..], false).unwrap();
        assert_eq!(decoded, value);
        assert_eq!(rest, "");
    }
}
