//! The database: connection pools, migrations and policies, transactions scoped to a caller,
//! private local clusters (for `gimbal dev` and tests) and the export of the schema as Supabase
//! CLI migrations.

pub mod cluster;
pub mod error;
pub mod export;
#[cfg(feature = "harness")]
pub mod harness;
pub mod migrate;
pub mod pool;
pub mod scope;

pub use deadpool_postgres::{Object as Connection, Pool};
pub use error::DbError;
pub use scope::{Access, RequestScope};
pub use tokio_postgres::{self as postgres, Transaction};
pub mod identity;
