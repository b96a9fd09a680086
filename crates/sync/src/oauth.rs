//! Access tokens for provider APIs: a fixed token (Meta long-lived tokens), an OAuth2 refresh
//! token exchanged at the provider's token endpoint, or a Google service account signing an
//! RS256 JWT assertion (RFC 7523). Tokens are cached until a 401 says otherwise; none of them
//! ever reaches a log or an error message.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use tokio::sync::Mutex;

use crate::{ConnectorError, connector::transport_error};

/// The scope GA4 reports need.
pub const GA4_SCOPE: &str = "https://www.googleapis.com/auth/analytics.readonly";

/// Decrypted credentials of a source, as stored (encrypted) in `secrets`.
#[derive(Clone, Deserialize)]
#[serde(untagged)]
pub enum Credentials {
    Refresh {
        client_id: String,
        client_secret: SecretString,
        refresh_token: SecretString,
    },
    ServiceAccount {
        client_email: String,
        private_key: SecretString,
        #[serde(default)]
        token_uri: Option<String>,
    },
    AccessToken {
        access_token: SecretString,
    },
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kind = match self {
            Credentials::Refresh { .. } => "refresh_token",
            Credentials::ServiceAccount { .. } => "service_account",
            Credentials::AccessToken { .. } => "access_token",
        };
        write!(f, "Credentials({kind}, redacted)")
    }
}

pub struct TokenSource {
    credentials: Credentials,
    token_url: String,
    scope: &'static str,
    cached: Mutex<Option<SecretString>>,
}

impl TokenSource {
    /// `token_url` is the provider's token endpoint (a service account's own `token_uri` wins).
    pub fn new(credentials: Credentials, token_url: &str, scope: &'static str) -> Self {
        TokenSource {
            credentials,
            token_url: token_url.to_string(),
            scope,
            cached: Mutex::new(None),
        }
    }

    pub fn can_refresh(&self) -> bool {
        !matches!(self.credentials, Credentials::AccessToken { .. })
    }

    pub async fn invalidate(&self) {
        *self.cached.lock().await = None;
    }

    /// A current access token, fetched when none is cached.
    pub async fn access_token(&self, http: &reqwest::Client) -> Result<String, ConnectorError> {
        let mut cached = self.cached.lock().await;
        if let Some(token) = cached.as_ref() {
            return Ok(token.expose_secret().to_string());
        }
        let token = match &self.credentials {
            Credentials::AccessToken { access_token } => access_token.clone(),
            Credentials::Refresh {
                client_id,
                client_secret,
                refresh_token,
            } => {
                let form = [
                    ("grant_type", "refresh_token"),
                    ("client_id", client_id.as_str()),
                    ("client_secret", client_secret.expose_secret()),
                    ("refresh_token", refresh_token.expose_secret()),
                ];
                exchange(http, &self.token_url, &form).await?
            }
            Credentials::ServiceAccount {
                client_email,
                private_key,
                token_uri,
            } => {
                let audience = token_uri.as_deref().unwrap_or(&self.token_url);
                let assertion =
                    service_account_assertion(client_email, private_key, audience, self.scope)?;
                let form = [
                    ("grant_type", "urn:ietf:params:oauth:grant-type:jwt-bearer"),
                    ("assertion", assertion.as_str()),
                ];
                exchange(http, audience, &form).await?
            }
        };
        let value = token.expose_secret().to_string();
        *cached = Some(token);
        Ok(value)
    }
}

#[derive(Serialize)]
struct AssertionClaims<'a> {
    iss: &'a str,
    scope: &'a str,
    aud: &'a str,
    iat: u64,
    exp: u64,
}

/// The RS256 JWT a service account presents for an access token (one hour, the maximum).
pub fn service_account_assertion(
    client_email: &str,
    private_key: &SecretString,
    audience: &str,
    scope: &str,
) -> Result<String, ConnectorError> {
    let key = jsonwebtoken::EncodingKey::from_rsa_pem(private_key.expose_secret().as_bytes())
        .map_err(|_| {
            ConnectorError::config("private_key", "is not an RSA private key in PEM form")
        })?;
    let iat = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or(Duration::ZERO)
        .as_secs();
    let claims = AssertionClaims {
        iss: client_email,
        scope,
        aud: audience,
        iat,
        exp: iat + 3600,
    };
    jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::RS256),
        &claims,
        &key,
    )
    .map_err(|_| ConnectorError::config("private_key", "cannot sign with this key"))
}

#[derive(Deserialize)]
struct TokenResponse {
    access_token: SecretString,
}

#[derive(Deserialize, Default)]
struct TokenError {
    #[serde(default)]
    error: String,
    #[serde(default)]
    error_description: String,
}

async fn exchange(
    http: &reqwest::Client,
    url: &str,
    form: &[(&str, &str)],
) -> Result<SecretString, ConnectorError> {
    let response = http
        .post(url)
        .form(form)
        .send()
        .await
        .map_err(|e| transport_error(&e))?;
    let status = response.status();
    if status.is_success() {
        let token: TokenResponse = response.json().await.map_err(|_| {
            ConnectorError::Provider("the token endpoint answered without a token".into())
        })?;
        return Ok(token.access_token);
    }
    let error: TokenError = response.json().await.unwrap_or_default();
    let message = format!(
        "the token endpoint refused: {} {}",
        error.error, error.error_description
    );
    Err(match status.as_u16() {
        400 | 401 | 403 => {
            ConnectorError::AuthFailed(format!("{}; reconnect the account", message.trim()))
        }
        429 => ConnectorError::Quota {
            message,
            retry_after_secs: None,
        },
        _ => ConnectorError::Provider(message),
    })
}
