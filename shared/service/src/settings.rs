//! Runtime settings read from the environment once per cold start.
//!
//! Every variable the code reads is named here and nowhere else, so the SAM template test
//! can check that each function gets what it reads (see `required_env`).

use std::collections::HashMap;

use crate::error::ServiceError;

pub const TABLE: &str = "CRMSYNC_TABLE";
pub const PUSH_QUEUE_URL: &str = "CRMSYNC_PUSH_QUEUE_URL";
pub const POLL_QUEUE_URL: &str = "CRMSYNC_POLL_QUEUE_URL";
pub const SWEEP_QUEUE_URL: &str = "CRMSYNC_SWEEP_QUEUE_URL";
pub const SECRET_PREFIX: &str = "CRMSYNC_SECRET_PREFIX";
pub const KMS_KEY_ID: &str = "CRMSYNC_KMS_KEY_ID";
pub const SF_APP_SECRET_ID: &str = "CRMSYNC_SF_APP_SECRET_ID";
pub const SF_LOGIN_URL: &str = "CRMSYNC_SF_LOGIN_URL";
pub const SF_SANDBOX_LOGIN_URL: &str = "CRMSYNC_SF_SANDBOX_LOGIN_URL";
pub const SF_API_VERSION: &str = "CRMSYNC_SF_API_VERSION";
pub const OAUTH_REDIRECT_URL: &str = "CRMSYNC_OAUTH_REDIRECT_URL";
pub const POLL_CAP: &str = "CRMSYNC_POLL_CAP";
pub const QUOTA_SHARE: &str = "CRMSYNC_QUOTA_SHARE";
pub const OPERATOR_KEY_SECRET_ID: &str = "CRMSYNC_OPERATOR_KEY_SECRET_ID";
pub const BULK_THRESHOLD: &str = "CRMSYNC_BULK_THRESHOLD";
pub const BULK_RUN_SECONDS: &str = "CRMSYNC_BULK_RUN_SECONDS";
pub const BULK_SET_RECORDS: &str = "CRMSYNC_BULK_SET_RECORDS";

/// The environment variables each function reads. Variables with defaults are listed too:
/// the template sets them explicitly so a deployer sees every knob.
pub fn required_env(function: &str) -> &'static [&'static str] {
    const SALESFORCE: [&str; 5] = [
        SF_APP_SECRET_ID,
        SF_LOGIN_URL,
        SF_SANDBOX_LOGIN_URL,
        SF_API_VERSION,
        QUOTA_SHARE,
    ];
    match function {
        "oauth" => &[
            TABLE,
            // Parked replay after a reconnect.
            PUSH_QUEUE_URL,
            SECRET_PREFIX,
            KMS_KEY_ID,
            SALESFORCE[0],
            SALESFORCE[1],
            SALESFORCE[2],
            SALESFORCE[3],
            SALESFORCE[4],
            OAUTH_REDIRECT_URL,
        ],
        "poll" => &[
            TABLE,
            POLL_QUEUE_URL,
            // Parked replay once the budget has room.
            PUSH_QUEUE_URL,
            SECRET_PREFIX,
            KMS_KEY_ID,
            SALESFORCE[0],
            SALESFORCE[1],
            SALESFORCE[2],
            SALESFORCE[3],
            SALESFORCE[4],
            POLL_CAP,
        ],
        "sweep" => &[
            TABLE,
            SWEEP_QUEUE_URL,
            SECRET_PREFIX,
            KMS_KEY_ID,
            SALESFORCE[0],
            SALESFORCE[1],
            SALESFORCE[2],
            SALESFORCE[3],
            SALESFORCE[4],
        ],
        "push" => &[
            TABLE,
            SECRET_PREFIX,
            KMS_KEY_ID,
            SALESFORCE[0],
            SALESFORCE[1],
            SALESFORCE[2],
            SALESFORCE[3],
            SALESFORCE[4],
        ],
        "report" => &[
            TABLE,
            PUSH_QUEUE_URL,
            SECRET_PREFIX,
            KMS_KEY_ID,
            SALESFORCE[0],
            SALESFORCE[1],
            SALESFORCE[2],
            SALESFORCE[3],
            SALESFORCE[4],
            OPERATOR_KEY_SECRET_ID,
        ],
        "ingest" => &[TABLE, PUSH_QUEUE_URL],
        _ => &[],
    }
}

