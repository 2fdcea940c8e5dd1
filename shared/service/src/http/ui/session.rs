//! Short-lived signed UI session tokens, so a SaaS backend can hand its signed-in admin the
//! admin page without the tenant's API key ever reaching a browser.
//!
//! A token is `v1.{tenant}.{connection}.{expires}.{sig}` (`connection` empty when the
//! session covers every connection of the tenant; ids never contain `.`), with
//! `sig = hex(HMAC-SHA256(webhook secret, "crmsync-ui-session|v1|{tenant}|{connection}|{expires}"))`.
//! The key is the tenant's webhook secret, which the service already keeps per tenant: a
//! token names its tenant, and only that tenant's secret verifies it (a token relabelled
//! to another tenant fails), and rotating the tenant's credentials ends every session.
//! The prefix keeps a session signature apart from webhook and connect-link signatures.

use crmsync_store::{ConnectionId, TenantId};
use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::error::ServiceError;

/// Default and longest session lifetime.
pub const DEFAULT_TTL_SECS: i64 = 15 * 60;
pub const MAX_TTL_SECS: i64 = 60 * 60;

type HmacSha256 = Hmac<Sha256>;

/// What a verified token grants.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UiSession {
    pub tenant: TenantId,
    /// `Some`: only this connection's routes.
    pub connection: Option<ConnectionId>,
    /// Unix seconds.
    pub expires_at: i64,
}

fn mac(secret: &str, s: &UiSession) -> HmacSha256 {
    let mut m = HmacSha256::new_from_slice(secret.as_bytes()).expect("hmac takes any key");
    m.update(
        format!(
            "crmsync-ui-session|v1|{}|{}|{}",
            s.tenant.as_str(),
            s.connection.as_ref().map_or("", ConnectionId::as_str),
            s.expires_at
        )
        .as_bytes(),
    );
    m
}

/// The token for `session`, signed with the tenant's webhook secret.
pub fn sign(secret: &str, session: &UiSession) -> String {
    format!(
        "v1.{}.{}.{}.{}",
        session.tenant.as_str(),
        session.connection.as_ref().map_or("", ConnectionId::as_str),
        session.expires_at,
        hex::encode(mac(secret, session).finalize().into_bytes())
    )
}

fn malformed() -> ServiceError {
    ServiceError::Unauthorized("the session token is malformed; open the admin page again".into())
}

/// Reads a token's claims without trusting them (the tenant tells whose secret to check with).
pub fn parse(token: &str) -> Result<(UiSession, &str), ServiceError> {
    let parts: Vec<&str> = token.trim().split('.').collect();
    let [version, tenant, connection, expires, sig] = parts[..] else {
        return Err(malformed());
    };
    if version != "v1" {
        return Err(malformed());
    }
    let session = UiSession {
        tenant: TenantId::new(tenant).map_err(|_| malformed())?,
        connection: match connection {
            "" => None,
            c => Some(ConnectionId::new(c).map_err(|_| malformed())?),
        },
        expires_at: expires.parse().map_err(|_| malformed())?,
    };
    Ok((session, sig))
}

/// Checks the signature (constant time) and that the session is live: not expired, and
/// not claiming more than [`MAX_TTL_SECS`] ahead. `now` is unix seconds.
pub fn verify(secret: &str, token: &str, now: i64) -> Result<UiSession, ServiceError> {
    let (session, sig) = parse(token)?;
    let expected = hex::decode(sig).map_err(|_| malformed())?;
    mac(secret, &session).verify_slice(&expected).map_err(|_| {
        ServiceError::Unauthorized("the session token's signature does not match".into())
    })?;
    if session.expires_at <= now {
        return Err(ServiceError::Unauthorized(
            "the admin session has expired; open the admin page again from the app".into(),
        ));
    }
    if session.expires_at.saturating_sub(now) > MAX_TTL_SECS {
        return Err(ServiceError::Unauthorized(
            "the session token lives longer than an hour".into(),
        ));
    }
    Ok(session)
}

