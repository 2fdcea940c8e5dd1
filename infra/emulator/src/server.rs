//! The axum router: login hosts, identity, data API, admin API.

use crate::state::State;
use axum::Router;
use axum::routing::{any, get};
use std::sync::{Arc, Mutex};

pub type Shared = Arc<Mutex<State>>;

pub fn router(shared: Shared) -> Router {
    let oauth = |r: Router<Shared>, prefix: &str| {
        r.route(
            &format!("{prefix}/services/oauth2/authorize"),
            get(crate::oauth::authorize).post(crate::oauth::authorize),
        )
        .route(
            &format!("{prefix}/services/oauth2/token"),
            any(crate::oauth::token),
        )
        .route(
            &format!("{prefix}/services/oauth2/revoke"),
            any(crate::oauth::revoke),
        )
        .route(
            &format!("{prefix}/services/oauth2/userinfo"),
            any(crate::oauth::userinfo),
        )
        .route(
            &format!("{prefix}/services/Soap/u/{{version}}"),
            axum::routing::post(crate::soap::login),
        )
    };
    let r = Router::new();
    let r = oauth(r, "");
    let r = oauth(r, "/orgs/{alias}");
    r.route("/id/{org_id}/{user_id}", get(crate::oauth::identity))
        .route("/services/data", get(versions))
        .route("/services/data/", get(versions))
        .route("/services/data/{version}", any(crate::rest::data_api))
        .route("/services/data/{version}/", any(crate::rest::data_api))
        .route(
            "/services/data/{version}/{*rest}",
            any(crate::rest::data_api),
        )
        .merge(crate::rest::admin_http::routes())
        .with_state(shared)
}

async fn versions(
    axum::extract::State(shared): axum::extract::State<Shared>,
) -> axum::Json<serde_json::Value> {
    let base = shared
        .lock()
        .map(|s| s.base_url.clone())
        .unwrap_or_default();
    let _ = base;
    let list: Vec<serde_json::Value> = (50..=63)
        .map(|v| {
            serde_json::json!({
                "label": format!("API {v}"),
                "url": format!("/services/data/v{v}.0"),
                "version": format!("{v}.0"),
            })
        })
        .collect();
    axum::Json(serde_json::Value::Array(list))
}
