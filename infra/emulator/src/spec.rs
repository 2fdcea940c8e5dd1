//! Org specifications and the seed-file format (JSON or YAML).
//!
//! ```yaml
//! orgs:
//!   - alias: acme
//!     name: Acme Corp
//!     dailyApiLimit: 15000
//!     rotateRefreshTokens: true
//!     clientId: acme-app
//!     clientSecret: acme-secret
//!     users: [{username: admin@acme.example, password: pw, email: admin@acme.example, lastName: Admin}]
//!     customObjects:
//!       - {name: Invoice__c, fields: [{name: Amount__c, type: currency}]}
//!     customFields:
//!       Contact: [{name: Ext_Id__c, type: string, length: 40, externalId: true, unique: true}]
//!     validationRules:
//!       - {object: Opportunity, name: AmountRange, field: Amount, min: 0, max: 10000, message: "Amount must be 0..10,000"}
//!     duplicateRules:
//!       - {object: Lead, name: LeadEmail, fields: [Email]}
//!     records:
//!       Account: [{Name: Acme}]
//!     demoData: false
//!     recordTypes:
//!       - {object: Lead, developerName: Partner_Lead, name: Partner lead, default: true}
//! ```

use crate::error::EmulatorError;
use crate::schema::{FieldDef, ObjectDef};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// A product with its entry in the org's standard price book.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProductSpec {
    pub name: String,
    #[serde(default)]
    pub product_code: Option<String>,
    #[serde(default)]
    pub family: Option<String>,
    pub unit_price: f64,
    /// Whether the standard price book entry is active.
    #[serde(default = "yes")]
    pub active: bool,
}

impl ProductSpec {
    pub fn new(name: &str, code: &str, unit_price: f64) -> Self {
        Self {
            name: name.to_string(),
            product_code: Some(code.to_string()),
            family: None,
            unit_price,
            active: true,
        }
    }
    pub fn family(mut self, family: &str) -> Self {
        self.family = Some(family.to_string());
        self
    }
    pub fn inactive(mut self) -> Self {
        self.active = false;
        self
    }
}

#[derive(Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UserSpec {
    pub username: String,
    #[serde(default)]
    pub password: Option<String>,
    #[serde(default)]
    pub email: Option<String>,
    #[serde(default)]
    pub first_name: Option<String>,
    #[serde(default)]
    pub last_name: Option<String>,
    #[serde(default)]
    pub title: Option<String>,
    #[serde(default = "yes")]
    pub active: bool,
}

fn yes() -> bool {
    true
}

impl UserSpec {
    pub fn new(username: &str, password: &str) -> Self {
        Self {
            username: username.to_string(),
            password: Some(password.to_string()),
            email: Some(username.to_string()),
            first_name: None,
            last_name: None,
            title: None,
            active: true,
        }
    }
    pub fn named(mut self, first: &str, last: &str) -> Self {
        self.first_name = Some(first.to_string());
        self.last_name = Some(last.to_string());
        self
    }
    pub fn email(mut self, email: &str) -> Self {
        self.email = Some(email.to_string());
        self
    }
}

/// A record type the org defines for an object (`RecordType` row, `RecordTypeId` field).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RecordTypeSpec {
    pub object: String,
    pub developer_name: String,
    /// The label; the developer name with spaces when absent.
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default = "yes")]
    pub active: bool,
    /// The default for records created without one (else the object's first active one).
    #[serde(default)]
    pub default: bool,
}

impl RecordTypeSpec {
    pub fn new(object: &str, developer_name: &str) -> Self {
        Self {
            object: object.to_string(),
            developer_name: developer_name.to_string(),
            name: None,
            active: true,
            default: false,
        }
    }
    pub fn inactive(mut self) -> Self {
        self.active = false;
        self
    }
    pub fn as_default(mut self) -> Self {
        self.default = true;
        self
    }
    pub fn label(&self) -> String {
        self.name
            .clone()
            .unwrap_or_else(|| self.developer_name.replace('_', " "))
    }
}

/// A number-range rule: `min <= field <= max` when the field is set, else
/// `FIELD_CUSTOM_VALIDATION_EXCEPTION` with `message`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ValidationRule {
    pub object: String,
    pub name: String,
    pub field: String,
    #[serde(default)]
    pub min: Option<f64>,
    #[serde(default)]
    pub max: Option<f64>,
    pub message: String,
}

/// A duplicate rule: a new/updated record whose `fields` all equal (case-insensitively) an
/// existing live record's is rejected with `DUPLICATES_DETECTED`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DuplicateRule {
    pub object: String,
    pub name: String,
    pub fields: Vec<String>,
}

