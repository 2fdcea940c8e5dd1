//! Record storage: per object, records in Id order (Ids grow, so this is creation order),
//! with an equality index on the fields matching queries filter on (email, phone).
//!
//! The index holds every record, deleted ones too (the query filters those), under the
//! lower-cased string value: SOQL compares strings without regard to case except on
//! unique case-sensitive fields ("Comparison Operators", SOQL and SOSL Reference), and
//! Email and Phone are not such fields. It only narrows the candidates; the query still
//! applies the full WHERE clause to each, so results equal a scan's (see the proptest in
//! `soql::index`). Writes go through [`Store::insert`] or the [`RecordMut`] guard of
//! [`Store::get_mut`], which re-index the record when it changes.

use chrono::{DateTime, Utc};
use serde_json::{Map, Value};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::ops::{Deref, DerefMut};

/// Fields indexed for equality lookups, on every object that has them.
pub const INDEXED_FIELDS: [&str; 3] = ["Email", "Phone", "MobilePhone"];

/// The key a value is indexed under (strings only: other values never equal a string).
pub fn index_key(v: &Value) -> Option<String> {
    v.as_str().map(str::to_lowercase)
}

/// `(object, field)` -> key -> record Ids (in Id order).
type FieldIndex = HashMap<(String, &'static str), HashMap<String, BTreeSet<String>>>;

#[derive(Debug, Clone)]
pub struct Record {
    pub id: String,
    pub fields: Map<String, Value>,
    pub deleted: bool,
    pub deleted_at: Option<DateTime<Utc>>,
}

impl Record {
    pub fn get(&self, field: &str) -> &Value {
        if field == "Id" {
            // Stored as a field too, but keep the canonical id authoritative.
            return self.fields.get("Id").unwrap_or(&Value::Null);
        }
        if field == "IsDeleted" {
            return if self.deleted {
                &Value::Bool(true)
            } else {
                &Value::Bool(false)
            };
        }
        self.fields.get(field).unwrap_or(&Value::Null)
    }
}

#[derive(Debug, Default, Clone)]
pub struct Store {
    objects: BTreeMap<String, BTreeMap<String, Record>>,
    index: FieldIndex,
}

/// The indexed keys of a record, per indexed field.
fn keys_of(rec: &Record) -> [Option<String>; INDEXED_FIELDS.len()] {
    INDEXED_FIELDS.map(|f| index_key(rec.get(f)))
}

fn reindex(
    index: &mut FieldIndex,
    object: &str,
    id: &str,
    before: &[Option<String>; INDEXED_FIELDS.len()],
    after: &[Option<String>; INDEXED_FIELDS.len()],
) {
    for (i, field) in INDEXED_FIELDS.iter().enumerate() {
        if before[i] == after[i] {
            continue;
        }
        let by_key = index.entry((object.to_string(), *field)).or_default();
        if let Some(old) = &before[i]
            && let Some(ids) = by_key.get_mut(old)
        {
            ids.remove(id);
            if ids.is_empty() {
                by_key.remove(old);
            }
        }
        if let Some(new) = &after[i] {
            by_key
                .entry(new.clone())
                .or_default()
                .insert(id.to_string());
        }
    }
}

/// A record borrowed for writing; re-indexes it when dropped.
pub struct RecordMut<'a> {
    store: &'a mut Store,
    object: String,
    id: String,
    before: [Option<String>; INDEXED_FIELDS.len()],
}

impl Deref for RecordMut<'_> {
    type Target = Record;
    fn deref(&self) -> &Record {
        self.store
            .get(&self.object, &self.id)
            .expect("a borrowed record exists")
    }
}

impl DerefMut for RecordMut<'_> {
    fn deref_mut(&mut self) -> &mut Record {
        self.store
            .objects
            .get_mut(&self.object)
            .and_then(|m| m.get_mut(&self.id))
            .expect("a borrowed record exists")
    }
}

impl Drop for RecordMut<'_> {
    fn drop(&mut self) {
        let after = keys_of(self);
        reindex(
            &mut self.store.index,
            &self.object,
            &self.id,
            &self.before,
            &after,
        );
    }
}

impl Store {
    pub fn records(&self, object: &str) -> impl Iterator<Item = &Record> {
        self.objects
            .get(object)
            .into_iter()
            .flat_map(|m| m.values())
    }
    pub fn get(&self, object: &str, id: &str) -> Option<&Record> {
        self.objects.get(object)?.get(id)
    }
    pub fn get_mut(&mut self, object: &str, id: &str) -> Option<RecordMut<'_>> {
        let before = keys_of(self.get(object, id)?);
        Some(RecordMut {
            store: self,
            object: object.to_string(),
            id: id.to_string(),
            before,
        })
    }
    pub fn insert(&mut self, object: &str, rec: Record) {
        let none = [const { None }; INDEXED_FIELDS.len()];
        let before = self.get(object, &rec.id).map_or(none, keys_of);
        let after = keys_of(&rec);
        reindex(&mut self.index, object, &rec.id, &before, &after);
        self.objects
            .entry(object.to_string())
            .or_default()
            .insert(rec.id.clone(), rec);
    }
    /// Takes a record out entirely (a rolled-back insert, never a user delete).
    pub fn remove(&mut self, object: &str, id: &str) -> Option<Record> {
        let before = keys_of(self.get(object, id)?);
        let none = [const { None }; INDEXED_FIELDS.len()];
        reindex(&mut self.index, object, id, &before, &none);
        self.objects.get_mut(object)?.remove(id)
    }
    /// Records of `object` whose `field` equals `key` (an [`index_key`]), in Id order;
    /// `None` when the field is not indexed.
    pub fn lookup<'a>(
        &'a self,
        object: &str,
        field: &str,
        key: &str,
    ) -> Option<impl Iterator<Item = &'a Record> + 'a> {
        let field = INDEXED_FIELDS.iter().find(|f| **f == field)?;
        let ids = self
            .index
            .get(&(object.to_string(), *field))
            .and_then(|by_key| by_key.get(key));
        let records = self.objects.get(object);
        Some(
            ids.into_iter()
                .flatten()
                .filter_map(move |id| records.and_then(|m| m.get(id))),
        )
    }
    /// Finds a record by Id in any object (Ids are unique across objects).
    pub fn find_any(&self, id: &str) -> Option<(&str, &Record)> {
        self.objects
            .iter()
            .find_map(|(o, m)| m.get(id).map(|r| (o.as_str(), r)))
    }
    pub fn count(&self, object: &str) -> usize {
        self.objects.get(object).map_or(0, |m| m.len())
    }
}
