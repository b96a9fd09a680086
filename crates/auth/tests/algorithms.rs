//! Each algorithm is verified only with its own key source; everything else is refused.

use gimbal_auth::{AuthConfig, AuthError, DbRole};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::json;

use crate::support::{self, JwksServer, tokens};

#[tokio::test]
async fn alg_none_is_unsupported() {
    let auth = support::authenticator(support::hs256_config());
    let header = json!({ "alg": "none", "typ": "JWT" });
    let token = tokens::with_raw_header(&header, &tokens::user_claims(), "");

    let error = auth.verify_token(&token).await.unwrap_err();

    assert!(matches!(error, AuthError::UnsupportedAlgorithm));
    assert_eq!(
        error.sb_error_code(),
        "UNAUTHORIZED_UNSUPPORTED_TOKEN_ALGORITHM"
    );
}

#[tokio::test]
async fn other_hmac_strengths_are_unsupported_even_with_the_right_secret() {
    let auth = support::authenticator(support::hs256_config());
    let key = EncodingKey::from_secret(support::JWT_SECRET.as_bytes());

    for alg in [Algorithm::HS384, Algorithm::HS512] {
        let token = jsonwebtoken::encode(&Header::new(alg), &tokens::user_claims(), &key).unwrap();
        let result = auth.verify_token(&token).await;
        assert!(
            matches!(result, Err(AuthError::UnsupportedAlgorithm)),
            "{alg:?}"
        );
    }
}

#[tokio::test]
async fn other_algorithm_names_are_unsupported() {
    let auth = support::authenticator(support::hs256_config());

    for alg in ["PS256", "EdDSA", "ES384", "RS512", "hs256", "None"] {
        let header = json!({ "alg": alg, "typ": "JWT", "kid": "rs-1" });
        let token = tokens::with_raw_header(&header, &tokens::user_claims(), "c2ln");
        let result = auth.verify_token(&token).await;
        assert!(
            matches!(result, Err(AuthError::UnsupportedAlgorithm)),
            "{alg}"
        );
    }
}

/// The classic confusion attack: HS256 keyed with the published public key.
#[tokio::test]
async fn hs256_signed_with_a_public_key_is_refused() {
    let server = JwksServer::start(&[tokens::RS_JWK, tokens::ES_A_JWK]).await;
    let auth = support::authenticator(support::jwks_config(&server));
    let claims = tokens::user_claims();

    for (public_pem, kid) in [
        (tokens::RS_PUBLIC_PEM, "rs-1"),
        (tokens::ES_A_PUBLIC_PEM, "es-a"),
    ] {
        let token = tokens::hs256_with_kid(&claims, public_pem, kid);
        let result = auth.verify_token(&token).await;
        assert!(matches!(result, Err(AuthError::InvalidJwt(_))), "{kid}");
    }
}

#[tokio::test]
async fn hs256_is_refused_when_only_jwks_is_configured() {
    let server = JwksServer::start(&[tokens::RS_JWK]).await;
    let auth = support::authenticator(AuthConfig::new(None, Some(server.url()), None));
    let token = tokens::hs256_with_kid(&tokens::user_claims(), tokens::RS_PUBLIC_PEM, "rs-1");

    let result = auth.verify_token(&token).await;

    assert!(matches!(result, Err(AuthError::InvalidJwt(_))));
    assert_eq!(server.hits(), 0, "an HS256 token must never reach the JWKS");
}

#[tokio::test]
async fn es256_token_naming_an_rsa_key_is_refused() {
    let server = JwksServer::start(&[tokens::RS_JWK]).await;
    let auth = support::authenticator(support::jwks_config(&server));
    let token = tokens::es256(&tokens::user_claims(), tokens::ES_A_PEM, "rs-1");

    let result = auth.verify_token(&token).await;

    assert!(matches!(result, Err(AuthError::InvalidJwt(_))));
}

#[tokio::test]
async fn rs256_token_naming_an_ec_key_is_refused() {
    let server = JwksServer::start(&[tokens::ES_A_JWK]).await;
    let auth = support::authenticator(support::jwks_config(&server));
    let token = tokens::rs256(&tokens::user_claims(), "es-a");

    let result = auth.verify_token(&token).await;

    assert!(matches!(result, Err(AuthError::InvalidJwt(_))));
}

