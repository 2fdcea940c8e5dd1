//! Report entries of push events (one per event, replaced by a later outcome).

use crmsync_core::outbound::WritePlan;
use crmsync_store::{Connection, ConnectionId, ReportEntry, ReportStatus, TenantId};

use super::{EventOutcome, REPORT_TTL_DAYS};
use crate::app::App;
use crate::error::ServiceError;
use crate::messages::PushMessage;

pub(super) async fn park(
    app: &App,
    conn: &Connection,
    msg: &PushMessage,
    code: &str,
    reason: &str,
) -> Result<EventOutcome, ServiceError> {
    report(
        app,
        &conn.tenant,
        &conn.id,
        msg,
        ReportStatus::Parked,
        Some(code),
        Some(reason),
        None,
        &[],
    )
    .await
}

#[allow(clippy::too_many_arguments)]
pub(super) async fn report_msg(
    app: &App,
    conn: &Connection,
    msg: &PushMessage,
    status: ReportStatus,
    code: Option<&str>,
    reason: Option<&str>,
    sf_id: Option<String>,
    plan: &WritePlan,
) -> Result<EventOutcome, ServiceError> {
    let notes: Vec<String> = plan
        .notes
        .iter()
        .map(|n| format!("{}: {}", n.field, n.reason))
        .collect();
    let object = plan.steps.first().map(|s| s.object.clone());
    report_with(
        app,
        &conn.tenant,
        &conn.id,
        msg,
        status,
        code,
        reason,
        sf_id,
        &notes,
        object,
    )
    .await
}

#[allow(clippy::too_many_arguments)]
pub(super) async fn report(
    app: &App,
    tenant: &TenantId,
    conn: &ConnectionId,
    msg: &PushMessage,
    status: ReportStatus,
    code: Option<&str>,
    reason: Option<&str>,
    sf_id: Option<String>,
    notes: &[String],
) -> Result<EventOutcome, ServiceError> {
    report_with(
        app, tenant, conn, msg, status, code, reason, sf_id, notes, None,
    )
    .await
}

#[allow(clippy::too_many_arguments)]
async fn report_with(
    app: &App,
    tenant: &TenantId,
    conn: &ConnectionId,
    msg: &PushMessage,
    status: ReportStatus,
    code: Option<&str>,
    reason: Option<&str>,
    sf_id: Option<String>,
    notes: &[String],
    object: Option<String>,
) -> Result<EventOutcome, ServiceError> {
    let now = app.now();
    let mut reason = reason.map(str::to_string);
    if !notes.is_empty() {
        let joined = notes.join("; ");
        reason = Some(match reason {
            Some(r) => format!("{r} [notes: {joined}]"),
            None => format!("notes: {joined}"),
        });
    }
    let mut payload =
        serde_json::to_value(msg).map_err(|e| ServiceError::Internal(e.to_string()))?;
    if let Some(obj) = payload.as_object_mut() {
        obj.remove("repush_id");
    }
    let entry = ReportEntry {
        tenant: tenant.clone(),
        connection: conn.clone(),
        event_id: msg.event.event_id.clone(),
        object: object.unwrap_or_else(|| msg.event.app_object.as_str().to_string()),
        app_id: Some(msg.event.app_id.clone()),
        sf_id: sf_id.clone(),
        status,
        code: code.map(str::to_string),
        reason: reason.clone(),
        payload: Some(payload),
        created_at: now,
        updated_at: now,
        expires_at: Some(now + chrono::Duration::days(REPORT_TTL_DAYS)),
    };
    app.stores.reports.write(&entry).await?;
    Ok(EventOutcome {
        event_id: msg.event.event_id.clone(),
        status,
        code: code.map(str::to_string),
        reason,
        sf_id,
    })
}
