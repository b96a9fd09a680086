//! `gimbal migrate` on an empty database gives it Supabase's bootstrap, every migration and the
//! policies; running it again changes nothing but re-applying the (idempotent) policies.

use std::process::Command;

use gimbal_db::harness::TestDatabase;

fn migrate(url: &str) -> String {
    let output = Command::new(env!("CARGO_BIN_EXE_gimbal"))
        .args(["migrate", "--database-url", url])
        .env_remove("MIGRATION_DATABASE_URL")
        .output()
        .expect("run gimbal migrate");
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
}

#[tokio::test]
async fn migrate_bootstraps_an_empty_database_then_is_idempotent() {
    let db = TestDatabase::empty().await;
    let first = migrate(&db.superuser_url());
    assert!(first.contains("bootstrap: applied"), "{first}");
    assert!(
        first.contains("migration: applied V1__foundation"),
        "{first}"
    );
    let client = db.superuser().await;
    let row = client
        .query_one(
            "select count(*) filter (where relrowsecurity and relforcerowsecurity), count(*)
             from pg_class where relnamespace = 'public'::regnamespace and relkind = 'r'",
            &[],
        )
        .await
        .unwrap();
    let (forced, tables): (i64, i64) = (row.get(0), row.get(1));
    assert!(tables > 0);
    assert_eq!(
        forced, tables,
        "RLS enabled and forced on every public table"
    );

    let second = migrate(&db.superuser_url());
    assert!(
        !second.contains("bootstrap"),
        "bootstrap runs only where auth.users is absent: {second}"
    );
    assert!(!second.contains("migration: applied"), "{second}");
    assert!(second.contains("policies: applied"), "{second}");
}

#[tokio::test]
async fn an_edited_migration_is_refused() {
    let db = TestDatabase::new().await;
    let client = db.superuser().await;
    client
        .execute(
            "update app_private.schema_history set checksum = '0' where version = 1",
            &[],
        )
        .await
        .unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_gimbal"))
        .args(["migrate", "--database-url", &db.superuser_url()])
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("migration failed"), "{stderr}");
}
