//! gimbal-providers: sending SMS and email. Two traits ([`SmsProvider`], [`EmailProvider`]) with
//! three implementations each — the real [`twilio`] and [`sendgrid`] clients (base URLs
//! configurable) and [`local`] providers that record messages in the database for `gimbal dev`.
//! [`config`] picks one from the environment.
//!
//! Every failure is classified once, here, so the dispatcher can decide without knowing the
//! provider: a [`SendOutcome::Rejected`] is a permanent, per-recipient answer (maybe feeding a
//! suppression); a [`ProviderError::Transient`] means nothing was sent and the same request may
//! be retried (after `retry_after` when the provider said so); a [`ProviderError::Ambiguous`]
//! means the request may have been taken (a timeout after it was written), so it must not be
//! repeated; a [`ProviderError::Fatal`] means no request can succeed (bad credentials).

pub mod config;
pub mod local;
#[cfg(feature = "mock")]
pub mod mock;
pub mod sendgrid;
pub mod twilio;

use std::{future::Future, pin::Pin, time::Duration};

pub use config::{ProviderConfig, Providers};

/// A boxed, sendable future (the traits are used as `dyn`).
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Who an SMS comes from: a number (or alphanumeric id), or a Twilio Messaging Service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SmsSender {
    From(String),
    MessagingService(String),
}

impl SmsSender {
    /// A Messaging Service SID (`MG` + 32 hex digits) or a plain sender.
    pub fn parse(from_address: &str) -> Self {
        let is_service = from_address.len() == 34
            && from_address.starts_with("MG")
            && from_address[2..].chars().all(|c| c.is_ascii_hexdigit());
        if is_service {
            SmsSender::MessagingService(from_address.to_string())
        } else {
            SmsSender::From(from_address.to_string())
        }
    }

    pub fn as_str(&self) -> &str {
        match self {
            SmsSender::From(s) | SmsSender::MessagingService(s) => s,
        }
    }
}

#[derive(Debug, Clone)]
pub struct SmsMessage {
    /// E.164.
    pub to: String,
    pub from: SmsSender,
    pub body: String,
    /// Where Twilio posts status updates (the `twilio-status` function).
    pub status_callback: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmailAddress {
    pub email: String,
    pub name: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
pub struct Attachment {
    pub filename: String,
    pub content_type: String,
    /// Standard base64 of the file's bytes.
    pub content_base64: String,
}

/// One recipient's email. Messages of one [`EmailBatch`] share sender and categories.
#[derive(Debug, Clone, Default)]
pub struct EmailMessage {
    pub to: String,
    pub subject: String,
    pub text: Option<String>,
    pub html: Option<String>,
    /// Per-recipient headers (`List-Unsubscribe`, `List-Unsubscribe-Post`).
    pub headers: Vec<(String, String)>,
    /// Per-recipient values echoed back in webhook events (`message_id`, `campaign_id`).
    pub custom_args: Vec<(String, String)>,
    pub attachments: Vec<Attachment>,
}

#[derive(Debug, Clone)]
pub struct EmailBatch {
    pub from: EmailAddress,
    pub categories: Vec<String>,
    pub messages: Vec<EmailMessage>,
}

/// Why a suppression is added for a rejected recipient (the `suppressions.reason` values).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SuppressionReason {
    /// The recipient opted out at the provider (Twilio 21610).
    ProviderOptOut,
    /// The address can never receive (Twilio 21211 / 21614, SendGrid invalid address).
    Invalid,
}

impl SuppressionReason {
    pub fn as_str(self) -> &'static str {
        match self {
            SuppressionReason::ProviderOptOut => "provider_opt_out",
            SuppressionReason::Invalid => "invalid",
        }
    }
}