#[derive(Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OrgSpec {
    pub alias: String,
    /// 18-char org id (`00D…`); generated when absent.
    #[serde(default)]
    pub org_id: Option<String>,
    #[serde(default = "default_org_name")]
    pub name: String,
    #[serde(default)]
    pub is_sandbox: bool,
    #[serde(default = "default_limit")]
    pub daily_api_limit: u64,
    /// Which documented form of `Sforce-Limit-Info` the org sends.
    #[serde(default)]
    pub limit_header: LimitHeaderForm,
    /// A quota the org's admin set on the connected app (`per-app-api-usage`).
    #[serde(default)]
    pub app_quota: Option<AppQuotaSpec>,
    #[serde(default)]
    pub rotate_refresh_tokens: bool,
    /// `authorize` redirects straight back with a code (no login page).
    #[serde(default)]
    pub auto_approve: bool,
    #[serde(default = "default_client_id")]
    pub client_id: String,
    #[serde(default = "default_client_secret")]
    pub client_secret: String,
    #[serde(default)]
    pub users: Vec<UserSpec>,
    #[serde(default)]
    pub custom_objects: Vec<ObjectDef>,
    #[serde(default)]
    pub custom_fields: BTreeMap<String, Vec<FieldDef>>,
    #[serde(default)]
    pub validation_rules: Vec<ValidationRule>,
    #[serde(default)]
    pub duplicate_rules: Vec<DuplicateRule>,
    /// Records to insert at start, by object; values are field maps.
    #[serde(default)]
    pub records: BTreeMap<String, Vec<serde_json::Map<String, serde_json::Value>>>,
    /// Generate the deterministic demo data set (users, accounts, contacts, leads, deals).
    #[serde(default)]
    pub demo_data: bool,
    /// Products priced in the standard price book (every org has one).
    #[serde(default)]
    pub products: Vec<ProductSpec>,
    /// Record types per object; objects without any have no `RecordTypeId`.
    #[serde(default)]
    pub record_types: Vec<RecordTypeSpec>,
}

/// The forms of `Sforce-Limit-Info` the developer guide documents. Entries are separated by
/// `; `, and a per-app quota, when set, is appended in either form.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum LimitHeaderForm {
    /// `api-usage=18/5000`
    UsageOnly,
    /// `api-usage=10018/100000; api-bursts=0/750` (the current guide's example).
    #[default]
    WithBursts,
}

/// A per-app API quota: `per-app-api-usage=17/250(appName=sample-connected-app)`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AppQuotaSpec {
    pub app_name: String,
    pub max: u64,
}

fn default_org_name() -> String {
    "Emulated Org".into()
}
fn default_limit() -> u64 {
    15_000
}
fn default_client_id() -> String {
    crate::demo::CLIENT_ID.into()
}
fn default_client_secret() -> String {
    crate::demo::CLIENT_SECRET.into()
}

impl OrgSpec {
    /// An empty org with one admin user `admin@{alias}.example` / password `demo`.
    pub fn new(alias: &str) -> Self {
        Self {
            alias: alias.to_string(),
            org_id: None,
            name: format!("{alias} org"),
            is_sandbox: false,
            daily_api_limit: default_limit(),
            limit_header: LimitHeaderForm::default(),
            app_quota: None,
            rotate_refresh_tokens: false,
            auto_approve: true,
            client_id: default_client_id(),
            client_secret: default_client_secret(),
            users: vec![
                UserSpec::new(&format!("admin@{alias}.example"), "demo").named("Org", "Admin"),
            ],
            custom_objects: Vec::new(),
            custom_fields: BTreeMap::new(),
            validation_rules: Vec::new(),
            duplicate_rules: Vec::new(),
            records: BTreeMap::new(),
            demo_data: false,
            products: Vec::new(),
            record_types: Vec::new(),
        }
    }

    /// The demo org: alias `demo`, user `admin@demo.example`/`demo`, generated data, an
    /// Opportunity Amount rule (0..10,000) and a Lead email duplicate rule.
    pub fn demo() -> Self {
        let mut o = Self::new(crate::demo::ORG_ALIAS);
        o.name = "Demo Company".into();
        o.users = vec![
            UserSpec::new(crate::demo::USERNAME, crate::demo::PASSWORD).named("Demo", "Admin"),
        ];
        o.demo_data = true;
        o.custom_fields.insert(
            "Contact".into(),
            vec![{
                let mut f = FieldDef::new("Crmsync_Id__c", crate::schema::FieldType::String);
                f.length = Some(64);
                f.external_id = true;
                f.unique = true;
                f.id_lookup = true;
                f
            }],
        );
        o.validation_rules.push(ValidationRule {
            object: "Opportunity".into(),
            name: "Amount_Range".into(),
            field: "Amount".into(),
            min: Some(0.0),
            max: Some(10_000.0),
            message: "Amount must be between 0 and 10,000".into(),
        });
        o.duplicate_rules.push(DuplicateRule {
            object: "Lead".into(),
            name: "Standard_Lead_Duplicate_Rule".into(),
            fields: vec!["Email".into()],
        });
        o.products = demo_catalog();
        o
    }

