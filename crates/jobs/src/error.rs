//! The crate's error type: what can go wrong enqueueing, claiming, scheduling and electing a
//! leader, in terms a caller can act on.

use gimbal_db::DbError;

use crate::schedule::ScheduleError;

#[derive(Debug, thiserror::Error)]
pub enum JobError {
    #[error(transparent)]
    Db(#[from] DbError),
    #[error(transparent)]
    Schedule(#[from] ScheduleError),
    /// A worker task ended abnormally (it panicked or was cancelled) outside any job handler.
    #[error("worker task failed: {0}")]
    Worker(String),
}

impl From<tokio_postgres::Error> for JobError {
    fn from(err: tokio_postgres::Error) -> Self {
        JobError::Db(err.into())
    }
}

impl From<deadpool_postgres::PoolError> for JobError {
    fn from(err: deadpool_postgres::PoolError) -> Self {
        JobError::Db(err.into())
    }
}
