use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

/// The org-wide daily API usage Salesforce last reported (`Sforce-Limit-Info:
/// api-usage=used/max`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct LimitInfo {
    pub used: u64,
    pub max: u64,
    pub seen_at: DateTime<Utc>,
}

/// A connection's API use on one UTC day.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QuotaUsage {
    pub day: NaiveDate,
    /// Calls crmsync itself made that day.
    pub calls: u64,
    pub limit: Option<LimitInfo>,
}
