//! The partner SOAP `login` call (`POST /services/Soap/u/{version}`), which
//! simple-salesforce and other older clients use for username/password login.

use super::fault;
use super::xml::{Element, Out};
use crate::server::Shared;
use axum::response::Response;
use std::collections::HashMap;

fn invalid_login() -> Response {
    fault(
        "INVALID_LOGIN",
        "Invalid username, password, security token; or user locked out.",
    )
}

pub fn login(shared: &Shared, path: &HashMap<String, String>, op: &Element) -> Response {
    let (Some(user), Some(password)) = (op.text_of("username"), op.text_of("password")) else {
        return invalid_login();
    };
    let (user, password) = (user.to_string(), password.to_string());
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
        return invalid_login();
    };
    st.orgs[org].count("soap.login");
    let session = crate::oauth::new_access_token(&mut st, org, &uid);
    let base = st.base_url.clone();
    let o = &st.orgs[org];
    let oid = o.org_id.clone();
    let (sandbox, name) = (o.is_sandbox.to_string(), o.name.clone());
    super::envelope(None, |out: &mut Out| {
        out.open("loginResponse", &[])
            .open("result", &[])
            .leaf(
                "metadataServerUrl",
                Some(&format!("{base}/services/Soap/m/{version}/{oid}")),
            )
            .leaf("passwordExpired", Some("false"))
            .leaf("sandbox", Some(&sandbox))
            .leaf(
                "serverUrl",
                Some(&format!("{base}/services/Soap/u/{version}/{oid}")),
            )
            .leaf("sessionId", Some(&session))
            .leaf("userId", Some(&uid))
            .open("userInfo", &[])
            .leaf("organizationId", Some(&oid))
            .leaf("organizationName", Some(&name))
            .leaf("userId", Some(&uid))
            .leaf("userName", Some(&user))
            .close("userInfo")
            .close("result")
            .close("loginResponse");
    })
}
