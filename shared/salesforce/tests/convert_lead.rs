//! `convertLead` over SOAP against the emulator: what a conversion creates, merging into a
//! given Account and Contact, the refusals a real org gives, the session header and quota.

mod common;

use common::{Harness, ORG, bounded, fields};
use crmsync_salesforce::{CANNOT_UPDATE_CONVERTED_LEAD, LeadConvert, QueryScope, SfError};
use serde_json::json;

const CONVERTED: &str = "Closed - Converted";

async fn lead(client: &crmsync_salesforce::SfClient, last: &str) -> String {
    client
        .create(
            "Lead",
            &fields(json!({"LastName": last, "Company": format!("{last} Ltd"),
                           "Phone": "+1 555 0101", "Email": format!("{last}@x.io"),
                           "City": "Leeds", "LeadSource": "Web"})),
        )
        .await
        .unwrap()
}

#[tokio::test]
async fn a_conversion_creates_account_contact_and_opportunity_and_closes_the_lead() {
    bounded(async {
        let h = Harness::start().await;
        let (client, _) = h.client();
        let id = lead(&client, "Fry").await;
        let mut c = LeadConvert::new(&id, CONVERTED);
        c.do_not_create_opportunity = false;
        c.opportunity_name = Some("Fry & Sons deal".into());
        let before = h.emu.admin().api_count(ORG, "soap.convertLead").unwrap();
        let done = client.convert_lead(&c).await.unwrap();
        assert_eq!(
            h.emu.admin().api_count(ORG, "soap.convertLead").unwrap(),
            before + 1
        );
        assert!(
            client.last_api_usage().is_some(),
            "LimitInfoHeader was read"
        );
        assert_eq!(done.lead_id, id);
        let opp = done.opportunity_id.clone().expect("an Opportunity");

        let l = client
            .get(
                "Lead",
                &id,
                &[
                    "IsConverted",
                    "Status",
                    "ConvertedAccountId",
                    "ConvertedContactId",
                    "ConvertedOpportunityId",
                    "ConvertedDate",
                ],
            )
            .await
            .unwrap();
        assert_eq!(l.fields["IsConverted"], json!(true));
        assert_eq!(l.get_str("Status"), Some(CONVERTED));
        assert_eq!(
            l.get_str("ConvertedAccountId"),
            Some(done.account_id.as_str())
        );
        assert_eq!(
            l.get_str("ConvertedContactId"),
            Some(done.contact_id.as_str())
        );
        assert_eq!(l.get_str("ConvertedOpportunityId"), Some(opp.as_str()));
        assert!(l.get_str("ConvertedDate").is_some());

        let contact = client
            .get(
                "Contact",
                &done.contact_id,
                &["LastName", "Email", "AccountId", "MailingCity"],
            )
            .await
            .unwrap();
        assert_eq!(contact.get_str("LastName"), Some("Fry"));
        assert_eq!(contact.get_str("MailingCity"), Some("Leeds"));
        assert_eq!(contact.get_str("AccountId"), Some(done.account_id.as_str()));
        let account = client
            .get("Account", &done.account_id, &["Name"])
            .await
            .unwrap();
        assert_eq!(account.get_str("Name"), Some("Fry Ltd"));
        let o = client
            .get("Opportunity", &opp, &["Name", "AccountId"])
            .await
            .unwrap();
        assert_eq!(o.get_str("Name"), Some("Fry & Sons deal"));

        // Converted: read-only over REST, and not convertible again.
        let err = client
            .update("Lead", &id, &fields(json!({"Title": "CEO"})))
            .await
            .unwrap_err();
        assert_eq!(err.code(), Some(CANNOT_UPDATE_CONVERTED_LEAD), "{err:?}");
        let err = client.convert_lead(&c).await.unwrap_err();
        assert_eq!(err.code(), Some(CANNOT_UPDATE_CONVERTED_LEAD), "{err:?}");
        assert!(!err.is_retryable());
    })
    .await;
}

