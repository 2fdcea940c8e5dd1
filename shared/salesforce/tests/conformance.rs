//! Conformance corpus: real Salesforce response shapes in `tests/fixtures/` (each naming its
//! source), checked two ways.
//!
//! 1. Client: every fixture is served from a tiny HTTP server on 127.0.0.1 to the real
//!    `SfClient` / `OAuthClient`, one test per fixture, asserting on the parsed values.
//! 2. Emulator: for the requests the emulator serves, its answer must have the fixture's
//!    shape: same status class, every key the real answer has (recursively), the same JSON
//!    value types, the same error codes, and `Sforce-Limit-Info` in the documented grammar.
//!    Keys only the emulator has are printed, not failed.

mod common;

use std::collections::{BTreeSet, VecDeque};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use common::{Harness, ORG, USER, bounded, fast_retry, fields};
use crmsync_salesforce::{
    AccessToken, ClientConfig, CompositeSubrequest, Method, OAuthClient, OAuthConfig, QueryScope,
    RefreshToken, SObjectRecord, SfClient, SfError, StaticTokenProvider, TokenProvider,
};
use futures::TryStreamExt;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use url::Url;

// ---------------------------------------------------------------------------------------
// Fixtures

#[derive(Clone, Debug)]
struct Fixture {
    name: String,
    source: String,
    method: String,
    status: u16,
    headers: Vec<(String, String)>,
    body: Value,
}

fn fixtures_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

impl Fixture {
    fn load(rel: &str) -> Fixture {
        let path = fixtures_dir().join(rel);
        let text = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("fixture {}: {e}", path.display()));
        let v: Value = serde_json::from_str(&text)
            .unwrap_or_else(|e| panic!("fixture {} is not JSON: {e}", path.display()));
        let headers = v["headers"]
            .as_object()
            .map(|m| {
                m.iter()
                    .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string()))
                    .collect()
            })
            .unwrap_or_default();
        Fixture {
            name: rel.to_string(),
            source: v["source"].as_str().unwrap_or_default().to_string(),
            method: v["request"]["method"]
                .as_str()
                .unwrap_or_default()
                .to_string(),
            status: v["status"].as_u64().expect("fixture status") as u16,
            headers,
            body: v["body"].clone(),
        }
    }

    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    fn body_bytes(&self) -> Vec<u8> {
        match &self.body {
            Value::Null => Vec::new(),
            Value::String(s) => s.as_bytes().to_vec(),
            other => serde_json::to_vec(other).expect("serialize body"),
        }
    }
}

/// Every fixture file, relative to `tests/fixtures`; a new file must be listed (and tested).
const ALL_FIXTURES: &[&str] = &[
    "changes/doc_get_deleted_empty.json",
    "changes/doc_get_deleted_invalid_replication_date.json",
    "changes/doc_get_updated.json",
    "changes/restforce_get_deleted.json",
    "changes/restforce_get_updated.json",
    "collections/doc_create_all_or_none_rolled_back.json",
    "collections/doc_create_partial_success.json",
    "collections/doc_delete_partial.json",
    "collections/doc_update_duplicates_detected.json",
    "collections/doc_update_success.json",
    "collections/doc_upsert_created_and_updated.json",
    "composite/doc_composite_all_or_none_halted.json",
    "composite/doc_composite_subrequest_error.json",
    "composite/doc_composite_success.json",
    "describe/doc_describe_external_id_field.json",
    "describe/restforce_describe_global.json",
    "describe/restforce_describe_not_found.json",
    "describe/restforce_sobject_describe.json",
    "errors/airbyte_request_limit_exceeded_400.json",
    "errors/doc_entity_is_deleted_404.json",
    "errors/doc_field_integrity_exception_400.json",
    "errors/doc_maintenance_503_html.json",
    "errors/doc_malformed_query_400.json",
    "errors/doc_request_limit_exceeded_403.json",
    "errors/doc_server_unavailable_503.json",
    "errors/doc_unknown_exception_500.json",
    "errors/restforce_delete_not_found_404.json",
    "errors/restforce_expired_session_401.json",
    "errors/restforce_invalid_field_400.json",
    "errors/restforce_malformed_search_400.json",
    "errors/restforce_query_invalid_field_400.json",
    "limits/doc_limits_per_app_breakdown.json",
    "limits/simple_salesforce_org_limits.json",
    "oauth/doc_identity.json",
    "oauth/doc_identity_bad_oauth_token.json",
    "oauth/doc_invalid_client.json",
    "oauth/doc_refresh_token_flow.json",
    "oauth/doc_unsupported_grant_type.json",
    "oauth/doc_web_server_flow_token.json",
    "oauth/restforce_auth_error_invalid_grant.json",
    "oauth/restforce_auth_success.json",
    "oauth/restforce_refresh_error_invalid_grant.json",
    "oauth/restforce_refresh_success.json",
    "oauth/simple_salesforce_invalid_client_id.json",
    "oauth/simple_salesforce_token_login.json",
    "query/doc_query_all_deleted.json",
    "query/doc_query_api_bursts_header.json",
    "query/doc_query_first_of_many_pages.json",
    "query/doc_query_per_app_limit_header.json",
    "query/restforce_aggregate.json",
    "query/restforce_empty.json",
    "query/restforce_organization.json",
    "query/restforce_paginated_first_page.json",
    "query/restforce_paginated_last_page.json",
    "query/restforce_query_relationships.json",
    "sobjects/doc_create_account.json",
    "sobjects/doc_get_record_with_limit_header.json",
    "sobjects/doc_update_no_content.json",
    "sobjects/doc_upsert_created.json",
    "sobjects/doc_upsert_updated.json",
    "sobjects/restforce_create_success.json",
    "sobjects/restforce_find_record.json",
    "sobjects/restforce_upsert_created.json",
    "sobjects/restforce_upsert_field_not_found.json",
    "sobjects/restforce_upsert_multiple_matches.json",
    "sobjects/restforce_upsert_updated_no_content.json",
];

fn files_under(dir: &Path, out: &mut Vec<String>) {
    for entry in std::fs::read_dir(dir).expect("read fixtures dir") {
        let path = entry.expect("dir entry").path();
        if path.is_dir() {
            files_under(&path, out);
        } else if path.extension().is_some_and(|e| e == "json") {
            let rel = path.strip_prefix(fixtures_dir()).expect("under fixtures");
            out.push(rel.to_string_lossy().replace('\\', "/"));
        }
    }
}

/// `api-usage=N/M`, `api-bursts=N/M`, `per-app-api-usage=N/M(appName=…)`, joined by `;`.
fn limit_info_is_documented_form(value: &str) -> bool {
    fn ratio(s: &str) -> bool {
        s.split_once('/').is_some_and(|(a, b)| {
            !a.is_empty()
                && !b.is_empty()
                && a.chars().all(|c| c.is_ascii_digit())
                && b.chars().all(|c| c.is_ascii_digit())
        })
    }
    let entries: Vec<&str> = value.split(';').map(str::trim).collect();
    entries.iter().any(|e| e.starts_with("api-usage="))
        && entries.iter().all(|entry| {
            let Some((key, rest)) = entry.split_once('=') else {
                return false;
            };
            match key {
                "api-usage" | "api-bursts" => ratio(rest),
                "per-app-api-usage" => rest
                    .split_once("(appName=")
                    .is_some_and(|(r, app)| ratio(r) && app.len() > 1 && app.ends_with(')')),
                _ => false,
            }
        })
}

#[test]
fn corpus_has_at_least_40_fixtures_each_naming_its_source() {
    let mut on_disk = Vec::new();
    files_under(&fixtures_dir(), &mut on_disk);
    on_disk.sort();
    let listed: Vec<String> = ALL_FIXTURES.iter().map(|s| s.to_string()).collect();
    assert_eq!(
        on_disk, listed,
        "every fixture file is listed in ALL_FIXTURES (and has its test)"
    );
    assert!(on_disk.len() >= 40, "only {} fixtures", on_disk.len());
    for rel in &on_disk {
        let f = Fixture::load(rel);
        let github = f.source.starts_with("github:")
            && f.source.split('@').nth(1).is_some_and(|rest| {
                let commit: String = rest.chars().take_while(|c| *c != ':').collect();
                commit.len() == 40 && commit.chars().all(|c| c.is_ascii_hexdigit())
            })
            && f.source.contains(':');
        let doc = f.source.starts_with("https://");
        assert!(
            github || doc,
            "{}: source {:?} is neither repo@commit:path nor a URL",
            f.name,
            f.source
        );
        assert!(
            ["GET", "POST", "PATCH", "DELETE"].contains(&f.method.as_str()),
            "{rel}: request method"
        );
        assert!((200..600).contains(&f.status), "{rel}: status");
    }
}

#[test]
fn corpus_limit_info_headers_use_the_documented_forms() {
    let mut seen = BTreeSet::new();
    for rel in ALL_FIXTURES {
        let f = Fixture::load(rel);
        if let Some(v) = f.header("Sforce-Limit-Info") {
            assert!(limit_info_is_documented_form(v), "{rel}: {v}");
            seen.insert(v.to_string());
        }
    }
    for form in [
        "api-usage=18/5000",
        "api-usage=10018/100000; api-bursts=1/750",
        "api-usage=25/5000; per-app-api-usage=17/250(appName=sample-connected-app)",
    ] {
        assert!(seen.contains(form), "corpus lacks the form {form}");
    }
    assert!(!limit_info_is_documented_form(
        "api-usage=25/5000, api-bursts=1/750"
    ));
    assert!(!limit_info_is_documented_form("garbage"));
}

// ---------------------------------------------------------------------------------------
// A mock Salesforce that answers with fixtures, in order (the last one repeats).

