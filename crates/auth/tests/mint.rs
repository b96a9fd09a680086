//! Minted tokens have Supabase's shapes and verify as what they claim.

use std::time::Duration;

use gimbal_auth::{
    AppRole, DbRole,
    mint::{self, TokenSpec},
};
use uuid::Uuid;

use crate::support;

fn spec(app_role: Option<AppRole>) -> TokenSpec {
    TokenSpec {
        role: DbRole::Authenticated,
        sub: Some(Uuid::new_v4()),
        email: Some("grace@example.com".to_owned()),
        app_role,
        ttl: Duration::from_secs(3600),
        issuer: "http://127.0.0.1:54321/auth/v1".to_owned(),
    }
}

#[tokio::test]
async fn access_token_verifies_as_the_user_it_describes() {
    let auth = support::authenticator(support::hs256_config());
    let spec = spec(Some(AppRole::Admin));

    let token = mint::access_token(&support::secret(), &spec).unwrap();
    let caller = auth.verify_token(&token).await.unwrap();

    assert_eq!(caller.db_role, DbRole::Authenticated);
    assert_eq!(caller.user_id, spec.sub);
    assert_eq!(caller.email, spec.email);
    assert_eq!(caller.app_role, Some(AppRole::Admin));
}

#[tokio::test]
async fn access_token_has_gotrue_claims() {
    let auth = support::authenticator(support::hs256_config());

    let token = mint::access_token(&support::secret(), &spec(Some(AppRole::User))).unwrap();
    let claims = auth.verify_token(&token).await.unwrap().claims;

    for field in [
        "iss",
        "sub",
        "aud",
        "exp",
        "iat",
        "email",
        "phone",
        "role",
        "app_metadata",
        "user_metadata",
        "aal",
        "amr",
        "session_id",
        "is_anonymous",
    ] {
        assert!(claims.get(field).is_some(), "missing {field}");
    }
    assert_eq!(claims["aud"], "authenticated");
    assert_eq!(claims["phone"], "");
    assert_eq!(claims["aal"], "aal1");
    assert_eq!(claims["is_anonymous"], false);
    assert_eq!(claims["app_metadata"]["role"], "user");
    assert_eq!(claims["app_metadata"]["provider"], "email");
    assert_eq!(claims["user_metadata"], serde_json::json!({}));
    let lifetime = claims["exp"].as_u64().unwrap() - claims["iat"].as_u64().unwrap();
    assert_eq!(lifetime, 3600);
}

#[tokio::test]
async fn access_token_without_app_role_is_viewer() {
    let auth = support::authenticator(support::hs256_config());

    let token = mint::access_token(&support::secret(), &spec(None)).unwrap();
    let caller = auth.verify_token(&token).await.unwrap();

    assert_eq!(caller.app_role, Some(AppRole::Viewer));
    assert!(caller.claims["app_metadata"].get("role").is_none());
}

#[tokio::test]
async fn api_keys_verify_as_their_role() {
    let auth = support::authenticator(support::hs256_config());
    let ttl = Duration::from_secs(60);

    let anon = mint::api_key(&support::secret(), DbRole::Anon, "abcdref", ttl).unwrap();
    let service = mint::api_key(&support::secret(), DbRole::ServiceRole, "abcdref", ttl).unwrap();
    let anon_caller = auth.verify_token(&anon).await.unwrap();
    let service_caller = auth.verify_token(&service).await.unwrap();

    assert_eq!(anon_caller.db_role, DbRole::Anon);
    assert_eq!(anon_caller.claims["iss"], "supabase");
    assert_eq!(anon_caller.claims["ref"], "abcdref");
    assert!(service_caller.is_service_role());
}
