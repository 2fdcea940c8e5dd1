//! Object and field metadata: the standard objects crmsync syncs, plus custom ones from seeds.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FieldType {
    Id,
    String,
    Email,
    Phone,
    Url,
    Picklist,
    Multipicklist,
    Reference,
    Boolean,
    Double,
    Currency,
    Percent,
    Int,
    Date,
    Datetime,
    Textarea,
}

impl FieldType {
    pub fn as_str(self) -> &'static str {
        match self {
            FieldType::Id => "id",
            FieldType::String => "string",
            FieldType::Email => "email",
            FieldType::Phone => "phone",
            FieldType::Url => "url",
            FieldType::Picklist => "picklist",
            FieldType::Multipicklist => "multipicklist",
            FieldType::Reference => "reference",
            FieldType::Boolean => "boolean",
            FieldType::Double => "double",
            FieldType::Currency => "currency",
            FieldType::Percent => "percent",
            FieldType::Int => "int",
            FieldType::Date => "date",
            FieldType::Datetime => "datetime",
            FieldType::Textarea => "textarea",
        }
    }
    pub fn is_numeric(self) -> bool {
        matches!(
            self,
            FieldType::Double | FieldType::Currency | FieldType::Percent | FieldType::Int
        )
    }
    pub fn is_text(self) -> bool {
        matches!(
            self,
            FieldType::String
                | FieldType::Email
                | FieldType::Phone
                | FieldType::Url
                | FieldType::Textarea
                | FieldType::Picklist
                | FieldType::Multipicklist
                | FieldType::Id
                | FieldType::Reference
        )
    }
}

/// One field's metadata; also the seed-file format for custom fields (camelCase keys).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FieldDef {
    pub name: String,
    #[serde(default)]
    pub label: Option<String>,
    #[serde(rename = "type")]
    pub ftype: FieldType,
    #[serde(default)]
    pub length: Option<u32>,
    #[serde(default = "yes")]
    pub nillable: bool,
    #[serde(default = "yes")]
    pub createable: bool,
    #[serde(default = "yes")]
    pub updateable: bool,
    #[serde(default)]
    pub defaulted_on_create: bool,
    #[serde(default)]
    pub calculated: bool,
    #[serde(default)]
    pub external_id: bool,
    #[serde(default)]
    pub id_lookup: bool,
    #[serde(default)]
    pub unique: bool,
    #[serde(default)]
    pub picklist_values: Vec<String>,
    #[serde(default)]
    pub default_picklist_value: Option<String>,
    #[serde(default)]
    pub restricted_picklist: bool,
    #[serde(default)]
    pub reference_to: Vec<String>,
    #[serde(default)]
    pub relationship_name: Option<String>,
    /// Digits of a number field (`Number(precision, scale)`); describe's default when unset.
    #[serde(default)]
    pub precision: Option<u32>,
    #[serde(default)]
    pub scale: Option<u32>,
    /// Guarded by field-level security: only users a permission set grants it to see it
    /// (fields created through the Tooling API; seeded fields are granted to everyone).
    #[serde(default)]
    pub secured: bool,
}

fn yes() -> bool {
    true
}

