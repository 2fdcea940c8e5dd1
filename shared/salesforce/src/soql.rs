//! A SOQL builder that cannot be injected: field names are allow-listed against describe
//! (relationship paths through `relationshipName`), values are typed literals escaped per
//! Salesforce's string-literal rules.

use std::collections::HashMap;
use std::fmt::Write as _;

use chrono::{DateTime, Utc};

use crate::describe::{FieldDescribe, ObjectDescribe, relationship_field};
use crate::sobjects::is_api_name;

mod literal;
pub use literal::{Literal, LiteralError, LiteralType};

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SoqlError {
    #[error("{object} has no field {field:?}")]
    UnknownField { object: String, field: String },
    #[error("{object} has no relationship {relationship:?} (in {path:?})")]
    UnknownRelationship {
        object: String,
        relationship: String,
        path: String,
    },
    #[error("{name:?} is not a valid SOQL field name")]
    InvalidName { name: String },
    #[error("invalid literal for {field}: {reason}")]
    InvalidLiteral { field: String, reason: String },
    #[error("IN list for {field} is empty")]
    EmptyInList { field: String },
    #[error("a query needs at least one selected field")]
    EmptySelect,
}

/// Escapes a value for a single-quoted SOQL string literal. Inside LIKE patterns `%` and
/// `_` are escaped too, so the value matches literally.
pub fn escape_string(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 2);
    escape_into(value, false, &mut out);
    out
}

/// Like [`escape_string`], also escaping the LIKE wildcards `%` and `_`.
pub fn escape_like(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 2);
    escape_into(value, true, &mut out);
    out
}

