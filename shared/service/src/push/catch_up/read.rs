//! The catch-up read: the linked records a window of outbox chunks changes, in as few API
//! calls as Salesforce allows (one per five queries of up to 200 Ids).
//!
//! What this relies on (Salesforce documentation):
//! - Composite resource, REST API Developer Guide: up to 25 subrequests a request, of which
//!   up to 5 query operations, and "the entire series of requests counts as a single call
//!   toward your API limits" (`SfClient::query_first_pages`, `COMPOSITE_MAX_QUERIES`).
//! - Knowledge article 000386264 ("Maximum number of rows returned by SOQL queries over the
//!   REST API"): a query page holds up to 2,000 rows; URI and headers together may not
//!   exceed 16,384 bytes (414 URI Too Long); a SOQL statement may carry its query inside a
//!   composite request's body instead. 200 Ids of 18 characters are about 5,400 bytes
//!   percent-encoded, so a query fits even as a plain GET, and its rows one page.
//! - SOQL and SOSL Limits (Salesforce limits cheat sheet): a SOQL statement may be
//!   100,000 characters long.

use std::collections::BTreeMap;

use crmsync_core::config::SyncConfig;
use crmsync_salesforce::soql::Condition;
use crmsync_salesforce::{Record, SfClient};
use futures::StreamExt;

use crate::error::ServiceError;

/// Ids per `Id IN (...)` query (see the module comment for the size).
pub(super) const IDS_PER_QUERY: usize = 200;

/// Reads `ids` per object: one `Id IN` query per object and [`IDS_PER_QUERY`] Ids, their
/// first pages five to a composite request, further pages (none at this size) one call each.
pub(super) async fn linked_records(
    client: &SfClient,
    config: &SyncConfig,
    ids: &BTreeMap<String, Vec<String>>,
) -> Result<Vec<(String, Record)>, ServiceError> {
    let mut queries: Vec<(String, String)> = Vec::new();
    for (object, ids) in ids {
        for chunk in ids.chunks(IDS_PER_QUERY) {
            let filter = Condition::in_list("Id", chunk.iter().map(String::as_str));
            let soql = crate::poll::select_mapped(
                client,
                config,
                object,
                Some(filter),
                crate::poll::Shape::Unordered,
            )
            .await?;
            queries.push((object.clone(), soql));
        }
    }
    if queries.is_empty() {
        return Ok(Vec::new());
    }
    let soqls: Vec<String> = queries.iter().map(|(_, soql)| soql.clone()).collect();
    let first_pages = client.query_first_pages(&soqls).await?;
    let mut out = Vec::new();
    for ((object, _), first) in queries.into_iter().zip(first_pages) {
        let mut pages = client.query_continue(first?);
        while let Some(page) = pages.next().await {
            out.extend(page?.records.into_iter().map(|r| (object.clone(), r)));
        }
    }
    Ok(out)
}