impl FieldDef {
    pub fn new(name: &str, ftype: FieldType) -> Self {
        let length = match ftype {
            FieldType::String | FieldType::Url => Some(255),
            FieldType::Email => Some(80),
            FieldType::Phone => Some(40),
            FieldType::Textarea => Some(32000),
            FieldType::Picklist | FieldType::Multipicklist => Some(255),
            FieldType::Id | FieldType::Reference => Some(18),
            _ => None,
        };
        Self {
            name: name.to_string(),
            label: None,
            ftype,
            length,
            nillable: true,
            createable: true,
            updateable: true,
            defaulted_on_create: false,
            calculated: false,
            external_id: false,
            id_lookup: false,
            unique: false,
            picklist_values: Vec::new(),
            default_picklist_value: None,
            restricted_picklist: false,
            reference_to: Vec::new(),
            relationship_name: None,
            precision: None,
            scale: None,
            secured: false,
        }
    }
    pub(crate) fn len(mut self, n: u32) -> Self {
        self.length = Some(n);
        self
    }
    pub(crate) fn required(mut self) -> Self {
        self.nillable = false;
        self
    }
    fn system(mut self) -> Self {
        self.createable = false;
        self.updateable = false;
        self.nillable = false;
        self.defaulted_on_create = true;
        self
    }
    pub(crate) fn readonly(mut self) -> Self {
        self.createable = false;
        self.updateable = false;
        self
    }
    fn create_only(mut self) -> Self {
        self.updateable = false;
        self
    }
    fn lookup(mut self) -> Self {
        self.id_lookup = true;
        self
    }
    fn picklist(mut self, values: &[&str], restricted: bool) -> Self {
        self.picklist_values = values.iter().map(|s| s.to_string()).collect();
        self.restricted_picklist = restricted;
        self
    }
    pub(crate) fn reference(mut self, to: &str, rel: &str) -> Self {
        self.reference_to = vec![to.to_string()];
        self.relationship_name = Some(rel.to_string());
        self
    }
    pub(crate) fn defaulted(mut self) -> Self {
        self.defaulted_on_create = true;
        self.nillable = false;
        if self.default_picklist_value.is_none() {
            self.default_picklist_value = self.picklist_values.first().cloned();
        }
        self
    }
    fn default_value(mut self, v: &str) -> Self {
        self.default_picklist_value = Some(v.to_string());
        self
    }
    pub fn label(&self) -> String {
        self.label.clone().unwrap_or_else(|| humanize(&self.name))
    }
    /// How Salesforce names a lookup in id errors: `Owner ID`, `Name ID` (Task.WhoId).
    pub fn id_label(&self) -> String {
        self.label
            .clone()
            .unwrap_or_else(|| format!("{} ID", humanize(&self.name)))
    }
    /// Required on create: `createable && !nillable && !defaultedOnCreate`.
    pub fn required_on_create(&self) -> bool {
        self.createable && !self.nillable && !self.defaulted_on_create
    }
}

