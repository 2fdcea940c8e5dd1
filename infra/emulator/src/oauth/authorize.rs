//! `authorize`: auto-approve (org setting, `auto_approve=true`, matching `login_hint`) or a
//! minimal login form that posts username and password back.

use super::{CODE_TTL_MINUTES, alias_of, lock, new_token_string, params, user_active};
use crate::server::Shared;
use crate::state::AuthCode;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State as AxState};
use axum::http::{Method, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use std::collections::HashMap;

fn login_page(p: &HashMap<String, String>, error: Option<&str>) -> Response {
    let esc = |s: &str| {
        s.replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
            .replace('"', "&quot;")
    };
    let hidden: String = p
        .iter()
        .filter(|(k, _)| !matches!(k.as_str(), "username" | "password" | "alias"))
        .map(|(k, v)| {
            format!(
                "<input type=\"hidden\" name=\"{}\" value=\"{}\">",
                esc(k),
                esc(v)
            )
        })
        .collect();
    let err = error
        .map(|e| format!("<p class=\"error\">{}</p>", esc(e)))
        .unwrap_or_default();
    Html(format!(
        "<!doctype html><html><head><title>Login | Salesforce (emulator)</title></head><body>\
         <h1>Log in</h1>{err}<form method=\"post\">{hidden}\
         <label>Username <input name=\"username\" type=\"email\"></label>\
         <label>Password <input name=\"password\" type=\"password\"></label>\
         <button type=\"submit\">Log In</button></form></body></html>"
    ))
    .into_response()
}

fn redirect_with(uri: &str, pairs: &[(&str, &str)]) -> Response {
    let mut url = uri.to_string();
    let q: String = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs.iter().filter(|(_, v)| !v.is_empty()))
        .finish();
    url.push(if url.contains('?') { '&' } else { '?' });
    url.push_str(&q);
    (StatusCode::FOUND, [(header::LOCATION, url)]).into_response()
}

pub async fn authorize(
    AxState(shared): AxState<Shared>,
    Path(path): Path<HashMap<String, String>>,
    method: Method,
    RawQuery(raw): RawQuery,
    body: Bytes,
) -> Response {
    let p = params(raw.as_deref(), &body);
    let mut st = lock(&shared);
    let org = match alias_of(&path) {
        Some(a) => st.org_index(&a).ok(),
        None => (!st.orgs.is_empty()).then_some(0),
    };
    let Some(org) = org else {
        return StatusCode::NOT_FOUND.into_response();
    };
    st.orgs[org].count("oauth.authorize");
    let get = |k: &str| p.get(k).map(String::as_str).unwrap_or("");
    if get("client_id") != st.orgs[org].settings.client_id {
        return (
            StatusCode::BAD_REQUEST,
            "error=invalid_client_id&error_description=client%20identifier%20invalid",
        )
            .into_response();
    }
    let redirect = get("redirect_uri").to_string();
    if redirect.is_empty() {
        return (
            StatusCode::BAD_REQUEST,
            "error=redirect_uri_missing&error_description=redirect_uri must match configuration",
        )
            .into_response();
    }
    let state_param = get("state").to_string();
    if get("response_type") != "code" {
        return redirect_with(
            &redirect,
            &[
                ("error", "unsupported_response_type"),
                ("error_description", "response type not supported"),
                ("state", &state_param),
            ],
        );
    }
    if !get("code_challenge").is_empty() && !matches!(get("code_challenge_method"), "" | "S256") {
        return redirect_with(
            &redirect,
            &[
                ("error", "invalid_request"),
                ("error_description", "unsupported code_challenge_method"),
                ("state", &state_param),
            ],
        );
    }
    let org_ref = &st.orgs[org];
    let user = if method == Method::POST {
        let u = get("username").to_lowercase();
        match org_ref.logins.get(&u) {
            Some((id, pw)) if pw == get("password") && user_active(&st, org, id) => {
                Some(id.clone())
            }
            _ => return login_page(&p, Some("Please check your username and password.")),
        }
    } else if let Some((id, _)) = org_ref.logins.get(&get("login_hint").to_lowercase()) {
        Some(id.clone())
    } else if org_ref.settings.auto_approve || get("auto_approve") == "true" {
        Some(org_ref.admin_user_id.clone())
    } else {
        None
    };
    let Some(user_id) = user else {
        return login_page(&p, None);
    };
    let code = new_token_string(&st.orgs[org].org_id);
    let expires = st.clock.now() + chrono::Duration::minutes(CODE_TTL_MINUTES);
    st.codes.insert(
        code.clone(),
        AuthCode {
            org,
            user_id,
            client_id: get("client_id").to_string(),
            redirect_uri: redirect.clone(),
            challenge: p.get("code_challenge").filter(|c| !c.is_empty()).cloned(),
            expires,
        },
    );
    redirect_with(&redirect, &[("code", &code), ("state", &state_param)])
}
