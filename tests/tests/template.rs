//! template.yaml checked against the code it deploys:
//! - every `"CRMSYNC_*"` variable a function's code reads (its crate, plus
//!   crmsync-service for crates that depend on it) is set for that function;
//! - every function crate is deployed once, built by cargo-lambda for arm64;
//! - the table's keys, index and TTL attribute are the ones crmsync-store uses;
//! - SQS consumers report partial batch failures and fit the visibility-timeout rule,
//!   dead-letter queues are alarmed, and each API route reaches its function.
//!
//! The checks are pure functions (`template_support::checks`), also run here against
//! small broken templates so a check that can no longer fail is noticed.

mod template_support;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use crmsync_store::aws::dynamo::keys;
use serde_yaml_ng::Value;
use template_support::cfn::{self, Template, at, ref_target, str_at, untag};
use template_support::checks::{self, EnvReads};
use template_support::iam::{self, TOKEN_SECRETS};
use template_support::reach::{self, PortCall};
use template_support::sources;

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ sits in the repo root")
        .to_path_buf()
}

fn template() -> Template {
    let path = repo_root().join("template.yaml");
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
    Template::parse(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Crate directory names under functions/, sorted.
fn function_crates() -> Vec<String> {
    let dir = repo_root().join("functions");
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("reading {}: {e}", dir.display()))
        .filter_map(Result::ok)
        .filter(|e| e.path().join("Cargo.toml").is_file())
        .filter_map(|e| e.file_name().to_str().map(str::to_owned))
        .collect();
    names.sort();
    names
}

fn manifest(krate: &str) -> String {
    let path = repo_root().join("functions").join(krate).join("Cargo.toml");
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()))
}

/// What each function crate reads: its own sources, plus crmsync-service's when it
/// depends on it (infra/cli is not deployed and is not scanned).
fn env_reads() -> EnvReads {
    let root = repo_root();
    let service_src = root.join("shared/service/src");
    function_crates()
        .into_iter()
        .map(|krate| {
            let mut dirs = vec![root.join("functions").join(&krate).join("src")];
            if sources::depends_on(&manifest(&krate), "crmsync-service") {
                dirs.push(service_src.clone());
            }
            let reads = sources::env_reads(&dirs).unwrap_or_else(|e| panic!("{e}"));
            (krate, reads)
        })
        .collect()
}

fn assert_no_problems(what: &str, problems: &[checks::Problem]) {
    let listed: Vec<String> = problems.iter().map(ToString::to_string).collect();
    assert!(problems.is_empty(), "{what}:\n  {}", listed.join("\n  "));
}

#[test]
fn every_variable_the_code_reads_is_set_for_its_function() {
    let reads = env_reads();
    assert_eq!(
        reads.keys().map(String::as_str).collect::<Vec<_>>(),
        ["ingest", "oauth", "poll", "push", "report", "sweep"],
        "function crates under functions/"
    );
    // Guard against a scan that silently finds nothing (moved sources, broken regex).
    for (krate, vars) in &reads {
        assert!(
            vars.contains_key("CRMSYNC_TABLE"),
            "{krate}: the source scan found no CRMSYNC_TABLE read; found {:?}",
            vars.keys().collect::<Vec<_>>()
        );
    }
    let t = template();
    assert_no_problems(
        "variables read by the code but not set by template.yaml",
        &checks::missing_env(&t, &reads),
    );
    // And the other way: a CRMSYNC_ variable nobody reads is a typo or a leftover.
    let read_anywhere: BTreeSet<&String> = reads.values().flat_map(BTreeMap::keys).collect();
    let set_anywhere = t
        .functions()
        .into_iter()
        .flat_map(|f| f.env)
        .chain(t.global_env());
    for var in set_anywhere.filter(|v| v.starts_with("CRMSYNC_")) {
        assert!(
            read_anywhere.contains(&var),
            "template sets {var}, which no function reads"
        );
    }
}