#[tokio::test]
async fn jwk_whose_declared_alg_disagrees_is_not_used() {
    let mut jwk: serde_json::Value = serde_json::from_str(tokens::RS_JWK).unwrap();
    jwk["alg"] = json!("PS256");
    let server = JwksServer::start(&[]).await;
    server.set_document(json!({ "keys": [jwk] }));
    let auth = support::authenticator(support::jwks_config(&server));

    let result = auth
        .verify_token(&tokens::rs256(&tokens::user_claims(), "rs-1"))
        .await;

    assert!(matches!(result, Err(AuthError::InvalidJwt(_))));
}

#[tokio::test]
async fn symmetric_keys_published_in_the_jwks_are_never_used() {
    let octet = json!({ "kty": "oct", "kid": "oct-1", "alg": "HS256", "k": "c2VjcmV0" });
    let server = JwksServer::start(&[]).await;
    server.set_document(json!({ "keys": [octet] }));
    let auth = support::authenticator(AuthConfig::new(None, Some(server.url()), None));
    let token = tokens::hs256_with_kid(&tokens::user_claims(), b"secret", "oct-1");

    let result = auth.verify_token(&token).await;

    assert!(matches!(result, Err(AuthError::InvalidJwt(_))));
}

#[tokio::test]
async fn asymmetric_token_without_kid_is_refused() {
    let server = JwksServer::start(&[tokens::ES_A_JWK]).await;
    let auth = support::authenticator(support::jwks_config(&server));
    let key = EncodingKey::from_ec_pem(tokens::ES_A_PEM).unwrap();
    let token =
        jsonwebtoken::encode(&Header::new(Algorithm::ES256), &tokens::user_claims(), &key).unwrap();

    let error = auth.verify_token(&token).await.unwrap_err();

    assert!(matches!(error, AuthError::InvalidJwt(_)));
    assert_eq!(error.sb_error_code(), "UNAUTHORIZED_ASYMMETRIC_JWT");
}

#[tokio::test]
async fn es256_signed_by_another_key_under_a_known_kid_is_refused() {
    let server = JwksServer::start(&[tokens::ES_A_JWK]).await;
    let auth = support::authenticator(support::jwks_config(&server));
    let token = tokens::es256(&tokens::user_claims(), tokens::ES_B_PEM, "es-a");

    let result = auth.verify_token(&token).await;

    assert!(matches!(result, Err(AuthError::InvalidJwt(_))));
}

#[tokio::test]
async fn valid_rs256_token_gives_the_user() {
    let server = JwksServer::start(&[tokens::RS_JWK]).await;
    let auth = support::authenticator(support::jwks_config(&server));

    let caller = auth
        .verify_token(&tokens::rs256(&tokens::user_claims(), "rs-1"))
        .await
        .unwrap();

    assert_eq!(caller.db_role, DbRole::Authenticated);
    assert_eq!(caller.user_id.unwrap().to_string(), tokens::USER_ID);
}

#[tokio::test]
async fn ec_key_on_another_curve_is_not_used_for_es256() {
    let mut jwk: serde_json::Value = serde_json::from_str(tokens::ES_A_JWK).unwrap();
    jwk["crv"] = json!("P-384");
    jwk.as_object_mut().unwrap().remove("alg");
    let server = JwksServer::start(&[]).await;
    server.set_document(json!({ "keys": [jwk] }));
    let auth = support::authenticator(support::jwks_config(&server));

    let result = auth
        .verify_token(&tokens::es256(
            &tokens::user_claims(),
            tokens::ES_A_PEM,
            "es-a",
        ))
        .await;

    assert!(matches!(result, Err(AuthError::InvalidJwt(_))));
}

#[tokio::test]
async fn jwk_meant_for_encryption_is_not_used() {
    let mut jwk: serde_json::Value = serde_json::from_str(tokens::ES_A_JWK).unwrap();
    jwk["use"] = json!("enc");
    let server = JwksServer::start(&[]).await;
    server.set_document(json!({ "keys": [jwk] }));
    let auth = support::authenticator(support::jwks_config(&server));

    let result = auth
        .verify_token(&tokens::es256(
            &tokens::user_claims(),
            tokens::ES_A_PEM,
            "es-a",
        ))
        .await;

    assert!(matches!(result, Err(AuthError::InvalidJwt(_))));
}

#[tokio::test]
async fn rsa_key_under_2048_bits_is_not_used() {
    let server = JwksServer::start(&[tokens::RS_WEAK_JWK]).await;
    let auth = support::authenticator(support::jwks_config(&server));
    let token = tokens::rs256_with(&tokens::user_claims(), tokens::RS_WEAK_PEM, "rs-weak");

    let result = auth.verify_token(&token).await;

    assert!(matches!(result, Err(AuthError::InvalidJwt(_))));
}
