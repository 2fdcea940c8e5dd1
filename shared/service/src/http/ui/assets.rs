//! The page's files, compiled into the binary (`include_str!`): no CDN, no build step.
//! Every response carries a Content-Security-Policy that allows only this origin's own
//! scripts, styles and API, so injected markup could not load or send anything elsewhere.

use axum::extract::Path;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::http::error::ApiError;

const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
                   connect-src 'self'; form-action 'self'; base-uri 'none'";

/// `(name, content type, body)` of every asset besides the page itself.
const FILES: &[(&str, &str, &str)] = &[
    (
        "app.css",
        "text/css; charset=utf-8",
        include_str!("assets/app.css"),
    ),
    (
        "api.js",
        "text/javascript; charset=utf-8",
        include_str!("assets/api.js"),
    ),
    (
        "dom.js",
        "text/javascript; charset=utf-8",
        include_str!("assets/dom.js"),
    ),
    (
        "chart.js",
        "text/javascript; charset=utf-8",
        include_str!("assets/chart.js"),
    ),
    (
        "screens.js",
        "text/javascript; charset=utf-8",
        include_str!("assets/screens.js"),
    ),
    (
        "mappings.js",
        "text/javascript; charset=utf-8",
        include_str!("assets/mappings.js"),
    ),
    (
        "app.js",
        "text/javascript; charset=utf-8",
        include_str!("assets/app.js"),
    ),
];

const INDEX: &str = include_str!("assets/index.html");

fn respond(content_type: &'static str, body: &'static str) -> Response {
    let mut r = (StatusCode::OK, body).into_response();
    let h = r.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    // Assets change with the binary; no-cache keeps a deployed page and its scripts in step.
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    r
}

pub(super) async fn index() -> Response {
    respond("text/html; charset=utf-8", INDEX)
}

pub(super) async fn file(Path(name): Path<String>) -> Response {
    if name == "index.html" {
        return respond("text/html; charset=utf-8", INDEX);
    }
    match FILES.iter().find(|(n, _, _)| *n == name) {
        Some((_, content_type, body)) => respond(content_type, body),
        None => ApiError::not_found(format!("no admin page file {name}")).into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_page_references_only_files_that_are_served() {
        let mut referenced = 0;
        for part in INDEX.split("/ui/").skip(1) {
            let name: String = part
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '.')
                .collect();
            assert!(
                FILES.iter().any(|(n, _, _)| *n == name),
                "index.html loads /ui/{name}, which is not served"
            );
            referenced += 1;
        }
        assert_eq!(referenced, FILES.len(), "every asset is loaded by the page");
    }

    #[test]
    fn no_asset_reaches_outside_the_origin() {
        for (name, _, body) in FILES.iter().chain([&("index.html", "", INDEX)]) {
            // The SVG namespace is a name, not an address the browser loads.
            let body = body.replace("http://www.w3.org/2000/svg", "");
            for outside in ["http://", "https://", "//cdn", "eval("] {
                assert!(!body.contains(outside), "{name} contains {outside}");
            }
        }
    }
}