#[test]
fn every_function_crate_is_deployed_once_built_by_cargo_lambda_for_arm64() {
    let t = template();
    assert_eq!(str_at_global(&t, "Runtime"), Some("provided.al2023"));
    assert_eq!(str_at_global(&t, "Handler"), Some("bootstrap"));
    assert_eq!(str_at_global(&t, "Tracing"), Some("Active"));
    let arch = t.global_function("Architectures").map(untag).cloned();
    assert_eq!(arch, Some(Value::Sequence(vec!["arm64".into()])));
    let log_format = t
        .global_function("LoggingConfig")
        .and_then(|l| str_at(l, &["LogFormat"]));
    assert_eq!(log_format, Some("JSON"));

    let functions = t.functions();
    for krate in function_crates() {
        let built: Vec<_> = functions
            .iter()
            .filter(|f| f.crate_name() == Some(krate.as_str()))
            .collect();
        assert_eq!(built.len(), 1, "functions built from functions/{krate}");
        let f = built[0];
        assert_eq!(
            f.build_method.as_deref(),
            Some("rust-cargolambda"),
            "{}",
            f.logical_id
        );
        assert_eq!(
            sources::package_name(&manifest(&krate)).as_deref(),
            Some(krate.as_str()),
            "package name of functions/{krate}"
        );
        assert_eq!(
            f.binary.as_deref(),
            Some(krate.as_str()),
            "{} Binary",
            f.logical_id
        );
    }
    assert_eq!(
        functions.len(),
        function_crates().len(),
        "one function per crate"
    );
}

fn str_at_global<'a>(t: &'a Template, key: &str) -> Option<&'a str> {
    match untag(t.global_function(key)?) {
        Value::String(s) => Some(s),
        _ => None,
    }
}

#[test]
fn the_table_uses_the_store_keys_index_and_ttl_attribute() {
    let t = template();
    let table = t.resource("StateTable").expect("StateTable resource");
    assert_eq!(str_at(table, &["Type"]), Some("AWS::DynamoDB::Table"));
    let shape = cfn::table_shape(table);
    assert_eq!(shape.hash_key.as_deref(), Some(keys::PK));
    assert_eq!(shape.range_key.as_deref(), Some(keys::SK));
    let gsi1 = shape
        .indexes
        .get(keys::GSI1)
        .unwrap_or_else(|| panic!("no index {} in {:?}", keys::GSI1, shape.indexes));
    assert_eq!(gsi1.hash_key.as_deref(), Some(keys::GSI1PK));
    assert_eq!(gsi1.range_key.as_deref(), Some(keys::GSI1SK));
    assert_eq!(gsi1.projection.as_deref(), Some("ALL"));
    for key in [keys::PK, keys::SK, keys::GSI1PK, keys::GSI1SK] {
        assert_eq!(
            shape.attributes.get(key).map(String::as_str),
            Some("S"),
            "{key}"
        );
    }
    assert_eq!(
        shape.attributes.len(),
        4,
        "only key attributes are declared"
    );
    assert_eq!(shape.ttl_attribute.as_deref(), Some(keys::TTL));
    assert!(shape.ttl_enabled, "TTL must be enabled");
}

#[test]
fn the_store_queries_only_indexes_the_table_defines() {
    let t = template();
    let shape = cfn::table_shape(t.resource("StateTable").expect("StateTable"));
    let found = sources::index_name_args(&repo_root().join("shared/store/src"))
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(
        !found.is_empty(),
        "crmsync-store queries no index: scan broken?"
    );
    for (file, arg) in found {
        // Fixed names are string literals or key constants (UPPER_CASE paths); anything
        // else is a runtime value (e.g. bootstrap copying the template's own indexes).
        let last = arg.rsplit("::").next().unwrap_or(&arg);
        let name = if arg.starts_with('"') {
            arg.trim_matches('"').to_owned()
        } else if last == "GSI1" {
            keys::GSI1.to_owned()
        } else if !last.is_empty()
            && last
                .chars()
                .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
        {
            panic!(
                "{}: .index_name({arg}) uses a key constant this test does not know; compare it with the template here",
                file.display()
            )
        } else {
            continue;
        };
        assert!(
            shape.indexes.contains_key(&name),
            "{}: .index_name({arg}) names no index of StateTable ({:?})",
            file.display(),
            shape.indexes.keys().collect::<Vec<_>>()
        );
    }
}

