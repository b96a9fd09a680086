//! Who is calling: turns a request's `Authorization` / `apikey` headers into a [`Caller`],
//! the way Supabase's edge gateway and PostgREST do.
//!
//! Accepted credentials are the project's service-role key, HS256 tokens signed with the
//! legacy JWT secret, and ES256 / RS256 tokens signed by a key published in the project's
//! JWKS. Each algorithm is verified only with its own key source, so a token can never pick
//! the key it is checked against. [`mint`] issues tokens of the same shapes for local use
//! and tests.

mod authenticator;
mod bearer;
mod caller;
mod claims;
mod config;
mod error;
mod jwks;
pub mod mint;
mod roles;
mod token;

pub use authenticator::Authenticator;
pub use bearer::presented_token;
pub use caller::Caller;
pub use config::AuthConfig;
pub use error::AuthError;
pub use roles::{AppRole, DbRole, ParseAppRoleError};
