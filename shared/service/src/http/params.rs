//! Request input with errors that name the field: query parameters (unknown or repeated
//! ones are refused), path segments, and JSON bodies (serde errors carry the JSON path, so
//! an unknown field deep in a config is named `config.objects.Lead.fields[0].colour`).

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Path, Request};
use axum::http::request::Parts;
use chrono::{DateTime, Utc};
use serde::de::DeserializeOwned;
use utoipa::IntoParams;
use utoipa::openapi::path::ParameterIn;

use super::error::ApiError;

/// Parsed query parameters, checked against an allow-list.
#[derive(Debug, Default)]
pub(crate) struct Params(HashMap<String, String>);

impl Params {
    /// `lenient`: ignore parameters outside `allowed` (for redirects from Salesforce, which
    /// may append its own).
    pub(crate) fn parse(
        query: Option<&str>,
        allowed: &[&str],
        lenient: bool,
    ) -> Result<Self, ApiError> {
        let mut out = HashMap::new();
        for (name, value) in url::form_urlencoded::parse(query.unwrap_or_default().as_bytes()) {
            if !allowed.contains(&name.as_ref()) {
                if lenient {
                    continue;
                }
                return Err(ApiError::bad_request(
                    name.as_ref(),
                    format!("unknown query parameter (allowed: {})", allowed.join(", ")),
                ));
            }
            if out.insert(name.to_string(), value.into_owned()).is_some() {
                return Err(ApiError::bad_request(name.as_ref(), "given more than once"));
            }
        }
        Ok(Self(out))
    }

    /// The query parameters `Q` documents (its `IntoParams`), so the OpenAPI document and
    /// the parser accept the same names; `lenient` as in [`Params::parse`].
    pub(crate) fn documented<Q: IntoParams>(query: Option<&str>) -> Result<Self, ApiError> {
        Self::documented_with::<Q>(query, false)
    }

    pub(crate) fn documented_with<Q: IntoParams>(
        query: Option<&str>,
        lenient: bool,
    ) -> Result<Self, ApiError> {
        let names: Vec<String> = Q::into_params(|| Some(ParameterIn::Query))
            .into_iter()
            .filter(|p| p.parameter_in == ParameterIn::Query)
            .map(|p| p.name)
            .collect();
        let names: Vec<&str> = names.iter().map(String::as_str).collect();
        Self::parse(query, &names, lenient)
    }

    pub(crate) fn get(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(String::as_str)
    }

    pub(crate) fn required(&self, name: &str) -> Result<&str, ApiError> {
        self.get(name)
            .filter(|v| !v.is_empty())
            .ok_or_else(|| ApiError::bad_request(name, "required"))
    }

    pub(crate) fn number<T: std::str::FromStr>(&self, name: &str) -> Result<Option<T>, ApiError> {
        self.get(name)
            .map(|v| {
                v.parse::<T>()
                    .map_err(|_| ApiError::bad_request(name, "must be a whole number"))
            })
            .transpose()
    }

    /// An RFC 3339 time (`2026-11-22T10:00:00Z`).
    pub(crate) fn time(&self, name: &str) -> Result<Option<DateTime<Utc>>, ApiError> {
        self.get(name)
            .map(|v| {
                DateTime::parse_from_rfc3339(v)
                    .map(|t| t.with_timezone(&Utc))
                    .map_err(|_| {
                        ApiError::bad_request(
                            name,
                            "must be an RFC 3339 time like 2026-11-22T10:00:00Z",
                        )
                    })
            })
            .transpose()
    }
}

/// The route's path parameters by name; a malformed path is a JSON 400.
#[derive(Debug)]
pub(crate) struct Segments(HashMap<String, String>);

impl Segments {
    pub(crate) fn get(&self, name: &str) -> Result<&str, ApiError> {
        self.0
            .get(name)
            .map(String::as_str)
            .ok_or_else(|| ApiError::bad_request(name, "missing path segment"))
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Segments {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        Path::<HashMap<String, String>>::from_request_parts(parts, state)
            .await
            .map(|Path(map)| Segments(map))
            .map_err(|e| ApiError::bad_request("path", e.body_text()))
    }
}

/// Parses JSON naming the path of the first problem (`body` for the document itself).
pub(crate) fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(ApiError::bad_request("body", "a JSON object is required"));
    }
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let value: T = serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let path = e.path().to_string();
        let field = if path == "." {
            "body".to_string()
        } else {
            path
        };
        ApiError::bad_request(field, e.into_inner())
    })?;
    de.end().map_err(|e| ApiError::bad_request("body", e))?;
    Ok(value)
}

/// A JSON body, read with the router's body limit; every failure is a JSON error.
#[derive(Debug)]
pub(crate) struct JsonBody<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for JsonBody<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let bytes = read_body(req, state).await?;
        parse_json(&bytes).map(JsonBody)
    }
}

/// The raw body; too large or unreadable bodies become JSON errors (413 / 400).
pub(crate) async fn read_body<S: Send + Sync>(req: Request, state: &S) -> Result<Bytes, ApiError> {
    Bytes::from_request(req, state).await.map_err(|e| {
        let status = e.status();
        if status == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
            ApiError {
                field: Some("body".into()),
                ..ApiError::new(status, "payload_too_large", "body: too large")
            }
        } else {
            ApiError {
                status,
                ..ApiError::bad_request("body", e.body_text())
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_and_repeated_params_are_named() {
        let e = Params::parse(Some("limit=5&colour=red"), &["limit"], false).unwrap_err();
        assert_eq!(e.field.as_deref(), Some("colour"));
        let e = Params::parse(Some("limit=5&limit=6"), &["limit"], false).unwrap_err();
        assert_eq!(e.field.as_deref(), Some("limit"));
        let p = Params::parse(Some("limit=5&sfdc_community_url=x"), &["limit"], true).unwrap();
        assert_eq!(p.number::<u32>("limit").unwrap(), Some(5));
    }

    #[test]
    fn bad_values_are_named() {
        let p =
            Params::parse(Some("limit=five&from=yesterday"), &["limit", "from"], false).unwrap();
        assert_eq!(
            p.number::<u32>("limit").unwrap_err().field.as_deref(),
            Some("limit")
        );
        assert_eq!(p.time("from").unwrap_err().field.as_deref(), Some("from"));
        assert_eq!(p.required("to").unwrap_err().field.as_deref(), Some("to"));
    }

    #[test]
    fn json_errors_carry_the_path() {
        #[derive(Debug, serde::Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Inner {
            #[allow(dead_code)]
            a: u32,
        }
        #[derive(Debug, serde::Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Outer {
            #[allow(dead_code)]
            inner: Inner,
        }
        let e = parse_json::<Outer>(br#"{"inner":{"a":1,"b":2}}"#).unwrap_err();
        assert_eq!(e.field.as_deref(), Some("inner.b"));
        let e = parse_json::<Outer>(br#"{"inner":{"a":"x"}}"#).unwrap_err();
        assert_eq!(e.field.as_deref(), Some("inner.a"));
        let e = parse_json::<Outer>(b"").unwrap_err();
        assert_eq!(e.field.as_deref(), Some("body"));
        assert!(parse_json::<Outer>(br#"{"inner":{"a":1}} trailing"#).is_err());
    }
}
