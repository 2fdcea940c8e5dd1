//! Tokens (redacted in Debug) and the `TokenProvider` seam the REST client draws them from.

use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;
use tokio::sync::Mutex;
use url::Url;

use crate::error::SfError;
use crate::oauth::OAuthClient;

macro_rules! secret_string {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, PartialEq, Eq)]
        pub struct $name(String);

        impl $name {
            pub fn new(value: impl Into<String>) -> Self {
                $name(value.into())
            }
            /// The raw value; only for the wire or the secret store.
            pub fn secret(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(concat!(stringify!($name), "([redacted])"))
            }
        }
    };
}

secret_string!(
    /// A Salesforce session id (bearer token).
    AccessToken
);
secret_string!(
    /// A long-lived refresh token.
    RefreshToken
);
secret_string!(
    /// The PKCE code verifier kept between the authorize redirect and the callback.
    PkceVerifier
);

/// Where the REST client gets its bearer token.
///
/// The service implements this over its token vault: `refresh` runs under a lease so two
/// workers never spend the same rotating refresh token. `refresh` receives the token that
/// was rejected; if the vault already holds a newer one, return that instead of refreshing.
#[async_trait]
pub trait TokenProvider: Send + Sync {
    async fn access_token(&self) -> Result<AccessToken, SfError>;
    async fn refresh(&self, stale: &AccessToken) -> Result<AccessToken, SfError>;
}

/// A fixed token that cannot be refreshed (identity reads right after code exchange, tests).
#[derive(Debug)]
pub struct StaticTokenProvider(AccessToken);

impl StaticTokenProvider {
    pub fn new(token: AccessToken) -> Self {
        StaticTokenProvider(token)
    }
}

#[async_trait]
impl TokenProvider for StaticTokenProvider {
    async fn access_token(&self) -> Result<AccessToken, SfError> {
        Ok(self.0.clone())
    }
    async fn refresh(&self, _stale: &AccessToken) -> Result<AccessToken, SfError> {
        Err(SfError::Auth {
            reconnect_needed: true,
            code: "INVALID_SESSION_ID".into(),
            message: "static access token was rejected and cannot be refreshed".into(),
        })
    }
}

/// Holds a refresh token in memory and refreshes through [`OAuthClient`], keeping a rotated
/// refresh token when Salesforce returns one. For the CLI and tests; the service uses a vault.
pub struct InMemoryTokenProvider {
    oauth: OAuthClient,
    login_base: Url,
    state: Mutex<TokenState>,
}

struct TokenState {
    access: Option<AccessToken>,
    refresh: RefreshToken,
    refreshes: u64,
}

impl fmt::Debug for InMemoryTokenProvider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("InMemoryTokenProvider")
            .field("login_base", &self.login_base.as_str())
            .finish_non_exhaustive()
    }
}

impl InMemoryTokenProvider {
    pub fn new(
        oauth: OAuthClient,
        login_base: Url,
        access: Option<AccessToken>,
        refresh: RefreshToken,
    ) -> Arc<Self> {
        Arc::new(InMemoryTokenProvider {
            oauth,
            login_base,
            state: Mutex::new(TokenState {
                access,
                refresh,
                refreshes: 0,
            }),
        })
    }

    /// The refresh token currently held (changes when Salesforce rotates it).
    pub async fn refresh_token(&self) -> RefreshToken {
        self.state.lock().await.refresh.clone()
    }

    /// How many refresh grants this provider has spent.
    pub async fn refresh_count(&self) -> u64 {
        self.state.lock().await.refreshes
    }

    async fn refresh_locked(&self, state: &mut TokenState) -> Result<AccessToken, SfError> {
        let set = self.oauth.refresh(&self.login_base, &state.refresh).await?;
        state.refreshes += 1;
        if let Some(rotated) = set.refresh_token {
            state.refresh = rotated;
        }
        state.access = Some(set.access_token.clone());
        Ok(set.access_token)
    }
}

#[async_trait]
impl TokenProvider for InMemoryTokenProvider {
    async fn access_token(&self) -> Result<AccessToken, SfError> {
        let mut state = self.state.lock().await;
        match &state.access {
            Some(token) => Ok(token.clone()),
            None => self.refresh_locked(&mut state).await,
        }
    }

    async fn refresh(&self, stale: &AccessToken) -> Result<AccessToken, SfError> {
        let mut state = self.state.lock().await;
        if let Some(current) = &state.access
            && current != stale
        {
            return Ok(current.clone());
        }
        self.refresh_locked(&mut state).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_is_redacted() {
        let t = AccessToken::new("00Dxx!SECRETVALUE");
        let shown = format!("{t:?}");
        assert!(!shown.contains("SECRET"), "{shown}");
        assert_eq!(t.secret(), "00Dxx!SECRETVALUE");
        let r = RefreshToken::new("5Aep861SECRET");
        assert!(!format!("{r:?}").contains("SECRET"));
    }
}
