//! `GET limits`: the org's limits, e.g. `DailyApiRequests`.

use std::collections::BTreeMap;

use reqwest::Method;
use serde::{Deserialize, Serialize};

use crate::client::SfClient;
use crate::error::SfError;
use crate::http::Request;

#[derive(Clone, Copy, Debug, Deserialize, Serialize, PartialEq, Eq)]
pub struct LimitValue {
    #[serde(rename = "Max")]
    pub max: i64,
    #[serde(rename = "Remaining")]
    pub remaining: i64,
}

impl LimitValue {
    pub fn used(&self) -> i64 {
        self.max - self.remaining
    }
}

/// Every limit by name.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq, Eq)]
#[serde(transparent)]
pub struct Limits(pub BTreeMap<String, LimitValue>);

impl Limits {
    pub fn get(&self, name: &str) -> Option<LimitValue> {
        self.0.get(name).copied()
    }

    pub fn daily_api_requests(&self) -> Option<LimitValue> {
        self.get("DailyApiRequests")
    }
}

/// Limit entries also carry nested per-app maps; keep only `Max`/`Remaining`.
#[derive(Deserialize)]
struct RawLimit {
    #[serde(rename = "Max")]
    max: i64,
    #[serde(rename = "Remaining")]
    remaining: i64,
}

impl SfClient {
    pub async fn limits(&self) -> Result<Limits, SfError> {
        let url = self.data_url(&["limits", ""]);
        let raw: BTreeMap<String, serde_json::Value> = self
            .execute_json(Request::new(Method::GET, url), "limits")
            .await?;
        let limits = raw
            .into_iter()
            .filter_map(|(name, value)| {
                let RawLimit { max, remaining } = serde_json::from_value(value).ok()?;
                Some((name, LimitValue { max, remaining }))
            })
            .collect();
        Ok(Limits(limits))
    }
}
