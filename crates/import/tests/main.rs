//! The CSV corpus, loaded for real: each test gets its own migrated database and imports as
//! `service_role` through the same code the `import-csv` function and `gimbal import csv` use.
//! (Role-by-role access is tested end to end, through the function.)

use std::{io::Cursor, time::Duration};

use gimbal_db::{Access, RequestScope, harness::TestDatabase};
use gimbal_import::{
    ColumnOverride, ColumnType, ImportError, ImportReport, LoadRequest, Mode, ReadOptions,
    Reimport, load::import_csv,
};
use tokio_postgres::{Client, Row};

struct Db {
    db: TestDatabase,
    pool: gimbal_db::Pool,
}

impl Db {
    async fn new() -> Self {
        let db = TestDatabase::new().await;
        let pool = db.app_pool(2);
        Db { db, pool }
    }

    async fn import(
        &self,
        table: &str,
        file: impl Into<Vec<u8>>,
        options: ReadOptions,
    ) -> Result<ImportReport, ImportError> {
        self.import_mode(table, file, options, Mode::Create).await
    }

    async fn import_mode(
        &self,
        table: &str,
        file: impl Into<Vec<u8>>,
        options: ReadOptions,
        mode: Mode,
    ) -> Result<ImportReport, ImportError> {
        self.import_keyed(table, file, options, mode, &[]).await
    }

    async fn import_keyed(
        &self,
        table: &str,
        file: impl Into<Vec<u8>>,
        options: ReadOptions,
        mode: Mode,
        key: &[&str],
    ) -> Result<ImportReport, ImportError> {
        self.import_with(table, file, options, mode, key, Reimport::Refuse)
            .await
    }

    async fn import_with(
        &self,
        table: &str,
        file: impl Into<Vec<u8>>,
        options: ReadOptions,
        mode: Mode,
        key: &[&str],
        reimport: Reimport,
    ) -> Result<ImportReport, ImportError> {
        let mut conn = self.pool.get().await.unwrap();
        let scope = RequestScope::service("/test/import");
        let tx = gimbal_db::scope::begin(&mut conn, &scope, Access::ReadWrite)
            .await
            .unwrap();
        let request = LoadRequest {
            table: table.into(),
            mode,
            source_name: None,
            statement_timeout: Duration::from_secs(60),
            key: key.iter().map(|k| k.to_string()).collect(),
            reimport,
        };
        let result = import_csv(&tx, Cursor::new(file.into()), options, &request).await;
        if result.is_ok() {
            tx.commit().await.unwrap();
        }
        result
    }

    async fn superuser(&self) -> Client {
        self.db.superuser().await
    }

    async fn rows(&self, sql: &str) -> Vec<Row> {
        self.superuser().await.query(sql, &[]).await.unwrap()
    }

    async fn table_exists(&self, table: &str) -> bool {
        let sql = format!("select to_regclass('imports.{table}') is not null");
        self.rows(&sql).await[0].get(0)
    }

    async fn registered(&self, table: &str) -> i64 {
        let client = self.superuser().await;
        client
            .query_one(
                "select count(*) from public.import_tables where table_name = $1",
                &[&table],
            )
            .await
            .unwrap()
            .get(0)
    }
}

fn texts(rows: &[Row], column: usize) -> Vec<Option<String>> {
    rows.iter().map(|r| r.get(column)).collect()
}

#[tokio::test]
async fn quoted_fields_with_delimiters_quotes_and_newlines_load_exactly() {
    let db = Db::new().await;
    let file = "id,note\n\
                1,\"Smith, John\"\n\
                2,\"she said \"\"hi\"\"\"\n\
                3,\"line one\nline two\r\nline three\"\n\
                4,back\\slash\ttab\n\
                5,\n";
    let report = db
        .import("notes", file, ReadOptions::default())
        .await
        .unwrap();
    assert_eq!((report.rows_read, report.rows_loaded), (5, 5));
    let rows = db
        .rows("select id, note from imports.notes order by _row_id")
        .await;
    assert_eq!(
        texts(&rows, 1),
        [
            Some("Smith, John".into()),
            Some("she said \"hi\"".into()),
            Some("line one\nline two\r\nline three".into()),
            Some("back\\slash\ttab".into()),
            None,
        ]
    );
    let ids: Vec<i64> = rows.iter().map(|r| r.get(0)).collect();
    assert_eq!(ids, [1, 2, 3, 4, 5], "id inferred as bigint");
}

