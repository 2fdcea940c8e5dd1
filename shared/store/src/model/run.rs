use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::StoreResult;
use crate::ids::{ConnectionId, TenantId};
use crate::util::{check_parts, millis};

/// Largest `summary` stored as is, in bytes of compact JSON. A larger one is stored cut
/// down to fit (see [`RunRecord::summary_truncated`]), so a run record stays far below
/// DynamoDB's 400 KB item limit whatever the run produced.
pub const MAX_RUN_SUMMARY_BYTES: usize = 100 * 1024;

/// One finished sync run (poll, test sync, sweep) of a connection, for the run history.
/// Identified by `(tenant, connection, started_at, id)`: recording the same run again
/// replaces it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunRecord {
    pub tenant: TenantId,
    pub connection: ConnectionId,
    /// Unique per run (the service uses a UUID); a key part (no `#`, 1..=255 chars).
    pub id: String,
    /// e.g. `poll`, `test_sync`, `sweep` (the store does not interpret it).
    pub kind: String,
    /// e.g. `completed`, `capped`, `not_ready` (the store does not interpret it).
    pub status: String,
    pub started_at: DateTime<Utc>,
    pub finished_at: DateTime<Utc>,
    /// What the run did (the service's run summary as JSON).
    pub summary: Value,
    /// Set by the store when `summary` was larger than [`MAX_RUN_SUMMARY_BYTES`] and was
    /// stored cut down (long lists shortened, long strings cut, what did not fit left out).
    #[serde(default)]
    pub summary_truncated: bool,
    /// After this the record is invisible and eventually deleted.
    pub expires_at: Option<DateTime<Utc>>,
}

impl RunRecord {
    /// The form both adapters store: validated key parts, times in whole milliseconds and
    /// the summary capped at [`MAX_RUN_SUMMARY_BYTES`].
    pub(crate) fn prepared(&self) -> StoreResult<Self> {
        check_parts(&[
            ("id", &self.id),
            ("kind", &self.kind),
            ("status", &self.status),
        ])?;
        let mut r = self.clone();
        r.started_at = millis(r.started_at);
        r.finished_at = millis(r.finished_at);
        r.expires_at = r.expires_at.map(millis);
        if json_len(&r.summary) > MAX_RUN_SUMMARY_BYTES {
            r.summary = shrink(&r.summary, MAX_RUN_SUMMARY_BYTES).unwrap_or(Value::Null);
            r.summary_truncated = true;
        }
        Ok(r)
    }

    /// Hidden once `expires_at` has passed.
    pub(crate) fn live(&self, now: DateTime<Utc>) -> bool {
        self.expires_at.is_none_or(|x| x > now)
    }
}

/// Compact JSON length in bytes.
fn json_len(v: &Value) -> usize {
    serde_json::to_string(v).map_or(usize::MAX, |s| s.len())
}

/// A version of `v` whose compact JSON is at most `budget` bytes: objects keep their
/// smallest members whole and the first one that does not fit cut down, arrays keep a
/// prefix, strings are cut. `None` if not even an empty container fits.
fn shrink(v: &Value, budget: usize) -> Option<Value> {
    if json_len(v) <= budget {
        return Some(v.clone());
    }
    match v {
        Value::String(s) => shrink_str(s, budget),
        Value::Array(items) => {
            if budget < 2 {
                return None;
            }
            // `[` and `]`, plus a `,` before every item but the first.
            let mut used = 2;
            let mut out = Vec::new();
            for item in items {
                let sep = usize::from(!out.is_empty());
                let Some(room) = budget.checked_sub(used + sep) else {
                    break;
                };
                let Some(kept) = shrink(item, room) else {
                    break;
                };
                let cut = &kept != item;
                used += sep + json_len(&kept);
                out.push(kept);
                if cut {
                    break;
                }
            }
            (used <= budget).then_some(Value::Array(out))
        }
        Value::Object(map) => {
            if budget < 2 {
                return None;
            }
            let mut members: Vec<(&String, &Value, usize)> =
                map.iter().map(|(k, v)| (k, v, json_len(v))).collect();
            members.sort_by_key(|(_, _, size)| *size);
            let mut used = 2;
            let mut out = serde_json::Map::new();
            for (k, v, size) in members {
                // `"key":` plus a `,` before every member but the first.
                let overhead =
                    json_len(&Value::String(k.clone())) + 1 + usize::from(!out.is_empty());
                let Some(room) = budget.checked_sub(used + overhead) else {
                    continue;
                };
                let kept = if size <= room {
                    Some(v.clone())
                } else {
                    shrink(v, room)
                };
                if let Some(kept) = kept {
                    used += overhead + json_len(&kept);
                    out.insert(k.clone(), kept);
                }
            }
            (used <= budget).then_some(Value::Object(out))
        }
        // Numbers, booleans and null are tiny; they only miss a budget of a few bytes.
        _ => None,
    }
}

