//! PostgreSQL as a source: a real second database in the harness cluster, read in keyset order
//! (ties on the cursor broken by the key), incrementally from the saved cursor, read-only and
//! under a statement timeout; connection problems reported by kind.

use gimbal_db::harness::TestDatabase;
use gimbal_sync::{Connector, ProviderUrls, SourceSpec, runner, sources};
use serde_json::{Value, json};

use crate::support::{Env, fast_backoff};

/// A second database with a table of orders (several share an `updated_at`) and a login
/// role of its own, `reader_<db>`, that may read `orders` only.
async fn external() -> TestDatabase {
    let db = TestDatabase::empty().await;
    let role = reader(&db);
    let sql = format!(
        "create table orders (id int primary key, updated_at timestamptz not null,
                                  day date not null, channel text, revenue numeric(10,2));
             insert into orders
               select i, timestamptz '2024-03-01 00:00+00' + ((i / 3) || ' hours')::interval,
                      date '2024-03-01' + (i / 4), case when i % 2 = 0 then 'web' else 'store' end,
                      i * 1.5
                 from generate_series(1, 10) i;
             create role {role} login password 'reader-pw';
             grant select on orders to {role};
             create table secret_stuff (id int);"
    );
    db.superuser().await.batch_execute(&sql).await.unwrap();
    db
}

fn reader(db: &TestDatabase) -> String {
    format!("reader_{}", db.name)
}

fn config(table: &str) -> Value {
    json!({
        "table": table,
        "cursor_column": "updated_at",
        "key_columns": ["id"],
        "date_column": "day",
        "metric_columns": ["revenue"],
        "page_size": 3
    })
}

fn url(db: &TestDatabase, user: &str, password: &str) -> String {
    let base = db.superuser_url();
    let (scheme_user, rest) = base.split_once('@').unwrap();
    let scheme = scheme_user.split("//").next().unwrap();
    format!("{scheme}//{user}:{password}@{rest}")
}

#[tokio::test]
async fn a_table_is_read_in_pages_without_skipping_ties_and_then_incrementally() {
    let source_db = external().await;
    let env = Env::new(ProviderUrls::default()).await;
    let credentials = json!({"url": url(&source_db, &reader(&source_db), "reader-pw")});
    let source = env.source("postgres", config("orders"), credentials).await;

    let summary = runner::run(&env.deps, env.queue(source).await)
        .await
        .unwrap();
    assert_eq!(
        (summary.rows_read, summary.rows_inserted, summary.pages),
        (10, 10, 4)
    );
    assert_eq!(
        env.count("select count(distinct natural_key) from public.imported_data")
            .await,
        10
    );
    assert_eq!(
        env.count("select count(*) from public.analytics_data where source = 'postgres' and revenue is not null").await,
        10
    );

    // New and changed rows after the cursor are read; older rows are not read again.
    source_db
        .superuser()
        .await
        .batch_execute(
            "insert into orders values (11, '2024-03-05 00:00+00', '2024-03-05', 'web', 99);
             update orders set revenue = 1000, updated_at = '2024-03-06 00:00+00' where id = 2;",
        )
        .await
        .unwrap();
    let second = env.queue(source).await;
    let summary = runner::run(&env.deps, second).await.unwrap();
    assert_eq!(
        (
            summary.rows_read,
            summary.rows_inserted,
            summary.rows_updated
        ),
        (2, 1, 1)
    );
    assert_eq!(
        env.count("select count(*) from public.imported_data").await,
        11
    );
    let cursor: Value = env
        .superuser()
        .await
        .query_one(
            "select sync_cursor from public.data_sources where id = $1",
            &[&source],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(cursor["after"][1], "2");
}

#[tokio::test]
async fn a_read_only_query_is_a_stream_and_cannot_write() {
    let source_db = external().await;
    let env = Env::new(ProviderUrls::default()).await;
    let credentials = Some(json!({"url": source_db.superuser_url()}));
    let mut cfg = config("orders");
    cfg.as_object_mut().unwrap().remove("table");
    cfg["query"] = json!("select id, updated_at, day, revenue from orders where channel = 'web'");
    let connector = sources::build(
        SourceSpec {
            kind: "postgres",
            config: &cfg,
            credentials: credentials.clone(),
        },
        &env.deps.urls,
        &env.deps.http,
        fast_backoff(),
    )
    .unwrap();
    let streams = connector.discover().await.unwrap();
    assert_eq!(streams[0].name, "query");
    let rows = connector.preview("query", 100).await.unwrap();
    assert_eq!(rows.len(), 5);

    cfg["query"] = json!("with x as (delete from orders returning *) select * from x");
    let writer = sources::build(
        SourceSpec {
            kind: "postgres",
            config: &cfg,
            credentials,
        },
        &env.deps.urls,
        &env.deps.http,
        fast_backoff(),
    )
    .unwrap();
    assert!(writer.preview("query", 1).await.is_err());
    assert_eq!(
        source_db
            .superuser()
            .await
            .query_one("select count(*) from orders", &[])
            .await
            .unwrap()
            .get::<_, i64>(0),
        10
    );
}

#[tokio::test]
async fn connection_problems_are_reported_by_kind() {
    let source_db = external().await;
    let env = Env::new(ProviderUrls::default()).await;
    let check = |config: Value, url: String| {
        let env = &env;
        async move {
            sources::build(
                SourceSpec {
                    kind: "postgres",
                    config: &config,
                    credentials: Some(json!({"url": url})),
                },
                &env.deps.urls,
                &env.deps.http,
                fast_backoff(),
            )
            .unwrap()
            .test()
            .await
            .unwrap_err()
            .kind()
        }
    };
    assert_eq!(
        check(
            config("orders"),
            url(&source_db, &reader(&source_db), "wrong")
        )
        .await,
        "auth_failed"
    );
    assert_eq!(
        check(
            config("secret_stuff"),
            url(&source_db, &reader(&source_db), "reader-pw")
        )
        .await,
        "permission_denied"
    );
    assert_eq!(
        check(
            config("orders"),
            "postgres://u:p@127.0.0.1:1/db?sslmode=disable".into()
        )
        .await,
        "host_unreachable"
    );
    let mut slow = config("orders");
    slow.as_object_mut().unwrap().remove("table");
    slow["query"] = json!("select *, pg_sleep(3) from orders");
    slow["statement_timeout_secs"] = json!(1);
    let connector = sources::build(
        SourceSpec {
            kind: "postgres",
            config: &slow,
            credentials: Some(json!({"url": source_db.superuser_url()})),
        },
        &env.deps.urls,
        &env.deps.http,
        fast_backoff(),
    )
    .unwrap();
    assert_eq!(
        connector.preview("query", 1).await.unwrap_err().kind(),
        "timeout"
    );
}
