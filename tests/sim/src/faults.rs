//! Fault kinds, the categories that switch them on, and the faults a step carries.

use std::collections::{BTreeMap, BTreeSet};

/// Every fault kind, by the name it is counted and switched under.
pub const SF_KINDS: [&str; 10] = [
    "sf_5xx",
    "sf_503",
    "sf_unable_to_lock_row",
    "sf_latency",
    "sf_expired_session",
    "sf_commit_then_lose_response",
    "sf_api_limit_exhausted",
    "sf_tokens_revoked",
    "sf_refresh_rotation_race",
    "sf_invalid_client_secret_rotation",
];
pub const STORE_KINDS: [&str; 3] = [
    "store_fail_before_commit",
    "store_commit_then_fail",
    "store_throttled",
];
pub const WORKER_KINDS: [&str; 4] = [
    "worker_killed",
    "message_redelivered",
    "lease_expiry_race",
    "push_visibility_race",
];

/// The fault kinds a run may inject. Parsed from a comma list of categories (`none`, `sf`,
/// `store`, `workers`, `all`), kind names, and `-kind` / `-category` to remove some, e.g.
/// `all,-sf_api_limit_exhausted`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct FaultSet {
    kinds: BTreeSet<&'static str>,
}

fn all_kinds() -> impl Iterator<Item = &'static str> {
    SF_KINDS.into_iter().chain(STORE_KINDS).chain(WORKER_KINDS)
}

impl FaultSet {
    pub fn none() -> Self {
        Self::default()
    }

    pub fn all() -> Self {
        Self {
            kinds: all_kinds().collect(),
        }
    }

    pub fn parse(text: &str) -> Result<Self, String> {
        let mut out = Self::none();
        for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (remove, name) = match part.strip_prefix('-') {
                Some(rest) => (true, rest),
                None => (false, part),
            };
            let kinds: Vec<&'static str> = match name {
                "none" => Vec::new(),
                "all" => all_kinds().collect(),
                "sf" | "salesforce" => SF_KINDS.to_vec(),
                "store" => STORE_KINDS.to_vec(),
                "workers" => WORKER_KINDS.to_vec(),
                kind => match all_kinds().find(|k| *k == kind) {
                    Some(k) => vec![k],
                    None => {
                        return Err(format!(
                            "unknown fault {kind:?}: none, sf, store, workers, all, or one of {:?}",
                            all_kinds().collect::<Vec<_>>()
                        ));
                    }
                },
            };
            for k in kinds {
                if remove {
                    out.kinds.remove(k);
                } else {
                    out.kinds.insert(k);
                }
            }
        }
        Ok(out)
    }

    pub fn allows(&self, kind: &str) -> bool {
        self.kinds.contains(kind)
    }

    pub fn any(&self) -> bool {
        !self.kinds.is_empty()
    }

    /// The canonical spelling, accepted by [`FaultSet::parse`].
    pub fn name(&self) -> String {
        if self.kinds.is_empty() {
            return "none".into();
        }
        let all = Self::all();
        if *self == all {
            return "all".into();
        }
        let missing: Vec<&str> = all.kinds.difference(&self.kinds).copied().collect();
        if missing.len() < self.kinds.len() {
            let mut parts = vec!["all".to_string()];
            parts.extend(missing.iter().map(|k| format!("-{k}")));
            return parts.join(",");
        }
        self.kinds.iter().copied().collect::<Vec<_>>().join(",")
    }
}