struct MockServer {
    base: Url,
    seen: Arc<Mutex<Vec<String>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for MockServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl MockServer {
    async fn serve(files: &[&str]) -> MockServer {
        let queue: VecDeque<Fixture> = files.iter().map(|f| Fixture::load(f)).collect();
        let queue = Arc::new(Mutex::new(queue));
        let seen = Arc::new(Mutex::new(Vec::new()));
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind mock");
        let addr = listener.local_addr().expect("mock addr");
        let task = tokio::spawn({
            let seen = seen.clone();
            async move {
                while let Ok((mut sock, _)) = listener.accept().await {
                    let (seen, queue) = (seen.clone(), queue.clone());
                    tokio::spawn(async move {
                        let _ = answer(&mut sock, &seen, &queue).await;
                    });
                }
            }
        });
        MockServer {
            base: Url::parse(&format!("http://{addr}/")).expect("mock url"),
            seen,
            task,
        }
    }

    /// `METHOD /path?query` of every request received.
    fn requests(&self) -> Vec<String> {
        self.seen.lock().unwrap().clone()
    }

    fn client(&self) -> SfClient {
        self.client_with(fast_retry(1), Arc::new(StaticTokenProvider::new(token())))
    }

    fn client_with(
        &self,
        retry: crmsync_salesforce::RetryPolicy,
        tokens: Arc<dyn TokenProvider>,
    ) -> SfClient {
        SfClient::new(
            reqwest::Client::new(),
            ClientConfig::new(self.base.clone()).with_retry(retry),
            tokens,
        )
        .expect("client")
    }
}

fn token() -> AccessToken {
    AccessToken::new("00Dx0000000BV7z!fixture")
}

async fn answer(
    sock: &mut TcpStream,
    seen: &Mutex<Vec<String>>,
    queue: &Mutex<VecDeque<Fixture>>,
) -> std::io::Result<()> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        let n = sock.read(&mut chunk).await?;
        if n == 0 {
            return Ok(());
        }
        buf.extend_from_slice(&chunk[..n]);
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).to_string();
    let length = head
        .lines()
        .filter_map(|l| l.split_once(':'))
        .find(|(k, _)| k.trim().eq_ignore_ascii_case("content-length"))
        .and_then(|(_, v)| v.trim().parse::<usize>().ok())
        .unwrap_or(0);
    while buf.len() < head_end + length {
        let n = sock.read(&mut chunk).await?;
        if n == 0 {
            break;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    let mut line = head.lines().next().unwrap_or_default().split(' ');
    let method = line.next().unwrap_or_default();
    let target = line.next().unwrap_or_default();
    seen.lock().unwrap().push(format!("{method} {target}"));
    let fixture = {
        let mut q = queue.lock().unwrap();
        if q.len() > 1 {
            q.pop_front()
        } else {
            q.front().cloned()
        }
    };
    let Some(f) = fixture else {
        sock.write_all(
            b"HTTP/1.1 599 No Fixture\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
        )
        .await?;
        return Ok(());
    };
    let body = f.body_bytes();
    let mut out = format!(
        "HTTP/1.1 {} Fixture\r\nContent-Length: {}\r\nConnection: close\r\n",
        f.status,
        body.len()
    );
    for (k, v) in &f.headers {
        out.push_str(&format!("{k}: {v}\r\n"));
    }
    out.push_str("\r\n");
    sock.write_all(out.as_bytes()).await?;
    sock.write_all(&body).await?;
    sock.shutdown().await
}

fn at(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s)
        .expect("test timestamp")
        .with_timezone(&Utc)
}

fn oauth_client() -> OAuthClient {
    OAuthClient::new(
        OAuthConfig::new(
            "3MVG9fixture",
            Some("fixture-secret".into()),
            Url::parse("http://127.0.0.1:9/oauth/callback").unwrap(),
        ),
        reqwest::Client::new(),
    )
}

async fn query_error(file: &str) -> SfError {
    let mock = MockServer::serve(&[file]).await;
    mock.client()
        .query_first_page("SELECT Id FROM Account", QueryScope::Live)
        .await
        .expect_err("the fixture is an error")
}

// ---------------------------------------------------------------------------------------
// Client: OAuth

#[tokio::test]
async fn client_parses_restforce_token_without_expires_in_or_token_type() {
    bounded(async {
        let mock = MockServer::serve(&["oauth/restforce_auth_success.json"]).await;
        let set = oauth_client()
            .refresh(&mock.base, &RefreshToken::new("r"))
            .await
            .expect("a token answer without token_type/expires_in parses");
        assert_eq!(set.instance_url.as_str(), "https://na1.salesforce.com/");
        assert_eq!(
            set.identity_url.path(),
            "/id/00Dx0000000BV7z/005x00000012Q9P"
        );
        assert_eq!(
            set.issued_at.map(|t| t.timestamp_millis()),
            Some(1278448832702)
        );
        assert!(set.refresh_token.is_none());
        assert!(set.access_token.secret().starts_with("00Dx0000000BV7z!"));
    })
    .await;
}

#[tokio::test]
async fn client_parses_restforce_refresh_without_refresh_token() {
    bounded(async {
        let mock = MockServer::serve(&["oauth/restforce_refresh_success.json"]).await;
        let set = oauth_client()
            .refresh(&mock.base, &RefreshToken::new("r"))
            .await
            .expect("refresh parses");
        assert_eq!(set.access_token.secret(), "refreshed_access_token");
        assert!(set.refresh_token.is_none(), "no rotation");
        assert_eq!(
            set.issued_at.map(|t| t.timestamp_millis()),
            Some(1309974610026)
        );
        let seen = mock.requests();
        assert_eq!(seen, vec!["POST /services/oauth2/token".to_string()]);
    })
    .await;
}

#[tokio::test]
async fn client_maps_restforce_auth_error_to_reconnect_needed() {
    bounded(async {
        let mock = MockServer::serve(&["oauth/restforce_auth_error_invalid_grant.json"]).await;
        let err = oauth_client()
            .refresh(&mock.base, &RefreshToken::new("r"))
            .await
            .expect_err("invalid_grant");
        assert!(err.is_reconnect_needed(), "{err:?}");
        assert_eq!(err.code(), Some("invalid_grant"));
        assert!(!err.is_retryable());
    })
    .await;
}

#[tokio::test]
async fn client_maps_restforce_expired_refresh_token_to_reconnect_needed() {
    bounded(async {
        let mock = MockServer::serve(&["oauth/restforce_refresh_error_invalid_grant.json"]).await;
        let err = oauth_client()
            .refresh(&mock.base, &RefreshToken::new("r"))
            .await
            .expect_err("invalid_grant");
        assert!(err.is_reconnect_needed(), "{err:?}");
        assert!(err.to_string().contains("expired access/refresh token"));
    })
    .await;
}

#[tokio::test]
async fn client_parses_doc_web_server_flow_token_with_refresh_token() {
    bounded(async {
        let mock = MockServer::serve(&["oauth/doc_web_server_flow_token.json"]).await;
        let set = oauth_client()
            .exchange_code(
                &mock.base,
                "aPrxsmIEeqM9",
                &crmsync_salesforce::PkceVerifier::new("v".repeat(43)),
            )
            .await
            .expect("code exchange parses");
        assert!(set.refresh_token.is_some());
        assert_eq!(
            set.issued_at.map(|t| t.timestamp_millis()),
            Some(1513887500425)
        );
        assert_eq!(set.scopes, vec!["web", "openid", "api", "id"]);
        assert_eq!(
            set.instance_url.host_str(),
            Some("yourinstance.salesforce.com")
        );
    })
    .await;
}

#[tokio::test]
async fn client_parses_doc_refresh_token_flow_without_rotation() {
    bounded(async {
        let mock = MockServer::serve(&["oauth/doc_refresh_token_flow.json"]).await;
        let set = oauth_client()
            .refresh(&mock.base, &RefreshToken::new("r"))
            .await
            .expect("refresh parses");
        assert!(set.refresh_token.is_none());
        assert_eq!(
            set.identity_url.as_str(),
            "https://login.salesforce.com/id/00DB0000000TfcRMAS/005B0000005Bk90IAC"
        );
    })
    .await;
}

#[tokio::test]
async fn client_parses_simple_salesforce_token_without_issued_at() {
    bounded(async {
        let mock = MockServer::serve(&["oauth/simple_salesforce_token_login.json"]).await;
        let set = oauth_client()
            .refresh(&mock.base, &RefreshToken::new("r"))
            .await
            .expect("parses without issued_at/signature");
        assert_eq!(set.issued_at, None);
        assert_eq!(set.access_token.secret(), "12345");
        assert_eq!(set.scopes, vec!["web", "api"]);
    })
    .await;
}

#[tokio::test]
async fn client_maps_doc_invalid_client_to_an_app_credentials_problem() {
    bounded(async {
        let mock = MockServer::serve(&["oauth/doc_invalid_client.json"]).await;
        let err = oauth_client()
            .refresh(&mock.base, &RefreshToken::new("r"))
            .await
            .expect_err("invalid_client");
        assert_eq!(err.code(), Some("invalid_client"));
        // The app's own credentials (e.g. a rotating client secret), not the org's consent:
        // retry, raise an alarm, keep the connection.
        assert!(!err.is_reconnect_needed() && err.is_retryable(), "{err:?}");
    })
    .await;
}

#[tokio::test]
async fn client_maps_simple_salesforce_invalid_client_id_to_an_app_credentials_problem() {
    bounded(async {
        let mock = MockServer::serve(&["oauth/simple_salesforce_invalid_client_id.json"]).await;
        let err = oauth_client()
            .refresh(&mock.base, &RefreshToken::new("r"))
            .await
            .expect_err("invalid_client_id");
        assert_eq!(err.code(), Some("invalid_client_id"));
        assert!(!err.is_reconnect_needed() && err.is_retryable(), "{err:?}");
    })
    .await;
}

#[tokio::test]
async fn client_maps_doc_unsupported_grant_type_to_permanent() {
    bounded(async {
        let mock = MockServer::serve(&["oauth/doc_unsupported_grant_type.json"]).await;
        let err = oauth_client()
            .refresh(&mock.base, &RefreshToken::new("r"))
            .await
            .expect_err("unsupported_grant_type");
        assert!(
            matches!(&err, SfError::Permanent { status: 400, code, .. } if code == "unsupported_grant_type"),
            "{err:?}"
        );
        assert!(!err.is_retryable() && !err.is_auth());
    })
    .await;
}

#[tokio::test]
async fn client_parses_doc_identity() {
    bounded(async {
        let mock = MockServer::serve(&["oauth/doc_identity.json"]).await;
        let url = mock
            .base
            .join("id/00Dx0000000BV7z/005x00000012Q9P")
            .unwrap();
        let id = oauth_client()
            .identity(&url, &token())
            .await
            .expect("identity");
        assert_eq!(id.user_id, "005x00000012Q9P");
        assert_eq!(id.organization_id, "00Dx0000000BV7z");
        assert_eq!(id.username, "admin@mycompany.com");
        assert_eq!(id.display_name.as_deref(), Some("Alan Van"));
        assert_eq!(id.user_type.as_deref(), Some("STANDARD"));
    })
    .await;
}

#[tokio::test]
async fn client_maps_doc_identity_bad_oauth_token_to_auth() {
    bounded(async {
        let mock = MockServer::serve(&["oauth/doc_identity_bad_oauth_token.json"]).await;
        let url = mock
            .base
            .join("id/00Dx0000000BV7z/005x00000012Q9P")
            .unwrap();
        let err = oauth_client()
            .identity(&url, &token())
            .await
            .expect_err("403");
        assert!(err.is_auth(), "{err:?}");
        assert!(err.to_string().contains("Bad_OAuth_Token"));
    })
    .await;
}

