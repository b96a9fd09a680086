//! Why a caller was refused, and how that is told to the client: Supabase's edge-runtime
//! `sb-error-code` values and its two public messages.

use crate::token::SigningAlg;

#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    #[error("missing authorization header")]
    MissingAuthHeader,
    #[error("authorization is not `Bearer <JWT>`")]
    InvalidFormat,
    #[error("token algorithm is not one of HS256, ES256, RS256")]
    UnsupportedAlgorithm,
    /// The reason is for logs only. Reasons raised here start with the token's algorithm
    /// (`HS256: …`, `ES256: …`), which is how [`AuthError::sb_error_code`] tells a legacy
    /// token from an asymmetric one, as Supabase does.
    #[error("invalid JWT: {0}")]
    InvalidJwt(String),
    #[error("no JWKS signing keys are available")]
    KeysUnavailable,
}

const LEGACY_JWT: &str = "UNAUTHORIZED_LEGACY_JWT";
const ASYMMETRIC_JWT: &str = "UNAUTHORIZED_ASYMMETRIC_JWT";

impl AuthError {
    pub(crate) fn invalid(alg: SigningAlg, reason: impl std::fmt::Display) -> Self {
        Self::InvalidJwt(format!("{}: {reason}", alg.as_str()))
    }

    /// The `sb-error-code` header Supabase's edge runtime sends for this failure.
    pub fn sb_error_code(&self) -> &'static str {
        match self {
            Self::MissingAuthHeader => "UNAUTHORIZED_NO_AUTH_HEADER",
            Self::InvalidFormat => "UNAUTHORIZED_INVALID_JWT_FORMAT",
            Self::UnsupportedAlgorithm => "UNAUTHORIZED_UNSUPPORTED_TOKEN_ALGORITHM",
            Self::InvalidJwt(reason) if SigningAlg::asymmetric_prefix(reason) => ASYMMETRIC_JWT,
            Self::InvalidJwt(_) => LEGACY_JWT,
            Self::KeysUnavailable => ASYMMETRIC_JWT,
        }
    }

    /// The body message for the 401; never the reason.
    pub fn public_message(&self) -> &'static str {
        match self {
            Self::MissingAuthHeader => "Missing authorization header",
            _ => "Invalid JWT",
        }
    }
}
