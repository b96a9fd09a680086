//! The shape of a compact JWT and what its header claims about itself, read before any key
//! is chosen. Nothing here is trusted: it only decides which key source may verify it.

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use serde::Deserialize;

use crate::error::AuthError;

/// The algorithms Supabase issues tokens with, and therefore the only ones accepted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum SigningAlg {
    /// Verified only with the legacy shared secret.
    Hs256,
    /// Verified only with an EC P-256 key from the JWKS.
    Es256,
    /// Verified only with an RSA key from the JWKS.
    Rs256,
}

impl SigningAlg {
    pub(crate) const fn as_str(self) -> &'static str {
        match self {
            Self::Hs256 => "HS256",
            Self::Es256 => "ES256",
            Self::Rs256 => "RS256",
        }
    }

    fn from_header(alg: &str) -> Option<Self> {
        match alg {
            "HS256" => Some(Self::Hs256),
            "ES256" => Some(Self::Es256),
            "RS256" => Some(Self::Rs256),
            _ => None,
        }
    }

    pub(crate) const fn jsonwebtoken(self) -> jsonwebtoken::Algorithm {
        match self {
            Self::Hs256 => jsonwebtoken::Algorithm::HS256,
            Self::Es256 => jsonwebtoken::Algorithm::ES256,
            Self::Rs256 => jsonwebtoken::Algorithm::RS256,
        }
    }

    /// Whether a reason built by [`AuthError::invalid`] is about an asymmetric token.
    pub(crate) fn asymmetric_prefix(reason: &str) -> bool {
        [Self::Es256, Self::Rs256].iter().any(|alg| {
            reason
                .strip_prefix(alg.as_str())
                .is_some_and(|rest| rest.starts_with(':'))
        })
    }
}

/// What a token's header says, once its shape is known to be right.
#[derive(Debug)]
pub(crate) struct TokenHeader {
    pub alg: SigningAlg,
    pub kid: Option<String>,
}

#[derive(Deserialize)]
struct RawHeader {
    alg: String,
    #[serde(default)]
    kid: Option<String>,
    #[serde(default)]
    crit: Option<serde_json::Value>,
}

/// Checks the three-part base64url shape and reads `alg` and `kid`.
pub(crate) fn inspect(token: &str) -> Result<TokenHeader, AuthError> {
    let encoded_header = compact_header(token).ok_or(AuthError::InvalidFormat)?;
    let raw: RawHeader = URL_SAFE_NO_PAD
        .decode(encoded_header)
        .ok()
        .and_then(|json| serde_json::from_slice(&json).ok())
        .ok_or(AuthError::InvalidFormat)?;
    let alg = SigningAlg::from_header(&raw.alg).ok_or(AuthError::UnsupportedAlgorithm)?;
    // No header extension is understood here, so RFC 7515 says one marked critical must fail.
    if raw.crit.is_some() {
        return Err(AuthError::invalid(alg, "header has a `crit` extension"));
    }
    Ok(TokenHeader { alg, kid: raw.kid })
}

/// The encoded header of a `header.payload.signature` token. The signature may be empty
/// (unsigned tokens have that shape) so that `alg: none` is reported as an algorithm problem.
fn compact_header(token: &str) -> Option<&str> {
    let parts: Vec<&str> = token.split('.').collect();
    let [header, payload, signature] = parts.as_slice() else {
        return None;
    };
    let well_formed = !header.is_empty()
        && !payload.is_empty()
        && [header, payload, signature]
            .iter()
            .all(|part| is_base64url(part));
    well_formed.then_some(*header)
}

fn is_base64url(part: &str) -> bool {
    part.bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}
