//! getUpdated / getDeleted with Salesforce's windows (30 / 15 days) and errors.

use super::{Ctx, Reply};
use crate::clock::{parse_datetime, sf_datetime};
use crate::error::ApiError;
use chrono::{DateTime, Duration, DurationRound, Utc};
use serde_json::json;

fn minute(t: DateTime<Utc>) -> DateTime<Utc> {
    t.duration_trunc(Duration::minutes(1)).unwrap_or(t)
}

fn param_time(ctx: &Ctx<'_>, name: &str) -> Result<DateTime<Utc>, ApiError> {
    let raw = ctx
        .param(name)
        .ok_or_else(|| ApiError::bad("MISSING_ARGUMENT", format!("{name} was not specified")))?;
    // An unencoded `+00:00` arrives as a space after form decoding.
    let fixed = raw.trim().replace(' ', "+");
    parse_datetime(&fixed).map(minute).ok_or_else(|| {
        ApiError::bad(
            "INVALID_REPLICATION_DATE",
            format!("{name}: invalid date format: {raw}"),
        )
    })
}

/// (start, end, earliest available, latest covered), all minute-truncated.
type Window = (DateTime<Utc>, DateTime<Utc>, DateTime<Utc>, DateTime<Utc>);

fn window(ctx: &Ctx<'_>, days: i64) -> Result<Window, ApiError> {
    let start = param_time(ctx, "start")?;
    let end = param_time(ctx, "end")?;
    if end - start < Duration::minutes(1) {
        return Err(ApiError::bad(
            "INVALID_REPLICATION_DATE",
            "startDate must chronologically precede endDate by more than one minute",
        ));
    }
    let now = ctx.st.clock.now();
    let earliest = minute(now - Duration::days(days));
    if start < earliest {
        return Err(ApiError::bad(
            "INVALID_REPLICATION_DATE",
            format!("startDate cannot be more than {days} days ago"),
        ));
    }
    let latest = end.min(minute(now));
    Ok((start, end, earliest, latest))
}

fn check_limit(ctx: &Ctx<'_>, n: usize) -> Result<(), ApiError> {
    if n > ctx.st.orgs[ctx.org].settings.change_id_limit {
        return Err(ApiError::bad(
            "EXCEEDED_ID_LIMIT",
            "The replication window exceeds the limit of ids; narrow the start and end dates",
        ));
    }
    Ok(())
}

pub fn updated(ctx: &mut Ctx<'_>, t: &str) -> Result<Reply, ApiError> {
    let def = crate::writes::object_def(ctx.st, ctx.org, t)?;
    let (start, _end, _earliest, latest) = window(ctx, 30)?;
    let ids: Vec<String> = ctx.st.orgs[ctx.org]
        .store
        .records(&def.name)
        .filter(|r| !r.deleted)
        .filter(|r| {
            r.get("SystemModstamp")
                .as_str()
                .and_then(parse_datetime)
                .is_some_and(|s| s >= start && s < latest)
        })
        .map(|r| r.id.clone())
        .collect();
    check_limit(ctx, ids.len())?;
    Ok(Reply::ok(
        json!({"ids": ids, "latestDateCovered": sf_datetime(latest)}),
    ))
}

pub fn deleted(ctx: &mut Ctx<'_>, t: &str) -> Result<Reply, ApiError> {
    let def = crate::writes::object_def(ctx.st, ctx.org, t)?;
    let (start, _end, earliest, latest) = window(ctx, 15)?;
    let recs: Vec<serde_json::Value> = ctx.st.orgs[ctx.org]
        .store
        .records(&def.name)
        .filter_map(|r| {
            r.deleted_at
                .filter(|d| *d >= start && *d < latest)
                .map(|d| (r, d))
        })
        .map(|(r, d)| json!({"id": r.id, "deletedDate": sf_datetime(d)}))
        .collect();
    check_limit(ctx, recs.len())?;
    Ok(Reply::ok(json!({
        "deletedRecords": recs,
        "earliestDateAvailable": sf_datetime(earliest),
        "latestDateCovered": sf_datetime(latest),
    })))
}
