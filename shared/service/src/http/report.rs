//! The tenant report API, `/v1/...`, authenticated by the tenant's API key. The tenant
//! comes only from the key; path segments name the tenant's own connections.

use axum::Json;
use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use crmsync_store::{ConnectionId, ReportStatus};
use serde::{Deserialize, Serialize};

use super::HttpState;
use super::auth::TenantAuth;
use super::error::ApiError;
use super::params::{JsonBody, Params, Segments};
use super::report_params::{
    ChangesQuery, ConnectionPath, LookupQuery, ObjectPath, ReportPath, ReportsQuery, RunsQuery,
};
use super::route_table::RouteTable;
use crate::connect;
use crate::reports::{self, ReportFilter};
use crate::tenants::{self, parse_connection_id};

type Reply<T> = Result<Json<T>, ApiError>;

pub(crate) fn routes() -> RouteTable {
    RouteTable::new()
        .get("/v1/connections", list_connections)
        .get("/v1/connections/{c}", get_connection)
        .post("/v1/connections/{c}/connect", start_connect)
        .post("/v1/connections/{c}/disconnect", disconnect)
        .get("/v1/connections/{c}/runs", runs)
        .get("/v1/connections/{c}/reports", list_reports)
        .get("/v1/connections/{c}/reports/{event_id}", get_report)
        .post("/v1/connections/{c}/reports/{event_id}/repush", repush)
        .get("/v1/connections/{c}/config", get_config)
        .put("/v1/connections/{c}/config", put_config)
        .get("/v1/connections/{c}/config/status", config_status)
        .post("/v1/connections/{c}/test-sync", test_sync)
        .post("/v1/connections/{c}/provision", provision)
        .post("/v1/connections/{c}/sync", switch_sync)
        .get("/v1/connections/{c}/quota", quota)
        .post("/v1/connections/{c}/quota/recheck", quota_recheck)
        .get("/v1/connections/{c}/lookup", lookup)
        .get("/v1/connections/{c}/objects", catalog_objects)
        .get(
            "/v1/connections/{c}/objects/{object}/fields",
            catalog_fields,
        )
        .get("/v1/changes", changes)
        .post("/v1/credentials/rotate", rotate)
}

/// The `{c}` segment as a connection id.
pub(crate) fn connection(segments: &Segments) -> Result<ConnectionId, ApiError> {
    Ok(parse_connection_id(segments.get("c")?)?)
}

/// Routes without parameters still refuse unknown ones, so typos are visible.
fn no_params(query: Option<&str>) -> Result<(), ApiError> {
    Params::parse(query, &[], false).map(|_| ())
}

#[utoipa::path(
    get,
    path = "/v1/connections",
    tag = "connections",
    responses((status = 200, description = "The tenant's connections", body = reports::ConnectionList)),
    security(("api_key" = []))
)]
pub(super) async fn list_connections(
    State(s): State<HttpState>,
    auth: TenantAuth,
    RawQuery(q): RawQuery,
) -> Reply<reports::ConnectionList> {
    no_params(q.as_deref())?;
    Ok(Json(reports::list_connections(&s.app, &auth.tenant).await?))
}

