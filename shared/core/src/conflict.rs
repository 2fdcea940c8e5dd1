//! The conflict policy and per-record order, as pure decisions over change times.
//!
//! crmsync never reads the app's records, so a conflict is judged from what passed
//! through it: per link and field, when the app last changed the field (its event's
//! `occurred_at`) and when Salesforce did (`LastModifiedDate`), each with the time crmsync
//! carried that change to the other side (`synced_at`).
//!
//! - `most_recent`: the later change wins; ties and unknown times go to Salesforce.
//! - `app_wins` / `crm_wins`: the winner's value stands against any change the loser made
//!   before the winner's value reached it (made "concurrently", whatever the clocks say). A
//!   change made after the other side's value arrived is a new edit and syncs.
//!
//! Order, under every policy: an app change older than the last app change applied to the
//! field is superseded (a parked or redelivered event never undoes a newer one).

use chrono::{DateTime, Utc};

use crate::config::ConflictPolicy;
use crate::types::FieldChange;

/// Whether a Salesforce change made at `sf_at` reaches the app, given the app's last
/// change to the field (`None`: the app never changed it, so there is no conflict).
pub fn salesforce_change_applies(
    policy: ConflictPolicy,
    sf_at: Option<DateTime<Utc>>,
    app: Option<&FieldChange>,
) -> bool {
    let Some(app) = app else {
        return true;
    };
    match policy {
        ConflictPolicy::CrmWins => true,
        ConflictPolicy::MostRecent => sf_at.is_none_or(|t| t >= app.at),
        ConflictPolicy::AppWins => sf_at.is_some_and(|t| t >= app.synced_at),
    }
}

/// Whether an app change made at `app_at` is written over Salesforce's last change to the
/// field (`None`: no Salesforce change seen, so there is no conflict).
pub fn app_change_applies(
    policy: ConflictPolicy,
    app_at: DateTime<Utc>,
    sf: Option<&FieldChange>,
) -> bool {
    let Some(sf) = sf else {
        return true;
    };
    match policy {
        ConflictPolicy::AppWins => true,
        ConflictPolicy::MostRecent => app_at > sf.at,
        ConflictPolicy::CrmWins => app_at >= sf.synced_at,
    }
}

/// Whether an app change made at `app_at` is older than the last app change applied to
/// the field (then it is superseded and not written).
pub fn app_change_is_superseded(app_at: DateTime<Utc>, last: Option<&FieldChange>) -> bool {
    last.is_some_and(|l| app_at < l.at)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ConflictPolicy::*;
    use chrono::TimeZone;

    fn t(secs: i64) -> DateTime<Utc> {
        Utc.timestamp_opt(1_700_000_000 + secs, 0).unwrap()
    }

    /// Made at `at`, carried over at `synced`.
    fn change(at: i64, synced: i64) -> FieldChange {
        FieldChange {
            at: t(at),
            synced_at: t(synced),
        }
    }

    #[test]
    fn inbound_without_an_app_change_always_applies() {
        for policy in [CrmWins, AppWins, MostRecent] {
            assert!(salesforce_change_applies(policy, Some(t(0)), None));
            assert!(salesforce_change_applies(policy, None, None));
        }
    }

    #[test]
    fn inbound_crm_wins_applies_even_an_older_salesforce_change() {
        assert!(salesforce_change_applies(
            CrmWins,
            Some(t(10)),
            Some(&change(20, 30))
        ));
    }

    #[test]
    fn inbound_most_recent_compares_change_times_and_salesforce_takes_ties() {
        let app = change(20, 30);
        assert!(!salesforce_change_applies(
            MostRecent,
            Some(t(19)),
            Some(&app)
        ));
        assert!(salesforce_change_applies(
            MostRecent,
            Some(t(20)),
            Some(&app)
        ));
        assert!(salesforce_change_applies(
            MostRecent,
            Some(t(25)),
            Some(&app)
        ));
        assert!(salesforce_change_applies(MostRecent, None, Some(&app)));
    }

    #[test]
    fn inbound_app_wins_refuses_a_salesforce_change_made_before_the_app_value_arrived() {
        let app = change(20, 30);
        // Newer than the app's change, but made while it was still in flight.
        assert!(!salesforce_change_applies(AppWins, Some(t(25)), Some(&app)));
        assert!(!salesforce_change_applies(AppWins, None, Some(&app)));
        // Made after the app's value reached Salesforce: a new edit.
        assert!(salesforce_change_applies(AppWins, Some(t(31)), Some(&app)));
    }

    #[test]
    fn outbound_without_a_salesforce_change_always_applies() {
        for policy in [CrmWins, AppWins, MostRecent] {
            assert!(app_change_applies(policy, t(0), None));
        }
    }

    #[test]
    fn outbound_app_wins_writes_even_an_older_app_change() {
        assert!(app_change_applies(AppWins, t(10), Some(&change(20, 30))));
    }

    #[test]
    fn outbound_most_recent_compares_change_times_and_salesforce_takes_ties() {
        let sf = change(20, 30);
        assert!(!app_change_applies(MostRecent, t(19), Some(&sf)));
        assert!(!app_change_applies(MostRecent, t(20), Some(&sf)));
        assert!(app_change_applies(MostRecent, t(25), Some(&sf)));
    }

    #[test]
    fn outbound_crm_wins_refuses_an_app_change_made_before_salesforce_s_value_arrived() {
        let sf = change(20, 30);
        assert!(!app_change_applies(CrmWins, t(25), Some(&sf)));
        assert!(app_change_applies(CrmWins, t(30), Some(&sf)));
    }

    #[test]
    fn an_older_app_change_is_superseded_by_a_newer_one() {
        let last = change(20, 21);
        assert!(app_change_is_superseded(t(19), Some(&last)));
        // The same event again (a redelivery) is not older.
        assert!(!app_change_is_superseded(t(20), Some(&last)));
        assert!(!app_change_is_superseded(t(25), Some(&last)));
        assert!(!app_change_is_superseded(t(0), None));
    }
}