#[test]
fn queues_consumers_and_dead_letter_alarms_follow_the_rules() {
    let t = template();
    assert_no_problems("SQS consumers", &checks::sqs_consumer_problems(&t));
    assert_no_problems("dead-letter queues", &checks::dead_letter_problems(&t));
    let push = t.resource("PushQueue").expect("PushQueue");
    for (key, want) in [
        ("FifoQueue", Value::Bool(true)),
        ("ContentBasedDeduplication", Value::Bool(false)),
        ("DeduplicationScope", "messageGroup".into()),
        ("FifoThroughputLimit", "perMessageGroupId".into()),
    ] {
        assert_eq!(
            at(push, &["Properties", key]),
            Some(&want),
            "PushQueue {key}"
        );
    }
}

/// The parked replay trusts a `REQUEUED` mark for its grace: longer than the push queue
/// keeps a message in flight, or an event still being pushed is replayed a second time.
#[test]
fn the_push_queue_visibility_is_the_code_s_and_below_the_replay_grace() {
    use crmsync_service::parked::{PUSH_VISIBILITY_TIMEOUT, REQUEUE_GRACE};
    let t = template();
    let push = t.resource("PushQueue").expect("PushQueue");
    let visibility = at(push, &["Properties", "VisibilityTimeout"])
        .and_then(cfn::as_u64)
        .expect("PushQueue VisibilityTimeout");
    assert_eq!(
        visibility,
        PUSH_VISIBILITY_TIMEOUT.as_secs(),
        "template.yaml and parked::PUSH_VISIBILITY_TIMEOUT disagree"
    );
    assert!(
        visibility < REQUEUE_GRACE.as_secs(),
        "PushQueue VisibilityTimeout {visibility}s is not below the replay grace {REQUEUE_GRACE:?}"
    );
}

/// Every `.rs` file under `dir`, its subfolders included, concatenated.
fn rust_sources(dir: &std::path::Path) -> String {
    let mut out = String::new();
    for entry in std::fs::read_dir(dir).expect("a source folder") {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.push_str(&rust_sources(&path));
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push_str(&std::fs::read_to_string(&path).unwrap());
        }
    }
    out
}