#[utoipa::path(
    get,
    path = "/v1/connections/{c}",
    tag = "connections",
    params(ConnectionPath),
    responses((status = 200, description = "One connection: status, org, user and health", body = reports::ConnectionDetails)),
    security(("api_key" = []))
)]
pub(super) async fn get_connection(
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

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct ConnectBody {
    #[serde(default)]
    env: Option<String>,
    #[serde(default)]
    return_to: Option<String>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(super) struct ConnectReply {
    authorize_url: String,
}

#[utoipa::path(
    post,
    path = "/v1/connections/{c}/connect",
    tag = "connections",
    params(ConnectionPath),
    request_body = ConnectBody,
    responses((status = 200, description = "The Salesforce authorize URL to send the admin's browser to", body = ConnectReply)),
    security(("api_key" = []))
)]
pub(super) async fn start_connect(
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

#[utoipa::path(
    post,
    path = "/v1/connections/{c}/disconnect",
    tag = "connections",
    params(ConnectionPath),
    responses((status = 200, description = "Disconnected: the refresh token is revoked and dropped", body = reports::ConnectionDetails)),
    security(("api_key" = []))
)]
pub(super) async fn disconnect(
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
#[utoipa::path(
    get,
    path = "/v1/connections/{c}/runs",
    tag = "runs",
    params(ConnectionPath, RunsQuery),
    responses((status = 200, description = "The run history, newest first", body = reports::RunList)),
    security(("api_key" = []))
)]
pub(super) async fn runs(
    State(s): State<HttpState>,
    auth: TenantAuth,
    seg: Segments,
    RawQuery(q): RawQuery,
) -> Reply<reports::RunList> {
    let c = connection(&seg)?;
    let p = Params::documented::<RunsQuery>(q.as_deref())?;
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

#[utoipa::path(
    get,
    path = "/v1/connections/{c}/reports",
    tag = "reports",
    params(ConnectionPath, ReportsQuery),
    responses((status = 200, description = "One page of report entries", body = reports::ReportPage)),
    security(("api_key" = []))
)]
pub(super) async fn list_reports(
    State(s): State<HttpState>,
    auth: TenantAuth,
    seg: Segments,
    RawQuery(q): RawQuery,
) -> Reply<reports::ReportPage> {
    let c = connection(&seg)?;
    let p = Params::documented::<ReportsQuery>(q.as_deref())?;
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

#[utoipa::path(
    get,
    path = "/v1/connections/{c}/reports/{event_id}",
    tag = "reports",
    params(ReportPath),
    responses((status = 200, description = "One entry with the event it carried", body = reports::ReportDetail)),
    security(("api_key" = []))
)]
pub(super) async fn get_report(
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

#[utoipa::path(
    post,
    path = "/v1/connections/{c}/reports/{event_id}/repush",
    tag = "reports",
    params(ReportPath),
    responses((status = 202, description = "The event is queued again", body = reports::Repushed)),
    security(("api_key" = []))
)]
pub(super) async fn repush(
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

#[utoipa::path(
    get,
    path = "/v1/connections/{c}/config",
    tag = "config",
    params(ConnectionPath),
    responses((status = 200, description = "The sync config with its version (version 0: the standard config, never saved)", body = crate::config_service::VersionedConfig)),
    security(("api_key" = []))
)]
pub(super) async fn get_config(
    State(s): State<HttpState>,
    auth: TenantAuth,
    seg: Segments,
    RawQuery(q): RawQuery,
) -> Reply<crate::config_service::VersionedConfig> {
    let c = connection(&seg)?;
    no_params(q.as_deref())?;
    Ok(Json(reports::get_config(&s.app, &auth.tenant, &c).await?))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct PutConfigBody {
    /// The `version` the edit started from; another save in between is a 409.
    expected_version: u64,
    /// Checked whole: a refusal lists every problem with its path.
    #[schema(value_type = crmsync_core::config::SyncConfig)]
    config: serde_json::Value,
}

#[utoipa::path(
    put,
    path = "/v1/connections/{c}/config",
    tag = "config",
    params(ConnectionPath),
    request_body = PutConfigBody,
    responses((status = 200, description = "The saved config with its new version", body = crate::config_service::VersionedConfig)),
    security(("api_key" = []))
)]
pub(super) async fn put_config(
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

#[utoipa::path(
    get,
    path = "/v1/connections/{c}/config/status",
    tag = "config",
    params(ConnectionPath),
    responses((status = 200, description = "Each mapping checked against the org's describe", body = reports::ConfigStatus)),
    security(("api_key" = []))
)]
pub(super) async fn config_status(
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

#[utoipa::path(
    post,
    path = "/v1/connections/{c}/test-sync",
    tag = "runs",
    params(ConnectionPath),
    request_body = crate::poll::TestSegment,
    responses((status = 200, description = "What a sync of the segment did (cursors do not move)", body = crate::runs::RunSummary)),
    security(("api_key" = []))
)]
pub(super) async fn test_sync(
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

#[utoipa::path(
    post,
    path = "/v1/connections/{c}/provision",
    tag = "config",
    params(ConnectionPath),
    responses((status = 200, description = "The provisioning run: custom fields created in the org", body = crmsync_store::Provisioning)),
    security(("api_key" = []))
)]
pub(super) async fn provision(
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
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct SyncBody {
    enabled: bool,
}

#[utoipa::path(
    post,
    path = "/v1/connections/{c}/sync",
    tag = "connections",
    params(ConnectionPath),
    request_body = SyncBody,
    responses((status = 200, description = "The sync switch as set", body = crate::sync_switch::SyncSwitch)),
    security(("api_key" = []))
)]
pub(super) async fn switch_sync(
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

#[utoipa::path(
    get,
    path = "/v1/connections/{c}/quota",
    tag = "quota",
    params(ConnectionPath),
    responses((status = 200, description = "Today's API use against the allowance", body = reports::QuotaView)),
    security(("api_key" = []))
)]
pub(super) async fn quota(
    State(s): State<HttpState>,
    auth: TenantAuth,
    seg: Segments,
    RawQuery(q): RawQuery,
) -> Reply<reports::QuotaView> {
    let c = connection(&seg)?;
    no_params(q.as_deref())?;
    Ok(Json(reports::quota_usage(&s.app, &auth.tenant, &c).await?))
}

