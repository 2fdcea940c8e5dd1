use serde::{Deserialize, Serialize};

/// An opaque continuation token. Callers hand it back unchanged; its content is an
/// adapter detail (DynamoDB: the encoded LastEvaluatedKey).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct PageToken(pub String);

/// Which page to read.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PageRequest {
    /// Maximum items to return; 0 means the adapter default (100).
    pub limit: u32,
    pub token: Option<PageToken>,
}

impl PageRequest {
    pub fn first(limit: u32) -> Self {
        Self { limit, token: None }
    }

    pub fn next(limit: u32, token: PageToken) -> Self {
        Self {
            limit,
            token: Some(token),
        }
    }

    /// The effective limit, clamped to 1..=1000.
    pub fn effective_limit(&self) -> usize {
        match self.limit {
            0 => 100,
            n => n.min(1000) as usize,
        }
    }
}

/// One page of results. `next` is `None` on the last page.
#[derive(Debug, Clone, PartialEq)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next: Option<PageToken>,
}
