//! Deterministic demo data: a fixed RNG seed generates the same users, accounts, contacts,
//! leads, opportunities, line items and tasks on every run. Users have emails so owner
//! mapping by email works; record timestamps are spread over the previous 60 days.

use crate::error::EmulatorError;
use crate::schema::{LEAD_STATUSES, STAGES};
use crate::spec::UserSpec;
use crate::state::State;
use crate::writes::{WriteOpts, create};
use chrono::Duration;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{Map, Value, json};

/// The fixed seed: change it and every demo Id and value changes.
pub const DEMO_SEED: u64 = 0x5EED_2026;
pub const USERS: usize = 24;
pub const ACCOUNTS: usize = 120;
pub const CONTACTS: usize = 300;
pub const LEADS: usize = 150;
pub const OPPORTUNITIES: usize = 100;

const FIRST: &[&str] = &[
    "Ava", "Liam", "Noah", "Emma", "Olivia", "Mason", "Sophia", "Lucas", "Mia", "Ethan", "Amelia",
    "Harper", "Elijah", "Aria", "James", "Chloe", "Benjamin", "Zoe", "Henry", "Nora", "Leo",
    "Maya", "Jack", "Isla", "Omar", "Priya", "Kenji", "Fatima", "Diego", "Ingrid",
];
const LAST: &[&str] = &[
    "Smith", "Johnson", "Garcia", "Brown", "Miller", "Davis", "Martinez", "Lopez", "Wilson",
    "Anderson", "Thomas", "Moore", "Jackson", "Martin", "Lee", "Perez", "Thompson", "White",
    "Harris", "Clark", "Nakamura", "Okafor", "Schmidt", "Rossi", "Kowalski", "Haddad",
];
const COMPANY_A: &[&str] = &[
    "Blue", "North", "Bright", "Iron", "Silver", "Green", "Rapid", "Summit", "Vertex", "Harbor",
    "Cedar", "Atlas", "Nova", "Pioneer", "Quantum", "Red Rock",
];
const COMPANY_B: &[&str] = &[
    "Logistics",
    "Labs",
    "Systems",
    "Foods",
    "Health",
    "Energy",
    "Analytics",
    "Capital",
    "Robotics",
    "Media",
    "Outfitters",
    "Networks",
];
const SUFFIX: &[&str] = &["Inc.", "LLC", "Ltd", "Group", "Co."];
const INDUSTRIES: &[&str] = &[
    "Banking",
    "Consulting",
    "Education",
    "Energy",
    "Healthcare",
    "Manufacturing",
    "Retail",
    "Technology",
];
const TITLES: &[&str] = &[
    "CEO",
    "CTO",
    "VP Sales",
    "Head of Operations",
    "Marketing Manager",
    "Buyer",
    "Engineer",
    "Office Manager",
    "CFO",
    "Product Manager",
];
const CITIES: &[(&str, &str, &str)] = &[
    ("San Francisco", "CA", "USA"),
    ("Austin", "TX", "USA"),
    ("New York", "NY", "USA"),
    ("Chicago", "IL", "USA"),
    ("Toronto", "ON", "Canada"),
    ("London", "", "United Kingdom"),
    ("Berlin", "", "Germany"),
];

fn pick<'a>(rng: &mut StdRng, xs: &[&'a str]) -> &'a str {
    xs[rng.random_range(0..xs.len())]
}

fn obj(v: Value) -> Map<String, Value> {
    v.as_object().cloned().unwrap_or_default()
}

fn slug(s: &str) -> String {
    s.chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .collect::<String>()
        .to_lowercase()
}

