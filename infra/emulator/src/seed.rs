//! Populates a new org: its Organization row, users, seed records and optional demo data.

use crate::error::EmulatorError;
use crate::spec::{OrgSpec, UserSpec};
use crate::state::State;
use crate::writes::{WriteOpts, create};
use serde_json::{Map, Value, json};

fn admin_opts() -> WriteOpts {
    WriteOpts {
        admin: true,
        ..WriteOpts::default()
    }
}

/// Adds a user record and its login; returns the user id.
pub fn add_user(st: &mut State, org: usize, u: &UserSpec) -> Result<String, EmulatorError> {
    let key = u.username.to_lowercase();
    if st.orgs.iter().any(|o| o.logins.contains_key(&key)) {
        return Err(EmulatorError::Seed {
            path: format!("users.{}", u.username),
            message: "username already exists (usernames are unique across orgs)".into(),
        });
    }
    let last = u
        .last_name
        .clone()
        .unwrap_or_else(|| u.username.split('@').next().unwrap_or("User").to_string());
    let fields: Map<String, Value> = json!({
        "Username": u.username,
        "Email": u.email.clone().unwrap_or_else(|| u.username.clone()),
        "FirstName": u.first_name,
        "LastName": last,
        "Alias": last.chars().take(8).collect::<String>(),
        "Title": u.title,
        "IsActive": u.active,
        "UserType": "Standard",
    })
    .as_object()
    .cloned()
    .unwrap_or_default();
    let id = create(st, org, "User", &fields, &admin_opts()).map_err(EmulatorError::from)?;
    if st.orgs[org].admin_user_id.is_empty() {
        st.orgs[org].admin_user_id = id.clone();
    }
    if let Some(pw) = &u.password {
        st.orgs[org].logins.insert(key, (id.clone(), pw.clone()));
    }
    Ok(id)
}

pub fn populate(st: &mut State, org: usize, spec: &OrgSpec) -> Result<(), EmulatorError> {
    let org_row = json!({
        "Id": st.orgs[org].org_id,
        "Name": spec.name,
        "OrganizationType": if spec.is_sandbox { "Developer Edition" } else { "Enterprise Edition" },
        "IsSandbox": spec.is_sandbox,
        "InstanceName": "EMU1",
    });
    let users: Vec<UserSpec> = if spec.users.is_empty() {
        vec![UserSpec::new(
            &format!("admin@{}.example", spec.alias),
            "demo",
        )]
    } else {
        spec.users.clone()
    };
    for u in &users {
        add_user(st, org, u)?;
    }
    create(
        st,
        org,
        "Organization",
        org_row.as_object().unwrap_or(&Map::new()),
        &admin_opts(),
    )
    .map_err(EmulatorError::from)?;
    seed_catalog(st, org, &spec.products)?;
    st.orgs[org].record_type_defaults = crate::record_types::seed(st, org, &spec.record_types)?;
    if spec.demo_data {
        crate::demo_seed::generate(st, org)?;
    }
    for (object, rows) in &spec.records {
        for (i, row) in rows.iter().enumerate() {
            let opts = WriteOpts::default();
            create(st, org, object, row, &opts).map_err(|e| EmulatorError::Seed {
                path: format!("records.{object}[{i}]"),
                message: format!("{}: {}", e.code, e.message),
            })?;
        }
    }
    Ok(())
}

/// Every org has a standard price book; seeded products get an entry in it.
fn seed_catalog(
    st: &mut State,
    org: usize,
    products: &[crate::spec::ProductSpec],
) -> Result<(), EmulatorError> {
    let book =
        json!({"Name": crate::pricing::STANDARD_PRICE_BOOK, "IsActive": true, "IsStandard": true});
    let book =
        create(st, org, "Pricebook2", &to_map(book), &admin_opts()).map_err(EmulatorError::from)?;
    for (i, p) in products.iter().enumerate() {
        let err = |e: crate::error::ApiError| EmulatorError::Seed {
            path: format!("products[{i}]"),
            message: format!("{}: {}", e.code, e.message),
        };
        let product = json!({"Name": p.name, "ProductCode": p.product_code, "Family": p.family, "IsActive": p.active});
        let product =
            create(st, org, "Product2", &to_map(product), &WriteOpts::default()).map_err(err)?;
        let entry = json!({
            "Pricebook2Id": book, "Product2Id": product, "UnitPrice": p.unit_price,
            "IsActive": p.active, "UseStandardPrice": false,
        });
        create(
            st,
            org,
            "PricebookEntry",
            &to_map(entry),
            &WriteOpts::default(),
        )
        .map_err(err)?;
    }
    Ok(())
}

fn to_map(v: Value) -> Map<String, Value> {
    v.as_object().cloned().unwrap_or_default()
}
