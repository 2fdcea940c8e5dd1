//! The per-connection API budget: crmsync may spend at most `share` of the org's daily API
//! limit (as Salesforce reports it in `Sforce-Limit-Info`), so the customer's own
//! integrations keep the rest. At the threshold the connection pauses instead of failing.

use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct QuotaStatus {
    /// Calls the org has used in the rolling 24 h window (all clients, not only crmsync).
    pub org_used: u64,
    /// The org's daily limit.
    pub org_max: u64,
    /// Calls crmsync made for this connection today.
    pub crmsync_used: u64,
    /// The most crmsync may use today.
    pub crmsync_allowance: u64,
    pub paused: bool,
}

/// Decides whether a connection may make `planned` more calls.
///
/// Two limits apply: crmsync's own share, and the org's absolute headroom (never push the
/// org over its limit even if other clients used most of it).
pub fn check(
    org_used: u64,
    org_max: u64,
    crmsync_used: u64,
    share: f64,
    planned: u64,
) -> QuotaStatus {
    let allowance = (org_max as f64 * share).floor() as u64;
    let org_headroom = org_max.saturating_sub(org_used);
    let paused = org_max > 0 && (crmsync_used + planned > allowance || planned > org_headroom);
    QuotaStatus {
        org_used,
        org_max,
        crmsync_used,
        crmsync_allowance: allowance,
        paused,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn within_share_is_allowed() {
        let s = check(1_000, 15_000, 500, 0.5, 10);
        assert!(!s.paused);
        assert_eq!(s.crmsync_allowance, 7_500);
    }

    #[test]
    fn spending_past_the_share_pauses() {
        assert!(check(8_000, 15_000, 7_495, 0.5, 10).paused);
    }

    #[test]
    fn org_headroom_binds_even_inside_the_share() {
        assert!(check(14_995, 15_000, 100, 0.5, 10).paused);
    }

    #[test]
    fn unknown_limit_does_not_pause() {
        assert!(!check(0, 0, 0, 0.5, 10).paused);
    }
}
