//! Signed connect links. The app sends its admin's browser to
//! `GET /connect/{tenant}?env=…&connection=…&return_to=…&t=<unix>&sig=<hex>`, signed with
//! the tenant's webhook secret:
//! `sig = hex(HMAC-SHA256(secret, "{tenant}|{connection}|{env}|{return_to}|{t}"))`
//! (`return_to` empty when absent). The link is valid for [`CONNECT_LINK_TTL_SECS`] either
//! side of `t`, so a leaked link cannot start connects for long, and nobody without the
//! secret can point a tenant's connection at an org of their choosing.

use crmsync_store::{ConnectionId, Environment, TenantId};
use hmac::{Hmac, Mac};
use sha2::Sha256;
use url::Url;

use crate::error::ServiceError;

/// How long a signed connect link stays valid.
pub const CONNECT_LINK_TTL_SECS: i64 = 10 * 60;

type HmacSha256 = Hmac<Sha256>;

/// What a connect link carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectLink {
    pub tenant: TenantId,
    pub connection: ConnectionId,
    pub environment: Environment,
    pub return_to: Option<String>,
    /// Unix seconds when the app made the link.
    pub issued_at: i64,
}

pub fn environment_name(env: Environment) -> &'static str {
    match env {
        Environment::Production => "production",
        Environment::Sandbox => "sandbox",
    }
}

fn mac(secret: &str, link: &ConnectLink) -> HmacSha256 {
    let mut m = HmacSha256::new_from_slice(secret.as_bytes()).expect("hmac takes any key");
    m.update(
        format!(
            "{}|{}|{}|{}|{}",
            link.tenant.as_str(),
            link.connection.as_str(),
            environment_name(link.environment),
            link.return_to.as_deref().unwrap_or(""),
            link.issued_at
        )
        .as_bytes(),
    );
    m
}

/// The hex signature of a link.
pub fn sign_connect_link(secret: &str, link: &ConnectLink) -> String {
    hex::encode(mac(secret, link).finalize().into_bytes())
}

/// Checks a link's signature (constant time) and age; `now` is unix seconds.
pub fn verify_connect_link(
    secret: &str,
    link: &ConnectLink,
    sig: &str,
    now: i64,
) -> Result<(), ServiceError> {
    // abs_diff: `issued_at` comes from the URL, and `now - i64::MIN` would overflow.
    if now.abs_diff(link.issued_at) > CONNECT_LINK_TTL_SECS.unsigned_abs() {
        return Err(ServiceError::Unauthorized(
            "the connect link has expired; open it again from the app".into(),
        ));
    }
    let expected = hex::decode(sig)
        .map_err(|_| ServiceError::Unauthorized("connect link signature is not hex".into()))?;
    mac(secret, link)
        .verify_slice(&expected)
        .map_err(|_| ServiceError::Unauthorized("connect link signature does not match".into()))
}

/// The full signed link under `base` (the public URL of the oauth function).
pub fn connect_link_url(base: &Url, secret: &str, link: &ConnectLink) -> Url {
    let mut url = base.clone();
    url.path_segments_mut()
        .map(|mut p| {
            p.pop_if_empty().extend(["connect", link.tenant.as_str()]);
        })
        .ok();
    {
        let mut q = url.query_pairs_mut();
        q.clear()
            .append_pair("env", environment_name(link.environment))
            .append_pair("connection", link.connection.as_str());
        if let Some(rt) = &link.return_to {
            q.append_pair("return_to", rt);
        }
        q.append_pair("t", &link.issued_at.to_string())
            .append_pair("sig", &sign_connect_link(secret, link));
    }
    url
}

#[cfg(test)]
mod tests {
    use super::*;

    fn link() -> ConnectLink {
        ConnectLink {
            tenant: TenantId::new("acme").unwrap(),
            connection: ConnectionId::new("production").unwrap(),
            environment: Environment::Production,
            return_to: Some("https://app.example/settings?x=1|2".into()),
            issued_at: 1_700_000_000,
        }
    }

    #[test]
    fn signed_links_verify_and_tampering_fails() {
        let sig = sign_connect_link("whsec_x", &link());
        verify_connect_link("whsec_x", &link(), &sig, 1_700_000_100).unwrap();
        assert!(verify_connect_link("whsec_y", &link(), &sig, 1_700_000_100).is_err());
        let mut other = link();
        other.environment = Environment::Sandbox;
        assert!(verify_connect_link("whsec_x", &other, &sig, 1_700_000_100).is_err());
        let mut other = link();
        other.return_to = Some("https://evil.example/".into());
        assert!(verify_connect_link("whsec_x", &other, &sig, 1_700_000_100).is_err());
        assert!(verify_connect_link("whsec_x", &link(), "zz", 1_700_000_100).is_err());
    }

    #[test]
    fn links_expire_after_ten_minutes() {
        let sig = sign_connect_link("whsec_x", &link());
        verify_connect_link(
            "whsec_x",
            &link(),
            &sig,
            1_700_000_000 + CONNECT_LINK_TTL_SECS,
        )
        .unwrap();
        let err = verify_connect_link(
            "whsec_x",
            &link(),
            &sig,
            1_700_000_001 + CONNECT_LINK_TTL_SECS,
        )
        .unwrap_err();
        assert!(err.to_string().contains("expired"), "{err}");
    }

    #[test]
    fn link_url_carries_every_signed_part() {
        let url = connect_link_url(
            &Url::parse("https://oauth.example/").unwrap(),
            "whsec_x",
            &link(),
        );
        assert_eq!(url.path(), "/connect/acme");
        let q: std::collections::HashMap<_, _> = url.query_pairs().into_owned().collect();
        assert_eq!(q["env"], "production");
        assert_eq!(q["return_to"], "https://app.example/settings?x=1|2");
        assert_eq!(q["sig"], sign_connect_link("whsec_x", &link()));
    }

    #[test]
    fn extreme_issue_times_are_refused_without_overflow() {
        for issued_at in [i64::MIN, i64::MIN + 1, i64::MAX] {
            let link = ConnectLink {
                issued_at,
                ..link()
            };
            let sig = sign_connect_link("whsec_x", &link);
            for now in [1_700_000_000, 0, i64::MAX, i64::MIN] {
                if (i128::from(now) - i128::from(issued_at)).abs() <= 600 {
                    continue; // within the window: not what this test is about
                }
                let err = verify_connect_link("whsec_x", &link, &sig, now).unwrap_err();
                assert!(
                    err.to_string().contains("expired"),
                    "issued_at={issued_at} now={now}: {err}"
                );
            }
        }
    }
}