/// Each route's integration names its function by the fixed name `<stack>-<crate>`, and
/// that function carries exactly that name and an invoke permission for the API.
#[test]
fn every_api_route_reaches_its_function() {
    let t = template();
    let paths = t
        .resource("HttpApi")
        .and_then(|a| at(a, &["Properties", "DefinitionBody", "paths"]))
        .expect("HttpApi DefinitionBody paths");
    let routes = [
        ("/connect/{tenant}", "get", "oauth"),
        ("/oauth/callback", "get", "oauth"),
        ("/events", "post", "ingest"),
        ("/v1/{proxy+}", "x-amazon-apigateway-any-method", "report"),
        ("/ui", "get", "report"),
        ("/ui/{proxy+}", "get", "report"),
        (
            "/admin/{proxy+}",
            "x-amazon-apigateway-any-method",
            "report",
        ),
    ];
    assert_eq!(
        cfn::keys_of(paths).len(),
        routes.len(),
        "routes: {:?}",
        cfn::keys_of(paths)
    );
    // An exact route the API sends somewhere must be one the code serves.
    let http_sources = rust_sources(&repo_root().join("shared/service/src/http"));
    for (path, _, function) in &routes {
        if !path.contains("proxy+") {
            // Routes are added through `RouteTable::{get,post,put,page}`.
            assert!(
                [".get", ".post", ".put", ".page"]
                    .iter()
                    .any(|m| http_sources.contains(&format!("{m}(\"{path}\""))),
                "the API routes {path} to {function}, but no router serves it"
            );
        }
    }
    let by_crate: BTreeMap<String, String> = t
        .functions()
        .into_iter()
        .filter_map(|f| Some((f.crate_name()?.to_owned(), f.logical_id)))
        .collect();
    let permitted: Vec<String> = t
        .resources_of_type("AWS::Lambda::Permission")
        .into_iter()
        .filter(|(_, p)| {
            str_at(p, &["Properties", "Principal"]) == Some("apigateway.amazonaws.com")
        })
        .filter_map(|(_, p)| at(p, &["Properties", "FunctionName"]).and_then(ref_target))
        .collect();
    for (path, method, krate) in routes {
        let uri = at(
            paths,
            &[path, method, "x-amazon-apigateway-integration", "uri"],
        )
        .and_then(|u| untag(u).as_str())
        .unwrap_or_else(|| panic!("{method} {path}: no integration uri"));
        assert!(
            uri.ends_with(&format!(
                ":function:${{AWS::StackName}}-{krate}/invocations"
            )),
            "{method} {path} -> {uri}"
        );
        let id = &by_crate[krate];
        let name = t
            .resource(id)
            .and_then(|r| str_at(r, &["Properties", "FunctionName"]));
        assert_eq!(
            name,
            Some(format!("${{AWS::StackName}}-{krate}").as_str()),
            "{id}"
        );
        assert!(
            permitted.contains(id),
            "{id} has no API Gateway invoke permission"
        );
    }
}

// ---- IAM: each function's policy grants what its code paths touch

/// Plain secrets (outside the token vault) by the function that reads them, and the
/// template parameter naming each. A new `read_secret_string` caller must be added here.
const PLAIN_SECRETS: [(&str, &str); 2] = [
    ("read_app_credentials", "SalesforceAppSecretArn"),
    ("read_operator_key_hash", "OperatorKeySecretArn"),
];

fn read(rel: &str) -> String {
    let path = repo_root().join(rel);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()))
}

