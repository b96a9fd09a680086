//! Test support: a migrated database per test with a data source and its sealed credentials,
//! and local servers speaking the GA4 Data API and Meta Graph API wire formats.

#![allow(dead_code)]

pub mod ga4_server;
pub mod meta_server;

use std::{net::SocketAddr, time::Duration};

use gimbal_db::{Access, RequestScope, harness::TestDatabase};
use gimbal_secrets::Keyring;
use gimbal_sync::{Backoff, ProviderUrls, SyncDeps, credentials};
use secrecy::SecretString;
use serde_json::Value;
use tokio_postgres::Client;
use uuid::Uuid;

pub struct Env {
    pub db: TestDatabase,
    pub deps: SyncDeps,
}

pub fn keyring() -> Keyring {
    Keyring::from_parts(
        "k1",
        &SecretString::from("AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="),
        "",
    )
    .unwrap()
}

/// Fast retries: tests wait milliseconds where production waits seconds.
pub fn fast_backoff() -> Backoff {
    Backoff {
        attempts: 3,
        base: Duration::from_millis(10),
        max: Duration::from_secs(5),
    }
}

impl Env {
    pub async fn new(urls: ProviderUrls) -> Self {
        let db = TestDatabase::new().await;
        let deps = SyncDeps {
            pool: db.app_pool(4),
            keyring: keyring(),
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(10))
                .build()
                .unwrap(),
            urls,
            backoff: fast_backoff(),
        };
        Env { db, deps }
    }

    pub async fn superuser(&self) -> Client {
        self.db.superuser().await
    }

    /// A data source with `config` and sealed `credentials`.
    pub async fn source(&self, kind: &str, config: Value, credentials: Value) -> Uuid {
        let client = self.superuser().await;
        let id: Uuid = client
            .query_one(
                "insert into public.data_sources (name, kind, config) values ($1, $2, $3) returning id",
                &[&format!("{kind} source"), &kind, &config],
            )
            .await
            .unwrap()
            .get(0);
        let mut conn = self.deps.pool.get().await.unwrap();
        let tx = gimbal_db::scope::begin(
            &mut conn,
            &RequestScope::service("/test"),
            Access::ReadWrite,
        )
        .await
        .unwrap();
        credentials::store(&tx, &self.deps.keyring, id, &credentials)
            .await
            .unwrap();
        tx.commit().await.unwrap();
        id
    }

    /// Queues a run as the `sync` function does.
    pub async fn queue(&self, source: Uuid) -> Uuid {
        let mut conn = self.deps.pool.get().await.unwrap();
        let tx = gimbal_db::scope::begin(
            &mut conn,
            &RequestScope::service("/test"),
            Access::ReadWrite,
        )
        .await
        .unwrap();
        let run = gimbal_sync::runner::queue_run(&tx, source).await.unwrap();
        tx.commit().await.unwrap();
        run.run_id
    }

    pub async fn count(&self, sql: &str) -> i64 {
        self.superuser()
            .await
            .query_one(sql, &[])
            .await
            .unwrap()
            .get(0)
    }

    pub async fn log(&self, run: Uuid) -> tokio_postgres::Row {
        self.superuser()
            .await
            .query_one(
                "select status, rows_read, rows_inserted, rows_updated, cursor_before, cursor_after,
                        error, checkpoint
                   from public.sync_logs where id = $1",
                &[&run],
            )
            .await
            .unwrap()
    }
}

/// Serves `router` on a free port of 127.0.0.1.
pub async fn serve(router: axum::Router) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    addr
}
