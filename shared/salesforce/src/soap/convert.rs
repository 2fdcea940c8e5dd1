//! `convertLead` (SOAP): a Lead becomes an Account, a Contact and optionally an
//! Opportunity, or merges into a given Account and Contact.
//!
//! Relied on (SOAP API Developer Guide: `convertLead()`, `LeadConvert`,
//! `LeadConvertResult`; partner WSDL `LeadConvert` sequence as printed by the teiid and
//! zkSforce bindings): the request's `leadConverts` elements, in WSDL order `accountId`,
//! `contactId`, `convertedStatus`, `doNotCreateOpportunity`, `leadId`, `opportunityName`,
//! `overwriteLeadSource`, `ownerId`, `sendNotificationEmail`; `convertedStatus` must be a
//! `LeadStatus` with `IsConverted = true`; `contactId` needs `accountId`; one `result` per
//! Lead, in order, with `accountId`, `contactId`, `leadId`, `opportunityId`, `success` and
//! on failure `errors` (`statusCode`, `message`, `fields`). A Lead converted before fails
//! with `CANNOT_UPDATE_CONVERTED_LEAD` (the same code a REST update of it gets).

use super::xml::{Element, Out};
use crate::client::SfClient;
use crate::collections::RecordError;
use crate::error::SfError;
use crate::sobjects::check_id;

/// Leads converted per call: 100, the limit Apex's `Database.convertLead` documents; the
/// SOAP guide states none for `convertLead()`, so crmsync does not assume more.
pub const CONVERT_MAX: usize = 100;

/// The error code of converting (or updating) a Lead that is already converted.
pub const CANNOT_UPDATE_CONVERTED_LEAD: &str = "CANNOT_UPDATE_CONVERTED_LEAD";

/// One Lead to convert (`LeadConvert`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LeadConvert {
    pub lead_id: String,
    /// A `LeadStatus` whose `IsConverted` is true (an org's default: `Closed - Converted`).
    pub converted_status: String,
    /// Merge into this Account instead of creating one.
    pub account_id: Option<String>,
    /// Merge into this Contact (of `account_id`) instead of creating one.
    pub contact_id: Option<String>,
    pub owner_id: Option<String>,
    pub opportunity_name: Option<String>,
    pub do_not_create_opportunity: bool,
    pub overwrite_lead_source: bool,
    pub send_notification_email: bool,
}

impl LeadConvert {
    pub fn new(lead_id: impl Into<String>, converted_status: impl Into<String>) -> Self {
        LeadConvert {
            lead_id: lead_id.into(),
            converted_status: converted_status.into(),
            account_id: None,
            contact_id: None,
            owner_id: None,
            opportunity_name: None,
            do_not_create_opportunity: true,
            overwrite_lead_source: false,
            send_notification_email: false,
        }
    }

    fn check(&self) -> Result<(), SfError> {
        check_id(&self.lead_id)?;
        for id in [&self.account_id, &self.contact_id, &self.owner_id]
            .into_iter()
            .flatten()
        {
            check_id(id)?;
        }
        if self.contact_id.is_some() && self.account_id.is_none() {
            return Err(SfError::invalid(
                "contactId",
                "a Contact to merge into needs its accountId",
            ));
        }
        if self.converted_status.trim().is_empty() {
            return Err(SfError::invalid("convertedStatus", "is empty"));
        }
        Ok(())
    }

    fn write(&self, out: &mut Out) {
        let bool_text = |b: bool| if b { "true" } else { "false" };
        out.open("urn:leadConverts", &[]);
        if let Some(a) = &self.account_id {
            out.leaf("urn:accountId", Some(a));
        }
        if let Some(c) = &self.contact_id {
            out.leaf("urn:contactId", Some(c));
        }
        out.leaf("urn:convertedStatus", Some(&self.converted_status))
            .leaf(
                "urn:doNotCreateOpportunity",
                Some(bool_text(self.do_not_create_opportunity)),
            )
            .leaf("urn:leadId", Some(&self.lead_id));
        if let Some(n) = &self.opportunity_name {
            out.leaf("urn:opportunityName", Some(n));
        }
        out.leaf(
            "urn:overwriteLeadSource",
            Some(bool_text(self.overwrite_lead_source)),
        );
        if let Some(o) = &self.owner_id {
            out.leaf("urn:ownerId", Some(o));
        }
        out.leaf(
            "urn:sendNotificationEmail",
            Some(bool_text(self.send_notification_email)),
        )
        .close("urn:leadConverts");
    }
}

/// A converted Lead (`LeadConvertResult` with `success` true).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LeadConverted {
    pub lead_id: String,
    pub account_id: String,
    pub contact_id: String,
    pub opportunity_id: Option<String>,
}

fn read_result(r: &Element) -> Result<Result<LeadConverted, RecordError>, SfError> {
    if r.text_of("success") == Some("true") {
        let id = |name: &str| {
            r.text_of(name)
                .map(str::to_string)
                .ok_or_else(|| SfError::decode("convertLead result", format!("no {name}")))
        };
        return Ok(Ok(LeadConverted {
            lead_id: id("leadId")?,
            account_id: id("accountId")?,
            contact_id: id("contactId")?,
            opportunity_id: r.text_of("opportunityId").map(str::to_string),
        }));
    }
    let e = r
        .child("errors")
        .ok_or_else(|| SfError::decode("convertLead result", "success=false without errors"))?;
    Ok(Err(RecordError {
        status_code: e.text_of("statusCode").unwrap_or("UNKNOWN").to_string(),
        message: e.text_of("message").unwrap_or_default().to_string(),
        fields: e
            .children_named("fields")
            .map(|f| f.text.trim().to_string())
            .collect(),
    }))
}