pub fn generate(st: &mut State, org: usize) -> Result<(), EmulatorError> {
    let mut rng = StdRng::seed_from_u64(DEMO_SEED);
    let now = st.clock.now();
    let when = |rng: &mut StdRng| WriteOpts {
        user_id: None,
        stamp: Some(now - Duration::minutes(rng.random_range(60..60 * 24 * 60))),
        admin: true,
    };
    let mut users = vec![st.orgs[org].admin_user_id.clone()];
    for i in 0..USERS {
        let (f, l) = (FIRST[i % FIRST.len()], LAST[(i * 7) % LAST.len()]);
        let email = format!("{}.{}@demo.example", slug(f), slug(l));
        let mut u = UserSpec::new(&email, "").named(f, l);
        u.password = None;
        u.title = Some(
            if i < 4 {
                "Sales Manager"
            } else {
                "Account Executive"
            }
            .into(),
        );
        users.push(crate::seed::add_user(st, org, &u)?);
    }
    let err = |e: crate::error::ApiError| EmulatorError::Seed {
        path: "demo".into(),
        message: format!("{}: {}", e.code, e.message),
    };
    let mut accounts = Vec::new();
    for i in 0..ACCOUNTS {
        let name = format!(
            "{} {} {}",
            pick(&mut rng, COMPANY_A),
            pick(&mut rng, COMPANY_B),
            SUFFIX[i % SUFFIX.len()]
        );
        let (city, state_code, country) = CITIES[rng.random_range(0..CITIES.len())];
        let owner = users[rng.random_range(0..users.len())].clone();
        let fields = obj(json!({
            "Name": name,
            "Industry": pick(&mut rng, INDUSTRIES),
            "Type": if rng.random_bool(0.6) { "Customer - Direct" } else { "Prospect" },
            "Website": format!("https://www.{}.example", slug(&name)),
            "Phone": format!("+1 415 555 {:04}", rng.random_range(0..10000)),
            "NumberOfEmployees": rng.random_range(5..5000),
            "AnnualRevenue": rng.random_range(1..500) as f64 * 100_000.0,
            "BillingCity": city,
            "BillingState": if state_code.is_empty() { Value::Null } else { json!(state_code) },
            "BillingCountry": country,
            "OwnerId": owner,
        }));
        let opts = when(&mut rng);
        accounts.push((
            create(st, org, "Account", &fields, &opts).map_err(err)?,
            name,
        ));
    }
    for i in 0..CONTACTS {
        let (f, l) = (pick(&mut rng, FIRST), pick(&mut rng, LAST));
        let (acct, acct_name) = accounts[rng.random_range(0..accounts.len())].clone();
        let domain = format!("{}.example", slug(&acct_name));
        let fields = obj(json!({
            "FirstName": f,
            "LastName": l,
            "Email": format!("{}.{}{}@{}", slug(f), slug(l), i, domain),
            "Title": pick(&mut rng, TITLES),
            "Phone": format!("+1 212 555 {:04}", rng.random_range(0..10000)),
            "LeadSource": pick(&mut rng, &["Web", "Phone Inquiry", "Partner Referral", "Other"]),
            "AccountId": acct,
            "OwnerId": users[rng.random_range(0..users.len())],
        }));
        let opts = when(&mut rng);
        create(st, org, "Contact", &fields, &opts).map_err(err)?;
    }
    for i in 0..LEADS {
        let (f, l) = (pick(&mut rng, FIRST), pick(&mut rng, LAST));
        let company = format!(
            "{} {}",
            pick(&mut rng, COMPANY_A),
            pick(&mut rng, COMPANY_B)
        );
        // Every tenth lead has no phone: the standard config requires one, so the demo
        // shows records skipped with their reason.
        let phone = (i % 10 != 0).then(|| format!("+1 646 555 {:04}", i));
        let fields = obj(json!({
            "FirstName": f,
            "LastName": l,
            "Phone": phone,
            "Company": company,
            "Email": format!("{}.{}.lead{}@{}.example", slug(f), slug(l), i, slug(&company)),
            "Status": pick(&mut rng, LEAD_STATUSES),
            "Industry": pick(&mut rng, INDUSTRIES),
            "LeadSource": pick(&mut rng, &["Web", "Purchased List", "Partner Referral"]),
            "Rating": pick(&mut rng, &["Hot", "Warm", "Cold"]),
            "OwnerId": users[rng.random_range(0..users.len())],
        }));
        let opts = when(&mut rng);
        create(st, org, "Lead", &fields, &opts).map_err(err)?;
    }
    // Line items are priced like real ones: an active entry of the standard price book.
    let entries: Vec<(String, f64)> = st.orgs[org]
        .store
        .records("PricebookEntry")
        .filter(|e| !e.deleted && e.get("IsActive") == &Value::Bool(true))
        .map(|e| (e.id.clone(), e.get("UnitPrice").as_f64().unwrap_or(99.0)))
        .collect();
    let book = crate::pricing::standard_price_book(&st.orgs[org]);
    for i in 0..OPPORTUNITIES {
        let (acct, acct_name) = accounts[rng.random_range(0..accounts.len())].clone();
        let close = (now + Duration::days(rng.random_range(-60..120))).date_naive();
        let fields = obj(json!({
            "Name": format!("{acct_name} - Deal {}", i + 1),
            "AccountId": acct,
            "StageName": pick(&mut rng, STAGES),
            "Amount": rng.random_range(1..100) as f64 * 100.0,
            "CloseDate": close.format("%Y-%m-%d").to_string(),
            "Type": "New Customer",
            "OwnerId": users[rng.random_range(0..users.len())],
        }));
        let opts = when(&mut rng);
        let opp = create(st, org, "Opportunity", &fields, &opts).map_err(err)?;
        if i % 3 == 0 {
            let mut line = obj(
                json!({"OpportunityId": opp, "Quantity": rng.random_range(1..20), "UnitPrice": 99.0}),
            );
            if let Some((entry, price)) = entries.get(i % entries.len().max(1)) {
                line.insert("PricebookEntryId".into(), json!(entry));
                line.insert("UnitPrice".into(), json!(price));
                crate::writes::update(
                    st,
                    org,
                    "Opportunity",
                    &opp,
                    &obj(json!({"Pricebook2Id": book})),
                    &opts,
                )
                .map_err(err)?;
            }
            create(st, org, "OpportunityLineItem", &line, &opts).map_err(err)?;
            let task = obj(json!({"Subject": "Follow up", "WhatId": opp, "OwnerId": users[0]}));
            create(st, org, "Task", &task, &opts).map_err(err)?;
        }
    }
    Ok(())
}