/// For each function crate: the (action, resource) pairs its reachable code needs, with
/// the service function that needs each (for the failure message).
fn needed_grants() -> BTreeMap<String, BTreeMap<(String, String), String>> {
    let items = reach::fn_items(&repo_root().join("shared/service/src")).unwrap();
    let vault = reach::adapter_ops(&read("shared/store/src/aws/vault.rs"), "TokenVault");
    let queues = reach::adapter_ops(&read("shared/store/src/aws/sqs.rs"), "Queues");
    // A transaction is authorised by the actions it holds ("Using IAM with DynamoDB
    // transactions", DynamoDB developer guide): the outbox append's Put and Update.
    let table: BTreeSet<String> =
        reach::sdk_ops_under(&repo_root().join("shared/store/src/aws/dynamo"))
            .unwrap()
            .into_iter()
            .flat_map(|op| match op.as_str() {
                "TransactWriteItems" => vec!["PutItem".to_owned(), "UpdateItem".to_owned()],
                _ => vec![op],
            })
            .collect();
    assert!(
        vault
            .get("rotate")
            .is_some_and(|ops| ops.contains("UpdateSecretVersionStage")),
        "vault adapter scan broken: {vault:?}"
    );
    assert!(
        table.contains("Query"),
        "dynamo adapter scan broken: {table:?}"
    );
    // SendMessageBatch is authorised by sqs:SendMessage.
    let send_actions: BTreeSet<String> = queues["send_batch"]
        .iter()
        .map(|op| format!("sqs:{}", op.trim_end_matches("Batch")))
        .collect();
    assert!(
        !send_actions.is_empty(),
        "sqs adapter scan broken: {queues:?}"
    );
    // App::from_clients skips the app credentials for ingest, which never calls Salesforce.
    assert!(
        read("shared/service/src/app.rs").contains("if function == \"ingest\""),
        "app.rs no longer skips the app secret for ingest: update this test"
    );

    let mut out = BTreeMap::new();
    for krate in function_crates() {
        let main = read(&format!("functions/{krate}/src/main.rs"));
        let mut needs = BTreeMap::new();
        for i in reach::reachable(&items, &main) {
            let item = &items[i];
            for call in reach::port_calls(item) {
                let mut need = |action: String, resource: &str| {
                    needs
                        .entry((action, resource.to_owned()))
                        .or_insert_with(|| item.id());
                };
                match &call {
                    PortCall::QueueSend(kind) => {
                        for a in &send_actions {
                            need(a.clone(), &format!("{kind}Queue"));
                        }
                    }
                    PortCall::Vault(method) => {
                        for op in vault.get(method).into_iter().flatten() {
                            need(format!("secretsmanager:{op}"), TOKEN_SECRETS);
                        }
                    }
                    PortCall::Table => {
                        for op in &table {
                            need(format!("dynamodb:{op}"), "StateTable");
                        }
                    }
                    PortCall::PlainSecretRead(f) => {
                        let (_, param) = PLAIN_SECRETS
                            .iter()
                            .find(|(name, _)| name == f)
                            .unwrap_or_else(|| {
                                panic!("{} reads a secret PLAIN_SECRETS does not name", item.id())
                            });
                        if !(krate == "ingest" && *f == "read_app_credentials") {
                            need("secretsmanager:GetSecretValue".into(), param);
                        }
                    }
                }
            }
        }
        out.insert(krate, needs);
    }
    out
}

#[test]
fn every_function_policy_grants_what_its_code_paths_touch() {
    let needed = needed_grants();
    // Guard against a scan that silently finds nothing.
    let poll = &needed["poll"];
    for (action, resource) in [
        ("dynamodb:Query", "StateTable"),
        ("sqs:SendMessage", "PollQueue"),
        ("secretsmanager:GetSecretValue", TOKEN_SECRETS),
        ("secretsmanager:GetSecretValue", "SalesforceAppSecretArn"),
    ] {
        assert!(
            poll.contains_key(&(action.to_owned(), resource.to_owned())),
            "the scan no longer finds poll's {action} on {resource}: {poll:#?}"
        );
    }
    // The sweep tick fans out through its own queue (issue 11).
    assert!(
        needed["sweep"].contains_key(&("sqs:SendMessage".to_owned(), "SweepQueue".to_owned())),
        "the scan no longer finds the sweep fan-out's send: {:#?}",
        needed["sweep"]
    );
    let t = template();
    let functions = t.functions();
    let mut problems = Vec::new();
    for (krate, needs) in &needed {
        let f = functions
            .iter()
            .find(|f| f.crate_name() == Some(krate.as_str()))
            .unwrap_or_else(|| panic!("no function for {krate}"));
        let granted = iam::grants(t.resource(&f.logical_id).unwrap());
        for ((action, resource), by) in needs {
            if !granted.contains(&(action.clone(), resource.clone())) {
                problems.push(checks::Problem {
                    function: f.logical_id.clone(),
                    detail: format!("{action} on {resource} is needed by {by} but not granted"),
                });
            }
        }
    }
    assert_no_problems("IAM grants missing for what the code does", &problems);
}

