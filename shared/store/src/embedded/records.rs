//! Table-like ports of the embedded store.

use std::collections::BTreeMap;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};

use super::EmbeddedStore;
use super::state::key;
use crate::error::{StoreError, StoreResult};
use crate::ids::{ConnectionId, TenantId};
use crate::model::*;
use crate::ports::*;
use crate::util::{check_parts, check_position, expiry, millis};

fn page_of<T: Clone>(
    items: impl Iterator<Item = (String, T)>,
    page: &PageRequest,
) -> StoreResult<Page<T>> {
    let after = match &page.token {
        Some(t) => Some(decode_token(t)?),
        None => None,
    };
    let limit = page.effective_limit();
    let mut out = Vec::new();
    let mut last_key = None;
    let mut more = false;
    for (k, v) in items {
        if after.as_ref().is_some_and(|a| k.as_str() <= a.as_str()) {
            continue;
        }
        if out.len() == limit {
            more = true;
            break;
        }
        last_key = Some(k);
        out.push(v);
    }
    let next = if more {
        last_key.map(|k| PageToken(encode_token(&k)))
    } else {
        None
    };
    Ok(Page { items: out, next })
}

fn encode_token(k: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(k)
}

fn decode_token(t: &PageToken) -> StoreResult<String> {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(&t.0)
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
        .ok_or_else(|| StoreError::invalid("page token", "not a token this store issued"))
}

#[async_trait]
impl ConnectionStore for EmbeddedStore {
    async fn get(&self, tenant: &TenantId, id: &ConnectionId) -> StoreResult<Option<Connection>> {
        let k = key(&[tenant.as_str(), id.as_str()]);
        Ok(self.read(|s, _| s.connections.get(&k).cloned()).await)
    }

    async fn put(&self, connection: &Connection) -> StoreResult<()> {
        let k = key(&[connection.tenant.as_str(), connection.id.as_str()]);
        // Stored times have millisecond precision, as in DynamoDB.
        let mut c = connection.clone();
        c.created_at = millis(c.created_at);
        c.updated_at = millis(c.updated_at);
        c.last_sync_at = c.last_sync_at.map(millis);
        self.write(|s, _| {
            s.connections.insert(k, c);
            Ok(())
        })
        .await
    }

    async fn list_for_tenant(&self, tenant: &TenantId) -> StoreResult<Vec<Connection>> {
        Ok(self
            .read(|s, _| {
                s.connections
                    .values()
                    .filter(|c| &c.tenant == tenant)
                    .cloned()
                    .collect()
            })
            .await)
    }

    async fn list_all(&self, page: &PageRequest) -> StoreResult<Page<Connection>> {
        self.read(|s, _| {
            page_of(
                s.connections.iter().map(|(k, v)| (k.clone(), v.clone())),
                page,
            )
        })
        .await
    }

    async fn update_status(
        &self,
        tenant: &TenantId,
        id: &ConnectionId,
        expected: Option<ConnectionStatus>,
        status: ConnectionStatus,
        last_error: Option<String>,
    ) -> StoreResult<Connection> {
        let k = key(&[tenant.as_str(), id.as_str()]);
        self.write(|s, now| {
            let c = s
                .connections
                .get_mut(&k)
                .ok_or_else(|| StoreError::NotFound(format!("connection {tenant}/{id}")))?;
            if let Some(exp) = expected
                && c.status != exp
            {
                return Err(StoreError::Conflict(format!(
                    "connection {tenant}/{id} is {}, expected {}",
                    c.status.as_str(),
                    exp.as_str()
                )));
            }
            c.status = status;
            c.last_error = last_error;
            c.updated_at = millis(now);
            Ok(c.clone())
        })
        .await
    }

    async fn record_sync(
        &self,
        tenant: &TenantId,
        id: &ConnectionId,
        at: DateTime<Utc>,
    ) -> StoreResult<()> {
        let k = key(&[tenant.as_str(), id.as_str()]);
        self.write(|s, now| {
            let c = s
                .connections
                .get_mut(&k)
                .ok_or_else(|| StoreError::NotFound(format!("connection {tenant}/{id}")))?;
            c.last_sync_at = Some(millis(at));
            c.updated_at = millis(now);
            Ok(())
        })
        .await
    }
}

#[async_trait]
impl TenantStore for EmbeddedStore {
    async fn get(&self, id: &TenantId) -> StoreResult<Option<Tenant>> {
        Ok(self.read(|s, _| s.tenants.get(id.as_str()).cloned()).await)
    }

