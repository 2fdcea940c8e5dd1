//! The partner SOAP API (`{instance}/services/Soap/u/{version}`), for the calls REST lacks
//! (Lead conversion, [`convert`]).
//!
//! Relied on (SOAP API Developer Guide): the session travels in the `SessionHeader`
//! (`sessionId` = the OAuth access token), not in an `Authorization` header; an expired
//! session answers a fault `sf:INVALID_SESSION_ID` (HTTP 500); every call except `login`
//! answers a `LimitInfoHeader` (`current`/`limit` of type `API REQUESTS`), which feeds the
//! same usage as REST's `Sforce-Limit-Info`. Faults are classified like REST errors:
//! auth, rate limit, retryable (`UNKNOWN_EXCEPTION`, `SERVER_UNAVAILABLE`, a 5xx without a
//! fault) or permanent.

pub mod convert;
pub(crate) use crmsync_soap_xml as xml;

use std::sync::atomic::Ordering;

use reqwest::header::{CONTENT_TYPE, HeaderValue};
use url::Url;

use crate::client::{ApiUsage, SfClient};
use crate::error::SfError;
use xml::{Element, Out};

const SOAPENV: &str = "http://schemas.xmlsoap.org/soap/envelope/";
const PARTNER: &str = "urn:partner.soap.sforce.com";

/// A request envelope: the session header, then `body` writes the operation element.
fn envelope(token: &str, body: &(dyn Fn(&mut Out) + Sync)) -> String {
    let mut out = Out::new();
    out.open(
        "soapenv:Envelope",
        &[("xmlns:soapenv", SOAPENV), ("xmlns:urn", PARTNER)],
    )
    .open("soapenv:Header", &[])
    .open("urn:SessionHeader", &[])
    .leaf("urn:sessionId", Some(token))
    .close("urn:SessionHeader")
    .close("soapenv:Header")
    .open("soapenv:Body", &[]);
    body(&mut out);
    out.close("soapenv:Body").close("soapenv:Envelope");
    format!("<?xml version=\"1.0\" encoding=\"UTF-8\"?>{}", out.finish())
}

/// A fault's exception code (`sf:INVALID_SESSION_ID` → `INVALID_SESSION_ID`) and message.
fn fault_of(root: &Element) -> Option<(String, String)> {
    let f = root.path(&["Body", "Fault"])?;
    let code = f.text_of("faultcode").unwrap_or("UNKNOWN_EXCEPTION");
    let code = code.rsplit(':').next().unwrap_or(code).to_string();
    let message = f.text_of("faultstring").unwrap_or_default();
    let message = message
        .strip_prefix(&format!("{code}: "))
        .unwrap_or(message)
        .to_string();
    Some((code, message))
}

/// Classifies a fault or a non-2xx answer without one.
fn classify(status: u16, fault: Option<(String, String)>) -> SfError {
    let Some((code, message)) = fault else {
        let code = format!("HTTP_{status}");
        let message = "SOAP call failed without a fault".to_string();
        return if status >= 500 {
            SfError::Retryable {
                status: Some(status),
                code,
                message,
            }
        } else {
            SfError::Permanent {
                status,
                code,
                message,
                fields: Vec::new(),
            }
        };
    };
    match code.as_str() {
        "INVALID_SESSION_ID" => SfError::Auth {
            reconnect_needed: false,
            code,
            message,
        },
        "REQUEST_LIMIT_EXCEEDED" => SfError::RateLimited { message },
        "SERVER_UNAVAILABLE" => SfError::Retryable {
            status: Some(503),
            code,
            message,
        },
        "UNKNOWN_EXCEPTION" | "UNABLE_TO_LOCK_ROW" => SfError::Retryable {
            status: Some(status),
            code,
            message,
        },
        _ => SfError::Permanent {
            status,
            code,
            message,
            fields: Vec::new(),
        },
    }
}

/// The `LimitInfoHeader`'s `API REQUESTS` entry.
fn usage_of(root: &Element) -> Option<ApiUsage> {
    let header = root.path(&["Header", "LimitInfoHeader"])?;
    let info = header
        .children_named("limitInfo")
        .find(|i| i.text_of("type") == Some("API REQUESTS"))?;
    Some(ApiUsage {
        used: info.text_of("current")?.parse().ok()?,
        max: info.text_of("limit")?.parse().ok()?,
        per_app: None,
    })
}

impl SfClient {
    /// `{instance}/services/Soap/u/NN.0`.
    fn soap_url(&self) -> Result<Url, SfError> {
        let config = self.config();
        let version = config.api_version.trim_start_matches('v');
        let mut url = config.instance_url.clone();
        url.set_path(&format!("/services/Soap/u/{version}"));
        url.set_query(None);
        Ok(url)
    }

