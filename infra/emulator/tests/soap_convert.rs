//! The partner SOAP `convertLead` over raw HTTP: the envelope a real client sends (default
//! or prefixed namespaces), the faults a real org answers, and the `LimitInfoHeader`.

mod common;

use common::{Api, client, start_demo, token};
use serde_json::{Map, json};
use sf_emulator::demo;

fn envelope(session: &str, converts: &str) -> String {
    format!(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?>\
         <soapenv:Envelope xmlns:soapenv=\"http://schemas.xmlsoap.org/soap/envelope/\" \
         xmlns:urn=\"urn:partner.soap.sforce.com\"><soapenv:Header><urn:SessionHeader>\
         <urn:sessionId>{session}</urn:sessionId></urn:SessionHeader></soapenv:Header>\
         <soapenv:Body><urn:convertLead>{converts}</urn:convertLead></soapenv:Body>\
         </soapenv:Envelope>"
    )
}

async fn post(emu: &sf_emulator::Emulator, body: String) -> (u16, String) {
    let resp = client()
        .post(format!("{}/services/Soap/u/62.0", emu.base_url()))
        .header("Content-Type", "text/xml; charset=UTF-8")
        .header("SOAPAction", "\"\"")
        .body(body)
        .send()
        .await
        .expect("SOAP call");
    (resp.status().as_u16(), resp.text().await.expect("body"))
}

#[tokio::test]
async fn converts_over_soap_and_answers_faults_like_an_org() {
    let emu = start_demo().await;
    let admin = emu.admin();
    let fields: Map<String, serde_json::Value> =
        serde_json::from_value(json!({"LastName": "Soap", "Company": "Soap & Co"})).unwrap();
    let lead = admin
        .insert_record(demo::ORG_ALIAS, "Lead", fields)
        .unwrap();
    let session = token(&emu, demo::ORG_ALIAS, demo::USERNAME);
    let one = |status: &str| {
        format!(
            "<urn:leadConverts><urn:convertedStatus>{status}</urn:convertedStatus>\
             <urn:doNotCreateOpportunity>true</urn:doNotCreateOpportunity>\
             <urn:leadId>{lead}</urn:leadId></urn:leadConverts>"
        )
    };

    // A bad session is a fault, not a result.
    let (status, body) = post(&emu, envelope("nope", &one("Closed - Converted"))).await;
    assert_eq!(status, 500, "{body}");
    assert!(
        body.contains("<faultcode>sf:INVALID_SESSION_ID</faultcode>"),
        "{body}"
    );

    // A malformed id faults the whole call.
    let bad = one("Closed - Converted").replace(&lead, "00Qnotanid");
    let (status, body) = post(&emu, envelope(&session, &bad)).await;
    assert_eq!(status, 500, "{body}");
    assert!(body.contains("sf:MALFORMED_ID"), "{body}");

    // A status that is not a converted one fails its result.
    let (status, body) = post(&emu, envelope(&session, &one("Working - Contacted"))).await;
    assert_eq!(status, 200, "{body}");
    assert!(
        body.contains("<statusCode>INVALID_STATUS</statusCode>"),
        "{body}"
    );
    assert!(body.contains("<success>false</success>"), "{body}");

    let before = admin
        .api_count(demo::ORG_ALIAS, "soap.convertLead")
        .unwrap();
    let (status, body) = post(&emu, envelope(&session, &one("Closed - Converted"))).await;
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("<success>true</success>"), "{body}");
    assert!(
        body.contains("<type>API REQUESTS</type>"),
        "LimitInfoHeader: {body}"
    );
    assert!(body.contains("<opportunityId xsi:nil=\"true\"/>"), "{body}");
    assert_eq!(
        admin
            .api_count(demo::ORG_ALIAS, "soap.convertLead")
            .unwrap(),
        before + 1
    );
    let converted = admin
        .get_record(demo::ORG_ALIAS, "Lead", &lead)
        .unwrap()
        .unwrap();
    assert_eq!(converted["IsConverted"], json!(true));
    let contact = converted["ConvertedContactId"].as_str().unwrap();
    assert!(
        body.contains(&format!("<contactId>{contact}</contactId>")),
        "{body}"
    );

    // Converting it again is refused.
    let (_, body) = post(&emu, envelope(&session, &one("Closed - Converted"))).await;
    assert!(
        body.contains("<statusCode>CANNOT_UPDATE_CONVERTED_LEAD</statusCode>"),
        "{body}"
    );
}

