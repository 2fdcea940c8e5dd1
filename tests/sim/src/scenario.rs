//! Scenario steps, the behaviours a profile turns on, and the random step generator.

use rand::Rng;
use rand::rngs::StdRng;

use crate::faults::{Fault, FaultSet, SfFault};
use crate::model::Model;

/// A burst has at least this many records: more than one poll reads.
const SIM_BURST_MIN: usize = crate::runner::SIM_POLL_CAP + 1;

/// Which behaviours the generator uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Profile {
    /// Demo sets and sales (Contact, Account, Opportunity, line items).
    pub demo_and_sale: bool,
    /// With demo sets and sales: a contact goes through more than one demo cycle (a second
    /// demo set, a sale after a sale), each with its own Opportunity.
    pub repeat_cycles: bool,
    /// Salesforce users edit Accounts and Opportunities linked under a contact's push.
    pub account_and_deal_edits: bool,
    /// Salesforce users delete (and undelete) person records; sweeps run.
    pub deletes_and_sweeps: bool,
    /// Some app records have no email (matched by phone only).
    pub records_without_email: bool,
    /// Salesforce holds a person's phone formatted differently from the app.
    pub phone_variants: bool,
    /// Salesforce users create more records at one instant than a poll reads (the sim's
    /// poll cap is [`crate::runner::SIM_POLL_CAP`]), some of them committed late.
    pub bursts: bool,
    /// The tenant's rules: each seed draws a conflict policy, the person Title's direction
    /// and the person pull toggle ([`crate::rules::Rules::draw`]). Not in `full` (its seeds
    /// replay as before).
    pub rules: bool,
    /// With `rules`: the app edits Titles too, so both sides edit one field and the policy
    /// decides. Not in CI yet: it finds open defects (`tests/sim/README.md`).
    pub contested: bool,
    /// The connection is provisioned at setup (issue 12): creates upsert by crmsync's key
    /// field `Crmsync_App_Id__c` and matching tries the key first. Not in `full`.
    pub provisioned: bool,
    /// The app changes owners, Salesforce users reassign person records, some contacts
    /// keep their owner (`keep_owner_field`); owners map by email (`crate::owners`). Not
    /// in `full` (its seeds replay as before).
    pub owners: bool,
    /// Each seed draws the tenant's create/update toggles per object and direction
    /// (`crate::toggles`). Not in `full`.
    pub toggles: bool,
    /// The app logs calls and emails (Tasks), re-sends some (`crate::activities`). Not in
    /// `full`.
    pub activities: bool,
}

/// Each profile feature by the name `--profile` adds (`+name`) or removes (`-name`) it.
const FEATURES: [&str; 13] = [
    "demo_and_sale",
    "repeat_cycles",
    "account_and_deal_edits",
    "deletes_and_sweeps",
    "records_without_email",
    "phone_variants",
    "bursts",
    "rules",
    "contested",
    "provisioned",
    "owners",
    "toggles",
    "activities",
];

impl Profile {
    /// The first profile: creates and updates of Leads, Salesforce edits with ties and late
    /// commits, polls.
    pub const TODAY: Profile = Profile {
        demo_and_sale: false,
        repeat_cycles: false,
        account_and_deal_edits: false,
        deletes_and_sweeps: false,
        records_without_email: false,
        phone_variants: false,
        bursts: false,
        rules: false,
        contested: false,
        provisioned: false,
        owners: false,
        toggles: false,
        activities: false,
    };
    /// Everything the simulation can do but the drawn rules (`full+rules` adds them).
    pub const FULL: Profile = Profile {
        demo_and_sale: true,
        repeat_cycles: true,
        account_and_deal_edits: true,
        deletes_and_sweeps: true,
        records_without_email: true,
        phone_variants: true,
        bursts: true,
        rules: false,
        contested: false,
        provisioned: false,
        owners: false,
        toggles: false,
        activities: false,
    };

    fn feature(&mut self, name: &str) -> Option<&mut bool> {
        Some(match name {
            "demo_and_sale" => &mut self.demo_and_sale,
            "repeat_cycles" => &mut self.repeat_cycles,
            "account_and_deal_edits" => &mut self.account_and_deal_edits,
            "deletes_and_sweeps" => &mut self.deletes_and_sweeps,
            "records_without_email" => &mut self.records_without_email,
            "phone_variants" => &mut self.phone_variants,
            "bursts" => &mut self.bursts,
            "rules" => &mut self.rules,
            "contested" => &mut self.contested,
            "provisioned" => &mut self.provisioned,
            "owners" => &mut self.owners,
            "toggles" => &mut self.toggles,
            "activities" => &mut self.activities,
            _ => return None,
        })
    }

