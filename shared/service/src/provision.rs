//! Provisioning an org (issue 12): crmsync's key field `Crmsync_App_Id__c` on each object
//! it creates records in, the config's `custom_fields`, and the permission set
//! `Crmsync_Integration` granting read and edit on all of them, assigned to the connected
//! integration user and to the usernames the config names.
//!
//! Idempotent: each step reads first and writes only what is missing, so a re-run makes no
//! write (`changes` = 0). A field that exists with another type is reported, never changed.
//! When the org refuses (no Customize Application, no permission to manage permission
//! sets, an edition without the API), the connection records `refused` with the reason;
//! syncing goes on without the key (matching and write intents). Disconnect deletes
//! nothing provisioned.
//!
//! The Salesforce client is this use case's port: Tooling `custom_fields` /
//! `create_custom_field`, and ordinary query / create / update on the setup objects.
//!
//! Salesforce behaviour relied on (see README "Provisioning"): Tooling `CustomField`
//! create and query; `PermissionSet` (`Name`, `Label`), `FieldPermissions` (`ParentId`,
//! `SobjectType`, `Field` = `Object.Field__c`, `PermissionsRead`, `PermissionsEdit`; edit
//! needs read) and `PermissionSetAssignment` (`AssigneeId`, `PermissionSetId`; a second
//! assignment is `DUPLICATE_VALUE`) are sObjects (Object Reference); a new field is
//! invisible to the API user until a permission set grants it, and describe changes, so
//! cached describes are dropped afterwards.

use std::collections::{BTreeMap, BTreeSet};

use crmsync_core::provision::{DesiredField, KEY_FIELD, PERMISSION_SET, desired_fields};
use crmsync_salesforce::{SfClient, SfError};
use crmsync_store::{ConnectionId, Provisioning, ProvisioningState, TenantId};
use futures::StreamExt;
use serde_json::{Map, Value, json};

use crate::app::App;
use crate::config_service;
use crate::error::ServiceError;

/// Error codes with which an org refuses metadata or permission changes: the user lacks a
/// permission, or the edition or org does not allow it. Anything else is a failure.
fn is_refusal(e: &SfError) -> bool {
    let code = e.code().unwrap_or("");
    code.starts_with("INSUFFICIENT_ACCESS")
        || matches!(
            code,
            "API_DISABLED_FOR_ORG"
                | "FUNCTIONALITY_NOT_ENABLED"
                | "NOT_SUPPORTED"
                | "INVALID_TYPE"
                | "CANNOT_MODIFY_MANAGED_OBJECT"
        )
        || matches!(e, SfError::Permanent { status: 403, .. })
}

fn refusal_reason(step: &str, e: &SfError) -> String {
    match e {
        SfError::Permanent { code, message, .. } => format!("{step}: [{code}] {message}"),
        other => format!("{step}: {other}"),
    }
}

/// A Salesforce Id we embed in SOQL: 15 or 18 alphanumerics.
fn checked_id(id: &str) -> Result<&str, ServiceError> {
    if (id.len() == 15 || id.len() == 18) && id.chars().all(|c| c.is_ascii_alphanumeric()) {
        Ok(id)
    } else {
        Err(ServiceError::Internal(format!(
            "unexpected Salesforce id {id:?}"
        )))
    }
}

async fn query_all(client: &SfClient, soql: String) -> Result<Vec<Map<String, Value>>, SfError> {
    let mut out = Vec::new();
    let mut pages = client.query(soql);
    while let Some(page) = pages.next().await {
        out.extend(page?.records.into_iter().map(|r| r.fields));
    }
    Ok(out)
}

fn text(row: &Map<String, Value>, key: &str) -> String {
    row.get(key)
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string()
}

/// Why a step stopped: the org refused (recorded), or a failure (returned).
enum Stop {
    Refused(String),
    Failed(ServiceError),
}

impl From<ServiceError> for Stop {
    fn from(e: ServiceError) -> Self {
        Stop::Failed(e)
    }
}

fn classify(step: &str, e: SfError) -> Stop {
    if is_refusal(&e) {
        Stop::Refused(refusal_reason(step, &e))
    } else {
        Stop::Failed(e.into())
    }
}

/// One run against one org.
struct Run<'a> {
    client: &'a SfClient,
    changes: u32,
    issues: Vec<String>,
}