/// The longest prefix of `s` (ending in `…`) whose JSON fits `budget`.
fn shrink_str(s: &str, budget: usize) -> Option<Value> {
    let cut = |end: usize| {
        let mut end = end;
        while !s.is_char_boundary(end) {
            end -= 1;
        }
        Value::String(format!("{}…", &s[..end]))
    };
    if json_len(&cut(0)) > budget {
        return None;
    }
    // JSON length grows with the prefix: find the longest that fits (`lo` always fits).
    let (mut lo, mut hi) = (0, s.len().min(budget));
    while lo < hi {
        let mid = (lo + hi).div_ceil(2);
        if json_len(&cut(mid)) <= budget {
            lo = mid;
        } else {
            hi = mid - 1;
        }
    }
    Some(cut(lo))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn record(summary: Value) -> RunRecord {
        let now = Utc::now();
        RunRecord {
            tenant: TenantId::new("t").unwrap(),
            connection: ConnectionId::new("c").unwrap(),
            id: "r1".into(),
            kind: "poll".into(),
            status: "completed".into(),
            started_at: now,
            finished_at: now,
            summary,
            summary_truncated: false,
            expires_at: None,
        }
    }

    #[test]
    fn small_summaries_are_kept_as_they_are() {
        let summary = json!({"objects": {"Lead": {"fetched": 3}}, "messages": ["a"]});
        let r = record(summary.clone()).prepared().unwrap();
        assert_eq!(r.summary, summary);
        assert!(!r.summary_truncated);
    }

    #[test]
    fn large_summaries_are_cut_to_fit_and_keep_their_small_fields() {
        let messages: Vec<String> = (0..5_000)
            .map(|i| {
                format!(
                    "Lead 00Q{i:012}: \"LastName\" is required\n{}",
                    "x".repeat(40)
                )
            })
            .collect();
        let summary = json!({
            "kind": "poll",
            "status": "completed",
            "api_calls": 12,
            "objects": {"Lead": {"fetched": 5000, "errors": 5000}},
            "messages": messages,
            "note": "é".repeat(20_000),
        });
        assert!(json_len(&summary) > MAX_RUN_SUMMARY_BYTES);
        let r = record(summary).prepared().unwrap();
        assert!(r.summary_truncated);
        assert!(json_len(&r.summary) <= MAX_RUN_SUMMARY_BYTES);
        assert_eq!(r.summary["status"], json!("completed"));
        assert_eq!(r.summary["api_calls"], json!(12));
        assert_eq!(r.summary["objects"]["Lead"]["errors"], json!(5000));
        assert_eq!(r.summary["note"].as_str().unwrap().chars().count(), 20_000);
        let kept = r.summary["messages"].as_array().expect("messages kept");
        assert!(!kept.is_empty() && kept.len() < 5_000, "{}", kept.len());
        assert_eq!(kept[0], json!(messages[0]));
    }

    #[test]
    fn shrink_honours_any_budget() {
        let v =
            json!({"a": "\u{1}\u{2}\u{3}".repeat(50), "b": [1, 2, 3, [4, 5, "six"]], "c": null});
        for budget in 0..json_len(&v) + 2 {
            if let Some(s) = shrink(&v, budget) {
                assert!(json_len(&s) <= budget, "{budget}: {s}");
            }
        }
        assert_eq!(shrink(&v, 1_000).unwrap(), v);
        assert_eq!(shrink(&json!("abcdef"), 8).unwrap(), json!("abcdef"));
        assert_eq!(shrink(&json!("abcdef"), 7).unwrap(), json!("ab…"));
        assert_eq!(shrink(&json!("abcdef"), 4), None);
    }

    #[test]
    fn bad_key_parts_are_refused() {
        let mut r = record(json!({}));
        r.id = "a#b".into();
        let err = r.prepared().unwrap_err();
        assert!(err.to_string().contains("id"), "{err}");
    }
}
