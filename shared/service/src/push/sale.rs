//! Pricing a sale before anything is written.
//!
//! Salesforce refuses a line item without an active entry of its Opportunity's price book
//! (`FIELD_INTEGRITY_EXCEPTION`). So each sale item is resolved to a `PricebookEntry` first
//! (by the app's product id, else its product code, else its name) in the configured price
//! book or the standard one, with one query for all items. The Opportunity gets that
//! `Pricebook2Id`. An item that cannot be resolved refuses the whole sale, naming the item.

use crmsync_core::config::SyncConfig;
use crmsync_core::event::{AppEvent, SaleItem};
use crmsync_core::outbound::WritePlan;
use crmsync_salesforce::soql::{Condition, SoqlBuilder};
use crmsync_salesforce::{SfClient, SfError};
use futures::StreamExt;
use serde_json::{Map, Value, json};

use crate::error::ServiceError;

const LINE_ITEM: &str = "OpportunityLineItem";
/// Report code of a sale refused because an item has no usable price book entry.
pub(super) const UNPRICED: &str = "SALE_ITEM_NOT_PRICED";

/// The price book sales are priced from.
#[derive(Debug, Clone)]
struct PriceBook {
    id: String,
    name: String,
}

/// A price book entry as queried.
#[derive(Debug, Clone)]
struct Entry {
    id: String,
    product_id: String,
    code: String,
    name: String,
    active: bool,
}

impl Entry {
    fn from_record(r: &Map<String, Value>) -> Option<Entry> {
        let text = |f: &str| {
            r.get(f)
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string()
        };
        Some(Entry {
            id: r.get("Id")?.as_str()?.to_string(),
            product_id: text("Product2Id"),
            code: text("ProductCode"),
            name: text("Name"),
            active: r.get("IsActive").and_then(Value::as_bool).unwrap_or(false),
        })
    }
}

/// Prices the sales of one push batch or outbox drain: the price book is looked up once,
/// and each product key's entries once (a drain lasts seconds, so a price book edited
/// meanwhile is seen by the next drain).
#[derive(Default)]
pub(super) struct Pricer {
    book: Option<Result<PriceBook, String>>,
    /// Entries found for the keys asked so far.
    entries: Vec<Entry>,
    /// Keys already queried (see [`Key::cache_key`]), found or not.
    asked: std::collections::BTreeSet<String>,
}

/// How one item is looked up.
enum Key<'a> {
    Product(&'a str),
    Code(&'a str),
    Name(&'a str),
}

impl Key<'_> {
    fn of(item: &SaleItem) -> Option<Key<'_>> {
        if item.pricebook_entry_id.is_some() {
            return None; // The app knows the entry: Salesforce checks it.
        }
        Some(match (&item.product_id, &item.product_code) {
            (Some(p), _) => Key::Product(p),
            (None, Some(c)) => Key::Code(c),
            (None, None) => Key::Name(&item.name),
        })
    }
    fn matches(&self, e: &Entry) -> bool {
        match self {
            // Salesforce ids: the 15-character form is a prefix of the 18.
            Key::Product(p) => e.product_id.starts_with(p) && p.len() >= 15,
            Key::Code(c) => e.code.eq_ignore_ascii_case(c),
            Key::Name(n) => e.name.eq_ignore_ascii_case(n),
        }
    }
    /// The key as queried: Salesforce ids as given, codes and names case-insensitively.
    fn cache_key(&self) -> String {
        match self {
            Key::Product(p) => format!("p:{p}"),
            Key::Code(c) => format!("c:{}", c.to_lowercase()),
            Key::Name(n) => format!("n:{}", n.to_lowercase()),
        }
    }
    fn describe(&self) -> String {
        match self {
            Key::Product(p) => format!("product {p}"),
            Key::Code(c) => format!("product code {c:?}"),
            Key::Name(n) => format!("product name {n:?}"),
        }
    }
}