/// Every function that refreshes tokens logs the app-credentials alarm line; its log group
/// needs the metric filter the alarm counts.
#[test]
fn functions_that_refresh_tokens_count_the_app_credentials_alarm() {
    let items = reach::fn_items(&repo_root().join("shared/service/src")).unwrap();
    let code = crmsync_service::sf_session::APP_CREDENTIALS_ALARM;
    let t = template();
    let filtered: BTreeSet<String> = t
        .resources_of_type("AWS::Logs::MetricFilter")
        .into_iter()
        .filter(|(_, m)| {
            str_at(m, &["Properties", "FilterPattern"]).is_some_and(|p| p.contains(code))
        })
        .filter_map(|(_, m)| at(m, &["Properties", "LogGroupName"]).and_then(ref_target))
        .collect();
    let alarmed = t
        .resources_of_type("AWS::CloudWatch::Alarm")
        .into_iter()
        .any(|(_, a)| str_at(a, &["Properties", "MetricName"]) == Some("AppCredentialsRefused"));
    assert!(alarmed, "no alarm on AppCredentialsRefused");
    let mut refreshing = Vec::new();
    for krate in function_crates() {
        let reached = reach::reachable(&items, &read(&format!("functions/{krate}/src/main.rs")));
        if !reached.iter().any(|&i| items[i].name == "refresh_now") {
            continue;
        }
        refreshing.push(krate.clone());
        let f = t
            .functions()
            .into_iter()
            .find(|f| f.crate_name() == Some(krate.as_str()))
            .unwrap();
        let group = t
            .resource(&f.logical_id)
            .and_then(|r| at(r, &["Properties", "LoggingConfig", "LogGroup"]))
            .and_then(ref_target)
            .unwrap_or_else(|| panic!("{} has no log group", f.logical_id));
        assert!(
            filtered.contains(&group),
            "{group} has no metric filter for {code}"
        );
    }
    assert!(
        refreshing.contains(&"push".to_owned()),
        "scan broken: {refreshing:?}"
    );
    assert!(
        !refreshing.contains(&"ingest".to_owned()),
        "ingest never calls Salesforce"
    );
}

// ---- the checkers themselves can fail

const SMALL_TEMPLATE: &str = r#"
Globals:
  Function:
    Timeout: 30
    Environment:
      Variables:
        CRMSYNC_TABLE: !Ref StateTable
Resources:
  PollFunction:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: functions/poll
      Environment:
        Variables:
          CRMSYNC_POLL_CAP: !Ref PollCap
  PushFunction:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: functions/push/
"#;

fn reads(pairs: &[(&str, &[&str])]) -> EnvReads {
    pairs
        .iter()
        .map(|(krate, vars)| {
            let vars = vars
                .iter()
                .map(|v| {
                    (
                        v.to_string(),
                        PathBuf::from(format!("functions/{krate}/src/main.rs")),
                    )
                })
                .collect();
            (krate.to_string(), vars)
        })
        .collect()
}

#[test]
fn env_check_reports_a_variable_the_template_does_not_set() {
    let t = Template::parse(SMALL_TEMPLATE).unwrap();
    let problems = checks::missing_env(
        &t,
        &reads(&[
            ("poll", &["CRMSYNC_TABLE", "CRMSYNC_POLL_CAP"]),
            ("push", &["CRMSYNC_TABLE", "CRMSYNC_PUSH_QUEUE_URL"]),
        ]),
    );
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert_eq!(problems[0].function, "PushFunction");
    assert!(
        problems[0]
            .detail
            .starts_with("CRMSYNC_PUSH_QUEUE_URL is read in"),
        "{}",
        problems[0]
    );
}

#[test]
fn env_check_counts_globals_and_function_variables_but_not_other_functions() {
    let t = Template::parse(SMALL_TEMPLATE).unwrap();
    // CRMSYNC_POLL_CAP is set on PollFunction only: fine for poll, missing for push.
    let problems = checks::missing_env(&t, &reads(&[("poll", &["CRMSYNC_POLL_CAP"])]));
    assert!(problems.is_empty(), "{problems:?}");
    let problems = checks::missing_env(&t, &reads(&[("push", &["CRMSYNC_POLL_CAP"])]));
    assert_eq!(problems.len(), 1, "{problems:?}");
}

