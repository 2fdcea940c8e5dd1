//! Opaque page tokens over sorted string keys.

use crate::error::{StoreError, StoreResult};
use crate::model::{Page, PageRequest, PageToken};

pub(super) fn page_of<T: Clone>(
    items: impl Iterator<Item = (String, T)>,
    page: &PageRequest,
) -> StoreResult<Page<T>> {
    let after = match &page.token {
        Some(t) => Some(decode_token(t)?),
        None => None,
    };
    let limit = page.effective_limit();
    let mut out = Vec::new();
    let mut last_key = None;
    let mut more = false;
    for (k, v) in items {
        if after.as_ref().is_some_and(|a| k.as_str() <= a.as_str()) {
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

/// [`page_of`] for items in descending key order: continues below the token's key.
pub(super) fn page_of_desc<T: Clone>(
    items: impl Iterator<Item = (String, T)>,
    page: &PageRequest,
) -> StoreResult<Page<T>> {
    let before = match &page.token {
        Some(t) => Some(decode_token(t)?),
        None => None,
    };
    let limit = page.effective_limit();
    let mut out = Vec::new();
    let mut last_key = None;
    let mut more = false;
    for (k, v) in items {
        if before.as_ref().is_some_and(|b| k.as_str() >= b.as_str()) {
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
