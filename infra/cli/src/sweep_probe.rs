//! The demo's deletion sweep in an org the demo does not run itself. Time cannot be moved
//! there, and the demo must never delete a customer's record, so it pushes one person of its
//! own (written as a Lead or Contact per the config; no existing record can match, as its
//! email is unique to this run), deletes that one,
//! waits until Salesforce's delete log (minute grain, `start < end`) covers the deletion, and
//! only then sweeps, so `getDeleted` runs for real and finds it.

use std::time::Duration;

use chrono::{DateTime, DurationRound, Utc};
use crmsync_service::App;
use crmsync_store::Connection;
use serde_json::json;

use crate::demo::DeletedRecord;
use crate::error::{CliError, CliResult};
use crate::output::Progress;
use crate::stack::{self, drain_push_queue};

const STEP: &str = "deletion sweep";
/// Past the minute boundary, so the record's deletion falls before the truncated end.
const LOG_MARGIN: chrono::Duration = chrono::Duration::seconds(3);

/// Pushes the probe Contact and returns it once it exists in Salesforce.
pub async fn push_probe(
    app: &App,
    tenant: &str,
    webhook_secret: &str,
    connection: &str,
    run_tag: &str,
) -> CliResult<DeletedRecord> {
    let event_id = format!("demo-ev-sweep-probe-{run_tag}");
    let event = json!({
        "event_id": event_id,
        "kind": "create",
        "app_object": "contact",
        "app_id": format!("app-contact-sweep-probe-{run_tag}"),
        "occurred_at": app.now().to_rfc3339(),
        "fields": {
            "first_name": "Sweep", "last_name": format!("Probe {run_tag}"),
            "email": format!("sweep-probe-{run_tag}@crmsync-demo.invalid"),
            "phone": "+1 202 555 0199", "company_name": "crmsync demo"
        },
    });
    stack::send_events(app, tenant, webhook_secret, connection, &[event]).await?;
    let pushed = drain_push_queue(app).await?;
    pushed
        .written
        .into_iter()
        .find(|w| w.event_id == event_id)
        .and_then(|w| {
            Some(DeletedRecord {
                object: w.object,
                id: w.sf_id?,
            })
        })
        .ok_or_else(|| CliError::step(STEP, "the probe record was not created in Salesforce"))
}

/// Deletes the probe in Salesforce and waits until a sweep's window covers the deletion.
pub async fn delete_and_wait(
    app: &App,
    connection: &Connection,
    probe: &DeletedRecord,
    progress: Progress,
) -> CliResult<()> {
    let client = app.salesforce.client(connection)?;
    client
        .delete(&probe.object, &probe.id)
        .await
        .map_err(|e| CliError::step(STEP, format!("deleting the probe record: {e}")))?;
    let ready = log_covers_at(connection.created_at, app.now());
    if let Ok(wait) = (ready - app.now()).to_std() {
        progress.note(&format!(
            "waiting {} s for Salesforce's delete log to cover the deletion (minute grain)",
            wait.as_secs()
        ));
        tokio::time::sleep(wait + Duration::from_millis(100)).await;
    }
    Ok(())
}

/// When a sweep whose window starts at `window_start` sees a deletion made at `deleted_at`:
/// the sweep waits for a whole minute of window (Salesforce truncates both ends to the
/// minute and needs `start < end`), and the truncated end must pass the deletion's minute.
pub fn log_covers_at(window_start: DateTime<Utc>, deleted_at: DateTime<Utc>) -> DateTime<Utc> {
    let next_minute = deleted_at
        .duration_trunc(chrono::Duration::minutes(1))
        .unwrap_or(deleted_at)
        + chrono::Duration::minutes(1);
    (window_start + chrono::Duration::minutes(1)).max(next_minute) + LOG_MARGIN
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    #[test]
    fn waits_past_the_minute_of_the_deletion() {
        assert_eq!(
            log_covers_at(at("2026-11-30T12:00:05Z"), at("2026-11-30T12:03:30Z")),
            at("2026-11-30T12:04:03Z")
        );
    }

    #[test]
    fn a_young_window_waits_for_a_whole_minute() {
        assert_eq!(
            log_covers_at(at("2026-11-30T12:03:20Z"), at("2026-11-30T12:03:35Z")),
            at("2026-11-30T12:04:23Z")
        );
    }

    #[test]
    fn a_deletion_on_the_minute_waits_a_whole_minute() {
        assert_eq!(
            log_covers_at(at("2026-11-30T12:00:00Z"), at("2026-11-30T12:05:00Z")),
            at("2026-11-30T12:06:03Z")
        );
    }
}
