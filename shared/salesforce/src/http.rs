//! Sending REST requests: bearer token, one refresh on 401, retries with backoff for
//! retryable errors, and `Sforce-Limit-Info` on every response.

use std::sync::atomic::Ordering;

use reqwest::Method;
use reqwest::header::{ACCEPT, CONTENT_TYPE, HeaderMap, HeaderName, HeaderValue};
use serde::Serialize;
use serde::de::DeserializeOwned;
use url::Url;

use crate::client::{ApiUsage, SfClient};
use crate::error::{SfError, classify};

/// One REST call, reusable across attempts.
pub(crate) struct Request {
    pub method: Method,
    pub url: Url,
    pub body: Option<Vec<u8>>,
    pub headers: HeaderMap,
    /// Safe to resend after an ambiguous failure (timeout, 500).
    pub idempotent: bool,
    /// `Content-Type` of the body (JSON unless a CSV upload says otherwise).
    pub content_type: &'static str,
}

impl Request {
    pub fn new(method: Method, url: Url) -> Self {
        let idempotent = method != Method::POST;
        Request {
            method,
            url,
            body: None,
            headers: HeaderMap::new(),
            idempotent,
            content_type: "application/json",
        }
    }

    /// A CSV body (Bulk API 2.0 uploads).
    pub fn csv(mut self, body: Vec<u8>) -> Self {
        self.body = Some(body);
        self.content_type = "text/csv";
        self
    }

    pub fn json(mut self, body: &impl Serialize) -> Result<Self, SfError> {
        let bytes =
            serde_json::to_vec(body).map_err(|e| SfError::invalid("body", e.to_string()))?;
        self.body = Some(bytes);
        Ok(self)
    }

    pub fn header(mut self, name: &'static str, value: String) -> Result<Self, SfError> {
        let value =
            HeaderValue::from_str(&value).map_err(|e| SfError::invalid(name, e.to_string()))?;
        self.headers.insert(HeaderName::from_static(name), value);
        Ok(self)
    }

    /// Marks a PATCH/DELETE/POST as safe (or unsafe) to resend.
    pub fn idempotent(mut self, yes: bool) -> Self {
        self.idempotent = yes;
        self
    }
}

/// A successful (2xx or 300) answer.
pub(crate) struct Reply {
    pub status: u16,
    pub body: Vec<u8>,
    /// Response headers (Bulk API 2.0 reads `Sforce-Locator` from them).
    pub headers: HeaderMap,
}

impl Reply {
    pub fn json<T: DeserializeOwned>(&self, context: &str) -> Result<T, SfError> {
        serde_json::from_slice(&self.body).map_err(|e| SfError::decode(context, e))
    }
}

impl SfClient {
    /// A URL under the data base from path segments; each segment is percent-encoded,
    /// so a value (an external id) can never change the path.
    pub(crate) fn data_url(&self, segments: &[&str]) -> Url {
        let mut url = self.inner.data_base.clone();
        {
            let mut path = url
                .path_segments_mut()
                .expect("data base URL is hierarchical");
            path.pop_if_empty();
            for segment in segments {
                path.push(segment);
            }
        }
        url
    }

    /// Resolves a server-relative URL Salesforce gave us (`nextRecordsUrl`), refusing
    /// anything that would leave the instance host.
    pub(crate) fn instance_path(&self, path: &str) -> Result<Url, SfError> {
        let base = &self.inner.data_base;
        let url = base
            .join(path)
            .map_err(|e| SfError::decode("server-relative URL", e))?;
        if url.origin() != base.origin() || !url.path().starts_with("/services/data/") {
            return Err(SfError::decode(
                "server-relative URL",
                format!("refusing URL outside the instance: {}", url.path()),
            ));
        }
        Ok(url)
    }

    pub(crate) async fn execute_json<T: DeserializeOwned>(
        &self,
        request: Request,
        context: &str,
    ) -> Result<T, SfError> {
        self.execute(request).await?.json(context)
    }

