//! The per-connection API budget: crmsync may spend at most `share` of the org's daily API
//! limit (as Salesforce reports it in `Sforce-Limit-Info`), so the customer's own
//! integrations keep the rest. When the org's admin gives crmsync's connected app its own
//! quota (`per-app-api-usage`), the tighter of the two binds. At the threshold the
//! connection pauses instead of failing.

use crmsync_store::LimitInfo;
use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct QuotaStatus {
    /// Calls the org has used in the rolling 24 h window (all clients, not only crmsync).
    pub org_used: u64,
    /// The org's daily limit.
    pub org_max: u64,
    /// Calls crmsync's connected app used against its own quota in this org, when one is set.
    pub app_used: Option<u64>,
    /// The connected app's quota in this org, when one is set.
    pub app_max: Option<u64>,
    /// Calls crmsync made for this connection today.
    pub crmsync_used: u64,
    /// The most crmsync may use today.
    pub crmsync_allowance: u64,
    pub paused: bool,
}

/// Decides whether a connection may make `planned` more calls.
///
/// Three limits apply: crmsync's own share of the org limit, the connected app's quota when
/// the org sets one, and the absolute headroom of both (never push the org or the app over
/// its limit even if other clients used most of it). An unknown limit (no call seen yet)
/// does not pause.
pub fn check(
    limit: Option<&LimitInfo>,
    crmsync_used: u64,
    share: f64,
    planned: u64,
) -> QuotaStatus {
    let (org_used, org_max) = limit.map_or((0, 0), |l| (l.used, l.max));
    let app = limit.and_then(|l| l.app);
    let share_allowance = (org_max as f64 * share).floor() as u64;
    let allowance = app.map_or(share_allowance, |a| share_allowance.min(a.max));
    let org_headroom = org_max.saturating_sub(org_used);
    let app_headroom = app.map_or(u64::MAX, |a| a.max.saturating_sub(a.used));
    let paused = org_max > 0
        && (crmsync_used + planned > allowance || planned > org_headroom || planned > app_headroom);
    QuotaStatus {
        org_used,
        org_max,
        app_used: app.map(|a| a.used),
        app_max: app.map(|a| a.max),
        crmsync_used,
        crmsync_allowance: allowance,
        paused,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::DateTime;
    use crmsync_store::AppQuota;

    fn limit(used: u64, max: u64, app: Option<(u64, u64)>) -> LimitInfo {
        LimitInfo {
            used,
            max,
            app: app.map(|(used, max)| AppQuota { used, max }),
            seen_at: DateTime::UNIX_EPOCH,
        }
    }

    #[test]
    fn within_share_is_allowed() {
        let s = check(Some(&limit(1_000, 15_000, None)), 500, 0.5, 10);
        assert!(!s.paused);
        assert_eq!(s.crmsync_allowance, 7_500);
    }

    #[test]
    fn spending_past_the_share_pauses() {
        assert!(check(Some(&limit(8_000, 15_000, None)), 7_495, 0.5, 10).paused);
    }

    #[test]
    fn org_headroom_binds_even_inside_the_share() {
        assert!(check(Some(&limit(14_995, 15_000, None)), 100, 0.5, 10).paused);
    }

    #[test]
    fn unknown_limit_does_not_pause() {
        assert!(!check(None, 0, 0.5, 10).paused);
    }

    #[test]
    fn an_app_quota_tighter_than_the_share_binds() {
        let s = check(Some(&limit(25, 5_000, Some((17, 250)))), 17, 0.5, 10);
        assert_eq!(s.crmsync_allowance, 250);
        assert_eq!((s.app_used, s.app_max), (Some(17), Some(250)));
        assert!(!s.paused);
        assert!(check(Some(&limit(25, 5_000, Some((17, 250)))), 245, 0.5, 10).paused);
    }

    #[test]
    fn app_headroom_binds_when_other_connections_of_the_app_used_it() {
        // This connection used little, but the app's quota in the org is nearly spent.
        assert!(check(Some(&limit(300, 5_000, Some((245, 250)))), 5, 0.5, 10).paused);
    }

    #[test]
    fn a_looser_app_quota_leaves_the_share_in_charge() {
        let s = check(Some(&limit(25, 5_000, Some((17, 100_000)))), 0, 0.5, 10);
        assert_eq!(s.crmsync_allowance, 2_500);
    }
}
