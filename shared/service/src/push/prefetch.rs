//! Batched matching lookups (issue 11): a batch's one-condition lookups (a Lead's email,
//! then phone; an Account's phone, then name) run as one `IN` query per object and field
//! instead of one query per record and key. Each lookup then takes, in memory, the rows
//! whose field equals one of its values as SOQL compares text (case-insensitively), so the
//! core's matching rules see the same candidates a one-by-one query would return. Phone
//! lookups keep their stored-format variants (core `lookup_values`).
//!
//! The `IN` queries of a batch go out together as query subrequests of one `POST composite`
//! (one API call for up to five queries: "up to 25 subrequests … Up to 5 of these subrequests
//! can be sObject Collections or query operations", Composite resource, REST API Developer
//! Guide). Each subrequest's body is the query's first page; further pages are read with
//! `nextRecordsUrl` like any query.

use std::collections::{BTreeMap, BTreeSet};

use crmsync_core::matching::{Lookup, lookup_values};
use crmsync_salesforce::soql::{Condition, Literal, SoqlBuilder};
use crmsync_salesforce::{
    COMPOSITE_MAX_QUERIES, CompositeSubrequest, QueryPage, QueryScope, SfClient, SfError,
};
use serde_json::{Map, Value};

use crate::error::ServiceError;

/// Rows a one-by-one lookup returns at most (its `LIMIT`).
pub(super) const LOOKUP_LIMIT: usize = 50;
/// Characters of `IN` literals per query, well inside the REST URL and SOQL limits.
const IN_CHARS: usize = 6000;

/// (object, field) → the candidate rows read for it.
#[derive(Debug, Default)]
pub(crate) struct Prefetched {
    rows: BTreeMap<(String, String), Vec<Map<String, Value>>>,
    /// (object, crmsync key) → the record that carries it ([`super::upsert`]).
    keyed: BTreeMap<(String, String), String>,
}

/// What one object and field are queried for.
#[derive(Default)]
struct Group {
    fields: BTreeSet<String>,
    values: BTreeSet<String>,
}

impl Prefetched {
    /// The record found by crmsync's key (keys compare exactly: the field is case-sensitive).
    pub(super) fn by_key(&self, object: &str, key: &str) -> Option<String> {
        self.keyed
            .get(&(object.to_string(), key.to_string()))
            .cloned()
    }

    /// Every row read, by the (object, field) it was queried for (the import indexes them).
    pub(crate) fn all_rows(&self) -> impl Iterator<Item = &Map<String, Value>> {
        self.rows.values().flatten()
    }

    /// The rows a lookup would have returned, when it was prefetched.
    pub(super) fn rows(&self, lookup: &Lookup) -> Option<Vec<Map<String, Value>>> {
        let [(field, value)] = lookup.conditions.as_slice() else {
            return None;
        };
        let rows = self.rows.get(&(lookup.object.clone(), field.clone()))?;
        let wanted: BTreeSet<String> = lookup_values(field, value)
            .iter()
            .map(|v| v.to_lowercase())
            .collect();
        Some(
            rows.iter()
                .filter(|r| {
                    r.get(field)
                        .and_then(Value::as_str)
                        .is_some_and(|v| wanted.contains(&v.to_lowercase()))
                })
                .take(LOOKUP_LIMIT)
                .cloned()
                .collect(),
        )
    }
}

