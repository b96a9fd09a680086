//! A function as the host sees it: its name under `/functions/v1/`, whether a JWT is required
//! before it runs (Supabase's `verify_jwt`), its routes and its OpenAPI description.

use axum::Router;

use crate::AppState;

#[derive(Clone, Copy)]
pub struct Function {
    /// The slug in `/functions/v1/<name>`, as `supabase.functions.invoke(name)` calls it.
    pub name: &'static str,
    /// Require a valid token (or API key) before the function runs; webhooks that carry their
    /// own signature set this to false.
    pub verify_jwt: bool,
    pub summary: &'static str,
    /// Routes relative to `/functions/v1/<name>` (`/` is the function itself).
    pub router: fn() -> Router<AppState>,
    pub openapi: fn() -> utoipa::openapi::OpenApi,
}
