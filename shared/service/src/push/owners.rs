//! The owner directory (active Salesforce users by email) per connection, cached in the
//! [`App`] for [`OWNER_TTL`]: one `User` query per connection every ten minutes instead of
//! one per push batch. A batch whose events name an owner email the cached directory lacks
//! refreshes it first, so a user added in Salesforce maps at once.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Mutex;

use chrono::{DateTime, Duration, Utc};
use crmsync_core::config::SyncConfig;
use crmsync_salesforce::soql::{Condition, SoqlBuilder};
use crmsync_salesforce::{SfClient, SfError};
use crmsync_store::Connection;
use futures::StreamExt;
use serde_json::Value;

use crate::app::App;
use crate::error::ServiceError;
use crate::messages::PushMessage;

/// How long a connection's owner directory is reused.
pub const OWNER_TTL: Duration = Duration::minutes(10);

/// Lower-case email → User Id.
pub type Directory = BTreeMap<String, String>;

/// (tenant, connection, org) → when read, and the directory.
type Key = (String, String, String);

/// Owner directories per connection (lives as long as the [`App`]: one cold start).
#[derive(Debug, Default)]
pub struct OwnerCache {
    entries: Mutex<HashMap<Key, (DateTime<Utc>, Directory)>>,
}

impl OwnerCache {
    fn get(&self, key: &Key, now: DateTime<Utc>) -> Option<Directory> {
        let entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        entries
            .get(key)
            .filter(|(at, _)| now >= *at && now - *at < OWNER_TTL)
            .map(|(_, d)| d.clone())
    }

    fn put(&self, key: Key, now: DateTime<Utc>, directory: Directory) {
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        entries.insert(key, (now, directory));
    }
}

/// The connection's owner directory: cached when fresh and it knows every owner email
/// `events` name; read from Salesforce otherwise.
pub(crate) async fn directory(
    app: &App,
    conn: &Connection,
    client: &SfClient,
    config: &SyncConfig,
    events: &[&PushMessage],
) -> Result<Directory, ServiceError> {
    let key = (
        conn.tenant.as_str().to_string(),
        conn.id.as_str().to_string(),
        conn.org_id.clone(),
    );
    let now = app.now();
    if let Some(cached) = app.owner_cache.get(&key, now)
        && wanted_emails(config, events)
            .iter()
            .all(|e| cached.contains_key(e))
    {
        return Ok(cached);
    }
    let fresh = read_directory(client).await?;
    app.owner_cache.put(key, now, fresh.clone());
    Ok(fresh)
}

/// Owner emails (lower case) the events would map to Salesforce users.
fn wanted_emails(config: &SyncConfig, events: &[&PushMessage]) -> BTreeSet<String> {
    let owners = &config.owners;
    if !owners.enabled || !owners.rule.outbound() {
        return BTreeSet::new();
    }
    events
        .iter()
        .filter_map(|m| match m.event.fields.get(&owners.app_field) {
            Some(Value::String(app_user)) => owners.email_for_app_user(app_user),
            _ => None,
        })
        .map(str::to_ascii_lowercase)
        .collect()
}

/// Active Salesforce users by email, for owner mapping.
async fn read_directory(client: &SfClient) -> Result<Directory, ServiceError> {
    let describe = client.describe("User").await?;
    let soql = SoqlBuilder::new(&describe)
        .select(["Id", "Email"])
        .filter(Condition::eq("IsActive", true))
        .limit(2000)
        .build()
        .map_err(SfError::from)?;
    let mut out = BTreeMap::new();
    let mut pages = client.query(soql);
    while let Some(page) = pages.next().await {
        for r in page?.records {
            if let (Some(id), Some(email)) = (r.id(), r.get_str("Email")) {
                out.insert(email.to_ascii_lowercase(), id.to_string());
            }
        }
    }
    Ok(out)
}