    async fn find_by_api_key_hash(&self, api_key_hash: &str) -> StoreResult<Option<Tenant>> {
        Ok(self
            .read(|s, _| {
                s.tenants
                    .values()
                    .find(|t| t.api_key_hash == api_key_hash)
                    .cloned()
            })
            .await)
    }

    async fn put(&self, tenant: &Tenant) -> StoreResult<()> {
        check_parts(&[("api_key_hash", &tenant.api_key_hash)])?;
        let mut t = tenant.clone();
        t.created_at = millis(t.created_at);
        self.write(|s, _| {
            s.tenants.insert(t.id.to_string(), t);
            Ok(())
        })
        .await
    }

    async fn rotate_api_key(&self, id: &TenantId, new_hash: &str) -> StoreResult<Tenant> {
        check_parts(&[("api_key_hash", new_hash)])?;
        self.write(|s, _| {
            let t = s
                .tenants
                .get_mut(id.as_str())
                .ok_or_else(|| StoreError::NotFound(format!("tenant {id}")))?;
            t.api_key_hash = new_hash.to_string();
            Ok(t.clone())
        })
        .await
    }
}

#[async_trait]
impl ConfigStore for EmbeddedStore {
    async fn put(
        &self,
        tenant: &TenantId,
        connection: &ConnectionId,
        expected_version: u64,
        config: serde_json::Value,
    ) -> StoreResult<SyncConfigVersion> {
        let k = key(&[tenant.as_str(), connection.as_str()]);
        self.write(|s, now| {
            let versions = s.configs.entry(k).or_default();
            let current = versions.last().map_or(0, |v| v.version);
            if current != expected_version {
                return Err(StoreError::Conflict(format!(
                    "config of {tenant}/{connection} is at version {current}, expected {expected_version}"
                )));
            }
            let v = SyncConfigVersion {
                tenant: tenant.clone(),
                connection: connection.clone(),
                version: current + 1,
                config,
                updated_at: millis(now),
            };
            versions.push(v.clone());
            Ok(v)
        })
        .await
    }

    async fn get_latest(
        &self,
        tenant: &TenantId,
        connection: &ConnectionId,
    ) -> StoreResult<Option<SyncConfigVersion>> {
        let k = key(&[tenant.as_str(), connection.as_str()]);
        Ok(self
            .read(|s, _| s.configs.get(&k).and_then(|v| v.last().cloned()))
            .await)
    }

    async fn get_version(
        &self,
        tenant: &TenantId,
        connection: &ConnectionId,
        version: u64,
    ) -> StoreResult<Option<SyncConfigVersion>> {
        let k = key(&[tenant.as_str(), connection.as_str()]);
        Ok(self
            .read(|s, _| {
                s.configs
                    .get(&k)
                    .and_then(|vs| vs.iter().find(|v| v.version == version).cloned())
            })
            .await)
    }
}

#[async_trait]
impl CursorStore for EmbeddedStore {
    async fn get(
        &self,
        tenant: &TenantId,
        connection: &ConnectionId,
        object: &str,
    ) -> StoreResult<ObjectCursor> {
        check_parts(&[("object", object)])?;
        let k = key(&[tenant.as_str(), connection.as_str(), object]);
        Ok(self
            .read(|s, _| s.cursors.get(&k).cloned().unwrap_or_default())
            .await)
    }

    async fn advance(
        &self,
        tenant: &TenantId,
        connection: &ConnectionId,
        object: &str,
        expected: Option<&CursorPosition>,
        next: &CursorPosition,
    ) -> StoreResult<()> {
        check_parts(&[("object", object)])?;
        check_position(next)?;
        let next = CursorPosition {
            system_modstamp: millis(next.system_modstamp),
            last_id: next.last_id.clone(),
        };
        let k = key(&[tenant.as_str(), connection.as_str(), object]);
        self.write(|s, _| {
            let cursor = s.cursors.entry(k).or_default();
            if cursor.position.as_ref() != expected {
                return Err(StoreError::Conflict(format!(
                    "cursor {tenant}/{connection}/{object} moved since it was read"
                )));
            }
            if cursor.position.as_ref().is_some_and(|cur| &next < cur) {
                return Err(StoreError::Conflict(format!(
                    "cursor {tenant}/{connection}/{object} cannot move backwards"
                )));
            }
            cursor.position = Some(next);
            Ok(())
        })
        .await
    }

