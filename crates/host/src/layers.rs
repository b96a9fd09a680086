//! The layers around the functions: what the platform does before a function runs.

use std::{sync::Arc, time::Instant};

use axum::{
    Json, Router,
    extract::{Request, State},
    http::{HeaderName, HeaderValue, Method, StatusCode, header},
    middleware::{self, Next},
    response::{IntoResponse, Response},
};
use gimbal_edge::{ApiError, AppState, ErrorBody, Function};
use tower::ServiceBuilder;
use tower_http::{
    catch_panic::CatchPanicLayer,
    cors::{AllowOrigin, CorsLayer},
    request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer},
    trace::TraceLayer,
};

use crate::metrics::Metrics;

const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// The headers supabase-js sends and Supabase's CORS guide allows (with the tracing headers
/// the newer guide adds).
const ALLOWED_HEADERS: [&str; 8] = [
    "authorization",
    "x-client-info",
    "apikey",
    "content-type",
    "x-retry-count",
    "traceparent",
    "tracestate",
    "baggage",
];

/// A function's routes behind its authentication check.
pub fn function_router(state: &AppState, function: &Function) -> Router<AppState> {
    let verify_jwt = function.verify_jwt;
    let router = (function.router)().method_not_allowed_fallback(method_not_allowed);
    // Functions without a JWT (provider webhooks, unsubscribe links, auth hooks) authenticate
    // by a signature of their own and record their own refusals (`webhook.bad_signature`).
    let router = if verify_jwt {
        router.layer(middleware::from_fn_with_state(
            (state.clone(), function.name),
            record_denials,
        ))
    } else {
        router
    };
    router.layer(middleware::from_fn_with_state(
        (state.clone(), verify_jwt),
        authenticate,
    ))
}

/// Every 403 a JWT-verified function answers is a security event in the audit log
/// (`access.denied`, with the caller and the function), whatever refused the caller: a role
/// check or RLS.
async fn record_denials(
    State((app, function)): State<(AppState, &'static str)>,
    request: Request,
    next: Next,
) -> Response {
    let caller = request.extensions().get::<gimbal_auth::Caller>().cloned();
    let request_id = request
        .headers()
        .get(&REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    let response = next.run(request).await;
    if response.status() == StatusCode::FORBIDDEN
        && let Some(caller) = caller
    {
        let role = caller
            .app_role
            .map(|r| r.as_str())
            .unwrap_or(caller.db_role.as_str());
        gimbal_audit::record_access_denied(
            &app.pool,
            function,
            caller.user_id,
            Some(role.to_string()),
            &request_id,
        )
        .await;
    }
    response
}

/// Establishes the caller before the function runs, as the platform's `verify_jwt` does.
/// OPTIONS is always exempt: browsers send preflights without credentials.
async fn authenticate(
    State((app, verify_jwt)): State<(AppState, bool)>,
    mut request: Request,
    next: Next,
) -> Response {
    if request.method() == Method::OPTIONS {
        return (StatusCode::OK, "ok").into_response();
    }
    let headers = request.headers();
    // A header that is not visible ASCII cannot hold a token; it is judged as a malformed one.
    let text = |name: &str| headers.get(name).map(|v| v.to_str().unwrap_or("\u{fffd}"));
    let authorization = text(header::AUTHORIZATION.as_str());
    let apikey = text("apikey");
    match app
        .auth
        .authenticate(authorization, apikey, verify_jwt)
        .await
    {
        Ok(caller) => {
            request.extensions_mut().insert(caller);
            next.run(request).await
        }
        Err(e) => ApiError::Auth(e).into_response(),
    }
}

async fn method_not_allowed() -> impl IntoResponse {
    let body = ErrorBody {
        code: 405,
        error: Some("method_not_allowed"),
        message: "this function does not accept that method".into(),
        field: None,
    };
    (StatusCode::METHOD_NOT_ALLOWED, Json(body))
}

/// Request ids, tracing, CORS, metrics and panic containment, outermost first.
pub fn outer(
    router: Router<AppState>,
    metrics: Arc<Metrics>,
    _state: AppState,
) -> Router<AppState> {
    let cors = CorsLayer::new()
        .allow_origin(AllowOrigin::any())
        .allow_headers(ALLOWED_HEADERS.map(HeaderName::from_static))
        .allow_methods([
            Method::GET,
            Method::POST,
            Method::PUT,
            Method::PATCH,
            Method::DELETE,
            Method::OPTIONS,
        ])
        .expose_headers([REQUEST_ID, HeaderName::from_static("sb-error-code")]);
    let trace = TraceLayer::new_for_http().make_span_with(|request: &Request| {
        let id = request
            .headers()
            .get(&REQUEST_ID)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        // The path only: query strings can carry signed tokens.
        tracing::info_span!(
            "request",
            request.id = %id,
            http.method = %request.method(),
            http.path = %request.uri().path(),
        )
    });
    router.layer(
        ServiceBuilder::new()
            .layer(SetRequestIdLayer::new(REQUEST_ID, MakeRequestUuid))
            .layer(PropagateRequestIdLayer::new(REQUEST_ID))
            .layer(trace)
            .layer(cors)
            .layer(middleware::from_fn_with_state(metrics, track))
            .layer(CatchPanicLayer::custom(panic_response)),
    )
}

async fn track(State(metrics): State<Arc<Metrics>>, request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = request.method().clone();
    let function = metrics.function_of(request.uri().path());
    let response = next.run(request).await;
    metrics.observe(function, &method, response.status(), started.elapsed());
    response
}

fn panic_response(_: Box<dyn std::any::Any + Send + 'static>) -> Response {
    tracing::error!("handler panicked");
    let mut response = ApiError::Internal("handler panicked".into()).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}