impl Run<'_> {
    /// Creates the fields that are missing; returns those that exist with the declared
    /// type (created now or before). A field of another type is left alone, as an issue.
    async fn fields(&mut self, desired: &[DesiredField]) -> Result<Vec<DesiredField>, Stop> {
        let objects: BTreeSet<&str> = desired.iter().map(|f| f.object.as_str()).collect();
        let objects: Vec<&str> = objects.into_iter().collect();
        let existing: BTreeSet<String> = self
            .client
            .custom_fields(&objects)
            .await
            .map_err(|e| classify("reading custom fields", e))?
            .iter()
            .map(|r| r.full_name().to_lowercase())
            .collect();
        let mut ok = Vec::new();
        for f in desired {
            if existing.contains(&f.full_name().to_lowercase()) {
                ok.push(f.clone());
                continue;
            }
            match self.client.create_custom_field(&f.create_body()).await {
                Ok(_) => {
                    self.changes += 1;
                    ok.push(f.clone());
                }
                // Created meanwhile by another run: it exists.
                Err(e) if e.code() == Some("DUPLICATE_DEVELOPER_NAME") => ok.push(f.clone()),
                Err(e) => {
                    return Err(classify(&format!("creating {}", f.full_name()), e));
                }
            }
        }
        Ok(ok)
    }

    /// The permission set's Id, creating it when absent.
    async fn permission_set(&mut self) -> Result<String, Stop> {
        let soql = format!("SELECT Id FROM PermissionSet WHERE Name = '{PERMISSION_SET}'");
        let found = query_all(self.client, soql)
            .await
            .map_err(|e| classify("reading permission sets", e))?;
        if let Some(row) = found.first() {
            return Ok(text(row, "Id"));
        }
        let body = json!({"Name": PERMISSION_SET, "Label": "crmsync integration",
            "Description": "Read and edit on the fields crmsync provisions. Managed by crmsync."});
        let id = self
            .client
            .create("PermissionSet", body.as_object().expect("object"))
            .await
            .map_err(|e| classify("creating the permission set", e))?;
        self.changes += 1;
        Ok(id)
    }

    /// Read and edit on every field, for the permission set.
    async fn grants(&mut self, set: &str, fields: &[DesiredField]) -> Result<(), Stop> {
        let soql = format!(
            "SELECT Id, Field, PermissionsRead, PermissionsEdit FROM FieldPermissions WHERE ParentId = '{}'",
            checked_id(set)?
        );
        let rows = query_all(self.client, soql)
            .await
            .map_err(|e| classify("reading field permissions", e))?;
        let current: BTreeMap<String, &Map<String, Value>> = rows
            .iter()
            .map(|r| (text(r, "Field").to_lowercase(), r))
            .collect();
        for f in fields {
            let full = f.full_name();
            let granted = |r: &Map<String, Value>, k: &str| r.get(k) == Some(&Value::Bool(true));
            match current.get(&full.to_lowercase()) {
                Some(r) if granted(r, "PermissionsRead") && granted(r, "PermissionsEdit") => {}
                Some(r) => {
                    let body = json!({"PermissionsRead": true, "PermissionsEdit": true});
                    self.client
                        .update(
                            "FieldPermissions",
                            &text(r, "Id"),
                            body.as_object().expect("object"),
                        )
                        .await
                        .map_err(|e| classify(&format!("granting {full}"), e))?;
                    self.changes += 1;
                }
                None => {
                    let body = json!({"ParentId": set, "SobjectType": f.object, "Field": full,
                        "PermissionsRead": true, "PermissionsEdit": true});
                    self.client
                        .create("FieldPermissions", body.as_object().expect("object"))
                        .await
                        .map_err(|e| classify(&format!("granting {full}"), e))?;
                    self.changes += 1;
                }
            }
        }
        Ok(())
    }

    /// Assigns the permission set to each user that does not hold it yet.
    async fn assign(&mut self, set: &str, users: &BTreeSet<String>) -> Result<(), Stop> {
        let soql = format!(
            "SELECT AssigneeId FROM PermissionSetAssignment WHERE PermissionSetId = '{}'",
            checked_id(set)?
        );
        let held: BTreeSet<String> = query_all(self.client, soql)
            .await
            .map_err(|e| classify("reading permission set assignments", e))?
            .iter()
            .map(|r| text(r, "AssigneeId"))
            .collect();
        for user in users.iter().filter(|u| !held.contains(*u)) {
            let body = json!({"AssigneeId": user, "PermissionSetId": set});
            match self
                .client
                .create("PermissionSetAssignment", body.as_object().expect("object"))
                .await
            {
                Ok(_) => self.changes += 1,
                Err(e) if e.code() == Some("DUPLICATE_VALUE") => {}
                Err(e) => return Err(classify("assigning the permission set", e)),
            }
        }
        Ok(())
    }

    /// User Ids of the named usernames; unknown ones are reported as issues.
    async fn users(&mut self, usernames: &[String]) -> Result<BTreeSet<String>, Stop> {
        if usernames.is_empty() {
            return Ok(BTreeSet::new());
        }
        let list: Vec<String> = usernames
            .iter()
            .map(|u| format!("'{}'", crmsync_salesforce::soql::escape_string(u)))
            .collect();
        let soql = format!(
            "SELECT Id, Username FROM User WHERE Username IN ({})",
            list.join(", ")
        );
        let rows = query_all(self.client, soql)
            .await
            .map_err(|e| classify("reading users", e))?;
        for name in usernames {
            if !rows
                .iter()
                .any(|r| text(r, "Username").eq_ignore_ascii_case(name))
            {
                self.issues.push(format!(
                    "user {name} not found: permission set not assigned"
                ));
            }
        }
        Ok(rows.iter().map(|r| text(r, "Id")).collect())
    }

    /// After the grants: drops cached describes, then keeps the fields the integration user
    /// now sees with the declared type; reports the others.
    async fn verify(&mut self, fields: &[DesiredField]) -> Result<Vec<String>, Stop> {
        let objects: BTreeSet<&str> = fields.iter().map(|f| f.object.as_str()).collect();
        let mut key_objects = Vec::new();
        for object in objects {
            self.client.invalidate_describe(object);
            let d = self
                .client
                .describe(object)
                .await
                .map_err(|e| classify(&format!("describing {object}"), e))?;
            for f in fields.iter().filter(|f| f.object == object) {
                let full = f.full_name();
                match d.field(&f.api_name) {
                    None => self
                        .issues
                        .push(format!("{full} is not visible to the integration user")),
                    Some(found) if found.field_type != f.kind.describe_type() => {
                        self.issues.push(format!(
                            "{full} exists as {}, declared {}: left unchanged",
                            found.field_type,
                            f.kind.describe_type()
                        ))
                    }
                    Some(found) if f.key => {
                        if found.external_id && found.createable && found.updateable {
                            key_objects.push(object.to_string());
                        } else {
                            self.issues.push(format!(
                                "{full} is not a writable external id: creates do not upsert by it"
                            ));
                        }
                    }
                    Some(_) => {}
                }
            }
        }
        Ok(key_objects)
    }
}