/// The provider's answer for one recipient.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SendOutcome {
    Accepted {
        provider_message_id: String,
    },
    /// Permanently refused for this recipient; sending again cannot help.
    Rejected {
        code: String,
        message: String,
        suppression: Option<SuppressionReason>,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProviderError {
    /// Nothing was sent (429, 5xx, connection refused); retry, no sooner than `retry_after`.
    #[error("{provider}: transient failure: {message}")]
    Transient {
        provider: &'static str,
        message: String,
        retry_after: Option<Duration>,
    },
    /// The request may have reached the provider (a timeout after it was written): the outcome
    /// is unknown, and repeating it could send twice.
    #[error("{provider}: outcome unknown: {message}")]
    Ambiguous {
        provider: &'static str,
        message: String,
    },
    /// No request can succeed until someone fixes the configuration (401, 403, 404, 413).
    #[error("{provider}: request refused: {message}")]
    Fatal {
        provider: &'static str,
        message: String,
    },
}

impl ProviderError {
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            ProviderError::Transient { retry_after, .. } => *retry_after,
            _ => None,
        }
    }
}

pub trait SmsProvider: Send + Sync + 'static {
    /// `twilio`, `local`, … (stored in `sms_messages.provider`).
    fn name(&self) -> &'static str;
    fn send<'a>(
        &'a self,
        message: &'a SmsMessage,
    ) -> BoxFuture<'a, Result<SendOutcome, ProviderError>>;
}

pub trait EmailProvider: Send + Sync + 'static {
    fn name(&self) -> &'static str;
    /// Most messages one [`EmailProvider::send_batch`] call takes.
    fn max_batch(&self) -> usize;
    /// One outcome per message, in order; an error applies to the whole batch.
    fn send_batch<'a>(
        &'a self,
        batch: &'a EmailBatch,
    ) -> BoxFuture<'a, Result<Vec<SendOutcome>, ProviderError>>;
}

/// `Retry-After` as seconds (the form both providers use) or an HTTP date.
pub(crate) fn parse_retry_after(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    let raw = headers
        .get(reqwest::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim();
    if let Ok(secs) = raw.parse::<f64>() {
        return (secs.is_finite() && secs >= 0.0).then(|| Duration::from_secs_f64(secs));
    }
    let when = chrono::DateTime::parse_from_rfc2822(raw).ok()?;
    let delta = when.signed_duration_since(chrono::Utc::now());
    Some(delta.to_std().unwrap_or(Duration::ZERO))
}

/// Classifies a transport error: a connection that never opened sent nothing; a timeout or a
/// broken connection afterwards may have delivered the request.
pub(crate) fn transport_error(provider: &'static str, err: &reqwest::Error) -> ProviderError {
    if err.is_connect() {
        ProviderError::Transient {
            provider,
            message: format!("cannot connect: {}", without_url(err)),
            retry_after: None,
        }
    } else {
        ProviderError::Ambiguous {
            provider,
            message: if err.is_timeout() {
                "timed out waiting for the answer".into()
            } else {
                without_url(err)
            },
        }
    }
}

/// reqwest errors print the URL, which for Twilio holds the account SID.
fn without_url(err: &reqwest::Error) -> String {
    let mut text = err.to_string();
    if let Some(url) = err.url() {
        text = text.replace(url.as_str(), "<provider url>");
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messaging_service_sids_are_recognised() {
        assert_eq!(
            SmsSender::parse("MG0123456789abcdef0123456789abcdef"),
            SmsSender::MessagingService("MG0123456789abcdef0123456789abcdef".into())
        );
        assert_eq!(
            SmsSender::parse("+15550100199"),
            SmsSender::From("+15550100199".into())
        );
        assert_eq!(
            SmsSender::parse("MGshort"),
            SmsSender::From("MGshort".into())
        );
    }

    #[test]
    fn retry_after_accepts_seconds_and_dates() {
        let mut headers = reqwest::header::HeaderMap::new();
        headers.insert("retry-after", "3".parse().unwrap());
        assert_eq!(parse_retry_after(&headers), Some(Duration::from_secs(3)));
        headers.insert(
            "retry-after",
            "Wed, 21 Oct 2015 07:28:00 GMT".parse().unwrap(),
        );
        assert_eq!(parse_retry_after(&headers), Some(Duration::ZERO));
        headers.insert("retry-after", "soon".parse().unwrap());
        assert_eq!(parse_retry_after(&headers), None);
    }
}