    async fn set_last_sweep(
        &self,
        tenant: &TenantId,
        connection: &ConnectionId,
        object: &str,
        at: DateTime<Utc>,
    ) -> StoreResult<()> {
        check_parts(&[("object", object)])?;
        let at = millis(at);
        let k = key(&[tenant.as_str(), connection.as_str(), object]);
        self.write(|s, _| {
            let cursor = s.cursors.entry(k).or_default();
            if cursor.last_sweep_at.is_some_and(|prev| at < prev) {
                return Err(StoreError::Conflict(format!(
                    "sweep time of {tenant}/{connection}/{object} cannot move backwards"
                )));
            }
            cursor.last_sweep_at = Some(at);
            Ok(())
        })
        .await
    }
}

fn link_key(t: &TenantId, c: &ConnectionId, obj: &str, app_id: &str) -> StoreResult<String> {
    check_parts(&[("app_object", obj), ("app_id", app_id)])?;
    Ok(key(&[t.as_str(), c.as_str(), obj, app_id]))
}

#[async_trait]
impl LinkStore for EmbeddedStore {
    async fn create_if_absent(&self, link: &Link) -> StoreResult<LinkCreate> {
        let k = link_key(
            &link.tenant,
            &link.connection,
            &link.app_object,
            &link.app_id,
        )?;
        check_parts(&[("sf_object", &link.sf_object), ("sf_id", &link.sf_id)])?;
        let mut link = link.clone();
        link.created_at = millis(link.created_at);
        link.updated_at = millis(link.updated_at);
        self.write(|s, _| {
            if let Some(existing) = s.links.get(&k) {
                return Ok(LinkCreate::Existing(existing.clone()));
            }
            s.links.insert(k, link.clone());
            Ok(LinkCreate::Created(link))
        })
        .await
    }

    async fn get_by_app(
        &self,
        tenant: &TenantId,
        connection: &ConnectionId,
        app_object: &str,
        app_id: &str,
    ) -> StoreResult<Option<Link>> {
        let k = link_key(tenant, connection, app_object, app_id)?;
        Ok(self.read(|s, _| s.links.get(&k).cloned()).await)
    }

    async fn get_by_sf_id(
        &self,
        tenant: &TenantId,
        connection: &ConnectionId,
        sf_id: &str,
    ) -> StoreResult<Option<Link>> {
        check_parts(&[("sf_id", sf_id)])?;
        Ok(self
            .read(|s, _| {
                s.links
                    .values()
                    .find(|l| {
                        &l.tenant == tenant && &l.connection == connection && l.sf_id == sf_id
                    })
                    .cloned()
            })
            .await)
    }

    async fn update_hashes(
        &self,
        tenant: &TenantId,
        connection: &ConnectionId,
        app_object: &str,
        app_id: &str,
        hashes: BTreeMap<String, String>,
    ) -> StoreResult<Link> {
        let k = link_key(tenant, connection, app_object, app_id)?;
        self.write(|s, now| {
            let link = s.links.get_mut(&k).ok_or_else(|| {
                StoreError::NotFound(format!("link {tenant}/{connection}/{app_object}/{app_id}"))
            })?;
            link.hashes = hashes;
            link.updated_at = millis(now);
            Ok(link.clone())
        })
        .await
    }

    async fn delete(
        &self,
        tenant: &TenantId,
        connection: &ConnectionId,
        app_object: &str,
        app_id: &str,
    ) -> StoreResult<Option<Link>> {
        let k = link_key(tenant, connection, app_object, app_id)?;
        self.write(|s, _| Ok(s.links.remove(&k))).await
    }
}

fn report_live(e: &ReportEntry, now: DateTime<Utc>) -> bool {
    e.expires_at.is_none_or(|x| x > now)
}

#[async_trait]
impl ReportStore for EmbeddedStore {
    async fn write(&self, entry: &ReportEntry) -> StoreResult<()> {
        check_parts(&[("event_id", &entry.event_id), ("object", &entry.object)])?;
        let k = key(&[
            entry.tenant.as_str(),
            entry.connection.as_str(),
            &entry.event_id,
        ]);
        let mut entry = entry.clone();
        entry.created_at = millis(entry.created_at);
        entry.updated_at = millis(entry.updated_at);
        entry.expires_at = entry.expires_at.map(millis);
        EmbeddedStore::write(self, |s, now| {
            s.reports.retain(|_, e| report_live(e, now));
            s.reports.insert(k, entry);
            Ok(())
        })
        .await
    }

