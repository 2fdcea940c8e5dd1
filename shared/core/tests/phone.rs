//! Phone normalisation and the SOQL variants matching queries with.

use crmsync_core::matching::{lookup_values, normalize_phone, phone_variants};
use proptest::prelude::*;

fn write(a: &str, b: &str, c: &str, style: usize, prefix: usize) -> String {
    let national = match style {
        0 => format!("{a}{b}{c}"),
        1 => format!("({a}) {b}-{c}"),
        2 => format!("{a}-{b}-{c}"),
        3 => format!("{a}.{b}.{c}"),
        4 => format!("{a} {b} {c}"),
        5 => format!("({a}){b}-{c}"),
        6 => format!("{a} {b}-{c}"),
        _ => format!("{a}/{b}-{c}"),
    };
    format!("{}{national}", ["", "+1 ", "1-", "+1", "1 "][prefix])
}

/// One 10-digit North American number written two of the common (or less common) ways,
/// with its national digits.
fn formatted_pair() -> impl Strategy<Value = (String, String, String)> {
    (
        "[2-9][0-9]{2}",
        "[2-9][0-9]{2}",
        "[0-9]{4}",
        (0usize..8, 0usize..5),
        (0usize..8, 0usize..5),
    )
        .prop_map(|(a, b, c, (s1, p1), (s2, p2))| {
            (
                write(&a, &b, &c, s1, p1),
                write(&a, &b, &c, s2, p2),
                format!("{a}{b}{c}"),
            )
        })
}

#[test]
fn the_issue_example_matches() {
    assert_eq!(normalize_phone("(555) 010-0100"), "5550100100");
    assert_eq!(normalize_phone("+1 555 010 0100"), "5550100100");
    assert!(phone_variants("(555) 010-0100").contains(&"+1 555 010 0100".to_string()));
}

#[test]
fn only_phone_fields_get_variants() {
    assert_eq!(lookup_values("Email", "a@b.example"), vec!["a@b.example"]);
    assert!(lookup_values("Phone", "(555) 010-0100").len() > 10);
}

#[test]
fn short_and_international_numbers_keep_their_digits() {
    assert_eq!(normalize_phone("+44 20 7946 0958"), "442079460958");
    assert_eq!(normalize_phone("+1 555 1200"), "15551200");
    assert_eq!(phone_variants("+1 555 1200")[0], "+1 555 1200");
}

proptest! {
    #[test]
    fn every_format_normalises_to_the_national_number((typed, stored, national) in formatted_pair()) {
        prop_assert_eq!(normalize_phone(&typed), national.clone());
        prop_assert_eq!(normalize_phone(&stored), national);
    }

    #[test]
    fn variants_are_the_same_number_and_include_the_text(text in " ?[+0-9 ().-]{0,20} ?") {
        let n = normalize_phone(&text);
        let variants = phone_variants(&text);
        if !text.trim().is_empty() {
            prop_assert_eq!(&variants[0], text.trim());
        }
        for v in &variants {
            prop_assert_eq!(normalize_phone(v), n.clone(), "{}", v);
        }
    }

    #[test]
    fn normalising_is_idempotent(text in "[+0-9 ().-]{0,20}") {
        let once = normalize_phone(&text);
        prop_assert_eq!(normalize_phone(&once), once.clone());
    }

    /// A number stored in a common format is among the variants queried for any format of
    /// it the app sends (`555/010-0100` is not a common stored format).
    #[test]
    fn the_stored_format_is_queried((typed, stored, _) in formatted_pair()) {
        prop_assume!(!stored.contains('/'));
        let variants = phone_variants(&typed);
        prop_assert!(variants.contains(&stored.trim().to_string()), "{} not in {:?}", stored, variants);
    }
}
