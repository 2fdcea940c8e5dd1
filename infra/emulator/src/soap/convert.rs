//! The partner SOAP `convertLead` call: a Lead becomes an Account, a Contact and
//! (optionally) an Opportunity, or is merged into a given Account and Contact.
//!
//! Behaviour relied on (SOAP API Developer Guide, `convertLead()`, `LeadConvert`,
//! `LeadConvertResult`; the partner WSDL as printed by the zkSforce and teiid partner
//! bindings):
//! - each `leadConverts` holds `leadId`, `convertedStatus` (a `LeadStatus` whose
//!   `IsConverted` is true), optional `accountId`, `contactId` (only with `accountId`, and a
//!   Contact of that Account), `ownerId`, `opportunityName`, `doNotCreateOpportunity`,
//!   `overwriteLeadSource`, `sendNotificationEmail`;
//! - one `result` per `leadConverts`, in order: `accountId`, `contactId`, `leadId`,
//!   `opportunityId`, `success`, and `errors` (`statusCode`, `message`, `fields`) on failure;
//! - merging fills only the target's empty fields (`overwriteLeadSource` also overwrites
//!   the Contact's `LeadSource`); the Lead becomes read-only (`IsConverted`, its
//!   `Converted…Id` fields and `ConvertedDate` set), and converting it again fails with
//!   `CANNOT_UPDATE_CONVERTED_LEAD`; an invalid status fails with `INVALID_STATUS`;
//! - the Lead's Tasks move to the Contact and the new Opportunity
//!   ([`reparent_activities`], with its sources);
//! - the response carries `LimitInfoHeader` (`current`, `limit`, `type` = `API REQUESTS`),
//!   and the call counts against the daily API limit like a REST call.
//!
//! Emulator choices where the guides are silent: a malformed id faults the whole call
//! (`MALFORMED_ID`), an unknown record fails its result with
//! `INVALID_CROSS_REFERENCE_KEY`; the new Opportunity is named after the Lead's Company,
//! in the first stage, closing at the end of the current quarter.

use super::xml::{Element, Out};
use super::{fault, respond};
use crate::error::ApiError;
use crate::schema::CONVERTED_LEAD_STATUSES;
use crate::server::Shared;
use crate::state::State;
use crate::writes::{WriteOpts, create, update};
use axum::http::StatusCode;
use axum::response::Response;
use chrono::{Datelike, NaiveDate};
use rand::Rng;
use serde_json::{Map, Value, json};

/// One `LeadConvert`, ids normalised to 18 characters.
#[derive(Debug, Default)]
struct LeadConvert {
    lead: String,
    status: Option<String>,
    account: Option<String>,
    contact: Option<String>,
    owner: Option<String>,
    opportunity_name: Option<String>,
    no_opportunity: bool,
    overwrite_lead_source: bool,
}

/// What one conversion produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Converted {
    pub account: String,
    pub contact: String,
    pub lead: String,
    pub opportunity: Option<String>,
}

/// A conversion by the org's admin user, as from Salesforce's UI (not counted): see
/// [`crate::AdminHandle::convert_lead`].
pub(crate) fn convert_as_admin(
    st: &mut State,
    org: usize,
    lead: &str,
    create_opportunity: bool,
) -> Result<Converted, ApiError> {
    let lc = LeadConvert {
        lead: crate::ids::normalize(lead).unwrap_or_else(|| lead.to_string()),
        status: CONVERTED_LEAD_STATUSES.first().map(|s| s.to_string()),
        no_opportunity: !create_opportunity,
        ..LeadConvert::default()
    };
    let user = st.orgs[org].admin_user_id.clone();
    convert_one(st, org, &user, &lc)
}

fn flag(e: &Element, name: &str) -> bool {
    matches!(e.text_of(name), Some("true" | "1"))
}

