//! Reports: definitions stored in `reports` (reusable as templates), their data read through
//! the dashboard functions, CSV / XLSX / PDF files, runs recorded in `report_runs`, files kept
//! in Storage behind signed links, and scheduled delivery by email through the job queue.

pub mod data;
pub mod definition;
pub mod delivery;
pub mod generate;
pub mod metrics;
pub mod render;
pub mod runs;

use gimbal_db::DbError;
use gimbal_storage::StorageError;

pub use definition::{FieldError, Format, Report};
pub use generate::{Caller, QueuedReportRun};
pub use runs::{ReportRun, RunRequest};

#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error(transparent)]
    Invalid(#[from] FieldError),
    #[error("{0}")]
    NotFound(String),
    #[error(transparent)]
    Db(#[from] DbError),
    #[error("rendering failed: {0}")]
    Render(#[from] render::RenderError),
    #[error("storing the file failed: {0}")]
    Storage(#[from] StorageError),
}
