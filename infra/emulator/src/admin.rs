//! Test control: [`AdminHandle`] (typed, in-process) — the HTTP admin API in
//! [`crate::rest::admin_http`] calls the same methods.

use crate::error::EmulatorError;
use crate::faults::FaultSpec;
use crate::spec::{DuplicateRule, UserSpec, ValidationRule};
use crate::state::{AccessGrant, RefreshGrant, State};
use crate::writes::{self, WriteOpts};
use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};

/// A token pair minted for tests, shaped like the token endpoint's answer.
#[derive(Clone, Serialize)]
pub struct MintedTokens {
    pub access_token: String,
    pub refresh_token: String,
    pub instance_url: String,
    pub id: String,
}

impl std::fmt::Debug for MintedTokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MintedTokens")
            .field("access_token", &"<redacted>")
            .field("refresh_token", &"<redacted>")
            .field("instance_url", &self.instance_url)
            .field("id", &self.id)
            .finish()
    }
}

/// API usage of one org.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ApiUsage {
    pub used: u64,
    pub max: u64,
    /// Calls against the connected app's quota, when the org sets one.
    pub app_used: Option<u64>,
    pub app_max: Option<u64>,
    /// Calls per endpoint (e.g. `query`, `sobject.create`, `collections.update`, `oauth.token`).
    pub counters: BTreeMap<String, u64>,
}

/// One stored record as [`AdminHandle::records`] lists it: `(Id, fields, deleted)`.
pub type RecordRow = (String, Map<String, Value>, bool);

#[derive(Clone)]
pub struct AdminHandle {
    shared: Arc<Mutex<State>>,
}

impl std::fmt::Debug for AdminHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AdminHandle")
    }
}

fn admin_opts(stamp: Option<DateTime<Utc>>) -> WriteOpts {
    WriteOpts {
        user_id: None,
        stamp,
        admin: true,
    }
}

