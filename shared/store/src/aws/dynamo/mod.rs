//! DynamoDB adapter: every table port over one table (layout in [`keys`]).

mod accounts;
mod checkpoints;
mod feed;
mod intents;
pub mod keys;
mod links;
mod ops;
mod outbox;
mod quota;
mod reports;
mod runs;
mod shortlived;
mod sync;

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use aws_sdk_dynamodb::operation::query::builders::QueryFluentBuilder;
use aws_sdk_dynamodb::types::AttributeValue;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::aws::errors::classify;
use crate::clock::Clock;
use crate::error::{StoreError, StoreResult};
use crate::model::PageToken;

type Item = HashMap<String, AttributeValue>;

const SERVICE: &str = "dynamodb";
const DATA: &str = "data";

/// The DynamoDB store. Cheap to clone (the SDK client is an `Arc` inside).
#[derive(Debug, Clone)]
pub struct DynamoStore {
    client: aws_sdk_dynamodb::Client,
    table: String,
    clock: Arc<dyn Clock>,
}

impl DynamoStore {
    pub fn new(
        client: aws_sdk_dynamodb::Client,
        table: impl Into<String>,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self {
            client,
            table: table.into(),
            clock,
        }
    }

    pub fn table(&self) -> &str {
        &self.table
    }

    fn now(&self) -> chrono::DateTime<chrono::Utc> {
        crate::util::millis(self.clock.now())
    }

    async fn get(&self, pk: &str, sk: &str) -> StoreResult<Option<Item>> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key(keys::PK, s(pk))
            .key(keys::SK, s(sk))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| classify(SERVICE, "GetItem", e))?;
        Ok(out.item)
    }

    async fn get_data<T: DeserializeOwned>(&self, pk: &str, sk: &str) -> StoreResult<Option<T>> {
        match self.get(pk, sk).await? {
            Some(item) => Ok(Some(data_of(&item)?)),
            None => Ok(None),
        }
    }
}

pub(crate) fn s(v: impl Into<String>) -> AttributeValue {
    AttributeValue::S(v.into())
}

pub(crate) fn n(v: impl ToString) -> AttributeValue {
    AttributeValue::N(v.to_string())
}

/// Starts an item with its primary key.
fn item(pk: &str, sk: &str) -> Item {
    HashMap::from([(keys::PK.to_string(), s(pk)), (keys::SK.to_string(), s(sk))])
}

fn to_av<T: Serialize>(value: &T, what: &str) -> StoreResult<AttributeValue> {
    serde_dynamo::to_attribute_value(value)
        .map_err(|e| StoreError::invalid(what, format!("cannot be stored: {e}")))
}

fn with_data<T: Serialize>(mut item: Item, data: &T) -> StoreResult<Item> {
    item.insert(DATA.to_string(), to_av(data, DATA)?);
    Ok(item)
}

fn key_of(item: &Item) -> String {
    let part = |k: &str| match item.get(k) {
        Some(AttributeValue::S(v)) => v.as_str(),
        _ => "?",
    };
    format!("{}/{}", part(keys::PK), part(keys::SK))
}

fn data_of<T: DeserializeOwned>(item: &Item) -> StoreResult<T> {
    let value = item
        .get(DATA)
        .cloned()
        .ok_or_else(|| StoreError::corrupt(key_of(item), "no data attribute"))?;
    serde_dynamo::from_attribute_value(value).map_err(|e| StoreError::corrupt(key_of(item), e))
}

fn num_of(item: &Item, name: &str) -> StoreResult<Option<u64>> {
    match item.get(name) {
        None => Ok(None),
        Some(AttributeValue::N(v)) => v
            .parse()
            .map(Some)
            .map_err(|e| StoreError::corrupt(key_of(item), format!("{name}: {e}"))),
        Some(_) => Err(StoreError::corrupt(
            key_of(item),
            format!("{name} is not a number"),
        )),
    }
}

fn str_of<'a>(item: &'a Item, name: &str) -> Option<&'a str> {
    match item.get(name) {
        Some(AttributeValue::S(v)) => Some(v),
        _ => None,
    }
}

/// LastEvaluatedKey (all our key attributes are strings) → opaque token.
fn encode_page(key: Option<&Item>) -> Option<PageToken> {
    use base64::Engine;
    let key = key?;
    let map: BTreeMap<&str, &str> = key
        .iter()
        .filter_map(|(k, v)| match v {
            AttributeValue::S(s) => Some((k.as_str(), s.as_str())),
            _ => None,
        })
        .collect();
    let json = serde_json::to_vec(&map).ok()?;
    Some(PageToken(
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(json),
    ))
}

