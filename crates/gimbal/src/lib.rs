//! The `gimbal` program: building the application from configuration, running the host and the
//! worker, and the operator commands (migrate, exports, dev stack, tokens).

pub mod app;
pub mod cli;
pub mod dev;
pub mod import;
pub mod rollups;
pub mod shutdown;
pub mod telemetry;
