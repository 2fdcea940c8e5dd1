//! Index access for WHERE clauses: when the clause pins an indexed field (`Email = 'x'`,
//! `Phone IN (...)`), only the records under those keys are candidates instead of every
//! record of the object. The candidates are a superset of the matches; the caller still
//! applies the whole clause to each, so the result is the same as a scan's.

use super::ast::{CmpOp, Literal};
use super::filter::{Cond, is_id};
use crate::schema::ObjectDef;
use crate::state::Org;
use crate::store::Record;
use std::collections::BTreeMap;

/// The records that can match `cond`, in Id order; `None` when no index narrows it.
pub(super) fn candidates<'a>(
    org: &'a Org,
    def: &ObjectDef,
    cond: &Cond,
) -> Option<Vec<&'a Record>> {
    let hits = ids_for(org, def, cond)?;
    Some(hits.into_values().collect())
}

/// Candidate records by Id (a `BTreeMap`, so unions stay in Id order without repeats).
fn ids_for<'a>(
    org: &'a Org,
    def: &ObjectDef,
    cond: &Cond,
) -> Option<BTreeMap<&'a str, &'a Record>> {
    match cond {
        // Either side bounds the matches of an AND.
        Cond::And(a, b) => ids_for(org, def, a).or_else(|| ids_for(org, def, b)),
        // An OR needs both sides bounded.
        Cond::Or(a, b) => {
            let mut left = ids_for(org, def, a)?;
            left.extend(ids_for(org, def, b)?);
            Some(left)
        }
        Cond::Cmp(r, CmpOp::Eq, lit) => lookup(org, def, r, std::slice::from_ref(lit)),
        Cond::In(r, false, lits) => lookup(org, def, r, lits),
        _ => None,
    }
}

