//! Reconciling a redelivered create: which record, if any, an earlier attempt of the same
//! event already committed.
//!
//! A push records a write intent before it creates; when the event comes back without a
//! report, the create may have committed with its response lost. The service then reads
//! the records the integration user created since the intent, and this module decides,
//! from the fields the step would write, which one is the step's record. Pure: the
//! candidates and the time are passed in.

use chrono::{DateTime, Duration, DurationRound, Utc};
use serde_json::Value;

use crate::sfid::same_id;
use crate::types::FieldMap;

/// How far Salesforce's clock may run behind ours: records created this long before the
/// intent still count. Kept small: an older record with the same keys is not ours.
pub const CLOCK_SKEW_SECS: i64 = 5;

/// Fields that identify a record crmsync created, by object, most selective first. The
/// first one present in a step is the batched lookup's `IN` list; all present ones must
/// equal what the step would write.
///
/// A Task is identified by what its event fixes, not by its relations: on a Lead's
/// conversion Salesforce moves the Lead's Tasks to the Contact (`WhoId`) and to the
/// Opportunity only if the conversion made one (`WhatId`; Salesforce Help, knowledge
/// article 000385227), so a retry after a conversion writes the same `WhoId` as the
/// moved Task but may write another `WhatId` (crmsync's own Opportunity of the person).
/// `WhatId` is left out; `Description` (the app's notes) is read and compared, never
/// filtered on: a long text area cannot be a `WHERE` field (SOQL and SOSL Reference,
/// "fieldExpression Syntax").
pub fn identity_fields(object: &str) -> &'static [&'static str] {
    match object {
        "Lead" => &["LastName", "Company", "FirstName", "Email", "Phone"],
        "Contact" => &["LastName", "AccountId", "FirstName", "Email", "Phone"],
        "Account" => &["Name"],
        "Opportunity" => &["Name", "AccountId"],
        "OpportunityLineItem" => &["OpportunityId", "PricebookEntryId", "Quantity", "UnitPrice"],
        "Task" => &["Subject", "WhoId", "ActivityDate", "Description"],
        _ => &["Name"],
    }
}

/// Fields of a create that Salesforce may have changed on the committed record before a
/// redelivery adopts it, so the adopted record's link must not hold the retry's hash of
/// them (the next write then sends them): a Lead's conversion relates its Tasks to the
/// Opportunity it made, or to none, whatever `WhatId` the retry would write (see
/// [`identity_fields`]).
pub fn unverified_on_adoption(object: &str) -> &'static [&'static str] {
    match object {
        "Task" => &["WhatId"],
        _ => &[],
    }
}

/// The identity fields `fields` carries (non-null), in [`identity_fields`] order.
pub fn keys_of<'a>(object: &str, fields: &'a FieldMap) -> Vec<(&'static str, &'a Value)> {
    identity_fields(object)
        .iter()
        .filter_map(|f| fields.get(*f).filter(|v| !v.is_null()).map(|v| (*f, v)))
        .collect()
}

/// The earliest `CreatedDate` an earlier attempt's record can carry: the intent's time,
/// less the clock skew, down to the second (Salesforce stores whole seconds).
pub fn created_since(intent_at: DateTime<Utc>) -> DateTime<Utc> {
    let t = intent_at - Duration::seconds(CLOCK_SKEW_SECS);
    t.duration_trunc(Duration::seconds(1)).unwrap_or(t)
}

/// A record the integration user created, as read back.
#[derive(Debug, Clone, PartialEq)]
pub struct Candidate {
    pub id: String,
    pub created_at: DateTime<Utc>,
    pub fields: FieldMap,
}

/// Whether `candidate` holds what a step writing `fields` to `object` would have written.
pub fn same_identity(object: &str, fields: &FieldMap, candidate: &Candidate) -> bool {
    let keys = keys_of(object, fields);
    !keys.is_empty()
        && keys
            .iter()
            .all(|(f, want)| same_value(f, want, candidate.fields.get(*f)))
}

fn same_value(field: &str, want: &Value, got: Option<&Value>) -> bool {
    let Some(got) = got.filter(|g| !g.is_null()) else {
        return false;
    };
    match (number(want), number(got)) {
        (Some(a), Some(b)) => return (a - b).abs() < 1e-9,
        (Some(_), None) | (None, Some(_)) if want.is_number() || got.is_number() => {
            return false;
        }
        _ => {}
    }
    match (want.as_str(), got.as_str()) {
        (Some(a), Some(b)) if field.eq_ignore_ascii_case("Email") => {
            a.trim().eq_ignore_ascii_case(b.trim())
        }
        (Some(a), Some(b)) => same_id(a.trim(), b.trim()),
        _ => want == got,
    }
}