#[tokio::test]
async fn a_broken_row_is_reported_with_line_and_column_and_the_good_rows_stay() {
    let db = Db::new().await;
    // The record on lines 3-4 spans two lines, so the bad row starts on line 5.
    let file = "day,clicks,spend\n\
                2024-01-01,10,1.50\n\
                2024-01-02,11,\"2\n\"\n\
                2024-01-03,lots,3.00\n\
                2024-01-04,13\n\
                2024-01-05,14,5.25\n";
    let options = ReadOptions {
        columns: vec![ColumnOverride {
            source: "spend".into(),
            column_type: Some(ColumnType::Text),
            ..Default::default()
        }],
        sample_rows: 1,
        ..ReadOptions::default()
    };
    let report = db.import("daily", file, options).await.unwrap();
    assert_eq!(report.rows_read, 5);
    assert_eq!(report.rows_loaded, 3);
    assert_eq!(report.rows_rejected, 2);
    assert_eq!(report.errors[0].line, 5);
    assert_eq!(report.errors[0].column.as_deref(), Some("clicks"));
    assert!(
        report.errors[0].message.contains("whole number"),
        "{:?}",
        report.errors[0]
    );
    assert_eq!(report.errors[1].line, 6);
    assert_eq!(report.errors[1].column, None);
    assert_eq!(report.errors[1].message, "expected 3 fields, found 2");
    let rows = db
        .rows("select day::text, clicks from imports.daily order by _row_id")
        .await;
    let clicks: Vec<i64> = rows.iter().map(|r| r.get(1)).collect();
    assert_eq!(clicks, [10, 11, 14]);
}

#[tokio::test]
async fn ragged_rows_longer_and_shorter_are_rejected_not_truncated() {
    let db = Db::new().await;
    let file = "a,b\n1,2\n3\n4,5,6\n7,8\n";
    let report = db
        .import("ragged", file, ReadOptions::default())
        .await
        .unwrap();
    assert_eq!(report.rows_loaded, 2);
    let lines: Vec<u64> = report.errors.iter().map(|e| e.line).collect();
    assert_eq!(lines, [3, 4]);
}

#[tokio::test]
async fn a_utf8_bom_does_not_reach_the_first_column_name() {
    let db = Db::new().await;
    let report = db
        .import("bom", "\u{feff}id;name\n1;Zoë\n", ReadOptions::default())
        .await
        .unwrap();
    assert_eq!(report.columns[0].name, "id");
    assert_eq!(report.columns[0].source, "id");
    assert_eq!(report.delimiter, ";");
    assert_eq!(report.encoding, "UTF-8");
    let rows = db.rows("select name from imports.bom").await;
    assert_eq!(texts(&rows, 0), [Some("Zoë".into())]);
}

#[tokio::test]
async fn a_latin1_file_is_transcoded() {
    let db = Db::new().await;
    let file =
        b"ville;pays\nOrl\xE9ans;France\nM\xE1laga;Espa\xF1a\nK\xF6ln;Deutschland\n".to_vec();
    let report = db
        .import("villes", file, ReadOptions::default())
        .await
        .unwrap();
    assert_eq!(report.encoding, "windows-1252");
    let rows = db
        .rows("select ville, pays from imports.villes order by _row_id")
        .await;
    assert_eq!(
        texts(&rows, 0),
        [
            Some("Orléans".into()),
            Some("Málaga".into()),
            Some("Köln".into())
        ]
    );
}

#[tokio::test]
async fn invalid_utf8_in_a_utf8_file_rejects_that_row_only() {
    let db = Db::new().await;
    // The bad byte lies beyond the 64 KiB the encoding is decided from.
    let mut file = b"name,n\n".to_vec();
    file.extend_from_slice("ok,1\n".repeat(20_000).as_bytes());
    file.extend_from_slice(b"bad\xFF,2\n");
    let report = db
        .import("mixed", file, ReadOptions::default())
        .await
        .unwrap();
    assert_eq!(report.encoding, "UTF-8");
    assert_eq!((report.rows_loaded, report.rows_rejected), (20_000, 1));
    assert_eq!(report.errors[0].line, 20_002);
    assert_eq!(report.errors[0].column.as_deref(), Some("name"));
}

