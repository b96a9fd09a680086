//! Connecting a GA4 property or a Meta ad account interactively: the OAuth2 authorization-code
//! flow with PKCE (RFC 7636, S256) and a signed `state`.
//!
//! `state` is `base64url(claims).base64url(HMAC-SHA256)` and says which source is being
//! connected, by whom, until when (10 minutes); it comes back through the browser, so it is
//! checked (constant time) and its expiry enforced before anything else. Its nonce is also
//! recorded in `public.oauth_states` when it is issued ([`record_state`]) and consumed by the
//! callback with one conditional update ([`consume_state`]), so a state is accepted once: a
//! replayed redirect (browser history, a leaked URL) is refused before any code is exchanged.
//! The PKCE verifier is derived from the state's nonce with the same secret, so it never leaves
//! the server: the browser only ever sees its SHA-256 challenge.

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use hmac::{Hmac, Mac};
use rand::RngCore;
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::{ConnectorError, connector::transport_error, oauth::GA4_SCOPE};

/// How long a started connection may take to come back.
pub const STATE_TTL_SECS: i64 = 600;

/// An OAuth client registered with a provider.
#[derive(Clone)]
pub struct OAuthApp {
    pub provider: Provider,
    pub client_id: String,
    pub client_secret: SecretString,
    pub authorize_url: String,
    pub token_url: String,
}

impl OAuthApp {
    /// The registered client for `provider`, when the deployment configured one.
    pub fn configured(
        provider: Provider,
        client_id: Option<&str>,
        client_secret: Option<&SecretString>,
        urls: &crate::ProviderUrls,
    ) -> Option<Self> {
        let (authorize_url, token_url) = match provider {
            Provider::Ga4 => (GOOGLE_AUTHORIZE_URL.to_string(), urls.google_token.clone()),
            Provider::Meta => (META_AUTHORIZE_URL.to_string(), urls.meta_token.clone()),
        };
        Some(OAuthApp {
            provider,
            client_id: client_id?.to_string(),
            client_secret: client_secret?.clone(),
            authorize_url,
            token_url,
        })
    }
}

pub const GOOGLE_AUTHORIZE_URL: &str = "https://accounts.google.com/o/oauth2/v2/auth";
pub const META_AUTHORIZE_URL: &str = "https://www.facebook.com/v19.0/dialog/oauth";

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Provider {
    Ga4,
    Meta,
}

impl Provider {
    pub fn from_kind(kind: &str) -> Option<Self> {
        match kind {
            "ga4" => Some(Provider::Ga4),
            "meta" => Some(Provider::Meta),
            _ => None,
        }
    }

    fn scope(self) -> &'static str {
        match self {
            Provider::Ga4 => GA4_SCOPE,
            Provider::Meta => "ads_read",
        }
    }
}

/// What the signed state carries.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StateClaims {
    pub data_source_id: Uuid,
    pub provider: Provider,
    /// The user who started the connection.
    pub sub: Option<String>,
    /// Unix seconds.
    pub exp: i64,
    pub nonce: String,
}

#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum StateError {
    #[error("state is malformed")]
    Malformed,
    #[error("state signature does not match")]
    BadSignature,
    #[error("state has expired; start the connection again")]
    Expired,
    #[error("state was already used; start the connection again")]
    Replayed,
    #[error("state was not issued by this server; start the connection again")]
    Unknown,
}

/// Records a signed state's nonce so that [`consume_state`] accepts it once. Also forgets
/// states that expired more than a day ago (kept that long so a replay gets a clear answer).
/// `tx` runs as `service_role`.
pub async fn record_state(
    tx: &gimbal_db::Transaction<'_>,
    claims: &StateClaims,
) -> Result<(), gimbal_db::DbError> {
    tx.execute(
        "delete from public.oauth_states where expires_at < now() - interval '1 day'",
        &[],
    )
    .await?;
    let provider = match claims.provider {
        Provider::Ga4 => "ga4",
        Provider::Meta => "meta",
    };
    let created_by = claims.sub.as_deref().and_then(|s| s.parse::<Uuid>().ok());
    tx.execute(
        "insert into public.oauth_states (nonce, data_source_id, provider, created_by, expires_at)
         values ($1, $2, $3, $4, to_timestamp($5::bigint))",
        &[
            &claims.nonce,
            &claims.data_source_id,
            &provider,
            &created_by,
            &claims.exp,
        ],
    )
    .await?;
    Ok(())
}