/// Reads one `leadConverts`; a malformed id (the `Err` message) faults the whole call.
fn read(e: &Element) -> Result<LeadConvert, String> {
    let id = |name: &str| -> Result<Option<String>, String> {
        match e.text_of(name) {
            None => Ok(None),
            Some(raw) => crate::ids::normalize(raw)
                .map(Some)
                .ok_or_else(|| format!("invalid {name}: {raw}")),
        }
    };
    let lead = id("leadId")?.ok_or("leadId is required")?;
    Ok(LeadConvert {
        lead,
        status: e.text_of("convertedStatus").map(str::to_string),
        account: id("accountId")?,
        contact: id("contactId")?,
        owner: id("ownerId")?,
        opportunity_name: e.text_of("opportunityName").map(str::to_string),
        no_opportunity: flag(e, "doNotCreateOpportunity"),
        overwrite_lead_source: flag(e, "overwriteLeadSource"),
    })
}

fn refused(code: &str, message: impl Into<String>) -> ApiError {
    ApiError::bad(code, message)
}

/// A live record of `object`, or the result error Salesforce gives for a bad reference.
fn live<'a>(
    st: &'a State,
    org: usize,
    object: &str,
    id: &str,
) -> Result<&'a Map<String, Value>, ApiError> {
    match st.orgs[org].store.get(object, id) {
        Some(r) if r.deleted => Err(refused("ENTITY_IS_DELETED", "entity is deleted")),
        Some(r) => Ok(&r.fields),
        None => Err(refused(
            "INVALID_CROSS_REFERENCE_KEY",
            format!("invalid cross reference id: {id}"),
        )),
    }
}

fn text(rec: &Map<String, Value>, f: &str) -> Option<Value> {
    rec.get(f)
        .filter(|v| !v.is_null() && v.as_str() != Some(""))
        .cloned()
}

/// Lead field → target field, per object (standard lead field mapping).
const ACCOUNT_MAP: &[(&str, &str)] = &[
    ("Company", "Name"),
    ("Phone", "Phone"),
    ("Website", "Website"),
    ("Industry", "Industry"),
    ("AnnualRevenue", "AnnualRevenue"),
    ("NumberOfEmployees", "NumberOfEmployees"),
    ("Street", "BillingStreet"),
    ("City", "BillingCity"),
    ("State", "BillingState"),
    ("PostalCode", "BillingPostalCode"),
    ("Country", "BillingCountry"),
];
const CONTACT_MAP: &[(&str, &str)] = &[
    ("FirstName", "FirstName"),
    ("LastName", "LastName"),
    ("Email", "Email"),
    ("Phone", "Phone"),
    ("Title", "Title"),
    ("LeadSource", "LeadSource"),
    ("Description", "Description"),
    ("Street", "MailingStreet"),
    ("City", "MailingCity"),
    ("State", "MailingState"),
    ("PostalCode", "MailingPostalCode"),
    ("Country", "MailingCountry"),
];

/// The mapped Lead values the target object has (and, when merging, lacks).
fn mapped(
    st: &State,
    org: usize,
    object: &str,
    lead: &Map<String, Value>,
    map: &[(&str, &str)],
    existing: Option<&Map<String, Value>>,
) -> Map<String, Value> {
    let def = st.orgs[org].object(object);
    map.iter()
        .filter(|(_, to)| def.is_some_and(|d| d.field(to).is_some()))
        .filter(|(_, to)| existing.is_none_or(|e| text(e, to).is_none()))
        .filter_map(|(from, to)| text(lead, from).map(|v| (to.to_string(), v)))
        .collect()
}

fn quarter_end(d: NaiveDate) -> NaiveDate {
    let q_last_month = (d.month0() / 3) * 3 + 3;
    let first_of_next = if q_last_month == 12 {
        NaiveDate::from_ymd_opt(d.year() + 1, 1, 1)
    } else {
        NaiveDate::from_ymd_opt(d.year(), q_last_month + 1, 1)
    };
    first_of_next.and_then(|n| n.pred_opt()).unwrap_or(d)
}