/// Records whose field equals one of the string literals. `None` for a relationship path,
/// an unindexed field, an Id field (compared exactly, not by case) or a NULL literal
/// (which matches records the index does not hold).
fn lookup<'a>(
    org: &'a Org,
    def: &ObjectDef,
    r: &super::resolve::Resolved,
    lits: &[Literal],
) -> Option<BTreeMap<&'a str, &'a Record>> {
    if !r.hops.is_empty() || is_id(r.field.ftype) {
        return None;
    }
    let mut out = BTreeMap::new();
    for lit in lits {
        let Literal::String(s) = lit else {
            return None;
        };
        let key = crate::store::index_key(&serde_json::Value::String(s.clone()))?;
        for rec in org.store.lookup(&def.name, &r.field.name, &key)? {
            out.insert(rec.id.as_str(), rec);
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::super::eval::{Access, run_with};
    use super::super::parser::parse;
    use crate::state::State;
    use crate::store::Record;
    use crate::{EmulatorOptions, OrgSpec};
    use chrono::Utc;
    use proptest::prelude::*;
    use serde_json::{Map, Value, json};

    /// Values that differ only by case, plus a non-ASCII one and a different one.
    const EMAILS: [&str; 6] = [
        "ann@x.io",
        "ANN@X.IO",
        "Ann@x.io",
        "bob@y.io",
        "STRASSE@z.io",
        "straße@z.io",
    ];
    const PHONES: [&str; 3] = ["+1 555 0100", "+1 555 0101", "(555) 0100"];
    const NAMES: [&str; 2] = ["Smith", "Jones"];

    #[derive(Debug, Clone)]
    struct Rec {
        object: &'static str,
        email: Option<usize>,
        phone: Option<usize>,
        name: usize,
        deleted: bool,
    }

    fn rec() -> impl Strategy<Value = Rec> {
        (
            prop_oneof![Just("Lead"), Just("Contact")],
            proptest::option::of(0..EMAILS.len()),
            proptest::option::of(0..PHONES.len()),
            0..NAMES.len(),
            any::<bool>(),
        )
            .prop_map(|(object, email, phone, name, deleted)| Rec {
                object,
                email,
                phone,
                name,
                deleted,
            })
    }

    fn opt(v: Option<&str>) -> Value {
        v.map_or(Value::Null, |s| json!(s))
    }

    /// One WHERE clause over the pools, indexable or not.
    fn clause() -> impl Strategy<Value = String> {
        let email = (0..EMAILS.len()).prop_map(|i| format!("Email = '{}'", EMAILS[i]));
        let phone = (0..PHONES.len()).prop_map(|i| format!("Phone = '{}'", PHONES[i]));
        let email_in = proptest::collection::vec(0..EMAILS.len(), 1..4).prop_map(|v| {
            let list: Vec<String> = v.iter().map(|i| format!("'{}'", EMAILS[*i])).collect();
            format!("Email IN ({})", list.join(", "))
        });
        let name = (0..NAMES.len()).prop_map(|i| format!("LastName = '{}'", NAMES[i]));
        let atom = prop_oneof![
            email,
            phone,
            email_in,
            name,
            Just("Email = null".to_string())
        ];
        (atom.clone(), atom, 0..4usize).prop_map(|(a, b, how)| match how {
            0 => a,
            1 => format!("{a} AND {b}"),
            2 => format!("({a}) OR ({b})"),
            _ => format!("NOT ({a}) AND {b}"),
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        /// The index returns what a scan of every record returns, for every clause, with and
        /// without deleted records, after records are rewritten through the store.
        #[test]
        fn index_agrees_with_a_scan(
            recs in proptest::collection::vec(rec(), 0..40),
            rewrites in proptest::collection::vec((0..40usize, proptest::option::of(0..EMAILS.len()), any::<bool>()), 0..10),
            queries in proptest::collection::vec((prop_oneof![Just("Lead"), Just("Contact")], clause(), any::<bool>()), 1..8),
        ) {
            let opts = EmulatorOptions::empty().with_org(OrgSpec::demo());
            let mut st = State::new(&opts, "http://127.0.0.1:9".into()).unwrap();
            let org = &mut st.orgs[0];
            let mut ids = Vec::new();
            for (i, r) in recs.iter().enumerate() {
                let prefix = if r.object == "Lead" { "00Q" } else { "003" };
                let id = format!("{prefix}000000000{i:03}AAA");
                let mut fields = Map::new();
                fields.insert("Id".into(), json!(id));
                fields.insert("LastName".into(), json!(NAMES[r.name]));
                fields.insert("Email".into(), opt(r.email.map(|e| EMAILS[e])));
                fields.insert("Phone".into(), opt(r.phone.map(|p| PHONES[p])));
                fields.insert("IsDeleted".into(), json!(r.deleted));
                org.store.insert(r.object, Record { id: id.clone(), fields, deleted: r.deleted, deleted_at: None });
                ids.push((r.object, id));
            }
            // Updates and undeletes through the write guard, and a replacing insert.
            for (n, (at, email, flip)) in rewrites.iter().enumerate() {
                let Some((object, id)) = ids.get(*at % ids.len().max(1)) else { continue };
                if n % 3 == 2 {
                    let mut again = org.store.get(object, id).unwrap().clone();
                    again.fields.insert("Email".into(), opt(email.map(|e| EMAILS[e])));
                    org.store.insert(object, again);
                    continue;
                }
                let mut r = org.store.get_mut(object, id).unwrap();
                r.fields.insert("Email".into(), opt(email.map(|e| EMAILS[e])));
                if *flip {
                    r.deleted = !r.deleted;
                }
            }
            let org = &st.orgs[0];
            for (object, clause, all) in &queries {
                let q = parse(&format!("SELECT Id, Email, Phone FROM {object} WHERE {clause}")).unwrap();
                let now = Utc::now();
                let indexed = run_with(org, &q, *all, "v62.0", now, Access::Indexed).unwrap();
                let scanned = run_with(org, &q, *all, "v62.0", now, Access::Scan).unwrap();
                prop_assert_eq!(&indexed.records, &scanned.records, "{} (all rows: {})", clause, all);
            }
        }
    }

    #[test]
    fn an_email_lookup_reads_only_its_key() {
        let opts = EmulatorOptions::empty().with_org(OrgSpec::demo());
        let mut st = State::new(&opts, "http://127.0.0.1:9".into()).unwrap();
        let org = &mut st.orgs[0];
        for i in 0..50 {
            let id = format!("00Q000000000{i:03}AAA");
            let mut fields = Map::new();
            fields.insert("Id".into(), json!(id));
            fields.insert("Email".into(), json!(format!("p{i}@x.io")));
            org.store.insert(
                "Lead",
                Record {
                    id,
                    fields,
                    deleted: false,
                    deleted_at: None,
                },
            );
        }
        let hits: Vec<&str> = org
            .store
            .lookup("Lead", "Email", "p7@x.io")
            .unwrap()
            .map(|r| r.id.as_str())
            .collect();
        assert_eq!(hits, vec!["00Q000000000007AAA"]);
        // Rewritten through the guard: the old key no longer finds it, the new one does.
        org.store
            .get_mut("Lead", "00Q000000000007AAA")
            .unwrap()
            .fields
            .insert("Email".into(), json!("NEW@x.io"));
        assert_eq!(
            org.store
                .lookup("Lead", "Email", "p7@x.io")
                .unwrap()
                .count(),
            0
        );
        assert_eq!(
            org.store
                .lookup("Lead", "Email", "new@x.io")
                .unwrap()
                .count(),
            1
        );
        assert!(
            org.store.lookup("Lead", "LastName", "x").is_none(),
            "not indexed"
        );
    }
}
