//! Import errors, classified by what the caller can do about them.

use gimbal_db::DbError;

use crate::csv_file::ReadSummary;

#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// An option or the file's shape is wrong; `field` names the input at fault.
    #[error("{field}: {message}")]
    Invalid {
        field: &'static str,
        message: String,
    },
    /// The upload could not be read to the end (connection dropped, I/O error).
    #[error("the file could not be read: {0}")]
    Read(String),
    /// More rows were rejected than allowed; nothing was kept.
    #[error("{} rows rejected, more than the limit of {limit}", summary.rows_rejected)]
    TooManyRejected {
        limit: u64,
        summary: Box<ReadSummary>,
    },
    /// The upload is larger than the configured limit; nothing was kept.
    #[error("the file is larger than the limit of {limit} bytes")]
    TooLarge { limit: u64 },
    #[error("the caller may not import into {0}")]
    Forbidden(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
    /// The same file (by SHA-256) was already imported into this keyless table; nothing was kept.
    #[error(
        "this file (sha256 {sha256}) was already imported into this table at {imported_at}; \
         nothing was imported. Re-import with reimport=replace to replace its rows, or \
         reimport=append to add them again"
    )]
    AlreadyImported { sha256: String, imported_at: String },
    #[error(transparent)]
    Db(DbError),
}

impl ImportError {
    pub fn invalid(field: &'static str, message: impl Into<String>) -> Self {
        ImportError::Invalid {
            field,
            message: message.into(),
        }
    }

    pub(crate) fn read(err: impl std::fmt::Display) -> Self {
        ImportError::Read(err.to_string())
    }
}

impl From<DbError> for ImportError {
    fn from(err: DbError) -> Self {
        ImportError::Db(err)
    }
}

impl From<tokio_postgres::Error> for ImportError {
    fn from(err: tokio_postgres::Error) -> Self {
        ImportError::Db(err.into())
    }
}