    async fn get(
        &self,
        tenant: &TenantId,
        connection: &ConnectionId,
        event_id: &str,
    ) -> StoreResult<Option<ReportEntry>> {
        check_parts(&[("event_id", event_id)])?;
        let k = key(&[tenant.as_str(), connection.as_str(), event_id]);
        Ok(self
            .read(|s, now| s.reports.get(&k).filter(|e| report_live(e, now)).cloned())
            .await)
    }

    async fn list(&self, q: &ReportQuery) -> StoreResult<Page<ReportEntry>> {
        if let Some(o) = &q.object {
            check_parts(&[("object", o)])?;
        }
        self.read(|s, now| {
            let mut matching: Vec<&ReportEntry> = s
                .reports
                .values()
                .filter(|e| {
                    e.tenant == q.tenant
                        && e.connection == q.connection
                        && e.status == q.status
                        && q.object.as_ref().is_none_or(|o| &e.object == o)
                        && q.from.is_none_or(|f| e.updated_at >= millis(f))
                        && q.to.is_none_or(|t| e.updated_at < millis(t))
                        && report_live(e, now)
                })
                .collect();
            // Newest first by the same sort key as the DynamoDB index: (ms, event id).
            let sort_key =
                |e: &ReportEntry| format!("{:015}#{}", e.updated_at.timestamp_millis(), e.event_id);
            let before = match &q.page.token {
                Some(t) => Some(decode_token(t)?),
                None => None,
            };
            matching.retain(|e| before.as_ref().is_none_or(|b| sort_key(e) < *b));
            matching.sort_by_key(|e| std::cmp::Reverse(sort_key(e)));
            let limit = q.page.effective_limit();
            let more = matching.len() > limit;
            matching.truncate(limit);
            let next = if more {
                matching
                    .last()
                    .map(|e| PageToken(encode_token(&sort_key(e))))
            } else {
                None
            };
            Ok(Page {
                items: matching.into_iter().cloned().collect(),
                next,
            })
        })
        .await
    }
}

#[async_trait]
impl ChangeFeed for EmbeddedStore {
    async fn append(
        &self,
        tenant: &TenantId,
        changes: Vec<NewChange>,
    ) -> StoreResult<Vec<ChangeEntry>> {
        for c in &changes {
            check_parts(&[("object", &c.object), ("sf_id", &c.sf_id)])?;
        }
        self.write(|s, now| {
            let seq = s.change_seq.entry(tenant.to_string()).or_default();
            let feed = s.changes.entry(tenant.to_string()).or_default();
            let mut out = Vec::with_capacity(changes.len());
            for c in changes {
                *seq += 1;
                let entry = ChangeEntry {
                    tenant: tenant.clone(),
                    seq: *seq,
                    connection: c.connection,
                    object: c.object,
                    sf_id: c.sf_id,
                    app_id: c.app_id,
                    kind: c.kind,
                    payload: c.payload,
                    at: millis(now),
                };
                feed.push(entry.clone());
                out.push(entry);
            }
            Ok(out)
        })
        .await
    }

    async fn read(&self, tenant: &TenantId, after: u64, limit: u32) -> StoreResult<ChangeBatch> {
        let limit = PageRequest::first(limit).effective_limit();
        Ok(EmbeddedStore::read(self, |s, _| {
            let feed = s
                .changes
                .get(tenant.as_str())
                .map_or(&[][..], |v| v.as_slice());
            let mut rest = feed.iter().filter(|e| e.seq > after);
            let entries: Vec<ChangeEntry> = rest.by_ref().take(limit).cloned().collect();
            let has_more = rest.next().is_some();
            let next_after = entries.last().map_or(after, |e| e.seq);
            ChangeBatch {
                entries,
                next_after,
                has_more,
            }
        })
        .await)
    }
}

#[async_trait]
impl OAuthStateStore for EmbeddedStore {
    async fn put(&self, state: &OAuthState) -> StoreResult<()> {
        check_parts(&[("state", state.state.expose())])?;
        let mut state = state.clone();
        state.created_at = millis(state.created_at);
        state.expires_at = millis(state.expires_at);
        self.write(|s, now| {
            s.oauth_states.retain(|_, v| v.expires_at > now);
            let k = state.state.expose().to_string();
            if s.oauth_states.contains_key(&k) {
                return Err(StoreError::Conflict("oauth state already exists".into()));
            }
            s.oauth_states.insert(k, state);
            Ok(())
        })
        .await
    }

