//! Converting a person's Lead before its event is planned (issue 13, item 5): a person
//! crmsync linked as a Lead that the event turns into a Contact (a sale, a known Contact
//! id, a demo set into the held phase) is converted with `convertLead`, into its linked
//! Account and the Contact the event names where there are such, and its links move to
//! what the Lead became ([`crate::conversion::move_links`]). The event is then planned
//! against those links: it updates the Contact (and closes a sale's Opportunity) instead
//! of creating a second person.
//!
//! Redelivery: a conversion whose answer was lost is not repeated blindly. Converting the
//! Lead again fails with `CANNOT_UPDATE_CONVERTED_LEAD`; the Lead is then read back
//! (`Converted…Id`) and its links moved as if the answer had arrived. A poll in between
//! moves them the same way.

use std::collections::BTreeMap;

use crmsync_core::config::SyncConfig;
use crmsync_core::conversion::{Converted, lead_conversion};
use crmsync_core::event::AppEvent;
use crmsync_core::types::Link as CoreLink;
use crmsync_salesforce::{CANNOT_UPDATE_CONVERTED_LEAD, LeadConvert, SfClient, SfError};
use crmsync_store::Connection;

use super::budget::Budget;
use crate::app::App;
use crate::error::ServiceError;

/// How converting before the plan went.
#[derive(Debug)]
pub(super) enum Conversion {
    /// Nothing to convert, or converted and the links moved (`links` updated).
    Ready,
    /// The conversion's call does not fit the budget: park the event.
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

/// Converts the person's Lead when `event` calls for it and moves `links` with it.
pub(super) async fn convert_first(
    app: &App,
    conn: &Connection,
    client: &SfClient,
    config: &SyncConfig,
    event: &AppEvent,
    links: &mut BTreeMap<String, CoreLink>,
    budget: &mut Budget,
) -> Result<Conversion, ServiceError> {
    let Some(plan) = lead_conversion(config, links, event) else {
        return Ok(Conversion::Ready);
    };
    // Reading a named Contact's Account, then the conversion itself.
    let calls = 1 + u64::from(plan.contact_id.is_some());
    if !budget.reserve(app, conn, client, calls).await? {
        return Ok(Conversion::OverBudget);
    }
    let mut request = LeadConvert::new(&plan.lead_id, &plan.converted_status);
    request.account_id = plan.account_id.clone();
    request.owner_id = None;
    if let Some(contact) = &plan.contact_id {
        // Salesforce merges into a Contact only together with that Contact's Account.
        let read = client.get("Contact", contact, &["AccountId"]).await;
        match read.as_ref().map(|r| r.get_str("AccountId")) {
            Ok(Some(account)) => {
                request.account_id = Some(account.to_string());
                request.contact_id = Some(contact.clone());
            }
            // A Contact without an Account cannot take a Lead: plan as before.
            Ok(None) => return Ok(Conversion::Ready),
            Err(e) if e.is_retryable() => return Ok(Conversion::Retry),
            Err(e) if e.is_auth() || e.is_rate_limited() => return Err(read.unwrap_err().into()),
            Err(e) => return Ok(refused(&plan.lead_id, e)),
        }
    }
    if let Some(name) = &plan.opportunity_name {
        request.do_not_create_opportunity = false;
        request.opportunity_name = Some(name.clone());
    }
    let converted = match client.convert_lead(&request).await {
        Ok(done) => Converted {
            lead_id: crmsync_core::sfid::canonical(&done.lead_id),
            account_id: Some(crmsync_core::sfid::canonical(&done.account_id)),
            contact_id: crmsync_core::sfid::canonical(&done.contact_id),
            opportunity_id: done
                .opportunity_id
                .as_deref()
                .map(crmsync_core::sfid::canonical),
        },
        // Converted already: an earlier attempt whose answer was lost, or a user.
        Err(e) if e.code() == Some(CANNOT_UPDATE_CONVERTED_LEAD) => {
            match crate::conversion::read_converted(client, &plan.lead_id).await? {
                Some(done) => done,
                None => return Ok(refused(&plan.lead_id, &e)),
            }
        }
        Err(e) if e.is_retryable() => return Ok(Conversion::Retry),
        Err(e) if e.is_auth() || e.is_rate_limited() => return Err(e.into()),
        Err(e) => return Ok(refused(&plan.lead_id, &e)),
    };
    tracing::info!(
        lead = converted.lead_id,
        contact = converted.contact_id,
        "Lead converted before the push"
    );
    *links = crate::conversion::move_links(app, conn, &event.app_id, links, &converted, "crmsync")
        .await?;
    Ok(Conversion::Ready)
}