/// Converts one Lead; records created before a later step fails are rolled back.
fn convert_one(
    st: &mut State,
    org: usize,
    user: &str,
    lc: &LeadConvert,
) -> Result<Converted, ApiError> {
    if !lc.lead.starts_with("00Q") {
        return Err(refused(
            "INVALID_CROSS_REFERENCE_KEY",
            format!("invalid cross reference id: {}", lc.lead),
        ));
    }
    let lead = live(st, org, "Lead", &lc.lead)?.clone();
    if lead.get("IsConverted") == Some(&Value::Bool(true)) {
        return Err(refused(
            "CANNOT_UPDATE_CONVERTED_LEAD",
            "cannot reference converted lead",
        ));
    }
    let status = lc.status.clone().unwrap_or_default();
    if !CONVERTED_LEAD_STATUSES.contains(&status.as_str()) {
        return Err(refused(
            "INVALID_STATUS",
            format!("invalid convertedStatus: {status}"),
        )
        .with_fields(vec!["convertedStatus".into()]));
    }
    if lc.contact.is_some() && lc.account.is_none() {
        return Err(refused(
            "REQUIRED_FIELD_MISSING",
            "accountId is required when contactId is given",
        )
        .with_fields(vec!["accountId".into()]));
    }
    let account = match &lc.account {
        Some(id) => Some(live(st, org, "Account", id)?.clone()),
        None => None,
    };
    let contact = match &lc.contact {
        Some(id) => Some(live(st, org, "Contact", id)?.clone()),
        None => None,
    };
    if let (Some(c), Some(a)) = (&contact, &lc.account)
        && c.get("AccountId").and_then(Value::as_str) != Some(a.as_str())
    {
        return Err(refused(
            "FIELD_INTEGRITY_EXCEPTION",
            "the contact must belong to the given account",
        )
        .with_fields(vec!["contactId".into()]));
    }
    let owner = match &lc.owner {
        Some(o) => {
            live(st, org, "User", o)?;
            Some(json!(o))
        }
        None => lead.get("OwnerId").cloned(),
    };
    let opts = WriteOpts {
        user_id: Some(user.to_string()),
        stamp: None,
        admin: false,
    };
    let merge = WriteOpts {
        admin: true,
        ..opts.clone()
    };
    let mut created: Vec<(&str, String)> = Vec::new();
    let result = (|| -> Result<Converted, ApiError> {
        let account_id = match (&lc.account, &account) {
            (Some(id), Some(existing)) => {
                let fill = mapped(st, org, "Account", &lead, ACCOUNT_MAP, Some(existing));
                if !fill.is_empty() {
                    update(st, org, "Account", id, &fill, &merge)?;
                }
                id.clone()
            }
            _ => {
                let mut fields = mapped(st, org, "Account", &lead, ACCOUNT_MAP, None);
                if let Some(o) = &owner {
                    fields.insert("OwnerId".into(), o.clone());
                }
                let id = create(st, org, "Account", &fields, &opts)?;
                created.push(("Account", id.clone()));
                id
            }
        };
        let contact_id = match (&lc.contact, &contact) {
            (Some(id), Some(existing)) => {
                let mut fill = mapped(st, org, "Contact", &lead, CONTACT_MAP, Some(existing));
                if lc.overwrite_lead_source
                    && let Some(src) = text(&lead, "LeadSource")
                {
                    fill.insert("LeadSource".into(), src);
                }
                if !fill.is_empty() {
                    update(st, org, "Contact", id, &fill, &merge)?;
                }
                id.clone()
            }
            _ => {
                let mut fields = mapped(st, org, "Contact", &lead, CONTACT_MAP, None);
                fields.insert("AccountId".into(), json!(account_id));
                if let Some(o) = &owner {
                    fields.insert("OwnerId".into(), o.clone());
                }
                let id = create(st, org, "Contact", &fields, &opts)?;
                created.push(("Contact", id.clone()));
                id
            }
        };
        let opportunity = if lc.no_opportunity {
            None
        } else {
            let today = st.clock.now().date_naive();
            let name = lc
                .opportunity_name
                .clone()
                .or_else(|| {
                    lead.get("Company")
                        .and_then(Value::as_str)
                        .map(str::to_string)
                })
                .unwrap_or_default();
            let mut fields = Map::new();
            fields.insert("Name".into(), json!(name));
            fields.insert("StageName".into(), json!(crate::schema::STAGES[0]));
            fields.insert(
                "CloseDate".into(),
                json!(quarter_end(today).format("%Y-%m-%d").to_string()),
            );
            fields.insert("AccountId".into(), json!(account_id));
            fields.insert("ContactId".into(), json!(contact_id));
            if let Some(src) = text(&lead, "LeadSource") {
                fields.insert("LeadSource".into(), src);
            }
            if let Some(o) = &owner {
                fields.insert("OwnerId".into(), o.clone());
            }
            let id = create(st, org, "Opportunity", &fields, &opts)?;
            created.push(("Opportunity", id.clone()));
            Some(id)
        };
        let today = st.clock.now().date_naive().format("%Y-%m-%d").to_string();
        let mut done = Map::new();
        done.insert("Status".into(), json!(status));
        done.insert("IsConverted".into(), json!(true));
        done.insert("ConvertedDate".into(), json!(today));
        done.insert("ConvertedAccountId".into(), json!(account_id));
        done.insert("ConvertedContactId".into(), json!(contact_id));
        done.insert("ConvertedOpportunityId".into(), json!(opportunity));
        update(st, org, "Lead", &lc.lead, &done, &merge)?;
        reparent_activities(
            st,
            org,
            &lc.lead,
            &contact_id,
            opportunity.as_deref(),
            &merge,
        )?;
        Ok(Converted {
            account: account_id,
            contact: contact_id,
            lead: lc.lead.clone(),
            opportunity,
        })
    })();
    if result.is_err() {
        for (object, id) in created {
            st.orgs[org].store.remove(object, &id);
        }
    }
    result
}