    async fn take(&self, state: &str) -> StoreResult<Option<OAuthState>> {
        if check_parts(&[("state", state)]).is_err() {
            return Ok(None);
        }
        self.write(|s, now| Ok(s.oauth_states.remove(state).filter(|v| v.expires_at > now)))
            .await
    }
}

#[async_trait]
impl IdempotencyStore for EmbeddedStore {
    async fn put_if_absent(
        &self,
        tenant: &TenantId,
        key_value: &str,
        ttl: Duration,
    ) -> StoreResult<bool> {
        check_parts(&[("idempotency key", key_value)])?;
        let k = key(&[tenant.as_str(), key_value]);
        self.write(|s, now| {
            let until = expiry(now, ttl, "ttl")?;
            s.idempotency.retain(|_, exp| *exp > now);
            if s.idempotency.contains_key(&k) {
                return Ok(false);
            }
            s.idempotency.insert(k, millis(until));
            Ok(true)
        })
        .await
    }
}

#[async_trait]
impl LeaseStore for EmbeddedStore {
    async fn acquire(&self, name: &str, owner: &str, ttl: Duration) -> StoreResult<Option<Lease>> {
        check_parts(&[("lease name", name), ("lease owner", owner)])?;
        self.write(|s, now| {
            let until = millis(expiry(now, ttl, "ttl")?);
            if let Some(held) = s.leases.get(name)
                && held.owner != owner
                && held.expires_at > now
            {
                return Ok(None);
            }
            let lease = Lease {
                name: name.to_string(),
                owner: owner.to_string(),
                expires_at: until,
            };
            s.leases.insert(name.to_string(), lease.clone());
            Ok(Some(lease))
        })
        .await
    }

    async fn renew(&self, lease: &Lease, ttl: Duration) -> StoreResult<Lease> {
        self.write(|s, now| {
            let until = millis(expiry(now, ttl, "ttl")?);
            match s.leases.get_mut(&lease.name) {
                Some(held) if held.owner == lease.owner && held.expires_at > now => {
                    held.expires_at = until;
                    Ok(held.clone())
                }
                _ => Err(StoreError::Conflict(format!(
                    "lease {} was lost",
                    lease.name
                ))),
            }
        })
        .await
    }

    async fn release(&self, lease: &Lease) -> StoreResult<()> {
        self.write(|s, _| match s.leases.get(&lease.name) {
            Some(held) if held.owner == lease.owner => {
                s.leases.remove(&lease.name);
                Ok(())
            }
            _ => Err(StoreError::Conflict(format!(
                "lease {} is not held by this owner",
                lease.name
            ))),
        })
        .await
    }
}

#[async_trait]
impl QuotaStore for EmbeddedStore {
    async fn add_calls(
        &self,
        tenant: &TenantId,
        connection: &ConnectionId,
        day: NaiveDate,
        calls: u64,
    ) -> StoreResult<u64> {
        let k = key(&[tenant.as_str(), connection.as_str(), &day.to_string()]);
        self.write(|s, _| {
            let total = s.quota_calls.entry(k).or_default();
            *total = total.saturating_add(calls);
            Ok(*total)
        })
        .await
    }

    async fn record_limit(
        &self,
        tenant: &TenantId,
        connection: &ConnectionId,
        used: u64,
        max: u64,
    ) -> StoreResult<()> {
        let k = key(&[tenant.as_str(), connection.as_str()]);
        self.write(|s, now| {
            s.quota_limits.insert(
                k,
                LimitInfo {
                    used,
                    max,
                    seen_at: millis(now),
                },
            );
            Ok(())
        })
        .await
    }

    async fn usage(
        &self,
        tenant: &TenantId,
        connection: &ConnectionId,
        day: NaiveDate,
    ) -> StoreResult<QuotaUsage> {
        let day_key = key(&[tenant.as_str(), connection.as_str(), &day.to_string()]);
        let limit_key = key(&[tenant.as_str(), connection.as_str()]);
        Ok(self
            .read(|s, _| QuotaUsage {
                day,
                calls: s.quota_calls.get(&day_key).copied().unwrap_or(0),
                limit: s.quota_limits.get(&limit_key).copied(),
            })
            .await)
    }
}
