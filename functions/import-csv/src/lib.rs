//! `import-csv`: the body of the request is a CSV file; it is streamed (never held whole in
//! memory) into a table of the `imports` schema, as the caller. RLS on `import_tables` decides
//! who may import: admins, and users into tables they own; viewers and anon get 403.
//!
//! Options travel in the query string, so the body can be the file itself
//! (`curl --data-binary @file.csv`, or `supabase.functions.invoke('import-csv?table=…', {body: file})`).
//! The host's JSON body limit does not apply: uploads are limited by `GIMBAL_IMPORT_MAX_BYTES`,
//! counted while streaming.
//!
//! A file already in Supabase Storage (too big to upload through a function, say) is named
//! instead with a JSON body, `{"bucket": "uploads", "path": "2024/sales.csv"}`: it is streamed
//! from `GET /storage/v1/object/authenticated/<bucket>/<path>` with the caller's own JWT, so
//! Storage's RLS decides whether they may read it, straight into the same streamed importer.

use std::{
    io,
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
};

use axum::{
    Json, Router,
    body::{Body, Bytes},
    extract::{Query, State, rejection::QueryRejection},
    http::{HeaderMap, StatusCode, header},
    routing::post,
};
use futures_util::{StreamExt, TryStreamExt, stream::BoxStream};
use gimbal_db::{Access, DbError};
use gimbal_edge::{ApiError, AppState, ErrorBody, Function, Invocation};
use gimbal_import::{
    ColumnOverride, ImportError, ImportReport, LoadRequest, Mode, ReadOptions, Reimport, encoding,
    load::import_csv,
};
use gimbal_storage::{CallerStorage, StorageError};
use serde::Deserialize;
use tokio_util::io::{StreamReader, SyncIoBridge};
use utoipa::{IntoParams, OpenApi, ToSchema};

pub const FUNCTION: Function = Function {
    name: "import-csv",
    verify_jwt: true,
    summary: "Import a CSV file (streamed) into an import table",
    router,
    openapi: || ApiDoc::openapi(),
};

fn router() -> Router<AppState> {
    Router::new().route("/", post(import))
}

/// Query-string options; everything but `table` is optional.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ImportParams {
    /// Table name in the `imports` schema: `^[a-z][a-z0-9_]{0,62}$`.
    pub table: Option<String>,
    /// `create` (default: a new table) or `append` (to a registered table; its types apply).
    pub mode: Option<String>,
    /// One character; detected when absent (`,` `;` tab `|`).
    pub delimiter: Option<String>,
    /// A WHATWG label (`utf-8`, `latin1`, `windows-1252`, `utf-16le`…); detected when absent.
    pub encoding: Option<String>,
    /// Rows that may be rejected before the whole import is refused (default 1000).
    pub max_rejected_rows: Option<String>,
    /// Rows used to infer types (1–100000, default 1000).
    pub sample_rows: Option<String>,
    /// Name of the data source created with a new table.
    pub source_name: Option<String>,
    /// JSON array of `{"source": header, "name"?, "type"?, "skip"?}` overrides.
    pub columns: Option<String>,
    /// Natural key of a new table, comma-separated column names: re-imports upsert on it.
    pub key: Option<String>,
    /// Tables without a key: when this very file (same SHA-256) was imported into the table
    /// before, `refuse` (default, 409), `replace` its earlier rows, or `append` them again.
    pub reimport: Option<String>,
}

/// A CSV object in Supabase Storage, read with the caller's rights.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StorageObject {
    pub bucket: String,
    /// The object's name within the bucket (`2024/sales.csv`).
    pub path: String,
}

/// Largest JSON body naming a Storage object.
const OBJECT_REQUEST_MAX_BYTES: usize = 16 * 1024;

type ByteStream = BoxStream<'static, Result<Bytes, io::Error>>;

