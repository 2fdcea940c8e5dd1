//! Field paths (`Owner.Email`) resolved against the schema, and their values on a record.

use super::SoqlError;
use super::ast::Path;
use crate::schema::{FieldDef, ObjectDef};
use crate::state::Org;
use crate::store::Record;
use serde_json::Value;

/// A field path resolved against the schema.
#[derive(Debug, Clone)]
pub(super) struct Resolved {
    /// Relationship hops: (reference field on the current object, relationship name, targets).
    pub(super) hops: Vec<(String, String, Vec<String>)>,
    pub(super) field: FieldDef,
}

pub(super) fn invalid_field(pos: usize, name: &str, obj: &str) -> SoqlError {
    SoqlError {
        code: "INVALID_FIELD",
        pos,
        message: format!(
            "No such column '{name}' on entity '{obj}'. If you are attempting to use a custom field, be sure to append the '__c' after the custom field name. Please reference your WSDL or the describe call for the appropriate names."
        ),
    }
}

pub(super) fn resolve(org: &Org, root: &ObjectDef, path: &Path) -> Result<Resolved, SoqlError> {
    let mut obj = root.clone();
    let mut hops = Vec::new();
    let (last, rels) = path
        .parts
        .split_last()
        .ok_or_else(|| SoqlError::malformed(path.pos, "empty field"))?;
    for rel in rels {
        let f = obj.relationship(rel).ok_or_else(|| SoqlError {
            code: "INVALID_FIELD",
            pos: path.pos,
            message: format!(
                "Didn't understand relationship '{rel}' in field path. If you are attempting to use a custom relationship, be sure to append the '__r' after the custom relationship name. Please reference your WSDL or the describe call for the appropriate names."
            ),
        })?;
        let targets = f.reference_to.clone();
        hops.push((
            f.name.clone(),
            f.relationship_name.clone().unwrap_or_default(),
            targets.clone(),
        ));
        // Polymorphic lookups: resolve against the first target that has the next field.
        let next = targets
            .iter()
            .filter_map(|t| org.object(t))
            .find(|o| o.field(last).is_some() || rels.len() > hops.len())
            .or_else(|| targets.first().and_then(|t| org.object(t)))
            .cloned()
            .ok_or_else(|| invalid_field(path.pos, rel, &obj.name))?;
        obj = next;
    }
    let field = obj
        .field(last)
        .cloned()
        .ok_or_else(|| invalid_field(path.pos, &path.dotted(), &root.name))?;
    Ok(Resolved { hops, field })
}

pub(super) fn parent<'a>(
    org: &'a Org,
    rec: &'a Record,
    hop: &(String, String, Vec<String>),
) -> Option<&'a Record> {
    let id = rec.get(&hop.0).as_str()?;
    hop.2.iter().find_map(|t| org.store.get(t, id))
}

pub(super) fn value_of<'a>(org: &'a Org, rec: &'a Record, r: &Resolved) -> &'a Value {
    let mut cur = rec;
    for hop in &r.hops {
        match parent(org, cur, hop) {
            Some(p) => cur = p,
            None => return &Value::Null,
        }
    }
    cur.get(&r.field.name)
}