#[tokio::test]
async fn huge_fields_load_whole() {
    let db = Db::new().await;
    let big = "x".repeat(5 * 1024 * 1024);
    let file = format!("id,blob\n1,\"{big}\"\n2,small\n");
    let report = db
        .import("blobs", file, ReadOptions::default())
        .await
        .unwrap();
    assert_eq!(report.rows_loaded, 2);
    let rows = db
        .rows("select length(blob) from imports.blobs order by _row_id")
        .await;
    let lengths: Vec<i32> = rows.iter().map(|r| r.get(0)).collect();
    assert_eq!(lengths, [5 * 1024 * 1024, 5]);
}

#[tokio::test]
async fn types_are_inferred_and_typed_columns_are_created() {
    let db = Db::new().await;
    let file = "Day,Sessions,Revenue (€),Active,Seen At,Label\n\
                2024-01-01,100,12.50,yes,2024-01-01T10:00:00Z,a\n\
                2024-01-02,120,13,no,2024-01-02T11:30:00+02:00,7\n";
    let report = db
        .import("typed", file, ReadOptions::default())
        .await
        .unwrap();
    let shape: Vec<(&str, ColumnType)> = report
        .columns
        .iter()
        .map(|c| (c.name.as_str(), c.column_type))
        .collect();
    assert_eq!(
        shape,
        [
            ("day", ColumnType::Date),
            ("sessions", ColumnType::Bigint),
            ("revenue", ColumnType::Numeric),
            ("active", ColumnType::Boolean),
            ("seen_at", ColumnType::Timestamptz),
            ("label", ColumnType::Text),
        ]
    );
    let rows = db
        .rows(
            "select data_type from information_schema.columns
             where table_schema = 'imports' and table_name = 'typed' order by ordinal_position",
        )
        .await;
    let types: Vec<String> = rows.iter().map(|r| r.get(0)).collect();
    assert_eq!(
        types,
        [
            "bigint",
            "date",
            "bigint",
            "numeric",
            "boolean",
            "timestamp with time zone",
            "text"
        ]
    );
    let rows = db
        .rows("select extract(epoch from seen_at)::bigint from imports.typed order by _row_id")
        .await;
    let epochs: Vec<i64> = rows.iter().map(|r| r.get(0)).collect();
    assert_eq!(epochs, [1_704_103_200, 1_704_187_800]);
}

#[tokio::test]
async fn more_rejects_than_allowed_keeps_nothing() {
    let db = Db::new().await;
    let file = "n\n1\nx\n2\ny\n3\nz\n";
    let options = ReadOptions {
        max_rejected_rows: 2,
        sample_rows: 1,
        ..ReadOptions::default()
    };
    let err = db.import("strict", file, options).await.unwrap_err();
    let ImportError::TooManyRejected { limit, summary } = err else {
        panic!("expected TooManyRejected, got {err:?}");
    };
    assert_eq!(limit, 2);
    assert_eq!(summary.rows_rejected, 3);
    assert_eq!(summary.errors.last().unwrap().line, 7);
    assert!(!db.table_exists("strict").await, "table rolled back");
    assert_eq!(db.registered("strict").await, 0, "registry rolled back");
}

#[tokio::test]
async fn appending_checks_rows_against_the_tables_types() {
    let db = Db::new().await;
    db.import("sales", "sku,qty\nA,1\nB,2\n", ReadOptions::default())
        .await
        .unwrap();
    // In this file qty would infer as text; the table says bigint, so "many" is rejected.
    let report = db
        .import_mode(
            "sales",
            "qty,sku\nmany,C\n3,D\n",
            ReadOptions::default(),
            Mode::Append,
        )
        .await
        .unwrap();
    assert_eq!((report.rows_loaded, report.rows_rejected), (1, 1));
    let rows = db
        .rows("select sku, qty from imports.sales order by _row_id")
        .await;
    let skus = texts(&rows, 0);
    assert_eq!(skus, [Some("A".into()), Some("B".into()), Some("D".into())]);

    let err = db
        .import_mode(
            "sales",
            "sku,colour\nE,red\n",
            ReadOptions::default(),
            Mode::Append,
        )
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            ImportError::Invalid {
                field: "columns",
                ..
            }
        ),
        "{err:?}"
    );
}

