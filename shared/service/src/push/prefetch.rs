//! Batched matching lookups (issue 11): a batch's one-condition lookups (a Lead's email,
//! then phone; an Account's phone, then name) run as one `IN` query per object and field
//! instead of one query per record and key. Each lookup then takes, in memory, the rows
//! whose field equals one of its values as SOQL compares text (case-insensitively), so the
//! core's matching rules see the same candidates a one-by-one query would return. Phone
//! lookups keep their stored-format variants (core `lookup_values`).

use std::collections::{BTreeMap, BTreeSet};

use crmsync_core::matching::{Lookup, lookup_values};
use crmsync_salesforce::soql::{Condition, Literal, SoqlBuilder};
use crmsync_salesforce::{SfClient, SfError};
use futures::StreamExt;
use serde_json::{Map, Value};

use crate::error::ServiceError;

/// Rows a one-by-one lookup returns at most (its `LIMIT`).
pub(super) const LOOKUP_LIMIT: usize = 50;
/// Characters of `IN` literals per query, well inside the REST URL and SOQL limits.
const IN_CHARS: usize = 6000;

/// (object, field) → the candidate rows read for it.
#[derive(Debug, Default)]
pub(super) struct Prefetched {
    rows: BTreeMap<(String, String), Vec<Map<String, Value>>>,
}

/// What one object and field are queried for.
#[derive(Default)]
struct Group {
    fields: BTreeSet<String>,
    values: BTreeSet<String>,
}

impl Prefetched {
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
pub(super) async fn prefetch(
    client: &SfClient,
    lookups: &[&Lookup],
) -> Result<Prefetched, ServiceError> {
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
    let mut out = Prefetched::default();
    for ((object, field), group) in groups {
        let describe = client.describe(&object).await?;
        let mut rows = Vec::new();
        for chunk in chunks(&group.values) {
            let soql = SoqlBuilder::new(&describe)
                .select(group.fields.iter())
                .filter(Condition::in_list(&field, chunk))
                .build()
                .map_err(SfError::from)?;
            let mut pages = client.query(soql);
            while let Some(page) = pages.next().await {
                rows.extend(page?.records.into_iter().map(|r| r.fields));
            }
        }
        out.rows.insert((object, field), rows);
    }
    Ok(out)
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