    /// Sends one SOAP call and returns the envelope's `Body`. A call is never resent after
    /// an ambiguous failure (a SOAP write may have committed); an expired session is
    /// refreshed once, and a 503 or a refused connection is retried with backoff.
    pub(crate) async fn execute_soap(
        &self,
        body: &(dyn Fn(&mut Out) + Sync),
    ) -> Result<Element, SfError> {
        let policy = &self.inner.config.retry;
        let url = self.soap_url()?;
        let mut token = self.inner.tokens.access_token().await?;
        let mut refreshed = false;
        let mut attempt: u32 = 1;
        loop {
            match self.send_soap(&url, &envelope(token.secret(), body)).await {
                Ok(body) => return Ok(body),
                Err(err) if err.is_session_expired() && !refreshed => {
                    token = self.inner.tokens.refresh(&token).await?;
                    refreshed = true;
                }
                Err(err)
                    if err.is_retryable()
                        && err.request_not_applied()
                        && attempt < policy.max_attempts =>
                {
                    tokio::time::sleep(policy.backoff(attempt)).await;
                    attempt += 1;
                }
                Err(err) if err.is_session_expired() => {
                    return Err(SfError::Auth {
                        reconnect_needed: true,
                        code: "INVALID_SESSION_ID".into(),
                        message: "session rejected again right after a token refresh".into(),
                    });
                }
                Err(err) => return Err(err),
            }
        }
    }

    async fn send_soap(&self, url: &Url, envelope: &str) -> Result<Element, SfError> {
        self.inner.requests.fetch_add(1, Ordering::Relaxed);
        let response = self
            .inner
            .http
            .post(url.clone())
            .header(
                CONTENT_TYPE,
                HeaderValue::from_static("text/xml; charset=UTF-8"),
            )
            .header("SOAPAction", "\"\"")
            .body(envelope.to_string())
            .send()
            .await
            .map_err(SfError::from_transport)?;
        let status = response.status().as_u16();
        let bytes = response.bytes().await.map_err(SfError::from_transport)?;
        let text = String::from_utf8_lossy(&bytes);
        let root = xml::parse(&text).ok();
        if let Some(usage) = root.as_ref().and_then(usage_of) {
            self.record_usage(usage);
        }
        let fault = root.as_ref().and_then(fault_of);
        if !(200..300).contains(&status) || fault.is_some() {
            return Err(classify(status, fault));
        }
        root.and_then(|r| r.children.into_iter().find(|c| c.name == "Body"))
            .ok_or_else(|| SfError::decode("SOAP response", "no envelope Body"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn faults_are_classified_like_rest_errors() {
        let doc = |code: &str| {
            format!(
                "<soapenv:Envelope xmlns:soapenv=\"{SOAPENV}\"><soapenv:Body><soapenv:Fault>\
                 <faultcode>sf:{code}</faultcode><faultstring>{code}: because</faultstring>\
                 </soapenv:Fault></soapenv:Body></soapenv:Envelope>"
            )
        };
        let err = |code: &str| classify(500, fault_of(&xml::parse(&doc(code)).unwrap()));
        assert!(err("INVALID_SESSION_ID").is_session_expired());
        assert!(err("REQUEST_LIMIT_EXCEEDED").is_rate_limited());
        assert!(err("UNKNOWN_EXCEPTION").is_retryable());
        assert!(!err("UNKNOWN_EXCEPTION").request_not_applied());
        assert!(err("SERVER_UNAVAILABLE").request_not_applied());
        let e = err("API_DISABLED_FOR_ORG");
        assert!(e.is_org_refusal() && !e.is_retryable());
        assert_eq!(
            e.to_string(),
            "Salesforce rejected the request (HTTP 500 API_DISABLED_FOR_ORG): because"
        );
        assert!(classify(503, None).request_not_applied());
    }

    #[test]
    fn reads_the_limit_info_header() {
        // The SOAP API Developer Guide's LimitInfoHeader sample.
        let doc = "<soapenv:Envelope xmlns:soapenv=\"http://schemas.xmlsoap.org/soap/envelope/\" \
            xmlns=\"urn:partner.soap.sforce.com\"><soapenv:Header><LimitInfoHeader><limitInfo>\
            <current>5</current><limit>100000</limit><type>API REQUESTS</type></limitInfo>\
            </LimitInfoHeader></soapenv:Header><soapenv:Body/></soapenv:Envelope>";
        let usage = usage_of(&xml::parse(doc).unwrap()).unwrap();
        assert_eq!((usage.used, usage.max), (5, 100000));
    }

    #[test]
    fn the_token_is_escaped_into_the_session_header() {
        let e = envelope("00D!a<b", &|o: &mut Out| {
            o.open("urn:convertLead", &[]).close("urn:convertLead");
        });
        let root = xml::parse(&e).unwrap();
        assert_eq!(
            root.path(&["Header", "SessionHeader", "sessionId"])
                .map(|s| s.text.as_str()),
            Some("00D!a<b")
        );
        assert!(root.path(&["Body", "convertLead"]).is_some());
    }
}
