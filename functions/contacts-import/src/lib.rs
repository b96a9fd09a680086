//! `contacts-import`: imports contacts from a CSV body, streamed — rows are parsed (with the
//! `csv` crate, on a blocking thread) and written as the body arrives, so a large file never
//! sits in memory. Phone numbers are normalised to E.164 (numbers without a country code are
//! read in `region`, else the `default_phone_region` setting, else US), emails checked, time
//! zones must be IANA names, consent is recorded with its source and time. Each bad row is
//! reported with its line number and the others are kept; contacts are upserted on email
//! then phone, so importing a file twice creates nothing twice. Runs as the caller: viewers
//! and anon are refused (403).

use std::io;

use axum::{
    Json, Router,
    body::Body,
    extract::{Query, State},
    routing::post,
};
use futures_util::{TryStreamExt, future};
use gimbal_campaigns::{
    WriteError, contacts,
    import::{self, ImportOptions, ImportReport, RowError},
};
use gimbal_db::{Access, DbError};
use gimbal_edge::{ApiError, AppState, ErrorBody, Function, Invocation};
use serde::Deserialize;
use tokio::sync::mpsc;
use tokio_util::io::{StreamReader, SyncIoBridge};
use utoipa::{IntoParams, OpenApi};
use uuid::Uuid;

pub const FUNCTION: Function = Function {
    name: "contacts-import",
    verify_jwt: true,
    summary: "Import contacts from CSV (streamed, per-row errors)",
    router,
    openapi: || ApiDoc::openapi(),
};

/// Files above this are refused (the rows read so far are not kept).
const MAX_BYTES: usize = 100 * 1024 * 1024;

fn router() -> Router<AppState> {
    Router::new().route("/", post(import_csv))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ImportQuery {
    /// Region for numbers without a country code (`US`, `GB`).
    pub region: Option<String>,
    /// Add every imported contact to this audience.
    pub audience_id: Option<Uuid>,
    /// Consent source for rows without a `consent_source` column (default "csv import").
    pub consent_source: Option<String>,
}

fn map_error(err: WriteError) -> ApiError {
    match err {
        WriteError::Invalid(e) => ApiError::validation(e.field, e.message),
        WriteError::NotFound => ApiError::NotFound("not found".into()),
        WriteError::Forbidden => {
            ApiError::Forbidden("the caller is not allowed to import contacts".into())
        }
        WriteError::Conflict(m) => ApiError::Conflict(m),
        WriteError::Db(e) => e.into(),
    }
}

#[utoipa::path(
    post,
    path = "/functions/v1/contacts-import",
    tag = "contacts",
    params(ImportQuery),
    request_body(content_type = "text/csv", description = "A header row (email and/or phone, first_name, last_name, time_zone, locale, sms_consent, email_consent, consent_source, consent_at; other columns become attributes), then one contact per row"),
    responses(
        (status = 200, description = "Imported; bad rows are listed with their line numbers", body = ImportReport),
        (status = 401, description = "Missing or invalid token", body = ErrorBody),
        (status = 403, description = "Viewers and anon may not import", body = ErrorBody),
        (status = 413, description = "The file is larger than 100 MiB", body = ErrorBody),
        (status = 422, description = "A bad parameter, or a file that is not CSV with an email or phone column (`field`)", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
async fn import_csv(
    State(app): State<AppState>,
    call: Invocation,
    Query(query): Query<ImportQuery>,
    body: Body,
) -> Result<Json<ImportReport>, ApiError> {
    if call.scope.role == "anon" {
        return Err(ApiError::Forbidden("sign in to import contacts".into()));
    }
    let mut conn = app.conn().await?;
    let mut tx = call.begin(&mut conn, Access::ReadWrite).await?;
    let region = contacts::phone_region(&tx, "region", query.region.as_deref())
        .await
        .map_err(map_error)?;
    let consent_source = query
        .consent_source
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "csv import".into());
    if consent_source.chars().count() > 200 {
        return Err(ApiError::validation(
            "consent_source",
            "must be at most 200 characters",
        ));
    }
    let options = ImportOptions {
        region,
        consent_source,
        audience_id: query.audience_id,
    };
    import::check_audience(&tx, &options)
        .await
        .map_err(map_error)?;

    let (sender, mut rows) = mpsc::channel(512);
    let parser = spawn_parser(body, options.clone(), sender);
    let report = import::apply(&mut tx, &mut rows, &options).await;
    drop(rows);
    let too_large = parser.await.unwrap_or(false);
    if too_large {
        return Err(ApiError::PayloadTooLarge);
    }
    let report = report.map_err(map_error)?;
    tx.commit().await.map_err(DbError::from)?;
    tracing::info!(
        import.rows = report.rows,
        import.created = report.created,
        import.updated = report.updated,
        import.failed = report.failed,
        "contacts imported"
    );
    Ok(Json(report))
}

/// Feeds the body, as it arrives, to the CSV parser on a blocking thread. Resolves to true
/// when the body went over [`MAX_BYTES`].
fn spawn_parser(
    body: Body,
    options: ImportOptions,
    sender: mpsc::Sender<import::Parsed>,
) -> tokio::task::JoinHandle<bool> {
    let mut seen = 0usize;
    let stream = body
        .into_data_stream()
        .map_err(io::Error::other)
        .and_then(move |chunk| {
            seen += chunk.len();
            future::ready(if seen > MAX_BYTES {
                Err(io::Error::from(io::ErrorKind::FileTooLarge))
            } else {
                Ok(chunk)
            })
        });
    let reader = SyncIoBridge::new(StreamReader::new(stream));
    tokio::task::spawn_blocking(move || {
        let mut reader = TooLarge {
            inner: reader,
            hit: false,
        };
        import::parse(&mut reader, &options, &sender);
        reader.hit
    })
}

/// Remembers whether the body stream failed because of the size limit.
struct TooLarge<R> {
    inner: R,
    hit: bool,
}

impl<R: io::Read> io::Read for TooLarge<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.inner.read(buf).inspect_err(|e| {
            if e.kind() == io::ErrorKind::FileTooLarge {
                self.hit = true;
            }
        })
    }
}

#[derive(OpenApi)]
#[openapi(
    paths(import_csv),
    components(schemas(ImportReport, RowError, ErrorBody))
)]
struct ApiDoc;