fn decode_page(token: Option<&PageToken>) -> StoreResult<Option<Item>> {
    use base64::Engine;
    let Some(token) = token else { return Ok(None) };
    let bad = || StoreError::invalid("page token", "not a token this store issued");
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(&token.0)
        .map_err(|_| bad())?;
    let map: BTreeMap<String, String> = serde_json::from_slice(&bytes).map_err(|_| bad())?;
    let allowed = [keys::PK, keys::SK, keys::GSI1PK, keys::GSI1SK];
    if map.is_empty() || map.keys().any(|k| !allowed.contains(&k.as_str())) {
        return Err(bad());
    }
    Ok(Some(map.into_iter().map(|(k, v)| (k, s(v))).collect()))
}

/// Checks a caller's start key against the query it continues: exactly the key
/// attributes of the table (and of the index), the query's partition key value, and a
/// sort key that meets the query's sort key condition. DynamoDB refuses any other
/// `ExclusiveStartKey` with a ValidationException (a 500 for a forged or replayed
/// cursor); this makes it a named [`StoreError::InvalidInput`] instead.
fn check_start_key(query: &QueryFluentBuilder, start: &Item) -> StoreResult<()> {
    let empty = HashMap::new();
    let fits = start_key_fits(
        query.get_index_name().as_deref(),
        query
            .get_key_condition_expression()
            .as_deref()
            .unwrap_or(""),
        query
            .get_expression_attribute_values()
            .as_ref()
            .unwrap_or(&empty),
        query.get_expression_attribute_names().as_ref(),
        start,
    );
    if fits {
        Ok(())
    } else {
        Err(StoreError::invalid(
            "page token",
            "not a token of this listing",
        ))
    }
}

