//! Salesforce's datetime formats: responses use `2026-11-21T07:57:32.000+0000`; requests
//! and SOQL take ISO 8601 with an explicit offset.

use chrono::{DateTime, SecondsFormat, Utc};

/// Parses `…+0000`, `…+00:00` and `…Z`, with or without fractional seconds.
pub fn parse_datetime(value: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_str(value, "%Y-%m-%dT%H:%M:%S%.f%z")
        .or_else(|_| DateTime::parse_from_rfc3339(value))
        .ok()
        .map(|d| d.with_timezone(&Utc))
}

/// `2026-11-21T07:57:32Z`, or with milliseconds when they are not zero.
pub fn format_datetime(value: &DateTime<Utc>) -> String {
    if value.timestamp_subsec_millis() == 0 {
        value.to_rfc3339_opts(SecondsFormat::Secs, true)
    } else {
        value.to_rfc3339_opts(SecondsFormat::Millis, true)
    }
}

pub(crate) mod serde_sf_datetime {
    use chrono::{DateTime, Utc};
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<DateTime<Utc>, D::Error> {
        let raw = String::deserialize(d)?;
        super::parse_datetime(&raw)
            .ok_or_else(|| serde::de::Error::custom(format!("not a Salesforce datetime: {raw:?}")))
    }

    pub fn serialize<S: Serializer>(v: &DateTime<Utc>, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&super::format_datetime(v))
    }

    pub mod option {
        use chrono::{DateTime, Utc};
        use serde::{Deserialize, Deserializer, Serializer};

        pub fn deserialize<'de, D: Deserializer<'de>>(
            d: D,
        ) -> Result<Option<DateTime<Utc>>, D::Error> {
            let raw = Option::<String>::deserialize(d)?;
            raw.map(|raw| {
                super::super::parse_datetime(&raw).ok_or_else(|| {
                    serde::de::Error::custom(format!("not a Salesforce datetime: {raw:?}"))
                })
            })
            .transpose()
        }

        pub fn serialize<S: Serializer>(
            v: &Option<DateTime<Utc>>,
            s: S,
        ) -> Result<S::Ok, S::Error> {
            match v {
                Some(v) => s.serialize_str(&super::super::format_datetime(v)),
                None => s.serialize_none(),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_salesforce_forms() {
        let a = parse_datetime("2026-11-21T07:57:32.000+0000").unwrap();
        let b = parse_datetime("2026-11-21T07:57:32Z").unwrap();
        let c = parse_datetime("2026-11-21T08:57:32+01:00").unwrap();
        assert_eq!(a, b);
        assert_eq!(b, c);
        assert_eq!(format_datetime(&a), "2026-11-21T07:57:32Z");
        assert!(parse_datetime("yesterday").is_none());
    }
}