fn humanize(name: &str) -> String {
    let base = name.trim_end_matches("__c").trim_end_matches("Id");
    let base = if base.is_empty() { name } else { base };
    let mut out = String::new();
    for (i, c) in base.chars().enumerate() {
        if c == '_' {
            out.push(' ');
            continue;
        }
        if i > 0 && c.is_ascii_uppercase() && !out.ends_with(' ') {
            out.push(' ');
        }
        out.push(c);
    }
    out
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ObjectDef {
    pub name: String,
    #[serde(default)]
    pub label: Option<String>,
    #[serde(default)]
    pub label_plural: Option<String>,
    #[serde(default)]
    pub key_prefix: String,
    #[serde(default)]
    pub custom: bool,
    /// Read-only objects (Organization) reject writes.
    #[serde(default)]
    pub queryable_only: bool,
    pub fields: Vec<FieldDef>,
}

impl ObjectDef {
    pub fn field(&self, name: &str) -> Option<&FieldDef> {
        self.fields
            .iter()
            .find(|f| f.name.eq_ignore_ascii_case(name))
    }
    /// The reference field whose relationshipName is `rel` (e.g. `Owner` → `OwnerId`).
    pub fn relationship(&self, rel: &str) -> Option<&FieldDef> {
        self.fields.iter().find(|f| {
            f.relationship_name
                .as_deref()
                .is_some_and(|r| r.eq_ignore_ascii_case(rel))
        })
    }
    pub fn label(&self) -> String {
        self.label.clone().unwrap_or_else(|| humanize(&self.name))
    }
    pub fn label_plural(&self) -> String {
        self.label_plural
            .clone()
            .unwrap_or_else(|| format!("{}s", self.label()))
    }
}

/// System fields every object has.
fn system_fields(owner: bool) -> Vec<FieldDef> {
    use FieldType::*;
    let mut f = vec![
        FieldDef::new("Id", Id).system(),
        FieldDef::new("IsDeleted", Boolean).system(),
        FieldDef::new("CreatedDate", Datetime).system(),
        FieldDef::new("CreatedById", Reference)
            .system()
            .reference("User", "CreatedBy"),
        FieldDef::new("LastModifiedDate", Datetime).system(),
        FieldDef::new("LastModifiedById", Reference)
            .system()
            .reference("User", "LastModifiedBy"),
        FieldDef::new("SystemModstamp", Datetime).system(),
    ];
    if owner {
        let mut o = FieldDef::new("OwnerId", Reference)
            .defaulted()
            .reference("User", "Owner");
        o.createable = true;
        f.push(o);
    }
    f
}

const INDUSTRIES: &[&str] = &[
    "Agriculture",
    "Banking",
    "Consulting",
    "Education",
    "Energy",
    "Finance",
    "Healthcare",
    "Manufacturing",
    "Media",
    "Retail",
    "Technology",
    "Telecommunications",
    "Other",
];
pub const STAGES: &[&str] = &[
    "Prospecting",
    "Qualification",
    "Needs Analysis",
    "Value Proposition",
    "Proposal/Price Quote",
    "Negotiation/Review",
    "Closed Won",
    "Closed Lost",
];
/// Lead statuses whose `LeadStatus.IsConverted` is true: the only valid `convertedStatus`.
pub const CONVERTED_LEAD_STATUSES: &[&str] = &["Closed - Converted"];
pub const LEAD_STATUSES: &[&str] = &[
    "Open - Not Contacted",
    "Working - Contacted",
    "Closed - Converted",
    "Closed - Not Converted",
];
const LEAD_SOURCES: &[&str] = &[
    "Web",
    "Phone Inquiry",
    "Partner Referral",
    "Purchased List",
    "Other",
];

fn address(prefix: &str) -> Vec<FieldDef> {
    use FieldType::*;
    vec![
        FieldDef::new(&format!("{prefix}Street"), Textarea).len(255),
        FieldDef::new(&format!("{prefix}City"), String).len(40),
        FieldDef::new(&format!("{prefix}State"), String).len(80),
        FieldDef::new(&format!("{prefix}PostalCode"), String).len(20),
        FieldDef::new(&format!("{prefix}Country"), String).len(80),
    ]
}

pub(crate) fn obj(name: &str, prefix: &str, owner: bool, fields: Vec<FieldDef>) -> ObjectDef {
    let mut all = system_fields(owner);
    all.extend(fields);
    ObjectDef {
        name: name.to_string(),
        label: None,
        label_plural: None,
        key_prefix: prefix.to_string(),
        custom: false,
        queryable_only: false,
        fields: all,
    }
}

/// The standard objects, keyed by API name.
pub fn standard_objects() -> BTreeMap<String, ObjectDef> {
    use FieldType::*;
    let mut m = BTreeMap::new();
    let mut add = |o: ObjectDef| {
        m.insert(o.name.clone(), o);
    };
    add(obj(
        "Account",
        "001",
        true,
        [
            vec![
                FieldDef::new("Name", String).required(),
                FieldDef::new("AccountNumber", String).len(40),
                FieldDef::new("Type", Picklist).picklist(
                    &[
                        "Prospect",
                        "Customer - Direct",
                        "Customer - Channel",
                        "Partner",
                        "Other",
                    ],
                    false,
                ),
                FieldDef::new("Industry", Picklist).picklist(INDUSTRIES, false),
                FieldDef::new("Website", Url),
                FieldDef::new("Phone", Phone),
                FieldDef::new("AnnualRevenue", Currency),
                FieldDef::new("NumberOfEmployees", Int),
                FieldDef::new("Description", Textarea),
                FieldDef::new("ParentId", Reference).reference("Account", "Parent"),
            ],
            address("Billing"),
        ]
        .concat(),
    ));
    let mut contact_name = FieldDef::new("Name", String).readonly();
    contact_name.calculated = false;
    add(obj(
        "Contact",
        "003",
        true,
        [
            vec![
                FieldDef::new("FirstName", String).len(40),
                FieldDef::new("LastName", String).len(80).required(),
                contact_name.clone().len(121),
                FieldDef::new("Salutation", Picklist)
                    .picklist(&["Mr.", "Ms.", "Mrs.", "Dr.", "Prof."], false),
                FieldDef::new("Email", Email).lookup(),
                FieldDef::new("Phone", Phone),
                FieldDef::new("MobilePhone", Phone),
                FieldDef::new("Title", String).len(128),
                FieldDef::new("Department", String).len(80),
                FieldDef::new("LeadSource", Picklist).picklist(LEAD_SOURCES, false),
                FieldDef::new("HasOptedOutOfEmail", Boolean).defaulted(),
                FieldDef::new("Description", Textarea),
                FieldDef::new("Birthdate", Date),
                FieldDef::new("AccountId", Reference).reference("Account", "Account"),
            ],
            address("Mailing"),
        ]
        .concat(),
    ));
    add(obj(
        "Lead",
        "00Q",
        true,
        [
            vec![
                FieldDef::new("FirstName", String).len(40),
                FieldDef::new("LastName", String).len(80).required(),
                contact_name.len(121),
                FieldDef::new("Company", String).required(),
                FieldDef::new("Email", Email).lookup(),
                FieldDef::new("Phone", Phone),
                FieldDef::new("Title", String).len(128),
                FieldDef::new("Industry", Picklist).picklist(INDUSTRIES, false),
                FieldDef::new("LeadSource", Picklist).picklist(LEAD_SOURCES, false),
                FieldDef::new("Status", Picklist)
                    .picklist(LEAD_STATUSES, true)
                    .defaulted(),
                FieldDef::new("Rating", Picklist).picklist(&["Hot", "Warm", "Cold"], false),
                FieldDef::new("AnnualRevenue", Currency),
                FieldDef::new("NumberOfEmployees", Int),
                FieldDef::new("Website", Url),
                FieldDef::new("HasOptedOutOfEmail", Boolean).defaulted(),
                FieldDef::new("IsConverted", Boolean).readonly().defaulted(),
                // Set by `convertLead` only (SOAP; see `soap::convert`).
                FieldDef::new("ConvertedDate", Date).readonly(),
                FieldDef::new("ConvertedAccountId", Reference)
                    .reference("Account", "ConvertedAccount")
                    .readonly(),
                FieldDef::new("ConvertedContactId", Reference)
                    .reference("Contact", "ConvertedContact")
                    .readonly(),
                FieldDef::new("ConvertedOpportunityId", Reference)
                    .reference("Opportunity", "ConvertedOpportunity")
                    .readonly(),
                FieldDef::new("Description", Textarea),
            ],
            address(""),
        ]
        .concat(),
    ));
    add(obj(
        "Opportunity",
        "006",
        true,
        vec![
            FieldDef::new("Name", String).len(120).required(),
            FieldDef::new("AccountId", Reference).reference("Account", "Account"),
            // The primary contact: settable on create only, as in a real org.
            FieldDef::new("ContactId", Reference)
                .reference("Contact", "Contact")
                .create_only(),
            FieldDef::new("StageName", Picklist)
                .picklist(STAGES, true)
                .required(),
            FieldDef::new("Amount", Currency),
            FieldDef::new("Probability", Percent),
            FieldDef::new("CloseDate", Date).required(),
            FieldDef::new("Type", Picklist).picklist(
                &[
                    "New Customer",
                    "Existing Customer - Upgrade",
                    "Existing Customer - Renewal",
                ],
                false,
            ),
            FieldDef::new("LeadSource", Picklist).picklist(LEAD_SOURCES, false),
            FieldDef::new("NextStep", String),
            FieldDef::new("IsClosed", Boolean).readonly().defaulted(),
            FieldDef::new("IsWon", Boolean).readonly().defaulted(),
            FieldDef::new("Description", Textarea),
            // Set by the first line item when blank (see `pricing`).
            FieldDef::new("Pricebook2Id", Reference).reference("Pricebook2", "Pricebook2"),
        ],
    ));
    add(obj(
        "Product2",
        "01t",
        false,
        vec![
            FieldDef::new("Name", String).required(),
            FieldDef::new("ProductCode", String),
            FieldDef::new("IsActive", Boolean).defaulted(),
            FieldDef::new("Family", Picklist)
                .picklist(&["Hardware", "Software", "Services"], false),
            FieldDef::new("Description", Textarea),
        ],
    ));
    add(obj(
        "Pricebook2",
        "01s",
        false,
        vec![
            FieldDef::new("Name", String).required(),
            FieldDef::new("IsActive", Boolean).defaulted(),
            // One standard price book per org, made by Salesforce, never by the API.
            FieldDef::new("IsStandard", Boolean).readonly().defaulted(),
            FieldDef::new("Description", Textarea),
        ],
    ));
    add(obj(
        "PricebookEntry",
        "01u",
        false,
        vec![
            FieldDef::new("Pricebook2Id", Reference)
                .reference("Pricebook2", "Pricebook2")
                .required()
                .create_only(),
            FieldDef::new("Product2Id", Reference)
                .reference("Product2", "Product2")
                .required()
                .create_only(),
            FieldDef::new("UnitPrice", Currency).required(),
            FieldDef::new("IsActive", Boolean).defaulted(),
            FieldDef::new("UseStandardPrice", Boolean).defaulted(),
            // Mirrors of the product's fields.
            FieldDef::new("Name", String).readonly(),
            FieldDef::new("ProductCode", String).readonly(),
        ],
    ));
    add(obj(
        "OpportunityLineItem",
        "00k",
        false,
        vec![
            FieldDef::new("OpportunityId", Reference)
                .reference("Opportunity", "Opportunity")
                .required(),
            // Either one is enough on create; `pricing` fills in the other.
            FieldDef::new("PricebookEntryId", Reference)
                .reference("PricebookEntry", "PricebookEntry")
                .create_only(),
            FieldDef::new("Product2Id", Reference)
                .reference("Product2", "Product2")
                .create_only(),
            FieldDef::new("Name", String).readonly(),
            FieldDef::new("ProductCode", String).readonly(),
            FieldDef::new("ListPrice", Currency).readonly(),
            FieldDef::new("Quantity", Double).required(),
            FieldDef::new("UnitPrice", Currency),
            FieldDef::new("TotalPrice", Currency),
            FieldDef::new("Description", String),
            FieldDef::new("ServiceDate", Date),
        ],
    ));
    add(obj(
        "User",
        "005",
        false,
        vec![
            FieldDef::new("Username", String).len(80).required(),
            FieldDef::new("Email", Email).required(),
            FieldDef::new("FirstName", String).len(40),
            FieldDef::new("LastName", String).len(80).required(),
            FieldDef::new("Name", String).len(121).readonly(),
            FieldDef::new("Alias", String).len(8),
            FieldDef::new("Title", String).len(80),
            FieldDef::new("IsActive", Boolean).defaulted(),
            FieldDef::new("TimeZoneSidKey", String).len(40).defaulted(),
            FieldDef::new("UserType", String).readonly(),
        ],
    ));
    add(obj("Task", "00T", true, task_fields()));
    // Read-only through the data API (record types are set up as metadata, see `record_types`).
    let mut rt = obj(
        "RecordType",
        "012",
        false,
        vec![
            FieldDef::new("Name", String).len(80).readonly(),
            FieldDef::new("DeveloperName", String).len(80).readonly(),
            FieldDef::new("SobjectType", Picklist).len(40).readonly(),
            FieldDef::new("IsActive", Boolean).readonly(),
            FieldDef::new("Description", String).readonly(),
        ],
    );
    rt.queryable_only = true;
    add(rt);
    let mut org = obj(
        "Organization",
        "00D",
        false,
        vec![
            FieldDef::new("Name", String).len(80).readonly(),
            FieldDef::new("OrganizationType", String).readonly(),
            FieldDef::new("IsSandbox", Boolean).readonly(),
            FieldDef::new("InstanceName", String).readonly(),
        ],
    );
    org.queryable_only = true;
    add(org);
    for def in crate::permissions::objects() {
        add(def);
    }
    m
}

/// Task fields as the object reference lists them (call fields, subtype, polymorphic
/// Who/What); `IsClosed`, `IsHighPriority` and `CompletedDateTime` are derived (see `activity`).
fn task_fields() -> Vec<FieldDef> {
    use FieldType::*;
    let polymorphic = |name: &str, label: &str, rel: &str, to: &[&str]| {
        let mut f = FieldDef::new(name, Reference);
        f.label = Some(label.to_string());
        f.reference_to = to.iter().map(|s| s.to_string()).collect();
        f.relationship_name = Some(rel.to_string());
        f
    };
    vec![
        FieldDef::new("Subject", String),
        FieldDef::new("Status", Picklist)
            .picklist(TASK_STATUSES, true)
            .defaulted(),
        FieldDef::new("Priority", Picklist)
            .picklist(&["High", "Normal", "Low"], true)
            .default_value("Normal")
            .defaulted(),
        FieldDef::new("IsClosed", Boolean).readonly().defaulted(),
        FieldDef::new("IsHighPriority", Boolean)
            .readonly()
            .defaulted(),
        FieldDef::new("CompletedDateTime", Datetime).readonly(),
        polymorphic("AccountId", "Account ID", "Account", &["Account"]).readonly(),
        FieldDef::new("TaskSubtype", Picklist)
            .picklist(&["Task", "Email", "ListEmail", "Cadence", "Call"], true)
            .len(40)
            .create_only(),
        FieldDef::new("Type", Picklist)
            .picklist(&["Call", "Email", "Meeting", "Other"], false)
            .len(40),
        FieldDef::new("ActivityDate", Date),
        FieldDef::new("Description", Textarea),
        FieldDef::new("CallDurationInSeconds", Int),
        FieldDef::new("CallType", Picklist)
            .picklist(&["Internal", "Inbound", "Outbound"], true)
            .len(40),
        FieldDef::new("CallDisposition", String),
        FieldDef::new("CallObject", String),
        polymorphic("WhoId", "Name ID", "Who", &["Contact", "Lead"]),
        polymorphic(
            "WhatId",
            "Related To ID",
            "What",
            &["Account", "Opportunity", "Product2"],
        ),
    ]
}

pub const TASK_STATUSES: &[&str] = &[
    "Not Started",
    "In Progress",
    "Completed",
    "Waiting on someone else",
    "Deferred",
];

/// System fields of a custom object: the standard ones plus Name and OwnerId.
pub fn custom_object_system_fields() -> Vec<FieldDef> {
    let mut f = system_fields(true);
    f.push(FieldDef::new("Name", FieldType::String).len(80));
    f
}