/// Marks a verified state used. One conditional update decides, so of two concurrent callbacks
/// with the same state exactly one gets `Ok`. `tx` runs as `service_role`.
pub async fn consume_state(
    tx: &gimbal_db::Transaction<'_>,
    claims: &StateClaims,
) -> Result<Result<(), StateError>, gimbal_db::DbError> {
    let consumed = tx
        .execute(
            "update public.oauth_states set consumed_at = now()
              where nonce = $1 and data_source_id = $2 and consumed_at is null
                and expires_at > now()",
            &[&claims.nonce, &claims.data_source_id],
        )
        .await?;
    if consumed == 1 {
        return Ok(Ok(()));
    }
    let known = tx
        .query_opt(
            "select consumed_at is not null, expires_at <= now() from public.oauth_states
              where nonce = $1 and data_source_id = $2",
            &[&claims.nonce, &claims.data_source_id],
        )
        .await?;
    Ok(Err(match known {
        Some(row) if row.get::<_, bool>(0) => StateError::Replayed,
        Some(row) if row.get::<_, bool>(1) => StateError::Expired,
        _ => StateError::Unknown,
    }))
}

fn mac(secret: &SecretString) -> Hmac<Sha256> {
    Hmac::<Sha256>::new_from_slice(secret.expose_secret().as_bytes())
        .expect("HMAC takes keys of any length")
}

/// New claims for `source`, valid for ten minutes from `now`.
pub fn new_state(
    data_source_id: Uuid,
    provider: Provider,
    sub: Option<String>,
    now: i64,
) -> StateClaims {
    let mut nonce = [0u8; 16];
    rand::thread_rng().fill_bytes(&mut nonce);
    StateClaims {
        data_source_id,
        provider,
        sub,
        exp: now + STATE_TTL_SECS,
        nonce: URL_SAFE_NO_PAD.encode(nonce),
    }
}

pub fn sign_state(secret: &SecretString, claims: &StateClaims) -> String {
    let payload = URL_SAFE_NO_PAD.encode(serde_json::to_vec(claims).expect("claims serialise"));
    let mut mac = mac(secret);
    mac.update(payload.as_bytes());
    let signature = URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes());
    format!("{payload}.{signature}")
}

pub fn verify_state(
    secret: &SecretString,
    state: &str,
    now: i64,
) -> Result<StateClaims, StateError> {
    let (payload, signature) = state.split_once('.').ok_or(StateError::Malformed)?;
    let signature = URL_SAFE_NO_PAD
        .decode(signature)
        .map_err(|_| StateError::Malformed)?;
    let mut mac = mac(secret);
    mac.update(payload.as_bytes());
    mac.verify_slice(&signature)
        .map_err(|_| StateError::BadSignature)?;
    let bytes = URL_SAFE_NO_PAD
        .decode(payload)
        .map_err(|_| StateError::Malformed)?;
    let claims: StateClaims = serde_json::from_slice(&bytes).map_err(|_| StateError::Malformed)?;
    if claims.exp <= now {
        return Err(StateError::Expired);
    }
    Ok(claims)
}

/// The PKCE verifier of a flow: 43 URL-safe characters derived from the state's nonce.
pub fn pkce_verifier(secret: &SecretString, nonce: &str) -> String {
    let mut mac = mac(secret);
    mac.update(b"pkce-verifier:");
    mac.update(nonce.as_bytes());
    URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
}