/// A refused conversion as an error: retryable when the record error is (a row lock).
pub fn record_error(e: RecordError) -> SfError {
    if e.is_retryable() {
        SfError::Retryable {
            status: None,
            code: e.status_code,
            message: e.message,
        }
    } else {
        SfError::Permanent {
            status: 400,
            code: e.status_code,
            message: e.message,
            fields: e.fields,
        }
    }
}

impl SfClient {
    /// Converts up to [`CONVERT_MAX`] Leads in one call (one API request); one outcome per
    /// Lead, in order. The call as a whole fails on a fault (session, limit, server).
    pub async fn convert_leads(
        &self,
        converts: &[LeadConvert],
    ) -> Result<Vec<Result<LeadConverted, RecordError>>, SfError> {
        if converts.len() > CONVERT_MAX {
            return Err(SfError::invalid(
                "leadConverts",
                format!("at most {CONVERT_MAX} Leads per call"),
            ));
        }
        for c in converts {
            c.check()?;
        }
        if converts.is_empty() {
            return Ok(Vec::new());
        }
        let body = self
            .execute_soap(&|out: &mut Out| {
                out.open("urn:convertLead", &[]);
                for c in converts {
                    c.write(out);
                }
                out.close("urn:convertLead");
            })
            .await?;
        let response = body
            .child("convertLeadResponse")
            .ok_or_else(|| SfError::decode("convertLead", "no convertLeadResponse"))?;
        let results = response
            .children_named("result")
            .map(read_result)
            .collect::<Result<Vec<_>, _>>()?;
        if results.len() != converts.len() {
            return Err(SfError::decode(
                "convertLead",
                format!("{} results for {} Leads", results.len(), converts.len()),
            ));
        }
        Ok(results)
    }

    /// Converts one Lead; a refused conversion is an [`SfError`] with Salesforce's code
    /// (`CANNOT_UPDATE_CONVERTED_LEAD`, `INVALID_STATUS`, …), retryable for a row lock.
    pub async fn convert_lead(&self, convert: &LeadConvert) -> Result<LeadConverted, SfError> {
        let mut results = self.convert_leads(std::slice::from_ref(convert)).await?;
        results.remove(0).map_err(record_error)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::soap::xml::parse;

    #[test]
    fn writes_the_wsdl_order_and_leaves_out_what_is_unset() {
        let mut c = LeadConvert::new("00Q000000000001AAA", "Closed - Converted");
        c.account_id = Some("001000000000001AAA".into());
        c.opportunity_name = Some("Fry & Sons".into());
        let mut out = Out::new();
        c.write(&mut out);
        let xml = out.finish();
        let names: Vec<String> = parse(&xml)
            .unwrap()
            .children
            .iter()
            .map(|e| e.name.clone())
            .collect();
        assert_eq!(
            names,
            [
                "accountId",
                "convertedStatus",
                "doNotCreateOpportunity",
                "leadId",
                "opportunityName",
                "overwriteLeadSource",
                "sendNotificationEmail"
            ]
        );
        assert!(xml.contains("Fry &amp; Sons"));
    }

    #[test]
    fn reads_success_and_failure_results() {
        let ok = parse(
            "<result><accountId>001A</accountId><contactId>003A</contactId><leadId>00QA</leadId>\
             <opportunityId xsi:nil=\"true\"/><success>true</success></result>",
        )
        .unwrap();
        let ok = read_result(&ok).unwrap().unwrap();
        assert_eq!(ok.contact_id, "003A");
        assert_eq!(ok.opportunity_id, None);
        let failed = parse(
            "<result><accountId xsi:nil=\"true\"/><contactId xsi:nil=\"true\"/><errors>\
             <fields>convertedStatus</fields><message>invalid convertedStatus: X</message>\
             <statusCode>INVALID_STATUS</statusCode></errors><leadId xsi:nil=\"true\"/>\
             <opportunityId xsi:nil=\"true\"/><success>false</success></result>",
        )
        .unwrap();
        let e = read_result(&failed).unwrap().unwrap_err();
        assert_eq!(e.status_code, "INVALID_STATUS");
        assert_eq!(e.fields, ["convertedStatus"]);
        assert!(!record_error(e).is_retryable());
        let lock = RecordError {
            status_code: "UNABLE_TO_LOCK_ROW".into(),
            message: String::new(),
            fields: vec![],
        };
        assert!(record_error(lock).is_retryable());
    }

    #[test]
    fn refuses_bad_input_before_sending() {
        let mut c = LeadConvert::new("00Q000000000001AAA", "Closed - Converted");
        c.contact_id = Some("003000000000001AAA".into());
        assert!(c.check().is_err(), "contactId without accountId");
        assert!(LeadConvert::new("not an id", "x").check().is_err());
        assert!(LeadConvert::new("00Q000000000001AAA", " ").check().is_err());
    }
}