// ---------------------------------------------------------------------------------------
// Client: query

#[tokio::test]
async fn client_parses_restforce_query_with_nested_relationships() {
    bounded(async {
        let mock = MockServer::serve(&["query/restforce_query_relationships.json"]).await;
        let page = mock
            .client()
            .query_first_page("SELECT Id FROM Whizbang", QueryScope::Live)
            .await
            .expect("query");
        assert_eq!(
            (page.total_size, page.done, page.records.len()),
            (1, true, 1)
        );
        let rec = &page.records[0];
        assert_eq!(rec.sobject_type(), Some("Whizbang"));
        assert_eq!(
            rec.get_str("ParentWhizbang__r.Name"),
            Some("Parent Whizbang")
        );
        assert_eq!(
            rec.get("ParentWhizbang__r.attributes.type"),
            Some(&json!("Whizbang"))
        );
        assert_eq!(rec.get("Whizbangs__r.totalSize"), Some(&json!(1)));
        assert!(rec.get_datetime("DateTime_Label").is_some());
    })
    .await;
}

#[tokio::test]
async fn client_follows_restforce_next_records_url_to_the_last_page() {
    bounded(async {
        let mock = MockServer::serve(&[
            "query/restforce_paginated_first_page.json",
            "query/restforce_paginated_last_page.json",
        ])
        .await;
        let pages: Vec<_> = mock
            .client()
            .query("SELECT Text_Label FROM Whizbang")
            .try_collect()
            .await
            .expect("two pages");
        assert_eq!(pages.len(), 2);
        assert_eq!(
            pages[0].next_records_url.as_deref(),
            Some("/services/data/v26.0/query/01gD")
        );
        assert_eq!(pages[1].records[0].get_str("Text_Label"), Some("Last Page"));
        let seen = mock.requests();
        assert_eq!(seen.len(), 2);
        assert_eq!(seen[1], "GET /services/data/v26.0/query/01gD");
    })
    .await;
}

#[tokio::test]
async fn client_parses_restforce_last_page_without_next_records_url() {
    bounded(async {
        let mock = MockServer::serve(&["query/restforce_paginated_last_page.json"]).await;
        let pages: Vec<_> = mock
            .client()
            .query("SELECT Text_Label FROM Whizbang")
            .try_collect()
            .await
            .expect("one page");
        assert_eq!(pages.len(), 1);
        assert!(pages[0].done && pages[0].next_records_url.is_none());
        assert_eq!(pages[0].total_size, 2);
    })
    .await;
}

#[tokio::test]
async fn client_parses_restforce_aggregate_results() {
    bounded(async {
        let mock = MockServer::serve(&["query/restforce_aggregate.json"]).await;
        let page = mock
            .client()
            .query_first_page(
                "SELECT CampaignId, SUM(Amount) FROM Opportunity GROUP BY CampaignId",
                QueryScope::Live,
            )
            .await
            .expect("aggregate");
        assert_eq!(page.records.len(), 3);
        assert!(
            page.records
                .iter()
                .all(|r| r.sobject_type() == Some("AggregateResult"))
        );
        assert!(page.records[0].attributes.as_ref().unwrap().url.is_none());
        assert_eq!(
            page.records[0].get("expr0").and_then(Value::as_f64),
            Some(300.0)
        );
        assert_eq!(page.records[2].get("CampaignId"), Some(&Value::Null));
        assert_eq!(
            page.records[2].get("expr0").and_then(Value::as_f64),
            Some(400.0)
        );
    })
    .await;
}

#[tokio::test]
async fn client_parses_restforce_empty_query() {
    bounded(async {
        let mock = MockServer::serve(&["query/restforce_empty.json"]).await;
        let pages: Vec<_> = mock
            .client()
            .query("SELECT Id FROM Account WHERE Name = 'none'")
            .try_collect()
            .await
            .expect("empty");
        assert_eq!(pages.len(), 1);
        assert_eq!((pages[0].total_size, pages[0].records.len()), (0, 0));
    })
    .await;
}

#[tokio::test]
async fn client_parses_restforce_organization_query() {
    bounded(async {
        let mock = MockServer::serve(&["query/restforce_organization.json"]).await;
        let page = mock
            .client()
            .query_first_page("SELECT Id FROM Organization", QueryScope::Live)
            .await
            .expect("org");
        assert_eq!(page.records[0].id(), Some("00Dx0000000BV7z"));
        assert_eq!(page.records[0].sobject_type(), Some("Organization"));
    })
    .await;
}

#[tokio::test]
async fn client_parses_doc_first_of_many_pages() {
    bounded(async {
        let mock = MockServer::serve(&["query/doc_query_first_of_many_pages.json"]).await;
        let page = mock
            .client()
            .query_first_page("SELECT Name FROM Contact", QueryScope::Live)
            .await
            .expect("page");
        assert_eq!(page.total_size, 3222);
        assert!(!page.done);
        assert_eq!(
            page.next_records_url.as_deref(),
            Some("/services/data/v62.0/query/01gD0000002HU6KIAW-2000")
        );
        assert_eq!(page.records.len(), 2);
    })
    .await;
}

#[tokio::test]
async fn client_parses_doc_query_all_with_deleted_records() {
    bounded(async {
        let mock = MockServer::serve(&["query/doc_query_all_deleted.json"]).await;
        let client = mock.client();
        let page = client
            .query_first_page(
                "SELECT Name, IsDeleted FROM Merchandise__c",
                QueryScope::IncludeDeleted,
            )
            .await
            .expect("queryAll");
        assert_eq!(page.records[0].get("IsDeleted"), Some(&json!(true)));
        assert!(mock.requests()[0].starts_with("GET /services/data/v62.0/queryAll?q="));
    })
    .await;
}

/// Fails until `ApiUsage::parse_header` splits on `;` (pending fix on main).
#[tokio::test]
async fn client_reads_per_app_limit_info_header_form() {
    bounded(async {
        let mock = MockServer::serve(&["query/doc_query_per_app_limit_header.json"]).await;
        let client = mock.client();
        let page = client
            .query_first_page("SELECT Id FROM Account", QueryScope::Live)
            .await
            .expect("query");
        assert_eq!(page.records.len(), 1);
        let usage = client
            .last_api_usage()
            .expect("api-usage read from the per-app form");
        assert_eq!((usage.used, usage.max), (25, 5000));
    })
    .await;
}

/// Fails until `ApiUsage::parse_header` splits on `;` (pending fix on main).
#[tokio::test]
async fn client_reads_api_bursts_limit_info_header_form() {
    bounded(async {
        let mock = MockServer::serve(&["query/doc_query_api_bursts_header.json"]).await;
        let client = mock.client();
        let page = client
            .query_first_page("SELECT Id FROM Account", QueryScope::Live)
            .await
            .expect("query");
        assert!(page.records.is_empty());
        let usage = client
            .last_api_usage()
            .expect("api-usage read beside api-bursts");
        assert_eq!((usage.used, usage.max), (10018, 100000));
    })
    .await;
}

// ---------------------------------------------------------------------------------------
// Client: describe

#[tokio::test]
async fn client_parses_restforce_sobject_describe() {
    bounded(async {
        let mock = MockServer::serve(&["describe/restforce_sobject_describe.json"]).await;
        let d = mock.client().describe("Whizbang").await.expect("describe");
        assert_eq!(d.name, "Whizbang");
        assert_eq!(d.fields.len(), 6);
        let id = d.field("Id").expect("Id");
        assert!(id.id_lookup && !id.external_id && id.field_type == "id");
        let owner = d.field("OwnerId").expect("OwnerId");
        assert_eq!(owner.reference_to, vec!["Group", "User"]);
        assert_eq!(owner.relationship_name.as_deref(), Some("Owner"));
        let pick = d.field("Picklist_Field").expect("picklist");
        assert_eq!(pick.field_type, "picklist");
        assert_eq!(pick.picklist_values.len(), 3);
        assert!(pick.picklist_values.iter().all(|v| !v.value.is_empty()));
        let parent = d.field("ParentWhizbang__c").expect("custom reference");
        assert_eq!(parent.reference_to, vec!["Whizbang"]);
        assert!(d.field("Name").expect("Name").id_lookup);
    })
    .await;
}

#[tokio::test]
async fn client_parses_restforce_describe_global() {
    bounded(async {
        let mock = MockServer::serve(&["describe/restforce_describe_global.json"]).await;
        let g = mock.client().describe_global().await.expect("global");
        assert_eq!(g.max_batch_size, Some(200));
        assert_eq!(g.sobjects.len(), 1);
        let account = &g.sobjects[0];
        assert_eq!(
            (account.name.as_str(), account.key_prefix.as_deref()),
            ("Account", Some("001"))
        );
        assert!(account.queryable && account.createable && !account.custom);
    })
    .await;
}

#[tokio::test]
async fn client_maps_restforce_describe_not_found() {
    bounded(async {
        let mock = MockServer::serve(&["describe/restforce_describe_not_found.json"]).await;
        let err = mock.client().describe("Whizbang").await.expect_err("404");
        assert!(err.is_not_found(), "{err:?}");
        assert_eq!(err.code(), Some("NOT_FOUND"));
        assert!(!err.is_retryable());
    })
    .await;
}

#[tokio::test]
async fn client_parses_doc_describe_external_id_field() {
    bounded(async {
        let mock = MockServer::serve(&["describe/doc_describe_external_id_field.json"]).await;
        let d = mock.client().describe("Account").await.expect("describe");
        let ext = d.field("external_key__c").expect("case-insensitive lookup");
        assert!(ext.external_id && ext.id_lookup && ext.unique && ext.custom);
        let t = d.field("Type").expect("Type");
        let values: Vec<&str> = t.picklist_values.iter().map(|v| v.value.as_str()).collect();
        assert_eq!(values, vec!["Prospect", "Customer - Direct"]);
    })
    .await;
}

// ---------------------------------------------------------------------------------------
// Client: single records

const ACCOUNT_ID: &str = "001D000000INjVeIAL";

#[tokio::test]
async fn client_parses_restforce_create_success() {
    bounded(async {
        let mock = MockServer::serve(&["sobjects/restforce_create_success.json"]).await;
        let id = mock
            .client()
            .create("Account", &fields(json!({"Name": "Acme"})))
            .await
            .expect("create");
        assert_eq!(id, "some_id");
        assert_eq!(
            mock.requests(),
            vec!["POST /services/data/v62.0/sobjects/Account"]
        );
    })
    .await;
}

#[tokio::test]
async fn client_parses_doc_create_account() {
    bounded(async {
        let mock = MockServer::serve(&["sobjects/doc_create_account.json"]).await;
        let id = mock
            .client()
            .create("Account", &fields(json!({"Name": "Acme"})))
            .await
            .expect("create");
        assert_eq!(id, "001D000000IqhSLIAZ");
    })
    .await;
}

