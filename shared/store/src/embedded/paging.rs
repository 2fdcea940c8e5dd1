//! Opaque page tokens over sorted string keys.

use crate::error::{StoreError, StoreResult};
use crate::model::{Page, PageRequest, PageToken};

/// One page of `items` (ascending key order), continuing after the token's key.
pub(super) fn page_of<T: Clone>(
    items: impl Iterator<Item = (String, T)>,
    page: &PageRequest,
) -> StoreResult<Page<T>> {
    page_past(items, page, |key, token| key <= token)
}

/// [`page_of`] for items in descending key order: continues below the token's key.
pub(super) fn page_of_desc<T: Clone>(
    items: impl Iterator<Item = (String, T)>,
    page: &PageRequest,
) -> StoreResult<Page<T>> {
    page_past(items, page, |key, token| key >= token)
}

/// Skips items the token says were already served (`served(key, token_key)`), then takes
/// one page; the token of the next page is the last key served.
fn page_past<T: Clone>(
    items: impl Iterator<Item = (String, T)>,
    page: &PageRequest,
    served: impl Fn(&str, &str) -> bool,
) -> StoreResult<Page<T>> {
    let token = match &page.token {
        Some(t) => Some(decode_token(t)?),
        None => None,
    };
    let limit = page.effective_limit();
    let mut out = Vec::new();
    let mut last_key = None;
    let mut more = false;
    for (k, v) in items {
        if token.as_ref().is_some_and(|t| served(&k, t)) {
            continue;
        }
        if out.len() == limit {
            more = true;
            break;
        }
        last_key = Some(k);
        out.push(v);
    }
    let next = if more {
        last_key.map(|k| PageToken(encode_token(&k)))
    } else {
        None
    };
    Ok(Page { items: out, next })
}

pub(super) fn encode_token(k: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(k)
}

pub(super) fn decode_token(t: &PageToken) -> StoreResult<String> {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(&t.0)
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
        .ok_or_else(|| StoreError::invalid("page token", "not a token this store issued"))
}