#[tokio::test]
async fn a_second_create_of_the_same_table_is_a_conflict() {
    let db = Db::new().await;
    db.import("once", "a\n1\n", ReadOptions::default())
        .await
        .unwrap();
    let err = db
        .import("once", "a\n2\n", ReadOptions::default())
        .await
        .unwrap_err();
    assert!(matches!(err, ImportError::Conflict(_)), "{err:?}");
    assert_eq!(db.rows("select * from imports.once").await.len(), 1);
}

#[tokio::test]
async fn unsafe_table_names_never_reach_sql() {
    let db = Db::new().await;
    for name in ["Sales", "x; drop table y", "1abc", "", &"a".repeat(64)] {
        let err = db
            .import(name, "a\n1\n", ReadOptions::default())
            .await
            .unwrap_err();
        assert!(
            matches!(err, ImportError::Invalid { field: "table", .. }),
            "{name}: {err:?}"
        );
    }
}

#[tokio::test]
async fn an_empty_file_is_refused() {
    let db = Db::new().await;
    let err = db
        .import("empty", "", ReadOptions::default())
        .await
        .unwrap_err();
    assert!(
        matches!(err, ImportError::Invalid { field: "file", .. }),
        "{err:?}"
    );
}

#[tokio::test]
async fn a_file_larger_than_memory_budget_streams_with_bounded_chunks() {
    let db = Db::new().await;
    // 200,000 rows (~6 MB): many channel round trips through the bounded pipeline.
    let mut file = String::from("id,label,amount\n");
    for i in 0..200_000 {
        file.push_str(&format!("{i},row {i},{}.25\n", i % 1000));
    }
    let report = db
        .import("many", file, ReadOptions::default())
        .await
        .unwrap();
    assert_eq!(report.rows_loaded, 200_000);
    let rows = db.rows("select count(*), sum(id) from imports.many").await;
    let count: i64 = rows[0].get(0);
    assert_eq!(count, 200_000);
}

#[tokio::test]
async fn deleting_the_registry_row_drops_the_table() {
    let db = Db::new().await;
    db.import("gone", "a\n1\n", ReadOptions::default())
        .await
        .unwrap();
    assert!(db.table_exists("gone").await);
    db.superuser()
        .await
        .execute(
            "delete from public.import_tables where table_name = 'gone'",
            &[],
        )
        .await
        .unwrap();
    assert!(!db.table_exists("gone").await);
}

#[tokio::test]
async fn a_keyed_table_upserts_so_reimporting_never_duplicates() {
    let db = Db::new().await;
    let first = "sku,day,qty\nA,2024-01-01,1\nB,2024-01-01,2\nA,2024-01-01,3\n";
    let report = db
        .import_keyed(
            "stock",
            first,
            ReadOptions::default(),
            Mode::Create,
            &["sku", "day"],
        )
        .await
        .unwrap();
    assert_eq!(report.rows_loaded, 2, "the last A of the file wins");
    // The same file again, plus one changed and one new row: no duplicates.
    let second = "sku,day,qty\nA,2024-01-01,3\nB,2024-01-01,20\nC,2024-01-02,5\n";
    db.import_keyed("stock", second, ReadOptions::default(), Mode::Append, &[])
        .await
        .unwrap();
    let rows = db
        .rows("select sku, qty from imports.stock order by sku")
        .await;
    let got: Vec<(String, i64)> = rows.iter().map(|r| (r.get(0), r.get(1))).collect();
    assert_eq!(got, [("A".into(), 3), ("B".into(), 20), ("C".into(), 5)]);
    let err = db
        .import_keyed(
            "stock",
            second,
            ReadOptions::default(),
            Mode::Append,
            &["sku"],
        )
        .await
        .unwrap_err();
    assert!(
        matches!(err, ImportError::Invalid { field: "key", .. }),
        "{err:?}"
    );
    let err = db
        .import_keyed(
            "other",
            first,
            ReadOptions::default(),
            Mode::Create,
            &["nope"],
        )
        .await
        .unwrap_err();
    assert!(
        matches!(err, ImportError::Invalid { field: "key", .. }),
        "{err:?}"
    );
}

