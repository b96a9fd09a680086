//! The edge-function runtime: what every function in `functions/` is handed. Configuration,
//! the shared application state, the caller of a request (established by the host before the
//! function runs) with its database scope, the one JSON error envelope, and the description of
//! a function that the host mounts.

pub mod config;
pub mod error;
pub mod function;
pub mod invocation;
pub mod state;

pub use config::{Config, ConfigError, ProviderUrls, WebhookConfig};
pub use error::{ApiError, ErrorBody, JsonBody};
pub use function::Function;
pub use invocation::Invocation;
pub use state::{App, AppState};