/// [`check_start_key`] on the query's parts. Understands the key conditions this
/// adapter writes (`pk = :v`, optionally `AND` one of `begins_with(sk, :v)`,
/// `sk BETWEEN :a AND :b`, `sk <op> :v`); a sort condition of another shape is left to
/// DynamoDB, the partition key is always checked.
fn start_key_fits(
    index: Option<&str>,
    key_condition: &str,
    values: &HashMap<String, AttributeValue>,
    names: Option<&HashMap<String, String>>,
    start: &Item,
) -> bool {
    let (part_attr, sort_attr) = if index == Some(keys::GSI1) {
        (keys::GSI1PK, keys::GSI1SK)
    } else if index.is_none() {
        (keys::PK, keys::SK)
    } else {
        return false;
    };
    let mut required = vec![keys::PK, keys::SK];
    if index.is_some() {
        required.extend([keys::GSI1PK, keys::GSI1SK]);
    }
    let key_str = |name: &str| match start.get(name) {
        Some(AttributeValue::S(v)) => Some(v.as_str()),
        _ => None,
    };
    if start.len() != required.len() || required.iter().any(|k| key_str(k).is_none()) {
        return false;
    }
    let attr = |raw: &str| {
        let raw = raw.trim();
        names
            .and_then(|n| n.get(raw))
            .map_or(raw, String::as_str)
            .to_string()
    };
    let value = |raw: &str| match values.get(raw.trim()) {
        Some(AttributeValue::S(v)) => Some(v.as_str()),
        _ => None,
    };
    let (part_clause, sort_clause) = match key_condition.split_once(" AND ") {
        Some((p, rest)) => (p, Some(rest.trim())),
        None => (key_condition, None),
    };
    let Some((lhs, rhs)) = part_clause.split_once('=') else {
        return false;
    };
    if attr(lhs) != part_attr || value(rhs).is_none() || key_str(part_attr) != value(rhs) {
        return false;
    }
    let Some(sort_clause) = sort_clause else {
        return true;
    };
    let sort = key_str(sort_attr).unwrap_or_default();
    if let Some(args) = sort_clause
        .strip_prefix("begins_with(")
        .and_then(|a| a.strip_suffix(')'))
    {
        return match args.split_once(',') {
            Some((a, v)) if attr(a) == sort_attr => value(v).is_some_and(|p| sort.starts_with(p)),
            _ => true,
        };
    }
    if let Some((a, range)) = sort_clause.split_once(" BETWEEN ") {
        return match range.split_once(" AND ") {
            Some((lo, hi)) if attr(a) == sort_attr => match (value(lo), value(hi)) {
                (Some(lo), Some(hi)) => lo <= sort && sort <= hi,
                _ => false,
            },
            _ => true,
        };
    }
    for op in ["<=", ">=", "<", ">", "="] {
        if let Some((a, v)) = sort_clause.split_once(op) {
            if attr(a) != sort_attr {
                return true;
            }
            let Some(v) = value(v) else { return false };
            return match op {
                "<=" => sort <= v,
                ">=" => sort >= v,
                "<" => sort < v,
                ">" => sort > v,
                _ => sort == v,
            };
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(pairs: &[(&str, &str)]) -> Item {
        pairs.iter().map(|(k, v)| (k.to_string(), s(*v))).collect()
    }

    fn vals(pairs: &[(&str, &str)]) -> HashMap<String, AttributeValue> {
        pairs.iter().map(|(k, v)| (k.to_string(), s(*v))).collect()
    }

    #[test]
    fn start_keys_must_fit_the_query() {
        let runs = "pk = :pk AND begins_with(sk, :prefix)";
        let v = vals(&[(":pk", "TENANT#a"), (":prefix", "RUN#c#"), (":now", "1")]);
        let fits = |k: &Item| start_key_fits(None, runs, &v, None, k);
        assert!(fits(&key(&[("pk", "TENANT#a"), ("sk", "RUN#c#1#r")])));
        // Another tenant's partition, another connection's runs, missing or extra keys.
        assert!(!fits(&key(&[("pk", "TENANT#b"), ("sk", "RUN#c#1#r")])));
        assert!(!fits(&key(&[("pk", "TENANT#a"), ("sk", "RUN#d#1#r")])));
        assert!(!fits(&key(&[("pk", "TENANT#a")])));
        assert!(!fits(&key(&[
            ("pk", "TENANT#a"),
            ("sk", "RUN#c#1#r"),
            ("gsi1pk", "x"),
            ("gsi1sk", "y"),
        ])));

        let reports = "gsi1pk = :g AND gsi1sk BETWEEN :from AND :to";
        let v = vals(&[
            (":g", "REPORTS#a#c#error"),
            (":from", "000"),
            (":to", "500"),
        ]);
        let fits = |k: &Item| start_key_fits(Some(keys::GSI1), reports, &v, None, k);
        let report = |g: &str, gs: &str| {
            key(&[
                ("pk", "TENANT#a"),
                ("sk", "REPORT#c#e"),
                ("gsi1pk", g),
                ("gsi1sk", gs),
            ])
        };
        assert!(fits(&report("REPORTS#a#c#error", "123#e")));
        assert!(!fits(&report("REPORTS#b#c#error", "123#e")));
        assert!(!fits(&report("REPORTS#a#c#success", "123#e")));
        assert!(!fits(&report("REPORTS#a#c#error", "600#e")));
        assert!(!fits(&key(&[("pk", "TENANT#a"), ("sk", "REPORT#c#e")])));

        let all = "gsi1pk = :g";
        let v = vals(&[(":g", "CONNS")]);
        let conn = |g: &str| {
            key(&[
                ("pk", "TENANT#a"),
                ("sk", "CONN#c"),
                ("gsi1pk", g),
                ("gsi1sk", "TENANT#a#CONN#c"),
            ])
        };
        assert!(start_key_fits(
            Some(keys::GSI1),
            all,
            &v,
            None,
            &conn("CONNS")
        ));
        assert!(!start_key_fits(
            Some(keys::GSI1),
            all,
            &v,
            None,
            &conn("LINK")
        ));
        assert!(!start_key_fits(None, all, &v, None, &conn("CONNS")));
    }

    #[test]
    fn page_tokens_round_trip_and_reject_garbage() {
        let key = item("TENANT#t", "CONN#c");
        let token = encode_page(Some(&key)).unwrap();
        assert_eq!(decode_page(Some(&token)).unwrap().unwrap(), key);
        assert!(decode_page(Some(&PageToken("!!".into()))).is_err());
        let foreign = PageToken(base64::Engine::encode(
            &base64::engine::general_purpose::URL_SAFE_NO_PAD,
            br#"{"other":"x"}"#,
        ));
        assert!(decode_page(Some(&foreign)).is_err());
    }
}
