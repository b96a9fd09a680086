//! The caller's transaction is set up exactly as PostgREST sets one up.

use gimbal_db::{Access, DbError, RequestScope};
use gimbal_e2e::{TestApp, USER, token_for};
use serde_json::json;

async fn scope(app: &TestApp, role: &str, method: &str) -> RequestScope {
    let caller = app.state.auth.verify_token(&token_for(role)).await.unwrap();
    RequestScope {
        role: caller.db_role.as_str(),
        claims: caller.claims,
        method: method.into(),
        path: "/functions/v1/me".into(),
        headers: json!({"x-client-info": "supabase-js/2"}),
        statement_timeout: Some(std::time::Duration::from_millis(200)),
    }
}

#[tokio::test]
async fn request_settings_are_visible_to_sql_as_postgrest_sets_them() {
    let app = TestApp::spawn().await;
    let mut conn = app.state.pool.get().await.unwrap();
    let scope = scope(&app, "user", "POST").await;
    let tx = gimbal_db::scope::begin(&mut conn, &scope, Access::ReadWrite)
        .await
        .unwrap();
    let row = tx
        .query_one(
            "select current_user::text, auth.uid()::text, current_setting('request.method'),
                    current_setting('request.path'), current_setting('request.headers')::jsonb,
                    current_setting('request.jwt.claim.role'), auth.jwt() ->> 'email'",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(row.get::<_, String>(0), "authenticated");
    assert_eq!(row.get::<_, String>(1), USER);
    assert_eq!(row.get::<_, String>(2), "POST");
    assert_eq!(row.get::<_, String>(3), "/functions/v1/me");
    assert_eq!(
        row.get::<_, serde_json::Value>(4),
        json!({"x-client-info": "supabase-js/2"})
    );
    assert_eq!(row.get::<_, String>(5), "authenticated");
    assert_eq!(row.get::<_, String>(6), "user@gimbal.local");
    tx.commit().await.unwrap();
    // The settings are transaction-local: the pooled connection is clean afterwards.
    let after = conn
        .query_one(
            "select current_user::text, coalesce(current_setting('request.jwt.claims', true), '')",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(after.get::<_, String>(0), "authenticator");
    assert_eq!(after.get::<_, String>(1), "");
}

#[tokio::test]
async fn read_only_scope_refuses_writes() {
    let app = TestApp::spawn().await;
    app.load_fixtures().await;
    let mut conn = app.state.pool.get().await.unwrap();
    let scope = scope(&app, "admin", "GET").await;
    let tx = gimbal_db::scope::begin(&mut conn, &scope, Access::ReadOnly)
        .await
        .unwrap();
    let err = tx
        .execute(
            "insert into public.campaigns (name, channel) values ('x', 'sms')",
            &[],
        )
        .await
        .unwrap_err();
    assert_eq!(err.code().unwrap().code(), "25006", "read-only transaction");
}

#[tokio::test]
async fn statement_timeout_applies_to_the_caller() {
    let app = TestApp::spawn().await;
    let mut conn = app.state.pool.get().await.unwrap();
    let scope = scope(&app, "viewer", "GET").await;
    let tx = gimbal_db::scope::begin(&mut conn, &scope, Access::ReadOnly)
        .await
        .unwrap();
    let err = tx.query_one("select pg_sleep(2)", &[]).await.unwrap_err();
    assert!(matches!(DbError::from(err), DbError::Timeout));
}

#[tokio::test]
async fn only_the_api_roles_can_be_assumed() {
    let app = TestApp::spawn().await;
    let mut conn = app.state.pool.get().await.unwrap();
    let mut scope = scope(&app, "user", "GET").await;
    scope.role = "postgres";
    assert!(
        gimbal_db::scope::begin(&mut conn, &scope, Access::ReadOnly)
            .await
            .is_err()
    );
}

#[tokio::test]
async fn the_login_role_has_no_way_around_rls() {
    let app = TestApp::spawn().await;
    let conn = app.state.pool.get().await.unwrap();
    let row = conn
        .query_one(
            "select rolsuper, rolbypassrls from pg_roles where rolname = current_user",
            &[],
        )
        .await
        .unwrap();
    assert!(!row.get::<_, bool>(0) && !row.get::<_, bool>(1));
    // And it holds no table privileges of its own: without a caller scope nothing is readable.
    let err = conn
        .query("select * from public.campaigns", &[])
        .await
        .unwrap_err();
    assert_eq!(err.code().unwrap().code(), "42501");
}

#[tokio::test]
async fn a_superuser_database_url_is_refused_at_start_up() {
    let app = TestApp::spawn().await;
    let values = std::collections::HashMap::from([
        ("DATABASE_URL", app.db.superuser_url()),
        ("SUPABASE_JWT_SECRET", gimbal_e2e::JWT_SECRET.to_string()),
        (
            "GIMBAL_ENCRYPTION_KEY",
            "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=".to_string(),
        ),
    ]);
    let config = gimbal_edge::Config::from_lookup(|k| values.get(k).cloned()).unwrap();
    let err = gimbal::app::build_state(config, Default::default())
        .await
        .err()
        .unwrap();
    assert!(
        err.to_string().contains("bypasses row-level security"),
        "{err}"
    );
}