/// The converted Lead's live Tasks move to what it became: `WhoId` the Contact and, when
/// the conversion made an Opportunity, `WhatId` that Opportunity (a Task about a Lead has
/// no `WhatId`, so it stays blank otherwise); their `LastModifiedDate` and
/// `LastModifiedById` are stamped. Relied on: Salesforce Help, "Activity history on a
/// Lead when it is converted" (knowledge article 000385227: the activities' "Name" is
/// set to the Contact and "Related To" to the Opportunity if one is created, and the
/// Last Modified fields are updated) and "Considerations for Converting Leads"
/// (`leads_notes.htm`: all activities of the converted lead are attached to the resulting
/// account, contact and opportunity).
fn reparent_activities(
    st: &mut State,
    org: usize,
    lead: &str,
    contact: &str,
    opportunity: Option<&str>,
    opts: &WriteOpts,
) -> Result<(), ApiError> {
    let tasks: Vec<String> = st.orgs[org]
        .store
        .records("Task")
        .filter(|r| !r.deleted && r.get("WhoId").as_str() == Some(lead))
        .map(|r| r.id.clone())
        .collect();
    let mut fields = Map::new();
    fields.insert("WhoId".into(), json!(contact));
    if let Some(o) = opportunity {
        fields.insert("WhatId".into(), json!(o));
    }
    for id in tasks {
        update(st, org, "Task", &id, &fields, opts)?;
    }
    Ok(())
}

fn write_result(out: &mut Out, r: &Result<Converted, ApiError>) {
    out.open("result", &[]);
    match r {
        Ok(c) => {
            out.leaf("accountId", Some(&c.account))
                .leaf("contactId", Some(&c.contact))
                .leaf("leadId", Some(&c.lead))
                .leaf("opportunityId", c.opportunity.as_deref())
                .leaf("success", Some("true"));
        }
        Err(e) => {
            out.leaf("accountId", None).leaf("contactId", None);
            out.open("errors", &[]);
            for f in &e.fields {
                out.leaf("fields", Some(f));
            }
            out.leaf("message", Some(&e.message))
                .leaf("statusCode", Some(&e.code))
                .close("errors");
            out.leaf("leadId", None)
                .leaf("opportunityId", None)
                .leaf("success", Some("false"));
        }
    }
    out.close("result");
}