#[utoipa::path(
    post,
    path = "/functions/v1/import-csv",
    tag = "imports",
    params(ImportParams),
    request_body(
        content((String = "text/csv"), (StorageObject = "application/json")),
        description = "The file as is, or (as JSON) the Storage object to read it from"
    ),
    responses(
        (status = 201, description = "Imported (rejected rows are listed in `errors`)", body = ImportReport),
        (status = 401, description = "Missing or invalid token", body = ErrorBody),
        (status = 403, description = "The caller may not import into this table", body = ErrorBody),
        (status = 404, description = "append: no such import table; or no such Storage object visible to the caller", body = ErrorBody),
        (status = 409, description = "create: the table exists; or this file was already imported into this keyless table (see `reimport`)", body = ErrorBody),
        (status = 413, description = "The file exceeds GIMBAL_IMPORT_MAX_BYTES", body = ErrorBody),
        (status = 422, description = "An option is invalid, or too many rows were rejected; `field` names it", body = ErrorBody),
        (status = 503, description = "A Storage object was named but Storage is not configured or unreachable", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
async fn import(
    State(app): State<AppState>,
    call: Invocation,
    headers: HeaderMap,
    params: Result<Query<ImportParams>, QueryRejection>,
    body: Body,
) -> Result<(StatusCode, Json<ImportReport>), ApiError> {
    let Query(params) = params.map_err(|e| ApiError::BadRequest(e.body_text()))?;
    let (request, options) = parse(&params, &app)?;
    let limit = app.config.import_max_bytes;
    let (declared, file) = if is_json(&headers) {
        open_object(&app, &headers, body).await?
    } else {
        let declared = headers
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
        (
            declared,
            body.into_data_stream().map_err(io::Error::other).boxed(),
        )
    };
    if declared.is_some_and(|n| n > limit) {
        return Err(ApiError::PayloadTooLarge);
    }
    let exceeded = Arc::new(AtomicBool::new(false));
    let input = limited_reader(file, limit, exceeded.clone());
    let mut conn = app.conn().await?;
    let tx = call.begin(&mut conn, Access::ReadWrite).await?;
    let report = match import_csv(&tx, input, options, &request).await {
        Ok(report) => report,
        Err(_) if exceeded.load(Ordering::Relaxed) => return Err(ApiError::PayloadTooLarge),
        Err(e) => return Err(map_error(e)),
    };
    tx.commit().await.map_err(DbError::from)?;
    let status = match request.mode {
        Mode::Create => StatusCode::CREATED,
        Mode::Append => StatusCode::OK,
    };
    Ok((status, Json(report)))
}

fn is_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|t| t.trim().eq_ignore_ascii_case("application/json"))
}

/// Reads the JSON body naming a Storage object and starts downloading it as the caller;
/// answers the object's declared size and its bytes as they arrive.
async fn open_object(
    app: &AppState,
    headers: &HeaderMap,
    body: Body,
) -> Result<(Option<u64>, ByteStream), ApiError> {
    let bytes = axum::body::to_bytes(body, OBJECT_REQUEST_MAX_BYTES)
        .await
        .map_err(|_| {
            ApiError::BadRequest("the JSON body naming a Storage object is too large".into())
        })?;
    let object: StorageObject = serde_json::from_slice(&bytes).map_err(|e| {
        ApiError::validation(
            "body",
            format!("must be {{\"bucket\": …, \"path\": …}}: {e}"),
        )
    })?;
    let (Some(url), Some(api_key)) = (&app.config.supabase_url, &app.config.anon_key) else {
        return Err(ApiError::Unavailable(
            "importing from Storage needs SUPABASE_URL and SUPABASE_ANON_KEY".into(),
        ));
    };
    // The host verified this token; Storage checks it again and applies its own RLS.
    let header = |name| headers.get(name).and_then(|v| v.to_str().ok());
    let token =
        gimbal_auth::presented_token(header(header::AUTHORIZATION.as_str()), header("apikey"))
            .ok_or_else(|| {
                ApiError::BadRequest("a Storage import needs the caller's bearer token".into())
            })?;
    let storage = CallerStorage::new(url, api_key.clone(), app.http.clone());
    let response = storage
        .open(&object.bucket, &object.path, token)
        .await
        .map_err(|e| storage_error(e, &object))?;
    let declared = response.content_length();
    Ok((
        declared,
        // Chunk by chunk as they arrive (reqwest's own stream needs a feature this need not).
        futures_util::stream::try_unfold(response, |mut response| async move {
            match response.chunk().await {
                Ok(Some(chunk)) => Ok(Some((chunk, response))),
                Ok(None) => Ok(None),
                Err(e) => Err(io::Error::other(e.without_url())),
            }
        })
        .boxed(),
    ))
}

fn storage_error(err: StorageError, object: &StorageObject) -> ApiError {
    match err {
        StorageError::InvalidBucket(_) => {
            ApiError::validation("bucket", "is not a valid bucket name")
        }
        StorageError::InvalidPath(_) => ApiError::validation(
            "path",
            "must be an object name without empty, '.' or '..' segments",
        ),
        // Storage answers "not found" for objects its RLS hides, too.
        StorageError::Status { status: 404, .. } => ApiError::NotFound(format!(
            "no object {:?} in bucket {:?} visible to the caller",
            object.path, object.bucket
        )),
        StorageError::Status {
            status: 401 | 403, ..
        } => ApiError::Forbidden(format!(
            "the caller may not read {:?} in bucket {:?}",
            object.path, object.bucket
        )),
        StorageError::Status { status, message } if status < 500 => {
            ApiError::BadRequest(format!("Storage refused the object: {message}"))
        }
        other => ApiError::Unavailable(format!("Storage could not be read: {other}")),
    }
}

/// The file as a blocking reader for the CSV thread, failing once more than `limit` bytes came.
fn limited_reader(file: ByteStream, limit: u64, exceeded: Arc<AtomicBool>) -> impl io::Read + Send {
    let mut seen = 0u64;
    let stream = file.and_then(move |chunk| {
        seen += chunk.len() as u64;
        let over = seen > limit;
        if over {
            exceeded.store(true, Ordering::Relaxed);
        }
        std::future::ready(if over {
            Err(io::Error::other("upload exceeds the import size limit"))
        } else {
            Ok(chunk)
        })
    });
    SyncIoBridge::new(StreamReader::new(stream))
}

