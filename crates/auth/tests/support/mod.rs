//! Shared test fixtures: the committed signing keys, token builders, a local JWKS server
//! that counts its hits, and authenticators wired to it.

pub mod jwks_server;
pub mod tokens;

use std::time::Duration;

use gimbal_auth::{AuthConfig, Authenticator};
use secrecy::SecretString;

pub use jwks_server::JwksServer;

/// The shared secret of the local Supabase stack.
pub const JWT_SECRET: &str = "super-secret-jwt-token-with-at-least-32-characters-long";
pub const SERVICE_ROLE_KEY: &str = "sb_secret_gimbal_test_service_role_key_0001";

pub fn secret() -> SecretString {
    SecretString::from(JWT_SECRET)
}

/// HS256 and the service key only.
pub fn hs256_config() -> AuthConfig {
    AuthConfig::new(
        Some(secret()),
        None,
        Some(SecretString::from(SERVICE_ROLE_KEY)),
    )
}

pub fn jwks_config(server: &JwksServer) -> AuthConfig {
    AuthConfig::new(Some(secret()), Some(server.url()), None)
}

pub fn authenticator(config: AuthConfig) -> Authenticator {
    Authenticator::new(config, reqwest::Client::new())
}

/// A config whose JWKS refreshes are never rate-limited, for tests about rotation.
pub fn eager_refresh(mut config: AuthConfig) -> AuthConfig {
    config.jwks_min_refresh_interval = Duration::ZERO;
    config
}