#[tokio::test]
async fn client_accepts_doc_update_no_content() {
    bounded(async {
        let mock = MockServer::serve(&["sobjects/doc_update_no_content.json"]).await;
        mock.client()
            .update(
                "Account",
                ACCOUNT_ID,
                &fields(json!({"BillingCity": "Paris"})),
            )
            .await
            .expect("204 is success");
        assert_eq!(
            mock.requests(),
            vec![format!(
                "PATCH /services/data/v62.0/sobjects/Account/{ACCOUNT_ID}"
            )]
        );
    })
    .await;
}

#[tokio::test]
async fn client_reads_doc_upsert_created() {
    bounded(async {
        let mock = MockServer::serve(&["sobjects/doc_upsert_created.json"]).await;
        let out = mock
            .client()
            .upsert(
                "Account",
                "customExtIdField__c",
                "11999",
                &fields(json!({"Name": "California Wheat Corporation"})),
            )
            .await
            .expect("upsert");
        assert_eq!(out.id.as_deref(), Some("00190000001pPvHAAU"));
        assert!(out.created);
    })
    .await;
}

#[tokio::test]
async fn client_reads_doc_upsert_updated_with_200_body() {
    bounded(async {
        let mock = MockServer::serve(&["sobjects/doc_upsert_updated.json"]).await;
        let out = mock
            .client()
            .upsert(
                "Account",
                "customExtIdField__c",
                "11999",
                &fields(json!({"Name": "x"})),
            )
            .await
            .expect("upsert");
        assert_eq!(out.id.as_deref(), Some("001D000000Kv3g5IAB"));
        assert!(!out.created);
    })
    .await;
}

#[tokio::test]
async fn client_reads_restforce_upsert_created_from_status_without_created_key() {
    bounded(async {
        let mock = MockServer::serve(&["sobjects/restforce_upsert_created.json"]).await;
        let out = mock
            .client()
            .upsert(
                "Account",
                "External__c",
                "foobar",
                &fields(json!({"Name": "x"})),
            )
            .await
            .expect("upsert");
        assert_eq!(out.id.as_deref(), Some("foo"));
        assert!(out.created, "201 without 'created' means created");
    })
    .await;
}

#[tokio::test]
async fn client_reads_restforce_upsert_updated_204() {
    bounded(async {
        let mock = MockServer::serve(&["sobjects/restforce_upsert_updated_no_content.json"]).await;
        let out = mock
            .client()
            .upsert(
                "Account",
                "External__c",
                "foobar",
                &fields(json!({"Name": "x"})),
            )
            .await
            .expect("upsert");
        assert_eq!(out.id, None);
        assert!(!out.created);
    })
    .await;
}

#[tokio::test]
async fn client_maps_restforce_upsert_300_to_multiple_matches() {
    bounded(async {
        let mock = MockServer::serve(&["sobjects/restforce_upsert_multiple_matches.json"]).await;
        let err = mock
            .client()
            .upsert(
                "Whizbang",
                "External_ID__c",
                "1234",
                &fields(json!({"Name": "x"})),
            )
            .await
            .expect_err("300");
        match err {
            SfError::UpsertMultipleMatches {
                sobject,
                field,
                matches,
            } => {
                assert_eq!(
                    (sobject.as_str(), field.as_str()),
                    ("Whizbang", "External_ID__c")
                );
                assert_eq!(
                    matches,
                    vec![
                        "/services/data/v23.0/sobjects/Whizbang/foo",
                        "/services/data/v23.0/sobjects/Whizbang/bar"
                    ]
                );
            }
            other => panic!("expected UpsertMultipleMatches, got {other:?}"),
        }
    })
    .await;
}

#[tokio::test]
async fn client_maps_restforce_upsert_unknown_field_to_not_found() {
    bounded(async {
        let mock = MockServer::serve(&["sobjects/restforce_upsert_field_not_found.json"]).await;
        let err = mock
            .client()
            .upsert("Whizbang", "Namez", "foo", &fields(json!({"Name": "x"})))
            .await
            .expect_err("404");
        assert!(err.is_not_found() && !err.is_retryable(), "{err:?}");
        assert_eq!(err.code(), Some("NOT_FOUND"));
    })
    .await;
}

/// The bare `api-usage=18/5000` form; passes with or without the pending parse fix.
#[tokio::test]
async fn client_reads_doc_record_and_bare_limit_info() {
    bounded(async {
        let mock = MockServer::serve(&["sobjects/doc_get_record_with_limit_header.json"]).await;
        let client = mock.client();
        let rec = client
            .get("Merchandise__c", "a00D0000008pQSNIA2", &[])
            .await
            .expect("get");
        assert_eq!(rec.id(), Some("a00D0000008pQSNIA2"));
        assert_eq!(rec.system_modstamp(), Some(at("2013-05-20T20:49:32Z")));
        assert_eq!(rec.get("LastActivityDate"), Some(&Value::Null));
        let usage = client.last_api_usage().expect("usage");
        assert_eq!((usage.used, usage.max), (18, 5000));
    })
    .await;
}

#[tokio::test]
async fn client_parses_restforce_record() {
    bounded(async {
        let mock = MockServer::serve(&["sobjects/restforce_find_record.json"]).await;
        let rec = mock
            .client()
            .get("Whizbang", "a00D0000008pQSNIA2", &[])
            .await
            .expect("get");
        assert_eq!(rec.id(), Some("23foo"));
        assert_eq!(rec.get("IsDeleted"), Some(&json!(false)));
        assert_eq!(
            rec.get("Currency_Label").and_then(Value::as_f64),
            Some(23.0)
        );
    })
    .await;
}

// ---------------------------------------------------------------------------------------
// Client: collections

fn contact(last: Option<&str>) -> SObjectRecord {
    let mut f = fields(json!({"FirstName": "Ada"}));
    if let Some(l) = last {
        f.insert("LastName".into(), json!(l));
    }
    SObjectRecord::new("Contact", f)
}

#[tokio::test]
async fn client_parses_doc_collections_partial_success() {
    bounded(async {
        let mock = MockServer::serve(&["collections/doc_create_partial_success.json"]).await;
        let out = mock
            .client()
            .create_records(&[contact(Some("Lovelace")), contact(None)], false)
            .await
            .expect("200 with per-record results");
        assert_eq!(out.len(), 2);
        assert!(out[0].success && out[0].id.as_deref() == Some("001RM000003oLnnYAE"));
        assert!(!out[1].success && out[1].id.is_none());
        assert_eq!(out[1].errors[0].status_code, "REQUIRED_FIELD_MISSING");
        assert_eq!(out[1].errors[0].fields, vec!["LastName"]);
        assert!(!out[1].errors[0].is_retryable());
    })
    .await;
}

#[tokio::test]
async fn client_parses_doc_collections_all_or_none_rollback() {
    bounded(async {
        let mock =
            MockServer::serve(&["collections/doc_create_all_or_none_rolled_back.json"]).await;
        let out = mock
            .client()
            .create_records(&[contact(Some("Lovelace")), contact(None)], true)
            .await
            .expect("200");
        assert!(out.iter().all(|o| !o.success));
        assert_eq!(
            out[0].errors[0].status_code,
            "ALL_OR_NONE_OPERATION_ROLLED_BACK"
        );
        assert!(out[0].errors[0].is_retryable(), "rolled back, not refused");
        assert!(!out[1].errors[0].is_retryable());
    })
    .await;
}

#[tokio::test]
async fn client_parses_doc_collections_update_success() {
    bounded(async {
        let mock = MockServer::serve(&["collections/doc_update_success.json"]).await;
        let recs = [
            SObjectRecord::new("Account", fields(json!({"Name": "a"})))
                .with_id("001RM000003oCprYAE"),
            SObjectRecord::new("Contact", fields(json!({"LastName": "b"})))
                .with_id("003RM0000068og4YAA"),
        ];
        let out = mock
            .client()
            .update_records(&recs, false)
            .await
            .expect("update");
        assert!(out.iter().all(|o| o.success && o.errors.is_empty()));
        assert_eq!(out[1].id.as_deref(), Some("003RM0000068og4YAA"));
    })
    .await;
}

#[tokio::test]
async fn client_parses_doc_collections_duplicates_detected() {
    bounded(async {
        let mock = MockServer::serve(&["collections/doc_update_duplicates_detected.json"]).await;
        let recs = [
            SObjectRecord::new("Account", fields(json!({"Name": "a"})))
                .with_id("001RM000003oCprYAE"),
            SObjectRecord::new("Contact", fields(json!({"LastName": "b"})))
                .with_id("003RM0000068og4YAA"),
        ];
        let out = mock
            .client()
            .update_records(&recs, true)
            .await
            .expect("update");
        assert_eq!(out[0].errors[0].status_code, "DUPLICATES_DETECTED");
        assert_eq!(
            out[1].errors[0].status_code,
            "ALL_OR_NONE_OPERATION_ROLLED_BACK"
        );
    })
    .await;
}

#[tokio::test]
async fn client_parses_doc_collections_upsert_created_flags() {
    bounded(async {
        let mock = MockServer::serve(&["collections/doc_upsert_created_and_updated.json"]).await;
        let recs = [
            SObjectRecord::new("Account", fields(json!({"MyExtId__c": "AAA"}))),
            SObjectRecord::new("Account", fields(json!({"MyExtId__c": "BBB"}))),
        ];
        let out = mock
            .client()
            .upsert_records("Account", "MyExtId__c", &recs, false)
            .await
            .expect("upsert");
        assert_eq!(out[0].created, Some(true));
        assert_eq!(out[1].created, Some(false));
        assert_eq!(
            mock.requests(),
            vec!["PATCH /services/data/v62.0/composite/sobjects/Account/MyExtId__c"]
        );
    })
    .await;
}

#[tokio::test]
async fn client_parses_doc_collections_delete_partial() {
    bounded(async {
        let mock = MockServer::serve(&["collections/doc_delete_partial.json"]).await;
        let out = mock
            .client()
            .delete_records(&["001RM000003oLrHYAU", "001RM000003oLruYAE"], false)
            .await
            .expect("delete");
        assert!(out[0].success);
        assert_eq!(out[1].errors[0].status_code, "ENTITY_IS_DELETED");
    })
    .await;
}

// ---------------------------------------------------------------------------------------
// Client: composite

fn composite_pair() -> Vec<CompositeSubrequest> {
    vec![
        CompositeSubrequest::new(Method::POST, "sobjects/Account", "refAccount")
            .with_body(json!({"Name": "Sample Account"})),
        CompositeSubrequest::query("SELECT Name FROM Account LIMIT 1", "refQuery"),
    ]
}

