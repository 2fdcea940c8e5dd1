//! Report entries of push events (one per event, replaced by a later outcome).

use crmsync_core::outbound::WritePlan;
use crmsync_store::{Connection, ConnectionId, ReportEntry, ReportStatus, TenantId};

use super::{EventOutcome, REPORT_TTL_DAYS};
use crate::app::App;
use crate::error::ServiceError;
use crate::messages::PushMessage;

/// What the push says about one event: its status, code and reason, the record it wrote
/// and the notes of fields it left out. Built with the methods below, then reported.
#[derive(Debug, Clone)]
pub(super) struct Verdict {
    status: ReportStatus,
    code: Option<String>,
    reason: Option<String>,
    sf_id: Option<String>,
    notes: Vec<String>,
    object: Option<String>,
}

impl Verdict {
    pub(super) fn new(status: ReportStatus) -> Self {
        Self {
            status,
            code: None,
            reason: None,
            sf_id: None,
            notes: Vec::new(),
            object: None,
        }
    }

    pub(super) fn success() -> Self {
        Self::new(ReportStatus::Success)
    }

    pub(super) fn error() -> Self {
        Self::new(ReportStatus::Error)
    }

    pub(super) fn parked() -> Self {
        Self::new(ReportStatus::Parked)
    }

    pub(super) fn code(self, code: impl Into<String>) -> Self {
        Self {
            code: Some(code.into()),
            ..self
        }
    }

    pub(super) fn maybe_code(self, code: Option<&str>) -> Self {
        Self {
            code: code.map(str::to_string),
            ..self
        }
    }

    pub(super) fn reason(self, reason: impl Into<String>) -> Self {
        Self {
            reason: Some(reason.into()),
            ..self
        }
    }

    pub(super) fn sf_id(self, sf_id: impl Into<String>) -> Self {
        Self {
            sf_id: Some(sf_id.into()),
            ..self
        }
    }

    pub(super) fn maybe_sf_id(self, sf_id: Option<String>) -> Self {
        Self { sf_id, ..self }
    }

    pub(super) fn notes(self, notes: Vec<String>) -> Self {
        Self { notes, ..self }
    }

    /// The plan's notes, and its first object as the entry's object.
    pub(super) fn plan(self, plan: &WritePlan) -> Self {
        Self {
            notes: plan
                .notes
                .iter()
                .map(|n| format!("{}: {}", n.field, n.reason))
                .collect(),
            object: plan.steps.first().map(|s| s.object.clone()),
            ..self
        }
    }
}

pub(super) async fn park(
    app: &App,
    conn: &Connection,
    msg: &PushMessage,
    code: &str,
    reason: &str,
) -> Result<EventOutcome, ServiceError> {
    report_msg(app, conn, msg, Verdict::parked().code(code).reason(reason)).await
}

pub(super) async fn report_msg(
    app: &App,
    conn: &Connection,
    msg: &PushMessage,
    verdict: Verdict,
) -> Result<EventOutcome, ServiceError> {
    report(app, &conn.tenant, &conn.id, msg, verdict).await
}

pub(super) async fn report(
    app: &App,
    tenant: &TenantId,
    conn: &ConnectionId,
    msg: &PushMessage,
    verdict: Verdict,
) -> Result<EventOutcome, ServiceError> {
    let now = app.now();
    let Verdict {
        status,
        code,
        mut reason,
        sf_id,
        notes,
        object,
    } = verdict;
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
        code: code.clone(),
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
        code,
        reason,
        sf_id,
    })
}