/// A Salesforce fault, set on the org for one worker run and cleared after it.
#[derive(Debug, Clone, PartialEq)]
pub enum SfFault {
    /// A share (per mille) of data requests answer 500 or 503.
    ServerError { status: u16, per_mille: u16 },
    /// A share of writes answer `UNABLE_TO_LOCK_ROW`.
    LockRow { per_mille: u16 },
    /// Every access token of the org expires (the session expired early): the next request
    /// of each worker answers 401 and refreshes.
    ExpiredSession,
    /// A share of writes commit, then lose their response (500).
    CommitLost { per_mille: u16 },
    /// The org's daily API limit is spent (reset by a later step or at quiescence).
    ApiLimitExhausted,
    /// Every token of the org is revoked (the user revoked the app); a later `Reconnect`
    /// step, or settling, reconnects.
    TokensRevoked,
    /// Every data request waits `ms` first (above the client's 60 s timeout: the request
    /// times out).
    Latency { ms: u32 },
    /// Refresh-token rotation is on and the access token is expired: the faulted worker and
    /// a second worker (another Lambda, its own token cache) refresh at the same time.
    RefreshRotationRace,
    /// The connected app's secret rotates in the org and the access token expires: the
    /// refresh answers `invalid_client` until the app holds the new secret (after the run).
    ClientSecretRotated,
}

/// A fault attached to one worker run (push drain, poll or sweep).
#[derive(Debug, Clone, PartialEq)]
pub enum Fault {
    Salesforce(SfFault),
    /// The store call number `at_call` of the run fails; before its write or after it.
    Store {
        at_call: u32,
        after_commit: bool,
    },
    /// The worker is killed at store call number `at_call` (the future is dropped there,
    /// as a Lambda timeout does); its messages come back after the visibility timeout.
    WorkerKilled {
        at_call: u32,
    },
    /// The worker finishes but its acknowledgements are lost: every message comes back.
    Redelivery,
    /// A share (per mille) of the run's store calls are refused as throttled.
    StoreThrottled {
        per_mille: u16,
    },
    /// At store call number `at_call` a poll or sweep stalls past its connection lease
    /// (5 / 10 minutes) and a second one starts on the connection; both run on, interleaved.
    LeaseExpiryRace {
        at_call: u32,
    },
    /// The same for a push worker and its messages' visibility timeout: a second push worker
    /// receives the batch the first is still pushing. Impossible on AWS (the push Lambda's
    /// 120 s timeout is below the queue's 720 s visibility timeout); possible on the embedded
    /// queue (30 s).
    VisibilityExpiryRace {
        at_call: u32,
    },
}

impl Fault {
    /// The name faults are counted under.
    pub fn kind(&self) -> &'static str {
        match self {
            Fault::Salesforce(SfFault::ServerError { status: 503, .. }) => "sf_503",
            Fault::Salesforce(SfFault::ServerError { .. }) => "sf_5xx",
            Fault::Salesforce(SfFault::LockRow { .. }) => "sf_unable_to_lock_row",
            Fault::Salesforce(SfFault::ExpiredSession) => "sf_expired_session",
            Fault::Salesforce(SfFault::CommitLost { .. }) => "sf_commit_then_lose_response",
            Fault::Salesforce(SfFault::ApiLimitExhausted) => "sf_api_limit_exhausted",
            Fault::Salesforce(SfFault::TokensRevoked) => "sf_tokens_revoked",
            Fault::Salesforce(SfFault::Latency { .. }) => "sf_latency",
            Fault::Salesforce(SfFault::RefreshRotationRace) => "sf_refresh_rotation_race",
            Fault::Salesforce(SfFault::ClientSecretRotated) => "sf_invalid_client_secret_rotation",
            Fault::Store {
                after_commit: false,
                ..
            } => "store_fail_before_commit",
            Fault::Store {
                after_commit: true, ..
            } => "store_commit_then_fail",
            Fault::WorkerKilled { .. } => "worker_killed",
            Fault::Redelivery => "message_redelivered",
            Fault::StoreThrottled { .. } => "store_throttled",
            Fault::LeaseExpiryRace { .. } => "lease_expiry_race",
            Fault::VisibilityExpiryRace { .. } => "push_visibility_race",
        }
    }
}

/// Faults injected, per kind.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FaultCounts(pub BTreeMap<&'static str, u64>);

impl FaultCounts {
    pub fn add(&mut self, kind: &'static str) {
        *self.0.entry(kind).or_default() += 1;
    }
    pub fn merge(&mut self, other: &FaultCounts) {
        for (k, v) in &other.0 {
            *self.0.entry(k).or_default() += v;
        }
    }
    pub fn total(&self) -> u64 {
        self.0.values().sum()
    }
}
