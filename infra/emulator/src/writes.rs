//! Record writes (create, update, delete, upsert) with system fields and validation.

use crate::clock::sf_datetime;
use crate::error::ApiError;
use crate::pricing;
use crate::schema::{FieldType, ObjectDef};
use crate::state::State;
use crate::store::Record;
use crate::validate::{check_record, coerce, eq_ci};
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use serde_json::{Map, Value};

/// Who writes and how.
#[derive(Debug, Clone, Default)]
pub struct WriteOpts {
    /// Acting user; the org's admin user when `None`.
    pub user_id: Option<String>,
    /// Stamp this SystemModstamp/LastModifiedDate instead of now (late commit).
    pub stamp: Option<DateTime<Utc>>,
    /// Admin writes may set read-only fields and skip rules.
    pub admin: bool,
}

/// Resolves a URL object name (case-insensitive) to its definition, as the request's user
/// sees it (field-level security, see [`crate::permissions::visible`]).
pub fn object_def(st: &State, org: usize, name: &str) -> Result<ObjectDef, ApiError> {
    let o = &st.orgs[org];
    o.object(name)
        .cloned()
        .map(|def| crate::permissions::visible(o, def))
        .ok_or_else(|| ApiError::not_found("The requested resource does not exist"))
}

fn unknown_field(obj: &str, name: &str) -> ApiError {
    ApiError::bad(
        "INVALID_FIELD",
        format!("No such column '{name}' on sobject of type {obj}"),
    )
    .with_fields(vec![name.to_string()])
}

/// Coerces the input fields, rejecting unknown and read-only ones.
fn apply_input(
    def: &ObjectDef,
    input: &Map<String, Value>,
    target: &mut Map<String, Value>,
    creating: bool,
    admin: bool,
) -> Result<(), ApiError> {
    let mut readonly = Vec::new();
    for (k, v) in input {
        if k == "attributes" || (k == "Id" && !creating) {
            continue;
        }
        let f = def.field(k).ok_or_else(|| unknown_field(&def.name, k))?;
        let allowed = if creating { f.createable } else { f.updateable };
        if !allowed && !admin {
            readonly.push(f.name.clone());
            continue;
        }
        target.insert(f.name.clone(), coerce(f, v)?);
    }
    if !readonly.is_empty() {
        return Err(ApiError::bad(
            "INVALID_FIELD_FOR_INSERT_UPDATE",
            format!(
                "Unable to create/update fields: {}. Please check the security settings of this field and verify that it is read/write for your profile or permission set.",
                readonly.join(", ")
            ),
        )
        .with_fields(readonly));
    }
    Ok(())
}

/// Derived fields: full names, Opportunity closed/won flags, line totals.
fn derive(def: &ObjectDef, rec: &mut Map<String, Value>) {
    if def.field("FirstName").is_some() && def.field("Name").is_some() {
        let first = rec.get("FirstName").and_then(Value::as_str).unwrap_or("");
        let last = rec.get("LastName").and_then(Value::as_str).unwrap_or("");
        let name = format!("{first} {last}").trim().to_string();
        rec.insert("Name".into(), Value::String(name));
    }
    if def.name == "Opportunity" {
        let stage = rec
            .get("StageName")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        rec.insert("IsClosed".into(), Value::Bool(stage.starts_with("Closed")));
        rec.insert("IsWon".into(), Value::Bool(stage == "Closed Won"));
    }
    if def.name == "OpportunityLineItem"
        && let (Some(q), Some(p)) = (
            rec.get("Quantity").and_then(Value::as_f64),
            rec.get("UnitPrice").and_then(Value::as_f64),
        )
    {
        rec.insert("TotalPrice".into(), serde_json::json!(q * p));
    }
}

/// Derived fields that carry the write's time (a Task's `CompletedDateTime`).
fn derive_stamped(
    st: &State,
    org: usize,
    def: &ObjectDef,
    rec: &mut Map<String, Value>,
    opts: &WriteOpts,
) {
    if def.name == "Task" {
        let now = sf_datetime(opts.stamp.unwrap_or_else(|| st.clock.now()));
        crate::activity::derive_task(rec, &now);
        crate::activity::derive_account(&st.orgs[org].store, rec);
    }
}

