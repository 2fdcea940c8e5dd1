//! Composite graph (`POST composite/graph`): many independent graphs in one call, each
//! written all or none. As Salesforce documents it (REST API Developer Guide, "Composite
//! Graph" and "Composite Graph Limits"): the body is `{"graphs": [{"graphId",
//! "compositeRequest": [...]}]}`; at most 75 graphs and 500 nodes a payload (and 500 a
//! graph); `@{ref}` references stay inside their graph; the answer is `{"graphs":
//! [{"graphId", "graphResponse": {"compositeResponse": [...]}, "isSuccessful"}]}`, and once
//! more than 14 graphs have failed the rest are not run (`PROCESSING_HALTED`). The whole
//! request is one API call. Nodes here are sObject and sObject Collections writes; a query
//! node is refused.

use super::composite::run_transaction;
use super::{Ctx, Reply};
use crate::error::ApiError;
use serde_json::{Value, json};

const MAX_GRAPHS: usize = 75;
const MAX_NODES: usize = 500;
/// Failed graphs after which the remaining ones are halted.
const MAX_FAILURES: usize = 14;

fn invalid(message: impl Into<String>) -> ApiError {
    ApiError::bad("INVALID_GRAPH", message)
}

pub fn graph(ctx: &mut Ctx<'_>) -> Result<Reply, ApiError> {
    let body = ctx.json_body()?;
    let graphs = body
        .get("graphs")
        .and_then(Value::as_array)
        .cloned()
        .ok_or_else(|| ApiError::bad("JSON_PARSER_ERROR", "graphs: expected an array"))?;
    if graphs.is_empty() || graphs.len() > MAX_GRAPHS {
        return Err(invalid(format!(
            "A composite graph request holds 1 to {MAX_GRAPHS} graphs, not {}",
            graphs.len()
        )));
    }
    let mut nodes = 0;
    let mut ids = std::collections::BTreeSet::new();
    let mut parsed = Vec::with_capacity(graphs.len());
    for g in &graphs {
        let id = g
            .get("graphId")
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .ok_or_else(|| invalid("Every graph needs a graphId"))?;
        if !ids.insert(id.to_string()) {
            return Err(invalid(format!("Duplicate graphId {id}")));
        }
        let subs = g
            .get("compositeRequest")
            .and_then(Value::as_array)
            .filter(|a| !a.is_empty())
            .cloned()
            .ok_or_else(|| invalid(format!("Graph {id} has no compositeRequest")))?;
        for sub in &subs {
            let url = sub.get("url").and_then(Value::as_str).unwrap_or("");
            if url.contains("/query") || sub.get("method").and_then(Value::as_str) == Some("GET") {
                return Err(invalid(format!(
                    "Graph {id}: only sObject writes can be graph nodes ({url})"
                )));
            }
        }
        nodes += subs.len();
        parsed.push((id.to_string(), subs));
    }
    if nodes > MAX_NODES {
        return Err(invalid(format!(
            "A composite graph request holds at most {MAX_NODES} nodes, not {nodes}"
        )));
    }
    let mut failures = 0;
    let mut out = Vec::with_capacity(parsed.len());
    for (id, subs) in parsed {
        let (responses, failed) = if failures > MAX_FAILURES - 1 {
            let halted: Vec<Value> = subs
                .iter()
                .map(|s| {
                    json!({"body": [{"errorCode": "PROCESSING_HALTED",
                        "message": "Processing halted: too many graphs in this request failed."}],
                        "httpHeaders": {}, "httpStatusCode": 400,
                        "referenceId": s.get("referenceId").cloned().unwrap_or(Value::Null)})
                })
                .collect();
            (halted, true)
        } else {
            run_transaction(ctx, &subs, true)
        };
        failures += usize::from(failed);
        out.push(json!({
            "graphId": id,
            "graphResponse": {"compositeResponse": responses},
            "isSuccessful": !failed
        }));
    }
    Ok(Reply::ok(json!({"graphs": out})))
}
