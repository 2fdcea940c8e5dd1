//! The checks, as pure functions over a parsed template and what the sources read, so
//! the tests can also feed them broken templates and watch them fail.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::PathBuf;

use super::cfn::{Template, as_u64, at, ref_target, str_at};

/// A variable some crate reads that its function does not get.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Problem {
    pub function: String,
    pub detail: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.function, self.detail)
    }
}

fn problem(function: &str, detail: impl Into<String>) -> Problem {
    Problem {
        function: function.to_owned(),
        detail: detail.into(),
    }
}

/// For each function crate (by directory name), the variables its code reads and where.
pub type EnvReads = BTreeMap<String, BTreeMap<String, PathBuf>>;

/// Every variable a crate reads must be set, in Globals or in the function's own
/// Environment, for the one template function built from that crate. A crate with no
/// function, or with two, is a problem too.
pub fn missing_env(template: &Template, reads: &EnvReads) -> Vec<Problem> {
    let global = template.global_env();
    let functions = template.functions();
    let mut problems = Vec::new();
    for (krate, vars) in reads {
        let built: Vec<_> = functions
            .iter()
            .filter(|f| f.crate_name() == Some(krate.as_str()))
            .collect();
        let [function] = built.as_slice() else {
            problems.push(problem(
                krate,
                format!(
                    "expected exactly one function with CodeUri functions/{krate}, found {}",
                    built.len()
                ),
            ));
            continue;
        };
        for (var, file) in vars {
            if !global.contains(var) && !function.env.contains(var) {
                problems.push(problem(
                    &function.logical_id,
                    format!(
                        "{var} is read in {} but set neither in Globals nor in the function's Environment",
                        file.display()
                    ),
                ));
            }
        }
    }
    problems
}

/// SQS consumers: partial batch responses on, and the queue's visibility timeout at least
/// 6 x the function timeout (AWS's rule for Lambda SQS sources). Covers explicit
/// `AWS::Lambda::EventSourceMapping` resources and SAM `SQS` events alike.
pub fn sqs_consumer_problems(template: &Template) -> Vec<Problem> {
    let functions: BTreeMap<_, _> = template
        .functions()
        .into_iter()
        .map(|f| (f.logical_id.clone(), f))
        .collect();
    // (function logical id, queue logical id, FunctionResponseTypes)
    let mut consumers = Vec::new();
    for (id, esm) in template.resources_of_type("AWS::Lambda::EventSourceMapping") {
        let target = at(esm, &["Properties", "FunctionName"]).and_then(ref_target);
        let queue = at(esm, &["Properties", "EventSourceArn"]).and_then(ref_target);
        match (target, queue) {
            (Some(f), Some(q)) => consumers.push((f, q, at(esm, &["Properties"]).cloned())),
            _ => consumers.push((id, String::new(), None)),
        }
    }
    for f in functions.keys() {
        let events = template
            .resource(f)
            .and_then(|r| at(r, &["Properties", "Events"]))
            .and_then(|e| e.as_mapping().cloned())
            .unwrap_or_default();
        for (_, event) in events {
            if str_at(&event, &["Type"]) == Some("SQS") {
                let queue = at(&event, &["Properties", "Queue"]).and_then(ref_target);
                let props = at(&event, &["Properties"]).cloned();
                consumers.push((f.clone(), queue.unwrap_or_default(), props));
            }
        }
    }

    let mut problems = Vec::new();
    for (function, queue, props) in consumers {
        let reports_failures = props
            .as_ref()
            .and_then(|p| at(p, &["FunctionResponseTypes"]))
            .and_then(|v| v.as_sequence())
            .is_some_and(|s| {
                s.iter()
                    .any(|t| t.as_str() == Some("ReportBatchItemFailures"))
            });
        if !reports_failures {
            problems.push(problem(
                &function,
                format!(
                    "SQS source {queue:?} lacks FunctionResponseTypes [ReportBatchItemFailures]"
                ),
            ));
        }
        let Some(f) = functions.get(&function) else {
            problems.push(problem(
                &function,
                "event source targets no template function",
            ));
            continue;
        };
        let visibility = template
            .resource(&queue)
            .and_then(|q| at(q, &["Properties", "VisibilityTimeout"]))
            .and_then(as_u64)
            .unwrap_or(30); // SQS default
        match f.timeout {
            Some(t) if visibility >= 6 * t => {}
            t => problems.push(problem(
                &function,
                format!(
                    "queue {queue} visibility {visibility}s is under 6 x function timeout {t:?}s"
                ),
            )),
        }
    }
    problems
}

/// Every queue with a redrive policy sends to a dead-letter queue after 5 receives, and
/// every dead-letter queue has an alarm on ApproximateNumberOfMessagesVisible > 0.
pub fn dead_letter_problems(template: &Template) -> Vec<Problem> {
    let alarmed: BTreeSet<String> = template
        .resources_of_type("AWS::CloudWatch::Alarm")
        .into_iter()
        .filter(|(_, a)| {
            str_at(a, &["Properties", "MetricName"]) == Some("ApproximateNumberOfMessagesVisible")
                && str_at(a, &["Properties", "ComparisonOperator"]) == Some("GreaterThanThreshold")
                && at(a, &["Properties", "Threshold"]).and_then(as_u64) == Some(0)
        })
        .flat_map(|(_, a)| {
            at(a, &["Properties", "Dimensions"])
                .and_then(|d| d.as_sequence().cloned())
                .unwrap_or_default()
                .into_iter()
                .filter(|d| str_at(d, &["Name"]) == Some("QueueName"))
                .filter_map(|d| at(&d, &["Value"]).and_then(ref_target))
        })
        .collect();
    let mut problems = Vec::new();
    for (id, queue) in template.resources_of_type("AWS::SQS::Queue") {
        let Some(redrive) = at(queue, &["Properties", "RedrivePolicy"]) else {
            continue;
        };
        if at(redrive, &["maxReceiveCount"]).and_then(as_u64) != Some(5) {
            problems.push(problem(&id, "redrive maxReceiveCount is not 5"));
        }
        match at(redrive, &["deadLetterTargetArn"]).and_then(ref_target) {
            Some(dlq) if alarmed.contains(&dlq) => {}
            Some(dlq) => problems.push(problem(
                &id,
                format!("dead-letter queue {dlq} has no depth alarm"),
            )),
            None => problems.push(problem(&id, "redrive policy names no dead-letter queue")),
        }
    }
    problems
}