    pub fn name(mut self, name: &str) -> Self {
        self.name = name.to_string();
        self
    }
    pub fn sandbox(mut self, yes: bool) -> Self {
        self.is_sandbox = yes;
        self
    }
    pub fn daily_api_limit(mut self, n: u64) -> Self {
        self.daily_api_limit = n;
        self
    }
    pub fn limit_header(mut self, form: LimitHeaderForm) -> Self {
        self.limit_header = form;
        self
    }
    pub fn app_quota(mut self, app_name: &str, max: u64) -> Self {
        self.app_quota = Some(AppQuotaSpec {
            app_name: app_name.to_string(),
            max,
        });
        self
    }
    pub fn rotate_refresh_tokens(mut self, yes: bool) -> Self {
        self.rotate_refresh_tokens = yes;
        self
    }
    pub fn auto_approve(mut self, yes: bool) -> Self {
        self.auto_approve = yes;
        self
    }
    pub fn client(mut self, id: &str, secret: &str) -> Self {
        self.client_id = id.to_string();
        self.client_secret = secret.to_string();
        self
    }
    pub fn user(mut self, u: UserSpec) -> Self {
        self.users.push(u);
        self
    }
    pub fn demo_data(mut self, yes: bool) -> Self {
        self.demo_data = yes;
        self
    }
    pub fn validation_rule(mut self, r: ValidationRule) -> Self {
        self.validation_rules.push(r);
        self
    }
    pub fn duplicate_rule(mut self, r: DuplicateRule) -> Self {
        self.duplicate_rules.push(r);
        self
    }
    pub fn custom_object(mut self, o: ObjectDef) -> Self {
        self.custom_objects.push(o);
        self
    }
    pub fn product(mut self, p: ProductSpec) -> Self {
        self.products.push(p);
        self
    }
    pub fn record_type(mut self, r: RecordTypeSpec) -> Self {
        self.record_types.push(r);
        self
    }
    pub fn custom_field(mut self, object: &str, f: FieldDef) -> Self {
        self.custom_fields
            .entry(object.to_string())
            .or_default()
            .push(f);
        self
    }
}

/// The demo org's products: what `crmsync demo`'s sale and the end-to-end sales sell, and
/// one retired product whose entry is inactive.
pub fn demo_catalog() -> Vec<ProductSpec> {
    vec![
        ProductSpec::new("Compiler licence", "CC-LIC", 1000.0).family("Software"),
        ProductSpec::new("Onboarding", "SVC-ONB", 1200.0).family("Services"),
        ProductSpec::new("Widget Pro", "HW-WPRO", 1500.0).family("Hardware"),
        ProductSpec::new("Annual plan", "SW-ANNUAL", 3000.0).family("Software"),
        ProductSpec::new("Punch card reader", "HW-PUNCH", 250.0)
            .family("Hardware")
            .inactive(),
    ]
}

/// The seed-file root: `{"orgs": [OrgSpec, ...]}`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SeedFile {
    pub orgs: Vec<OrgSpec>,
}

impl SeedFile {
    /// Reads JSON (`.json`) or YAML (anything else).
    pub fn load(path: &std::path::Path) -> Result<Self, EmulatorError> {
        let p = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| EmulatorError::SeedIo {
            path: p.clone(),
            source,
        })?;
        let is_json = path
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("json"));
        let parsed: Result<SeedFile, String> = if is_json {
            serde_json::from_str(&text).map_err(|e| e.to_string())
        } else {
            serde_yaml_ng::from_str(&text).map_err(|e| e.to_string())
        };
        parsed.map_err(|message| EmulatorError::Seed { path: p, message })
    }
}

impl std::fmt::Debug for UserSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UserSpec")
            .field("username", &self.username)
            .field("password", &self.password.as_ref().map(|_| "<redacted>"))
            .field("email", &self.email)
            .field("active", &self.active)
            .finish_non_exhaustive()
    }
}

impl std::fmt::Debug for OrgSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OrgSpec")
            .field("alias", &self.alias)
            .field("org_id", &self.org_id)
            .field("name", &self.name)
            .field("is_sandbox", &self.is_sandbox)
            .field("daily_api_limit", &self.daily_api_limit)
            .field("limit_header", &self.limit_header)
            .field("app_quota", &self.app_quota)
            .field("rotate_refresh_tokens", &self.rotate_refresh_tokens)
            .field("auto_approve", &self.auto_approve)
            .field("client_id", &self.client_id)
            .field("client_secret", &"<redacted>")
            .field("users", &self.users)
            .field("demo_data", &self.demo_data)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_output_has_no_secrets() {
        let spec = OrgSpec::demo();
        let text = format!("{spec:?}");
        assert!(!text.contains(crate::demo::CLIENT_SECRET), "{text}");
        assert!(!text.contains("password: Some(\"demo\")"), "{text}");
        assert!(text.contains("<redacted>"));
    }
}
