//! What a function's `Policies` grant, as (action, resource) pairs. Resources are logical
//! ids (`StateTable`, `PushQueue`, a parameter such as `SalesforceAppSecretArn`) or
//! [`TOKEN_SECRETS`] for the stack's `crmsync/<stack>/*` secrets.

use std::collections::BTreeSet;

use serde_yaml_ng::Value;

use super::cfn::{at, ref_target, untag};

pub const TOKEN_SECRETS: &str = "TokenSecrets";

pub type Grants = BTreeSet<(String, String)>;

const DYNAMODB_CRUD: [&str; 10] = [
    "GetItem",
    "DeleteItem",
    "PutItem",
    "Scan",
    "Query",
    "UpdateItem",
    "BatchWriteItem",
    "BatchGetItem",
    "DescribeTable",
    "ConditionCheckItem",
];
const SQS_POLLER: [&str; 6] = [
    "ChangeMessageVisibility",
    "ChangeMessageVisibilityBatch",
    "DeleteMessage",
    "DeleteMessageBatch",
    "GetQueueAttributes",
    "ReceiveMessage",
];

fn resource_of(v: &Value) -> Option<String> {
    if let Some(target) = ref_target(v) {
        return Some(target);
    }
    let text = match untag(v) {
        Value::String(s) => s.clone(),
        _ => return None,
    };
    Some(if text.contains(":secret:crmsync/${AWS::StackName}/*") {
        TOKEN_SECRETS.to_owned()
    } else {
        text
    })
}

fn add(grants: &mut Grants, service: &str, actions: &[&str], resource: Option<String>) {
    if let Some(r) = resource {
        for a in actions {
            grants.insert((format!("{service}:{a}"), r.clone()));
        }
    }
}

fn statement(grants: &mut Grants, s: &Value) {
    if at(s, &["Effect"]).and_then(|e| untag(e).as_str()) != Some("Allow") {
        return;
    }
    let list = |key: &str| -> Vec<Value> {
        match at(s, &[key]).map(untag) {
            Some(Value::Sequence(seq)) => seq.clone(),
            Some(v) => vec![v.clone()],
            None => Vec::new(),
        }
    };
    for resource in list("Resource").iter().filter_map(resource_of) {
        for action in list("Action").iter().filter_map(|a| untag(a).as_str()) {
            grants.insert((action.to_owned(), resource.clone()));
        }
    }
}

fn policy(grants: &mut Grants, p: &Value) {
    // `!If [condition, then, else]`: either may apply.
    if let Value::Tagged(t) = p
        && t.tag.to_string().trim_start_matches('!') == "If"
    {
        if let Value::Sequence(branches) = untag(&t.value) {
            for b in branches.iter().skip(1) {
                policy(grants, b);
            }
        }
        return;
    }
    let Some(map) = untag(p).as_mapping() else {
        return;
    };
    for (name, args) in map {
        match name.as_str().unwrap_or_default() {
            "DynamoDBCrudPolicy" => add(
                grants,
                "dynamodb",
                &DYNAMODB_CRUD,
                at(args, &["TableName"]).and_then(resource_of),
            ),
            "SQSSendMessagePolicy" => add(
                grants,
                "sqs",
                &["SendMessage"],
                at(args, &["QueueName"]).and_then(resource_of),
            ),
            "SQSPollerPolicy" => add(
                grants,
                "sqs",
                &SQS_POLLER,
                at(args, &["QueueName"]).and_then(resource_of),
            ),
            "AWSSecretsManagerGetSecretValuePolicy" => add(
                grants,
                "secretsmanager",
                &["GetSecretValue"],
                at(args, &["SecretArn"]).and_then(resource_of),
            ),
            "Statement" => {
                if let Value::Sequence(list) = untag(args) {
                    for s in list {
                        statement(grants, s);
                    }
                }
            }
            _ => {}
        }
    }
}

/// The grants of one `AWS::Serverless::Function` resource.
pub fn grants(function: &Value) -> Grants {
    let mut out = Grants::new();
    if let Some(Value::Sequence(list)) = at(function, &["Properties", "Policies"]).map(untag) {
        for p in list {
            policy(&mut out, p);
        }
    }
    out
}