    /// `today` or `full`, then `+feature` / `-feature`, e.g. `today+bursts+phone_variants`.
    pub fn parse(text: &str) -> Result<Self, String> {
        let split = text.find(['+', '-']).unwrap_or(text.len());
        let mut profile = match &text[..split] {
            "today" => Self::TODAY,
            "full" => Self::FULL,
            other => return Err(format!("unknown profile {other:?} (today, full)")),
        };
        let mut rest = &text[split..];
        while let Some(sign) = rest.chars().next() {
            let body = &rest[1..];
            let end = body.find(['+', '-']).unwrap_or(body.len());
            let name = &body[..end];
            let Some(flag) = profile.feature(name) else {
                return Err(format!(
                    "unknown profile feature {name:?}: one of {FEATURES:?}"
                ));
            };
            *flag = sign == '+';
            rest = &body[end..];
        }
        Ok(profile)
    }

    /// The canonical spelling, accepted by [`Profile::parse`].
    pub fn name(&self) -> String {
        if *self == Self::FULL {
            return "full".into();
        }
        for (name, rules, contested) in [
            ("full+rules", true, false),
            ("full+rules+contested", true, true),
        ] {
            if *self
                == (Profile {
                    rules,
                    contested,
                    ..Self::FULL
                })
            {
                return name.into();
            }
        }
        let mut out = "today".to_string();
        let mut this = *self;
        for name in FEATURES {
            if *this.feature(name).expect("a feature") {
                out.push('+');
                out.push_str(name);
            }
        }
        out
    }
}

/// One step of a scenario. Targets are app record indexes.
#[derive(Debug, Clone, PartialEq)]
pub enum Step {
    /// The app creates a contact (a Lead while it is in a cold-call phase).
    AppCreate { app: usize },
    /// The app changes a contact's first name.
    AppUpdate { app: usize },
    /// The app changes a contact's Title (profile feature `rules`).
    AppTitle { app: usize },
    /// The app gives a contact another owner (app user `APP_USERS[user]`, profile feature
    /// `owners`).
    AppOwner { app: usize, user: usize },
    /// The app logs a call (or an email) about a contact, or re-sends its latest one
    /// (profile feature `activities`).
    AppActivity {
        app: usize,
        resend: bool,
        email: bool,
    },
    /// A Salesforce user reassigns the app contact's person record to org user
    /// `APP_USERS[user]` (profile feature `owners`).
    SfReassign { app: usize, user: usize },
    /// A demo set moving the contact to the held phase: Contact, Account, a new Opportunity.
    AppDemoSet { app: usize },
    /// A sale with `items` line items; closes the open cycle's Opportunity.
    AppSale { app: usize, items: usize },
    /// A Salesforce user sets the Title of the app contact's person record, optionally
    /// committed late (visible now, stamped `late_by_secs` ago).
    SfEditPerson {
        app: usize,
        title: String,
        late_by_secs: Option<u32>,
    },
    /// A Salesforce user sets the Website of the Account of the app contact.
    SfEditAccount { app: usize, website: String },
    /// A Salesforce user sets the LeadSource of the app contact's latest Opportunity.
    SfEditDeal { app: usize, lead_source: String },
    /// A Salesforce user creates a Contact of their own.
    SfCreateContact { n: usize },
    /// A Salesforce user creates a Lead for the app contact before the app does, with the
    /// phone formatted differently (the app's create should match it, not duplicate it).
    SfPreexistingLead { app: usize },
    /// A Salesforce user deletes the app contact's person record.
    SfDelete { app: usize },
    /// A Salesforce user restores the deleted person record of the app contact.
    SfUndelete { app: usize },
    /// Salesforce users create `n` Contacts at one instant (more than one poll reads),
    /// committed late by `late_by_secs` (behind the poll cursor) or not.
    SfBurst { n: usize, late_by_secs: Option<u32> },
    /// The Salesforce org's API allowance frees up again (a new day).
    SfApiLimitReset,
    /// The tenant's admin reconnects the connection, if it needs a reconnect.
    Reconnect,
    /// Time passes (0: the next writes tie on SystemModstamp).
    Advance { secs: u32 },
    /// One push worker invocation: receive up to 10 messages, push them, acknowledge.
    DrainPush { fault: Option<Fault> },
    /// One poll of the connection.
    Poll { fault: Option<Fault> },
    /// One deletion sweep of the connection.
    Sweep { fault: Option<Fault> },
}

