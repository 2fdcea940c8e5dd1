//! Products and price books, as a real org enforces them.
//!
//! An `OpportunityLineItem` names a `PricebookEntryId`, or a `Product2Id` that resolves to
//! the entry of that product in the Opportunity's price book (the standard one when the
//! Opportunity has none). The entry must be active and in the Opportunity's price book; an
//! Opportunity without one takes the entry's price book. Anything else is a
//! `400 FIELD_INTEGRITY_EXCEPTION`, worded like Salesforce's.

use crate::error::ApiError;
use crate::state::Org;
use crate::store::Record;
use serde_json::{Map, Value};

pub const STANDARD_PRICE_BOOK: &str = "Standard Price Book";

fn integrity(detail: &str, fields: &[&str]) -> ApiError {
    ApiError::bad(
        "FIELD_INTEGRITY_EXCEPTION",
        format!("field integrity exception: {detail}"),
    )
    .with_fields(fields.iter().map(|f| f.to_string()).collect())
}

fn text<'a>(r: &'a Record, field: &str) -> Option<&'a str> {
    r.get(field).as_str()
}

fn live<'a>(org: &'a Org, object: &str, id: &str) -> Option<&'a Record> {
    org.store.get(object, id).filter(|r| !r.deleted)
}

/// The org's standard price book.
pub fn standard_price_book(org: &Org) -> Option<String> {
    org.store
        .records("Pricebook2")
        .find(|r| !r.deleted && r.get("IsStandard") == &Value::Bool(true))
        .map(|r| r.id.clone())
}

/// A price book entry mirrors its product's Name and ProductCode.
pub fn mirror_product(org: &Org, rec: &mut Map<String, Value>) {
    let Some(product) = rec
        .get("Product2Id")
        .and_then(Value::as_str)
        .and_then(|id| live(org, "Product2", id))
    else {
        return;
    };
    for field in ["Name", "ProductCode"] {
        rec.insert(field.into(), product.get(field).clone());
    }
}

/// Checks a new line item against its Opportunity's price book and fills in the entry,
/// product, list price and names. Returns the price book to set on the Opportunity when it
/// has none yet.
pub fn price_line_item(
    org: &Org,
    rec: &mut Map<String, Value>,
) -> Result<Option<String>, ApiError> {
    let opp_id = rec
        .get("OpportunityId")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let Some(opp) = live(org, "Opportunity", opp_id) else {
        // The reference check reports a missing parent.
        return Ok(None);
    };
    let opp_book = text(opp, "Pricebook2Id").map(str::to_string);
    let entry_id = rec.get("PricebookEntryId").and_then(Value::as_str);
    let product_id = rec.get("Product2Id").and_then(Value::as_str);
    let entry = match (entry_id, product_id) {
        (Some(id), _) => live(org, "PricebookEntry", id),
        (None, Some(product)) => {
            let book = opp_book.clone().or_else(|| standard_price_book(org));
            org.store.records("PricebookEntry").find(|e| {
                !e.deleted
                    && text(e, "Product2Id") == Some(product)
                    && text(e, "Pricebook2Id") == book.as_deref()
            })
        }
        (None, None) => None,
    };
    let Some(entry) = entry else {
        return Err(integrity(
            "PricebookEntryId, unknown (versions 3.0 and higher must specify pricebook entry id; others must specify product id)",
            &["PricebookEntryId", "unknown"],
        ));
    };
    if product_id.is_some_and(|p| text(entry, "Product2Id") != Some(p)) {
        return Err(integrity(
            "Product2Id (product id does not match the pricebook entry's product)",
            &["Product2Id"],
        ));
    }
    if entry.get("IsActive") != &Value::Bool(true) {
        return Err(integrity(
            "PricebookEntryId (pricebook entry is inactive)",
            &["PricebookEntryId"],
        ));
    }
    let entry_book = text(entry, "Pricebook2Id").unwrap_or_default().to_string();
    let book_to_set = match &opp_book {
        Some(book) if *book != entry_book => {
            return Err(integrity(
                "PricebookEntryId (pricebook entry is in a different pricebook than the one assigned to the opportunity)",
                &["PricebookEntryId"],
            ));
        }
        Some(_) => None,
        None => {
            let active = live(org, "Pricebook2", &entry_book)
                .is_some_and(|b| b.get("IsActive") == &Value::Bool(true));
            if !active {
                return Err(integrity(
                    "PricebookEntryId (pricebook entry's pricebook is inactive)",
                    &["PricebookEntryId"],
                ));
            }
            Some(entry_book)
        }
    };
    let product = text(entry, "Product2Id")
        .and_then(|p| live(org, "Product2", p))
        .map(|p| text(p, "Name").unwrap_or_default().to_string())
        .unwrap_or_default();
    let opp_name = text(opp, "Name").unwrap_or_default();
    rec.insert("PricebookEntryId".into(), Value::String(entry.id.clone()));
    rec.insert("Product2Id".into(), entry.get("Product2Id").clone());
    rec.insert("ProductCode".into(), entry.get("ProductCode").clone());
    rec.insert("ListPrice".into(), entry.get("UnitPrice").clone());
    rec.insert(
        "Name".into(),
        Value::String(format!("{opp_name} {product}").trim().to_string()),
    );
    if rec.get("UnitPrice").is_none_or(Value::is_null) {
        rec.insert("UnitPrice".into(), entry.get("UnitPrice").clone());
    }
    Ok(book_to_set)
}
