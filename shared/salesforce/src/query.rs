//! SOQL `query` / `queryAll` as a stream of pages that follows `nextRecordsUrl`; only one
//! page is in memory at a time.

use futures::stream::{self, BoxStream, StreamExt};
use reqwest::Method;
use serde::{Deserialize, Serialize};

use crate::client::SfClient;
use crate::error::SfError;
use crate::http::Request;
use crate::record::Record;

#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct QueryPage {
    pub total_size: u64,
    pub done: bool,
    #[serde(default)]
    pub next_records_url: Option<String>,
    #[serde(default)]
    pub records: Vec<Record>,
}

impl QueryPage {
    /// The page's records as typed rows (e.g. a struct with `#[serde(rename = "Id")]`).
    pub fn records_as<T: serde::de::DeserializeOwned>(&self) -> Result<Vec<T>, SfError> {
        self.records
            .iter()
            .map(|r| {
                serde_json::to_value(r)
                    .and_then(serde_json::from_value)
                    .map_err(|e| SfError::decode("query record", e))
            })
            .collect()
    }
}

/// `query` skips deleted and archived records; `queryAll` includes them (`IsDeleted`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum QueryScope {
    Live,
    IncludeDeleted,
}

pub(crate) const QUERY_OPTIONS: &str = "sforce-query-options";

enum Cursor {
    Start(String),
    /// A first page already read (e.g. inside a composite request).
    Read(Box<QueryPage>),
    Next(String),
    Done,
}

impl SfClient {
    /// `GET query?q=…`, page by page.
    pub fn query(&self, soql: impl Into<String>) -> BoxStream<'static, Result<QueryPage, SfError>> {
        self.query_pages(soql.into(), QueryScope::Live)
    }

    /// `GET queryAll?q=…`, page by page (includes deleted records).
    pub fn query_all(
        &self,
        soql: impl Into<String>,
    ) -> BoxStream<'static, Result<QueryPage, SfError>> {
        self.query_pages(soql.into(), QueryScope::IncludeDeleted)
    }

    /// The stream behind [`query`](Self::query) and [`query_all`](Self::query_all). It ends
    /// after the last page, or after the first error.
    pub fn query_pages(
        &self,
        soql: String,
        scope: QueryScope,
    ) -> BoxStream<'static, Result<QueryPage, SfError>> {
        self.pages_from(Cursor::Start(soql), scope)
    }

    /// The pages of a query whose first page was already read (e.g. by
    /// [`query_first_pages`](Self::query_first_pages)): that page, then each
    /// `nextRecordsUrl` (one call each).
    pub fn query_continue(
        &self,
        first: QueryPage,
    ) -> BoxStream<'static, Result<QueryPage, SfError>> {
        self.pages_from(Cursor::Read(Box::new(first)), QueryScope::Live)
    }

    fn pages_from(
        &self,
        start: Cursor,
        scope: QueryScope,
    ) -> BoxStream<'static, Result<QueryPage, SfError>> {
        let client = self.clone();
        stream::unfold(start, move |cursor| {
            let client = client.clone();
            async move {
                let result = match cursor {
                    Cursor::Done => return None,
                    Cursor::Start(soql) => client.query_first_page(&soql, scope).await,
                    Cursor::Read(page) => Ok(*page),
                    Cursor::Next(url) => client.query_more(&url).await,
                };
                Some(match result {
                    Ok(page) => {
                        let next = match (&page.next_records_url, page.done) {
                            (Some(url), false) => Cursor::Next(url.clone()),
                            _ => Cursor::Done,
                        };
                        (Ok(page), next)
                    }
                    Err(err) => (Err(err), Cursor::Done),
                })
            }
        })
        .boxed()
    }

    /// The first page only.
    pub async fn query_first_page(
        &self,
        soql: &str,
        scope: QueryScope,
    ) -> Result<QueryPage, SfError> {
        let resource = match scope {
            QueryScope::Live => "query",
            QueryScope::IncludeDeleted => "queryAll",
        };
        let mut url = self.data_url(&[resource]);
        url.query_pairs_mut().append_pair("q", soql);
        self.execute_json(self.query_request(url)?, "query").await
    }

    /// Follows a `nextRecordsUrl` (server-relative, on this instance only).
    pub async fn query_more(&self, next_records_url: &str) -> Result<QueryPage, SfError> {
        let url = self.instance_path(next_records_url)?;
        self.execute_json(self.query_request(url)?, "query").await
    }

    /// The org's name (`SELECT Name FROM Organization`).
    pub async fn org_name(&self) -> Result<String, SfError> {
        let page = self
            .query_first_page("SELECT Name FROM Organization", QueryScope::Live)
            .await?;
        page.records
            .first()
            .and_then(|r| r.get_str("Name"))
            .map(str::to_string)
            .ok_or_else(|| SfError::decode("Organization query", "no Name returned"))
    }

    fn query_request(&self, url: url::Url) -> Result<Request, SfError> {
        let request = Request::new(Method::GET, url);
        match self.query_options()? {
            Some(options) => request.header(QUERY_OPTIONS, options),
            None => Ok(request),
        }
    }

    /// The `Sforce-Query-Options` value for the configured batch size, if one is set.
    pub(crate) fn query_options(&self) -> Result<Option<String>, SfError> {
        match self.inner.config.query_batch_size {
            Some(size) if !(200..=2000).contains(&size) => Err(SfError::invalid(
                "query_batch_size",
                format!("{size} is outside 200..=2000"),
            )),
            Some(size) => Ok(Some(format!("batchSize={size}"))),
            None => Ok(None),
        }
    }
}
