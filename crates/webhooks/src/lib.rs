//! Provider webhooks: verifying that a request really comes from Twilio or SendGrid, and
//! applying what it says. Verification is pure ([`twilio`], [`sendgrid`]); processing
//! ([`sms`], [`email`], [`unsubscribe`], [`security`]) takes a transaction that the caller has
//! opened as `service_role` — a provider is not a user, and its writes (message status,
//! events, suppressions, consent) are ones no user role may make. Each function here writes
//! only the tables its webhook concerns.

pub mod email;
pub mod keys;
pub mod request;
pub mod security;
pub mod sendgrid;
pub mod sms;
pub mod twilio;
pub mod unsubscribe;

use gimbal_db::{Access, Connection, DbError, RequestScope, Transaction};

/// A transaction as `service_role`, for a webhook named `function`. This is the only way the
/// webhook functions reach the database: they run after the provider's signature has been
/// verified, and everything they do is in this crate's narrow, reviewed statements.
pub async fn service_transaction<'c>(
    conn: &'c mut Connection,
    function: &str,
) -> Result<Transaction<'c>, DbError> {
    let scope = RequestScope::service(&format!("/functions/v1/{function}"));
    gimbal_db::scope::begin(conn, &scope, Access::ReadWrite).await
}
