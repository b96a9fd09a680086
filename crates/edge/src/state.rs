//! The application state every handler takes with axum's `State`: one typed value, built once.

use std::{ops::Deref, sync::Arc};

use gimbal_auth::Authenticator;
use gimbal_db::{Connection, Pool};
use gimbal_jobs::Jobs;
use gimbal_secrets::Keyring;

use crate::{ApiError, Config};

pub struct App {
    pub config: Config,
    pub pool: Pool,
    pub auth: Authenticator,
    pub jobs: Jobs,
    pub keyring: Keyring,
    pub http: reqwest::Client,
}

#[derive(Clone)]
pub struct AppState(pub Arc<App>);

impl Deref for AppState {
    type Target = App;
    fn deref(&self) -> &App {
        &self.0
    }
}

impl App {
    /// A pooled connection; it becomes a caller's transaction through [`crate::Invocation::begin`].
    pub async fn conn(&self) -> Result<Connection, ApiError> {
        self.pool
            .get()
            .await
            .map_err(|e| ApiError::from(gimbal_db::DbError::from(e)))
    }
}
