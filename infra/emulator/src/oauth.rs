//! OAuth 2.0 endpoints (filled in below).

use crate::state::{AccessGrant, State};
use base64::Engine;
use rand::RngCore;

/// A Salesforce-looking opaque token: `{orgId15}!{random}`.
pub fn new_token_string(org_id: &str) -> String {
    let mut bytes = [0u8; 48];
    rand::rng().fill_bytes(&mut bytes);
    let tail = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes);
    format!("{}!{}", &org_id[..15.min(org_id.len())], tail)
}

pub fn new_access_token(st: &mut State, org: usize, user_id: &str) -> String {
    let token = new_token_string(&st.orgs[org].org_id);
    let expires = st.clock.now() + st.access_ttl;
    st.access.insert(
        token.clone(),
        AccessGrant {
            org,
            user_id: user_id.to_string(),
            expires,
        },
    );
    token
}
