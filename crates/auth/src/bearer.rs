//! Which credential a request presents: the `Authorization: Bearer` token, the `apikey`
//! header standing in for it, or nothing.

use crate::error::AuthError;

#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Credential<'a> {
    None,
    Bearer(&'a str),
    /// `apikey` without `Authorization`, on a function that requires a JWT.
    ApiKey(&'a str),
}

/// Mirrors Supabase's gateway: `Authorization` wins when present; without it, a function that
/// requires a JWT takes the `apikey` (supabase-js always sends both) and one that does not
/// treats the caller as anon.
pub(crate) fn credential<'a>(
    authorization: Option<&'a str>,
    apikey: Option<&'a str>,
    require_jwt: bool,
) -> Result<Credential<'a>, AuthError> {
    if let Some(header) = authorization.filter(|header| !header.is_empty()) {
        return bearer_token(header).map(Credential::Bearer);
    }
    if !require_jwt {
        return Ok(Credential::None);
    }
    match apikey.map(str::trim).filter(|key| !key.is_empty()) {
        Some(key) => Ok(Credential::ApiKey(key)),
        None => Err(AuthError::MissingAuthHeader),
    }
}

/// `Bearer <token>`, the scheme in any case.
fn bearer_token(header: &str) -> Result<&str, AuthError> {
    let mut words = header.split_whitespace();
    match (words.next(), words.next(), words.next()) {
        (Some(scheme), Some(token), None) if scheme.eq_ignore_ascii_case("bearer") => Ok(token),
        _ => Err(AuthError::InvalidFormat),
    }
}