#[test]
fn env_check_reports_a_crate_without_a_function() {
    let t = Template::parse(SMALL_TEMPLATE).unwrap();
    let problems = checks::missing_env(&t, &reads(&[("sweep", &["CRMSYNC_TABLE"])]));
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert!(
        problems[0].detail.contains("functions/sweep"),
        "{}",
        problems[0]
    );
}

#[test]
fn sqs_check_wants_partial_batch_responses_and_a_long_enough_visibility() {
    let text = format!(
        "{SMALL_TEMPLATE}{}",
        r#"
  PushQueue:
    Type: AWS::SQS::Queue
    Properties:
      VisibilityTimeout: 120
  PushSource:
    Type: AWS::Lambda::EventSourceMapping
    Properties:
      FunctionName: !Ref PushFunction
      EventSourceArn: !GetAtt PushQueue.Arn
"#
    );
    let problems = checks::sqs_consumer_problems(&Template::parse(&text).unwrap());
    let details: Vec<_> = problems.iter().map(|p| p.detail.as_str()).collect();
    assert_eq!(problems.len(), 2, "{details:?}");
    assert!(
        details[0].contains("ReportBatchItemFailures"),
        "{details:?}"
    );
    assert!(
        details[1].contains("under 6 x function timeout"),
        "{details:?}"
    );

    let fixed = text
        .replace("VisibilityTimeout: 120", "VisibilityTimeout: 180")
        .replace(
            "EventSourceArn: !GetAtt PushQueue.Arn",
            "EventSourceArn: !GetAtt PushQueue.Arn\n      FunctionResponseTypes: [ReportBatchItemFailures]",
        );
    let problems = checks::sqs_consumer_problems(&Template::parse(&fixed).unwrap());
    assert!(problems.is_empty(), "{problems:?}");
}

#[test]
fn dead_letter_check_wants_an_alarm_per_dead_letter_queue() {
    let text = format!(
        "{SMALL_TEMPLATE}{}",
        r#"
  Work:
    Type: AWS::SQS::Queue
    Properties:
      RedrivePolicy:
        deadLetterTargetArn: !GetAtt WorkDlq.Arn
        maxReceiveCount: 5
  WorkDlq:
    Type: AWS::SQS::Queue
"#
    );
    let problems = checks::dead_letter_problems(&Template::parse(&text).unwrap());
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert!(
        problems[0].detail.contains("WorkDlq has no depth alarm"),
        "{}",
        problems[0]
    );

    let alarmed = format!(
        "{text}{}",
        r#"
  WorkDlqAlarm:
    Type: AWS::CloudWatch::Alarm
    Properties:
      MetricName: ApproximateNumberOfMessagesVisible
      ComparisonOperator: GreaterThanThreshold
      Threshold: 0
      Dimensions:
        - Name: QueueName
          Value: !GetAtt WorkDlq.QueueName
"#
    );
    let problems = checks::dead_letter_problems(&Template::parse(&alarmed).unwrap());
    assert!(problems.is_empty(), "{problems:?}");
}

#[test]
fn scanner_finds_quoted_names_outside_test_modules() {
    let src = r#"
pub const TABLE: &str = "CRMSYNC_TABLE";
// CRMSYNC_IN_A_COMMENT is not a string literal
let url = std::env::var("CRMSYNC_PUSH_QUEUE_URL");
#[cfg(test)]
mod tests { const X: &str = "CRMSYNC_ONLY_IN_TESTS"; }
"#;
    assert_eq!(
        sources::env_literals_in(src),
        ["CRMSYNC_TABLE", "CRMSYNC_PUSH_QUEUE_URL"]
    );
}