impl AdminHandle {
    pub(crate) fn new(shared: Arc<Mutex<State>>) -> Self {
        Self { shared }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock cannot leave half-written records (writes build
        // the record first and insert last), so a poisoned lock is still usable.
        self.shared.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn with_org<T>(
        &self,
        alias: &str,
        f: impl FnOnce(&mut State, usize) -> Result<T, EmulatorError>,
    ) -> Result<T, EmulatorError> {
        let mut st = self.lock();
        let idx = st.org_index(alias)?;
        f(&mut st, idx)
    }

    /// Aliases of the hosted orgs, in order (the first is the default login host).
    pub fn org_aliases(&self) -> Vec<String> {
        self.lock().orgs.iter().map(|o| o.alias.clone()).collect()
    }

    pub fn org_id(&self, alias: &str) -> Result<String, EmulatorError> {
        self.with_org(alias, |st, i| Ok(st.orgs[i].org_id.clone()))
    }

    pub fn user_id(&self, alias: &str, username: &str) -> Result<String, EmulatorError> {
        self.with_org(alias, |st, i| {
            st.orgs[i]
                .logins
                .get(&username.to_lowercase())
                .map(|(id, _)| id.clone())
                .or_else(|| {
                    st.orgs[i]
                        .store
                        .records("User")
                        .find(|r| {
                            r.get("Username")
                                .as_str()
                                .is_some_and(|u| u.eq_ignore_ascii_case(username))
                        })
                        .map(|r| r.id.clone())
                })
                .ok_or_else(|| EmulatorError::UnknownUser(username.to_string()))
        })
    }

    // ---- faults and limits ----

    pub fn set_faults(&self, alias: &str, faults: FaultSpec) -> Result<(), EmulatorError> {
        self.with_org(alias, |st, i| {
            st.orgs[i].faults = faults;
            Ok(())
        })
    }

    pub fn clear_faults(&self, alias: &str) -> Result<(), EmulatorError> {
        self.set_faults(alias, FaultSpec::default())
    }

    pub fn faults(&self, alias: &str) -> Result<FaultSpec, EmulatorError> {
        self.with_org(alias, |st, i| Ok(st.orgs[i].faults.clone()))
    }

    /// Invalidates every access and refresh token of the org (like a password reset).
    pub fn revoke_tokens(&self, alias: &str) -> Result<(), EmulatorError> {
        self.with_org(alias, |st, i| {
            st.access.retain(|_, g| g.org != i);
            st.refresh.retain(|_, g| g.org != i);
            Ok(())
        })
    }

    /// Spends the rest of today's API allowance: the next data call answers 403.
    pub fn exhaust_api_limit(&self, alias: &str) -> Result<(), EmulatorError> {
        self.with_org(alias, |st, i| {
            let now = st.clock.now();
            let max = st.orgs[i].settings.daily_api_limit;
            st.orgs[i].meter.set(now, max);
            Ok(())
        })
    }

    pub fn set_daily_limit(&self, alias: &str, max: u64) -> Result<(), EmulatorError> {
        self.with_org(alias, |st, i| {
            st.orgs[i].settings.daily_api_limit = max;
            Ok(())
        })
    }

    /// Sets the used count (e.g. 0 to start a fresh day).
    pub fn set_api_used(&self, alias: &str, used: u64) -> Result<(), EmulatorError> {
        self.with_org(alias, |st, i| {
            let now = st.clock.now();
            st.orgs[i].meter.set(now, used);
            Ok(())
        })
    }

    /// getUpdated/getDeleted answer `EXCEEDED_ID_LIMIT` above this many ids (default 600,000).
    pub fn set_change_id_limit(&self, alias: &str, n: usize) -> Result<(), EmulatorError> {
        self.with_org(alias, |st, i| {
            st.orgs[i].settings.change_id_limit = n;
            Ok(())
        })
    }

    /// Sets (or, with `None`, removes) the connected app's quota in this org.
    pub fn set_app_quota(
        &self,
        alias: &str,
        quota: Option<crate::spec::AppQuotaSpec>,
    ) -> Result<(), EmulatorError> {
        self.with_org(alias, |st, i| {
            st.orgs[i].settings.app_quota = quota;
            Ok(())
        })
    }

    /// Chooses the form of `Sforce-Limit-Info` the org sends.
    pub fn set_limit_header(
        &self,
        alias: &str,
        form: crate::spec::LimitHeaderForm,
    ) -> Result<(), EmulatorError> {
        self.with_org(alias, |st, i| {
            st.orgs[i].settings.limit_header = form;
            Ok(())
        })
    }

    pub fn api_usage(&self, alias: &str) -> Result<ApiUsage, EmulatorError> {
        self.with_org(alias, |st, i| {
            let o = &st.orgs[i];
            let quota = o.settings.app_quota.as_ref();
            Ok(ApiUsage {
                used: o.meter.used(st.clock.now()),
                max: o.settings.daily_api_limit,
                app_used: quota.map(|_| o.app_meter.used(st.clock.now())),
                app_max: quota.map(|q| q.max),
                counters: o.counters.clone(),
            })
        })
    }

    /// Calls counted for one endpoint name (0 when never called).
    pub fn api_count(&self, alias: &str, endpoint: &str) -> Result<u64, EmulatorError> {
        Ok(self
            .api_usage(alias)?
            .counters
            .get(endpoint)
            .copied()
            .unwrap_or(0))
    }

    pub fn reset_counters(&self, alias: &str) -> Result<(), EmulatorError> {
        self.with_org(alias, |st, i| {
            st.orgs[i].counters.clear();
            let now = st.clock.now();
            st.orgs[i].meter.set(now, 0);
            st.orgs[i].app_meter.set(now, 0);
            Ok(())
        })
    }

    // ---- settings and users ----

    pub fn set_refresh_rotation(&self, alias: &str, on: bool) -> Result<(), EmulatorError> {
        self.with_org(alias, |st, i| {
            st.orgs[i].settings.rotate_refresh_tokens = on;
            Ok(())
        })
    }

    /// Replaces the connected app's client secret (a secret rotation): token requests with
    /// the old secret get `invalid_client` until the client is given the new one.
    pub fn set_client_secret(&self, alias: &str, secret: &str) -> Result<(), EmulatorError> {
        self.with_org(alias, |st, i| {
            st.orgs[i].settings.client_secret = secret.to_owned();
            Ok(())
        })
    }

    pub fn set_auto_approve(&self, alias: &str, on: bool) -> Result<(), EmulatorError> {
        self.with_org(alias, |st, i| {
            st.orgs[i].settings.auto_approve = on;
            Ok(())
        })
    }

    /// Grants or takes away a user's Customize Application permission: without it, Tooling
    /// API metadata changes (`CustomField` create and delete) are refused.
    pub fn set_customize_application(
        &self,
        alias: &str,
        username: &str,
        on: bool,
    ) -> Result<(), EmulatorError> {
        let id = self.user_id(alias, username)?;
        self.with_org(alias, |st, i| {
            let denied = &mut st.orgs[i].no_customize_application;
            if on {
                denied.remove(&id);
            } else {
                denied.insert(id);
            }
            Ok(())
        })
    }

    pub fn add_user(&self, alias: &str, user: UserSpec) -> Result<String, EmulatorError> {
        self.with_org(alias, |st, i| crate::seed::add_user(st, i, &user))
    }

    pub fn add_validation_rule(&self, alias: &str, r: ValidationRule) -> Result<(), EmulatorError> {
        self.with_org(alias, |st, i| {
            st.orgs[i].validation_rules.push(r);
            Ok(())
        })
    }

    pub fn add_duplicate_rule(&self, alias: &str, r: DuplicateRule) -> Result<(), EmulatorError> {
        self.with_org(alias, |st, i| {
            st.orgs[i].duplicate_rules.push(r);
            Ok(())
        })
    }

    /// Issues tokens for a user without the OAuth dance.
    pub fn mint_tokens(&self, alias: &str, username: &str) -> Result<MintedTokens, EmulatorError> {
        let user_id = self.user_id(alias, username)?;
        self.with_org(alias, |st, i| {
            let client = st.orgs[i].settings.client_id.clone();
            let access = crate::oauth::new_access_token(st, i, &user_id);
            let refresh = crate::oauth::new_token_string(&st.orgs[i].org_id);
            st.refresh.insert(
                refresh.clone(),
                RefreshGrant {
                    org: i,
                    user_id: user_id.clone(),
                    client_id: client,
                },
            );
            Ok(MintedTokens {
                access_token: access,
                refresh_token: refresh,
                instance_url: st.base_url.clone(),
                id: format!("{}/id/{}/{}", st.base_url, st.orgs[i].org_id, user_id),
            })
        })
    }

    /// Makes an access token expire now (its refresh token keeps working).
    pub fn expire_access_token(&self, token: &str) {
        let mut st = self.lock();
        let now = st.clock.now();
        if let Some(AccessGrant { expires, .. }) = st.access.get_mut(token) {
            *expires = now - chrono::Duration::seconds(1);
        }
    }

    /// Makes every access token of the org expire now (their refresh tokens keep working):
    /// the next request of every worker refreshes.
    pub fn expire_access_tokens(&self, alias: &str) -> Result<(), EmulatorError> {
        self.with_org(alias, |st, i| {
            let now = st.clock.now();
            for grant in st.access.values_mut().filter(|g| g.org == i) {
                grant.expires = now - chrono::Duration::seconds(1);
            }
            Ok(())
        })
    }

    // ---- clock ----

    pub fn now(&self) -> DateTime<Utc> {
        self.lock().clock.now()
    }

    /// Moves emulated time forward; returns `false` (and changes nothing) when `by` would take
    /// the clock out of range.
    pub fn advance_clock(&self, by: std::time::Duration) -> bool {
        chrono::Duration::from_std(by).is_ok_and(|d| self.lock().clock.advance(d))
    }

    pub fn set_clock(&self, t: DateTime<Utc>) {
        self.lock().clock.set(t);
    }

    pub fn freeze_clock(&self, t: DateTime<Utc>) {
        self.lock().clock.freeze(t);
    }

    // ---- records (bypass API counting, validation and faults) ----

    pub fn insert_record(
        &self,
        alias: &str,
        object: &str,
        fields: Map<String, Value>,
    ) -> Result<String, EmulatorError> {
        self.with_org(alias, |st, i| {
            Ok(writes::create(st, i, object, &fields, &admin_opts(None))?)
        })
    }

    pub fn update_record(
        &self,
        alias: &str,
        object: &str,
        id: &str,
        fields: Map<String, Value>,
    ) -> Result<(), EmulatorError> {
        self.with_org(alias, |st, i| {
            Ok(writes::update(
                st,
                i,
                object,
                id,
                &fields,
                &admin_opts(None),
            )?)
        })
    }

    pub fn delete_record(&self, alias: &str, object: &str, id: &str) -> Result<(), EmulatorError> {
        self.with_org(alias, |st, i| {
            Ok(writes::delete(st, i, object, id, &admin_opts(None))?)
        })
    }

    /// Restores a deleted record (and only it, no cascade), as the Recycle Bin does; its
    /// `SystemModstamp` moves to now.
    pub fn undelete_record(
        &self,
        alias: &str,
        object: &str,
        id: &str,
    ) -> Result<(), EmulatorError> {
        self.with_org(alias, |st, i| {
            let def = writes::object_def(st, i, object)?;
            let now = crate::clock::sf_datetime(st.clock.now());
            let mut r = st.orgs[i].store.get_mut(&def.name, id).ok_or_else(|| {
                crate::error::ApiError::not_found(format!("no {object} {id} to undelete"))
            })?;
            r.deleted = false;
            r.deleted_at = None;
            r.fields.insert("IsDeleted".into(), Value::Bool(false));
            r.fields.insert("SystemModstamp".into(), Value::String(now));
            Ok(())
        })
    }

    /// Writes a record "late": it becomes visible now but carries an older
    /// `SystemModstamp`/`LastModifiedDate` (`stamp`). With `id` it updates, else it creates.
    pub fn commit_late(
        &self,
        alias: &str,
        object: &str,
        id: Option<&str>,
        fields: Map<String, Value>,
        stamp: DateTime<Utc>,
    ) -> Result<String, EmulatorError> {
        self.with_org(alias, |st, i| {
            let opts = admin_opts(Some(stamp));
            match id {
                Some(id) => {
                    writes::update(st, i, object, id, &fields, &opts)?;
                    Ok(id.to_string())
                }
                None => Ok(writes::create(st, i, object, &fields, &opts)?),
            }
        })
    }

    /// A system write: bumps only `SystemModstamp` (not `LastModifiedDate`); returns the stamp.
    pub fn touch_system(
        &self,
        alias: &str,
        object: &str,
        id: &str,
    ) -> Result<String, EmulatorError> {
        self.with_org(alias, |st, i| Ok(writes::touch_system(st, i, object, id)?))
    }

    /// Converts a Lead as the org's admin would in Salesforce's UI (new Account and
    /// Contact, an Opportunity when asked; not counted against the API).
    pub fn convert_lead(
        &self,
        alias: &str,
        lead_id: &str,
        create_opportunity: bool,
    ) -> Result<crate::soap::convert::Converted, EmulatorError> {
        self.with_org(alias, |st, i| {
            Ok(crate::soap::convert::convert_as_admin(
                st,
                i,
                lead_id,
                create_opportunity,
            )?)
        })
    }

    /// A record's stored fields (including deleted ones), or `None`.
    pub fn get_record(
        &self,
        alias: &str,
        object: &str,
        id: &str,
    ) -> Result<Option<Map<String, Value>>, EmulatorError> {
        self.with_org(alias, |st, i| {
            let name = st.orgs[i]
                .object(object)
                .map(|o| o.name.clone())
                .unwrap_or_default();
            Ok(st.orgs[i].store.get(&name, id).map(|r| r.fields.clone()))
        })
    }

    /// Every record of an object, deleted ones included, in Id (creation) order:
    /// `(Id, fields, deleted)`.
    pub fn records(&self, alias: &str, object: &str) -> Result<Vec<RecordRow>, EmulatorError> {
        self.with_org(alias, |st, i| {
            let name = st.orgs[i]
                .object(object)
                .map(|o| o.name.clone())
                .unwrap_or_default();
            Ok(st.orgs[i]
                .store
                .records(&name)
                .map(|r| (r.id.clone(), r.fields.clone(), r.deleted))
                .collect())
        })
    }

    /// The org's standard price book (every org has one).
    pub fn standard_price_book(&self, alias: &str) -> Result<String, EmulatorError> {
        self.with_org(alias, |st, i| {
            crate::pricing::standard_price_book(&st.orgs[i]).ok_or_else(|| EmulatorError::Seed {
                path: alias.to_string(),
                message: "no standard price book".into(),
            })
        })
    }

    /// Live (non-deleted) records of an object.
    /// Inserts many records under one lock (seeding large orgs); returns their Ids.
    pub fn insert_records(
        &self,
        alias: &str,
        object: &str,
        records: Vec<Map<String, Value>>,
    ) -> Result<Vec<String>, EmulatorError> {
        self.with_org(alias, |st, i| {
            let opts = admin_opts(None);
            records
                .iter()
                .map(|fields| Ok(writes::create(st, i, object, fields, &opts)?))
                .collect()
        })
    }

    /// Bulk API 2.0: how many status reads answer `InProgress` before a job completes
    /// (default 1; for every org).
    pub fn set_bulk_polls(&self, n: u32) {
        self.lock().bulk.polls_to_complete = Some(n);
    }

    /// An admin's Setup change to a field (its type, its picklist values), as the
    /// Metadata API or Setup would make it: describes show it at once; stored values are
    /// left as they were.
    pub fn alter_field(
        &self,
        alias: &str,
        object: &str,
        field: &str,
        change: impl FnOnce(&mut crate::schema::FieldDef),
    ) -> Result<(), EmulatorError> {
        self.with_org(alias, |st, i| {
            let unknown = || EmulatorError::Api {
                code: "INVALID_FIELD".into(),
                message: format!("No such column '{field}' on entity '{object}'"),
            };
            let def = st.orgs[i]
                .schema
                .values_mut()
                .find(|o| o.name.eq_ignore_ascii_case(object))
                .ok_or_else(unknown)?;
            let f = def
                .fields
                .iter_mut()
                .find(|f| f.name.eq_ignore_ascii_case(field))
                .ok_or_else(unknown)?;
            change(f);
            Ok(())
        })
    }

    /// Salesforce recomputing calculated fields (a formula whose inputs changed, a
    /// roll-up summary after a child's change): the values move, `SystemModstamp` and
    /// `LastModifiedDate` do not, so a poll by `SystemModstamp` cannot see it.
    pub fn recompute(
        &self,
        alias: &str,
        object: &str,
        id: &str,
        values: Map<String, Value>,
    ) -> Result<(), EmulatorError> {
        self.with_org(alias, |st, i| {
            let org = &mut st.orgs[i];
            let name =
                org.object(object)
                    .map(|o| o.name.clone())
                    .ok_or_else(|| EmulatorError::Api {
                        code: "INVALID_TYPE".into(),
                        message: format!("sObject type '{object}' is not supported."),
                    })?;
            let mut record = org
                .store
                .get_mut(&name, id)
                .ok_or_else(|| EmulatorError::Api {
                    code: "NOT_FOUND".into(),
                    message: format!("no {name} with id {id}"),
                })?;
            for (field, value) in values {
                record.fields.insert(field, value);
            }
            Ok(())
        })
    }

    /// A change crmsync's poll could not see: the values move, `SystemModstamp` and
    /// `LastModifiedDate` do not. Real Salesforce stamps every edit; this stands in for the
    /// edits a poll by `SystemModstamp` misses all the same (made before crmsync was
    /// connected, while a mapping was paused, or stamped behind a cursor that had moved on),
    /// which only a comparison of values finds (the drift check).
    pub fn silent_edit(
        &self,
        alias: &str,
        object: &str,
        id: &str,
        values: Map<String, Value>,
    ) -> Result<(), EmulatorError> {
        self.recompute(alias, object, id, values)
    }

    pub fn record_count(&self, alias: &str, object: &str) -> Result<usize, EmulatorError> {
        self.with_org(alias, |st, i| {
            let name = st.orgs[i]
                .object(object)
                .map(|o| o.name.clone())
                .unwrap_or_default();
            Ok(st.orgs[i]
                .store
                .records(&name)
                .filter(|r| !r.deleted)
                .count())
        })
    }
}