pub(crate) fn escape_into(value: &str, like: bool, out: &mut String) {
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\'' => out.push_str("\\'"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '%' if like => out.push_str("\\%"),
            '_' if like => out.push_str("\\_"),
            // Other control characters (incl. bell/form feed, whose \b/\f meaning is
            // ambiguous) as \uXXXX.
            c if c.is_control() => {
                let mut buf = [0u16; 2];
                for unit in c.encode_utf16(&mut buf) {
                    let _ = write!(out, "\\u{unit:04x}");
                }
            }
            c => out.push(c),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CompareOp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

impl CompareOp {
    fn as_str(self) -> &'static str {
        match self {
            CompareOp::Eq => "=",
            CompareOp::Ne => "!=",
            CompareOp::Lt => "<",
            CompareOp::Le => "<=",
            CompareOp::Gt => ">",
            CompareOp::Ge => ">=",
        }
    }
}

/// A WHERE condition. Field names are checked when the query is built.
#[derive(Clone, Debug, PartialEq)]
pub enum Condition {
    Compare {
        field: String,
        op: CompareOp,
        value: Literal,
    },
    In {
        field: String,
        values: Vec<Literal>,
        negated: bool,
    },
    /// `field LIKE '<escaped prefix>%'` or `'%<escaped>%'`.
    Like {
        field: String,
        text: String,
        contains: bool,
    },
    And(Vec<Condition>),
    Or(Vec<Condition>),
    Not(Box<Condition>),
}

impl Condition {
    fn compare(field: &str, op: CompareOp, value: impl Into<Literal>) -> Self {
        Condition::Compare {
            field: field.to_string(),
            op,
            value: value.into(),
        }
    }
    pub fn eq(field: &str, value: impl Into<Literal>) -> Self {
        Self::compare(field, CompareOp::Eq, value)
    }
    pub fn ne(field: &str, value: impl Into<Literal>) -> Self {
        Self::compare(field, CompareOp::Ne, value)
    }
    pub fn lt(field: &str, value: impl Into<Literal>) -> Self {
        Self::compare(field, CompareOp::Lt, value)
    }
    pub fn le(field: &str, value: impl Into<Literal>) -> Self {
        Self::compare(field, CompareOp::Le, value)
    }
    pub fn gt(field: &str, value: impl Into<Literal>) -> Self {
        Self::compare(field, CompareOp::Gt, value)
    }
    pub fn ge(field: &str, value: impl Into<Literal>) -> Self {
        Self::compare(field, CompareOp::Ge, value)
    }
    pub fn is_null(field: &str) -> Self {
        Self::compare(field, CompareOp::Eq, Literal::Null)
    }
    pub fn in_list<L: Into<Literal>>(field: &str, values: impl IntoIterator<Item = L>) -> Self {
        Condition::In {
            field: field.to_string(),
            values: values.into_iter().map(Into::into).collect(),
            negated: false,
        }
    }
    pub fn not_in<L: Into<Literal>>(field: &str, values: impl IntoIterator<Item = L>) -> Self {
        Condition::In {
            field: field.to_string(),
            values: values.into_iter().map(Into::into).collect(),
            negated: true,
        }
    }
    pub fn starts_with(field: &str, prefix: &str) -> Self {
        Condition::Like {
            field: field.to_string(),
            text: prefix.to_string(),
            contains: false,
        }
    }
    pub fn contains(field: &str, text: &str) -> Self {
        Condition::Like {
            field: field.to_string(),
            text: text.to_string(),
            contains: true,
        }
    }
    pub fn and(conditions: impl IntoIterator<Item = Condition>) -> Self {
        Condition::And(conditions.into_iter().collect())
    }
    pub fn or(conditions: impl IntoIterator<Item = Condition>) -> Self {
        Condition::Or(conditions.into_iter().collect())
    }
    #[allow(clippy::should_implement_trait)]
    pub fn not(condition: Condition) -> Self {
        Condition::Not(Box::new(condition))
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Order {
    Asc,
    Desc,
}

/// Builds `SELECT … FROM … [WHERE …] [ORDER BY …] [LIMIT n]`.
#[derive(Clone, Debug)]
pub struct SoqlBuilder<'a> {
    object: &'a ObjectDescribe,
    related: HashMap<String, &'a ObjectDescribe>,
    select: Vec<String>,
    filter: Option<Condition>,
    order_by: Vec<(String, Order)>,
    limit: Option<u32>,
}

impl<'a> SoqlBuilder<'a> {
    pub fn new(object: &'a ObjectDescribe) -> Self {
        SoqlBuilder {
            object,
            related: HashMap::new(),
            select: Vec::new(),
            filter: None,
            order_by: Vec::new(),
            limit: None,
        }
    }

    /// Lets relationship paths into `describe`'s object be checked field by field.
    pub fn related(mut self, describe: &'a ObjectDescribe) -> Self {
        self.related
            .insert(describe.name.to_ascii_lowercase(), describe);
        self
    }

    pub fn select<S: AsRef<str>>(mut self, fields: impl IntoIterator<Item = S>) -> Self {
        self.select
            .extend(fields.into_iter().map(|f| f.as_ref().to_string()));
        self
    }

    /// Sets (or ANDs onto) the WHERE clause.
    pub fn filter(mut self, condition: Condition) -> Self {
        self.filter = Some(match self.filter.take() {
            None => condition,
            Some(existing) => Condition::And(vec![existing, condition]),
        });
        self
    }

    pub fn order_by(mut self, field: &str, order: Order) -> Self {
        self.order_by.push((field.to_string(), order));
        self
    }

    pub fn limit(mut self, n: u32) -> Self {
        self.limit = Some(n);
        self
    }

    pub fn build(&self) -> Result<String, SoqlError> {
        if self.select.is_empty() {
            return Err(SoqlError::EmptySelect);
        }
        let mut out = String::from("SELECT ");
        let mut seen = Vec::new();
        for field in &self.select {
            let canonical = self.resolve(field)?;
            if !seen
                .iter()
                .any(|s: &String| s.eq_ignore_ascii_case(&canonical))
            {
                seen.push(canonical);
            }
        }
        out.push_str(&seen.join(", "));
        out.push_str(" FROM ");
        out.push_str(&self.object.name);
        if let Some(filter) = &self.filter {
            out.push_str(" WHERE ");
            self.render_condition(filter, &mut out)?;
        }
        if !self.order_by.is_empty() {
            out.push_str(" ORDER BY ");
            for (i, (field, order)) in self.order_by.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                out.push_str(&self.resolve(field)?);
                if *order == Order::Desc {
                    out.push_str(" DESC");
                }
            }
        }
        if let Some(n) = self.limit {
            let _ = write!(out, " LIMIT {n}");
        }
        Ok(out)
    }

    fn render_condition(&self, condition: &Condition, out: &mut String) -> Result<(), SoqlError> {
        match condition {
            Condition::Compare { field, op, value } => {
                out.push_str(&self.resolve_typed(field, std::slice::from_ref(value))?);
                out.push(' ');
                out.push_str(op.as_str());
                out.push(' ');
                value.render(field, out)?;
            }
            Condition::In {
                field,
                values,
                negated,
            } => {
                if values.is_empty() {
                    return Err(SoqlError::EmptyInList {
                        field: field.clone(),
                    });
                }
                out.push_str(&self.resolve_typed(field, values)?);
                out.push_str(if *negated { " NOT IN (" } else { " IN (" });
                for (i, value) in values.iter().enumerate() {
                    if i > 0 {
                        out.push_str(", ");
                    }
                    value.render(field, out)?;
                }
                out.push(')');
            }
            Condition::Like {
                field,
                text,
                contains,
            } => {
                out.push_str(&self.resolve(field)?);
                out.push_str(" LIKE '");
                if *contains {
                    out.push('%');
                }
                escape_into(text, true, out);
                out.push_str("%'");
            }
            Condition::And(parts) | Condition::Or(parts) => {
                let joiner = if matches!(condition, Condition::And(_)) {
                    " AND "
                } else {
                    " OR "
                };
                match parts.len() {
                    0 => out.push_str(if joiner == " AND " {
                        "Id != null"
                    } else {
                        "Id = null"
                    }),
                    _ => {
                        out.push('(');
                        for (i, part) in parts.iter().enumerate() {
                            if i > 0 {
                                out.push_str(joiner);
                            }
                            self.render_condition(part, out)?;
                        }
                        out.push(')');
                    }
                }
            }
            Condition::Not(inner) => {
                out.push_str("(NOT ");
                self.render_condition(inner, out)?;
                out.push(')');
            }
        }
        Ok(())
    }

    /// Like [`Self::resolve`], also refusing literals the field's type does not take (a
    /// quoted date, a number for a picklist…), which Salesforce would refuse.
    fn resolve_typed(&self, path: &str, values: &[Literal]) -> Result<String, SoqlError> {
        let (canonical, field) = self.resolve_field(path)?;
        if let Some(field) = field
            && let Some(bad) = values.iter().find(|v| !v.fits(field))
        {
            return Err(SoqlError::InvalidLiteral {
                field: canonical,
                reason: format!("{bad:?} does not fit a {} field", field.field_type),
            });
        }
        Ok(canonical)
    }

    /// Checks a field or relationship path and returns it in describe's spelling.
    fn resolve(&self, path: &str) -> Result<String, SoqlError> {
        self.resolve_field(path).map(|(canonical, _)| canonical)
    }

    /// The path in describe's spelling, with the field's describe when its object is known.
    fn resolve_field(&self, path: &str) -> Result<(String, Option<&'a FieldDescribe>), SoqlError> {
        let segments: Vec<&str> = path.split('.').collect();
        if segments.iter().any(|s| !is_api_name(s)) {
            return Err(SoqlError::InvalidName {
                name: path.to_string(),
            });
        }
        let mut object = Some(self.object);
        let mut canonical = Vec::with_capacity(segments.len());
        let (last, parents) = segments.split_last().expect("split yields one segment");
        for relationship in parents {
            match object {
                Some(describe) => {
                    let field = relationship_field(describe, relationship).ok_or_else(|| {
                        SoqlError::UnknownRelationship {
                            object: describe.name.clone(),
                            relationship: relationship.to_string(),
                            path: path.to_string(),
                        }
                    })?;
                    canonical.push(
                        field
                            .relationship_name
                            .clone()
                            .unwrap_or_else(|| relationship.to_string()),
                    );
                    // Polymorphic (Owner → User/Group) or undescribed targets: syntax only.
                    object = match field.reference_to.as_slice() {
                        [target] => self.related.get(&target.to_ascii_lowercase()).copied(),
                        _ => None,
                    };
                }
                None => canonical.push(relationship.to_string()),
            }
        }
        let described = match object {
            Some(describe) => {
                let field = describe
                    .field(last)
                    .ok_or_else(|| SoqlError::UnknownField {
                        object: describe.name.clone(),
                        field: path.to_string(),
                    })?;
                canonical.push(field.name.clone());
                Some(field)
            }
            None => {
                canonical.push(last.to_string());
                None
            }
        };
        Ok((canonical.join("."), described))
    }
}

/// The poller's position: the last record applied, by `(SystemModstamp, Id)`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cursor {
    pub system_modstamp: DateTime<Utc>,
    pub id: String,
}

