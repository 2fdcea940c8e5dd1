//! Creates the table and queues for local and moto runs.
//!
//! The table definition is read from `template.yaml` (resource `StateTable`), the
//! same file SAM deploys, so the local table cannot drift from the deployed one.

use std::collections::BTreeMap;

use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType, Projection,
    ProjectionType, ScalarAttributeType, TimeToLiveSpecification,
};
use aws_sdk_sqs::types::QueueAttributeName;
use serde::Deserialize;

use crate::aws::errors::classify;
use crate::aws::{AwsClients, AwsSettings};
use crate::error::{StoreError, StoreResult};

/// The SAM template, embedded at build time.
pub const TEMPLATE: &str = include_str!("../../../template.yaml");
/// The template resource that defines the table.
pub const TABLE_RESOURCE: &str = "StateTable";

/// The parts of `AWS::DynamoDB::Table` Properties the local bootstrap uses.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct TableSpec {
    pub attribute_definitions: Vec<AttributeSpec>,
    pub key_schema: Vec<KeySpec>,
    #[serde(default)]
    pub global_secondary_indexes: Vec<IndexSpec>,
    pub time_to_live_specification: Option<TtlSpec>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct AttributeSpec {
    pub attribute_name: String,
    pub attribute_type: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct KeySpec {
    pub attribute_name: String,
    pub key_type: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct IndexSpec {
    pub index_name: String,
    pub key_schema: Vec<KeySpec>,
    pub projection: ProjectionSpec,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ProjectionSpec {
    pub projection_type: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct TtlSpec {
    pub attribute_name: String,
    #[serde(default)]
    pub enabled: bool,
}

impl TableSpec {
    /// The table definition from the embedded `template.yaml`.
    pub fn from_template() -> StoreResult<Self> {
        Self::parse(TEMPLATE)
    }

    /// Parses a SAM/CloudFormation template. CloudFormation tags (`!Ref`, `!Sub`, ...)
    /// anywhere in the file are accepted; only the table's properties must be plain.
    pub fn parse(template: &str) -> StoreResult<Self> {
        let field = "template.yaml";
        let doc: serde_yaml_ng::Value = serde_yaml_ng::from_str(template)
            .map_err(|e| StoreError::invalid(field, e.to_string()))?;
        let props = doc
            .get("Resources")
            .and_then(|r| r.get(TABLE_RESOURCE))
            .and_then(|t| t.get("Properties"))
            .ok_or_else(|| {
                StoreError::invalid(
                    field,
                    format!("Resources.{TABLE_RESOURCE}.Properties not found"),
                )
            })?;
        serde_yaml_ng::from_value(untag(props.clone())).map_err(|e| {
            StoreError::invalid(
                format!("{field}: Resources.{TABLE_RESOURCE}.Properties"),
                e.to_string(),
            )
        })
    }

    pub fn hash_key(&self) -> Option<&str> {
        key_of(&self.key_schema, "HASH")
    }

    pub fn range_key(&self) -> Option<&str> {
        key_of(&self.key_schema, "RANGE")
    }

    pub fn index(&self, name: &str) -> Option<&IndexSpec> {
        self.global_secondary_indexes
            .iter()
            .find(|i| i.index_name == name)
    }
}

impl IndexSpec {
    pub fn hash_key(&self) -> Option<&str> {
        key_of(&self.key_schema, "HASH")
    }

    pub fn range_key(&self) -> Option<&str> {
        key_of(&self.key_schema, "RANGE")
    }
}

fn key_of<'a>(keys: &'a [KeySpec], kind: &str) -> Option<&'a str> {
    keys.iter()
        .find(|k| k.key_type == kind)
        .map(|k| k.attribute_name.as_str())
}

/// Replaces every `!Tag value` by its value.
fn untag(v: serde_yaml_ng::Value) -> serde_yaml_ng::Value {
    use serde_yaml_ng::Value;
    match v {
        Value::Tagged(t) => untag(t.value),
        Value::Sequence(s) => Value::Sequence(s.into_iter().map(untag).collect()),
        Value::Mapping(m) => Value::Mapping(m.into_iter().map(|(k, v)| (k, untag(v))).collect()),
        other => other,
    }
}

fn build_err(what: &str, e: impl ToString) -> StoreError {
    StoreError::invalid(format!("template.yaml {what}"), e.to_string())
}

fn key_schema(keys: &[KeySpec]) -> StoreResult<Vec<KeySchemaElement>> {
    keys.iter()
        .map(|k| {
            KeySchemaElement::builder()
                .attribute_name(&k.attribute_name)
                .key_type(KeyType::from(k.key_type.as_str()))
                .build()
                .map_err(|e| build_err("KeySchema", e))
        })
        .collect()
}

/// Creates the table (if missing) with the template's definition and enables TTL.
pub async fn create_table(client: &aws_sdk_dynamodb::Client, table: &str) -> StoreResult<()> {
    let spec = TableSpec::from_template()?;
    let attributes = spec
        .attribute_definitions
        .iter()
        .map(|a| {
            AttributeDefinition::builder()
                .attribute_name(&a.attribute_name)
                .attribute_type(ScalarAttributeType::from(a.attribute_type.as_str()))
                .build()
                .map_err(|e| build_err("AttributeDefinitions", e))
        })
        .collect::<StoreResult<Vec<_>>>()?;
    let indexes = spec
        .global_secondary_indexes
        .iter()
        .map(|i| {
            GlobalSecondaryIndex::builder()
                .index_name(&i.index_name)
                .set_key_schema(Some(key_schema(&i.key_schema)?))
                .projection(
                    Projection::builder()
                        .projection_type(ProjectionType::from(
                            i.projection.projection_type.as_str(),
                        ))
                        .build(),
                )
                .build()
                .map_err(|e| build_err("GlobalSecondaryIndexes", e))
        })
        .collect::<StoreResult<Vec<_>>>()?;
    let created = client
        .create_table()
        .table_name(table)
        .billing_mode(BillingMode::PayPerRequest)
        .set_attribute_definitions(Some(attributes))
        .set_key_schema(Some(key_schema(&spec.key_schema)?))
        .set_global_secondary_indexes((!indexes.is_empty()).then_some(indexes))
        .send()
        .await
        .map_err(|e| classify("dynamodb", "CreateTable", e));
    match created {
        Ok(_) => {}
        Err(StoreError::Rejected { code, .. }) if code == "ResourceInUseException" => return Ok(()),
        Err(e) => return Err(e),
    }
    if let Some(ttl) = spec.time_to_live_specification.filter(|t| t.enabled) {
        client
            .update_time_to_live()
            .table_name(table)
            .time_to_live_specification(
                TimeToLiveSpecification::builder()
                    .attribute_name(ttl.attribute_name)
                    .enabled(true)
                    .build()
                    .map_err(|e| build_err("TimeToLiveSpecification", e))?,
            )
            .send()
            .await
            .map_err(|e| classify("dynamodb", "UpdateTimeToLive", e))?;
    }
    Ok(())
}

/// Creates `{prefix}-push.fifo` (FIFO, content-based dedup as a fallback) and
/// `{prefix}-poll`; returns their URLs (push, poll). Idempotent.
pub async fn create_queues(
    client: &aws_sdk_sqs::Client,
    prefix: &str,
) -> StoreResult<(String, String)> {
    let fifo = BTreeMap::from([
        (QueueAttributeName::FifoQueue, "true".to_string()),
        (
            QueueAttributeName::ContentBasedDeduplication,
            "true".to_string(),
        ),
    ]);
    let push = create_queue(client, &format!("{prefix}-push.fifo"), fifo).await?;
    let poll = create_queue(client, &format!("{prefix}-poll"), BTreeMap::new()).await?;
    Ok((push, poll))
}

async fn create_queue(
    client: &aws_sdk_sqs::Client,
    name: &str,
    attributes: BTreeMap<QueueAttributeName, String>,
) -> StoreResult<String> {
    let out = client
        .create_queue()
        .queue_name(name)
        .set_attributes((!attributes.is_empty()).then(|| attributes.into_iter().collect()))
        .send()
        .await
        .map_err(|e| classify("sqs", "CreateQueue", e))?;
    out.queue_url
        .ok_or_else(|| StoreError::invalid("queue", format!("no URL returned for {name}")))
}

/// Creates table and queues named after `name` and returns matching settings.
pub async fn bootstrap(clients: &AwsClients, name: &str) -> StoreResult<AwsSettings> {
    create_table(&clients.dynamodb, name).await?;
    let (push_queue_url, poll_queue_url) = create_queues(&clients.sqs, name).await?;
    let sweep_queue_url =
        create_queue(&clients.sqs, &format!("{name}-sweep"), BTreeMap::new()).await?;
    Ok(AwsSettings {
        table: name.to_string(),
        push_queue_url,
        poll_queue_url,
        sweep_queue_url,
        secret_prefix: format!("{name}/"),
        kms_key_id: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aws::dynamo::keys;

    #[test]
    fn template_table_matches_the_keys_the_adapter_uses() {
        let spec = TableSpec::from_template().unwrap();
        assert_eq!(spec.hash_key(), Some(keys::PK));
        assert_eq!(spec.range_key(), Some(keys::SK));
        let gsi = spec.index(keys::GSI1).expect("template defines index gsi1");
        assert_eq!(gsi.hash_key(), Some(keys::GSI1PK));
        assert_eq!(gsi.range_key(), Some(keys::GSI1SK));
        assert_eq!(gsi.projection.projection_type, "ALL");
        let ttl = spec.time_to_live_specification.as_ref().unwrap();
        assert_eq!(ttl.attribute_name, keys::TTL);
        assert!(ttl.enabled);
        for attr in [keys::PK, keys::SK, keys::GSI1PK, keys::GSI1SK] {
            let def = spec
                .attribute_definitions
                .iter()
                .find(|a| a.attribute_name == attr)
                .unwrap_or_else(|| panic!("{attr} not defined"));
            assert_eq!(def.attribute_type, "S", "{attr}");
        }
    }

    #[test]
    fn cfn_tags_elsewhere_are_tolerated_and_missing_table_is_named() {
        let template = r#"
Resources:
  Queue:
    Type: AWS::SQS::Queue
    Properties:
      QueueName: !Sub "${AWS::StackName}-push.fifo"
  StateTable:
    Type: AWS::DynamoDB::Table
    Properties:
      TableName: !Ref TableNameParam
      AttributeDefinitions: [{AttributeName: pk, AttributeType: S}]
      KeySchema: [{AttributeName: pk, KeyType: HASH}]
"#;
        let spec = TableSpec::parse(template).unwrap();
        assert_eq!(spec.hash_key(), Some("pk"));
        assert!(spec.global_secondary_indexes.is_empty());

        let err = TableSpec::parse("Resources: {}").unwrap_err();
        assert!(err.to_string().contains("StateTable"), "{err}");
    }
}