fn defaults(def: &ObjectDef, rec: &mut Map<String, Value>, user: &str) {
    for f in &def.fields {
        if rec.get(&f.name).is_some_and(|v| !v.is_null()) {
            continue;
        }
        let v = match (f.ftype, f.name.as_str()) {
            (FieldType::Boolean, "IsActive") => Value::Bool(true),
            (FieldType::Boolean, _) => Value::Bool(false),
            (FieldType::Reference, "OwnerId") => Value::String(user.to_string()),
            (FieldType::Picklist, _) if f.defaulted_on_create => {
                match f
                    .default_picklist_value
                    .clone()
                    .or_else(|| f.picklist_values.first().cloned())
                {
                    Some(v) => Value::String(v),
                    None => continue,
                }
            }
            (_, "TimeZoneSidKey") => Value::String("America/Los_Angeles".into()),
            _ => continue,
        };
        rec.insert(f.name.clone(), v);
    }
}

/// Assigning a record to an inactive user fails like in Salesforce (only when OwnerId is set
/// by this write; records already owned by a since-deactivated user stay editable).
fn check_owner(
    st: &State,
    org: usize,
    def: &ObjectDef,
    input: &Map<String, Value>,
) -> Result<(), ApiError> {
    let Some(owner) = input
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("OwnerId"))
        .and_then(|(_, v)| v.as_str())
    else {
        return Ok(());
    };
    let inactive = crate::ids::normalize(owner)
        .and_then(|id| st.orgs[org].store.get("User", &id))
        .is_some_and(|u| u.get("IsActive") == &Value::Bool(false));
    if inactive {
        return Err(ApiError::bad(
            "INACTIVE_OWNER_OR_USER",
            format!(
                "operation performed with inactive user [{owner}] as owner of {}",
                def.name.to_lowercase()
            ),
        )
        .with_fields(vec!["OwnerId".into()]));
    }
    Ok(())
}

fn acting_user(st: &State, org: usize, opts: &WriteOpts) -> String {
    opts.user_id
        .clone()
        .unwrap_or_else(|| st.orgs[org].admin_user_id.clone())
}

pub fn create(
    st: &mut State,
    org: usize,
    object: &str,
    input: &Map<String, Value>,
    opts: &WriteOpts,
) -> Result<String, ApiError> {
    let def = object_def(st, org, object)?;
    if def.queryable_only && !opts.admin {
        return Err(ApiError::bad(
            "INVALID_TYPE",
            format!("sObject type '{}' is not supported for create", def.name),
        ));
    }
    let mut rec = Map::new();
    apply_input(&def, input, &mut rec, true, opts.admin)?;
    let user = acting_user(st, org, opts);
    defaults(&def, &mut rec, &user);
    crate::record_types::apply_default(&st.orgs[org], &def, &mut rec);
    // Admin inserts (seeds, tests) may skip the price book rule; real writes may not.
    let book_for_opportunity = match def.name.as_str() {
        "OpportunityLineItem" if !opts.admin => pricing::price_line_item(&st.orgs[org], &mut rec)?,
        "PricebookEntry" => {
            pricing::mirror_product(&st.orgs[org], &mut rec);
            None
        }
        _ => None,
    };
    derive(&def, &mut rec);
    derive_stamped(st, org, &def, &mut rec, opts);
    if !opts.admin {
        check_owner(st, org, &def, input)?;
        crate::record_types::check(&st.orgs[org], &def, input)?;
        check_record(&st.orgs[org], &def, &rec, None, input)?;
        crate::permissions::check(&st.orgs[org], &def, &rec, None)?;
    }
    let id = match rec.get("Id").and_then(Value::as_str) {
        Some(id) if opts.admin => id.to_string(),
        _ => {
            let n = st.next_seq();
            crate::ids::make_id(&def.key_prefix, n)
        }
    };
    let now = st.clock.now();
    let stamp = sf_datetime(opts.stamp.unwrap_or(now));
    rec.insert("Id".into(), Value::String(id.clone()));
    for (k, v) in [
        ("CreatedDate", stamp.clone()),
        ("LastModifiedDate", stamp.clone()),
        ("SystemModstamp", stamp),
        ("CreatedById", user.clone()),
        ("LastModifiedById", user),
    ] {
        if !(opts.admin && input.contains_key(k)) {
            rec.insert(k.into(), Value::String(v));
        }
    }
    rec.insert("IsDeleted".into(), Value::Bool(false));
    let opportunity = rec
        .get("OpportunityId")
        .and_then(Value::as_str)
        .map(str::to_string);
    st.orgs[org].store.insert(
        &def.name,
        Record {
            id: id.clone(),
            fields: rec,
            deleted: false,
            deleted_at: None,
        },
    );
    if let (Some(book), Some(opp)) = (book_for_opportunity, opportunity)
        && let Some(mut r) = st.orgs[org].store.get_mut("Opportunity", &opp)
    {
        let stamp = sf_datetime(opts.stamp.unwrap_or(now));
        r.fields.insert("Pricebook2Id".into(), Value::String(book));
        r.fields
            .insert("LastModifiedDate".into(), Value::String(stamp.clone()));
        r.fields
            .insert("SystemModstamp".into(), Value::String(stamp));
    }
    Ok(id)
}

