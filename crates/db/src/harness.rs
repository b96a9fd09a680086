//! Databases for tests. One PostgreSQL serves a whole test run: the one in `DATABASE_URL` (a
//! superuser URL), or a private cluster under `target/gimbal-test-pg` started on first use and
//! shared by every test process (nextest runs each test in its own process). The schema is
//! migrated once into a template database named after a hash of the schema; each test gets its
//! own database cloned from it and dropped when the test ends.

use std::{path::PathBuf, sync::OnceLock};

use sha2::{Digest, Sha256};
use tokio_postgres::Client;

use crate::{
    cluster::{ClusterOptions, LocalCluster},
    migrate, pool,
};

/// Password given to the `authenticator` login role on test clusters.
pub const AUTHENTICATOR_PASSWORD: &str = "authenticator-test";
const TEMPLATE_LOCK: i64 = 0x7465_6d70_6c74;

#[derive(Clone, Debug)]
struct Server {
    /// Superuser URL with `{db}` where the database name goes.
    superuser: String,
}

impl Server {
    fn superuser_url(&self, db: &str) -> String {
        self.superuser.replace("{db}", db)
    }

    fn login_url(&self, user: &str, password: &str, db: &str) -> String {
        let mut config = pool::parse("DATABASE_URL", &self.superuser_url(db)).expect("valid URL");
        config.user(user).password(password);
        let host = match &config.get_hosts()[0] {
            tokio_postgres::config::Host::Tcp(h) => h.clone(),
            tokio_postgres::config::Host::Unix(p) => p.display().to_string(),
        };
        let port = config.get_ports().first().copied().unwrap_or(5432);
        format!("postgres://{user}:{password}@{host}:{port}/{db}?sslmode=disable")
    }
}

static SERVER: OnceLock<Server> = OnceLock::new();

fn server() -> &'static Server {
    SERVER.get_or_init(|| {
        if let Ok(url) = std::env::var("DATABASE_URL") {
            return Server {
                superuser: with_database(&url, "{db}"),
            };
        }
        // Holding a file lock while the cluster starts makes concurrent test processes wait for
        // the first one instead of each initialising their own.
        std::thread::spawn(|| {
            let dir = test_cluster_dir();
            std::fs::create_dir_all(&dir).expect("create test cluster dir");
            let lock_file = std::fs::File::create(dir.join(".lock")).expect("lock file");
            let mut lock = fd_lock::RwLock::new(lock_file);
            let _guard = lock.write().expect("lock test cluster");
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            let options = ClusterOptions {
                port: None,
                ephemeral: true,
            };
            let cluster = rt
                .block_on(LocalCluster::ensure(&dir, &options))
                .unwrap_or_else(|e| panic!("test cluster in {}: {e}", dir.display()));
            Server {
                superuser: cluster.superuser_url("{db}"),
            }
        })
        .join()
        .expect("test cluster thread")
    })
}

/// Where the shared test cluster lives: `GIMBAL_TEST_PGDIR`, else `<workspace>/target/gimbal-test-pg`;
/// as root, under the temporary directory instead, because the server runs as `postgres`, which
/// may not be able to traverse the checkout (a clone under /root, say).
pub fn test_cluster_dir() -> PathBuf {
    if let Ok(dir) = std::env::var("GIMBAL_TEST_PGDIR") {
        return PathBuf::from(dir);
    }
    let target = std::env::var("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|_| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target"));
    if nix::unistd::Uid::effective().is_root() {
        let mut hasher = Sha256::new();
        hasher.update(target.display().to_string());
        let tag = hex::encode(&hasher.finalize()[..4]);
        return std::env::temp_dir().join(format!("gimbal-test-pg-{tag}"));
    }
    target.join("gimbal-test-pg")
}

fn with_database(url: &str, db: &str) -> String {
    let (base, query) = url
        .split_once('?')
        .map_or((url, None), |(b, q)| (b, Some(q)));
    let prefix = match base.find("://").map(|i| i + 3) {
        Some(start) => match base[start..].find('/') {
            Some(slash) => &base[..start + slash],
            None => base,
        },
        None => base,
    };
    match query {
        Some(q) => format!("{prefix}/{db}?{q}"),
        None => format!("{prefix}/{db}"),
    }
}