#[tokio::test]
async fn client_parses_doc_composite_response() {
    bounded(async {
        let mock = MockServer::serve(&["composite/doc_composite_success.json"]).await;
        let out = mock
            .client()
            .composite(&composite_pair(), false)
            .await
            .expect("composite");
        assert_eq!(out.len(), 2);
        assert_eq!(
            (out[0].http_status_code, out[0].reference_id.as_str()),
            (201, "refAccount")
        );
        assert_eq!(
            out[0].http_headers.get("Location"),
            Some(&json!(
                "/services/data/v62.0/sobjects/Account/001R00000033I6AIAU"
            ))
        );
        assert!(out[0].is_success() && out[0].error().is_none());
        assert_eq!(out[1].body["totalSize"], json!(1));
        assert!(out[1].http_headers.is_empty());
    })
    .await;
}

#[tokio::test]
async fn client_classifies_doc_composite_subrequest_error() {
    bounded(async {
        let mock = MockServer::serve(&["composite/doc_composite_subrequest_error.json"]).await;
        let sub = [
            CompositeSubrequest::new(Method::POST, "sobjects/Contact", "badContact")
                .with_body(json!({"LastName": "x", "Email": "Not a real email address"})),
        ];
        let out = mock
            .client()
            .composite(&sub, false)
            .await
            .expect("composite");
        let err = out[0].error().expect("subrequest failed");
        assert!(
            matches!(&err, SfError::Permanent { status: 400, code, fields, .. }
                if code == "INVALID_EMAIL_ADDRESS" && fields == &vec!["Email".to_string()]),
            "{err:?}"
        );
        assert_eq!(out[0].errors().len(), 1);
    })
    .await;
}

#[tokio::test]
async fn client_parses_doc_composite_all_or_none_processing_halted() {
    bounded(async {
        let mock = MockServer::serve(&["composite/doc_composite_all_or_none_halted.json"]).await;
        let out = mock
            .client()
            .composite(&composite_pair(), true)
            .await
            .expect("composite");
        assert!(out.iter().all(|s| !s.is_success()));
        assert_eq!(out[0].errors()[0].error_code, "PROCESSING_HALTED");
        assert_eq!(out[1].errors()[0].error_code, "INVALID_EMAIL_ADDRESS");
    })
    .await;
}

// ---------------------------------------------------------------------------------------
// Client: getUpdated / getDeleted

#[tokio::test]
async fn client_parses_restforce_get_updated() {
    bounded(async {
        let mock = MockServer::serve(&["changes/restforce_get_updated.json"]).await;
        let out = mock
            .client()
            .get_updated(
                "Contact",
                at("2015-08-18T00:00:00Z"),
                at("2015-08-19T08:18:00Z"),
            )
            .await
            .expect("getUpdated");
        assert_eq!(out.ids.len(), 7);
        assert_eq!(out.latest_date_covered, at("2015-08-19T08:17:00Z"));
        assert!(
            mock.requests()[0]
                .starts_with("GET /services/data/v62.0/sobjects/Contact/updated/?start=")
        );
    })
    .await;
}

#[tokio::test]
async fn client_parses_restforce_get_deleted() {
    bounded(async {
        let mock = MockServer::serve(&["changes/restforce_get_deleted.json"]).await;
        let out = mock
            .client()
            .get_deleted(
                "Merchandise__c",
                at("2013-05-05T00:00:00Z"),
                at("2013-05-10T00:00:00Z"),
            )
            .await
            .expect("getDeleted");
        assert_eq!(out.deleted_records.len(), 1);
        assert_eq!(out.deleted_records[0].id, "a00D0000008pQRAIA2");
        assert_eq!(
            out.deleted_records[0].deleted_date,
            at("2013-05-07T22:07:19Z")
        );
        assert_eq!(
            out.earliest_date_available,
            Some(at("2013-05-03T15:57:00Z"))
        );
        assert_eq!(out.latest_date_covered, Some(at("2013-05-08T21:20:00Z")));
    })
    .await;
}

#[tokio::test]
async fn client_parses_doc_get_updated() {
    bounded(async {
        let mock = MockServer::serve(&["changes/doc_get_updated.json"]).await;
        let out = mock
            .client()
            .get_updated(
                "Merchandise__c",
                at("2013-05-05T00:00:00Z"),
                at("2013-05-10T00:00:00Z"),
            )
            .await
            .expect("getUpdated");
        assert_eq!(out.ids, vec!["a00D0000008pQRAIA2"]);
        assert_eq!(out.latest_date_covered, at("2013-05-08T17:20:00Z"));
    })
    .await;
}

#[tokio::test]
async fn client_parses_doc_get_deleted_empty() {
    bounded(async {
        let mock = MockServer::serve(&["changes/doc_get_deleted_empty.json"]).await;
        let out = mock
            .client()
            .get_deleted(
                "Merchandise__c",
                at("2013-05-05T00:00:00Z"),
                at("2013-05-10T00:00:00Z"),
            )
            .await
            .expect("getDeleted");
        assert!(out.deleted_records.is_empty());
        assert_eq!(
            out.earliest_date_available,
            Some(at("2013-05-03T15:57:00Z"))
        );
    })
    .await;
}

#[tokio::test]
async fn client_maps_doc_invalid_replication_date() {
    bounded(async {
        let mock =
            MockServer::serve(&["changes/doc_get_deleted_invalid_replication_date.json"]).await;
        let err = mock
            .client()
            .get_deleted(
                "Account",
                at("2013-01-01T00:00:00Z"),
                at("2013-05-10T00:00:00Z"),
            )
            .await
            .expect_err("400");
        assert!(
            matches!(err, SfError::InvalidReplicationDate { .. }),
            "{err:?}"
        );
        assert!(!err.is_retryable());
    })
    .await;
}

// ---------------------------------------------------------------------------------------
// Client: limits

#[tokio::test]
async fn client_parses_simple_salesforce_limits_and_usage_header() {
    bounded(async {
        let mock = MockServer::serve(&["limits/simple_salesforce_org_limits.json"]).await;
        let client = mock.client();
        let limits = client.limits().await.expect("limits");
        let daily = limits.daily_api_requests().expect("DailyApiRequests");
        assert_eq!(
            (daily.max, daily.remaining, daily.used()),
            (15000, 14998, 2)
        );
        assert_eq!(limits.0.len(), 9);
        let usage = client.last_api_usage().expect("usage");
        assert_eq!((usage.used, usage.max), (18, 5000));
    })
    .await;
}

/// The body part passes today; the header part waits for the `;` parse fix on main.
#[tokio::test]
async fn client_parses_doc_limits_with_per_app_maps_and_api_bursts_header() {
    bounded(async {
        let mock = MockServer::serve(&["limits/doc_limits_per_app_breakdown.json"]).await;
        let client = mock.client();
        let limits = client.limits().await.expect("limits");
        let daily = limits
            .daily_api_requests()
            .expect("DailyApiRequests beside per-app maps");
        assert_eq!((daily.max, daily.remaining), (15000, 14998));
        assert_eq!(limits.get("PermissionSets").map(|l| l.used()), Some(1));
        let usage = client
            .last_api_usage()
            .expect("api-usage read beside api-bursts");
        assert_eq!((usage.used, usage.max), (10018, 100000));
    })
    .await;
}

// ---------------------------------------------------------------------------------------
// Client: error arrays

struct CountingProvider {
    refreshes: Mutex<u32>,
}

#[async_trait]
impl TokenProvider for CountingProvider {
    async fn access_token(&self) -> Result<AccessToken, SfError> {
        Ok(token())
    }
    async fn refresh(&self, _stale: &AccessToken) -> Result<AccessToken, SfError> {
        *self.refreshes.lock().unwrap() += 1;
        Ok(AccessToken::new("00Dx0000000BV7z!refreshed"))
    }
}

#[tokio::test]
async fn client_refreshes_once_on_restforce_expired_session_then_gives_up() {
    bounded(async {
        let mock = MockServer::serve(&["errors/restforce_expired_session_401.json"]).await;
        let provider = Arc::new(CountingProvider {
            refreshes: Mutex::new(0),
        });
        let client = mock.client_with(fast_retry(1), provider.clone());
        let err = client
            .query_first_page("SELECT Id FROM Account", QueryScope::Live)
            .await
            .expect_err("401 twice");
        assert_eq!(*provider.refreshes.lock().unwrap(), 1);
        assert_eq!(mock.requests().len(), 2, "one resend after the refresh");
        assert!(err.is_auth() && err.is_reconnect_needed(), "{err:?}");
        assert_eq!(err.code(), Some("INVALID_SESSION_ID"));
    })
    .await;
}

#[tokio::test]
async fn client_maps_doc_request_limit_exceeded_403_to_rate_limited() {
    bounded(async {
        let err = query_error("errors/doc_request_limit_exceeded_403.json").await;
        assert!(err.is_rate_limited() && !err.is_retryable(), "{err:?}");
        assert_eq!(err.code(), Some("REQUEST_LIMIT_EXCEEDED"));
    })
    .await;
}

#[tokio::test]
async fn client_maps_airbyte_request_limit_exceeded_400_to_rate_limited() {
    bounded(async {
        let err = query_error("errors/airbyte_request_limit_exceeded_400.json").await;
        assert!(
            err.is_rate_limited(),
            "the code decides, not the status: {err:?}"
        );
    })
    .await;
}

#[tokio::test]
async fn client_maps_restforce_write_invalid_field() {
    bounded(async {
        let mock = MockServer::serve(&["errors/restforce_invalid_field_400.json"]).await;
        let err = mock
            .client()
            .update("Bar", ACCOUNT_ID, &fields(json!({"foo": 1})))
            .await
            .expect_err("400");
        assert!(
            matches!(&err, SfError::Permanent { status: 400, code, message, .. }
                if code == "INVALID_FIELD" && message.contains("No such column 'foo'")),
            "{err:?}"
        );
        assert!(!err.is_retryable() && !err.is_auth());
    })
    .await;
}

#[tokio::test]
async fn client_maps_restforce_query_invalid_field_to_query_error() {
    bounded(async {
        let err = query_error("errors/restforce_query_invalid_field_400.json").await;
        assert!(err.is_query_error() && !err.is_retryable(), "{err:?}");
        assert_eq!(err.code(), Some("INVALID_FIELD"));
    })
    .await;
}

#[tokio::test]
async fn client_maps_doc_malformed_query_to_query_error() {
    bounded(async {
        let err = query_error("errors/doc_malformed_query_400.json").await;
        assert!(err.is_query_error(), "{err:?}");
        assert_eq!(err.code(), Some("MALFORMED_QUERY"));
        assert!(err.to_string().contains("unexpected token: FROMM"));
    })
    .await;
}

