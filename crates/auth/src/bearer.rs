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

/// The token a request to a function that requires a JWT presented, read as the host reads it:
/// the `Authorization: Bearer` token (the scheme in any case), else the `apikey`. For passing
/// the caller's own credential on to Supabase (Storage, for example), after the host verified it.
pub fn presented_token<'a>(
    authorization: Option<&'a str>,
    apikey: Option<&'a str>,
) -> Option<&'a str> {
    match credential(authorization, apikey, true) {
        Ok(Credential::Bearer(token) | Credential::ApiKey(token)) => Some(token),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_presented_token_is_read_as_the_host_reads_it() {
        assert_eq!(presented_token(Some("Bearer abc"), None), Some("abc"));
        assert_eq!(
            presented_token(Some("BEARER  abc"), Some("key")),
            Some("abc")
        );
        assert_eq!(presented_token(None, Some("anon-key")), Some("anon-key"));
        assert_eq!(presented_token(Some("Basic abc"), Some("key")), None);
        assert_eq!(presented_token(None, None), None);
    }
}
