//! `query`, `queryAll` and query-more locators (`/query/01g…-2000`).

use super::{Ctx, Reply};
use crate::error::ApiError;
use crate::state::Locator;
use serde_json::{Value, json};

const DEFAULT_BATCH: usize = 2000;
const MIN_BATCH: usize = 200;

fn locator_ttl() -> chrono::Duration {
    chrono::Duration::minutes(15)
}

/// `Sforce-Query-Options: batchSize=N`, clamped to 200..=2000.
fn batch_size(ctx: &Ctx<'_>) -> usize {
    ctx.headers
        .get("sforce-query-options")
        .and_then(|h| h.to_str().ok())
        .and_then(|h| {
            h.split(',')
                .filter_map(|kv| kv.trim().split_once('='))
                .find(|(k, _)| k.trim().eq_ignore_ascii_case("batchSize"))
                .and_then(|(_, v)| v.trim().parse::<usize>().ok())
        })
        .map_or(DEFAULT_BATCH, |n| n.clamp(MIN_BATCH, DEFAULT_BATCH))
}

pub fn query(ctx: &mut Ctx<'_>, all: bool) -> Result<Reply, ApiError> {
    let q = ctx
        .param("q")
        .ok_or_else(|| ApiError::bad("MALFORMED_QUERY", "A query string has to be specified"))?
        .to_string();
    let parsed = crate::soql::parser::parse(&q).map_err(|e| e.to_api(&q))?;
    let now = ctx.st.clock.now();
    let out = crate::soql::eval::run(&ctx.st.orgs[ctx.org], &parsed, all, &ctx.version, now)
        .map_err(|e| e.to_api(&q))?;
    if parsed.is_count() {
        return Ok(Reply::ok(
            json!({"totalSize": out.total, "done": true, "records": []}),
        ));
    }
    let batch = batch_size(ctx);
    let total = out.total;
    let mut records = out.records;
    if records.len() <= batch {
        return Ok(Reply::ok(
            json!({"totalSize": total, "done": true, "records": records}),
        ));
    }
    let first: Vec<Value> = records.drain(..batch).collect();
    let now = ctx.st.clock.now();
    ctx.st
        .locators
        .retain(|_, l| now - l.last_used <= locator_ttl());
    let n = ctx.st.next_seq();
    let loc = crate::ids::locator_id(n);
    ctx.st.locators.insert(
        loc.clone(),
        Locator {
            org: ctx.org,
            records,
            batch,
            last_used: now,
        },
    );
    Ok(Reply::ok(json!({
        "totalSize": total,
        "done": false,
        "nextRecordsUrl": format!("/services/data/{}/query/{loc}-{batch}", ctx.version),
        "records": first,
    })))
}

/// `query/{locator}-{offset}`: the remaining records were kept when the query ran; the
/// offset says where the caller is.
pub fn query_more(ctx: &mut Ctx<'_>, token: &str) -> Result<Reply, ApiError> {
    let invalid = || ApiError::bad("INVALID_QUERY_LOCATOR", "invalid query locator");
    let (loc, offset) = token.rsplit_once('-').ok_or_else(invalid)?;
    let offset: usize = offset.parse().map_err(|_| invalid())?;
    let now = ctx.st.clock.now();
    let entry = ctx.st.locators.get_mut(loc).ok_or_else(invalid)?;
    if entry.org != ctx.org || now - entry.last_used > locator_ttl() {
        return Err(invalid());
    }
    entry.last_used = now;
    let batch = entry.batch;
    // Records in the locator start at `batch` (the first page went out with the query).
    let start = offset.checked_sub(batch).ok_or_else(invalid)?;
    let total = entry.records.len() + batch;
    if start > entry.records.len() {
        return Err(invalid());
    }
    let end = (start + batch).min(entry.records.len());
    let page: Vec<Value> = entry.records[start..end].to_vec();
    let done = end >= entry.records.len();
    let mut body = json!({"totalSize": total, "done": done, "records": page});
    if done {
        ctx.st.locators.remove(loc);
    } else {
        body["nextRecordsUrl"] = json!(format!(
            "/services/data/{}/query/{loc}-{}",
            ctx.version,
            offset + batch
        ));
    }
    Ok(Reply::ok(body))
}