impl Pricer {
    /// Sets `PricebookEntryId` on every line item of `plan` and `Pricebook2Id` on its
    /// Opportunity. `Ok(Err(reason))`: the sale cannot be priced and must not be written.
    pub(super) async fn price(
        &mut self,
        client: &SfClient,
        config: &SyncConfig,
        event: &AppEvent,
        plan: &mut WritePlan,
    ) -> Result<Result<(), String>, ServiceError> {
        let items: Vec<(usize, &SaleItem)> = plan
            .steps
            .iter()
            .enumerate()
            .filter(|(_, s)| s.object == LINE_ITEM)
            .filter_map(|(i, s)| Some((i, item_of(event, &s.key)?)))
            .collect();
        if items.is_empty() {
            return Ok(Ok(()));
        }
        let book = match self.book(client, config).await? {
            Ok(book) => book,
            Err(reason) => return Ok(Err(reason)),
        };
        let keys: Vec<(usize, &SaleItem, Option<Key>)> = items
            .into_iter()
            .map(|(i, it)| (i, it, Key::of(it)))
            .collect();
        let unasked: Vec<&Key> = keys
            .iter()
            .filter_map(|(_, _, k)| k.as_ref())
            .filter(|k| !self.asked.contains(&k.cache_key()))
            .collect();
        if !unasked.is_empty() {
            let found = entries(client, &book, unasked.iter().copied()).await?;
            self.asked.extend(unasked.iter().map(|k| k.cache_key()));
            for e in found {
                if !self.entries.iter().any(|known| known.id == e.id) {
                    self.entries.push(e);
                }
            }
        }
        let entries = &self.entries;
        let mut problems = Vec::new();
        let mut chosen = Vec::new();
        for (step, item, key) in &keys {
            let Some(key) = key else { continue };
            let found: Vec<&Entry> = entries.iter().filter(|e| key.matches(e)).collect();
            let label = format!(
                "{} {:?} ({})",
                plan.steps[*step].key,
                item.name,
                key.describe()
            );
            match found.as_slice() {
                [] => problems.push(format!(
                    "{label}: no such product in price book {:?}",
                    book.name
                )),
                [e] if !e.active => problems.push(format!(
                    "{label}: its entry in price book {:?} is inactive",
                    book.name
                )),
                [e] => chosen.push((*step, e.id.clone())),
                many => problems.push(format!(
                    "{label}: ambiguous, {} products match in price book {:?}",
                    many.len(),
                    book.name
                )),
            }
        }
        if !problems.is_empty() {
            return Ok(Err(format!("{}; nothing was written", problems.join("; "))));
        }
        for (step, entry) in chosen {
            plan.steps[step]
                .fields
                .insert("PricebookEntryId".into(), json!(entry));
        }
        for step in plan.steps.iter_mut().filter(|s| s.object == "Opportunity") {
            step.fields.insert("Pricebook2Id".into(), json!(book.id));
        }
        Ok(Ok(()))
    }

    async fn book(
        &mut self,
        client: &SfClient,
        config: &SyncConfig,
    ) -> Result<Result<PriceBook, String>, ServiceError> {
        if self.book.is_none() {
            self.book = Some(find_book(client, config.opportunity.price_book.as_deref()).await?);
        }
        Ok(self
            .book
            .clone()
            .unwrap_or_else(|| Err("no price book".into())))
    }
}

/// The event's sale item behind a `line_item[i]` step.
fn item_of<'a>(event: &'a AppEvent, key: &str) -> Option<&'a SaleItem> {
    let i: usize = key
        .strip_prefix("line_item[")?
        .strip_suffix(']')?
        .parse()
        .ok()?;
    event.sale_items.get(i)
}

