//! Record storage: per object, records in Id order (Ids grow, so this is creation order).

use chrono::{DateTime, Utc};
use serde_json::{Map, Value};
use std::collections::BTreeMap;

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
    pub fn get_mut(&mut self, object: &str, id: &str) -> Option<&mut Record> {
        self.objects.get_mut(object)?.get_mut(id)
    }
    pub fn insert(&mut self, object: &str, rec: Record) {
        self.objects
            .entry(object.to_string())
            .or_default()
            .insert(rec.id.clone(), rec);
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
