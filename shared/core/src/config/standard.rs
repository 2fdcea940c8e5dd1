//! `SyncConfig::standard()`: a valid, Brixi-like preset over standard Salesforce fields.

use serde_json::json;

use super::*;
use crate::transform::{FieldKind, ValueMap};
use crate::types::AppObject;

fn m(app: &str, sf: &str, rule: SyncRule, kind: FieldKind) -> FieldMapping {
    FieldMapping::new(app, sf, rule, kind)
}

fn person_fields() -> Vec<FieldMapping> {
    use FieldKind::*;
    use SyncRule::*;
    vec![
        m("first_name", "FirstName", TwoWay, String),
        m("last_name", "LastName", TwoWay, String),
        m("email", "Email", TwoWay, String),
        m("phone", "Phone", TwoWay, String),
        m("title", "Title", TwoWay, String),
        m("lead_source", "LeadSource", SalesforceUnlessBlank, Picklist),
    ]
}

impl SyncConfig {
    /// Contact, Lead, Account, Opportunity and User enabled with standard-field mappings.
    pub fn standard() -> Self {
        use FieldKind::*;
        use SyncRule::*;
        let mut cfg = SyncConfig::empty();

        let mut contact = person_fields();
        contact.push(m("city", "MailingCity", TwoWay, String));
        let mut contact = ObjectConfig::new(AppObject::Contact, contact);
        contact
            .app_defaults
            .insert("lead_type".into(), json!("contact"));
        cfg.objects.insert("Contact".into(), contact);

        let mut lead = person_fields();
        lead.extend([
            m("company_name", "Company", TwoWay, String),
            m("city", "City", TwoWay, String),
            m("industry", "Industry", TwoWay, Picklist),
            m("lead_status", "Status", TwoWay, Picklist),
        ]);
        let mut lead = ObjectConfig::new(AppObject::Contact, lead);
        lead.app_defaults.insert("lead_type".into(), json!("lead"));
        cfg.objects.insert("Lead".into(), lead);

        let account = vec![
            m("company_name", "Name", TwoWay, String).with_triggers(&[
                EventKind::Create,
                EventKind::Update,
                EventKind::DemoSet,
                EventKind::Sale,
            ]),
            m("phone", "Phone", TwoWay, String).with_triggers(&[
                EventKind::Create,
                EventKind::Update,
                EventKind::DemoSet,
                EventKind::Sale,
            ]),
            m("city", "BillingCity", TwoWay, String),
            m("industry", "Industry", TwoWay, Picklist),
            m("website", "Website", TwoWay, String),
        ];
        cfg.objects.insert(
            "Account".into(),
            ObjectConfig::new(AppObject::Company, account),
        );

        let mut stage = m("stage", "StageName", TwoWay, Picklist);
        stage.use_stage_map = true;
        let opportunity = vec![
            m("name", "Name", TwoWay, String),
            stage,
            m("amount", "Amount", TwoWay, Number).with_triggers(&[
                EventKind::Create,
                EventKind::Update,
                EventKind::Sale,
            ]),
            m("close_date", "CloseDate", TwoWay, Date),
            m("lead_source", "LeadSource", SalesforceUnlessBlank, Picklist),
        ];
        cfg.objects.insert(
            "Opportunity".into(),
            ObjectConfig::new(AppObject::Deal, opportunity),
        );

        let mut user = ObjectConfig::new(
            AppObject::User,
            vec![
                m("email", "Email", SalesforceUnlessBlank, String),
                m("first_name", "FirstName", SalesforceUnlessBlank, String),
                m("last_name", "LastName", SalesforceUnlessBlank, String),
            ],
        );
        user.outbound = DirectionToggles {
            create: false,
            update: false,
        };
        cfg.objects.insert("User".into(), user);

        cfg.stage_map = ValueMap::both_ways([
            ("qualification", "Qualification"),
            ("needs_analysis", "Needs Analysis"),
            ("proposal", "Proposal/Price Quote"),
            ("negotiation", "Negotiation/Review"),
            ("won", "Closed Won"),
            ("lost", "Closed Lost"),
        ]);
        cfg.required_app_fields
            .insert(AppObject::Contact, vec!["last_name".into(), "phone".into()]);
        cfg.required_app_fields
            .insert(AppObject::Company, vec!["company_name".into()]);
        cfg.opportunity.create_at_demo_set = true;
        cfg
    }
}
