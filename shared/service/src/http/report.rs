//! The tenant report API, `/v1/...`, authenticated by the tenant's API key. The tenant
//! comes only from the key; path segments name the tenant's own connections.

use axum::Json;
use axum::Router;
use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::{get, post};
use crmsync_store::{ConnectionId, ReportStatus};
use serde::{Deserialize, Serialize};

use super::HttpState;
use super::auth::TenantAuth;
use super::error::ApiError;
use super::params::{JsonBody, Params, Segments};
use crate::connect;
use crate::reports::{self, ReportFilter};
use crate::tenants::{self, parse_connection_id};

type Reply<T> = Result<Json<T>, ApiError>;

pub(crate) fn routes() -> Router<HttpState> {
    Router::new()
        .route("/v1/connections", get(list_connections))
        .route("/v1/connections/{c}", get(get_connection))
        .route("/v1/connections/{c}/connect", post(start_connect))
        .route("/v1/connections/{c}/disconnect", post(disconnect))
        .route("/v1/connections/{c}/runs", get(runs))
        .route("/v1/connections/{c}/reports", get(list_reports))
        .route("/v1/connections/{c}/reports/{event_id}", get(get_report))
        .route(
            "/v1/connections/{c}/reports/{event_id}/repush",
            post(repush),
        )
        .route(
            "/v1/connections/{c}/config",
            get(get_config).put(put_config),
        )
        .route("/v1/connections/{c}/config/status", get(config_status))
        .route("/v1/connections/{c}/test-sync", post(test_sync))
        .route("/v1/connections/{c}/provision", post(provision))
        .route("/v1/connections/{c}/sync", post(switch_sync))
        .route("/v1/connections/{c}/quota", get(quota))
        .route("/v1/connections/{c}/lookup", get(lookup))
        .route("/v1/connections/{c}/objects", get(catalog_objects))
        .route(
            "/v1/connections/{c}/objects/{object}/fields",
            get(catalog_fields),
        )
        .route("/v1/changes", get(changes))
        .route("/v1/credentials/rotate", post(rotate))
}

/// The `{c}` segment as a connection id.
pub(crate) fn connection(segments: &Segments) -> Result<ConnectionId, ApiError> {
    Ok(parse_connection_id(segments.get("c")?)?)
}

/// Routes without parameters still refuse unknown ones, so typos are visible.
fn no_params(query: Option<&str>) -> Result<(), ApiError> {
    Params::parse(query, &[], false).map(|_| ())
}

async fn list_connections(
    State(s): State<HttpState>,
    auth: TenantAuth,
    RawQuery(q): RawQuery,
) -> Reply<reports::ConnectionList> {
    no_params(q.as_deref())?;
    Ok(Json(reports::list_connections(&s.app, &auth.tenant).await?))
}