/// A converted Lead's Tasks move to the Contact, and to the Opportunity when the
/// conversion makes one (Salesforce Help, knowledge article 000385227); another Lead's
/// Task stays where it is.
#[tokio::test]
async fn a_conversion_moves_the_leads_tasks_to_the_contact_and_opportunity() {
    let emu = start_demo().await;
    let admin = emu.admin();
    let insert = |object: &str, fields: serde_json::Value| {
        admin
            .insert_record(
                demo::ORG_ALIAS,
                object,
                serde_json::from_value(fields).unwrap(),
            )
            .unwrap()
    };
    let plain = insert("Lead", json!({"LastName": "Plain", "Company": "Plain Co"}));
    let dealt = insert("Lead", json!({"LastName": "Dealt", "Company": "Dealt Co"}));
    let other = insert("Lead", json!({"LastName": "Other", "Company": "Other Co"}));
    let task = |who: &str| {
        insert(
            "Task",
            json!({"Subject": "Call", "Status": "Completed", "WhoId": who}),
        )
    };
    let (plain_task, dealt_task, other_task) = (task(&plain), task(&dealt), task(&other));
    let session = token(&emu, demo::ORG_ALIAS, demo::USERNAME);
    let convert = |lead: &str, no_opportunity: bool| {
        format!(
            "<urn:leadConverts><urn:convertedStatus>Closed - Converted</urn:convertedStatus>\
             <urn:doNotCreateOpportunity>{no_opportunity}</urn:doNotCreateOpportunity>\
             <urn:leadId>{lead}</urn:leadId></urn:leadConverts>"
        )
    };
    let body = format!("{}{}", convert(&plain, true), convert(&dealt, false));
    let (status, body) = post(&emu, envelope(&session, &body)).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body.matches("<success>true</success>").count(), 2, "{body}");

    let get = |object: &str, id: &str| {
        admin
            .get_record(demo::ORG_ALIAS, object, id)
            .unwrap()
            .unwrap()
    };
    for (lead, task_id, with_opportunity) in
        [(&plain, &plain_task, false), (&dealt, &dealt_task, true)]
    {
        let converted = get("Lead", lead);
        let task = get("Task", task_id);
        assert_eq!(task["WhoId"], converted["ConvertedContactId"], "{task:?}");
        assert_eq!(
            task["AccountId"], converted["ConvertedAccountId"],
            "{task:?}"
        );
        let opportunity = &converted["ConvertedOpportunityId"];
        assert_eq!(opportunity.is_string(), with_opportunity, "{converted:?}");
        if with_opportunity {
            assert_eq!(&task["WhatId"], opportunity, "{task:?}");
        } else {
            assert!(
                task.get("WhatId").is_none_or(serde_json::Value::is_null),
                "{task:?}"
            );
        }
    }
    assert_eq!(get("Task", &other_task)["WhoId"], json!(other));
}

/// A converted Lead cannot be referenced: a Task naming it as `WhoId` is refused with
/// `CANNOT_UPDATE_CONVERTED_LEAD` ("cannot reference converted lead"), as an update of the
/// Lead is; the Contact it became is accepted.
#[tokio::test]
async fn a_task_naming_a_converted_lead_is_refused() {
    let emu = start_demo().await;
    let admin = emu.admin();
    let lead = admin
        .insert_record(
            demo::ORG_ALIAS,
            "Lead",
            serde_json::from_value(json!({"LastName": "Gone", "Company": "Gone Co"})).unwrap(),
        )
        .unwrap();
    let session = token(&emu, demo::ORG_ALIAS, demo::USERNAME);
    let convert = format!(
        "<urn:leadConverts><urn:convertedStatus>Closed - Converted</urn:convertedStatus>\
         <urn:doNotCreateOpportunity>true</urn:doNotCreateOpportunity>\
         <urn:leadId>{lead}</urn:leadId></urn:leadConverts>"
    );
    let (status, body) = post(&emu, envelope(&session, &convert)).await;
    assert_eq!(status, 200, "{body}");
    let api = Api::new(&emu, session);
    let task = |who: &str| json!({"Subject": "Call", "Status": "Completed", "WhoId": who});
    let (status, body, _) = api
        .send(reqwest::Method::POST, "sobjects/Task", Some(task(&lead)))
        .await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(
        body[0]["errorCode"], "CANNOT_UPDATE_CONVERTED_LEAD",
        "{body}"
    );
    assert_eq!(
        body[0]["message"], "cannot reference converted lead",
        "{body}"
    );
    assert_eq!(body[0]["fields"], json!(["WhoId"]), "{body}");
    let contact = admin
        .get_record(demo::ORG_ALIAS, "Lead", &lead)
        .unwrap()
        .unwrap()["ConvertedContactId"]
        .clone();
    let contact = contact.as_str().expect("converted contact");
    let (status, body, _) = api
        .send(reqwest::Method::POST, "sobjects/Task", Some(task(contact)))
        .await;
    assert_eq!(status, 201, "{body}");
}
