//! Test support: a [`TestApp`] is the real functions host, built by the same code as
//! `gimbal serve`, listening on a free port, over its own freshly migrated database and logging
//! in as `authenticator` exactly as production does.

use std::{collections::HashMap, net::SocketAddr};

use gimbal_auth::{AppRole, DbRole, mint};
use gimbal_db::harness::TestDatabase;
use gimbal_edge::{AppState, Config};
use gimbal_jobs::WorkerConfig;
use secrecy::SecretString;
use serde_json::Value;
use tokio::sync::watch;

pub mod webhooks;

pub const JWT_SECRET: &str = "test-jwt-secret-with-at-least-32-characters";
pub const ADMIN: &str = "00000000-0000-4000-8000-00000000000a";
pub const USER: &str = "00000000-0000-4000-8000-00000000000b";
pub const VIEWER: &str = "00000000-0000-4000-8000-00000000000c";
pub const OTHER_USER: &str = "00000000-0000-4000-8000-00000000000d";

/// Knobs for [`TestApp::spawn_with`].
#[derive(Default)]
pub struct Options {
    /// A Supabase URL whose `/auth/v1/.well-known/jwks.json` serves signing keys.
    pub supabase_url: Option<String>,
    pub body_limit_bytes: Option<usize>,
    pub path_prefix: Option<String>,
    /// Further variables, set after (so overriding) the defaults.
    pub env: Vec<(&'static str, String)>,
    pub import_max_bytes: Option<u64>,
}

pub struct TestApp {
    pub addr: SocketAddr,
    /// The local file store (`GIMBAL_STORAGE_DIR`) of this app.
    pub storage_dir: std::path::PathBuf,
    pub db: TestDatabase,
    pub state: AppState,
    pub http: reqwest::Client,
    stop: watch::Sender<bool>,
}

impl TestApp {
    pub async fn spawn() -> Self {
        Self::spawn_with(Options::default()).await
    }

    pub async fn spawn_with(options: Options) -> Self {
        let db = TestDatabase::new().await;
        let secret = SecretString::from(JWT_SECRET);
        let service_key = mint::api_key(&secret, DbRole::ServiceRole, "test", hour()).unwrap();
        let mut values: HashMap<&str, String> = HashMap::from([
            ("DATABASE_URL", db.app_url()),
            ("DATABASE_POOL_SIZE", "4".into()),
            ("SUPABASE_JWT_SECRET", JWT_SECRET.into()),
            ("SUPABASE_SERVICE_ROLE_KEY", service_key),
            (
                "GIMBAL_ENCRYPTION_KEY",
                "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=".into(),
            ),
            ("GIMBAL_BIND", "127.0.0.1:0".into()),
            ("GIMBAL_PUBLIC_URL", webhooks::PUBLIC_URL.into()),
            ("TWILIO_AUTH_TOKEN", webhooks::TWILIO_AUTH_TOKEN.into()),
            (
                "SENDGRID_WEBHOOK_PUBLIC_KEY",
                webhooks::sendgrid_public_key(),
            ),
        ]);
        let storage_dir =
            std::env::temp_dir().join(format!("gimbal-test-storage-{}", uuid::Uuid::new_v4()));
        values.insert("GIMBAL_STORAGE_DIR", storage_dir.display().to_string());
        if let Some(url) = options.supabase_url {
            values.insert("SUPABASE_URL", url);
        }
        if let Some(prefix) = options.path_prefix {
            values.insert("GIMBAL_PATH_PREFIX", prefix);
        }
        if let Some(limit) = options.import_max_bytes {
            values.insert("GIMBAL_IMPORT_MAX_BYTES", limit.to_string());
        }
        if let Some(limit) = options.body_limit_bytes {
            values.insert("GIMBAL_BODY_LIMIT_BYTES", limit.to_string());
        }
        for (name, value) in options.env {
            values.insert(name, value);
        }
        let config = Config::from_lookup(|k| values.get(k).cloned()).expect("test config");
        let worker = WorkerConfig {
            worker_id: "test-host".into(),
            ..WorkerConfig::default()
        };
        let state = gimbal::app::build_state(config, worker)
            .await
            .expect("state");
        let application = gimbal_host::Application::build(state.clone())
            .await
            .expect("bind");
        let addr = application.local_addr();
        let (stop, mut rx) = watch::channel(false);
        tokio::spawn(application.run_until(async move {
            let _ = rx.wait_for(|s| *s).await;
        }));
        TestApp {
            addr,
            storage_dir,
            db,
            state,
            http: reqwest::Client::new(),
            stop,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    pub fn function_url(&self, name_and_path: &str) -> String {
        self.url(&format!("/functions/v1/{name_and_path}"))
    }

    /// A token for `role`: admin/user/viewer access tokens for the fixture users, or the
    /// anon / service_role API keys.
    pub fn token(&self, role: &str) -> String {
        token_for(role)
    }

    /// Calls a function the way supabase-js does: `apikey` plus `Authorization: Bearer`.
    pub async fn invoke(
        &self,
        method: reqwest::Method,
        name_and_path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> reqwest::Response {
        let mut request = self.http.request(method, self.function_url(name_and_path));
        if let Some(token) = token {
            request = request
                .bearer_auth(token)
                .header("apikey", token_for("anon"));
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        request.send().await.expect("request sent")
    }

    /// Runs `sql` as a superuser on this test's database (fixtures, inspection).
    pub async fn as_superuser(&self, sql: &str) {
        self.db
            .superuser()
            .await
            .batch_execute(sql)
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e:?}"));
    }

    /// Loads `tests/fixtures/rls_fixtures.sql`: the users and a few rows in every table.
    pub async fn load_fixtures(&self) {
        let sql = std::fs::read_to_string(fixture_path("rls_fixtures.sql")).expect("fixtures");
        self.as_superuser(&sql).await;
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
        let _ = std::fs::remove_dir_all(&self.storage_dir);
    }
}

pub fn fixture_path(name: &str) -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures")
        .join(name)
}

pub fn repo_path(relative: &str) -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join(relative)
}

fn hour() -> std::time::Duration {
    std::time::Duration::from_secs(3600)
}

pub fn token_for(role: &str) -> String {
    let secret = SecretString::from(JWT_SECRET);
    match role {
        "anon" => mint::api_key(&secret, DbRole::Anon, "test", hour()).unwrap(),
        "service_role" => mint::api_key(&secret, DbRole::ServiceRole, "test", hour()).unwrap(),
        "admin" | "user" | "viewer" | "other_user" => {
            let (app_role, sub) = match role {
                "admin" => (AppRole::Admin, ADMIN),
                "user" => (AppRole::User, USER),
                "viewer" => (AppRole::Viewer, VIEWER),
                _ => (AppRole::User, OTHER_USER),
            };
            let spec = mint::TokenSpec {
                role: DbRole::Authenticated,
                sub: Some(sub.parse().unwrap()),
                email: Some(format!("{role}@gimbal.local")),
                app_role: Some(app_role),
                ttl: hour(),
                issuer: "http://127.0.0.1/auth/v1".into(),
            };
            mint::access_token(&secret, &spec).unwrap()
        }
        other => panic!("no token for role {other}"),
    }
}

/// Signs arbitrary claims with the test secret (attack and escalation tests).
pub fn sign_claims(claims: &Value) -> String {
    let key = jsonwebtoken::EncodingKey::from_secret(JWT_SECRET.as_bytes());
    jsonwebtoken::encode(&jsonwebtoken::Header::default(), claims, &key).unwrap()
}

pub fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}
