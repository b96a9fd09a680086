//! MySQL/MariaDB as a source: a real MariaDB server started by the test itself (its own data
//! directory, socket and port, stopped when the test ends), read in keyset order without
//! skipping ties and incrementally; connection problems and timeouts reported by kind; TLS
//! with a CA and server certificate generated (openssl) for the test, per `ssl_mode`.

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
/// Server options that keep a private test server independent of the host's limits.
const PORTABLE: &[&str] = &["--innodb-use-native-aio=0"];

/// A private MariaDB server for one test.
struct MariaDb {
    dir: PathBuf,
    port: u16,
    child: Child,
}

impl MariaDb {
    fn start() -> Self {
        Self::start_with(|_| Vec::new())
    }

    /// Starts a server with extra options, which `options` may write files for into `dir`.
    fn start_with(options: impl FnOnce(&std::path::Path) -> Vec<String>) -> Self {
        assert!(
            std::path::Path::new(SERVER).exists(),
            "MariaDB is needed for these tests: apt-get install mariadb-server (.ci/run does)"
        );
        let dir =
            std::env::temp_dir().join(format!("gimbal-mariadb-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&dir).unwrap();
        let data = dir.join("data");
        // A private temporary directory too: a starting server deletes every `#sql*` file it
        // finds in its tmpdir, which in a shared /tmp are the temporary tables of another
        // test's server still bootstrapping.
        let tmp = dir.join("tmp");
        std::fs::create_dir_all(&tmp).unwrap();
        let tmpdir = format!("--tmpdir={}", tmp.display());
        let extra = options(&dir);
        // No check that the host's name resolves (`--force`; a CI host's name need not), grants
        // by IP address, and no native AIO: io_uring may be refused by a container's seccomp
        // filter and libaio contexts are a host-wide limit (`fs.aio-max-nr`) that other tenants
        // can exhaust. A test server needs none of them.
        let output = Command::new(INSTALL)
            .args([
                "--no-defaults",
                "--auth-root-authentication-method=normal",
                "--skip-test-db",
                "--skip-name-resolve",
                "--force",
            ])
            .arg(format!("--datadir={}", data.display()))
            .arg("--user=root")
            .arg(&tmpdir)
            .args(PORTABLE)
            .stdin(Stdio::null())
            .output()
            .expect("run mariadb-install-db");
        assert!(
            output.status.success(),
            "mariadb-install-db failed ({}):\n{}\n{}",
            output.status,
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
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
            .arg(format!("--log-error={}", dir.join("error.log").display()))
            .arg(&tmpdir)
            .args(PORTABLE)
            .args(&extra)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start mariadbd");
        let server = MariaDb { dir, port, child };
        for _ in 0..300 {
            if server.sql("select 1").is_ok() {
                return server;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let log = std::fs::read_to_string(server.dir.join("error.log")).unwrap_or_default();
        panic!("MariaDB did not start within 30 s; its log:\n{log}");
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
    // the bound leaves room for a loaded machine; without the timeout the first row alone
    // would take 20 s
    slow["query"] = json!("select o.*, sleep(20) as s from orders o");
    slow["statement_timeout_secs"] = json!(1);
    let root = build(slow, maria.url("root", ""));
    let started = std::time::Instant::now();
    let err = root.preview("query", 1).await.unwrap_err();
    assert_eq!(err.kind(), "timeout", "{err}");
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "{:?}",
        started.elapsed()
    );
}

/// Runs openssl in `dir`, failing the test with its output.
fn openssl(dir: &std::path::Path, args: &[&str]) {
    let output = Command::new("openssl")
        .current_dir(dir)
        .args(args)
        .output()
        .expect("openssl is needed for the TLS tests (.ci/run installs it)");
    assert!(
        output.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// A CA, another CA, and a server certificate from the first for `localhost` only (no IP), so
/// that connecting to 127.0.0.1 passes `verify_ca` but not `verify_identity`.
fn certificates(dir: &std::path::Path) -> Vec<String> {
    for ca in ["ca", "other-ca"] {
        openssl(
            dir,
            &[
                "req",
                "-x509",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-days",
                "2",
                "-keyout",
                &format!("{ca}.key"),
                "-out",
                &format!("{ca}.pem"),
                "-subj",
                &format!("/CN=Gimbal test {ca}"),
                "-addext",
                "basicConstraints=critical,CA:TRUE",
                "-addext",
                "keyUsage=critical,keyCertSign,cRLSign",
            ],
        );
    }
    std::fs::write(
        dir.join("server.ext"),
        "basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\n\
         extendedKeyUsage=serverAuth\nsubjectAltName=DNS:localhost\n",
    )
    .unwrap();
    openssl(
        dir,
        &[
            "req",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            "server.key",
            "-out",
            "server.csr",
            "-subj",
            "/CN=localhost",
        ],
    );
    openssl(
        dir,
        &[
            "x509",
            "-req",
            "-in",
            "server.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-days",
            "2",
            "-extfile",
            "server.ext",
            "-out",
            "server.pem",
        ],
    );
    ["ssl-ca=ca.pem", "ssl-cert=server.pem", "ssl-key=server.key"]
        .iter()
        .map(|o| {
            let (name, file) = o.split_once('=').unwrap();
            format!("--{name}={}", dir.join(file).display())
        })
        .collect()
}

#[tokio::test]
async fn tls_modes_connect_verify_and_refuse_by_kind() {
    let maria = MariaDb::start_with(certificates);
    // This user may only connect over TLS: a plain connection is refused by the server.
    maria
        .sql(
            "create database shop;
             create table shop.orders (id int primary key, updated_at datetime not null);
             insert into shop.orders values (1, '2024-03-01 10:00:00');
             create user 'tls_reader'@'%' identified by 'tls-pw' require ssl;
             grant select on shop.orders to 'tls_reader'@'%';",
        )
        .unwrap();
    let ca = std::fs::read_to_string(maria.dir.join("ca.pem")).unwrap();
    let other_ca = std::fs::read_to_string(maria.dir.join("other-ca.pem")).unwrap();
    let env = Env::new(ProviderUrls::default()).await;
    let config = json!({"table": "orders", "cursor_column": "updated_at", "key_columns": ["id"]});
    let test = |credentials: Value| {
        let connector = sources::build(
            SourceSpec {
                kind: "mysql",
                config: &config,
                credentials: Some(credentials),
            },
            &env.deps.urls,
            &env.deps.http,
            fast_backoff(),
        );
        async move { connector?.test().await }
    };
    let url = maria.url("tls_reader", "tls-pw");

    // Encrypted and verified against the CA that signed the server's certificate.
    test(json!({"url": url, "ssl_mode": "verify_ca", "ssl_ca": ca}))
        .await
        .unwrap();
    // Encrypted without verification (`required`), and `preferred` when the server offers TLS.
    test(json!({"url": url, "ssl_mode": "required"}))
        .await
        .unwrap();
    test(json!({"url": url})).await.unwrap();
    // Plain: the server refuses this user.
    let err = test(json!({"url": url, "ssl_mode": "disabled"}))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), "auth_failed", "{err}");

    // Another CA: refused before any password is sent, with what to check.
    let err = test(json!({"url": url, "ssl_mode": "verify_ca", "ssl_ca": other_ca}))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), "tls_failed", "{err}");
    assert!(err.to_string().contains("ssl_ca"), "{err}");
    // The certificate names localhost, not 127.0.0.1: the CA is right, the identity is not.
    let err = test(json!({"url": url, "ssl_mode": "verify_identity", "ssl_ca": ca}))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), "tls_failed", "{err}");
    assert!(err.to_string().contains("does not name the host"), "{err}");
    // By the name it was issued for, the identity holds too.
    let by_name = url.replace("127.0.0.1", "localhost");
    test(json!({"url": by_name, "ssl_mode": "verify_identity", "ssl_ca": ca}))
        .await
        .unwrap();
    // Without ssl_ca the public web roots apply, and they do not know this CA.
    let err = test(json!({"url": url, "ssl_mode": "verify_ca"}))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), "tls_failed", "{err}");

    // Settings that cannot work are named.
    let err = test(json!({"url": url, "ssl_mode": "sometimes"}))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), "invalid_config");
    assert!(err.to_string().starts_with("ssl_mode"), "{err}");
    let err = test(json!({"url": url, "ssl_mode": "verify_ca", "ssl_ca": "not a pem"}))
        .await
        .unwrap_err();
    assert!(err.to_string().starts_with("ssl_ca"), "{err}");
}

#[tokio::test]
async fn required_tls_against_a_server_without_it_is_a_tls_failure() {
    let maria = seeded();
    let env = Env::new(ProviderUrls::default()).await;
    let config = json!({"table": "orders", "cursor_column": "updated_at", "key_columns": ["id"]});
    let connector = sources::build(
        SourceSpec {
            kind: "mysql",
            config: &config,
            credentials: Some(
                json!({"url": maria.url("reader", "reader-pw"), "ssl_mode": "required"}),
            ),
        },
        &env.deps.urls,
        &env.deps.http,
        fast_backoff(),
    )
    .unwrap();
    let err = connector.test().await.unwrap_err();
    assert_eq!(err.kind(), "tls_failed", "{err}");
    assert!(err.to_string().contains("does not offer TLS"), "{err}");
}
