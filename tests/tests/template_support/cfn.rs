//! A read-only view of a SAM/CloudFormation template parsed with serde_yaml_ng.
//!
//! Short-form intrinsics (`!Ref X`, `!Sub ...`, `!GetAtt X.Arn`, `!If [...]`) parse as
//! tagged values; the helpers here look through tags where a test only needs the shape,
//! and resolve `Ref`/`GetAtt` (short or long form) to the logical id they name.

use std::collections::{BTreeMap, BTreeSet};

use serde_yaml_ng::Value;

/// One `AWS::Serverless::Function` as the checks need it.
#[derive(Debug, Clone, PartialEq)]
pub struct Function {
    pub logical_id: String,
    pub code_uri: Option<String>,
    pub build_method: Option<String>,
    pub binary: Option<String>,
    /// Names in the function's own `Environment.Variables` (not Globals).
    pub env: BTreeSet<String>,
    /// The function's `Timeout`, falling back to `Globals.Function.Timeout`.
    pub timeout: Option<u64>,
}

impl Function {
    /// The crate directory name when `CodeUri` is `functions/<name>` (trailing `/` allowed).
    pub fn crate_name(&self) -> Option<&str> {
        let rest = self.code_uri.as_deref()?.strip_prefix("functions/")?;
        let name = rest.trim_end_matches('/');
        (!name.is_empty() && !name.contains('/')).then_some(name)
    }
}

#[derive(Debug)]
pub struct Template {
    root: Value,
}

impl Template {
    pub fn parse(text: &str) -> Result<Self, String> {
        let root: Value =
            serde_yaml_ng::from_str(text).map_err(|e| format!("template is not YAML: {e}"))?;
        if resources_of(&root).is_none() {
            return Err("template has no Resources mapping".into());
        }
        Ok(Self { root })
    }

    pub fn resource(&self, logical_id: &str) -> Option<&Value> {
        resources_of(&self.root)?.get(logical_id)
    }

    /// `(logical id, resource)` for every resource of the given `Type`, in file order.
    pub fn resources_of_type(&self, ty: &str) -> Vec<(String, &Value)> {
        let Some(resources) = resources_of(&self.root) else {
            return Vec::new();
        };
        resources
            .iter()
            .filter(|(_, r)| str_at(r, &["Type"]) == Some(ty))
            .filter_map(|(k, r)| Some((k.as_str()?.to_owned(), r)))
            .collect()
    }

    /// A value under `Globals.Function`.
    pub fn global_function(&self, key: &str) -> Option<&Value> {
        at(&self.root, &["Globals", "Function", key])
    }

    pub fn global_env(&self) -> BTreeSet<String> {
        self.global_function("Environment")
            .and_then(|e| at(e, &["Variables"]))
            .map(keys_of)
            .unwrap_or_default()
    }

    pub fn functions(&self) -> Vec<Function> {
        let global_timeout = self.global_function("Timeout").and_then(as_u64);
        self.resources_of_type("AWS::Serverless::Function")
            .into_iter()
            .map(|(logical_id, r)| Function {
                code_uri: str_at(r, &["Properties", "CodeUri"]).map(str::to_owned),
                build_method: str_at(r, &["Metadata", "BuildMethod"]).map(str::to_owned),
                binary: str_at(r, &["Metadata", "BuildProperties", "Binary"]).map(str::to_owned),
                env: at(r, &["Properties", "Environment", "Variables"])
                    .map(keys_of)
                    .unwrap_or_default(),
                timeout: at(r, &["Properties", "Timeout"])
                    .and_then(as_u64)
                    .or(global_timeout),
                logical_id,
            })
            .collect()
    }
}

fn resources_of(root: &Value) -> Option<&serde_yaml_ng::Mapping> {
    at(root, &["Resources"])?.as_mapping()
}

/// Strips any number of YAML tags (`!Ref`, `!Sub`, ...).
pub fn untag(mut v: &Value) -> &Value {
    while let Value::Tagged(t) = v {
        v = &t.value;
    }
    v
}

/// Walks mapping keys, looking through tags on the way. The value found keeps its tag
/// (so `ref_target` can still read a `!Ref`).
pub fn at<'a>(v: &'a Value, path: &[&str]) -> Option<&'a Value> {
    path.iter().try_fold(v, |cur, key| untag(cur).get(key))
}