#[test]
fn manifest_readers_find_dependencies_and_the_package_name() {
    let m = "[package]\nname = \"poll\"\n\n[dependencies]\ncrmsync-service.workspace = true\n\
             tokio = \"1\"\n\n[dev-dependencies]\ncrmsync-store = \"1\"\n";
    assert!(sources::depends_on(m, "crmsync-service"));
    assert!(sources::depends_on(m, "tokio"));
    assert!(
        !sources::depends_on(m, "crmsync-store"),
        "dev-dependencies do not ship"
    );
    assert!(!sources::depends_on(m, "crmsync"), "prefix of another name");
    assert!(sources::depends_on(
        "[dependencies.crmsync-service]\nworkspace = true\n",
        "crmsync-service"
    ));
    assert_eq!(sources::package_name(m).as_deref(), Some("poll"));
}

#[test]
fn refs_resolve_in_short_and_long_form() {
    let v: Value = serde_yaml_ng::from_str(
        "a: !Ref X\nb: !GetAtt Y.Arn\nc: {Ref: Z}\nd: {'Fn::GetAtt': [W, Arn]}\ne: !Sub x\n",
    )
    .unwrap();
    let got: Vec<_> = ["a", "b", "c", "d", "e"]
        .iter()
        .map(|k| at(&v, &[k]).and_then(ref_target))
        .collect();
    let want = [Some("X"), Some("Y"), Some("Z"), Some("W"), None];
    assert_eq!(got, want.map(|w| w.map(str::to_owned)));
    assert_eq!(str_at(&v, &["e"]), Some("x"), "str_at looks through !Sub");
}

#[test]
fn iam_grants_read_sam_policy_templates_statements_and_conditions() {
    let text = r#"
Resources:
  PollFunction:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: functions/poll
      Policies:
        - SQSSendMessagePolicy:
            QueueName: !GetAtt PollQueue.QueueName
        - !If
          - HasKey
          - AWSSecretsManagerGetSecretValuePolicy:
              SecretArn: !Ref OperatorKeySecretArn
          - !Ref AWS::NoValue
        - Statement:
            - Effect: Allow
              Action: [secretsmanager:PutSecretValue]
              Resource: !Sub arn:${AWS::Partition}:secretsmanager:${AWS::Region}:${AWS::AccountId}:secret:crmsync/${AWS::StackName}/*
"#;
    let t = Template::parse(text).unwrap();
    let g = iam::grants(t.resource("PollFunction").unwrap());
    let has = |a: &str, r: &str| g.contains(&(a.to_owned(), r.to_owned()));
    assert!(has("sqs:SendMessage", "PollQueue"), "{g:?}");
    assert!(!has("sqs:SendMessage", "PushQueue"), "{g:?}");
    assert!(
        has("secretsmanager:GetSecretValue", "OperatorKeySecretArn"),
        "{g:?}"
    );
    assert!(has("secretsmanager:PutSecretValue", TOKEN_SECRETS), "{g:?}");
    assert!(!has("secretsmanager:CreateSecret", TOKEN_SECRETS), "{g:?}");
}

/// A redelivered push whose write intent is younger than the push function's timeout may
/// race a still-running attempt, so it is retried later; that needs the code's timeout to
/// be the template's and below the queue's visibility timeout (a plain redelivery comes
/// after the first attempt ended).
#[test]
fn the_push_function_timeout_is_the_code_s_and_below_the_visibility() {
    use crmsync_service::parked::{PUSH_FUNCTION_TIMEOUT, PUSH_VISIBILITY_TIMEOUT};
    let t = template();
    let function = t.resource("PushFunction").expect("PushFunction");
    let timeout = at(function, &["Properties", "Timeout"])
        .and_then(cfn::as_u64)
        .expect("PushFunction Timeout");
    assert_eq!(
        timeout,
        PUSH_FUNCTION_TIMEOUT.as_secs(),
        "template.yaml and parked::PUSH_FUNCTION_TIMEOUT disagree"
    );
    assert!(timeout < PUSH_VISIBILITY_TIMEOUT.as_secs());
}
