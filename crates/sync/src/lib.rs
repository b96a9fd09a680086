//! Connectors and sync runs. A [`Connector`] tests its connection, discovers its streams,
//! previews rows and reads a stream page by page from a cursor; GA4 (Data API `runReport`),
//! Meta insights, PostgreSQL and generic REST/JSON APIs are built in. A sync run reads a source to the end, upserting
//! into `imported_data` and normalising known metrics into `analytics_data`, page by page with
//! a checkpoint, and is recorded in `sync_logs`.

pub mod access;
pub mod authorize;
pub mod backoff;
pub mod connector;
pub mod credentials;
pub mod cursor;
pub mod ga4;
pub mod meta;
pub mod mysql;
pub mod normalise;
pub mod oauth;
pub mod postgres;
pub mod rest;
pub mod runner;
pub mod sources;
pub mod wizard;

pub use backoff::Backoff;
pub use connector::{ColumnInfo, Connector, ConnectorError, Page, Position, Record, StreamInfo};
pub use runner::{QueuedRun, RunSummary, SyncDeps, SyncError};
pub use sources::{AnyConnector, ProviderUrls, SourceSpec};