#[tokio::test]
async fn client_maps_doc_entity_is_deleted_to_not_found() {
    bounded(async {
        let mock = MockServer::serve(&["errors/doc_entity_is_deleted_404.json"]).await;
        let err = mock
            .client()
            .get("Account", ACCOUNT_ID, &[])
            .await
            .expect_err("404");
        assert!(err.is_not_found() && !err.is_retryable(), "{err:?}");
        assert_eq!(err.code(), Some("ENTITY_IS_DELETED"));
    })
    .await;
}

#[tokio::test]
async fn client_maps_restforce_delete_not_found() {
    bounded(async {
        let mock = MockServer::serve(&["errors/restforce_delete_not_found_404.json"]).await;
        let err = mock
            .client()
            .delete("Account", ACCOUNT_ID)
            .await
            .expect_err("404");
        assert!(err.is_not_found(), "{err:?}");
        assert_eq!(err.code(), Some("NOT_FOUND"));
    })
    .await;
}

#[tokio::test]
async fn client_maps_doc_field_integrity_exception_with_fields() {
    bounded(async {
        let mock = MockServer::serve(&["errors/doc_field_integrity_exception_400.json"]).await;
        let err = mock
            .client()
            .create("OpportunityLineItem", &fields(json!({"Quantity": 1})))
            .await
            .expect_err("400");
        assert!(
            matches!(&err, SfError::Permanent { status: 400, code, fields, .. }
                if code == "FIELD_INTEGRITY_EXCEPTION" && fields.iter().any(|f| f == "PricebookEntryId")),
            "{err:?}"
        );
        assert!(!err.is_retryable());
    })
    .await;
}

#[tokio::test]
async fn client_maps_doc_unknown_exception_500_to_retryable() {
    bounded(async {
        let err = query_error("errors/doc_unknown_exception_500.json").await;
        assert!(
            matches!(&err, SfError::Retryable { status: Some(500), code, .. } if code == "UNKNOWN_EXCEPTION"),
            "{err:?}"
        );
    })
    .await;
}

#[tokio::test]
async fn client_retries_a_post_after_doc_server_unavailable_503() {
    bounded(async {
        let mock = MockServer::serve(&["errors/doc_server_unavailable_503.json"]).await;
        let client = mock.client_with(fast_retry(2), Arc::new(StaticTokenProvider::new(token())));
        let err = client
            .create("Account", &fields(json!({"Name": "x"})))
            .await
            .expect_err("503 twice");
        assert_eq!(mock.requests().len(), 2, "503 was not applied: the POST is resent");
        assert!(
            matches!(&err, SfError::Retryable { status: Some(503), code, .. } if code == "SERVER_UNAVAILABLE"),
            "{err:?}"
        );
    })
    .await;
}

#[tokio::test]
async fn client_maps_doc_html_503_to_retryable() {
    bounded(async {
        let err = query_error("errors/doc_maintenance_503_html.json").await;
        assert!(
            matches!(&err, SfError::Retryable { status: Some(503), code, .. } if code == "HTTP_503"),
            "{err:?}"
        );
    })
    .await;
}

#[tokio::test]
async fn client_parses_restforce_malformed_search_error_array() {
    bounded(async {
        let err = query_error("errors/restforce_malformed_search_400.json").await;
        assert!(
            matches!(&err, SfError::Permanent { status: 400, code, .. } if code == "MALFORMED_SEARCH"),
            "{err:?}"
        );
        assert!(!err.is_query_error(), "a SOSL error is not a SOQL error");
    })
    .await;
}

// ---------------------------------------------------------------------------------------
// Emulator shape conformance

#[derive(Debug, Default)]
struct ShapeReport {
    missing: Vec<String>,
    wrong_type: Vec<String>,
    extra: Vec<String>,
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "bool",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// Keys checked inside a data object (a record, a limit entry): the rest are field names.
const STRUCTURAL_KEYS: &[&str] = &["attributes", "Max", "Remaining"];

/// Compares `emu` to `real` recursively. `data_paths` name objects whose keys are data
/// (records, limit entries): only [`STRUCTURAL_KEYS`] are compared there. A null on either
/// side matches anything (nillable fields).
fn compare(real: &Value, emu: &Value, path: &str, data_paths: &[&str], out: &mut ShapeReport) {
    if real.is_null() || emu.is_null() {
        return;
    }
    if kind(real) != kind(emu) {
        out.wrong_type.push(format!(
            "{path}: real {} vs emulator {}",
            kind(real),
            kind(emu)
        ));
        return;
    }
    match (real, emu) {
        (Value::Object(r), Value::Object(e)) => {
            let data = data_paths.contains(&path);
            for (k, rv) in r {
                if data && !STRUCTURAL_KEYS.contains(&k.as_str()) {
                    continue;
                }
                match e.get(k) {
                    Some(ev) => compare(rv, ev, &format!("{path}.{k}"), data_paths, out),
                    None => out.missing.push(format!("{path}.{k}")),
                }
            }
            if !data {
                for k in e.keys().filter(|k| !r.contains_key(*k)) {
                    out.extra.push(format!("{path}.{k}"));
                }
            }
        }
        (Value::Array(r), Value::Array(e)) => {
            if !r.is_empty() && e.is_empty() {
                out.missing
                    .push(format!("{path}[] (emulator array is empty)"));
            }
            if let Some(last) = r.len().checked_sub(1) {
                for (i, ev) in e.iter().enumerate() {
                    compare(&r[i.min(last)], ev, &format!("{path}[]"), data_paths, out);
                }
            }
        }
        _ => {}
    }
}

fn first_error_code(body: &Value) -> Option<&str> {
    body.get(0)
        .and_then(|e| e.get("errorCode"))
        .or_else(|| body.get("error"))
        .and_then(Value::as_str)
}

#[derive(Debug)]
struct EmuReply {
    status: u16,
    limit_info: Option<String>,
    body: Value,
}

fn assert_conforms(file: &str, emu: &EmuReply, data_paths: &[&str]) {
    let real = Fixture::load(file);
    assert_eq!(
        real.status / 100,
        emu.status / 100,
        "{file}: status class (real {}, emulator {}; body {})",
        real.status,
        emu.status,
        emu.body
    );
    assert_conforms_body(file, &real.body, &emu.body, "$", data_paths);
    if real.status >= 400
        && let Some(code) = first_error_code(&real.body)
    {
        assert_eq!(
            first_error_code(&emu.body),
            Some(code),
            "{file}: error code; emulator said {}",
            emu.body
        );
    }
    if real.header("Sforce-Limit-Info").is_some() {
        assert!(
            emu.limit_info.is_some(),
            "{file}: emulator sent no Sforce-Limit-Info"
        );
    }
    if let Some(v) = &emu.limit_info {
        assert!(
            limit_info_is_documented_form(v),
            "{file}: emulator Sforce-Limit-Info {v:?} is not a documented form"
        );
    }
}

fn assert_conforms_body(file: &str, real: &Value, emu: &Value, path: &str, data_paths: &[&str]) {
    let mut report = ShapeReport::default();
    compare(real, emu, path, data_paths, &mut report);
    if !report.extra.is_empty() {
        eprintln!("{file}: emulator-only keys (allowed): {:?}", report.extra);
    }
    assert!(
        report.missing.is_empty() && report.wrong_type.is_empty(),
        "{file}: emulator shape differs: missing {:?}, wrong types {:?}",
        report.missing,
        report.wrong_type
    );
}

struct Emu {
    h: Harness,
    token: String,
    refresh: String,
    http: reqwest::Client,
}

impl Emu {
    async fn start() -> Emu {
        let h = Harness::start().await;
        let minted = h.emu.admin().mint_tokens(ORG, USER).expect("mint");
        Emu {
            token: minted.access_token.clone(),
            refresh: minted.refresh_token.clone(),
            http: reqwest::Client::new(),
            h,
        }
    }

    fn data(&self, rel: &str) -> Url {
        self.h
            .instance
            .join(&format!("services/data/v62.0/{rel}"))
            .expect("data url")
    }

    async fn send(&self, req: reqwest::RequestBuilder) -> EmuReply {
        let resp = req.send().await.expect("emulator answers");
        let status = resp.status().as_u16();
        let limit_info = resp
            .headers()
            .get("sforce-limit-info")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let text = resp.text().await.expect("body");
        let body = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or(Value::String(text))
        };
        EmuReply {
            status,
            limit_info,
            body,
        }
    }

    async fn call(&self, method: Method, rel: &str, body: Option<Value>) -> EmuReply {
        let mut req = self
            .http
            .request(method, self.data(rel))
            .bearer_auth(&self.token);
        if let Some(b) = body {
            req = req.json(&b);
        }
        self.send(req).await
    }

    async fn get(&self, rel: &str) -> EmuReply {
        self.call(Method::GET, rel, None).await
    }

    async fn query(&self, soql: &str, all: bool) -> EmuReply {
        let mut url = self.data(if all { "queryAll" } else { "query" });
        url.query_pairs_mut().append_pair("q", soql);
        self.send(self.http.get(url).bearer_auth(&self.token)).await
    }

    async fn token_call(&self, form: &[(&str, &str)]) -> EmuReply {
        let url = Url::parse(&format!(
            "{}/services/oauth2/token",
            self.h.login.as_str().trim_end_matches('/')
        ))
        .expect("token url");
        self.send(self.http.post(url).form(form)).await
    }

    fn insert(&self, object: &str, value: Value) -> String {
        self.h
            .emu
            .admin()
            .insert_record(ORG, object, fields(value))
            .expect("insert")
    }

    async fn stop(self) {
        self.h.stop().await;
    }
}

#[tokio::test]
async fn emulator_refresh_token_answer_has_the_real_shape() {
    bounded(async {
        let emu = Emu::start().await;
        let reply = emu
            .token_call(&[
                ("grant_type", "refresh_token"),
                ("refresh_token", &emu.refresh),
                ("client_id", sf_emulator::demo::CLIENT_ID),
                ("client_secret", sf_emulator::demo::CLIENT_SECRET),
            ])
            .await;
        assert_conforms("oauth/doc_refresh_token_flow.json", &reply, &[]);
        assert_conforms("oauth/restforce_refresh_success.json", &reply, &[]);
        assert!(
            reply.body.get("expires_in").is_none(),
            "Salesforce sends no expires_in"
        );
        assert!(reply.body["issued_at"].is_string());
        emu.stop().await;
    })
    .await;
}

