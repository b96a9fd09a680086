//! `gimbal import csv FILE`: loads through the service role with the services' login, prints a
//! summary naming rejected rows, and on failure leaves nothing behind and exits non-zero.

use std::process::{Command, Output};

use gimbal_db::harness::TestDatabase;

fn import(db: &TestDatabase, file: &std::path::Path, extra: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_gimbal"))
        .args(["import", "csv"])
        .arg(file)
        .args(extra)
        .env("DATABASE_URL", db.app_url())
        .output()
        .expect("run gimbal import csv")
}

/// A file in a directory of its own, removed with the value.
struct TempFile(std::path::PathBuf);

impl TempFile {
    fn path(&self) -> &std::path::Path {
        &self.0
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        if let Some(dir) = self.0.parent() {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

fn temp_file(name: &str, contents: &[u8]) -> TempFile {
    let dir = std::env::temp_dir().join(format!("gimbal-import-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, contents).unwrap();
    TempFile(path)
}

#[tokio::test]
async fn a_file_is_imported_with_a_summary_of_rejected_rows() {
    let db = TestDatabase::new().await;
    let file = temp_file("spend.csv", b"Day;Spend\n2024-01-01;1,5\n2024-01-02;2.5\n");
    let columns = r#"[{"source":"Spend","type":"numeric"}]"#;
    let output = import(
        &db,
        file.path(),
        &["--table", "spend", "--columns", columns],
    );
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        stdout.contains("imported 1 rows into imports.spend"),
        "{stdout}"
    );
    assert!(stdout.contains("delimiter \";\""), "{stdout}");
    assert!(
        stdout.contains("rejected: line 2, column spend: expected a number"),
        "{stdout}"
    );
    let client = db.superuser().await;
    let total: String = client
        .query_one("select sum(spend)::text from imports.spend", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(total, "2.5");
}

#[tokio::test]
async fn a_refused_import_exits_non_zero_and_keeps_nothing() {
    let db = TestDatabase::new().await;
    let file = temp_file("bad.csv", b"n\n1\nx\ny\n");
    let output = import(
        &db,
        file.path(),
        &[
            "--table",
            "bad",
            "--max-rejected-rows",
            "1",
            "--sample-rows",
            "1",
        ],
    );
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("2 rows rejected"), "{stderr}");
    assert!(stderr.contains("line 3, column n: "), "{stderr}");
    let client = db.superuser().await;
    let tables: i64 = client
        .query_one(
            "select count(*) from pg_tables where schemaname = 'imports'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(tables, 0);
}
