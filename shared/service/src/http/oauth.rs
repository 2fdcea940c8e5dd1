//! Browser routes of the connect flow: the signed connect link redirects to Salesforce;
//! the OAuth callback finishes the connect and sends the admin back to the app. Errors are
//! small HTML pages (the admin is looking at a browser), never showing a token or code.

use axum::extract::{RawQuery, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use url::Url;

use super::HttpState;
use super::connect_link::{ConnectLink, verify_connect_link};
use super::error::ApiError;
use super::params::{Params, Segments};
use super::route_table::RouteTable;
use crate::connect;
use crate::error::ServiceError;
use crate::tenants::{parse_connection_id, parse_tenant_id, webhook_secret};

pub(crate) fn routes() -> RouteTable {
    RouteTable::new()
        .get("/connect/{tenant}", connect_start)
        .get("/oauth/callback", callback)
}

/// The `{tenant}` path segment of a connect link.
#[derive(Debug, utoipa::IntoParams)]
#[into_params(parameter_in = Path)]
#[allow(dead_code)] // documentation: read by name (`Segments`)
struct ConnectLinkPath {
    /// The tenant id.
    tenant: String,
}

/// A signed connect link (see [`super::connect_link`]).
#[derive(Debug, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)] // documentation: read by name (`Params::documented`)
struct ConnectLinkParams {
    /// `production` (default) or `sandbox`.
    env: Option<String>,
    /// The connection id (default: the `env` name).
    connection: Option<String>,
    /// Where the browser goes after the connect.
    return_to: Option<String>,
    /// Unix seconds when the app made the link (valid 10 minutes either side).
    t: i64,
    /// `hex(HMAC-SHA256(webhook secret, "{tenant}|{connection}|{env}|{return_to}|{t}"))`.
    sig: String,
}

/// What Salesforce sends back; other parameters it adds are ignored.
#[derive(Debug, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)] // documentation: read by name (`Params::documented_with`)
struct CallbackParams {
    code: Option<String>,
    state: Option<String>,
    /// Set when the admin refused (or Salesforce failed): the page says so.
    error: Option<String>,
    error_description: Option<String>,
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

/// A small self-contained page; `back` links to the app when known.
fn page(status: StatusCode, title: &str, text: &str, back: Option<&str>) -> Response {
    let back = back
        .map(|url| format!(r#"<p><a href="{}">Back to the app</a></p>"#, escape(url)))
        .unwrap_or_default();
    let html = format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>{title}</title></head>\
         <body><h1>{title}</h1><p>{text}</p>{back}</body></html>",
        title = escape(title),
        text = escape(text),
    );
    let mut response = (status, Html(html)).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    response
}

fn error_page(e: ApiError, back: Option<&str>) -> Response {
    page(e.status, "Salesforce connection failed", &e.message, back)
}

fn redirect(to: &str) -> Response {
    match HeaderValue::from_str(to) {
        Ok(location) => {
            let mut response = StatusCode::FOUND.into_response();
            response.headers_mut().insert(header::LOCATION, location);
            response
                .headers_mut()
                .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            response
        }
        Err(_) => error_page(ApiError::bad_request("return_to", "not a valid URL"), None),
    }
}

#[utoipa::path(
    get,
    path = "/connect/{tenant}",
    tag = "connect",
    params(ConnectLinkPath, ConnectLinkParams),
    responses(
        (status = 302, description = "To Salesforce's authorize page", headers(("Location" = String))),
        (status = "4XX", description = "An HTML page saying what is wrong with the link", content_type = "text/html", body = String),
    )
)]
pub(super) async fn connect_start(
    State(state): State<HttpState>,
    segments: Result<Segments, ApiError>,
    RawQuery(query): RawQuery,
) -> Response {
    match start(&state, segments, query.as_deref()).await {
        Ok(url) => redirect(url.as_str()),
        Err(e) => error_page(e, None),
    }
}

async fn start(
    state: &HttpState,
    segments: Result<Segments, ApiError>,
    query: Option<&str>,
) -> Result<Url, ApiError> {
    let segments = segments?;
    let tenant = parse_tenant_id(segments.get("tenant")?)?;
    let params = Params::documented::<ConnectLinkParams>(query)?;
    let environment = connect::parse_environment(params.get("env"))?;
    let connection = parse_connection_id(
        params
            .get("connection")
            .unwrap_or(super::connect_link::environment_name(environment)),
    )?;
    let link = ConnectLink {
        tenant,
        connection,
        environment,
        return_to: params
            .get("return_to")
            .filter(|s| !s.is_empty())
            .map(str::to_string),
        issued_at: params
            .number::<i64>("t")?
            .ok_or_else(|| ApiError::bad_request("t", "required"))?,
    };
    let sig = params.required("sig")?;
    // An unknown tenant and a bad signature look the same from outside.
    let secret = webhook_secret(&state.app, &link.tenant)
        .await
        .map_err(|_| {
            ApiError::from(ServiceError::Unauthorized(
                "connect link signature does not match".into(),
            ))
        })?;
    verify_connect_link(&secret, &link, sig, state.app.now().timestamp())?;
    Ok(connect::start(
        &state.app,
        &link.tenant,
        &link.connection,
        link.environment,
        link.return_to,
    )
    .await?)
}

#[utoipa::path(
    get,
    path = "/oauth/callback",
    tag = "connect",
    params(CallbackParams),
    responses(
        (status = 302, description = "Back to the app's `return_to`, with `status=connected&connection=…`", headers(("Location" = String))),
        (status = 200, description = "An HTML page: connected (no `return_to`)", content_type = "text/html", body = String),
        (status = "4XX", description = "An HTML page saying why the connect failed", content_type = "text/html", body = String),
    )
)]
pub(super) async fn callback(
    State(state): State<HttpState>,
    RawQuery(query): RawQuery,
) -> Response {
    // Salesforce may append its own parameters (sfdc_community_url, ...): ignore them.
    let params = match Params::documented_with::<CallbackParams>(query.as_deref(), true) {
        Ok(p) => p,
        Err(e) => return error_page(e, None),
    };
    if let Some(error) = params.get("error") {
        // Spend the state so it cannot be replayed, and offer the way back.
        let back = match params.get("state") {
            Some(s) => state
                .app
                .stores
                .oauth_states
                .take(s)
                .await
                .ok()
                .flatten()
                .and_then(|p| p.return_to),
            None => None,
        };
        let detail = params.get("error_description").unwrap_or("no description");
        let text = format!("Salesforce did not authorise the connection ({error}: {detail}).");
        return page(
            StatusCode::BAD_REQUEST,
            "Salesforce connection not authorised",
            &text,
            back.as_deref(),
        );
    }
    let (code, oauth_state) = match (params.required("code"), params.required("state")) {
        (Ok(c), Ok(s)) => (c, s),
        (Err(e), _) | (_, Err(e)) => return error_page(e, None),
    };
    match connect::callback(&state.app, code, oauth_state).await {
        Ok(done) => match done.return_to.as_deref().and_then(|r| Url::parse(r).ok()) {
            Some(mut back) => {
                back.query_pairs_mut()
                    .append_pair("status", "connected")
                    .append_pair("connection", &done.connection);
                redirect(back.as_str())
            }
            None => {
                let org = if done.org_name.is_empty() {
                    "your Salesforce org"
                } else {
                    done.org_name.as_str()
                };
                let text = format!(
                    "Connection {} is connected to {org}. You can close this window.",
                    done.connection
                );
                page(StatusCode::OK, "Salesforce connected", &text, None)
            }
        },
        Err(e) => error_page(ApiError::from(e), None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_escape_what_they_show() {
        let html = escape("<script>alert('x')</script> & \"q\"");
        assert!(!html.contains('<') && !html.contains('"') && !html.contains('\''));
    }
}