/// Settings shared by every function; fields a function does not use keep their defaults.
#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    pub table: String,
    pub push_queue_url: String,
    pub poll_queue_url: String,
    pub sweep_queue_url: String,
    pub secret_prefix: String,
    pub kms_key_id: Option<String>,
    pub sf_app_secret_id: String,
    pub sf_login_url: String,
    pub sf_sandbox_login_url: String,
    pub sf_api_version: String,
    pub oauth_redirect_url: String,
    pub poll_cap: usize,
    pub quota_share: f64,
    pub operator_key_secret_id: Option<String>,
    /// Link pages (of 200) one sweep run checks in a reconcile by Id scan; the scan
    /// resumes from its checkpoint on the next run (not an environment variable).
    pub reconcile_pages_per_run: usize,
    /// A pull of more records than this goes through a Bulk API 2.0 query job.
    pub bulk_threshold: u64,
    /// How long one poll run works on a bulk job before it keeps a checkpoint and stops
    /// (under the poll function's timeout; the next run continues).
    pub bulk_run_budget: std::time::Duration,
    /// Rows per bulk result set (`maxRecords`).
    pub bulk_set_records: u32,
    /// Ingest, parked replay and re-push append events to the connection's push outbox and
    /// nudge the push queue (README "Batching design"); off, each event is its own queue
    /// message, as before the outbox (not an environment variable: tests of that path,
    /// which still serves messages sent before the outbox, turn it off).
    pub push_outbox: bool,
    /// Whether a new connection starts with its sync on. Off by default (seed 000: "never
    /// run a full sync first"): the admin runs a test sync, fixes the mappings and turns
    /// the sync on (`POST /v1/connections/{c}/sync`). Not an environment variable: test
    /// harnesses whose scenarios start syncing at connect turn it on.
    pub sync_on_connect: bool,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            table: "crmsync".into(),
            push_queue_url: String::new(),
            poll_queue_url: String::new(),
            sweep_queue_url: String::new(),
            secret_prefix: "crmsync/".into(),
            kms_key_id: None,
            // Outside the `crmsync/` token prefix, as the README advises.
            sf_app_secret_id: "crmsync-app/salesforce".into(),
            sf_login_url: "https://login.salesforce.com".into(),
            sf_sandbox_login_url: "https://test.salesforce.com".into(),
            sf_api_version: "62.0".into(),
            oauth_redirect_url: String::new(),
            poll_cap: 1000,
            quota_share: 0.5,
            operator_key_secret_id: None,
            // 50,000 links and 250 queries a run: a 300,000-link org takes 6 runs.
            reconcile_pages_per_run: 250,
            bulk_threshold: 2_000,
            bulk_run_budget: std::time::Duration::from_secs(40),
            bulk_set_records: 50_000,
            push_outbox: true,
            sync_on_connect: false,
        }
    }
}

impl Settings {
    /// Reads the process environment.
    pub fn from_env() -> Result<Self, ServiceError> {
        Self::from_map(&std::env::vars().collect())
    }

