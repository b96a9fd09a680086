//! The entry point: establishes the [`Caller`] of a request from its headers.

use std::sync::Arc;

use jsonwebtoken::{DecodingKey, Validation};
use secrecy::{ExposeSecret, SecretString};
use serde_json::Value;
use subtle::ConstantTimeEq;

use crate::{
    bearer::{self, Credential},
    caller::Caller,
    claims,
    config::AuthConfig,
    error::AuthError,
    jwks::{Jwks, Lookup},
    roles::DbRole,
    token::{self, SigningAlg, TokenHeader},
};

/// Verifies callers; cheap to clone and share between requests.
#[derive(Clone)]
pub struct Authenticator {
    inner: Arc<Inner>,
}

struct Inner {
    config: AuthConfig,
    jwks: Jwks,
}

impl std::fmt::Debug for Authenticator {
    /// The config's secrets print redacted.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Authenticator")
            .field("config", &self.inner.config)
            .finish_non_exhaustive()
    }
}

impl Authenticator {
    pub fn new(config: AuthConfig, http: reqwest::Client) -> Self {
        let jwks = Jwks::new(
            config.jwks_url.clone(),
            http,
            config.jwks_max_age,
            config.jwks_min_refresh_interval,
        );
        Self {
            inner: Arc::new(Inner { config, jwks }),
        }
    }

    /// The caller of a request. `require_jwt` mirrors a Supabase function's `verify_jwt`
    /// setting; a presented `Authorization` header is verified either way.
    pub async fn authenticate(
        &self,
        authorization: Option<&str>,
        apikey: Option<&str>,
        require_jwt: bool,
    ) -> Result<Caller, AuthError> {
        let result = match bearer::credential(authorization, apikey, require_jwt) {
            Ok(Credential::None) => Ok(Caller::anon()),
            Ok(Credential::Bearer(token)) => self.verify(token).await,
            Ok(Credential::ApiKey(key)) => self.verify_api_key(key).await,
            Err(error) => Err(error),
        };
        log_rejection(result)
    }

    /// The caller a bearer token stands for: the service-role key, or a verified JWT.
    pub async fn verify_token(&self, token: &str) -> Result<Caller, AuthError> {
        log_rejection(self.verify(token).await)
    }

    async fn verify(&self, token: &str) -> Result<Caller, AuthError> {
        if self.is_service_role_key(token) {
            return Ok(Caller::service_role());
        }
        self.verify_jwt(token).await.map(|(_, caller)| caller)
    }

    /// The `apikey` header identifies the project, never a user: it may carry the anon or
    /// service-role key, but a user's access token there is refused.
    async fn verify_api_key(&self, key: &str) -> Result<Caller, AuthError> {
        if self.is_service_role_key(key) {
            return Ok(Caller::service_role());
        }
        let (alg, caller) = self.verify_jwt(key).await?;
        if caller.db_role == DbRole::Authenticated {
            return Err(AuthError::invalid(
                alg,
                "a user token in `apikey` does not sign anyone in",
            ));
        }
        Ok(caller)
    }

    /// Constant-time, so response timing does not reveal how much of a guess was right.
    fn is_service_role_key(&self, candidate: &str) -> bool {
        let key = configured(&self.inner.config.service_role_key);
        key.is_some_and(|key| candidate.as_bytes().ct_eq(key.as_bytes()).into())
    }

    async fn verify_jwt(&self, token: &str) -> Result<(SigningAlg, Caller), AuthError> {
        let header = token::inspect(token)?;
        let alg = header.alg;
        let key = self.key_for(&header).await?;
        let claims = self.decode(token, alg, &key)?;
        let caller = claims::caller_from_claims(claims, &self.inner.config.audience)
            .map_err(|reason| AuthError::invalid(alg, reason))?;
        Ok((alg, caller))
    }

    /// The one key source each algorithm may use: HS256 the shared secret, ES256 / RS256 a
    /// JWKS key of the same algorithm. The token never chooses across sources.
    async fn key_for(&self, header: &TokenHeader) -> Result<DecodingKey, AuthError> {
        let alg = header.alg;
        if alg == SigningAlg::Hs256 {
            let secret = configured(&self.inner.config.jwt_secret)
                .ok_or_else(|| AuthError::invalid(alg, "no JWT secret configured"))?;
            return Ok(DecodingKey::from_secret(secret.as_bytes()));
        }
        let kid = header.kid.as_deref();
        let kid = kid.ok_or_else(|| AuthError::invalid(alg, "header has no kid"))?;
        let shown: String = kid.chars().take(64).collect();
        match self.inner.jwks.find(kid).await {
            Lookup::Found(key) if key.alg == alg => Ok(key.key),
            Lookup::Found(key) => {
                let reason = format!("kid {shown:?} is a {} key", key.alg.as_str());
                Err(AuthError::invalid(alg, reason))
            }
            Lookup::UnknownKid => Err(AuthError::invalid(alg, format!("unknown kid {shown:?}"))),
            Lookup::Unavailable => Err(AuthError::KeysUnavailable),
        }
    }

    /// Signature, `exp` (required) and `nbf`; the audience depends on the role and is
    /// checked with the claims.
    fn decode(&self, token: &str, alg: SigningAlg, key: &DecodingKey) -> Result<Value, AuthError> {
        let mut validation = Validation::new(alg.jsonwebtoken());
        validation.leeway = self.inner.config.leeway_seconds;
        validation.validate_nbf = true;
        validation.validate_aud = false;
        jsonwebtoken::decode::<Value>(token, key, &validation)
            .map(|data| data.claims)
            .map_err(|e| AuthError::invalid(alg, e))
    }
}

/// A configured secret, where an empty value counts as none: an empty HMAC key would
/// accept tokens anyone can sign.
fn configured(secret: &Option<SecretString>) -> Option<&str> {
    secret
        .as_ref()
        .map(|secret| secret.expose_secret())
        .filter(|secret| !secret.is_empty())
}

/// Says why a caller was refused; the reason never includes the token.
fn log_rejection(result: Result<Caller, AuthError>) -> Result<Caller, AuthError> {
    if let Err(error) = &result {
        tracing::debug!(auth.code = error.sb_error_code(), auth.reason = %error, "caller rejected");
    }
    result
}
