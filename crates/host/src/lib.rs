//! The functions host. It mounts every function of `functions/` at
//! `<prefix>/functions/v1/<name>`, in front of which it does what the Supabase platform does
//! before a function runs: CORS (preflights answered without authentication), the JWT check
//! (`verify_jwt`), a body-size limit; and what operators need: request ids, tracing spans,
//! Prometheus metrics, `/health`, and the OpenAPI document of every function.

pub mod forwarders;
mod layers;
mod metrics;
pub mod openapi;
mod storage_links;

use std::{future::Future, net::SocketAddr, sync::Arc};

use axum::{
    Json, Router,
    extract::{DefaultBodyLimit, State},
    http::StatusCode,
    response::IntoResponse,
    routing::get,
};
use gimbal_edge::{AppState, ErrorBody, Function};
use tokio::net::TcpListener;

pub use metrics::Metrics;

/// Every function this host serves. `gimbal gen-forwarders` and the OpenAPI document are
/// derived from this list, so adding a function here is all it takes to publish it.
pub const FUNCTIONS: &[Function] = &[
    gimbal_fn_me::FUNCTION,
    gimbal_fn_campaigns::FUNCTION,
    gimbal_fn_cron::FUNCTION,
    gimbal_fn_templates::FUNCTION,
    gimbal_fn_audiences::FUNCTION,
    gimbal_fn_contacts::FUNCTION,
    gimbal_fn_contacts_import::FUNCTION,
    gimbal_fn_render_template::FUNCTION,
    gimbal_fn_twilio_status::FUNCTION,
    gimbal_fn_twilio_inbound::FUNCTION,
    gimbal_fn_sendgrid_events::FUNCTION,
    gimbal_fn_unsubscribe::FUNCTION,
    gimbal_fn_audit_logs::FUNCTION,
    gimbal_fn_admin_users::FUNCTION,
    gimbal_fn_app_settings::FUNCTION,
    gimbal_fn_integrations::FUNCTION,
    gimbal_fn_notifications::FUNCTION,
    gimbal_fn_auth_hook::FUNCTION,
    gimbal_fn_import_csv::FUNCTION,
    gimbal_fn_sync::FUNCTION,
    gimbal_fn_test_connection::FUNCTION,
    gimbal_fn_preview::FUNCTION,
    gimbal_fn_oauth_start::FUNCTION,
    gimbal_fn_oauth_callback::FUNCTION,
    gimbal_fn_generate_report::FUNCTION,
    gimbal_fn_send_campaign::FUNCTION,
    gimbal_fn_campaign_control::FUNCTION,
    gimbal_fn_test_send::FUNCTION,
];

/// The bound listener and the router, ready to serve (tests bind port 0).
pub struct Application {
    listener: TcpListener,
    router: Router,
}

impl Application {
    pub async fn build(state: AppState) -> std::io::Result<Self> {
        let listener = TcpListener::bind(state.config.bind).await?;
        Ok(Application {
            listener,
            router: router(state),
        })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.listener
            .local_addr()
            .expect("bound listener has an address")
    }

    /// Serves until `shutdown` completes, then lets requests in flight finish.
    pub async fn run_until(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        axum::serve(self.listener, self.router)
            .with_graceful_shutdown(shutdown)
            .await
    }
}

pub fn router(state: AppState) -> Router {
    let metrics = Arc::new(Metrics::new(FUNCTIONS));
    let base = format!("{}/functions/v1", state.config.path_prefix);
    let mut functions = Router::new();
    for function in FUNCTIONS {
        let mount = format!("{base}/{}", function.name);
        functions = functions.nest(&mount, layers::function_router(&state, function));
    }
    let ops = Router::new()
        .route("/health", get(health))
        .route(
            "/openapi.json",
            get(|| async { Json(openapi::document(FUNCTIONS)) }),
        )
        .route("/metrics", {
            let metrics = metrics.clone();
            get(move |State(app): State<AppState>| metrics::render(metrics.clone(), app))
        })
        .route(
            &format!(
                "{}/storage/v1/object/sign/{{bucket}}/{{*path}}",
                state.config.path_prefix
            ),
            get(storage_links::serve),
        );
    let limit = state.config.body_limit_bytes;
    layers::outer(
        functions
            .merge(ops)
            .fallback(not_found)
            .layer(DefaultBodyLimit::max(limit)),
        metrics,
        state.clone(),
    )
    .with_state(state)
}

async fn health(State(app): State<AppState>) -> impl IntoResponse {
    let db = match app.pool.get().await {
        Ok(conn) => conn.simple_query("select 1").await.is_ok(),
        Err(_) => false,
    };
    let status = if db {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    let body = serde_json::json!({
        "status": if db { "ok" } else { "degraded" },
        "database": if db { "ok" } else { "unreachable" },
    });
    (status, Json(body))
}

async fn not_found() -> impl IntoResponse {
    let body = ErrorBody {
        code: 404,
        error: Some("not_found"),
        message: "no such function or endpoint".into(),
        field: None,
    };
    (StatusCode::NOT_FOUND, Json(body))
}
