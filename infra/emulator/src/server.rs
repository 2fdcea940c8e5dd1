//! The axum router: login hosts, identity, data API, admin API.

use crate::state::State;
use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{any, get};
use std::sync::{Arc, Mutex};

pub type Shared = Arc<Mutex<State>>;

/// Largest request body: a Bulk API 2.0 upload's 150 MB of base64 is 112.5 MB of CSV.
pub const BULK_UPLOAD_LIMIT: usize = 150 * 1024 * 1024 * 3 / 4;

pub fn router(shared: Shared) -> Router {
    let oauth = |mut r: Router<Shared>, prefix: &str| {
        // Each login route also answers with a trailing slash, as Salesforce does.
        for slash in ["", "/"] {
            let p = |tail: &str| format!("{prefix}{tail}{slash}");
            r = r
                .route(
                    &p("/services/oauth2/authorize"),
                    get(crate::oauth::authorize).post(crate::oauth::authorize),
                )
                .route(&p("/services/oauth2/token"), any(crate::oauth::token))
                .route(&p("/services/oauth2/revoke"), any(crate::oauth::revoke))
                .route(&p("/services/oauth2/userinfo"), any(crate::oauth::userinfo))
                .route(
                    &p("/services/Soap/u/{version}"),
                    axum::routing::post(crate::soap::handle),
                );
        }
        r
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
        // A Bulk API 2.0 upload may carry 150 MB once base64-encoded (`upload_job_data.htm`);
        // axum's default of 2 MB would refuse an ingest job of some 20,000 rows.
        .layer(DefaultBodyLimit::max(BULK_UPLOAD_LIMIT))
        .merge(crate::rest::admin_http::routes())
        .with_state(shared)
}

async fn versions() -> axum::Json<serde_json::Value> {
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