/// Provisions the connection's org and records the outcome on the connection.
pub async fn provision(
    app: &App,
    tenant: &TenantId,
    id: &ConnectionId,
) -> Result<Provisioning, ServiceError> {
    let mut connection = app
        .stores
        .connections
        .get(tenant, id)
        .await?
        .ok_or_else(|| ServiceError::NotFound(format!("connection {}", id.as_str())))?;
    if connection.status == crmsync_store::ConnectionStatus::ReconnectNeeded {
        return Err(ServiceError::ReconnectNeeded(id.as_str().to_string()));
    }
    let config = config_service::load_or_init(app, tenant, id).await?.config;
    let client = app.salesforce.client(&connection)?;
    let mut run = Run {
        client: &client,
        changes: 0,
        issues: Vec::new(),
    };
    let outcome = steps(&mut run, &config, &connection.user.id).await;
    let (state, reason, key_objects) = match outcome {
        Ok(keys) if run.issues.is_empty() => (ProvisioningState::Provisioned, None, keys),
        Ok(keys) => (ProvisioningState::Partial, None, keys),
        Err(Stop::Refused(reason)) => (ProvisioningState::Refused, Some(reason), Vec::new()),
        Err(Stop::Failed(e)) => return Err(e),
    };
    let status = Provisioning {
        state,
        reason,
        at: app.now(),
        key_objects,
        issues: run.issues,
        changes: run.changes,
    };
    connection.provisioning = Some(status.clone());
    connection.updated_at = app.now();
    app.stores.connections.put(&connection).await?;
    Ok(status)
}

async fn steps(
    run: &mut Run<'_>,
    config: &crmsync_core::config::SyncConfig,
    integration_user: &str,
) -> Result<Vec<String>, Stop> {
    let desired = desired_fields(config);
    let fields = run.fields(&desired).await?;
    let set = run.permission_set().await?;
    run.grants(&set, &fields).await?;
    let mut users = run.users(&config.provisioning.assign_usernames).await?;
    users.insert(integration_user.to_string());
    run.assign(&set, &users).await?;
    let mut keys = run.verify(&fields).await?;
    keys.retain(|o| fields.iter().any(|f| f.key && &f.object == o));
    debug_assert!(
        fields
            .iter()
            .filter(|f| f.key)
            .all(|f| f.api_name == KEY_FIELD)
    );
    Ok(keys)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn permanent(status: u16, code: &str) -> SfError {
        SfError::Permanent {
            status,
            code: code.into(),
            message: "m".into(),
            fields: Vec::new(),
        }
    }

    #[test]
    fn permission_and_edition_errors_are_refusals_others_are_failures() {
        for code in [
            "INSUFFICIENT_ACCESS_OR_READONLY",
            "INSUFFICIENT_ACCESS",
            "API_DISABLED_FOR_ORG",
            "NOT_SUPPORTED",
        ] {
            assert!(is_refusal(&permanent(400, code)), "{code}");
        }
        assert!(is_refusal(&permanent(403, "FORBIDDEN")));
        assert!(!is_refusal(&permanent(400, "DUPLICATE_VALUE")));
        assert!(!is_refusal(&permanent(400, "FIELD_INTEGRITY_EXCEPTION")));
        let busy = SfError::Retryable {
            status: Some(503),
            code: "SERVER_UNAVAILABLE".into(),
            message: "m".into(),
        };
        assert!(!is_refusal(&busy));
        assert_eq!(
            refusal_reason("creating Lead.X__c", &permanent(400, "INSUFFICIENT_ACCESS")),
            "creating Lead.X__c: [INSUFFICIENT_ACCESS] m"
        );
    }

    #[test]
    fn only_salesforce_ids_reach_a_query() {
        assert!(checked_id("0PS000000000001AAA").is_ok());
        assert!(checked_id("0PS' OR Name != '").is_err());
    }
}