/// Why a session may not call `path` (a `/v1` path), if it may not: a session never rotates
/// credentials or mints sessions, and one bound to a connection reaches only that
/// connection's routes and the connection list.
pub fn refusal(session: &UiSession, path: &str) -> Option<String> {
    if path == "/v1/credentials/rotate" || path.starts_with("/v1/ui-sessions") {
        return Some("an admin page session cannot do this; use the API key".into());
    }
    let Some(c) = &session.connection else {
        return None;
    };
    let own = format!("/v1/connections/{}", c.as_str());
    let allowed = path == "/v1/connections"
        || path == "/v1/health"
        || path == own
        || path.starts_with(&format!("{own}/"));
    (!allowed).then(|| {
        format!(
            "this admin page session covers connection {} only",
            c.as_str()
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_800_000_000;

    fn session(connection: Option<&str>) -> UiSession {
        UiSession {
            tenant: TenantId::new("acme").unwrap(),
            connection: connection.map(|c| ConnectionId::new(c).unwrap()),
            expires_at: NOW + 600,
        }
    }

    #[test]
    fn a_signed_token_verifies_to_its_claims() {
        for s in [session(None), session(Some("production"))] {
            let token = sign("whsec_a", &s);
            assert_eq!(verify("whsec_a", &token, NOW).unwrap(), s);
        }
    }

    #[test]
    fn expired_and_overlong_tokens_are_refused() {
        let token = sign("whsec_a", &session(None));
        verify("whsec_a", &token, NOW + 599).unwrap();
        let err = verify("whsec_a", &token, NOW + 600).unwrap_err();
        assert!(err.to_string().contains("expired"), "{err}");
        let long = UiSession {
            expires_at: NOW + MAX_TTL_SECS + 1,
            ..session(None)
        };
        let err = verify("whsec_a", &sign("whsec_a", &long), NOW).unwrap_err();
        assert!(err.to_string().contains("longer"), "{err}");
        let extreme = UiSession {
            expires_at: i64::MAX,
            ..session(None)
        };
        assert!(verify("whsec_a", &sign("whsec_a", &extreme), i64::MIN).is_err());
    }

    #[test]
    fn tampered_tokens_are_refused() {
        let token = sign("whsec_a", &session(Some("production")));
        let later = token.replace(&format!(".{}.", NOW + 600), &format!(".{}.", NOW + 900));
        assert_ne!(later, token);
        let other_conn = token.replace(".production.", ".sandbox.");
        let any_conn = token.replace(".production.", "..");
        let mut flipped = token.clone();
        let last = flipped.pop().unwrap();
        flipped.push(if last == '0' { '1' } else { '0' });
        for bad in [later, other_conn, any_conn, flipped] {
            let err = verify("whsec_a", &bad, NOW).unwrap_err();
            assert!(err.to_string().contains("signature"), "{bad}: {err}");
        }
        for garbage in [
            "",
            "v1.acme",
            "v2.acme..1.ab",
            "v1.ac#me..1.ab",
            "v1.acme..soon.ab",
        ] {
            let err = verify("whsec_a", garbage, NOW).unwrap_err();
            assert!(err.to_string().contains("malformed"), "{garbage}: {err}");
        }
    }

    #[test]
    fn a_token_relabelled_to_another_tenant_fails_under_that_tenant_s_secret() {
        let token = sign("whsec_acme", &session(None));
        let relabelled = token.replace("v1.acme.", "v1.globex.");
        let (claims, _) = parse(&relabelled).unwrap();
        assert_eq!(claims.tenant.as_str(), "globex");
        // The service checks a token with the secret of the tenant it names.
        assert!(verify("whsec_globex", &relabelled, NOW).is_err());
        assert!(verify("whsec_globex", &token, NOW).is_err());
    }

    #[test]
    fn sessions_reach_only_their_scope() {
        let all = session(None);
        assert_eq!(refusal(&all, "/v1/connections/x/runs"), None);
        assert_eq!(refusal(&all, "/v1/changes"), None);
        assert!(refusal(&all, "/v1/credentials/rotate").is_some());
        assert!(refusal(&all, "/v1/ui-sessions").is_some());
        let one = session(Some("production"));
        assert_eq!(refusal(&one, "/v1/connections"), None);
        assert_eq!(refusal(&one, "/v1/connections/production"), None);
        assert_eq!(refusal(&one, "/v1/connections/production/config"), None);
        assert!(refusal(&one, "/v1/connections/production2/config").is_some());
        assert!(refusal(&one, "/v1/connections/sandbox").is_some());
        assert!(refusal(&one, "/v1/changes").is_some());
    }
}
