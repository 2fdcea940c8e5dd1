//! The tenant's rules a run syncs under: the conflict policy, the person Title's direction
//! and whether Salesforce's updates of person records are pulled at all. With the profile
//! feature `rules` each seed draws them (from its own RNG, so the scenario's draws do not
//! move); otherwise a run uses the standard config (`most_recent`, everything two-way, on).

use crmsync_core::config::{ConflictPolicy, SyncConfig, SyncRule};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// Mixed into the seed for the rules' own RNG.
const RULES_SALT: u64 = 0x7275_6c65_735f_7631;
/// The person objects the drawn rules change.
const PERSON_OBJECTS: [&str; 2] = ["Lead", "Contact"];

/// Which way the person records' Title syncs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TitleRule {
    /// Both ways: the conflict policy settles edits on both sides.
    TwoWay,
    /// Salesforce → app only (`salesforce_unless_blank`): the app's Title is never pushed.
    CrmToApp,
    /// App → Salesforce only (`app_only`): Salesforce's Title never reaches the app.
    AppToCrm,
}

impl TitleRule {
    fn name(self) -> &'static str {
        match self {
            TitleRule::TwoWay => "two_way",
            TitleRule::CrmToApp => "crm_to_app",
            TitleRule::AppToCrm => "app_to_crm",
        }
    }

    fn sync_rule(self) -> SyncRule {
        match self {
            TitleRule::TwoWay => SyncRule::TwoWay,
            TitleRule::CrmToApp => SyncRule::SalesforceUnlessBlank,
            TitleRule::AppToCrm => SyncRule::AppOnly,
        }
    }

    pub fn outbound(self) -> bool {
        self.sync_rule().outbound()
    }

    pub fn inbound(self) -> bool {
        self.sync_rule().inbound()
    }
}

/// The rules of one run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rules {
    pub policy: ConflictPolicy,
    pub title: TitleRule,
    /// Lead and Contact `inbound.update`: Salesforce users' edits of person records reach
    /// the app (creates always do).
    pub pull_person_updates: bool,
}

impl Rules {
    /// The standard config's rules.
    pub const STANDARD: Rules = Rules {
        policy: ConflictPolicy::MostRecent,
        title: TitleRule::TwoWay,
        pull_person_updates: true,
    };

    /// The rules seed `seed` runs under: each policy a third of the time, Title two-way
    /// half of the time (else one way or the other), person pulls off one time in five.
    pub fn draw(seed: u64) -> Rules {
        let mut rng = StdRng::seed_from_u64(seed ^ RULES_SALT);
        let policy = [
            ConflictPolicy::CrmWins,
            ConflictPolicy::AppWins,
            ConflictPolicy::MostRecent,
        ][rng.random_range(0..3usize)];
        let title = match rng.random_range(0..4u32) {
            0 => TitleRule::CrmToApp,
            1 => TitleRule::AppToCrm,
            _ => TitleRule::TwoWay,
        };
        let pull_person_updates = !rng.random_bool(0.2);
        Rules {
            policy,
            title,
            pull_person_updates,
        }
    }

    /// Writes these rules into the connection's config.
    pub fn apply(&self, config: &mut SyncConfig) {
        config.conflict_policy = self.policy;
        for object in PERSON_OBJECTS {
            let Some(obj) = config.objects.get_mut(object) else {
                continue;
            };
            obj.inbound.update = self.pull_person_updates;
            for m in obj
                .fields
                .iter_mut()
                .filter(|m| m.salesforce_field == "Title")
            {
                m.rule = self.title.sync_rule();
            }
        }
    }

    /// The spelling `--rules` accepts, e.g. `crm_wins,title=two_way,pull=on`.
    pub fn name(&self) -> String {
        format!(
            "{},title={},pull={}",
            policy_name(self.policy),
            self.title.name(),
            if self.pull_person_updates {
                "on"
            } else {
                "off"
            }
        )
    }

    /// `standard`, or a policy followed by `,title=…` and `,pull=on|off` (defaults: the
    /// standard config's).
    pub fn parse(text: &str) -> Result<Rules, String> {
        let mut out = Rules::STANDARD;
        for (i, part) in text.split(',').map(str::trim).enumerate() {
            match (i, part.split_once('=')) {
                (0, None) if part == "standard" => {}
                (0, None) => {
                    out.policy = match part {
                        "crm_wins" => ConflictPolicy::CrmWins,
                        "app_wins" => ConflictPolicy::AppWins,
                        "most_recent" => ConflictPolicy::MostRecent,
                        other => {
                            return Err(format!(
                                "unknown conflict policy {other:?} (crm_wins, app_wins, most_recent, standard)"
                            ));
                        }
                    }
                }
                (_, Some(("title", v))) => {
                    out.title = [TitleRule::TwoWay, TitleRule::CrmToApp, TitleRule::AppToCrm]
                        .into_iter()
                        .find(|t| t.name() == v)
                        .ok_or_else(|| {
                            format!("unknown title rule {v:?} (two_way, crm_to_app, app_to_crm)")
                        })?;
                }
                (_, Some(("pull", "on"))) => out.pull_person_updates = true,
                (_, Some(("pull", "off"))) => out.pull_person_updates = false,
                _ => return Err(format!("unknown rules part {part:?}")),
            }
        }
        Ok(out)
    }
}

pub fn policy_name(policy: ConflictPolicy) -> &'static str {
    match policy {
        ConflictPolicy::CrmWins => "crm_wins",
        ConflictPolicy::AppWins => "app_wins",
        ConflictPolicy::MostRecent => "most_recent",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_drawn_rule_set_spells_out_and_parses_back() {
        let mut seen = std::collections::BTreeSet::new();
        for seed in 0..200 {
            let rules = Rules::draw(seed);
            assert_eq!(Rules::parse(&rules.name()), Ok(rules));
            seen.insert(rules.name());
        }
        // 3 policies × 3 title rules × pull on/off.
        assert_eq!(seen.len(), 18, "{seen:?}");
        assert_eq!(Rules::parse("standard"), Ok(Rules::STANDARD));
        assert!(Rules::parse("newest_wins").is_err());
    }

    #[test]
    fn applied_rules_change_the_standard_config() {
        let rules = Rules::parse("app_wins,title=app_to_crm,pull=off").expect("rules");
        let mut config = SyncConfig::standard();
        rules.apply(&mut config);
        assert_eq!(config.conflict_policy, ConflictPolicy::AppWins);
        for object in PERSON_OBJECTS {
            let obj = config.object(object).expect("person object");
            assert!(!obj.inbound.update);
            let title = obj.mapping_for_sf("Title").expect("Title mapping");
            assert_eq!(title.rule, SyncRule::AppOnly);
        }
    }
}
