//! Database errors classified by what a caller can do about them. SQLSTATE codes become
//! variants so the HTTP faces can answer 403/409/422 without leaking database internals.

use tokio_postgres::error::SqlState;

#[derive(Debug, thiserror::Error)]
pub enum DbError {
    /// RLS or a missing grant refused the statement (SQLSTATE 42501).
    #[error("permission denied")]
    PermissionDenied,
    #[error("duplicate value violates {constraint}")]
    Conflict { constraint: String },
    #[error("referenced row does not exist ({constraint})")]
    ForeignKey { constraint: String },
    #[error("value rejected by {constraint}")]
    Check {
        constraint: String,
        column: Option<String>,
    },
    #[error("invalid input: {0}")]
    InvalidInput(String),
    #[error("statement timed out")]
    Timeout,
    #[error("database unavailable: {0}")]
    Unavailable(String),
    #[error("database error: {0}")]
    Other(String),
}

impl From<tokio_postgres::Error> for DbError {
    fn from(err: tokio_postgres::Error) -> Self {
        let Some(db) = err.as_db_error() else {
            return if err.is_closed() {
                DbError::Unavailable(err.to_string())
            } else {
                DbError::Other(err.to_string())
            };
        };
        let constraint = db.constraint().unwrap_or_default().to_string();
        let code = db.code();
        if *code == SqlState::INSUFFICIENT_PRIVILEGE {
            DbError::PermissionDenied
        } else if *code == SqlState::UNIQUE_VIOLATION {
            DbError::Conflict { constraint }
        } else if *code == SqlState::FOREIGN_KEY_VIOLATION {
            DbError::ForeignKey { constraint }
        } else if *code == SqlState::CHECK_VIOLATION || *code == SqlState::NOT_NULL_VIOLATION {
            let column = db.column().map(str::to_string);
            DbError::Check { constraint, column }
        } else if *code == SqlState::QUERY_CANCELED {
            DbError::Timeout
        } else if code.code().starts_with("22") {
            DbError::InvalidInput(db.message().to_string())
        } else {
            DbError::Other(format!("{}: {}", code.code(), db.message()))
        }
    }
}

impl From<deadpool_postgres::PoolError> for DbError {
    fn from(err: deadpool_postgres::PoolError) -> Self {
        match err {
            deadpool_postgres::PoolError::Backend(e) => e.into(),
            other => DbError::Unavailable(other.to_string()),
        }
    }
}
