//! Listing cursors: opaque, and bound to the query they continue so a cursor from one
//! tenant, connection or filter cannot be replayed against another.

use base64::Engine as _;
use crmsync_store::{PageToken, StoreError};

use super::store_err;
use crate::error::ServiceError;

pub(super) fn encode_cursor(fingerprint: &str, token: &PageToken) -> String {
    let raw = serde_json::json!({ "q": fingerprint, "k": token.0 }).to_string();
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(raw)
}

pub(super) fn bad_cursor() -> ServiceError {
    ServiceError::bad_request(
        "cursor",
        "not a cursor of this listing (filters must stay the same)",
    )
}

/// [`store_err`] for a listing that took a caller's cursor: the store refusing the page
/// token inside it (a forged cursor whose key lies outside this listing) is the
/// cursor's fault, a 400 naming `cursor`.
pub(super) fn listing_err(e: StoreError) -> ServiceError {
    match e {
        StoreError::InvalidInput { field, .. } if field == "page token" => bad_cursor(),
        other => store_err(other),
    }
}

pub(super) fn decode_cursor(fingerprint: &str, cursor: &str) -> Result<PageToken, ServiceError> {
    let bad = bad_cursor;
    let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(cursor)
        .map_err(|_| bad())?;
    let value: serde_json::Value = serde_json::from_slice(&raw).map_err(|_| bad())?;
    if value.get("q").and_then(|q| q.as_str()) != Some(fingerprint) {
        return Err(bad());
    }
    let token = value.get("k").and_then(|k| k.as_str()).ok_or_else(bad)?;
    Ok(PageToken(token.to_string()))
}