/// Checks an Id from a URL or body: malformed → `MALFORMED_ID`, wrong object → `NOT_FOUND`.
pub fn check_id(def: &ObjectDef, id: &str) -> Result<String, ApiError> {
    let norm = crate::ids::normalize(id).ok_or_else(|| {
        ApiError::bad(
            "MALFORMED_ID",
            format!("{} ID: id value of incorrect type: {id}", def.label()),
        )
        .with_fields(vec!["Id".into()])
    })?;
    if !norm.starts_with(&def.key_prefix) {
        return Err(ApiError::bad(
            "MALFORMED_ID",
            format!("{} ID: id value of incorrect type: {id}", def.label()),
        )
        .with_fields(vec!["Id".into()]));
    }
    Ok(norm)
}

fn missing() -> ApiError {
    ApiError::not_found("The requested resource does not exist")
}

fn deleted() -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "ENTITY_IS_DELETED",
        "entity is deleted",
    )
}

pub fn update(
    st: &mut State,
    org: usize,
    object: &str,
    id: &str,
    input: &Map<String, Value>,
    opts: &WriteOpts,
) -> Result<(), ApiError> {
    let def = object_def(st, org, object)?;
    let id = check_id(&def, id)?;
    let existing = st.orgs[org].store.get(&def.name, &id).ok_or_else(missing)?;
    if existing.deleted {
        return Err(deleted().with_fields(vec![]));
    }
    if def.name == "Lead" && !opts.admin && existing.get("IsConverted") == &Value::Bool(true) {
        return Err(ApiError::bad(
            "CANNOT_UPDATE_CONVERTED_LEAD",
            "cannot reference converted lead",
        ));
    }
    let mut rec = existing.fields.clone();
    apply_input(&def, input, &mut rec, false, opts.admin)?;
    derive(&def, &mut rec);
    derive_stamped(st, org, &def, &mut rec, opts);
    if !opts.admin {
        check_owner(st, org, &def, input)?;
        crate::record_types::check(&st.orgs[org], &def, input)?;
        check_record(&st.orgs[org], &def, &rec, Some(&id), input)?;
        crate::permissions::check(&st.orgs[org], &def, &rec, Some(&id))?;
    }
    let user = acting_user(st, org, opts);
    let stamp = sf_datetime(opts.stamp.unwrap_or_else(|| st.clock.now()));
    rec.insert("LastModifiedDate".into(), Value::String(stamp.clone()));
    rec.insert("SystemModstamp".into(), Value::String(stamp));
    rec.insert("LastModifiedById".into(), Value::String(user));
    if let Some(mut r) = st.orgs[org].store.get_mut(&def.name, &id) {
        r.fields = rec;
    }
    Ok(())
}

pub fn delete(
    st: &mut State,
    org: usize,
    object: &str,
    id: &str,
    opts: &WriteOpts,
) -> Result<(), ApiError> {
    let def = object_def(st, org, object)?;
    let id = check_id(&def, id)?;
    let now = opts.stamp.unwrap_or_else(|| st.clock.now());
    let mut r = st.orgs[org]
        .store
        .get_mut(&def.name, &id)
        .ok_or_else(missing)?;
    if r.deleted {
        return Err(deleted());
    }
    mark_deleted(&mut r, now);
    drop(r);
    cascade(st, org, &def.name, &id, now);
    Ok(())
}

