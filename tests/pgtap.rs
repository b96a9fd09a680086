//! The pgTAP suite in `supabase/tests/`, run with `pg_prove` against a fresh database, so the
//! policies are proven from the SQL side too.

use gimbal_db::harness::TestDatabase;
use gimbal_e2e::repo_path;

#[tokio::test]
async fn pgtap_suite_passes() {
    let db = TestDatabase::new().await;
    db.superuser()
        .await
        .batch_execute("create extension if not exists pgtap")
        .await
        .expect("the pgtap extension is installed (postgresql-15-pgtap)");
    let mut files: Vec<_> = std::fs::read_dir(repo_path("supabase/tests"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "sql"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no pgTAP files");
    // pg_prove hands its options to psql one by one; it does not take a connection URL.
    let config: tokio_postgres::Config = db.superuser_url().parse().unwrap();
    let host = match &config.get_hosts()[0] {
        tokio_postgres::config::Host::Tcp(h) => h.clone(),
        tokio_postgres::config::Host::Unix(p) => p.display().to_string(),
    };
    let password = String::from_utf8(config.get_password().unwrap_or_default().to_vec()).unwrap();
    let output = std::process::Command::new("pg_prove")
        .args([
            "--host",
            &host,
            "--port",
            &config.get_ports()[0].to_string(),
        ])
        .args([
            "--username",
            config.get_user().unwrap_or("postgres"),
            "--dbname",
            &db.name,
        ])
        .env("PGPASSWORD", password)
        .args(&files)
        .output()
        .expect("pg_prove is installed (libtap-parser-sourcehandler-pgtap-perl)");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "pg_prove failed:\n{stdout}\n{stderr}"
    );
    assert!(stdout.contains("All tests successful"), "{stdout}");
}