/// Runs the lookups that can share a query: one condition on a text field. Others are
/// left out (the caller runs them one by one).
///
/// crmsync's key lookups (`keys`, [`super::upsert::key_lookups`]) are folded into the first query of their object
/// (`… WHERE Email IN (…) OR Crmsync_App_Id__c IN (…)`): no query of their own, so no call.
/// A key whose object has no matching query here, or whose describe lacks the field, is
/// left out (the upsert itself still finds its record).
pub(crate) async fn prefetch_with_keys(
    client: &SfClient,
    lookups: &[&Lookup],
    keys: &[Lookup],
) -> Result<Prefetched, ServiceError> {
    let mut keys_of = super::upsert::keys_by_object(keys);
    let mut groups: BTreeMap<(String, String), Group> = BTreeMap::new();
    for lookup in lookups {
        let [(field, value)] = lookup.conditions.as_slice() else {
            continue;
        };
        let describe = client.describe(&lookup.object).await?;
        let Some(fd) = describe.field(field) else {
            continue;
        };
        // Only plain text compares the same in memory as in SOQL.
        let texts: Option<Vec<String>> = lookup_values(field, value)
            .into_iter()
            .map(
                |v| match Literal::for_field(fd, &Value::String(v.clone())) {
                    Ok(Literal::String(s)) if s == v => Some(s),
                    _ => None,
                },
            )
            .collect();
        let Some(texts) = texts else { continue };
        let group = groups
            .entry((lookup.object.clone(), field.clone()))
            .or_default();
        group.fields.extend(lookup.fields.iter().cloned());
        group.fields.insert(field.clone());
        group.values.extend(texts);
    }
    let mut queries: Vec<((String, String), String)> = Vec::new();
    for ((object, field), group) in groups {
        let describe = client.describe(&object).await?;
        for chunk in chunks(&group.values) {
            let mut condition = Condition::in_list(&field, chunk);
            let mut fields = group.fields.clone();
            if let Some(keys) = super::upsert::take_keys(&mut keys_of, &object, &describe) {
                condition = Condition::or([condition, keys]);
                fields.insert(crmsync_core::provision::KEY_FIELD.to_string());
            }
            let soql = SoqlBuilder::new(&describe)
                .select(fields.iter())
                .filter(condition)
                .build()
                .map_err(SfError::from)?;
            queries.push(((object.clone(), field.clone()), soql));
        }
    }
    let mut out = Prefetched::default();
    for batch in queries.chunks(COMPOSITE_MAX_QUERIES) {
        let pages = first_pages(client, batch).await?;
        for ((key, _), page) in batch.iter().zip(pages) {
            let rows = out.rows.entry(key.clone()).or_default();
            let mut next = page.next_records_url.clone().filter(|_| !page.done);
            rows.extend(page.records.into_iter().map(|r| r.fields));
            while let Some(url) = next {
                let page = client.query_more(&url).await?;
                next = page.next_records_url.clone().filter(|_| !page.done);
                rows.extend(page.records.into_iter().map(|r| r.fields));
            }
            out.keyed
                .extend(super::upsert::found_keys(&key.0, rows.as_slice()));
        }
    }
    Ok(out)
}

/// The first page of each query: one plain query, or several as query subrequests of one
/// composite request (one API call; Salesforce allows 5 query subrequests in a composite).
async fn first_pages(
    client: &SfClient,
    queries: &[((String, String), String)],
) -> Result<Vec<QueryPage>, ServiceError> {
    if let [(_, soql)] = queries {
        return Ok(vec![client.query_first_page(soql, QueryScope::Live).await?]);
    }
    let subs: Vec<CompositeSubrequest> = queries
        .iter()
        .enumerate()
        .map(|(i, (_, soql))| CompositeSubrequest::query(soql, format!("q{i}")))
        .collect();
    let responses = client.composite(&subs, false).await?;
    if responses.len() != subs.len() {
        return Err(ServiceError::Internal(format!(
            "composite matching: {} responses to {} queries",
            responses.len(),
            subs.len()
        )));
    }
    responses
        .iter()
        .map(|r| r.query_page().map_err(ServiceError::from))
        .collect()
}

/// Splits `IN` values so each query's literals stay under [`IN_CHARS`].
fn chunks(values: &BTreeSet<String>) -> Vec<Vec<String>> {
    let mut out: Vec<Vec<String>> = Vec::new();
    let mut size = 0;
    for v in values {
        let cost = v.len() + 4;
        if out.is_empty() || size + cost > IN_CHARS {
            out.push(Vec::new());
            size = 0;
        }
        size += cost;
        out.last_mut().expect("a chunk").push(v.clone());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn in_lists_are_split_under_the_character_budget() {
        let values: BTreeSet<String> = (0..2000).map(|i| format!("+1 555 {i:04}")).collect();
        let chunks = chunks(&values);
        assert!(chunks.len() > 1);
        assert_eq!(chunks.iter().map(Vec::len).sum::<usize>(), 2000);
        for c in &chunks {
            assert!(c.iter().map(|v| v.len() + 4).sum::<usize>() <= IN_CHARS);
        }
    }

    #[test]
    fn a_lookup_takes_only_its_own_rows_compared_like_soql() {
        let mut p = Prefetched::default();
        let row = |id: &str, email: &str| {
            let mut m = Map::new();
            m.insert("Id".into(), Value::String(id.into()));
            m.insert("Email".into(), Value::String(email.into()));
            m
        };
        p.rows.insert(
            ("Lead".into(), "Email".into()),
            vec![row("a", "Ann@X.example"), row("b", "bob@x.example")],
        );
        let lookup = |object: &str, email: &str| Lookup {
            object: object.into(),
            conditions: vec![("Email".into(), email.into())],
            fields: vec!["Id".into()],
        };
        let got = p
            .rows(&lookup("Lead", "ann@x.example"))
            .expect("prefetched");
        assert_eq!(got.len(), 1);
        assert_eq!(got[0]["Id"], "a");
        assert_eq!(p.rows(&lookup("Lead", "nobody@x.example")), Some(vec![]));
        assert_eq!(p.rows(&lookup("Contact", "ann@x.example")), None);
    }
}
