//! The one error envelope every function answers with:
//!
//! ```json
//! {"code": 422, "error": "validation_failed", "message": "name: must not be empty", "field": "name"}
//! ```
//!
//! `code` is the HTTP status, `error` a stable machine-readable kind, `message` a sentence for
//! people, `field` (when known) the input that was wrong. Authentication failures keep
//! Supabase's exact shape, `{"code":401,"message":"Invalid JWT"}` plus the `sb-error-code`
//! header, so supabase-js clients see what they would see on the platform. Internal details
//! (SQL, constraint internals, secrets) never reach the body; they go to the log and Sentry.

use axum::{
    Json,
    extract::{FromRequest, Request, rejection::JsonRejection},
    http::{HeaderValue, StatusCode},
    response::{IntoResponse, Response},
};
use gimbal_auth::AuthError;
use gimbal_db::DbError;
use serde::Serialize;
use utoipa::ToSchema;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("unauthorized")]
    Auth(#[from] AuthError),
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{field}: {message}")]
    Validation { field: String, message: String },
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    Conflict(String),
    #[error("request body is larger than the limit")]
    PayloadTooLarge,
    #[error("{0}")]
    Unavailable(String),
    #[error("internal error: {0}")]
    Internal(String),
}

/// The JSON body of every error answer.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    /// The HTTP status code.
    pub code: u16,
    /// Stable machine-readable kind (absent on Supabase-shaped 401s).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<&'static str>,
    pub message: String,
    /// The input field at fault, when there is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
}

impl ApiError {
    pub fn validation(field: impl Into<String>, message: impl Into<String>) -> Self {
        ApiError::Validation {
            field: field.into(),
            message: message.into(),
        }
    }

    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::Auth(_) => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden(_) => StatusCode::FORBIDDEN,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::Validation { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::Conflict(_) => StatusCode::CONFLICT,
            ApiError::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn kind(&self) -> &'static str {
        match self {
            ApiError::Auth(_) => "unauthorized",
            ApiError::Forbidden(_) => "forbidden",
            ApiError::NotFound(_) => "not_found",
            ApiError::Validation { .. } => "validation_failed",
            ApiError::BadRequest(_) => "bad_request",
            ApiError::Conflict(_) => "conflict",
            ApiError::PayloadTooLarge => "payload_too_large",
            ApiError::Unavailable(_) => "unavailable",
            ApiError::Internal(_) => "internal",
        }
    }

    pub fn body(&self) -> ErrorBody {
        let code = self.status().as_u16();
        match self {
            ApiError::Auth(e) => ErrorBody {
                code,
                error: None,
                message: e.public_message().into(),
                field: None,
            },
            ApiError::Internal(_) => ErrorBody {
                code,
                error: Some(self.kind()),
                message: "internal error; the request id identifies it in the logs".into(),
                field: None,
            },
            ApiError::Validation { field, message } => ErrorBody {
                code,
                error: Some(self.kind()),
                message: format!("{field}: {message}"),
                field: Some(field.clone()),
            },
            other => ErrorBody {
                code,
                error: Some(other.kind()),
                message: other.to_string(),
                field: None,
            },
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        match &self {
            ApiError::Internal(detail) => {
                tracing::error!(error.detail = %detail, "request failed");
                sentry::capture_message(detail, sentry::Level::Error);
            }
            ApiError::Auth(e) => tracing::info!(auth.reason = %e, "caller rejected"),
            _ => {}
        }
        let mut response = (self.status(), Json(self.body())).into_response();
        if let ApiError::Auth(e) = &self {
            response
                .headers_mut()
                .insert("sb-error-code", HeaderValue::from_static(e.sb_error_code()));
        }
        response
    }
}

impl From<DbError> for ApiError {
    fn from(err: DbError) -> Self {
        match err {
            DbError::PermissionDenied => {
                ApiError::Forbidden("the caller is not allowed to do this".into())
            }
            DbError::Conflict { constraint } => ApiError::Conflict(format!(
                "a row with the same key already exists ({constraint})"
            )),
            DbError::ForeignKey { constraint } => ApiError::validation(
                field_of(&constraint),
                "refers to a row that does not exist or is not visible",
            ),
            DbError::Check { constraint, column } => ApiError::validation(
                column.unwrap_or_else(|| field_of(&constraint)),
                "value is not allowed",
            ),
            DbError::InvalidInput(message) => ApiError::BadRequest(message),
            DbError::Timeout => ApiError::Unavailable("the database took too long".into()),
            DbError::Unavailable(detail) => {
                tracing::error!(error.detail = %detail, "database unavailable");
                ApiError::Unavailable("the database is unavailable".into())
            }
            DbError::Other(detail) => ApiError::Internal(detail),
        }
    }
}

/// `campaigns_name_check` → `name`: constraint names follow `<table>_<column>_<kind>`.
fn field_of(constraint: &str) -> String {
    let parts: Vec<&str> = constraint.split('_').collect();
    if parts.len() >= 3 {
        parts[1..parts.len() - 1].join("_")
    } else {
        constraint.to_string()
    }
}

/// `Json<T>` whose rejections use the error envelope and name the problem (a missing field,
/// a wrong type at `path`, a body that is not JSON).
pub struct JsonBody<T>(pub T);

impl<S, T> FromRequest<S> for JsonBody<T>
where
    Json<T>: FromRequest<S, Rejection = JsonRejection>,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match Json::<T>::from_request(req, state).await {
            Ok(Json(value)) => Ok(JsonBody(value)),
            Err(JsonRejection::JsonDataError(e)) => Err(ApiError::BadRequest(e.body_text())),
            Err(JsonRejection::JsonSyntaxError(e)) => Err(ApiError::BadRequest(e.body_text())),
            Err(JsonRejection::MissingJsonContentType(_)) => Err(ApiError::BadRequest(
                "expected a JSON body with Content-Type: application/json".into(),
            )),
            Err(JsonRejection::BytesRejection(e))
                if e.status() == StatusCode::PAYLOAD_TOO_LARGE =>
            {
                Err(ApiError::PayloadTooLarge)
            }
            Err(other) => Err(ApiError::BadRequest(other.body_text())),
        }
    }
}