fn number(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// The step's record among `candidates`: created at or after `since`, same identity, not
/// `excluded` (already linked elsewhere, or adopted by another step). The earliest wins,
/// so two identical steps adopt two records in creation order.
pub fn pick<'a>(
    object: &str,
    fields: &FieldMap,
    since: DateTime<Utc>,
    candidates: &'a [Candidate],
    excluded: impl Fn(&str) -> bool,
) -> Option<&'a Candidate> {
    candidates
        .iter()
        .filter(|c| c.created_at >= since && !excluded(&c.id))
        .filter(|c| same_identity(object, fields, c))
        .min_by(|a, b| a.created_at.cmp(&b.created_at).then(a.id.cmp(&b.id)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn map(v: Value) -> FieldMap {
        v.as_object()
            .unwrap()
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    }

    fn at(secs: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000 + secs, 0).unwrap()
    }

    fn cand(id: &str, secs: i64, fields: Value) -> Candidate {
        Candidate {
            id: id.into(),
            created_at: at(secs),
            fields: map(fields),
        }
    }

    #[test]
    fn line_items_match_on_entry_quantity_and_price() {
        let want = map(
            json!({"OpportunityId": "006000000000001", "PricebookEntryId": "01u000000000001",
            "Quantity": 3, "UnitPrice": 1000, "Description": "x"}),
        );
        let same = cand(
            "00k1",
            10,
            json!({"OpportunityId": "006000000000001AAA", "PricebookEntryId": "01u000000000001AAA",
                "Quantity": 3.0, "UnitPrice": "1000.00"}),
        );
        let other_qty = cand(
            "00k2",
            10,
            json!({"OpportunityId": "006000000000001AAA", "PricebookEntryId": "01u000000000001AAA",
                "Quantity": 2.0, "UnitPrice": 1000.0}),
        );
        assert!(same_identity("OpportunityLineItem", &want, &same));
        assert!(!same_identity("OpportunityLineItem", &want, &other_qty));
    }

    #[test]
    fn pick_takes_the_earliest_after_the_intent_and_skips_excluded() {
        let want = map(json!({"LastName": "Doe", "Company": "Acme", "Email": "J@X.example"}));
        let candidates = [
            cand(
                "old",
                0,
                json!({"LastName": "Doe", "Company": "Acme", "Email": "j@x.example"}),
            ),
            cand(
                "b",
                30,
                json!({"LastName": "Doe", "Company": "Acme", "Email": "j@x.example"}),
            ),
            cand(
                "a",
                20,
                json!({"LastName": "Doe", "Company": "Acme", "Email": "j@x.example"}),
            ),
            cand(
                "other",
                20,
                json!({"LastName": "Doe", "Company": "Other", "Email": "j@x.example"}),
            ),
        ];
        let since = created_since(at(12));
        assert_eq!(since, at(7));
        let got = pick("Lead", &want, since, &candidates, |_| false).map(|c| c.id.as_str());
        assert_eq!(got, Some("a"));
        let got = pick("Lead", &want, since, &candidates, |id| id == "a").map(|c| c.id.as_str());
        assert_eq!(got, Some("b"));
        assert!(pick("Lead", &want, at(31), &candidates, |_| false).is_none());
    }

    #[test]
    fn a_task_matches_on_its_person_and_notes_whatever_its_related_record() {
        let want = map(json!({"Subject": "Call", "WhoId": "003000000000001AAA",
            "WhatId": "006000000000001AAA", "ActivityDate": "2031-03-03",
            "Description": "first call", "Status": "Completed"}));
        let moved = cand(
            "00T1",
            10,
            json!({"Subject": "Call", "WhoId": "003000000000001AAA", "WhatId": null,
                "ActivityDate": "2031-03-03", "Description": "first call"}),
        );
        let other_notes = cand(
            "00T2",
            10,
            json!({"Subject": "Call", "WhoId": "003000000000001AAA",
                "ActivityDate": "2031-03-03", "Description": "second call"}),
        );
        let other_person = cand(
            "00T3",
            10,
            json!({"Subject": "Call", "WhoId": "003000000000002AAA",
                "ActivityDate": "2031-03-03", "Description": "first call"}),
        );
        assert!(same_identity("Task", &want, &moved));
        assert!(!same_identity("Task", &want, &other_notes));
        assert!(!same_identity("Task", &want, &other_person));
        assert_eq!(
            identity_fields("Task")[0],
            "Subject",
            "the lookup is never Description"
        );
    }

    #[test]
    fn a_step_without_identity_fields_matches_nothing() {
        let c = cand("x", 0, json!({"Name": "A"}));
        assert!(!same_identity("Account", &FieldMap::new(), &c));
        assert!(!same_identity("Account", &map(json!({"Name": "B"})), &c));
        assert!(same_identity("Account", &map(json!({"Name": "A"})), &c));
        // A missing value on the record never equals a wanted one.
        assert!(!same_identity(
            "Lead",
            &map(json!({"LastName": "A", "Email": "e@x"})),
            &cand("y", 0, json!({"LastName": "A"}))
        ));
    }
}