/// The string at `path`, looking through a tag (`!Sub "..."` yields its pattern).
pub fn str_at<'a>(v: &'a Value, path: &[&str]) -> Option<&'a str> {
    match untag(at(v, path)?) {
        Value::String(s) => Some(s),
        _ => None,
    }
}

pub fn as_u64(v: &Value) -> Option<u64> {
    match untag(v) {
        Value::Number(n) => n.as_u64(),
        Value::String(s) => s.parse().ok(),
        _ => None,
    }
}

pub fn keys_of(v: &Value) -> BTreeSet<String> {
    untag(v)
        .as_mapping()
        .map(|m| {
            m.keys()
                .filter_map(|k| k.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

/// The logical id named by `!Ref X`, `!GetAtt X.Attr`, `{Ref: X}` or `{Fn::GetAtt: [X, Attr]}`.
pub fn ref_target(v: &Value) -> Option<String> {
    if let Value::Tagged(t) = v {
        let tag = t.tag.to_string();
        let tag = tag.trim_start_matches('!');
        return match (tag, untag(&t.value)) {
            ("Ref", Value::String(s)) => Some(s.clone()),
            ("GetAtt", Value::String(s)) => s.split('.').next().map(str::to_owned),
            ("GetAtt", Value::Sequence(seq)) => seq.first()?.as_str().map(str::to_owned),
            _ => None,
        };
    }
    let m = v.as_mapping()?;
    if let Some(Value::String(s)) = m.get("Ref") {
        return Some(s.clone());
    }
    match m.get("Fn::GetAtt")? {
        Value::String(s) => s.split('.').next().map(str::to_owned),
        Value::Sequence(seq) => seq.first()?.as_str().map(str::to_owned),
        _ => None,
    }
}

/// A global secondary index: its keys and projection type.
#[derive(Debug, Default, PartialEq)]
pub struct Index {
    pub hash_key: Option<String>,
    pub range_key: Option<String>,
    pub projection: Option<String>,
}

/// Key attribute types and indexes of an `AWS::DynamoDB::Table`.
#[derive(Debug, Default, PartialEq)]
pub struct TableShape {
    pub hash_key: Option<String>,
    pub range_key: Option<String>,
    /// attribute name -> type (`S`, `N`, `B`)
    pub attributes: BTreeMap<String, String>,
    pub indexes: BTreeMap<String, Index>,
    pub ttl_attribute: Option<String>,
    pub ttl_enabled: bool,
}

pub fn table_shape(table: &Value) -> TableShape {
    let props = at(table, &["Properties"]).unwrap_or(&Value::Null);
    let key_schema = |v: &Value, kind: &str| -> Option<String> {
        untag(v).as_sequence()?.iter().find_map(|k| {
            (str_at(k, &["KeyType"]) == Some(kind))
                .then(|| str_at(k, &["AttributeName"]).map(str::to_owned))
                .flatten()
        })
    };
    let schema = at(props, &["KeySchema"]).unwrap_or(&Value::Null);
    let attributes = at(props, &["AttributeDefinitions"])
        .map(untag)
        .and_then(Value::as_sequence)
        .map(|defs| {
            defs.iter()
                .filter_map(|d| {
                    Some((
                        str_at(d, &["AttributeName"])?.to_owned(),
                        str_at(d, &["AttributeType"])?.to_owned(),
                    ))
                })
                .collect()
        })
        .unwrap_or_default();
    let indexes = at(props, &["GlobalSecondaryIndexes"])
        .map(untag)
        .and_then(Value::as_sequence)
        .map(|gsis| {
            gsis.iter()
                .filter_map(|g| {
                    let s = at(g, &["KeySchema"]).unwrap_or(&Value::Null);
                    Some((
                        str_at(g, &["IndexName"])?.to_owned(),
                        Index {
                            hash_key: key_schema(s, "HASH"),
                            range_key: key_schema(s, "RANGE"),
                            projection: str_at(g, &["Projection", "ProjectionType"])
                                .map(str::to_owned),
                        },
                    ))
                })
                .collect()
        })
        .unwrap_or_default();
    TableShape {
        hash_key: key_schema(schema, "HASH"),
        range_key: key_schema(schema, "RANGE"),
        attributes,
        indexes,
        ttl_attribute: str_at(props, &["TimeToLiveSpecification", "AttributeName"])
            .map(str::to_owned),
        ttl_enabled: matches!(
            at(props, &["TimeToLiveSpecification", "Enabled"]),
            Some(Value::Bool(true))
        ),
    }
}
