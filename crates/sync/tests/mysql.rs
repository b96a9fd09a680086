//! MySQL/MariaDB as a source: a real MariaDB server started by the test itself (its own data
//! directory, socket and port, stopped when the test ends), read in keyset order without
//! skipping ties and incrementally; connection problems and timeouts reported by kind.

use std::{
    path::PathBuf,
    process::{Child, Command, Stdio},
    time::Duration,
};

use gimbal_sync::{Connector, ProviderUrls, SourceSpec, runner, sources};
use serde_json::{Value, json};

use crate::support::{Env, fast_backoff};

const SERVER: &str = "/usr/sbin/mariadbd";
const INSTALL: &str = "/usr/bin/mariadb-install-db";
const CLIENT: &str = "/usr/bin/mariadb";

/// A private MariaDB server for one test.
struct MariaDb {
    dir: PathBuf,
    port: u16,
    child: Child,
}

impl MariaDb {
    fn start() -> Self {
        assert!(
            std::path::Path::new(SERVER).exists(),
            "MariaDB is needed for these tests: apt-get install mariadb-server (.ci/run does)"
        );
        let dir =
            std::env::temp_dir().join(format!("gimbal-mariadb-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&dir).unwrap();
        let data = dir.join("data");
        let status = Command::new(INSTALL)
            .args([
                "--no-defaults",
                "--auth-root-authentication-method=normal",
                "--skip-test-db",
            ])
            .arg(format!("--datadir={}", data.display()))
            .arg("--user=root")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .expect("run mariadb-install-db");
        assert!(status.success(), "mariadb-install-db failed");
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new(SERVER)
            .arg("--no-defaults")
            .arg(format!("--datadir={}", data.display()))
            .arg(format!("--socket={}", dir.join("sock").display()))
            .arg(format!("--port={port}"))
            .args([
                "--bind-address=127.0.0.1",
                "--user=root",
                "--skip-name-resolve",
                "--skip-log-bin",
            ])
            .arg(format!("--pid-file={}", dir.join("pid").display()))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start mariadbd");
        let server = MariaDb { dir, port, child };
        for _ in 0..100 {
            if server.sql("select 1").is_ok() {
                return server;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!("MariaDB did not start");
    }

    /// Runs `sql` as root over the socket.
    fn sql(&self, sql: &str) -> Result<(), String> {
        let output = Command::new(CLIENT)
            .arg(format!("--socket={}", self.dir.join("sock").display()))
            .args(["-u", "root", "-e", sql])
            .output()
            .map_err(|e| e.to_string())?;
        if output.status.success() {
            Ok(())
        } else {
            Err(String::from_utf8_lossy(&output.stderr).into_owned())
        }
    }

    fn url(&self, user: &str, password: &str) -> String {
        format!("mysql://{user}:{password}@127.0.0.1:{}/shop", self.port)
    }
}

impl Drop for MariaDb {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn seeded() -> MariaDb {
    let db = MariaDb::start();
    db.sql(
        "create database shop;
         use shop;
         create table shop.orders (id int primary key, updated_at datetime not null,
                                   day date not null, channel varchar(20), revenue decimal(10,2));
         insert into shop.orders
           select seq, timestamp('2024-03-01') + interval (seq div 3) hour,
                  date('2024-03-01') + interval (seq div 4) day,
                  if(seq % 2 = 0, 'web', 'store'), seq * 1.5
             from seq_1_to_10;
         create table shop.secret_stuff (id int);
         create user 'reader'@'%' identified by 'reader-pw';
         grant select on shop.orders to 'reader'@'%';",
    )
    .unwrap();
    db
}

fn config(table: &str) -> Value {
    json!({
        "table": table, "cursor_column": "updated_at", "key_columns": ["id"],
        "date_column": "day", "metric_columns": ["revenue"], "page_size": 3
    })
}

#[tokio::test]
async fn a_mariadb_table_is_read_in_pages_without_skipping_ties_and_then_incrementally() {
    let maria = seeded();
    let env = Env::new(ProviderUrls::default()).await;
    let source = env
        .source(
            "mysql",
            config("orders"),
            json!({"url": maria.url("reader", "reader-pw")}),
        )
        .await;
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
    let revenue: String = env
        .superuser()
        .await
        .query_one(
            "select sum(revenue)::text from public.analytics_data where source = 'mysql'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(revenue, "82.50");

    maria
        .sql(
            "insert into shop.orders values (11, '2024-03-05 00:00:00', '2024-03-05', 'web', 99);
             update shop.orders set revenue = 1000, updated_at = '2024-03-06 00:00:00' where id = 2;",
        )
        .unwrap();
    let summary = runner::run(&env.deps, env.queue(source).await)
        .await
        .unwrap();
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
}

#[tokio::test]
async fn mariadb_problems_are_reported_by_kind() {
    let maria = seeded();
    let env = Env::new(ProviderUrls::default()).await;
    let build = |config: Value, url: String| {
        sources::build(
            SourceSpec {
                kind: "mysql",
                config: &config,
                credentials: Some(json!({"url": url})),
            },
            &env.deps.urls,
            &env.deps.http,
            fast_backoff(),
        )
        .unwrap()
    };
    let good = build(config("orders"), maria.url("reader", "reader-pw"));
    good.test().await.unwrap();
    let streams = good.discover().await.unwrap();
    assert!(
        streams[0]
            .columns
            .iter()
            .any(|c| c.name == "revenue" && c.metric && c.data_type.contains("decimal"))
    );
    let rows = good.preview("orders", 2).await.unwrap();
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0].date.unwrap().to_string(), "2024-03-01");

    assert_eq!(
        build(config("orders"), maria.url("reader", "wrong"))
            .test()
            .await
            .unwrap_err()
            .kind(),
        "auth_failed"
    );
    assert_eq!(
        build(config("secret_stuff"), maria.url("reader", "reader-pw"))
            .test()
            .await
            .unwrap_err()
            .kind(),
        "permission_denied"
    );
    assert_eq!(
        build(config("orders"), "mysql://u:p@127.0.0.1:1/shop".into())
            .test()
            .await
            .unwrap_err()
            .kind(),
        "host_unreachable"
    );
    let mut slow = config("orders");
    slow.as_object_mut().unwrap().remove("table");
    slow["query"] = json!("select o.*, sleep(3) as s from orders o");
    slow["statement_timeout_secs"] = json!(1);
    let root = build(slow, maria.url("root", ""));
    let started = std::time::Instant::now();
    let err = root.preview("query", 1).await.unwrap_err();
    assert_eq!(err.kind(), "timeout", "{err}");
    assert!(started.elapsed() < Duration::from_secs(3));
}