#[tokio::test]
async fn emulator_token_errors_have_the_real_codes() {
    bounded(async {
        let emu = Emu::start().await;
        let bad_grant = emu
            .token_call(&[
                ("grant_type", "refresh_token"),
                ("refresh_token", "5Aep861unknown"),
                ("client_id", sf_emulator::demo::CLIENT_ID),
                ("client_secret", sf_emulator::demo::CLIENT_SECRET),
            ])
            .await;
        assert_conforms(
            "oauth/restforce_refresh_error_invalid_grant.json",
            &bad_grant,
            &[],
        );
        let bad_client = emu
            .token_call(&[
                ("grant_type", "refresh_token"),
                ("refresh_token", &emu.refresh),
                ("client_id", sf_emulator::demo::CLIENT_ID),
                ("client_secret", "wrong-secret"),
            ])
            .await;
        assert_conforms("oauth/doc_invalid_client.json", &bad_client, &[]);
        let bad_type = emu
            .token_call(&[
                ("grant_type", "urn:example:unknown"),
                ("client_id", sf_emulator::demo::CLIENT_ID),
            ])
            .await;
        assert_conforms("oauth/doc_unsupported_grant_type.json", &bad_type, &[]);
        emu.stop().await;
    })
    .await;
}

#[tokio::test]
async fn emulator_identity_has_the_real_shape() {
    bounded(async {
        let emu = Emu::start().await;
        let minted = emu.h.emu.admin().mint_tokens(ORG, USER).expect("mint");
        let url = Url::parse(&minted.id).expect("identity url");
        let ok = emu
            .send(emu.http.get(url.clone()).bearer_auth(&emu.token))
            .await;
        assert_conforms("oauth/doc_identity.json", &ok, &[]);
        let bad = emu
            .send(emu.http.get(url).bearer_auth("00Dbogus!token"))
            .await;
        assert_conforms("oauth/doc_identity_bad_oauth_token.json", &bad, &[]);
        assert_eq!(bad.body, json!("Bad_OAuth_Token"), "plain text, not JSON");
        emu.stop().await;
    })
    .await;
}

#[tokio::test]
async fn emulator_query_records_and_relationships_have_the_real_shape() {
    bounded(async {
        let emu = Emu::start().await;
        let account = emu.insert("Account", json!({"Name": "Acme"}));
        emu.insert(
            "Contact",
            json!({"LastName": "Lovelace", "AccountId": account}),
        );
        let reply = emu
            .query(
                "SELECT Id, LastName, Account.Name FROM Contact WHERE LastName = 'Lovelace'",
                false,
            )
            .await;
        assert_conforms(
            "query/restforce_query_relationships.json",
            &reply,
            &["$.records[]"],
        );
        let real = Fixture::load("query/restforce_query_relationships.json");
        assert_conforms_body(
            "query/restforce_query_relationships.json (parent relationship)",
            &real.body["records"][0]["ParentWhizbang__r"],
            &reply.body["records"][0]["Account"],
            "$.parent",
            &["$.parent"],
        );
        let org = emu.query("SELECT Id FROM Organization", false).await;
        assert_conforms("query/restforce_organization.json", &org, &["$.records[]"]);
        let empty = emu
            .query("SELECT Id FROM Contact WHERE LastName = 'Nobody'", false)
            .await;
        assert_conforms("query/restforce_empty.json", &empty, &["$.records[]"]);
        emu.stop().await;
    })
    .await;
}

#[tokio::test]
async fn emulator_query_paging_has_the_real_shape() {
    bounded(async {
        let emu = Emu::start().await;
        for i in 0..201 {
            emu.insert("Contact", json!({"LastName": format!("Page{i:03}")}));
        }
        let mut url = emu.data("query");
        url.query_pairs_mut().append_pair(
            "q",
            "SELECT Id, LastName FROM Contact WHERE LastName LIKE 'Page%'",
        );
        let first = emu
            .send(
                emu.http
                    .get(url)
                    .bearer_auth(&emu.token)
                    .header("Sforce-Query-Options", "batchSize=200"),
            )
            .await;
        assert_conforms(
            "query/restforce_paginated_first_page.json",
            &first,
            &["$.records[]"],
        );
        assert_conforms(
            "query/doc_query_first_of_many_pages.json",
            &first,
            &["$.records[]"],
        );
        let next = first.body["nextRecordsUrl"]
            .as_str()
            .expect("nextRecordsUrl")
            .to_string();
        assert!(next.starts_with("/services/data/v62.0/query/"), "{next}");
        let url = emu.h.instance.join(&next).expect("next url");
        let last = emu.send(emu.http.get(url).bearer_auth(&emu.token)).await;
        assert_conforms(
            "query/restforce_paginated_last_page.json",
            &last,
            &["$.records[]"],
        );
        assert!(last.body.get("nextRecordsUrl").is_none_or(Value::is_null));
        emu.stop().await;
    })
    .await;
}

#[tokio::test]
async fn emulator_query_all_has_the_real_shape() {
    bounded(async {
        let emu = Emu::start().await;
        // Aggregate SOQL (GROUP BY, COUNT(field)) is not emulated, so restforce_aggregate
        // is checked against the client only.
        let gone = emu.insert("Contact", json!({"LastName": "Gone"}));
        emu.h
            .emu
            .admin()
            .delete_record(ORG, "Contact", &gone)
            .expect("delete");
        let all = emu
            .query(
                "SELECT Name, IsDeleted FROM Contact WHERE LastName = 'Gone'",
                true,
            )
            .await;
        assert_conforms("query/doc_query_all_deleted.json", &all, &["$.records[]"]);
        assert_eq!(all.body["records"][0]["IsDeleted"], json!(true));
        emu.stop().await;
    })
    .await;
}

/// Every field of the real describe is compared with an emulator field of the same role.
#[tokio::test]
async fn emulator_describe_has_the_real_shape() {
    bounded(async {
        let emu = Emu::start().await;
        let file = "describe/restforce_sobject_describe.json";
        let reply = emu.get("sobjects/Account/describe").await;
        let real = Fixture::load(file);
        let mut real_top = real.body.clone();
        let mut emu_top = reply.body.clone();
        real_top["fields"] = json!([]);
        emu_top["fields"] = json!([]);
        assert_eq!(reply.status, 200, "{}", reply.body);
        assert_conforms_body(file, &real_top, &emu_top, "$", &[]);
        let emu_field = |name: &str| -> Value {
            reply.body["fields"]
                .as_array()
                .and_then(|fs| fs.iter().find(|f| f["name"] == json!(name)))
                .cloned()
                .unwrap_or_else(|| panic!("emulator Account has no {name}"))
        };
        for (real_name, emu_name) in [
            ("Id", "Id"),
            ("OwnerId", "OwnerId"),
            ("Name", "Name"),
            ("Picklist_Field", "Type"),
            ("ParentWhizbang__c", "ParentId"),
            ("SystemModstamp", "SystemModstamp"),
        ] {
            let rf = real.body["fields"]
                .as_array()
                .and_then(|fs| fs.iter().find(|f| f["name"] == json!(real_name)))
                .expect("fixture field");
            assert_conforms_body(
                &format!("{file} field {real_name} vs {emu_name}"),
                rf,
                &emu_field(emu_name),
                "$.field",
                &[],
            );
        }
        let contact = emu.get("sobjects/Contact/describe").await;
        let ext_real = Fixture::load("describe/doc_describe_external_id_field.json");
        let ext_emu = contact.body["fields"]
            .as_array()
            .and_then(|fs| fs.iter().find(|f| f["externalId"] == json!(true)))
            .cloned()
            .expect("an external id field on Contact");
        assert_conforms_body(
            "describe/doc_describe_external_id_field.json",
            &ext_real.body["fields"][0],
            &ext_emu,
            "$.field",
            &[],
        );
        let global = emu.get("sobjects").await;
        assert_conforms("describe/restforce_describe_global.json", &global, &[]);
        let missing = emu.get("sobjects/Whizbang/describe").await;
        assert_conforms("describe/restforce_describe_not_found.json", &missing, &[]);
        emu.stop().await;
    })
    .await;
}

#[tokio::test]
async fn emulator_single_record_writes_have_the_real_shape() {
    bounded(async {
        let emu = Emu::start().await;
        let created = emu
            .call(
                Method::POST,
                "sobjects/Account",
                Some(json!({"Name": "Acme"})),
            )
            .await;
        assert_conforms("sobjects/doc_create_account.json", &created, &[]);
        assert_conforms("sobjects/restforce_create_success.json", &created, &[]);
        let id = created.body["id"].as_str().expect("id").to_string();
        let updated = emu
            .call(
                Method::PATCH,
                &format!("sobjects/Account/{id}"),
                Some(json!({"Name": "Acme 2"})),
            )
            .await;
        assert_conforms("sobjects/doc_update_no_content.json", &updated, &[]);
        assert_eq!(updated.status, 204);
        let up_new = emu
            .call(
                Method::PATCH,
                "sobjects/Contact/Crmsync_Id__c/ext-1",
                Some(json!({"LastName": "Up"})),
            )
            .await;
        assert_conforms("sobjects/doc_upsert_created.json", &up_new, &[]);
        assert_eq!(up_new.status, 201);
        let up_again = emu
            .call(
                Method::PATCH,
                "sobjects/Contact/Crmsync_Id__c/ext-1",
                Some(json!({"LastName": "Up2"})),
            )
            .await;
        assert_conforms("sobjects/doc_upsert_updated.json", &up_again, &[]);
        assert_eq!(
            (up_again.status, &up_again.body["created"]),
            (200, &json!(false))
        );
        emu.insert(
            "Contact",
            json!({"LastName": "D1", "Email": "dup@example.com"}),
        );
        emu.insert(
            "Contact",
            json!({"LastName": "D2", "Email": "dup@example.com"}),
        );
        let multi = emu
            .call(
                Method::PATCH,
                "sobjects/Contact/Email/dup@example.com",
                Some(json!({"LastName": "D"})),
            )
            .await;
        assert_conforms(
            "sobjects/restforce_upsert_multiple_matches.json",
            &multi,
            &[],
        );
        assert_eq!(multi.status, 300);
        let bad_field = emu
            .call(
                Method::PATCH,
                "sobjects/Contact/Namez/foo",
                Some(json!({"LastName": "D"})),
            )
            .await;
        assert_conforms(
            "sobjects/restforce_upsert_field_not_found.json",
            &bad_field,
            &[],
        );
        let got = emu.get(&format!("sobjects/Account/{id}")).await;
        assert_conforms(
            "sobjects/doc_get_record_with_limit_header.json",
            &got,
            &["$"],
        );
        emu.stop().await;
    })
    .await;
}