#[utoipa::path(
    post,
    path = "/v1/connections/{c}/quota/recheck",
    tag = "quota",
    params(ConnectionPath),
    responses((status = 200, description = "The budget after re-reading the org's daily limit (one `GET limits` from the probe reserve when paused and the last reading is a minute old or more; no call otherwise): a limit the org's admin raised lifts the pause at once", body = reports::QuotaView)),
    security(("api_key" = []))
)]
pub(super) async fn quota_recheck(
    State(s): State<HttpState>,
    auth: TenantAuth,
    seg: Segments,
    RawQuery(q): RawQuery,
) -> Reply<reports::QuotaView> {
    let c = connection(&seg)?;
    no_params(q.as_deref())?;
    Ok(Json(reports::recheck(&s.app, &auth.tenant, &c).await?))
}

#[utoipa::path(
    get,
    path = "/v1/connections/{c}/lookup",
    tag = "catalog",
    params(ConnectionPath, LookupQuery),
    responses((status = 200, description = "The record found, in app terms", body = reports::LookupResult)),
    security(("api_key" = []))
)]
pub(super) async fn lookup(
    State(s): State<HttpState>,
    auth: TenantAuth,
    seg: Segments,
    RawQuery(q): RawQuery,
) -> Reply<reports::LookupResult> {
    let c = connection(&seg)?;
    let p = Params::documented::<LookupQuery>(q.as_deref())?;
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

#[utoipa::path(
    get,
    path = "/v1/connections/{c}/objects",
    tag = "catalog",
    params(ConnectionPath),
    responses((status = 200, description = "The org's objects", body = reports::ObjectCatalog)),
    security(("api_key" = []))
)]
pub(super) async fn catalog_objects(
    State(s): State<HttpState>,
    auth: TenantAuth,
    seg: Segments,
    RawQuery(q): RawQuery,
) -> Reply<reports::ObjectCatalog> {
    let c = connection(&seg)?;
    no_params(q.as_deref())?;
    Ok(Json(reports::list_objects(&s.app, &auth.tenant, &c).await?))
}

#[utoipa::path(
    get,
    path = "/v1/connections/{c}/objects/{object}/fields",
    tag = "catalog",
    params(ObjectPath),
    responses((status = 200, description = "The object's fields and how the config maps them", body = reports::FieldCatalog)),
    security(("api_key" = []))
)]
pub(super) async fn catalog_fields(
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

#[utoipa::path(
    get,
    path = "/v1/changes",
    tag = "changes",
    params(ChangesQuery),
    responses((status = 200, description = "Changes from Salesforce after the given position", body = reports::ChangePage)),
    security(("api_key" = []))
)]
pub(super) async fn changes(
    State(s): State<HttpState>,
    auth: TenantAuth,
    RawQuery(q): RawQuery,
) -> Reply<reports::ChangePage> {
    let p = Params::documented::<ChangesQuery>(q.as_deref())?;
    let after = p.number::<u64>("after")?.unwrap_or(0);
    Ok(Json(
        reports::read_changes(&s.app, &auth.tenant, after, p.number("limit")?).await?,
    ))
}

#[utoipa::path(
    post,
    path = "/v1/credentials/rotate",
    tag = "credentials",
    responses((status = 200, description = "New credentials; the old ones stop working", body = tenants::IssuedCredentials)),
    security(("api_key" = []))
)]
pub(super) async fn rotate(
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