#[tokio::test]
async fn a_conversion_merges_into_a_given_account_and_contact_filling_only_blanks() {
    bounded(async {
        let h = Harness::start().await;
        let (client, _) = h.client();
        let account = client
            .create("Account", &fields(json!({"Name": "Existing Co"})))
            .await
            .unwrap();
        let contact = client
            .create(
                "Contact",
                &fields(json!({"LastName": "Kept", "AccountId": account, "Email": "kept@x.io"})),
            )
            .await
            .unwrap();
        let id = lead(&client, "Merged").await;
        let mut c = LeadConvert::new(&id, CONVERTED);
        c.account_id = Some(account.clone());
        c.contact_id = Some(contact.clone());
        let done = client.convert_lead(&c).await.unwrap();
        assert_eq!(
            (done.account_id.as_str(), done.contact_id.as_str()),
            (account.as_str(), contact.as_str())
        );
        assert_eq!(done.opportunity_id, None, "doNotCreateOpportunity");
        let merged = client
            .get("Contact", &contact, &["LastName", "Email", "Phone"])
            .await
            .unwrap();
        assert_eq!(merged.get_str("LastName"), Some("Kept"), "set values stay");
        assert_eq!(merged.get_str("Email"), Some("kept@x.io"));
        assert_eq!(
            merged.get_str("Phone"),
            Some("+1 555 0101"),
            "blanks filled"
        );
        let a = client
            .get("Account", &account, &["Name", "Phone"])
            .await
            .unwrap();
        assert_eq!(a.get_str("Name"), Some("Existing Co"));
        assert_eq!(a.get_str("Phone"), Some("+1 555 0101"));
        let n = client
            .query_first_page(
                "SELECT Id FROM Account WHERE Name = 'Merged Ltd'",
                QueryScope::Live,
            )
            .await
            .unwrap();
        assert!(n.records.is_empty(), "no second Account");
    })
    .await;
}

#[tokio::test]
async fn refusals_name_salesforces_codes_and_leave_nothing_behind() {
    bounded(async {
        let h = Harness::start().await;
        let (client, _) = h.client();
        let id = lead(&client, "refused").await;
        let accounts = h.emu.admin().records(ORG, "Account").unwrap().len();

        let err = client
            .convert_lead(&LeadConvert::new(&id, "Open - Not Contacted"))
            .await
            .unwrap_err();
        assert_eq!(err.code(), Some("INVALID_STATUS"), "{err:?}");

        let mut c = LeadConvert::new(&id, CONVERTED);
        c.account_id = Some("001000000000000AAA".into());
        let err = client.convert_lead(&c).await.unwrap_err();
        assert_eq!(err.code(), Some("INVALID_CROSS_REFERENCE_KEY"), "{err:?}");

        // A Contact create refused by an org rule rolls the new Account back.
        h.emu
            .admin()
            .add_duplicate_rule(
                ORG,
                sf_emulator::DuplicateRule {
                    object: "Contact".into(),
                    name: "Same email".into(),
                    fields: vec!["Email".into()],
                },
            )
            .unwrap();
        client
            .create(
                "Contact",
                &fields(json!({"LastName": "Twin", "Email": "refused@x.io"})),
            )
            .await
            .unwrap();
        let err = client
            .convert_lead(&LeadConvert::new(&id, CONVERTED))
            .await
            .unwrap_err();
        assert_eq!(err.code(), Some("DUPLICATES_DETECTED"), "{err:?}");
        assert_eq!(
            h.emu.admin().records(ORG, "Account").unwrap().len(),
            accounts
        );
        let l = client.get("Lead", &id, &["IsConverted"]).await.unwrap();
        assert_eq!(l.fields["IsConverted"], json!(false));

        // A malformed id never reaches Salesforce.
        let err = client
            .convert_lead(&LeadConvert::new("00Qbad", CONVERTED))
            .await
            .unwrap_err();
        assert!(matches!(err, SfError::InvalidInput { .. }), "{err:?}");
    })
    .await;
}

#[tokio::test]
async fn an_expired_session_is_refreshed_once_and_a_spent_limit_is_rate_limited() {
    bounded(async {
        let h = Harness::start().await;
        let (client, _) = h.client();
        let id = lead(&client, "Session").await;
        h.emu.admin().expire_access_tokens(ORG).unwrap();
        client
            .convert_lead(&LeadConvert::new(&id, CONVERTED))
            .await
            .expect("converted after one refresh");

        let other = lead(&client, "Limited").await;
        h.emu.admin().exhaust_api_limit(ORG).unwrap();
        let err = client
            .convert_lead(&LeadConvert::new(&other, CONVERTED))
            .await
            .unwrap_err();
        assert!(err.is_rate_limited(), "{err:?}");
    })
    .await;
}