#[tokio::test]
async fn emulator_collections_have_the_real_shape() {
    bounded(async {
        let emu = Emu::start().await;
        let partial = emu
            .call(
                Method::POST,
                "composite/sobjects",
                Some(json!({"allOrNone": false, "records": [
                    {"attributes": {"type": "Contact"}, "LastName": "Ok"},
                    {"attributes": {"type": "Contact"}, "FirstName": "NoLastName"}
                ]})),
            )
            .await;
        assert_conforms("collections/doc_create_partial_success.json", &partial, &[]);
        assert_eq!(partial.body[1]["errors"][0]["statusCode"], json!("REQUIRED_FIELD_MISSING"));
        let rolled = emu
            .call(
                Method::POST,
                "composite/sobjects",
                Some(json!({"allOrNone": true, "records": [
                    {"attributes": {"type": "Contact"}, "LastName": "Ok"},
                    {"attributes": {"type": "Contact"}, "FirstName": "NoLastName"}
                ]})),
            )
            .await;
        assert_conforms("collections/doc_create_all_or_none_rolled_back.json", &rolled, &[]);
        assert_eq!(
            rolled.body[0]["errors"][0]["statusCode"],
            json!("ALL_OR_NONE_OPERATION_ROLLED_BACK")
        );
        let a = partial.body[0]["id"].as_str().expect("created id").to_string();
        let b = emu.insert("Account", json!({"Name": "B"}));
        let updated = emu
            .call(
                Method::PATCH,
                "composite/sobjects",
                Some(json!({"allOrNone": false, "records": [
                    {"attributes": {"type": "Contact"}, "id": a, "Title": "CTO"},
                    {"attributes": {"type": "Account"}, "id": b, "Name": "B2"}
                ]})),
            )
            .await;
        assert_conforms("collections/doc_update_success.json", &updated, &[]);
        let upserted = emu
            .call(
                Method::PATCH,
                "composite/sobjects/Contact/Crmsync_Id__c",
                Some(json!({"allOrNone": false, "records": [
                    {"attributes": {"type": "Contact"}, "Crmsync_Id__c": "c-new", "LastName": "New"},
                    {"attributes": {"type": "Contact"}, "Crmsync_Id__c": "c-new", "LastName": "Again"}
                ]})),
            )
            .await;
        assert_conforms("collections/doc_upsert_created_and_updated.json", &upserted, &[]);
        emu.h.emu.admin().delete_record(ORG, "Account", &b).expect("delete");
        let mut url = emu.data("composite/sobjects");
        url.query_pairs_mut()
            .append_pair("ids", &format!("{a},{b}"))
            .append_pair("allOrNone", "false");
        let deleted = emu.send(emu.http.delete(url).bearer_auth(&emu.token)).await;
        assert_conforms("collections/doc_delete_partial.json", &deleted, &[]);
        assert_eq!(deleted.body[1]["errors"][0]["statusCode"], json!("ENTITY_IS_DELETED"));
        emu.stop().await;
    })
    .await;
}

#[tokio::test]
async fn emulator_composite_has_the_real_shape() {
    bounded(async {
        let emu = Emu::start().await;
        let ok = emu
            .call(
                Method::POST,
                "composite",
                Some(json!({"allOrNone": false, "compositeRequest": [
                    {"method": "POST", "url": "/services/data/v62.0/sobjects/Account", "referenceId": "refAccount", "body": {"Name": "Sample Account"}},
                    {"method": "GET", "url": "/services/data/v62.0/query?q=SELECT+Name+FROM+Account+WHERE+Id+%3D+%27@{refAccount.id}%27", "referenceId": "refQuery"}
                ]})),
            )
            .await;
        assert_conforms("composite/doc_composite_success.json", &ok, &["$.compositeResponse[].body.records[]"]);
        let bad = emu
            .call(
                Method::POST,
                "composite",
                Some(json!({"allOrNone": false, "compositeRequest": [
                    {"method": "POST", "url": "/services/data/v62.0/sobjects/Contact", "referenceId": "badContact", "body": {"LastName": "x", "Email": "Not a real email address"}}
                ]})),
            )
            .await;
        assert_conforms("composite/doc_composite_subrequest_error.json", &bad, &[]);
        assert_eq!(
            bad.body["compositeResponse"][0]["body"][0]["errorCode"],
            json!("INVALID_EMAIL_ADDRESS")
        );
        let halted = emu
            .call(
                Method::POST,
                "composite",
                Some(json!({"allOrNone": true, "compositeRequest": [
                    {"method": "POST", "url": "/services/data/v62.0/sobjects/Account", "referenceId": "refAccount", "body": {"Name": "Rolled back"}},
                    {"method": "POST", "url": "/services/data/v62.0/sobjects/Contact", "referenceId": "refContact", "body": {"LastName": "x", "Email": "Not a real email address"}}
                ]})),
            )
            .await;
        assert_conforms("composite/doc_composite_all_or_none_halted.json", &halted, &[]);
        assert_eq!(
            halted.body["compositeResponse"][0]["body"][0]["errorCode"],
            json!("PROCESSING_HALTED")
        );
        emu.stop().await;
    })
    .await;
}

#[tokio::test]
async fn emulator_get_updated_and_deleted_have_the_real_shape() {
    bounded(async {
        let emu = Emu::start().await;
        let now = emu.h.emu.admin().now();
        let kept = emu.insert("Contact", json!({"LastName": "Changed"}));
        let gone = emu.insert("Contact", json!({"LastName": "Deleted"}));
        emu.h
            .emu
            .admin()
            .delete_record(ORG, "Contact", &gone)
            .expect("delete");
        emu.h
            .emu
            .admin()
            .advance_clock(std::time::Duration::from_secs(120));
        let window = |kind: &str| {
            let mut url = emu.data(&format!("sobjects/Contact/{kind}/"));
            url.query_pairs_mut()
                .append_pair("start", &(now - chrono::Duration::minutes(5)).to_rfc3339())
                .append_pair("end", &(now + chrono::Duration::minutes(2)).to_rfc3339());
            url
        };
        let updated = emu
            .send(emu.http.get(window("updated")).bearer_auth(&emu.token))
            .await;
        assert_conforms("changes/restforce_get_updated.json", &updated, &[]);
        assert!(
            updated.body["ids"]
                .as_array()
                .is_some_and(|ids| ids.contains(&json!(kept)))
        );
        let deleted = emu
            .send(emu.http.get(window("deleted")).bearer_auth(&emu.token))
            .await;
        assert_conforms("changes/restforce_get_deleted.json", &deleted, &[]);
        assert_conforms("changes/doc_get_deleted_empty.json", &deleted, &[]);
        emu.stop().await;
    })
    .await;
}

#[tokio::test]
async fn emulator_limits_have_the_real_shape() {
    bounded(async {
        let emu = Emu::start().await;
        let reply = emu.get("limits/").await;
        for file in [
            "limits/doc_limits_per_app_breakdown.json",
            "limits/simple_salesforce_org_limits.json",
        ] {
            let real = Fixture::load(file);
            assert_eq!(real.status / 100, reply.status / 100, "{file}");
            assert_conforms_body(
                file,
                &real.body["DailyApiRequests"],
                &reply.body["DailyApiRequests"],
                "$.DailyApiRequests",
                &["$.DailyApiRequests"],
            );
        }
        let v = reply.limit_info.expect("Sforce-Limit-Info on limits");
        assert!(limit_info_is_documented_form(&v), "{v}");
        emu.stop().await;
    })
    .await;
}

#[tokio::test]
async fn emulator_error_arrays_have_the_real_codes() {
    bounded(async {
        let emu = Emu::start().await;
        let unauth = emu
            .send(
                emu.http
                    .get(emu.data("limits/"))
                    .bearer_auth("00Dbogus!expired"),
            )
            .await;
        assert_conforms("errors/restforce_expired_session_401.json", &unauth, &[]);
        let field = emu.query("SELECT Foo__x FROM Account", false).await;
        assert_conforms("errors/restforce_query_invalid_field_400.json", &field, &[]);
        let malformed = emu.query("SELECT Name FROMM Account", false).await;
        assert_conforms("errors/doc_malformed_query_400.json", &malformed, &[]);
        let bad_write = emu
            .call(
                Method::POST,
                "sobjects/Account",
                Some(json!({"Name": "x", "foo": 1})),
            )
            .await;
        assert_conforms("errors/restforce_invalid_field_400.json", &bad_write, &[]);
        let id = emu.insert("Account", json!({"Name": "Twice"}));
        let first = emu
            .call(Method::DELETE, &format!("sobjects/Account/{id}"), None)
            .await;
        assert_eq!(first.status, 204, "{}", first.body);
        let twice = emu
            .call(Method::DELETE, &format!("sobjects/Account/{id}"), None)
            .await;
        assert_conforms("errors/doc_entity_is_deleted_404.json", &twice, &[]);
        let no_field = emu
            .call(Method::DELETE, "sobjects/Account/rid/123", None)
            .await;
        assert_conforms("errors/restforce_delete_not_found_404.json", &no_field, &[]);
        emu.h.emu.admin().exhaust_api_limit(ORG).expect("exhaust");
        let limited = emu.get("limits/").await;
        assert_conforms("errors/doc_request_limit_exceeded_403.json", &limited, &[]);
        emu.stop().await;
    })
    .await;
}

/// Needs the emulator's `OpportunityLineItem` rule from the sale/pricebook work on main.
#[tokio::test]
async fn emulator_refuses_a_line_item_without_pricebook_entry_like_salesforce() {
    bounded(async {
        let emu = Emu::start().await;
        let opp = emu
            .call(
                Method::POST,
                "sobjects/Opportunity",
                Some(
                    json!({"Name": "Deal", "StageName": "Prospecting", "CloseDate": "2026-12-30"}),
                ),
            )
            .await;
        let opp_id = opp.body["id"].as_str().unwrap_or_default().to_string();
        let line = emu
            .call(
                Method::POST,
                "sobjects/OpportunityLineItem",
                Some(json!({"OpportunityId": opp_id, "Quantity": 1, "UnitPrice": 10})),
            )
            .await;
        assert_conforms("errors/doc_field_integrity_exception_400.json", &line, &[]);
        emu.stop().await;
    })
    .await;
}

#[tokio::test]
async fn emulator_server_faults_have_the_real_shape() {
    bounded(async {
        let emu = Emu::start().await;
        for (status, file) in [
            (500, "errors/doc_unknown_exception_500.json"),
            (503, "errors/doc_server_unavailable_503.json"),
        ] {
            emu.h
                .emu
                .admin()
                .set_faults(
                    ORG,
                    sf_emulator::FaultSpec {
                        error_rate: 1.0,
                        error_status: Some(status),
                        ..Default::default()
                    },
                )
                .expect("faults");
            let reply = emu.query("SELECT Id FROM Account", false).await;
            assert_conforms(file, &reply, &[]);
        }
        emu.stop().await;
    })
    .await;
}
