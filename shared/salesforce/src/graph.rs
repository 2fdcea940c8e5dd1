//! Composite graph (`POST composite/graph`): independent graphs of writes in one API call,
//! each committed all or none. Limits (REST API Developer Guide, "Composite Graph Limits"):
//! 75 graphs and 500 nodes a request; references (`@{ref.id}`) stay inside a graph.

use reqwest::Method;
use serde::{Deserialize, Serialize};

use crate::client::SfClient;
use crate::composite::{CompositeSubrequest, CompositeSubresponse};
use crate::error::SfError;
use crate::http::Request;

pub const GRAPH_MAX_GRAPHS: usize = 75;
pub const GRAPH_MAX_NODES: usize = 500;

/// One graph: its id (unique in the request) and its nodes, in order.
#[derive(Clone, Debug, PartialEq)]
pub struct Graph {
    pub graph_id: String,
    pub nodes: Vec<CompositeSubrequest>,
}

/// One graph's outcome: every node's answer; on failure nothing of it was committed.
#[derive(Clone, Debug, PartialEq)]
pub struct GraphOutcome {
    pub graph_id: String,
    pub is_successful: bool,
    pub responses: Vec<CompositeSubresponse>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct WireNode<'a> {
    method: &'a str,
    url: String,
    reference_id: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    body: Option<&'a serde_json::Value>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct WireGraph<'a> {
    graph_id: &'a str,
    composite_request: Vec<WireNode<'a>>,
}

#[derive(Serialize)]
struct WireRequest<'a> {
    graphs: Vec<WireGraph<'a>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct WireGraphResponse {
    composite_response: Vec<CompositeSubresponse>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct WireGraphOutcome {
    graph_id: String,
    graph_response: WireGraphResponse,
    is_successful: bool,
}

#[derive(Deserialize)]
struct WireResponse {
    graphs: Vec<WireGraphOutcome>,
}

/// Whether `graphs` fit one request.
pub fn graphs_fit(graphs: usize, nodes: usize) -> bool {
    (1..=GRAPH_MAX_GRAPHS).contains(&graphs) && nodes <= GRAPH_MAX_NODES
}

impl SfClient {
    /// `POST composite/graph`; outcomes come back in graph order.
    pub async fn composite_graph(&self, graphs: &[Graph]) -> Result<Vec<GraphOutcome>, SfError> {
        let nodes: usize = graphs.iter().map(|g| g.nodes.len()).sum();
        if !graphs_fit(graphs.len(), nodes) || graphs.iter().any(|g| g.nodes.is_empty()) {
            return Err(SfError::invalid(
                "graphs",
                format!(
                    "{} graphs of {nodes} nodes; 1..={GRAPH_MAX_GRAPHS} non-empty graphs and at most {GRAPH_MAX_NODES} nodes allowed",
                    graphs.len()
                ),
            ));
        }
        let prefix = self.inner.data_base.path().to_string();
        let mut wire = Vec::with_capacity(graphs.len());
        for g in graphs {
            let mut nodes = Vec::with_capacity(g.nodes.len());
            for (i, n) in g.nodes.iter().enumerate() {
                if n.path.starts_with('/') || n.path.contains("..") {
                    return Err(SfError::invalid(
                        format!("graphs[{}].compositeRequest[{i}].url", g.graph_id),
                        "path must be relative to the data base",
                    ));
                }
                nodes.push(WireNode {
                    method: n.method.as_str(),
                    url: format!("{prefix}{}", n.path),
                    reference_id: &n.reference_id,
                    body: n.body.as_ref(),
                });
            }
            wire.push(WireGraph {
                graph_id: &g.graph_id,
                composite_request: nodes,
            });
        }
        let url = self.data_url(&["composite", "graph"]);
        let request = Request::new(Method::POST, url)
            .json(&WireRequest { graphs: wire })?
            .idempotent(false);
        let response: WireResponse = self.execute_json(request, "composite graph").await?;
        Ok(response
            .graphs
            .into_iter()
            .map(|g| GraphOutcome {
                graph_id: g.graph_id,
                is_successful: g.is_successful,
                responses: g.graph_response.composite_response,
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_are_75_graphs_and_500_nodes() {
        assert!(graphs_fit(75, 500));
        assert!(!graphs_fit(76, 76));
        assert!(!graphs_fit(2, 501));
        assert!(!graphs_fit(0, 0));
    }
}