/// Draws the next step.
pub fn next_step(rng: &mut StdRng, model: &Model, profile: &Profile, faults: &FaultSet) -> Step {
    let n = model.records.len();
    let app = rng.random_range(0..n);
    let record = &model.records[app];
    let roll = rng.random_range(0..100u32);
    match roll {
        0..=34 => app_step(rng, model, profile, app),
        35..=49 => {
            if !record.created || record.deleted_in_sf {
                return Step::AppCreate {
                    app: first_uncreated(model).unwrap_or(app),
                };
            }
            let kind = rng.random_range(0..100u32);
            match kind {
                0..=9 if profile.deletes_and_sweeps => Step::SfDelete { app },
                10..=17 if profile.deletes_and_sweeps => Step::SfUndelete { app },
                18..=29 if profile.account_and_deal_edits => Step::SfEditAccount {
                    app,
                    website: format!("https://w{}.example", rng.random_range(0..1000u32)),
                },
                30..=39 if profile.account_and_deal_edits => Step::SfEditDeal {
                    app,
                    lead_source: ["Web", "Phone Inquiry", "Partner Referral"]
                        [rng.random_range(0..3usize)]
                    .into(),
                },
                50..=64 if profile.owners => Step::SfReassign {
                    app,
                    user: rng.random_range(0..crate::owners::APP_USERS.len()),
                },
                40..=49 => Step::SfCreateContact {
                    n: rng.random_range(0..1000),
                },
                _ => Step::SfEditPerson {
                    app,
                    title: format!("Title-{}", rng.random_range(0..1000u32)),
                    late_by_secs: rng.random_bool(0.3).then(|| rng.random_range(1..=290u32)),
                },
            }
        }
        50..=64 => Step::DrainPush {
            fault: maybe_fault(rng, faults, FaultTarget::Push),
        },
        65..=76 => Step::Poll {
            fault: maybe_fault(rng, faults, FaultTarget::Poll),
        },
        77..=80 if profile.deletes_and_sweeps => Step::Sweep {
            fault: maybe_fault(rng, faults, FaultTarget::Poll),
        },
        81..=82 if faults.allows("sf_api_limit_exhausted") => Step::SfApiLimitReset,
        83..=84 if faults.allows("sf_tokens_revoked") => Step::Reconnect,
        85..=87 if profile.bursts => Step::SfBurst {
            n: rng.random_range(SIM_BURST_MIN..=SIM_BURST_MIN + 8),
            late_by_secs: rng.random_bool(0.4).then(|| rng.random_range(1..=290u32)),
        },
        _ => Step::Advance {
            secs: [0, 0, 1, 5, 31, 61, 400][rng.random_range(0..7usize)],
        },
    }
}

fn first_uncreated(model: &Model) -> Option<usize> {
    model.records.iter().position(|r| !r.created)
}

fn app_step(rng: &mut StdRng, model: &Model, profile: &Profile, app: usize) -> Step {
    let record = &model.records[app];
    if !record.created {
        if profile.phone_variants && rng.random_bool(0.2) {
            return Step::SfPreexistingLead { app };
        }
        return Step::AppCreate { app };
    }
    if record.deleted_in_sf {
        return match first_uncreated(model) {
            Some(app) => Step::AppCreate { app },
            None => Step::Advance { secs: 1 },
        };
    }
    let roll = rng.random_range(0..100u32);
    let new_cycle_allowed = profile.repeat_cycles || record.cycles == 0;
    match roll {
        0..=19 if profile.demo_and_sale && new_cycle_allowed => Step::AppDemoSet { app },
        20..=34
            if profile.demo_and_sale
                && (record.open_cycle || record.cycles == 0)
                && (new_cycle_allowed || record.sales == 0) =>
        {
            Step::AppSale {
                app,
                items: rng.random_range(0..=3),
            }
        }
        35..=44 if profile.owners => Step::AppOwner {
            app,
            user: rng.random_range(0..crate::owners::APP_USERS.len()),
        },
        45..=59 if profile.activities => Step::AppActivity {
            app,
            resend: rng.random_bool(0.3),
            email: rng.random_bool(0.5),
        },
        70.. if profile.rules && profile.contested => Step::AppTitle { app },
        _ => Step::AppUpdate { app },
    }
}

#[derive(Clone, Copy, PartialEq)]
enum FaultTarget {
    Push,
    Poll,
}

fn maybe_fault(rng: &mut StdRng, on: &FaultSet, target: FaultTarget) -> Option<Fault> {
    if !on.any() || !rng.random_bool(0.35) {
        return None;
    }
    let per_mille = rng.random_range(100..=600u16);
    let at_call = rng.random_range(0..40u32);
    let mut choices = vec![
        Fault::Salesforce(SfFault::ServerError {
            status: 500,
            per_mille,
        }),
        Fault::Salesforce(SfFault::ServerError {
            status: 503,
            per_mille,
        }),
        Fault::Salesforce(SfFault::LockRow { per_mille }),
        Fault::Salesforce(SfFault::ExpiredSession),
        Fault::Salesforce(SfFault::CommitLost { per_mille }),
        Fault::Salesforce(SfFault::ApiLimitExhausted),
        Fault::Salesforce(SfFault::TokensRevoked),
        Fault::Salesforce(SfFault::Latency {
            // From the share already drawn: adding this kind changes no other draw.
            ms: [250, 3_000, 61_000][usize::from(per_mille % 3)],
        }),
        Fault::Salesforce(SfFault::RefreshRotationRace),
        Fault::Salesforce(SfFault::ClientSecretRotated),
        Fault::StoreThrottled { per_mille },
        Fault::Store {
            at_call,
            after_commit: false,
        },
        Fault::Store {
            at_call,
            after_commit: true,
        },
        Fault::WorkerKilled { at_call },
    ];
    if target == FaultTarget::Push {
        choices.push(Fault::Redelivery);
        choices.push(Fault::VisibilityExpiryRace { at_call });
    } else {
        choices.push(Fault::LeaseExpiryRace { at_call });
    }
    choices.retain(|f| on.allows(f.kind()));
    if choices.is_empty() {
        return None;
    }
    let i = rng.random_range(0..choices.len());
    Some(choices.swap_remove(i))
}