async fn count(db: &Db, sql: &str) -> i64 {
    db.rows(sql).await[0].get(0)
}

#[tokio::test]
async fn re_importing_a_file_into_a_keyless_table_is_refused_replaced_or_appended() {
    let db = Db::new().await;
    let file_a = "day,visits\n2024-01-01,5\n2024-01-02,7\n";
    let file_b = "day,visits\n2024-01-03,9\n";
    let first = db
        .import("visits", file_a, ReadOptions::default())
        .await
        .unwrap();
    let sha_a = first.sha256.clone().unwrap();
    assert_eq!(sha_a.len(), 64);
    db.import_mode("visits", file_b, ReadOptions::default(), Mode::Append)
        .await
        .unwrap();

    // The same bytes again: refused, nothing kept.
    let err = db
        .import_mode("visits", file_a, ReadOptions::default(), Mode::Append)
        .await
        .unwrap_err();
    assert!(matches!(err, ImportError::AlreadyImported { ref sha256, .. } if *sha256 == sha_a));
    assert!(err.to_string().contains("reimport=replace"), "{err}");
    assert_eq!(count(&db, "select count(*) from imports.visits").await, 3);

    // replace: file A's rows are swapped for the new load; file B's stay.
    let replaced = db
        .import_with(
            "visits",
            file_a,
            ReadOptions::default(),
            Mode::Append,
            &[],
            Reimport::Replace,
        )
        .await
        .unwrap();
    assert_eq!((replaced.rows_loaded, replaced.rows_replaced), (2, 2));
    assert_eq!(count(&db, "select count(*) from imports.visits").await, 3);
    assert_eq!(
        count(
            &db,
            "select count(*) from imports.visits where day = '2024-01-03'"
        )
        .await,
        1
    );

    // append: on purpose, twice the rows; a later replace removes both earlier loads.
    db.import_with(
        "visits",
        file_a,
        ReadOptions::default(),
        Mode::Append,
        &[],
        Reimport::Append,
    )
    .await
    .unwrap();
    assert_eq!(count(&db, "select count(*) from imports.visits").await, 5);
    let replaced = db
        .import_with(
            "visits",
            file_a,
            ReadOptions::default(),
            Mode::Append,
            &[],
            Reimport::Replace,
        )
        .await
        .unwrap();
    assert_eq!(replaced.rows_replaced, 4);
    assert_eq!(count(&db, "select count(*) from imports.visits").await, 3);
    let runs = db
        .rows(
            "select r.sha256, r.rows_loaded, r.last_row_id - r.first_row_id + 1
               from public.import_runs r join public.import_tables t on t.id = r.import_table_id
              where t.table_name = 'visits' order by r.created_at, r.first_row_id",
        )
        .await;
    assert_eq!(runs.len(), 2, "one run per file content");
    let latest: Vec<(String, i64, i64)> = runs
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2)))
        .collect();
    assert!(latest.contains(&(sha_a.clone(), 2, 2)), "{latest:?}");
}

#[tokio::test]
async fn the_same_content_in_another_encoding_is_another_file_and_keyed_tables_upsert_as_before() {
    let db = Db::new().await;
    db.import("names", "name\nJosé\n", ReadOptions::default())
        .await
        .unwrap();
    // The same text in Latin-1 is other bytes: not recognised as a re-import.
    let latin1: Vec<u8> = b"name\nJos\xe9\n".to_vec();
    db.import_mode("names", latin1, ReadOptions::default(), Mode::Append)
        .await
        .unwrap();
    assert_eq!(count(&db, "select count(*) from imports.names").await, 2);

    // A keyed table needs no run record: the key already makes re-imports idempotent.
    let report = db
        .import_keyed(
            "keyed",
            "sku,qty\nA,1\n",
            ReadOptions::default(),
            Mode::Create,
            &["sku"],
        )
        .await
        .unwrap();
    assert_eq!(report.sha256, None);
    db.import_keyed(
        "keyed",
        "sku,qty\nA,1\n",
        ReadOptions::default(),
        Mode::Append,
        &[],
    )
    .await
    .unwrap();
    assert_eq!(count(&db, "select count(*) from imports.keyed").await, 1);
}