/// A database of its own for one test, cloned from the migrated template.
pub struct TestDatabase {
    pub name: String,
    server: &'static Server,
}

impl TestDatabase {
    pub async fn new() -> Self {
        let server = server();
        let template = ensure_template(server).await;
        let name = format!("test_{}", uuid::Uuid::new_v4().simple());
        let admin = connect(&server.superuser_url("postgres")).await;
        // Cloning fails while another session is connected to the template; that only happens
        // for the moment a concurrent clone starts, so retry briefly.
        let sql = format!("create database {name} template {template}");
        let mut attempt = 0;
        while let Err(e) = admin.batch_execute(&sql).await {
            attempt += 1;
            assert!(attempt < 50, "create {name}: {e:?}");
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        TestDatabase { name, server }
    }

    /// An empty database (no bootstrap, no schema), for testing the migrator itself.
    pub async fn empty() -> Self {
        let server = server();
        let name = format!("test_{}", uuid::Uuid::new_v4().simple());
        let admin = connect(&server.superuser_url("postgres")).await;
        admin
            .batch_execute(&format!("create database {name} template template0"))
            .await
            .unwrap_or_else(|e| panic!("create {name}: {e:?}"));
        TestDatabase { name, server }
    }

    /// Superuser access to this database (fixtures, inspection).
    pub fn superuser_url(&self) -> String {
        self.server.superuser_url(&self.name)
    }

    /// The login role the services use: `authenticator`, which has no BYPASSRLS.
    pub fn app_url(&self) -> String {
        self.server
            .login_url("authenticator", AUTHENTICATOR_PASSWORD, &self.name)
    }

    pub async fn superuser(&self) -> Client {
        connect(&self.superuser_url()).await
    }

    pub fn app_pool(&self, size: usize) -> deadpool_postgres::Pool {
        pool::connect("DATABASE_URL", &self.app_url(), size).expect("test pool")
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        let url = self.server.superuser_url("postgres");
        let sql = format!("drop database if exists {} with (force)", self.name);
        // Drop runs outside any runtime guarantees, so the cleanup gets a thread of its own.
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .ok()?;
            rt.block_on(async {
                let client = pool::connect_once("DATABASE_URL", &url).await.ok()?;
                client.batch_execute(&sql).await.ok()
            })
        })
        .join();
    }
}

async fn connect(url: &str) -> Client {
    pool::connect_once("DATABASE_URL", url)
        .await
        .unwrap_or_else(|e| panic!("connect: {e}"))
}

fn schema_hash() -> String {
    let mut hasher = Sha256::new();
    hasher.update(migrate::BOOTSTRAP_SQL);
    for file in migrate::migration_files() {
        hasher.update(file.sql);
    }
    hasher.update(migrate::policies_sql());
    hex::encode(&hasher.finalize()[..6])
}

async fn ensure_template(server: &Server) -> String {
    let template = format!("gimbal_tpl_{}", schema_hash());
    let admin = connect(&server.superuser_url("postgres")).await;
    admin
        .execute("select pg_advisory_lock($1)", &[&TEMPLATE_LOCK])
        .await
        .expect("lock");
    let exists = admin
        .query_opt("select 1 from pg_database where datname = $1", &[&template])
        .await
        .expect("look up template")
        .is_some();
    if !exists {
        build_template(server, &admin, &template).await;
    }
    admin
        .execute("select pg_advisory_unlock($1)", &[&TEMPLATE_LOCK])
        .await
        .expect("unlock");
    template
}

async fn build_template(server: &Server, admin: &Client, template: &str) {
    let building = format!("{template}_build");
    admin
        .batch_execute(&format!("drop database if exists {building}"))
        .await
        .expect("drop");
    admin
        .batch_execute(&format!("create database {building}"))
        .await
        .expect("create");
    {
        let mut client = connect(&server.superuser_url(&building)).await;
        migrate::migrate(&mut client)
            .await
            .unwrap_or_else(|e| panic!("migrate template: {e}"));
        client
            .batch_execute(&format!(
                "alter role authenticator with login password '{AUTHENTICATOR_PASSWORD}'"
            ))
            .await
            .expect("authenticator password");
    }
    admin
        .batch_execute(&format!(
            "alter database {building} rename to {template};
             alter database {template} is_template true"
        ))
        .await
        .expect("publish template");
}
