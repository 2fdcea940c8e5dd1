//! Converting people's Leads before their events are planned (issue 13, item 5): a person
//! crmsync linked as a Lead that the event turns into a Contact (a sale, a known Contact
//! id, a demo set into the held phase) is converted with `convertLead`, into its linked
//! Account and the Contact the event names where there are such, and its links move to
//! what the Lead became ([`crate::conversion::move_links`]). The event is then planned
//! against those links: it updates the Contact (and closes a sale's Opportunity) instead
//! of creating a second person. A wave's conversions share `convertLead` calls (up to
//! [`CONVERT_MAX`] Leads each), booked against the budget before they are sent.
//!
//! Redelivery: a conversion whose answer was lost is not repeated blindly. Converting the
//! Lead again fails with `CANNOT_UPDATE_CONVERTED_LEAD`; the Lead is then read back
//! (`Converted…Id`) and its links moved as if the answer had arrived. A poll, or the
//! push's catch-up read, in between moves them the same way.

use std::collections::BTreeMap;

use crmsync_core::config::SyncConfig;
use crmsync_core::conversion::{Converted, lead_conversion, match_queries};
use crmsync_core::event::AppEvent;
use crmsync_core::matching::{
    AccountCandidate, ContactCandidate, account_lookups, contact_lookups, match_account,
    match_contact,
};
use crmsync_core::sfid::canonical;
use crmsync_core::types::Link as CoreLink;
use crmsync_salesforce::{
    CANNOT_UPDATE_CONVERTED_LEAD, CONVERT_MAX, LeadConvert, LeadConverted, SfClient, SfError,
    convert_error,
};
use crmsync_store::Connection;

use super::budget::Budget;
use super::prefetch::{Prefetched, prefetch_with_keys};
use super::steps::lookup_rows;
use crate::app::App;
use crate::error::ServiceError;
use crate::messages::PushMessage;

/// How converting before the plan went, per event.
#[derive(Debug)]
pub(super) enum Conversion {
    /// Nothing to convert, or converted and the links moved.
    Ready,
    /// The conversion's calls do not fit the budget: park the event.
    OverBudget,
    /// A transient failure (row lock, server error): redeliver the event.
    Retry,
    /// Salesforce refused it (`INVALID_STATUS`, a validation rule, …): report it.
    Refused { code: String, reason: String },
}

fn refused(lead: &str, e: &SfError) -> Conversion {
    Conversion::Refused {
        code: e.code().unwrap_or("LEAD_CONVERSION_FAILED").to_string(),
        reason: format!("converting Lead {lead} failed: {e}"),
    }
}

/// A failed call or read, per event: transient → retry, session or quota → the batch's
/// error, else refused.
fn failed(lead: &str, e: SfError) -> Result<Conversion, ServiceError> {
    if e.is_retryable() {
        Ok(Conversion::Retry)
    } else if e.is_auth() || e.is_rate_limited() {
        Err(e.into())
    } else {
        Ok(refused(lead, &e))
    }
}

fn converted_of(done: LeadConverted) -> Converted {
    Converted {
        lead_id: canonical(&done.lead_id),
        account_id: Some(canonical(&done.account_id)),
        contact_id: canonical(&done.contact_id),
        opportunity_id: done.opportunity_id.as_deref().map(canonical),
    }
}

/// The `convertLead` request of one event, or its outcome when it needs none.
async fn request_for(
    client: &SfClient,
    config: &SyncConfig,
    msg: &PushMessage,
    links: &BTreeMap<String, CoreLink>,
) -> Result<Result<LeadConvert, Conversion>, ServiceError> {
    let Some(plan) = lead_conversion(config, links, &msg.event) else {
        return Ok(Err(Conversion::Ready));
    };
    let mut request = LeadConvert::new(&plan.lead_id, &plan.converted_status);
    request.account_id = plan.account_id.clone();
    if let Some(contact) = &plan.contact_id {
        // Salesforce merges into a Contact only together with that Contact's Account.
        match client.get("Contact", contact, &["AccountId"]).await {
            Ok(r) => match r.get_str("AccountId") {
                Some(account) => {
                    request.account_id = Some(account.to_string());
                    request.contact_id = Some(contact.clone());
                }
                // A Contact without an Account cannot take a Lead: plan as before.
                None => return Ok(Err(Conversion::Ready)),
            },
            Err(e) => return failed(&plan.lead_id, e).map(Err),
        }
    }
    if let Some(name) = &plan.opportunity_name {
        request.do_not_create_opportunity = false;
        request.opportunity_name = Some(name.clone());
    }
    Ok(Ok(request))
}

/// Whether `sf_id` is linked to an app record other than person `app_id`.
async fn linked_elsewhere(
    app: &App,
    conn: &Connection,
    sf_id: &str,
    app_id: &str,
) -> Result<bool, ServiceError> {
    Ok(
        crate::links::link_by_sf_id(app, &conn.tenant, &conn.id, sf_id)
            .await?
            .is_some_and(|l| l.app_id != app_id),
    )
}