/// Serves one `convertLead` request, authenticated by its `SessionHeader`.
pub async fn handle(shared: &Shared, root: &Element, op: &Element) -> Response {
    let session = root
        .path(&["Header", "SessionHeader", "sessionId"])
        .map(|e| e.text.trim().to_string())
        .unwrap_or_default();
    let invalid = || {
        fault(
            "INVALID_SESSION_ID",
            "Invalid Session ID found in SessionHeader: Illegal Session",
        )
    };
    let (org, user, latency) = {
        let mut st = shared.lock().unwrap_or_else(|e| e.into_inner());
        let Some(grant) = st.access.get(&session).cloned() else {
            return invalid();
        };
        if grant.expires <= st.clock.now() {
            return invalid();
        }
        let f = &mut st.orgs[grant.org].faults;
        if f.force_401 || f.take_unauthorized() {
            return invalid();
        }
        if f.api_disabled {
            return fault(
                "API_DISABLED_FOR_ORG",
                "API is not enabled for this Organization or Partner",
            );
        }
        (grant.org, grant.user_id, f.latency_ms)
    };
    if latency > 0 {
        tokio::time::sleep(std::time::Duration::from_millis(latency)).await;
    }
    let mut converts = Vec::new();
    for e in op.children_named("leadConverts") {
        match read(e) {
            Ok(lc) => converts.push(lc),
            Err(message) => return fault("MALFORMED_ID", &message),
        }
    }
    let mut guard = shared.lock().unwrap_or_else(|e| e.into_inner());
    let st: &mut State = &mut guard;
    let now = st.clock.now();
    let o = &st.orgs[org];
    if o.meter.used(now) >= o.settings.daily_api_limit
        || o.settings
            .app_quota
            .as_ref()
            .is_some_and(|q| o.app_meter.used(now) >= q.max)
    {
        return fault("REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded.");
    }
    let faults = o.faults.clone();
    st.orgs[org].meter.add(now, 1);
    st.orgs[org].app_meter.add(now, 1);
    st.orgs[org].count("soap.convertLead");
    if faults.error_rate > 0.0 && st.rng.random_bool(faults.error_rate.clamp(0.0, 1.0)) {
        return match faults.error_status {
            Some(503) => respond(StatusCode::SERVICE_UNAVAILABLE, String::new()),
            _ => fault("UNKNOWN_EXCEPTION", "An unexpected error occurred."),
        };
    }
    let locked =
        faults.lock_row_rate > 0.0 && st.rng.random_bool(faults.lock_row_rate.clamp(0.0, 1.0));
    let lost = !locked && faults.loses_commit(&mut st.rng);
    st.orgs[org].acting_user = Some(user.clone());
    let results: Vec<Result<Converted, ApiError>> = converts
        .iter()
        .map(|lc| {
            if locked {
                Err(refused(
                    "UNABLE_TO_LOCK_ROW",
                    "unable to obtain exclusive access to this record",
                ))
            } else {
                convert_one(st, org, &user, lc)
            }
        })
        .collect();
    st.orgs[org].acting_user = None;
    if lost {
        return fault(
            "UNKNOWN_EXCEPTION",
            "An unexpected error occurred (the response was lost after the conversion committed)",
        );
    }
    let used = st.orgs[org].meter.used(now);
    let limit = st.orgs[org].settings.daily_api_limit;
    super::envelope(Some((used, limit)), |out| {
        out.open("convertLeadResponse", &[]);
        for r in &results {
            write_result(out, r);
        }
        out.close("convertLeadResponse");
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quarters_end_on_their_last_day() {
        let d = |y, m, day| NaiveDate::from_ymd_opt(y, m, day).unwrap();
        assert_eq!(quarter_end(d(2026, 12, 1)), d(2026, 12, 31));
        assert_eq!(quarter_end(d(2026, 1, 15)), d(2026, 3, 31));
        assert_eq!(quarter_end(d(2026, 5, 31)), d(2026, 6, 30));
    }
}
