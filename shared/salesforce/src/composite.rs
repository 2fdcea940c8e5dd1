//! Composite (`POST composite`): up to 25 subrequests (5 queries) in one API call.

use std::collections::BTreeMap;

use reqwest::Method;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::client::SfClient;
use crate::error::{ApiError, SfError, classify};
use crate::http::Request;

pub const COMPOSITE_MAX_SUBREQUESTS: usize = 25;
pub const COMPOSITE_MAX_QUERIES: usize = 5;

/// One subrequest. `path` is relative to the data base (`sobjects/Account`,
/// `query?q=…`); the client prefixes `/services/data/vNN.0/`.
#[derive(Clone, Debug, PartialEq)]
pub struct CompositeSubrequest {
    pub method: Method,
    pub path: String,
    pub reference_id: String,
    pub body: Option<Value>,
    /// Headers for this subrequest only (e.g. `Sforce-Query-Options`). Salesforce lets a
    /// subrequest carry any header its resource supports except `Accept`, `Authorization`
    /// and `Content-Type`, which it inherits from the composite request.
    pub http_headers: BTreeMap<String, String>,
}

impl CompositeSubrequest {
    pub fn new(method: Method, path: impl Into<String>, reference_id: impl Into<String>) -> Self {
        CompositeSubrequest {
            method,
            path: path.into(),
            reference_id: reference_id.into(),
            body: None,
            http_headers: BTreeMap::new(),
        }
    }

    /// A `query?q=…` subrequest with the SOQL percent-encoded.
    pub fn query(soql: &str, reference_id: impl Into<String>) -> Self {
        let encoded: String = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("q", soql)
            .finish();
        Self::new(Method::GET, format!("query?{encoded}"), reference_id)
    }

    pub fn with_body(mut self, body: Value) -> Self {
        self.body = Some(body);
        self
    }

    pub fn with_header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.http_headers.insert(name.into(), value.into());
        self
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct WireSubrequest<'a> {
    method: &'a str,
    url: String,
    reference_id: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    body: Option<&'a Value>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    http_headers: &'a BTreeMap<String, String>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct WireRequest<'a> {
    all_or_none: bool,
    composite_request: Vec<WireSubrequest<'a>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct WireResponse {
    composite_response: Vec<CompositeSubresponse>,
}

#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct CompositeSubresponse {
    #[serde(default)]
    pub body: Value,
    #[serde(default)]
    pub http_headers: Map<String, Value>,
    pub http_status_code: u16,
    pub reference_id: String,
}

impl CompositeSubresponse {
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.http_status_code)
    }

    /// The subrequest's failure, classified like a top-level response.
    pub fn error(&self) -> Option<SfError> {
        if self.is_success() {
            return None;
        }
        let body = serde_json::to_vec(&self.body).unwrap_or_default();
        Some(classify(self.http_status_code, &body))
    }

    /// A query subrequest's result: its first page (follow `next_records_url` as usual).
    pub fn query_page(&self) -> Result<crate::query::QueryPage, SfError> {
        if let Some(e) = self.error() {
            return Err(e);
        }
        serde_json::from_value(self.body.clone())
            .map_err(|e| SfError::decode("composite query subresponse", e))
    }

    /// The raw error entries of a failed subrequest.
    pub fn errors(&self) -> Vec<ApiError> {
        if self.is_success() {
            return Vec::new();
        }
        serde_json::from_value(self.body.clone()).unwrap_or_default()
    }
}

impl SfClient {
    /// `POST composite`; responses come back in subrequest order.
    pub async fn composite(
        &self,
        subrequests: &[CompositeSubrequest],
        all_or_none: bool,
    ) -> Result<Vec<CompositeSubresponse>, SfError> {
        if subrequests.is_empty() || subrequests.len() > COMPOSITE_MAX_SUBREQUESTS {
            return Err(SfError::invalid(
                "compositeRequest",
                format!(
                    "{} subrequests; 1..={COMPOSITE_MAX_SUBREQUESTS} allowed",
                    subrequests.len()
                ),
            ));
        }
        let queries = subrequests
            .iter()
            .filter(|s| s.path.starts_with("query") || s.path.starts_with("queryAll"))
            .count();
        if queries > COMPOSITE_MAX_QUERIES {
            return Err(SfError::invalid(
                "compositeRequest",
                format!("{queries} queries; at most {COMPOSITE_MAX_QUERIES} allowed"),
            ));
        }
        let prefix = self.inner.data_base.path().to_string();
        let mut wire = Vec::with_capacity(subrequests.len());
        for (i, sub) in subrequests.iter().enumerate() {
            if sub.path.starts_with('/') || sub.path.contains("..") {
                return Err(SfError::invalid(
                    format!("compositeRequest[{i}].url"),
                    "path must be relative to the data base",
                ));
            }
            wire.push(WireSubrequest {
                method: sub.method.as_str(),
                url: format!("{prefix}{}", sub.path),
                reference_id: &sub.reference_id,
                body: sub.body.as_ref(),
                http_headers: &sub.http_headers,
            });
        }
        let body = WireRequest {
            all_or_none,
            composite_request: wire,
        };
        let idempotent = subrequests.iter().all(|s| s.method != Method::POST);
        let url = self.data_url(&["composite"]);
        let request = Request::new(Method::POST, url)
            .json(&body)?
            .idempotent(idempotent);
        let response: WireResponse = self.execute_json(request, "composite").await?;
        Ok(response.composite_response)
    }
}