async fn get_connection(
    State(s): State<HttpState>,
    auth: TenantAuth,
    seg: Segments,
    RawQuery(q): RawQuery,
) -> Reply<reports::ConnectionDetails> {
    let c = connection(&seg)?;
    no_params(q.as_deref())?;
    Ok(Json(
        reports::get_connection(&s.app, &auth.tenant, &c).await?,
    ))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ConnectBody {
    #[serde(default)]
    env: Option<String>,
    #[serde(default)]
    return_to: Option<String>,
}

#[derive(Debug, Serialize)]
struct ConnectReply {
    authorize_url: String,
}

async fn start_connect(
    State(s): State<HttpState>,
    auth: TenantAuth,
    seg: Segments,
    RawQuery(q): RawQuery,
    JsonBody(body): JsonBody<ConnectBody>,
) -> Reply<ConnectReply> {
    let c = connection(&seg)?;
    no_params(q.as_deref())?;
    let env = connect::parse_environment(body.env.as_deref())?;
    let url = connect::start(&s.app, &auth.tenant, &c, env, body.return_to).await?;
    Ok(Json(ConnectReply {
        authorize_url: url.to_string(),
    }))
}

async fn disconnect(
    State(s): State<HttpState>,
    auth: TenantAuth,
    seg: Segments,
    RawQuery(q): RawQuery,
) -> Reply<reports::ConnectionDetails> {
    let c = connection(&seg)?;
    no_params(q.as_deref())?;
    connect::disconnect(&s.app, &auth.tenant, &c).await?;
    Ok(Json(
        reports::get_connection(&s.app, &auth.tenant, &c).await?,
    ))
}

/// The run history, newest first; `cursor` and `limit` page it like the report listing.
async fn runs(
    State(s): State<HttpState>,
    auth: TenantAuth,
    seg: Segments,
    RawQuery(q): RawQuery,
) -> Reply<reports::RunList> {
    let c = connection(&seg)?;
    let p = Params::parse(q.as_deref(), &["cursor", "limit"], false)?;
    let cursor = p.get("cursor").filter(|c| !c.is_empty());
    Ok(Json(
        reports::list_runs(&s.app, &auth.tenant, &c, cursor, p.number("limit")?).await?,
    ))
}

fn report_status(raw: &str) -> Result<ReportStatus, ApiError> {
    match raw {
        "success" => Ok(ReportStatus::Success),
        "error" => Ok(ReportStatus::Error),
        "parked" => Ok(ReportStatus::Parked),
        _ => Err(ApiError::bad_request(
            "status",
            "must be success, error or parked",
        )),
    }
}

async fn list_reports(
    State(s): State<HttpState>,
    auth: TenantAuth,
    seg: Segments,
    RawQuery(q): RawQuery,
) -> Reply<reports::ReportPage> {
    let c = connection(&seg)?;
    let p = Params::parse(
        q.as_deref(),
        &["status", "object", "from", "to", "cursor", "limit"],
        false,
    )?;
    let filter = ReportFilter {
        status: report_status(p.required("status")?)?,
        object: p
            .get("object")
            .filter(|o| !o.is_empty())
            .map(str::to_string),
        from: p.time("from")?,
        to: p.time("to")?,
        cursor: p
            .get("cursor")
            .filter(|o| !o.is_empty())
            .map(str::to_string),
        limit: p.number("limit")?,
    };
    Ok(Json(
        reports::list_reports(&s.app, &auth.tenant, &c, &filter).await?,
    ))
}

async fn get_report(
    State(s): State<HttpState>,
    auth: TenantAuth,
    seg: Segments,
    RawQuery(q): RawQuery,
) -> Reply<reports::ReportDetail> {
    let c = connection(&seg)?;
    no_params(q.as_deref())?;
    Ok(Json(
        reports::get_report(&s.app, &auth.tenant, &c, seg.get("event_id")?).await?,
    ))
}

async fn repush(
    State(s): State<HttpState>,
    auth: TenantAuth,
    seg: Segments,
    RawQuery(q): RawQuery,
) -> Result<impl IntoResponse, ApiError> {
    let c = connection(&seg)?;
    no_params(q.as_deref())?;
    let done = reports::repush(&s.app, &auth.tenant, &c, seg.get("event_id")?).await?;
    Ok((StatusCode::ACCEPTED, Json(done)))
}

async fn get_config(
    State(s): State<HttpState>,
    auth: TenantAuth,
    seg: Segments,
    RawQuery(q): RawQuery,
) -> Reply<crate::config_service::VersionedConfig> {
    let c = connection(&seg)?;
    no_params(q.as_deref())?;
    Ok(Json(reports::get_config(&s.app, &auth.tenant, &c).await?))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PutConfigBody {
    expected_version: u64,
    config: serde_json::Value,
}

async fn put_config(
    State(s): State<HttpState>,
    auth: TenantAuth,
    seg: Segments,
    RawQuery(q): RawQuery,
    JsonBody(body): JsonBody<PutConfigBody>,
) -> Reply<crate::config_service::VersionedConfig> {
    let c = connection(&seg)?;
    no_params(q.as_deref())?;
    // Every problem, each with its path, rather than the first one only.
    reports::check_config(&body.config).map_err(ApiError::invalid_config)?;
    Ok(Json(
        reports::put_config(
            &s.app,
            &auth.tenant,
            &c,
            body.expected_version,
            &body.config,
        )
        .await?,
    ))
}

async fn config_status(
    State(s): State<HttpState>,
    auth: TenantAuth,
    seg: Segments,
    RawQuery(q): RawQuery,
) -> Reply<reports::ConfigStatus> {
    let c = connection(&seg)?;
    no_params(q.as_deref())?;
    Ok(Json(
        reports::config_status(&s.app, &auth.tenant, &c).await?,
    ))
}

async fn test_sync(
    State(s): State<HttpState>,
    auth: TenantAuth,
    seg: Segments,
    RawQuery(q): RawQuery,
    JsonBody(segment): JsonBody<crate::poll::TestSegment>,
) -> Reply<crate::runs::RunSummary> {
    let c = connection(&seg)?;
    no_params(q.as_deref())?;
    Ok(Json(
        reports::test_sync(&s.app, &auth.tenant, &c, segment).await?,
    ))
}

async fn provision(
    State(s): State<HttpState>,
    auth: TenantAuth,
    seg: Segments,
    RawQuery(q): RawQuery,
) -> Reply<crmsync_store::Provisioning> {
    let c = connection(&seg)?;
    no_params(q.as_deref())?;
    Ok(Json(
        crate::provision::provision(&s.app, &auth.tenant, &c).await?,
    ))
}

/// `{"enabled": true|false}`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SyncBody {
    enabled: bool,
}

async fn switch_sync(
    State(s): State<HttpState>,
    auth: TenantAuth,
    seg: Segments,
    RawQuery(q): RawQuery,
    JsonBody(body): JsonBody<SyncBody>,
) -> Reply<crate::sync_switch::SyncSwitch> {
    let c = connection(&seg)?;
    no_params(q.as_deref())?;
    Ok(Json(
        crate::sync_switch::set_sync(&s.app, &auth.tenant, &c, body.enabled).await?,
    ))
}

async fn quota(
    State(s): State<HttpState>,
    auth: TenantAuth,
    seg: Segments,
    RawQuery(q): RawQuery,
) -> Reply<reports::QuotaView> {
    let c = connection(&seg)?;
    no_params(q.as_deref())?;
    Ok(Json(reports::quota_usage(&s.app, &auth.tenant, &c).await?))
}

async fn lookup(
    State(s): State<HttpState>,
    auth: TenantAuth,
    seg: Segments,
    RawQuery(q): RawQuery,
) -> Reply<reports::LookupResult> {
    let c = connection(&seg)?;
    let p = Params::parse(q.as_deref(), &["object", "field", "value", "fields"], false)?;
    let wanted = reports::LookupFields::parse(p.get("fields"))?;
    let found = reports::lookup(
        &s.app,
        &auth.tenant,
        &c,
        p.required("object")?,
        p.required("field")?,
        p.required("value")?,
        wanted,
    )
    .await?;
    Ok(Json(found))
}

async fn catalog_objects(
    State(s): State<HttpState>,
    auth: TenantAuth,
    seg: Segments,
    RawQuery(q): RawQuery,
) -> Reply<reports::ObjectCatalog> {
    let c = connection(&seg)?;
    no_params(q.as_deref())?;
    Ok(Json(reports::list_objects(&s.app, &auth.tenant, &c).await?))
}

async fn catalog_fields(
    State(s): State<HttpState>,
    auth: TenantAuth,
    seg: Segments,
    RawQuery(q): RawQuery,
) -> Reply<reports::FieldCatalog> {
    let c = connection(&seg)?;
    no_params(q.as_deref())?;
    let object = seg.get("object")?;
    Ok(Json(
        reports::list_fields(&s.app, &auth.tenant, &c, object).await?,
    ))
}

async fn changes(
    State(s): State<HttpState>,
    auth: TenantAuth,
    RawQuery(q): RawQuery,
) -> Reply<reports::ChangePage> {
    let p = Params::parse(q.as_deref(), &["after", "limit"], false)?;
    let after = p.number::<u64>("after")?.unwrap_or(0);
    Ok(Json(
        reports::read_changes(&s.app, &auth.tenant, after, p.number("limit")?).await?,
    ))
}

async fn rotate(
    State(s): State<HttpState>,
    auth: TenantAuth,
    RawQuery(q): RawQuery,
) -> Reply<tenants::IssuedCredentials> {
    no_params(q.as_deref())?;
    Ok(Json(
        tenants::rotate_credentials(&s.app, &auth.tenant).await?,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn report_status_names_the_param() {
        assert_eq!(report_status("parked").unwrap(), ReportStatus::Parked);
        assert_eq!(
            report_status("oops").unwrap_err().field.as_deref(),
            Some("status")
        );
    }
}