/// The configured price book (by Id or name), else the org's standard one.
async fn find_book(
    client: &SfClient,
    configured: Option<&str>,
) -> Result<Result<PriceBook, String>, ServiceError> {
    let describe = client.describe("Pricebook2").await?;
    let filter = match configured {
        None => Condition::eq("IsStandard", true),
        Some(b) if looks_like_book_id(b) => Condition::eq("Id", b),
        Some(b) => Condition::eq("Name", b),
    };
    let soql = SoqlBuilder::new(&describe)
        .select(["Id", "Name", "IsActive"])
        .filter(filter)
        .limit(2)
        .build()
        .map_err(SfError::from)?;
    let records = query_all(client, soql).await?;
    let wanted = match configured {
        None => "the standard price book".to_string(),
        Some(b) => format!("price book {b:?} (opportunity.price_book)"),
    };
    Ok(match records.as_slice() {
        [] => Err(format!(
            "{wanted} does not exist in this org; nothing was written"
        )),
        [r] if r.get("IsActive").and_then(Value::as_bool) != Some(true) => {
            Err(format!("{wanted} is inactive; nothing was written"))
        }
        [r] => Ok(PriceBook {
            id: r
                .get("Id")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string(),
            name: r
                .get("Name")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string(),
        }),
        _ => Err(format!(
            "{wanted} is ambiguous (several price books have that name); name it by Id; nothing was written"
        )),
    })
}

fn looks_like_book_id(s: &str) -> bool {
    matches!(s.len(), 15 | 18)
        && s.starts_with("01s")
        && s.chars().all(|c| c.is_ascii_alphanumeric())
}

/// Every entry of `book` that any key could name, in one query.
async fn entries<'k, 'a: 'k>(
    client: &SfClient,
    book: &PriceBook,
    keys: impl Iterator<Item = &'k Key<'a>>,
) -> Result<Vec<Entry>, ServiceError> {
    let (mut products, mut codes, mut names) = (Vec::new(), Vec::new(), Vec::new());
    for k in keys {
        match k {
            Key::Product(p) => products.push(p.to_string()),
            Key::Code(c) => codes.push(c.to_string()),
            Key::Name(n) => names.push(n.to_string()),
        }
    }
    let mut any = Vec::new();
    for (field, values) in [
        ("Product2Id", products),
        ("ProductCode", codes),
        ("Name", names),
    ] {
        if !values.is_empty() {
            any.push(Condition::in_list(field, values));
        }
    }
    if any.is_empty() {
        return Ok(Vec::new());
    }
    let describe = client.describe("PricebookEntry").await?;
    let soql = SoqlBuilder::new(&describe)
        .select(["Id", "Product2Id", "ProductCode", "Name", "IsActive"])
        .filter(Condition::and([
            Condition::eq("Pricebook2Id", book.id.as_str()),
            Condition::or(any),
        ]))
        .limit(2000)
        .build()
        .map_err(SfError::from)?;
    Ok(query_all(client, soql)
        .await?
        .iter()
        .filter_map(Entry::from_record)
        .collect())
}

async fn query_all(
    client: &SfClient,
    soql: String,
) -> Result<Vec<Map<String, Value>>, ServiceError> {
    let mut records = Vec::new();
    let mut pages = client.query(soql);
    while let Some(page) = pages.next().await {
        records.extend(page?.records.into_iter().map(|r| r.fields));
    }
    Ok(records)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(code: &str, name: &str) -> Entry {
        Entry {
            id: "01u000000000001AAA".into(),
            product_id: "01t000000000001AAA".into(),
            code: code.into(),
            name: name.into(),
            active: true,
        }
    }

    #[test]
    fn keys_match_code_and_name_case_insensitively_and_15_char_product_ids() {
        let e = entry("CC-LIC", "Compiler licence");
        assert!(Key::Code("cc-lic").matches(&e));
        assert!(Key::Name("COMPILER LICENCE").matches(&e));
        assert!(!Key::Name("Compiler").matches(&e));
        assert!(Key::Product("01t000000000001").matches(&e));
        assert!(!Key::Product("01t").matches(&e));
    }

    #[test]
    fn a_book_id_is_told_from_a_name() {
        assert!(looks_like_book_id("01s000000000001AAA"));
        assert!(!looks_like_book_id("Partner Prices"));
    }
}
