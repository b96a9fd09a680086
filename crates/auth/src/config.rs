//! What the authenticator needs to know about the Supabase project it guards.

use std::time::Duration;

use secrecy::SecretString;

/// Keys and limits for verifying callers.
#[derive(Clone, Debug)]
pub struct AuthConfig {
    /// HS256 shared secret (the legacy Supabase JWT secret).
    pub jwt_secret: Option<SecretString>,
    /// `<SUPABASE_URL>/auth/v1/.well-known/jwks.json`.
    pub jwks_url: Option<String>,
    pub service_role_key: Option<SecretString>,
    /// Required in `aud` of `authenticated` tokens.
    pub audience: String,
    /// Upper bound on how long a fetched JWKS is trusted.
    pub jwks_max_age: Duration,
    /// A token with an unknown `kid` refreshes the JWKS no more often than this.
    pub jwks_min_refresh_interval: Duration,
    /// Clock skew allowed when checking `exp` and `nbf`.
    pub leeway_seconds: u64,
}

impl AuthConfig {
    /// Supabase's defaults: audience `authenticated`, JWKS cached at most 10 minutes (what
    /// Supabase Auth advertises), unknown-kid refreshes at most every 30 s, and the 30 s
    /// clock skew PostgREST allows.
    pub fn new(
        jwt_secret: Option<SecretString>,
        jwks_url: Option<String>,
        service_role_key: Option<SecretString>,
    ) -> Self {
        Self {
            jwt_secret,
            jwks_url,
            service_role_key,
            audience: "authenticated".to_owned(),
            jwks_max_age: Duration::from_secs(600),
            jwks_min_refresh_interval: Duration::from_secs(30),
            leeway_seconds: 30,
        }
    }
}
