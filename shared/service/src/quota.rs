//! The per-connection API budget: crmsync may spend at most `share` of the org's daily API
//! limit (as Salesforce reports it in `Sforce-Limit-Info`), so the customer's own
//! integrations keep the rest. When the org's admin gives crmsync's connected app its own
//! quota (`per-app-api-usage`), the tighter of the two binds. At the threshold the
//! connection pauses instead of failing.
//!
//! Two refinements keep the budget honest within a day:
//! - a small reserve of the allowance is kept for re-reading the org's limit while paused
//!   (one `GET limits` call every [`probe_interval`]: every minute with the first half of
//!   the reserve, right after the pause; then the rest spread over the rest of the UTC day,
//!   every minute when it lasts that long, at most
//!   [`LIMIT_PROBE_EVERY`](crate::guard::LIMIT_PROBE_EVERY) apart), so a limit the admin
//!   raised lifts the pause within that interval; work pauses at the allowance less the
//!   reserve and the probes never go past the allowance. A probe is not free: the REST API
//!   Developer Guide ("Limit Info Header") says `Sforce-Limit-Info` comes with every REST
//!   API response except the Versions URI `/`, the one call that does not count towards
//!   the org's limit, so `GET limits` (an ordinary REST resource) costs one call, and the
//!   free call carries no reading;
//! - [`project`] extrapolates crmsync's calls so far today to the end of the UTC day; when
//!   that would pass the allowance, polls are spaced out ([`BurnProjection::poll_slowdown`])
//!   before anything pauses.

use chrono::{DateTime, NaiveTime, TimeDelta, Utc};
use crmsync_store::LimitInfo;
use serde::Serialize;

/// The longest a poll interval is stretched (one minute becomes an hour).
pub const MAX_POLL_SLOWDOWN: u32 = 60;
/// Calls kept for limit probes: 1 % of the allowance, at least 1, at most this.
const MAX_PROBE_RESERVE: u64 = 48;

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
    /// Calls of the allowance kept for re-reading the org's limit while paused.
    pub probe_reserve: u64,
    pub paused: bool,
}

impl QuotaStatus {
    /// The allowance work may spend; the rest is the probe reserve.
    pub fn work_allowance(&self) -> u64 {
        self.crmsync_allowance.saturating_sub(self.probe_reserve)
    }

    /// Paused by crmsync's own share (not by the org's or the app's headroom), with a call of
    /// the reserve left and the org not at its limit: a limit probe may run.
    pub fn may_probe(&self) -> bool {
        self.paused
            && self.org_max > 0
            && self.crmsync_used < self.crmsync_allowance
            && self.org_used < self.org_max
            && self.app_used.zip(self.app_max).is_none_or(|(u, m)| u < m)
    }
}

/// The shortest time between two limit probes of a paused connection.
pub const MIN_PROBE_INTERVAL: TimeDelta = TimeDelta::minutes(1);

/// How long a paused connection waits between limit probes. Right after the pause, while
/// less than half of the probe reserve is spent, every [`MIN_PROBE_INTERVAL`]: a pause is
/// when the org's admin is told and raises the limit, so that is when a raise must be seen
/// at once (with the reserve at its cap of 48, the first 24 minutes of a pause). Then the
/// calls of the reserve still left (`status.crmsync_allowance - status.crmsync_used`)
/// spread over the rest of the UTC day, so the reserve lasts until midnight, within
/// `MIN_PROBE_INTERVAL..=longest`: every minute while the reserve affords one probe a
/// minute until midnight (late in the day), otherwise up to `longest`; once the reserve is
/// spent, only the next day's first calls see a raise. Work stops at the allowance less
/// the reserve, so the calls past that point are the probes.
pub fn probe_interval(status: &QuotaStatus, now: DateTime<Utc>, longest: TimeDelta) -> TimeDelta {
    let probes_spent = status.crmsync_used.saturating_sub(status.work_allowance());
    if probes_spent < status.probe_reserve / 2 {
        return MIN_PROBE_INTERVAL;
    }
    let left = status
        .crmsync_allowance
        .saturating_sub(status.crmsync_used)
        .max(1);
    let midnight = now.date_naive().and_time(NaiveTime::MIN).and_utc() + TimeDelta::days(1);
    let minutes_left = (midnight - now).num_minutes().max(0) as u64;
    let spread = TimeDelta::minutes(minutes_left.div_ceil(left) as i64);
    spread.clamp(MIN_PROBE_INTERVAL, longest.max(MIN_PROBE_INTERVAL))
}