    /// Sends with the current token; on 401 refreshes once and resends; retries retryable
    /// failures with jittered exponential backoff.
    pub(crate) async fn execute(&self, request: Request) -> Result<Reply, SfError> {
        let policy = &self.inner.config.retry;
        let mut token = self.inner.tokens.access_token().await?;
        let mut refreshed = false;
        let mut attempt: u32 = 1;
        loop {
            match self.send_once(&request, token.secret()).await {
                Ok(reply) => return Ok(reply),
                Err(err) if err.is_session_expired() => {
                    if refreshed {
                        return Err(SfError::Auth {
                            reconnect_needed: true,
                            code: err.code().unwrap_or("INVALID_SESSION_ID").to_string(),
                            message: "session rejected again right after a token refresh".into(),
                        });
                    }
                    tracing::debug!(
                        path = request.url.path(),
                        "session expired; refreshing token"
                    );
                    token = self.inner.tokens.refresh(&token).await?;
                    refreshed = true;
                }
                Err(err)
                    if err.is_retryable()
                        && attempt < policy.max_attempts
                        && (request.idempotent || err.request_not_applied()) =>
                {
                    let delay = policy.backoff(attempt);
                    tracing::debug!(
                        path = request.url.path(),
                        attempt,
                        code = err.code().unwrap_or(""),
                        delay_ms = delay.as_millis() as u64,
                        "retrying Salesforce request"
                    );
                    tokio::time::sleep(delay).await;
                    attempt += 1;
                }
                Err(err) => return Err(err),
            }
        }
    }

    async fn send_once(&self, request: &Request, token: &str) -> Result<Reply, SfError> {
        let mut builder = self
            .inner
            .http
            .request(request.method.clone(), request.url.clone())
            .bearer_auth(token)
            .header(ACCEPT, "application/json")
            .headers(request.headers.clone());
        if let Some(body) = &request.body {
            builder = builder
                .header(CONTENT_TYPE, request.content_type)
                .body(body.clone());
        }
        self.inner.requests.fetch_add(1, Ordering::Relaxed);
        let response = builder.send().await.map_err(SfError::from_transport)?;
        let status = response.status().as_u16();
        if let Some(usage) = response
            .headers()
            .get("sforce-limit-info")
            .and_then(|v| v.to_str().ok())
            .and_then(ApiUsage::parse_header)
        {
            self.record_usage(usage);
        }
        let headers = response.headers().clone();
        let body = response
            .bytes()
            .await
            .map_err(SfError::from_transport)?
            .to_vec();
        tracing::trace!(method = %request.method, path = request.url.path(), status, "Salesforce response");
        if (200..300).contains(&status) || status == 300 {
            Ok(Reply {
                status,
                body,
                headers,
            })
        } else {
            Err(classify(status, &body))
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::config::ClientConfig;
    use crate::token::{AccessToken, StaticTokenProvider};

    fn client() -> SfClient {
        SfClient::new(
            reqwest::Client::new(),
            ClientConfig::new(Url::parse("https://acme.my.salesforce.com").unwrap()),
            Arc::new(StaticTokenProvider::new(AccessToken::new("t"))),
        )
        .unwrap()
    }

    #[test]
    fn next_records_url_must_stay_on_the_instance() {
        let c = client();
        let ok = c
            .instance_path("/services/data/v62.0/query/01gXX-2000")
            .unwrap();
        assert_eq!(
            ok.as_str(),
            "https://acme.my.salesforce.com/services/data/v62.0/query/01gXX-2000"
        );
        for hostile in [
            "//evil.example/services/data/v62.0/query/x",
            "https://evil.example/services/data/v62.0/query/x",
            "/services/oauth2/token",
        ] {
            assert!(c.instance_path(hostile).is_err(), "{hostile}");
        }
    }

    #[test]
    fn path_segments_are_encoded() {
        let c = client();
        let url = c.data_url(&["sobjects", "Contact", "Email", "a/b?c#d@x.com"]);
        assert_eq!(
            url.path(),
            "/services/data/v62.0/sobjects/Contact/Email/a%2Fb%3Fc%23d@x.com"
        );
        assert!(url.query().is_none() && url.fragment().is_none());
    }
}
