//! The partner SOAP endpoint (`POST /services/Soap/u/{version}`): `login` (simple-salesforce
//! and other older clients sign in with it) and `convertLead` (Lead conversion has no REST
//! resource). Envelopes are read and written with quick-xml ([`xml`]).

pub mod convert;
pub mod login;
pub use crmsync_soap_xml as xml;

use crate::server::Shared;
use axum::body::Bytes;
use axum::extract::{Path, State as AxState};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use std::collections::HashMap;

const SOAPENV: &str = "http://schemas.xmlsoap.org/soap/envelope/";
const PARTNER: &str = "urn:partner.soap.sforce.com";
const XSI: &str = "http://www.w3.org/2001/XMLSchema-instance";

pub(crate) fn respond(status: StatusCode, body: String) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "text/xml; charset=utf-8")],
        body,
    )
        .into_response()
}

fn document(out: xml::Out) -> String {
    format!("<?xml version=\"1.0\" encoding=\"UTF-8\"?>{}", out.finish())
}

/// A SOAP fault (HTTP 500): `faultcode` `sf:CODE`, `faultstring` `CODE: message`, and the
/// `UnexpectedErrorFault` detail with the exception code.
pub(crate) fn fault(code: &str, message: &str) -> Response {
    let mut out = xml::Out::new();
    out.open(
        "soapenv:Envelope",
        &[
            ("xmlns:soapenv", SOAPENV),
            ("xmlns:sf", "urn:fault.partner.soap.sforce.com"),
            ("xmlns:xsi", XSI),
        ],
    )
    .open("soapenv:Body", &[])
    .open("soapenv:Fault", &[])
    .leaf("faultcode", Some(&format!("sf:{code}")))
    .leaf("faultstring", Some(&format!("{code}: {message}")))
    .open("detail", &[])
    .open(
        "sf:UnexpectedErrorFault",
        &[("xsi:type", "sf:UnexpectedErrorFault")],
    )
    .leaf("sf:exceptionCode", Some(code))
    .leaf("sf:exceptionMessage", Some(message))
    .close("sf:UnexpectedErrorFault")
    .close("detail")
    .close("soapenv:Fault")
    .close("soapenv:Body")
    .close("soapenv:Envelope");
    respond(StatusCode::INTERNAL_SERVER_ERROR, document(out))
}

/// A successful envelope; `limit` = (used, max) for the `LimitInfoHeader`.
pub(crate) fn envelope(limit: Option<(u64, u64)>, body: impl FnOnce(&mut xml::Out)) -> Response {
    let mut out = xml::Out::new();
    out.open(
        "soapenv:Envelope",
        &[
            ("xmlns:soapenv", SOAPENV),
            ("xmlns", PARTNER),
            ("xmlns:xsi", XSI),
        ],
    );
    if let Some((used, max)) = limit {
        out.open("soapenv:Header", &[])
            .open("LimitInfoHeader", &[])
            .open("limitInfo", &[])
            .leaf("current", Some(&used.to_string()))
            .leaf("limit", Some(&max.to_string()))
            .leaf("type", Some("API REQUESTS"))
            .close("limitInfo")
            .close("LimitInfoHeader")
            .close("soapenv:Header");
    }
    out.open("soapenv:Body", &[]);
    body(&mut out);
    out.close("soapenv:Body").close("soapenv:Envelope");
    respond(StatusCode::OK, document(out))
}

/// Dispatches on the operation, the first element of the envelope's `Body`.
pub async fn handle(
    AxState(shared): AxState<Shared>,
    Path(path): Path<HashMap<String, String>>,
    body: Bytes,
) -> Response {
    let text = String::from_utf8_lossy(&body);
    let Ok(root) = xml::parse(&text) else {
        return fault("INVALID_XML", "unable to parse the request envelope");
    };
    let Some(op) = root.child("Body").and_then(|b| b.children.first()) else {
        return fault("INVALID_XML", "the envelope has no Body");
    };
    match op.name.as_str() {
        "login" => login::login(&shared, &path, op),
        "convertLead" => convert::handle(&shared, &root, op).await,
        other => fault(
            "INVALID_OPERATION",
            &format!("No operation available for request {{{PARTNER}}}{other}"),
        ),
    }
}
