//! `audit-logs`: the audit trail for admins. `GET` answers a page of entries, newest first,
//! filtered by `table`, `actor`, `action`, `kind`, `from`, `to` and paged with `before` and
//! `limit`; `GET ?format=csv` streams the same selection as CSV, a page
//! at a time. Anyone but an admin or the service role gets 403, and
//! the refusal itself is recorded.

use std::collections::HashMap;

use axum::{
    Json, Router,
    body::Body,
    extract::{Query, State},
    http::{HeaderValue, header},
    response::{IntoResponse, Response},
    routing::get,
};
use futures_util::StreamExt;
use gimbal_audit::{AuditEntry, AuditFilter, AuditQueryError};
use gimbal_db::{Access, RequestScope};
use gimbal_edge::{ApiError, AppState, ErrorBody, Function, Invocation};
use serde::Serialize;
use utoipa::{OpenApi, ToSchema};

pub const FUNCTION: Function = Function {
    name: "audit-logs",
    verify_jwt: true,
    summary: "Query and export the audit trail (admins)",
    router,
    openapi: || ApiDoc::openapi(),
};

fn router() -> Router<AppState> {
    Router::new().route("/", get(list))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AuditPage {
    pub entries: Vec<AuditEntry>,
    /// Pass as `before` for the next (older) page; absent on the last page.
    pub next_before: Option<i64>,
}

fn map_error(err: AuditQueryError) -> ApiError {
    match err {
        AuditQueryError::Invalid { field, message } => ApiError::validation(field, message),
        AuditQueryError::Db(e) => e.into(),
    }
}

#[utoipa::path(
    operation_id = "audit_logs_list",
    get,
    path = "/functions/v1/audit-logs",
    tag = "admin",
    params(
        ("table" = Option<String>, Query, description = "Table name, e.g. campaigns"),
        ("actor" = Option<String>, Query, description = "User id of the actor"),
        ("action" = Option<String>, Query, description = "insert, update, delete or a security event such as access.denied"),
        ("kind" = Option<String>, Query, description = "data or security"),
        ("from" = Option<String>, Query, description = "RFC 3339; entries at or after"),
        ("to" = Option<String>, Query, description = "RFC 3339; entries before"),
        ("before" = Option<i64>, Query, description = "Entry id: the page after the previous one"),
        ("limit" = Option<i64>, Query, description = "1-1000, default 100"),
        ("format" = Option<String>, Query, description = "csv for a CSV export"),
    ),
    responses(
        (status = 200, description = "A page of entries, newest first (or text/csv)", body = AuditPage),
        (status = 401, description = "Missing or invalid token", body = ErrorBody),
        (status = 403, description = "Not an admin", body = ErrorBody),
        (status = 422, description = "A filter is invalid; `field` names it", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
async fn list(
    State(app): State<AppState>,
    call: Invocation,
    Query(params): Query<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    let mut conn = app.conn().await?;
    let tx = call.begin(&mut conn, Access::ReadOnly).await?;
    if !gimbal_audit::admit_admins(&tx).await? {
        return Err(ApiError::Forbidden(
            "only admins may read the audit log".into(),
        ));
    }
    let filter = AuditFilter::from_query(&params).map_err(map_error)?;
    match params.get("format").map(String::as_str) {
        None | Some("json") => {
            let entries = gimbal_audit::list(&tx, &filter).await?;
            let next_before = (entries.len() as i64 == filter.limit)
                .then(|| entries.last().map(|e| e.id))
                .flatten();
            Ok(Json(AuditPage {
                entries,
                next_before,
            })
            .into_response())
        }
        Some("csv") => {
            let (first, next) = gimbal_audit::csv_page(&tx, &filter, filter.before).await?;
            drop(tx);
            drop(conn);
            let mut body = gimbal_audit::csv_header();
            body.extend_from_slice(&first);
            let export = Export {
                app: app.clone(),
                scope: call.scope.clone(),
                filter,
            };
            let rest = futures_util::stream::unfold((export, next), next_page);
            let stream = futures_util::stream::once(async move { Ok(body) }).chain(rest);
            let mut response = Body::from_stream(stream).into_response();
            let headers = response.headers_mut();
            headers.insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/csv; charset=utf-8"),
            );
            headers.insert(
                header::CONTENT_DISPOSITION,
                HeaderValue::from_static("attachment; filename=\"audit-logs.csv\""),
            );
            Ok(response)
        }
        Some(_) => Err(ApiError::validation(
            "format",
            "must be \"json\" or \"csv\"",
        )),
    }
}

/// What the rest of a streamed export needs: each further page is read in a transaction of
/// its own, as the same caller, so the audit log's policy applies to every page.
struct Export {
    app: AppState,
    scope: RequestScope,
    filter: AuditFilter,
}

type Chunk = Result<Vec<u8>, std::io::Error>;

async fn next_page(
    (export, before): (Export, Option<i64>),
) -> Option<(Chunk, (Export, Option<i64>))> {
    let before = before?;
    let page = async {
        let mut conn = export.app.conn().await?;
        let tx = gimbal_db::scope::begin(&mut conn, &export.scope, Access::ReadOnly).await?;
        Ok::<_, ApiError>(gimbal_audit::csv_page(&tx, &export.filter, Some(before)).await?)
    };
    match page.await {
        Ok((rows, next)) => Some((Ok(rows), (export, next))),
        Err(e) => {
            // the status is already sent: ending the body with an error aborts the transfer,
            // so the client sees an incomplete download rather than a short file.
            tracing::error!(error = %e, "audit log export failed part-way");
            Some((Err(std::io::Error::other("export failed")), (export, None)))
        }
    }
}

#[derive(OpenApi)]
#[openapi(paths(list), components(schemas(AuditPage, AuditEntry, ErrorBody)))]
struct ApiDoc;
