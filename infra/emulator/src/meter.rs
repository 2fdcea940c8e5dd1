//! The daily API request meter: a rolling 24-hour window kept in hourly buckets, so moving
//! the emulated clock forward a day frees the allowance again (like a real org).

use chrono::{DateTime, Utc};
use std::collections::BTreeMap;

#[derive(Debug, Clone, Default)]
pub struct ApiMeter {
    /// hour since the epoch → calls in that hour
    buckets: BTreeMap<i64, u64>,
}

fn hour(t: DateTime<Utc>) -> i64 {
    t.timestamp().div_euclid(3600)
}

impl ApiMeter {
    /// Calls in the 24 hours up to `now`.
    pub fn used(&self, now: DateTime<Utc>) -> u64 {
        let h = hour(now);
        self.buckets.range(h - 23..=h).map(|(_, n)| n).sum()
    }

    pub fn add(&mut self, now: DateTime<Utc>, n: u64) {
        let h = hour(now);
        *self.buckets.entry(h).or_default() += n;
        // Old buckets can never count again.
        self.buckets = self.buckets.split_off(&(h - 23));
    }

    /// Forgets history and records `n` calls now.
    pub fn set(&mut self, now: DateTime<Utc>, n: u64) {
        self.buckets.clear();
        if n > 0 {
            self.buckets.insert(hour(now), n);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Duration;

    #[test]
    fn calls_roll_off_after_a_day() {
        let t = DateTime::from_timestamp(1_800_000_000, 0).expect("time");
        let mut m = ApiMeter::default();
        m.add(t, 5);
        m.add(t + Duration::hours(12), 3);
        assert_eq!(m.used(t + Duration::hours(12)), 8);
        assert_eq!(m.used(t + Duration::hours(25)), 3);
        assert_eq!(m.used(t + Duration::hours(40)), 0);
        m.set(t, 7);
        assert_eq!(m.used(t), 7);
    }
}
