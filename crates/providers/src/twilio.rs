//! Twilio Programmable Messaging: `POST /2010-04-01/Accounts/{Sid}/Messages.json`, form-encoded,
//! HTTP Basic with the account SID (or an API key SID) and its secret.

use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

use crate::{
    BoxFuture, ProviderError, SendOutcome, SmsMessage, SmsProvider, SmsSender, SuppressionReason,
    parse_retry_after, transport_error,
};

const NAME: &str = "twilio";

#[derive(Clone)]
pub struct TwilioClient {
    http: reqwest::Client,
    base_url: String,
    account_sid: String,
    /// The Basic-auth user: the account SID, or an API key SID (`SK…`).
    username: String,
    secret: SecretString,
}

impl std::fmt::Debug for TwilioClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TwilioClient")
            .field("base_url", &self.base_url)
            .finish_non_exhaustive()
    }
}

/// Twilio's answer: the message on success, an error object otherwise.
#[derive(Debug, Deserialize)]
struct Answer {
    sid: Option<String>,
    /// The message status (a string) on success; the HTTP status (a number) on errors.
    status: Option<serde_json::Value>,
    /// Numeric on errors (`code`), and on a created message that failed at once (`error_code`).
    code: Option<i64>,
    error_code: Option<i64>,
    message: Option<String>,
    error_message: Option<String>,
}

impl TwilioClient {
    pub fn new(
        http: reqwest::Client,
        base_url: &str,
        account_sid: &str,
        username: Option<&str>,
        secret: SecretString,
    ) -> Self {
        TwilioClient {
            http,
            base_url: base_url.trim_end_matches('/').to_string(),
            account_sid: account_sid.to_string(),
            username: username.unwrap_or(account_sid).to_string(),
            secret,
        }
    }

    async fn send_one(&self, message: &SmsMessage) -> Result<SendOutcome, ProviderError> {
        let url = format!(
            "{}/2010-04-01/Accounts/{}/Messages.json",
            self.base_url, self.account_sid
        );
        let mut form: Vec<(&str, &str)> = vec![("To", &message.to), ("Body", &message.body)];
        match &message.from {
            SmsSender::From(from) => form.push(("From", from)),
            SmsSender::MessagingService(sid) => form.push(("MessagingServiceSid", sid)),
        }
        if let Some(callback) = &message.status_callback {
            form.push(("StatusCallback", callback));
        }
        let response = self
            .http
            .post(url)
            .basic_auth(&self.username, Some(self.secret.expose_secret()))
            .form(&form)
            .send()
            .await
            .map_err(|e| transport_error(NAME, &e))?;
        let status = response.status();
        let retry_after = parse_retry_after(response.headers());
        let body = response
            .bytes()
            .await
            .map_err(|e| transport_error(NAME, &e))?;
        let answer: Option<Answer> = serde_json::from_slice(&body).ok();
        classify(status.as_u16(), retry_after, answer)
    }
}

fn classify(
    status: u16,
    retry_after: Option<std::time::Duration>,
    answer: Option<Answer>,
) -> Result<SendOutcome, ProviderError> {
    let code = answer.as_ref().and_then(|a| a.code.or(a.error_code));
    let message = answer
        .as_ref()
        .and_then(|a| a.message.clone().or_else(|| a.error_message.clone()))
        .unwrap_or_else(|| format!("HTTP {status}"));
    match status {
        200..=299 => {
            let answer = answer.ok_or_else(|| ProviderError::Ambiguous {
                provider: NAME,
                message: format!("HTTP {status} without a message resource"),
            })?;
            match (answer.sid, answer.status.as_ref().and_then(|s| s.as_str())) {
                (_, Some("failed")) => Ok(rejected(code.unwrap_or(0), message)),
                (Some(sid), _) => Ok(SendOutcome::Accepted {
                    provider_message_id: sid,
                }),
                (None, _) => Err(ProviderError::Ambiguous {
                    provider: NAME,
                    message: "accepted without a sid".into(),
                }),
            }
        }
        429 => Err(ProviderError::Transient {
            provider: NAME,
            message: format!("rate limited ({message})"),
            retry_after,
        }),
        500..=599 => Err(ProviderError::Transient {
            provider: NAME,
            message: format!("HTTP {status}: {message}"),
            retry_after,
        }),
        401 | 403 | 404 => Err(ProviderError::Fatal {
            provider: NAME,
            message: format!("HTTP {status}: {message}"),
        }),
        // 30001 (queue overflow) arrives as a 400 but clears by itself.
        _ if code == Some(20429) || code == Some(30001) => Err(ProviderError::Transient {
            provider: NAME,
            message: format!("error {}: {message}", code.unwrap_or_default()),
            retry_after,
        }),
        _ => Ok(rejected(code.unwrap_or(i64::from(status)), message)),
    }
}

fn rejected(code: i64, message: String) -> SendOutcome {
    let suppression = match code {
        21610 => Some(SuppressionReason::ProviderOptOut),
        21211 | 21614 => Some(SuppressionReason::Invalid),
        _ => None,
    };
    SendOutcome::Rejected {
        code: code.to_string(),
        message,
        suppression,
    }
}

impl SmsProvider for TwilioClient {
    fn name(&self) -> &'static str {
        NAME
    }

    fn send<'a>(
        &'a self,
        message: &'a SmsMessage,
    ) -> BoxFuture<'a, Result<SendOutcome, ProviderError>> {
        Box::pin(self.send_one(message))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(json: &str) -> Option<Answer> {
        Some(serde_json::from_str(json).unwrap())
    }

    #[test]
    fn created_message_is_accepted_with_its_sid() {
        let outcome = classify(201, None, answer(r#"{"sid":"SM1","status":"queued"}"#));
        assert_eq!(
            outcome,
            Ok(SendOutcome::Accepted {
                provider_message_id: "SM1".into()
            })
        );
    }

    #[test]
    fn opted_out_and_invalid_numbers_feed_suppressions() {
        let opted = classify(
            400,
            None,
            answer(r#"{"code":21610,"message":"unsubscribed"}"#),
        );
        assert!(matches!(
            opted,
            Ok(SendOutcome::Rejected { suppression: Some(SuppressionReason::ProviderOptOut), ref code, .. }) if code == "21610"
        ));
        for code in [21211, 21614] {
            let json = format!(r#"{{"code":{code},"message":"bad"}}"#);
            assert!(matches!(
                classify(400, None, answer(&json)),
                Ok(SendOutcome::Rejected {
                    suppression: Some(SuppressionReason::Invalid),
                    ..
                })
            ));
        }
        assert!(matches!(
            classify(400, None, answer(r#"{"code":21408,"message":"region"}"#)),
            Ok(SendOutcome::Rejected {
                suppression: None,
                ..
            })
        ));
    }

    #[test]
    fn rate_limits_and_server_errors_are_transient() {
        let after = Some(std::time::Duration::from_secs(2));
        assert_eq!(classify(429, after, None).unwrap_err().retry_after(), after);
        assert!(matches!(
            classify(503, None, None),
            Err(ProviderError::Transient { .. })
        ));
        assert!(matches!(
            classify(400, None, answer(r#"{"code":30001,"message":"overflow"}"#)),
            Err(ProviderError::Transient { .. })
        ));
    }

    #[test]
    fn bad_credentials_are_fatal() {
        assert!(matches!(
            classify(401, None, answer(r#"{"code":20003,"message":"auth"}"#)),
            Err(ProviderError::Fatal { .. })
        ));
    }
}