    /// Reads settings from a map (the environment, or a test's fixture). Empty values count
    /// as unset. Bad numbers are reported by variable name.
    pub fn from_map(vars: &HashMap<String, String>) -> Result<Self, ServiceError> {
        let get = |key: &str| vars.get(key).filter(|v| !v.trim().is_empty()).cloned();
        let defaults = Self::default();
        let poll_cap = match get(POLL_CAP) {
            Some(v) => v
                .parse::<usize>()
                .ok()
                .filter(|n| (1..=50_000).contains(n))
                .ok_or_else(|| {
                    ServiceError::settings(POLL_CAP, "a whole number from 1 to 50000")
                })?,
            None => defaults.poll_cap,
        };
        let quota_share = match get(QUOTA_SHARE) {
            Some(v) => v
                .parse::<f64>()
                .ok()
                .filter(|n| *n > 0.0 && *n <= 1.0)
                .ok_or_else(|| ServiceError::settings(QUOTA_SHARE, "a fraction in (0, 1]"))?,
            None => defaults.quota_share,
        };
        let number = |key: &'static str, default: u64, max: u64| -> Result<u64, ServiceError> {
            match get(key) {
                Some(v) => v
                    .parse::<u64>()
                    .ok()
                    .filter(|n| *n <= max)
                    .ok_or_else(|| ServiceError::settings(key, "a whole number in range")),
                None => Ok(default),
            }
        };
        let bulk_threshold = number(BULK_THRESHOLD, defaults.bulk_threshold, u64::MAX)?;
        let bulk_run_budget = std::time::Duration::from_secs(number(
            BULK_RUN_SECONDS,
            defaults.bulk_run_budget.as_secs(),
            900,
        )?);
        let bulk_set_records = number(
            BULK_SET_RECORDS,
            defaults.bulk_set_records.into(),
            1_000_000,
        )?
        .max(1) as u32;
        let api_version = get(SF_API_VERSION).unwrap_or(defaults.sf_api_version);
        if !is_api_version(&api_version) {
            return Err(ServiceError::settings(
                SF_API_VERSION,
                "a version like 62.0",
            ));
        }
        Ok(Self {
            table: get(TABLE).unwrap_or(defaults.table),
            push_queue_url: get(PUSH_QUEUE_URL).unwrap_or_default(),
            poll_queue_url: get(POLL_QUEUE_URL).unwrap_or_default(),
            sweep_queue_url: get(SWEEP_QUEUE_URL).unwrap_or_default(),
            secret_prefix: get(SECRET_PREFIX).unwrap_or(defaults.secret_prefix),
            kms_key_id: get(KMS_KEY_ID),
            sf_app_secret_id: get(SF_APP_SECRET_ID).unwrap_or(defaults.sf_app_secret_id),
            sf_login_url: get(SF_LOGIN_URL).unwrap_or(defaults.sf_login_url),
            sf_sandbox_login_url: get(SF_SANDBOX_LOGIN_URL)
                .unwrap_or(defaults.sf_sandbox_login_url),
            sf_api_version: api_version,
            oauth_redirect_url: get(OAUTH_REDIRECT_URL).unwrap_or_default(),
            poll_cap,
            quota_share,
            operator_key_secret_id: get(OPERATOR_KEY_SECRET_ID),
            reconcile_pages_per_run: defaults.reconcile_pages_per_run,
            bulk_threshold,
            bulk_run_budget,
            bulk_set_records,
            push_outbox: defaults.push_outbox,
            sync_on_connect: defaults.sync_on_connect,
        })
    }
}

fn is_api_version(v: &str) -> bool {
    let mut parts = v.split('.');
    matches!(
        (parts.next(), parts.next(), parts.next()),
        (Some(major), Some("0"), None) if !major.is_empty() && major.chars().all(|c| c.is_ascii_digit())
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn defaults_apply_when_unset_or_empty() {
        let s = Settings::from_map(&vars(&[(POLL_CAP, " ")])).unwrap();
        assert_eq!(s.poll_cap, 1000);
        assert_eq!(s.sf_api_version, "62.0");
        assert_eq!(s.secret_prefix, "crmsync/");
    }

    #[test]
    fn bad_numbers_name_the_variable() {
        let err = Settings::from_map(&vars(&[(POLL_CAP, "lots")])).unwrap_err();
        assert!(err.to_string().contains(POLL_CAP), "{err}");
        let err = Settings::from_map(&vars(&[(QUOTA_SHARE, "1.5")])).unwrap_err();
        assert!(err.to_string().contains(QUOTA_SHARE), "{err}");
        let err = Settings::from_map(&vars(&[(SF_API_VERSION, "v62")])).unwrap_err();
        assert!(err.to_string().contains(SF_API_VERSION), "{err}");
    }

    #[test]
    fn every_function_reads_the_table_and_unknown_ones_nothing() {
        for f in ["oauth", "poll", "push", "sweep", "report", "ingest"] {
            assert!(required_env(f).contains(&TABLE), "{f}");
        }
        assert!(required_env("nope").is_empty());
    }
}
