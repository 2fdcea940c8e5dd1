//! `limits` and the version resource list.

use super::{Ctx, Reply};
use serde_json::json;

pub fn limits(ctx: &mut Ctx<'_>) -> Reply {
    let o = &ctx.st.orgs[ctx.org];
    let max = o.settings.daily_api_limit;
    let remaining = max.saturating_sub(o.meter.used(ctx.st.clock.now()));
    let pair = |m: u64, r: u64| json!({"Max": m, "Remaining": r});
    Reply::ok(json!({
        "DailyApiRequests": pair(max, remaining),
        "DailyBulkApiBatches": pair(15000, 15000),
        "DailyBulkV2QueryJobs": pair(10000, 10000),
        "DailyAsyncApexExecutions": pair(250000, 250000),
        "DataStorageMB": pair(1024, 1000),
        "FileStorageMB": pair(1024, 1024),
        "ConcurrentSyncApexCalls": pair(25, 25),
        "HourlyTimeBasedWorkflow": pair(1000, 1000),
    }))
}

pub fn resources(ctx: &mut Ctx<'_>) -> Reply {
    let v = &ctx.version;
    let base = format!("/services/data/{v}");
    Reply::ok(json!({
        "sobjects": format!("{base}/sobjects"),
        "query": format!("{base}/query"),
        "queryAll": format!("{base}/queryAll"),
        "limits": format!("{base}/limits"),
        "composite": format!("{base}/composite"),
        "identity": format!("{}/id/{}/{}", ctx.st.base_url, ctx.st.orgs[ctx.org].org_id, ctx.user_id),
    }))
}