/// The incremental pull query:
/// `WHERE (SystemModstamp > :ts OR (SystemModstamp = :ts AND Id > :id))
///  ORDER BY SystemModstamp, Id LIMIT n`.
///
/// With `overlap`, the lower bound becomes `SystemModstamp >= :ts - overlap`, re-reading
/// a window to catch late commits that carry an older stamp (the caller drops echoes and
/// already-applied versions, and pages onward with the strict form).
pub fn cursor_query(
    object: &ObjectDescribe,
    fields: &[&str],
    after: Option<&Cursor>,
    overlap: Option<chrono::Duration>,
    limit: u32,
) -> Result<String, SoqlError> {
    let mut builder = SoqlBuilder::new(object)
        .select(["Id", "SystemModstamp"])
        .select(fields.iter().copied());
    if let Some(cursor) = after {
        let condition = match overlap {
            Some(window) => Condition::ge("SystemModstamp", cursor.system_modstamp - window),
            None => Condition::or([
                Condition::gt("SystemModstamp", cursor.system_modstamp),
                Condition::and([
                    Condition::eq("SystemModstamp", cursor.system_modstamp),
                    Condition::gt("Id", cursor.id.as_str()),
                ]),
            ]),
        };
        builder = builder.filter(condition);
    }
    builder
        .order_by("SystemModstamp", Order::Asc)
        .order_by("Id", Order::Asc)
        .limit(limit)
        .build()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;

    fn field(name: &str, ty: &str) -> FieldDescribe {
        serde_json::from_value(serde_json::json!({"name": name, "type": ty})).unwrap()
    }

    fn contact() -> ObjectDescribe {
        let mut owner = field("OwnerId", "reference");
        owner.reference_to = vec!["User".into()];
        owner.relationship_name = Some("Owner".into());
        ObjectDescribe {
            name: "Contact".into(),
            label: "Contact".into(),
            key_prefix: Some("003".into()),
            createable: true,
            updateable: true,
            fields: vec![
                field("Id", "id"),
                field("LastName", "string"),
                field("Email", "email"),
                field("SystemModstamp", "datetime"),
                field("Birthdate", "date"),
                owner,
            ],
            ..Default::default()
        }
    }

    fn user() -> ObjectDescribe {
        ObjectDescribe {
            name: "User".into(),
            fields: vec![field("Id", "id"), field("Email", "email")],
            ..contact()
        }
    }

    #[test]
    fn builds_and_canonicalizes() {
        let c = contact();
        let q = SoqlBuilder::new(&c)
            .select(["id", "lastname", "Owner.Email"])
            .filter(Condition::eq("Email", "a'b@x.com"))
            .filter(Condition::in_list("LastName", ["x", "y"]))
            .order_by("LastName", Order::Desc)
            .limit(5)
            .build()
            .unwrap();
        assert_eq!(
            q,
            "SELECT Id, LastName, Owner.Email FROM Contact WHERE (Email = 'a\\'b@x.com' AND LastName IN ('x', 'y')) ORDER BY LastName DESC LIMIT 5"
        );
    }

    #[test]
    fn rejects_unknown_fields_and_relationships() {
        let c = contact();
        let u = user();
        let err = SoqlBuilder::new(&c)
            .select(["Nope__c"])
            .build()
            .unwrap_err();
        assert_eq!(
            err,
            SoqlError::UnknownField {
                object: "Contact".into(),
                field: "Nope__c".into()
            }
        );
        let err = SoqlBuilder::new(&c)
            .select(["Account.Name"])
            .build()
            .unwrap_err();
        assert!(
            matches!(err, SoqlError::UnknownRelationship { .. }),
            "{err:?}"
        );
        let err = SoqlBuilder::new(&c)
            .related(&u)
            .select(["Owner.Phone"])
            .build()
            .unwrap_err();
        assert!(matches!(err, SoqlError::UnknownField { ref object, .. } if object == "User"));
        let err = SoqlBuilder::new(&c)
            .select(["Id, Name"])
            .build()
            .unwrap_err();
        assert!(matches!(err, SoqlError::InvalidName { .. }));
        let err = SoqlBuilder::new(&c)
            .select(["Id"])
            .filter(Condition::eq("Email) OR (Id", "x"))
            .build()
            .unwrap_err();
        assert!(matches!(err, SoqlError::InvalidName { .. }));
    }

    #[test]
    fn literals() {
        let c = contact();
        let ts = DateTime::parse_from_rfc3339("2026-11-21T07:57:32Z")
            .unwrap()
            .with_timezone(&Utc);
        let q = SoqlBuilder::new(&c)
            .select(["Id"])
            .filter(Condition::and([
                Condition::gt("SystemModstamp", ts),
                Condition::eq("Birthdate", NaiveDate::from_ymd_opt(2000, 1, 2).unwrap()),
                Condition::is_null("Email"),
                Condition::starts_with("LastName", "50%_off"),
            ]))
            .build()
            .unwrap();
        assert!(q.contains("SystemModstamp > 2026-11-21T07:57:32Z"), "{q}");
        assert!(q.contains("Birthdate = 2000-01-02"), "{q}");
        assert!(q.contains("Email = null"), "{q}");
        assert!(q.contains("LastName LIKE '50\\%\\_off%'"), "{q}");
        let err = SoqlBuilder::new(&c)
            .select(["Id"])
            .filter(Condition::eq("LastName", Literal::Decimal(f64::NAN)))
            .build()
            .unwrap_err();
        assert!(matches!(err, SoqlError::InvalidLiteral { .. }));
        let err = SoqlBuilder::new(&c)
            .select(["Id"])
            .filter(Condition::in_list::<&str>("LastName", []))
            .build()
            .unwrap_err();
        assert!(matches!(err, SoqlError::EmptyInList { .. }));
    }

    #[test]
    fn literals_that_do_not_fit_the_field_type_are_refused() {
        let c = contact();
        for condition in [
            Condition::eq("Birthdate", "2000-01-02"),
            Condition::gt("SystemModstamp", "2026-11-21T07:57:32Z"),
            Condition::in_list("Birthdate", ["2000-01-02"]),
            Condition::eq("LastName", 5),
        ] {
            let err = SoqlBuilder::new(&c)
                .select(["Id"])
                .filter(condition.clone())
                .build()
                .unwrap_err();
            assert!(
                matches!(err, SoqlError::InvalidLiteral { .. }),
                "{condition:?}: {err:?}"
            );
        }
        let birthdate = c.field("Birthdate").unwrap();
        let literal = Literal::for_field(birthdate, &serde_json::json!("2000-01-02")).unwrap();
        let q = SoqlBuilder::new(&c)
            .select(["Id"])
            .filter(Condition::eq("Birthdate", literal))
            .build()
            .unwrap();
        assert!(q.ends_with("WHERE Birthdate = 2000-01-02"), "{q}");
    }

    #[test]
    fn cursor_queries() {
        let c = contact();
        let ts = DateTime::parse_from_rfc3339("2026-11-21T07:57:32.250Z")
            .unwrap()
            .with_timezone(&Utc);
        let cursor = Cursor {
            system_modstamp: ts,
            id: "003000000000001AAA".into(),
        };
        let q = cursor_query(&c, &["Email"], Some(&cursor), None, 100).unwrap();
        assert_eq!(
            q,
            "SELECT Id, SystemModstamp, Email FROM Contact WHERE (SystemModstamp > 2026-11-21T07:57:32.250Z OR (SystemModstamp = 2026-11-21T07:57:32.250Z AND Id > '003000000000001AAA')) ORDER BY SystemModstamp, Id LIMIT 100"
        );
        let q = cursor_query(
            &c,
            &[],
            Some(&cursor),
            Some(chrono::Duration::minutes(5)),
            10,
        )
        .unwrap();
        assert_eq!(
            q,
            "SELECT Id, SystemModstamp FROM Contact WHERE SystemModstamp >= 2026-11-21T07:52:32.250Z ORDER BY SystemModstamp, Id LIMIT 10"
        );
        let q = cursor_query(&c, &["Email"], None, None, 50).unwrap();
        assert_eq!(
            q,
            "SELECT Id, SystemModstamp, Email FROM Contact ORDER BY SystemModstamp, Id LIMIT 50"
        );
    }
}
