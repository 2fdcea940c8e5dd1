use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

/// The org-wide daily API usage Salesforce last reported (`Sforce-Limit-Info:
/// api-usage=used/max`), and the connected app's own quota when the org sets one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct LimitInfo {
    pub used: u64,
    pub max: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub app: Option<AppQuota>,
    pub seen_at: DateTime<Utc>,
}

/// `per-app-api-usage=used/max`: the org admin's quota for crmsync's connected app.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppQuota {
    pub used: u64,
    pub max: u64,
}

/// One `Sforce-Limit-Info` reading, before the store stamps it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LimitReading {
    pub used: u64,
    pub max: u64,
    pub app: Option<AppQuota>,
}

impl LimitReading {
    pub fn stamped(self, seen_at: DateTime<Utc>) -> LimitInfo {
        LimitInfo {
            used: self.used,
            max: self.max,
            app: self.app,
            seen_at,
        }
    }
}

/// A connection's API use on one UTC day.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QuotaUsage {
    pub day: NaiveDate,
    /// Calls crmsync itself made that day.
    pub calls: u64,
    pub limit: Option<LimitInfo>,
}