fn parse(params: &ImportParams, app: &AppState) -> Result<(LoadRequest, ReadOptions), ApiError> {
    let table = params
        .table
        .clone()
        .ok_or_else(|| ApiError::validation("table", "is required"))?;
    let mode = match params.mode.as_deref() {
        None | Some("create") => Mode::Create,
        Some("append") => Mode::Append,
        Some(_) => return Err(ApiError::validation("mode", "must be create or append")),
    };
    let delimiter = match params.delimiter.as_deref() {
        None => None,
        Some("\\t" | "tab") => Some(b'\t'),
        Some(d) if d.len() == 1 && d != "\"" && d != "\n" && d != "\r" => Some(d.as_bytes()[0]),
        Some(_) => {
            return Err(ApiError::validation(
                "delimiter",
                "must be one ASCII character (or tab), not a quote or newline",
            ));
        }
    };
    let encoding = params
        .encoding
        .as_deref()
        .map(|label| {
            encoding::by_label(label)
                .ok_or_else(|| ApiError::validation("encoding", "is not a known encoding label"))
        })
        .transpose()?;
    let max_rejected_rows = number(
        params.max_rejected_rows.as_deref(),
        "max_rejected_rows",
        1000,
        u64::MAX,
    )?;
    let sample_rows = number(params.sample_rows.as_deref(), "sample_rows", 1000, 100_000)?;
    if sample_rows == 0 {
        return Err(ApiError::validation("sample_rows", "must be at least 1"));
    }
    let columns: Vec<ColumnOverride> = match params.columns.as_deref() {
        None => Vec::new(),
        Some(json) => serde_json::from_str(json).map_err(|e| {
            ApiError::validation("columns", format!("must be a JSON array of overrides: {e}"))
        })?,
    };
    if let Some(name) = &params.source_name
        && !(1..=200).contains(&name.chars().count())
    {
        return Err(ApiError::validation(
            "source_name",
            "must be 1-200 characters",
        ));
    }
    let reimport = match params.reimport.as_deref() {
        None | Some("refuse") => Reimport::Refuse,
        Some("replace") => Reimport::Replace,
        Some("append") => Reimport::Append,
        Some(_) => {
            return Err(ApiError::validation(
                "reimport",
                "must be refuse, replace or append",
            ));
        }
    };
    let request = LoadRequest {
        reimport,
        table,
        mode,
        source_name: params.source_name.clone(),
        statement_timeout: app.config.import_statement_timeout,
        key: params
            .key
            .as_deref()
            .map(|k| {
                k.split(',')
                    .map(|c| c.trim().to_string())
                    .filter(|c| !c.is_empty())
                    .collect()
            })
            .unwrap_or_default(),
    };
    let options = ReadOptions {
        delimiter,
        encoding,
        columns,
        table_columns: None,
        sample_rows: usize::try_from(sample_rows).unwrap_or(usize::MAX),
        max_rejected_rows,
    };
    Ok((request, options))
}

fn number(raw: Option<&str>, field: &str, default: u64, max: u64) -> Result<u64, ApiError> {
    match raw {
        None => Ok(default),
        Some(s) => {
            s.parse::<u64>().ok().filter(|n| *n <= max).ok_or_else(|| {
                ApiError::validation(field, format!("must be a whole number ≤ {max}"))
            })
        }
    }
}

fn map_error(err: ImportError) -> ApiError {
    match err {
        ImportError::Invalid { field, message } => ApiError::validation(field, message),
        ImportError::TooManyRejected { limit, summary } => {
            let first = summary.errors.first().map_or(String::new(), |e| {
                let column = e
                    .column
                    .as_deref()
                    .map(|c| format!(", column {c}"))
                    .unwrap_or_default();
                format!("; first: line {}{column}: {}", e.line, e.message)
            });
            ApiError::validation(
                "max_rejected_rows",
                format!(
                    "{} rows rejected, more than the limit of {limit}; nothing was imported{first}",
                    summary.rows_rejected
                ),
            )
        }
        ImportError::TooLarge { .. } => ApiError::PayloadTooLarge,
        ImportError::Read(message) => {
            ApiError::BadRequest(format!("the upload could not be read: {message}"))
        }
        ImportError::Forbidden(table) => {
            ApiError::Forbidden(format!("the caller may not import into {table:?}"))
        }
        ImportError::NotFound(message) => ApiError::NotFound(message),
        ImportError::Conflict(message) => ApiError::Conflict(message),
        already @ ImportError::AlreadyImported { .. } => ApiError::Conflict(already.to_string()),
        ImportError::Db(e) => e.into(),
    }
}

#[derive(OpenApi)]
#[openapi(
    paths(import),
    components(schemas(
        ImportReport,
        gimbal_import::RowError,
        gimbal_import::Column,
        gimbal_import::ColumnType,
        Mode,
        StorageObject,
        ErrorBody
    ))
)]
struct ApiDoc;
