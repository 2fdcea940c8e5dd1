//! OAuth 2.0 web-server flow with PKCE against Salesforce (production, sandbox or My Domain
//! login hosts): authorize URL, code exchange, refresh (with optional rotation), revoke and
//! the identity service.
//!
//! Built on the `oauth2` crate. Salesforce's token response has no `expires_in` and adds
//! `instance_url`, `id`, `issued_at` and `signature`, carried as extra token fields.

use std::fmt;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use oauth2::basic::{
    BasicErrorResponse, BasicRevocationErrorResponse, BasicTokenIntrospectionResponse,
    BasicTokenType,
};
use oauth2::{
    AsyncHttpClient, AuthType, AuthUrl, AuthorizationCode, Client, ClientId, ClientSecret,
    CsrfToken, EndpointNotSet, EndpointSet, ExtraTokenFields, HttpRequest, HttpResponse,
    PkceCodeChallenge, PkceCodeVerifier, RedirectUrl, RequestTokenError, Scope,
    StandardRevocableToken, StandardTokenResponse, TokenResponse, TokenUrl,
};
use serde::{Deserialize, Serialize};
use url::Url;

use crate::config::ensure_trailing_slash;
use crate::error::{SfError, classify};
use crate::token::{AccessToken, PkceVerifier, RefreshToken};

/// The connected app's settings.
#[derive(Clone)]
pub struct OAuthConfig {
    pub client_id: String,
    pub client_secret: Option<String>,
    /// The callback registered in the connected app (`CRMSYNC_OAUTH_REDIRECT_URL`).
    pub redirect_url: Url,
    /// Requested scopes; Salesforce needs `refresh_token` to issue one.
    pub scopes: Vec<String>,
}

impl fmt::Debug for OAuthConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OAuthConfig")
            .field("client_id", &self.client_id)
            .field(
                "client_secret",
                &self.client_secret.as_ref().map(|_| "[redacted]"),
            )
            .field("redirect_url", &self.redirect_url.as_str())
            .field("scopes", &self.scopes)
            .finish()
    }
}

impl OAuthConfig {
    pub fn new(
        client_id: impl Into<String>,
        client_secret: Option<String>,
        redirect_url: Url,
    ) -> Self {
        OAuthConfig {
            client_id: client_id.into(),
            client_secret,
            redirect_url,
            scopes: vec!["api".into(), "refresh_token".into()],
        }
    }
}

/// Salesforce's additions to the token response.
#[derive(Clone, Debug, Deserialize, Serialize)]
pub struct SalesforceTokenFields {
    pub instance_url: String,
    /// Identity URL `…/id/{orgId}/{userId}`.
    pub id: String,
    /// Epoch milliseconds, as a string.
    #[serde(default)]
    pub issued_at: Option<String>,
    #[serde(default)]
    pub signature: Option<String>,
}

impl ExtraTokenFields for SalesforceTokenFields {}

type SfTokenResponse = StandardTokenResponse<SalesforceTokenFields, BasicTokenType>;

type SfOAuth2Unset = Client<
    BasicErrorResponse,
    SfTokenResponse,
    BasicTokenIntrospectionResponse,
    StandardRevocableToken,
    BasicRevocationErrorResponse,
>;

type SfOAuth2Client = Client<
    BasicErrorResponse,
    SfTokenResponse,
    BasicTokenIntrospectionResponse,
    StandardRevocableToken,
    BasicRevocationErrorResponse,
    EndpointSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointSet,
>;

/// What the connect step stores (with a TTL, bound to the tenant) until the callback.
#[derive(Debug)]
pub struct AuthorizeRequest {
    /// Send the user's browser here.
    pub url: Url,
    /// The `state` parameter to check on the callback.
    pub state: String,
    pub pkce_verifier: PkceVerifier,
}

/// A token endpoint answer. `refresh_token` is present on code exchange, and on refresh only
/// when the org rotates refresh tokens.
#[derive(Clone, Debug)]
pub struct TokenSet {
    pub access_token: AccessToken,
    pub refresh_token: Option<RefreshToken>,
    pub instance_url: Url,
    pub identity_url: Url,
    pub issued_at: Option<DateTime<Utc>>,
    pub scopes: Vec<String>,
}

/// The identity service's answer (`GET` the token's `id` URL).
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq, Eq)]
pub struct Identity {
    pub user_id: String,
    pub organization_id: String,
    pub username: String,
    #[serde(default)]
    pub email: Option<String>,
    #[serde(default)]
    pub display_name: Option<String>,
    #[serde(default)]
    pub nick_name: Option<String>,
    #[serde(default)]
    pub user_type: Option<String>,
}

/// Which token to revoke. Revoking a refresh token also ends its sessions.
#[derive(Clone, Debug)]
pub enum Revocable {
    Access(AccessToken),
    Refresh(RefreshToken),
}