/// crmsync's calls for a connection today, extrapolated to the end of the UTC day.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct BurnProjection {
    /// Calls an hour, averaged since midnight UTC (over at least the first hour).
    pub calls_per_hour: f64,
    /// Today's calls by midnight UTC at that rate.
    pub projected_day_calls: u64,
    /// Polls run every `poll_slowdown` times their configured interval so the projection
    /// fits the allowance (1: not slowed; at most [`MAX_POLL_SLOWDOWN`]).
    pub poll_slowdown: u32,
}

/// Projects the day's burn from today's rate so far and the poll slowdown that keeps it
/// within `allowance` (unknown, 0: never slowed).
pub fn project(crmsync_used: u64, allowance: u64, now: DateTime<Utc>) -> BurnProjection {
    let midnight = now.date_naive().and_time(NaiveTime::MIN).and_utc();
    let elapsed_h = (now - midnight).num_seconds() as f64 / 3600.0;
    let left_h = (24.0 - elapsed_h).max(0.0);
    let calls_per_hour = crmsync_used as f64 / elapsed_h.max(1.0);
    let projected_day_calls = crmsync_used + (calls_per_hour * left_h).ceil() as u64;
    let poll_slowdown = if allowance == 0 || projected_day_calls <= allowance {
        1
    } else {
        let room = allowance.saturating_sub(crmsync_used) as f64;
        let fitting_rate = room / left_h.max(1.0 / 60.0);
        if fitting_rate <= 0.0 {
            MAX_POLL_SLOWDOWN
        } else {
            ((calls_per_hour / fitting_rate).ceil() as u32).clamp(1, MAX_POLL_SLOWDOWN)
        }
    };
    BurnProjection {
        calls_per_hour,
        projected_day_calls,
        poll_slowdown,
    }
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
    let probe_reserve = (allowance / 100).clamp(1, MAX_PROBE_RESERVE).min(allowance);
    let org_headroom = org_max.saturating_sub(org_used);
    let app_headroom = app.map_or(u64::MAX, |a| a.max.saturating_sub(a.used));
    let paused = org_max > 0
        && (crmsync_used + planned > allowance - probe_reserve
            || planned > org_headroom
            || planned > app_headroom);
    QuotaStatus {
        org_used,
        org_max,
        app_used: app.map(|a| a.used),
        app_max: app.map(|a| a.max),
        crmsync_used,
        crmsync_allowance: allowance,
        probe_reserve,
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

    fn at_time(hms: &str) -> DateTime<Utc> {
        format!("2026-11-22T{hms}Z").parse().unwrap()
    }

    #[test]
    fn probes_spread_the_reserve_left_over_the_rest_of_the_day() {
        let longest = TimeDelta::minutes(10);
        // 10,000 allowed, 48 calls of reserve: work stops at 9,952; 24 probes spent after.
        let paused = check(Some(&limit(9_000, 20_000, None)), 9_976, 0.5, 1);
        assert!(paused.paused && paused.may_probe());
        let every = |used, hms| {
            let s = QuotaStatus {
                crmsync_used: used,
                ..paused
            };
            probe_interval(&s, at_time(hms), longest)
        };
        // 24 calls left, 30 minutes to midnight: a probe each minute.
        assert_eq!(every(9_976, "23:36:00"), TimeDelta::minutes(1));
        // 240 minutes for 24 calls: every 10 minutes; 120 minutes: every 5.
        assert_eq!(every(9_976, "20:00:00"), TimeDelta::minutes(10));
        assert_eq!(every(9_976, "22:00:00"), TimeDelta::minutes(5));
        // Early in the day the reserve cannot last at one a minute: at most `longest` apart.
        assert_eq!(every(9_976, "01:00:00"), longest);
        // The last call of the reserve, 3 minutes before midnight: wait those 3 minutes.
        assert_eq!(every(9_999, "23:57:00"), TimeDelta::minutes(3));
        // Nothing left (never probed: `may_probe` is false) still gives a sane interval.
        assert_eq!(every(10_000, "23:59:30"), TimeDelta::minutes(1));
    }

    #[test]
    fn a_fresh_pause_probes_every_minute_with_the_first_half_of_the_reserve() {
        let longest = TimeDelta::minutes(10);
        let paused = check(Some(&limit(9_000, 20_000, None)), 9_952, 0.5, 1);
        assert_eq!((paused.probe_reserve, paused.work_allowance()), (48, 9_952));
        let every = |used| {
            let s = QuotaStatus {
                crmsync_used: used,
                ..paused
            };
            probe_interval(&s, at_time("09:00:00"), longest)
        };
        // At 09:00 the reserve spread over the day would be 10 minutes apart; right after
        // the pause (0..23 probes spent) it is every minute.
        assert_eq!(every(9_952), TimeDelta::minutes(1));
        assert_eq!(every(9_975), TimeDelta::minutes(1));
        assert_eq!(every(9_976), longest);
        // A reserve of one call has no fast half: spread as before.
        let tiny = check(Some(&limit(60, 80, None)), 39, 0.5, 1);
        assert_eq!(tiny.probe_reserve, 1);
        assert_eq!(probe_interval(&tiny, at_time("09:00:00"), longest), longest);
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
    fn work_pauses_short_of_the_share_by_the_probe_reserve() {
        // 7,500 allowed; 1 % (capped at 48) is kept for limit probes.
        let s = check(Some(&limit(8_000, 15_000, None)), 7_445, 0.5, 10);
        assert_eq!((s.probe_reserve, s.work_allowance()), (48, 7_452));
        assert!(s.paused && s.may_probe());
        let spent = check(Some(&limit(8_000, 15_000, None)), 7_500, 0.5, 1);
        assert!(
            spent.paused && !spent.may_probe(),
            "no probe past the share"
        );
        assert!(!check(Some(&limit(100, 15_000, None)), 7_400, 0.5, 10).paused);
    }

    #[test]
    fn no_probe_when_the_org_itself_is_at_its_limit() {
        let s = check(Some(&limit(15_000, 15_000, None)), 10, 0.5, 10);
        assert!(s.paused && !s.may_probe());
    }

    fn at(hour: u32) -> DateTime<Utc> {
        "2026-11-30T00:00:00Z".parse::<DateTime<Utc>>().unwrap()
            + chrono::Duration::hours(i64::from(hour))
    }

    #[test]
    fn projection_extrapolates_todays_rate_to_midnight() {
        let p = project(600, 7_500, at(12));
        assert_eq!(p.calls_per_hour, 50.0);
        assert_eq!(p.projected_day_calls, 1_200);
        assert_eq!(p.poll_slowdown, 1, "fits: not slowed");
    }

    #[test]
    fn a_projection_past_the_allowance_slows_polls_to_fit() {
        // 6,000 by noon: 12,000 projected; 1,500 left for 12 h fits 125/h, 4x slower.
        let p = project(6_000, 7_500, at(12));
        assert_eq!(p.projected_day_calls, 12_000);
        assert_eq!(p.poll_slowdown, 4);
        // Nothing left: the slowest interval.
        assert_eq!(
            project(7_500, 7_500, at(12)).poll_slowdown,
            MAX_POLL_SLOWDOWN
        );
        // An unknown limit never slows.
        assert_eq!(project(6_000, 0, at(12)).poll_slowdown, 1);
    }

    #[test]
    fn the_first_hour_is_not_extrapolated_from_minutes() {
        let p = project(30, 7_500, at(0) + chrono::Duration::minutes(5));
        assert_eq!(p.calls_per_hour, 30.0);
    }

    #[test]
    fn a_looser_app_quota_leaves_the_share_in_charge() {
        let s = check(Some(&limit(25, 5_000, Some((17, 100_000)))), 0, 0.5, 10);
        assert_eq!(s.crmsync_allowance, 2_500);
    }
}
