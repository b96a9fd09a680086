//! What a refused caller is told: Supabase's `sb-error-code` values and public messages.

use gimbal_auth::AuthError;

#[test]
fn sb_error_codes_match_the_edge_runtime() {
    let cases = [
        (AuthError::MissingAuthHeader, "UNAUTHORIZED_NO_AUTH_HEADER"),
        (AuthError::InvalidFormat, "UNAUTHORIZED_INVALID_JWT_FORMAT"),
        (
            AuthError::UnsupportedAlgorithm,
            "UNAUTHORIZED_UNSUPPORTED_TOKEN_ALGORITHM",
        ),
        (
            AuthError::InvalidJwt("HS256: expired".into()),
            "UNAUTHORIZED_LEGACY_JWT",
        ),
        (
            AuthError::InvalidJwt("ES256: expired".into()),
            "UNAUTHORIZED_ASYMMETRIC_JWT",
        ),
        (
            AuthError::InvalidJwt("RS256: bad signature".into()),
            "UNAUTHORIZED_ASYMMETRIC_JWT",
        ),
        (
            AuthError::InvalidJwt("anything else".into()),
            "UNAUTHORIZED_LEGACY_JWT",
        ),
        (AuthError::KeysUnavailable, "UNAUTHORIZED_ASYMMETRIC_JWT"),
    ];

    for (error, code) in cases {
        assert_eq!(error.sb_error_code(), code, "{error:?}");
    }
}

#[test]
fn public_messages_are_supabases_and_never_the_reason() {
    let reason = "HS256: signature does not verify";

    assert_eq!(
        AuthError::MissingAuthHeader.public_message(),
        "Missing authorization header"
    );
    for error in [
        AuthError::InvalidFormat,
        AuthError::UnsupportedAlgorithm,
        AuthError::InvalidJwt(reason.into()),
        AuthError::KeysUnavailable,
    ] {
        assert_eq!(error.public_message(), "Invalid JWT");
    }
}
