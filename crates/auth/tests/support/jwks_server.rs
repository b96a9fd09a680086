//! A local JWKS endpoint on 127.0.0.1:0 whose keys, caching header, latency and health the
//! test controls, and which counts every request.

use std::{
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, AtomicUsize, Ordering},
    },
    time::Duration,
};

use axum::{Router, extract::State, http::StatusCode, response::IntoResponse, routing::get};
use serde_json::{Value, json};

#[derive(Default)]
struct Shared {
    document: Mutex<Value>,
    cache_control: Mutex<Option<String>>,
    delay: Mutex<Duration>,
    failing: AtomicBool,
    hits: AtomicUsize,
}

pub struct JwksServer {
    shared: Arc<Shared>,
    url: String,
}

impl JwksServer {
    /// Serves `{"keys": [...]}` built from the given JWK JSON texts.
    pub async fn start(jwks: &[&str]) -> Self {
        let shared = Arc::new(Shared::default());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!(
            "http://{}/auth/v1/.well-known/jwks.json",
            listener.local_addr().unwrap()
        );
        let app = Router::new()
            .route("/auth/v1/.well-known/jwks.json", get(serve))
            .with_state(shared.clone());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        let server = Self { shared, url };
        server.set_keys(jwks);
        server
    }

    pub fn url(&self) -> String {
        self.url.clone()
    }

    pub fn hits(&self) -> usize {
        self.shared.hits.load(Ordering::SeqCst)
    }

    pub fn set_keys(&self, jwks: &[&str]) {
        let keys: Vec<Value> = jwks
            .iter()
            .map(|jwk| serde_json::from_str(jwk).unwrap())
            .collect();
        *self.shared.document.lock().unwrap() = json!({ "keys": keys });
    }

    pub fn set_document(&self, document: Value) {
        *self.shared.document.lock().unwrap() = document;
    }

    pub fn set_cache_control(&self, value: &str) {
        *self.shared.cache_control.lock().unwrap() = Some(value.to_owned());
    }

    pub fn set_delay(&self, delay: Duration) {
        *self.shared.delay.lock().unwrap() = delay;
    }

    pub fn set_failing(&self, failing: bool) {
        self.shared.failing.store(failing, Ordering::SeqCst);
    }
}

async fn serve(State(shared): State<Arc<Shared>>) -> impl IntoResponse {
    shared.hits.fetch_add(1, Ordering::SeqCst);
    let delay = *shared.delay.lock().unwrap();
    tokio::time::sleep(delay).await;
    if shared.failing.load(Ordering::SeqCst) {
        return StatusCode::SERVICE_UNAVAILABLE.into_response();
    }
    let document = shared.document.lock().unwrap().clone();
    let cache_control = shared.cache_control.lock().unwrap().clone();
    let mut response = axum::Json(document).into_response();
    if let Some(value) = cache_control {
        response
            .headers_mut()
            .insert("cache-control", value.parse().unwrap());
    }
    response
}