/// OAuth client for one connected app; cheap to clone, shares the process's HTTP client.
#[derive(Clone, Debug)]
pub struct OAuthClient {
    config: Arc<OAuthConfig>,
    http: reqwest::Client,
}

impl OAuthClient {
    pub fn new(config: OAuthConfig, http: reqwest::Client) -> Self {
        OAuthClient {
            config: Arc::new(config),
            http,
        }
    }

    pub fn config(&self) -> &OAuthConfig {
        &self.config
    }

    fn client(&self, login_base: &Url) -> Result<SfOAuth2Client, SfError> {
        let base = ensure_trailing_slash(login_base);
        let endpoint = |path: &str| {
            base.join(path)
                .map(|u| u.to_string())
                .map_err(|e| SfError::Config {
                    message: format!("login URL: {e}"),
                })
        };
        let config_err = |e: url::ParseError| SfError::Config {
            message: format!("login URL: {e}"),
        };
        let mut client = SfOAuth2Unset::new(ClientId::new(self.config.client_id.clone()))
            .set_auth_type(AuthType::RequestBody)
            .set_redirect_uri(
                RedirectUrl::new(self.config.redirect_url.to_string()).map_err(config_err)?,
            );
        if let Some(secret) = &self.config.client_secret {
            client = client.set_client_secret(ClientSecret::new(secret.clone()));
        }
        Ok(client
            .set_auth_uri(AuthUrl::new(endpoint("services/oauth2/authorize")?).map_err(config_err)?)
            .set_token_uri(TokenUrl::new(endpoint("services/oauth2/token")?).map_err(config_err)?))
    }

    /// Builds the authorize URL with a random `state` and an S256 PKCE challenge.
    pub fn authorize_url(&self, login_base: &Url) -> Result<AuthorizeRequest, SfError> {
        let client = self.client(login_base)?;
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let (url, state) = client
            .authorize_url(CsrfToken::new_random)
            .add_scopes(self.config.scopes.iter().cloned().map(Scope::new))
            .set_pkce_challenge(challenge)
            .url();
        Ok(AuthorizeRequest {
            url,
            state: state.secret().clone(),
            pkce_verifier: PkceVerifier::new(verifier.secret().clone()),
        })
    }

    /// Exchanges the callback's `code` (with the stored PKCE verifier) for tokens.
    pub async fn exchange_code(
        &self,
        login_base: &Url,
        code: &str,
        verifier: &PkceVerifier,
    ) -> Result<TokenSet, SfError> {
        let client = self.client(login_base)?;
        let http = self.transport();
        let response = client
            .exchange_code(AuthorizationCode::new(code.to_string()))
            .set_pkce_verifier(PkceCodeVerifier::new(verifier.secret().to_string()))
            .request_async(&http)
            .await
            .map_err(map_token_error)?;
        token_set(response)
    }

    /// Spends a refresh token. Refresh against the host the token came from.
    pub async fn refresh(
        &self,
        login_base: &Url,
        refresh: &RefreshToken,
    ) -> Result<TokenSet, SfError> {
        let client = self.client(login_base)?;
        let http = self.transport();
        let token = oauth2::RefreshToken::new(refresh.secret().to_string());
        let response = client
            .exchange_refresh_token(&token)
            .request_async(&http)
            .await
            .map_err(map_token_error)?;
        token_set(response)
    }

    /// Revokes a token (`POST services/oauth2/revoke`, form `token=`). A token Salesforce no
    /// longer knows (`invalid_token`, `unsupported_token_type`) counts as revoked, so
    /// disconnect is idempotent. Sent directly: `oauth2` insists on an https revocation URL,
    /// which local emulators don't have.
    pub async fn revoke(&self, login_base: &Url, token: Revocable) -> Result<(), SfError> {
        let url = ensure_trailing_slash(login_base)
            .join("services/oauth2/revoke")
            .map_err(|e| SfError::Config {
                message: format!("login URL: {e}"),
            })?;
        let secret = match &token {
            Revocable::Access(t) => t.secret(),
            Revocable::Refresh(t) => t.secret(),
        };
        let response = self
            .http
            .post(url)
            .form(&[("token", secret)])
            .send()
            .await
            .map_err(SfError::from_transport)?;
        let status = response.status().as_u16();
        if (200..300).contains(&status) {
            return Ok(());
        }
        let body = response.bytes().await.map_err(SfError::from_transport)?;
        match classify(status, &body) {
            SfError::Permanent { code, .. }
                if code == "invalid_token" || code == "unsupported_token_type" =>
            {
                Ok(())
            }
            other => Err(other),
        }
    }

