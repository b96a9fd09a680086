//! Data import. Files are read as streams: the encoding (BOM, UTF-8, chardetng's guess) and the
//! delimiter are detected from the first bytes, the column types are inferred from a sample and
//! may be overridden, and every row is checked field by field, so a bad row is reported with its
//! line and column while the good rows load. Loading goes through `COPY … FROM STDIN` into a
//! table of the `imports` schema, created from the inferred columns and registered in
//! `public.import_tables`, inside the caller's transaction: a fatal error leaves nothing behind.

pub mod csv_file;
pub mod encoding;
mod error;
pub mod load;
pub mod runs;
pub mod schema;
pub mod sniff;
pub mod value;

pub use csv_file::{ReadOptions, ReadSummary, RowError};
pub use error::ImportError;
pub use load::{ImportReport, LoadRequest, Mode};
pub use runs::Reimport;
pub use schema::{Column, ColumnOverride, ColumnType};