fn mark_deleted(r: &mut Record, now: DateTime<Utc>) {
    r.deleted = true;
    r.deleted_at = Some(now);
    r.fields.insert("IsDeleted".into(), Value::Bool(true));
    r.fields
        .insert("SystemModstamp".into(), Value::String(sf_datetime(now)));
}

/// Master-detail style cascades Salesforce applies: deleting an Account deletes its
/// Contacts and Opportunities; deleting an Opportunity deletes its line items.
fn cascade(st: &mut State, org: usize, object: &str, id: &str, now: DateTime<Utc>) {
    let children: &[(&str, &str)] = match object {
        "Account" => &[("Contact", "AccountId"), ("Opportunity", "AccountId")],
        "Opportunity" => &[("OpportunityLineItem", "OpportunityId")],
        _ => &[],
    };
    for (child, field) in children {
        let ids: Vec<String> = st.orgs[org]
            .store
            .records(child)
            .filter(|r| !r.deleted && r.get(field).as_str() == Some(id))
            .map(|r| r.id.clone())
            .collect();
        for cid in ids {
            if let Some(mut r) = st.orgs[org].store.get_mut(child, &cid) {
                mark_deleted(&mut r, now);
            }
            cascade(st, org, child, &cid, now);
        }
    }
}

/// A system write (e.g. a recalculation): only `SystemModstamp` moves, `LastModifiedDate`
/// and `LastModifiedById` stay.
pub fn touch_system(
    st: &mut State,
    org: usize,
    object: &str,
    id: &str,
) -> Result<String, ApiError> {
    let def = object_def(st, org, object)?;
    let id = check_id(&def, id)?;
    let stamp = sf_datetime(st.clock.now());
    let mut r = st.orgs[org]
        .store
        .get_mut(&def.name, &id)
        .ok_or_else(missing)?;
    r.fields
        .insert("SystemModstamp".into(), Value::String(stamp.clone()));
    Ok(stamp)
}

/// Outcome of an upsert.
#[derive(Debug)]
pub enum Upserted {
    Created(String),
    Updated(String),
    /// Several records match: their Ids (→ HTTP 300).
    Multiple(Vec<String>),
}

pub fn upsert(
    st: &mut State,
    org: usize,
    object: &str,
    ext_field: &str,
    value: &str,
    input: &Map<String, Value>,
    opts: &WriteOpts,
) -> Result<Upserted, ApiError> {
    let def = object_def(st, org, object)?;
    let f = def.field(ext_field).cloned().ok_or_else(|| {
        ApiError::not_found(format!(
            "Provided external ID field does not exist or is not accessible: {ext_field}"
        ))
    })?;
    if f.name != "Id" && !f.external_id && !f.id_lookup {
        return Err(ApiError::bad(
            "INVALID_FIELD",
            format!("Field {} is not an external id or idLookup field", f.name),
        )
        .with_fields(vec![f.name.clone()]));
    }
    if input
        .keys()
        .any(|k| k.eq_ignore_ascii_case(&f.name) && input[k] != Value::String(value.into()))
    {
        return Err(ApiError::bad(
            "INVALID_FIELD",
            format!(
                "The external ID field {} cannot be set in the body when it is in the URL",
                f.name
            ),
        ));
    }
    let key = Value::String(value.to_string());
    let store = &st.orgs[org].store;
    // By Id: one read, not a scan (a bulk upsert of N rows by Id would be N scans).
    let matches: Vec<String> = if f.name == "Id" {
        crate::ids::normalize(value)
            .and_then(|id| store.get(&def.name, &id))
            .filter(|r| !r.deleted)
            .map(|r| vec![r.id.clone()])
            .unwrap_or_default()
    } else {
        store
            .records(&def.name)
            .filter(|r| !r.deleted && eq_ci(r.get(&f.name), &key))
            .map(|r| r.id.clone())
            .collect()
    };
    match matches.len() {
        0 => {
            let mut body = input.clone();
            if f.name != "Id" {
                body.insert(f.name.clone(), key);
            }
            create(st, org, &def.name, &body, opts).map(Upserted::Created)
        }
        1 => {
            let id = matches[0].clone();
            update(st, org, &def.name, &id, input, opts)?;
            Ok(Upserted::Updated(id))
        }
        _ => Ok(Upserted::Multiple(matches)),
    }
}
