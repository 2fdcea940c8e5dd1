//! DynamoDB adapter: every table port over one table (layout in [`keys`]).

mod accounts;
mod feed;
pub mod keys;
mod links;
mod ops;
mod quota;
mod reports;
mod runs;
mod shortlived;
mod sync;

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

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

#[cfg(test)]
mod tests {
    use super::*;

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