/// Seed 003's cascades for a conversion with no linked Account: the Account the event's
/// phone, name and city match, then the Contact its phone and last name match under it
/// (unless another app record has it). Account candidates come from the wave's prefetch.
async fn match_targets(
    app: &App,
    conn: &Connection,
    client: &SfClient,
    config: &SyncConfig,
    pre: &Prefetched,
    event: &AppEvent,
    request: &mut LeadConvert,
) -> Result<(), ServiceError> {
    let (account_q, contact_q) = match_queries(config, event);
    let city = &config.matching.account_city_field;
    let mut accounts: Vec<AccountCandidate> = Vec::new();
    for lookup in account_lookups(&account_q, city) {
        for r in lookup_rows(client, pre, &lookup).await? {
            if let Some(c) = AccountCandidate::from_record(&r, city)
                && !accounts.iter().any(|x| x.id == c.id)
            {
                accounts.push(c);
            }
        }
    }
    let Some(account) = match_account(&account_q, &accounts)
        .matched_id()
        .map(canonical)
    else {
        return Ok(());
    };
    request.account_id = Some(account.clone());
    let mut contacts = Vec::new();
    for lookup in contact_lookups(&contact_q, &account) {
        for r in lookup_rows(client, pre, &lookup).await? {
            if let Some(c) = ContactCandidate::from_record(&r) {
                contacts.push(c);
            }
        }
    }
    if let Some(contact) = match_contact(&contact_q, &account, &contacts)
        .matched_id()
        .map(canonical)
        && !linked_elsewhere(app, conn, &contact, &event.app_id).await?
    {
        request.contact_id = Some(contact);
    }
    Ok(())
}

/// Converts the Leads the wave's events call for and moves each person's links (`links`
/// of each item updated); one outcome per item, in order.
pub(super) async fn convert_wave(
    app: &App,
    conn: &Connection,
    client: &SfClient,
    config: &SyncConfig,
    items: &mut [(String, PushMessage, BTreeMap<String, CoreLink>)],
    budget: &mut Budget,
) -> Result<Vec<Conversion>, ServiceError> {
    let wanted: Vec<usize> = (0..items.len())
        .filter(|&i| lead_conversion(config, &items[i].2, &items[i].1.event).is_some())
        .collect();
    let mut outcomes: Vec<Conversion> = items.iter().map(|_| Conversion::Ready).collect();
    if wanted.is_empty() {
        return Ok(outcomes);
    }
    // The conversion calls and the reads of named Contacts' Accounts, booked up front.
    let reads = wanted
        .iter()
        .filter(|&&i| {
            lead_conversion(config, &items[i].2, &items[i].1.event)
                .is_some_and(|p| p.contact_id.is_some())
        })
        .count();
    let calls = wanted.len().div_ceil(CONVERT_MAX) + reads;
    if !budget.reserve(app, conn, client, calls as u64).await? {
        for &i in &wanted {
            outcomes[i] = Conversion::OverBudget;
        }
        return Ok(outcomes);
    }
    let mut requests: Vec<(usize, LeadConvert)> = Vec::new();
    for &i in &wanted {
        match request_for(client, config, &items[i].1, &items[i].2).await? {
            Ok(r) => requests.push((i, r)),
            Err(outcome) => outcomes[i] = outcome,
        }
    }
    // Leads with no Account to merge into: the account cascade, its lookups in one
    // composite request for the wave.
    let unmatched: Vec<usize> = (0..requests.len())
        .filter(|&k| requests[k].1.account_id.is_none())
        .collect();
    if !unmatched.is_empty() {
        let city = &config.matching.account_city_field;
        let lookups: Vec<_> = unmatched
            .iter()
            .flat_map(|&k| {
                account_lookups(
                    &match_queries(config, &items[requests[k].0].1.event).0,
                    city,
                )
            })
            .collect();
        let refs: Vec<_> = lookups.iter().collect();
        let pre = prefetch_with_keys(client, &refs, &[]).await?;
        for k in unmatched {
            let (i, request) = &mut requests[k];
            let event = &items[*i].1.event;
            match_targets(app, conn, client, config, &pre, event, request).await?;
        }
    }
    for chunk in requests.chunks(CONVERT_MAX) {
        let converts: Vec<LeadConvert> = chunk.iter().map(|(_, r)| r.clone()).collect();
        let results = match client.convert_leads(&converts).await {
            Ok(results) => results,
            Err(e) => {
                for (i, r) in chunk {
                    outcomes[*i] = failed(&r.lead_id, e.clone())?;
                }
                continue;
            }
        };
        for ((i, request), result) in chunk.iter().zip(results) {
            let converted = match result {
                Ok(done) => converted_of(done),
                // Converted already: an earlier attempt whose answer was lost, or a user.
                Err(e) if e.status_code == CANNOT_UPDATE_CONVERTED_LEAD => {
                    match crate::conversion::read_converted(client, &request.lead_id).await {
                        Ok(Some(done)) => done,
                        Ok(None) => {
                            outcomes[*i] = refused(&request.lead_id, &convert_error(e));
                            continue;
                        }
                        Err(ServiceError::Salesforce(e)) => {
                            outcomes[*i] = failed(&request.lead_id, e)?;
                            continue;
                        }
                        Err(other) => return Err(other),
                    }
                }
                Err(e) => {
                    outcomes[*i] = failed(&request.lead_id, convert_error(e))?;
                    continue;
                }
            };
            tracing::info!(
                lead = converted.lead_id,
                contact = converted.contact_id,
                "Lead converted before the push"
            );
            let (_, msg, links) = &mut items[*i];
            *links = crate::conversion::move_links(
                app,
                conn,
                &msg.event.app_id,
                links,
                &converted,
                "crmsync",
            )
            .await?;
        }
    }
    Ok(outcomes)
}