    /// Reads the identity URL with the bearer token.
    pub async fn identity(
        &self,
        identity_url: &Url,
        token: &AccessToken,
    ) -> Result<Identity, SfError> {
        let response = self
            .http
            .get(identity_url.clone())
            .bearer_auth(token.secret())
            .header(reqwest::header::ACCEPT, "application/json")
            .send()
            .await
            .map_err(SfError::from_transport)?;
        let status = response.status().as_u16();
        let body = response.bytes().await.map_err(SfError::from_transport)?;
        if !(200..300).contains(&status) {
            // The identity service answers 403 "Bad_OAuth_Token" for a dead session.
            return Err(match classify(status, &body) {
                SfError::Permanent {
                    status: 403,
                    code,
                    message,
                    ..
                } => SfError::Auth {
                    reconnect_needed: false,
                    code,
                    message,
                },
                other => other,
            });
        }
        serde_json::from_slice(&body).map_err(|e| SfError::decode("identity", e))
    }

    /// The transport handed to `oauth2`: reqwest, with 5xx turned into retryable errors so
    /// a gateway's HTML page is not mistaken for a malformed OAuth answer.
    fn transport(
        &self,
    ) -> impl Fn(
        HttpRequest,
    )
        -> std::pin::Pin<Box<dyn Future<Output = Result<HttpResponse, SfError>> + Send>>
    + use<> {
        let http = self.http.clone();
        move |request: HttpRequest| {
            let http = http.clone();
            Box::pin(async move {
                let response = http.call(request).await.map_err(|e| match e {
                    oauth2::HttpClientError::Reqwest(inner) => SfError::from_transport(*inner),
                    other => SfError::Retryable {
                        status: None,
                        code: "TRANSPORT".into(),
                        message: other.to_string(),
                    },
                })?;
                let status = response.status().as_u16();
                if status >= 500 {
                    return Err(classify(status, response.body()));
                }
                Ok(with_bearer_token_type(response))
            })
        }
    }
}

/// Older orgs (and restforce's recorded answers) omit `token_type`; Salesforce's tokens are
/// always bearer tokens, and `oauth2` refuses a token response without the field.
fn with_bearer_token_type(response: HttpResponse) -> HttpResponse {
    let (parts, body) = response.into_parts();
    let body = match serde_json::from_slice::<serde_json::Value>(&body) {
        Ok(serde_json::Value::Object(mut fields))
            if fields.contains_key("access_token") && !fields.contains_key("token_type") =>
        {
            fields.insert("token_type".into(), "Bearer".into());
            serde_json::to_vec(&fields).unwrap_or(body)
        }
        _ => body,
    };
    HttpResponse::from_parts(parts, body)
}

fn token_set(response: SfTokenResponse) -> Result<TokenSet, SfError> {
    let extra = response.extra_fields();
    let instance_url = Url::parse(&extra.instance_url)
        .map_err(|e| SfError::decode("token response instance_url", e))?;
    let identity_url =
        Url::parse(&extra.id).map_err(|e| SfError::decode("token response id", e))?;
    let issued_at = extra
        .issued_at
        .as_deref()
        .and_then(|ms| ms.parse::<i64>().ok())
        .and_then(DateTime::<Utc>::from_timestamp_millis);
    Ok(TokenSet {
        access_token: AccessToken::new(response.access_token().secret().clone()),
        refresh_token: response
            .refresh_token()
            .map(|t| RefreshToken::new(t.secret().clone())),
        instance_url,
        identity_url,
        issued_at,
        scopes: response
            .scopes()
            .map(|s| s.iter().map(|s| s.to_string()).collect())
            .unwrap_or_default(),
    })
}

/// Maps an `oauth2` failure without ever printing a response body (it may hold tokens).
fn map_token_error<T>(err: RequestTokenError<SfError, oauth2::StandardErrorResponse<T>>) -> SfError
where
    T: oauth2::ErrorResponseType + AsRef<str> + std::fmt::Display + Send + Sync + 'static,
{
    match err {
        RequestTokenError::ServerResponse(resp) => {
            let code = resp.error().as_ref().to_string();
            let message = resp.error_description().cloned().unwrap_or_default();
            match code.as_str() {
                // Expired/revoked refresh token, bad code or verifier: only a new consent helps.
                "invalid_grant" => SfError::Auth {
                    reconnect_needed: true,
                    code,
                    message,
                },
                // The app's credentials, not the grant: no reconnect helps (secret rotation).
                "invalid_client" | "invalid_client_id" | "unauthorized_client" => {
                    SfError::AppCredentials { code, message }
                }
                "temporarily_unavailable" | "server_error" => SfError::Retryable {
                    status: None,
                    code,
                    message,
                },
                _ => SfError::Permanent {
                    status: 400,
                    code,
                    message,
                    fields: Vec::new(),
                },
            }
        }
        RequestTokenError::Request(sf) => sf,
        RequestTokenError::Parse(err, _body) => SfError::Decode {
            context: "OAuth token response".into(),
            message: format!("field {} did not parse", err.path()),
        },
        RequestTokenError::Other(message) => SfError::Decode {
            context: "OAuth token response".into(),
            message,
        },
    }
}
