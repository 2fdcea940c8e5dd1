//! The partner SOAP `login` call (`POST /services/Soap/u/{version}`), which
//! simple-salesforce and other older clients use for username/password login.

use crate::server::Shared;
use axum::body::Bytes;
use axum::extract::{Path, State as AxState};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use std::collections::HashMap;

/// The text of the first `<…:tag>` or `<tag>` element.
fn element(xml: &str, tag: &str) -> Option<String> {
    let start = xml
        .match_indices(&format!(":{tag}>"))
        .chain(xml.match_indices(&format!("<{tag}>")))
        .map(|(i, m)| i + m.len())
        .min()?;
    let end = xml[start..].find("</")? + start;
    Some(unescape(&xml[start..end]))
}

fn unescape(s: &str) -> String {
    s.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&apos;", "'")
        .replace("&amp;", "&")
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

fn xml(status: StatusCode, body: String) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "text/xml; charset=utf-8")],
        body,
    )
        .into_response()
}

fn fault() -> Response {
    xml(
        StatusCode::INTERNAL_SERVER_ERROR,
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?><soapenv:Envelope xmlns:soapenv=\"http://schemas.xmlsoap.org/soap/envelope/\" xmlns:sf=\"urn:fault.partner.soap.sforce.com\"><soapenv:Body><soapenv:Fault><faultcode>sf:INVALID_LOGIN</faultcode><faultstring>INVALID_LOGIN: Invalid username, password, security token; or user locked out.</faultstring></soapenv:Fault></soapenv:Body></soapenv:Envelope>".into(),
    )
}

pub async fn login(
    AxState(shared): AxState<Shared>,
    Path(path): Path<HashMap<String, String>>,
    body: Bytes,
) -> Response {
    let text = String::from_utf8_lossy(&body);
    let (Some(user), Some(password)) = (element(&text, "username"), element(&text, "password"))
    else {
        return fault();
    };
    let version = path
        .get("version")
        .cloned()
        .unwrap_or_else(|| "62.0".into());
    let mut st = shared.lock().unwrap_or_else(|e| e.into_inner());
    let hosts: Vec<usize> = match path.get("alias") {
        Some(a) => st.org_index(a).map(|i| vec![i]).unwrap_or_default(),
        None => (0..st.orgs.len())
            .filter(|&i| i == 0 || !st.orgs[i].is_sandbox)
            .collect(),
    };
    let key = user.to_lowercase();
    // The password may carry a security token suffix; the emulator accepts it with or without.
    let found = hosts.iter().find_map(|&i| {
        st.orgs[i]
            .logins
            .get(&key)
            .filter(|(_, pw)| password == *pw || password.starts_with(pw.as_str()))
            .map(|(uid, _)| (i, uid.clone()))
    });
    let Some((org, uid)) = found else {
        return fault();
    };
    st.orgs[org].count("soap.login");
    let session = crate::oauth::new_access_token(&mut st, org, &uid);
    let base = st.base_url.clone();
    let o = &st.orgs[org];
    let body = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?><soapenv:Envelope xmlns:soapenv=\"http://schemas.xmlsoap.org/soap/envelope/\" xmlns=\"urn:partner.soap.sforce.com\" xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\"><soapenv:Body><loginResponse><result>\
<metadataServerUrl>{base}/services/Soap/m/{version}/{oid}</metadataServerUrl><passwordExpired>false</passwordExpired><sandbox>{sandbox}</sandbox>\
<serverUrl>{base}/services/Soap/u/{version}/{oid}</serverUrl><sessionId>{session}</sessionId><userId>{uid}</userId>\
<userInfo><organizationId>{oid}</organizationId><organizationName>{name}</organizationName><userId>{uid}</userId><userName>{user}</userName></userInfo>\
</result></loginResponse></soapenv:Body></soapenv:Envelope>",
        oid = o.org_id,
        sandbox = o.is_sandbox,
        name = escape(&o.name),
        user = escape(&user),
    );
    xml(StatusCode::OK, body)
}