/// `BASE64URL(SHA256(verifier))`, the S256 challenge.
pub fn pkce_challenge(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

/// Where to send the browser.
pub fn authorization_url(
    app: &OAuthApp,
    redirect_uri: &str,
    state: &str,
    challenge: &str,
) -> String {
    let mut params = vec![
        ("client_id", app.client_id.as_str()),
        ("redirect_uri", redirect_uri),
        ("response_type", "code"),
        ("scope", app.provider.scope()),
        ("state", state),
        ("code_challenge", challenge),
        ("code_challenge_method", "S256"),
    ];
    if app.provider == Provider::Ga4 {
        // A refresh token is only issued for offline access, and again only with consent.
        params.extend([
            ("access_type", "offline"),
            ("prompt", "consent"),
            ("include_granted_scopes", "true"),
        ]);
    }
    reqwest::Url::parse_with_params(&app.authorize_url, &params)
        .map(|u| u.to_string())
        .unwrap_or_default()
}

#[derive(Deserialize)]
struct TokenAnswer {
    access_token: Option<SecretString>,
    refresh_token: Option<SecretString>,
}

/// Exchanges the authorization code; returns the credentials to store for the source.
pub async fn exchange_code(
    http: &reqwest::Client,
    app: &OAuthApp,
    code: &str,
    redirect_uri: &str,
    verifier: &str,
) -> Result<Value, ConnectorError> {
    let form = [
        ("grant_type", "authorization_code"),
        ("code", code),
        ("redirect_uri", redirect_uri),
        ("client_id", app.client_id.as_str()),
        ("client_secret", app.client_secret.expose_secret()),
        ("code_verifier", verifier),
    ];
    let response = http
        .post(&app.token_url)
        .form(&form)
        .send()
        .await
        .map_err(|e| transport_error(&e))?;
    let status = response.status();
    if !status.is_success() {
        let body: Value = response.json().await.unwrap_or_default();
        let reason = body
            .get("error_description")
            .or_else(|| body.pointer("/error/message"))
            .or_else(|| body.get("error"))
            .and_then(Value::as_str)
            .unwrap_or("refused")
            .to_string();
        return Err(ConnectorError::AuthFailed(format!(
            "the provider refused the code: {reason}"
        )));
    }
    let answer: TokenAnswer = response.json().await.map_err(|_| {
        ConnectorError::Provider("the token endpoint answered without a token".into())
    })?;
    match app.provider {
        Provider::Ga4 => {
            let refresh = answer.refresh_token.ok_or_else(|| {
                ConnectorError::AuthFailed(
                    "Google issued no refresh token; remove Gimbal's access in the Google account and connect again".into(),
                )
            })?;
            Ok(json!({
                "client_id": app.client_id,
                "client_secret": app.client_secret.expose_secret(),
                "refresh_token": refresh.expose_secret(),
            }))
        }
        Provider::Meta => {
            let token = answer
                .access_token
                .ok_or_else(|| ConnectorError::AuthFailed("Meta issued no access token".into()))?;
            let long_lived = exchange_for_long_lived(http, app, &token).await?;
            let expires_at = long_lived
                .expires_in
                .map(|secs| chrono::Utc::now().timestamp() + secs);
            Ok(json!({
                "access_token": long_lived.access_token.expose_secret(),
                "expires_at": expires_at,
            }))
        }
    }
}

#[derive(Deserialize)]
struct LongLived {
    access_token: SecretString,
    /// Seconds; about 60 days.
    expires_in: Option<i64>,
}

/// Meta's code exchange gives a short-lived user token (hours); syncs need the long-lived one
/// (about 60 days): `GET /oauth/access_token?grant_type=fb_exchange_token&client_id&
/// client_secret&fb_exchange_token`, server to server, as the app secret travels with it.
async fn exchange_for_long_lived(
    http: &reqwest::Client,
    app: &OAuthApp,
    short_lived: &SecretString,
) -> Result<LongLived, ConnectorError> {
    let response = http
        .get(&app.token_url)
        .query(&[
            ("grant_type", "fb_exchange_token"),
            ("client_id", app.client_id.as_str()),
            ("client_secret", app.client_secret.expose_secret()),
            ("fb_exchange_token", short_lived.expose_secret()),
        ])
        .send()
        .await
        .map_err(|e| transport_error(&e.without_url()))?;
    if !response.status().is_success() {
        let body: Value = response.json().await.unwrap_or_default();
        let reason = body
            .pointer("/error/message")
            .and_then(Value::as_str)
            .unwrap_or("refused")
            .to_string();
        return Err(ConnectorError::AuthFailed(format!(
            "Meta did not extend the access token: {reason}; connect again"
        )));
    }
    response.json().await.map_err(|_| {
        ConnectorError::Provider("Meta's token exchange answered without a token".into())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secret() -> SecretString {
        SecretString::from("state-secret-with-at-least-32-characters")
    }

    #[test]
    fn rfc7636_appendix_b_challenge() {
        // The verifier and challenge of RFC 7636, Appendix B.
        assert_eq!(
            pkce_challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
    }

    #[test]
    fn a_signed_state_verifies_until_it_expires() {
        let claims = new_state(Uuid::nil(), Provider::Ga4, Some("u".into()), 1000);
        let state = sign_state(&secret(), &claims);
        assert_eq!(verify_state(&secret(), &state, 1000).unwrap(), claims);
        assert_eq!(
            verify_state(&secret(), &state, 1000 + STATE_TTL_SECS),
            Err(StateError::Expired)
        );
    }

    #[test]
    fn a_tampered_or_foreign_state_is_refused() {
        let claims = new_state(Uuid::nil(), Provider::Meta, None, 1000);
        let state = sign_state(&secret(), &claims);
        let (payload, signature) = state.split_once('.').unwrap();
        let mut forged = claims.clone();
        forged.data_source_id = Uuid::max();
        let forged_payload = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&forged).unwrap());
        assert_eq!(
            verify_state(&secret(), &format!("{forged_payload}.{signature}"), 1000),
            Err(StateError::BadSignature)
        );
        let other = SecretString::from("another-secret-of-at-least-32-characters!");
        assert_eq!(
            verify_state(&other, &state, 1000),
            Err(StateError::BadSignature)
        );
        assert_eq!(
            verify_state(&secret(), payload, 1000),
            Err(StateError::Malformed)
        );
    }

    #[test]
    fn the_verifier_is_stable_per_nonce_and_well_formed() {
        let v = pkce_verifier(&secret(), "abc");
        assert_eq!(v, pkce_verifier(&secret(), "abc"));
        assert_ne!(v, pkce_verifier(&secret(), "abd"));
        assert_eq!(v.len(), 43, "RFC 7636 wants 43-128 characters");
    }
}
