//! SendGrid v3 Mail Send: `POST /v3/mail/send` with a Bearer key; up to 1000 personalizations
//! per request, success is `202 Accepted` with `X-Message-Id`.
//!
//! Campaign messages are rendered per recipient, but a request has one `content[]`. Each
//! personalization therefore carries its own text and html as `substitutions` for the tags
//! `%gimbal_text%` / `%gimbal_html%` (and its own `subject`), so a thousand different messages
//! travel in one request. SendGrid caps substitutions at 10,000 bytes per personalization: a
//! message larger than that, or one with attachments, goes in a request of its own with its
//! content inline.

use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use serde_json::{Map, Value, json};

use crate::{
    BoxFuture, EmailBatch, EmailMessage, EmailProvider, ProviderError, SendOutcome,
    SuppressionReason, parse_retry_after, transport_error,
};

const NAME: &str = "sendgrid";
pub const MAX_PERSONALIZATIONS: usize = 1000;
const MAX_SUBSTITUTION_BYTES: usize = 10_000;
const TEXT_TAG: &str = "%gimbal_text%";
const HTML_TAG: &str = "%gimbal_html%";

#[derive(Clone)]
pub struct SendGridClient {
    http: reqwest::Client,
    base_url: String,
    api_key: SecretString,
}

impl std::fmt::Debug for SendGridClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SendGridClient")
            .field("base_url", &self.base_url)
            .finish_non_exhaustive()
    }
}

impl SendGridClient {
    pub fn new(http: reqwest::Client, base_url: &str, api_key: SecretString) -> Self {
        SendGridClient {
            http,
            base_url: base_url.trim_end_matches('/').to_string(),
            api_key,
        }
    }

    async fn send(&self, batch: &EmailBatch) -> Result<Vec<SendOutcome>, ProviderError> {
        let mut outcomes: Vec<Option<SendOutcome>> = vec![None; batch.messages.len()];
        let (shared, alone): (Vec<usize>, Vec<usize>) =
            (0..batch.messages.len()).partition(|&i| fits_substitution(&batch.messages[i]));
        for chunk in shared.chunks(MAX_PERSONALIZATIONS) {
            self.send_group(batch, chunk, &mut outcomes).await?;
        }
        for &i in &alone {
            self.send_group(batch, &[i], &mut outcomes).await?;
        }
        Ok(outcomes
            .into_iter()
            .map(|o| o.expect("every message was sent in some request"))
            .collect())
    }

    /// Sends messages `indexes` in one request. SendGrid answers 400 for the whole request when
    /// one address is bad, so a refused group is split into single requests to find out which.
    async fn send_group(
        &self,
        batch: &EmailBatch,
        indexes: &[usize],
        outcomes: &mut [Option<SendOutcome>],
    ) -> Result<(), ProviderError> {
        match self.post(&request_body(batch, indexes)).await? {
            Answer::Accepted(message_id) => {
                for (n, &i) in indexes.iter().enumerate() {
                    outcomes[i] = Some(SendOutcome::Accepted {
                        provider_message_id: format!("{message_id}#{n}"),
                    });
                }
            }
            Answer::Refused(_) if indexes.len() > 1 => {
                for &i in indexes {
                    Box::pin(self.send_group(batch, &[i], outcomes)).await?;
                }
            }
            Answer::Refused(error) => {
                let invalid_address = error.field.as_deref().is_some_and(|f| f.contains(".to"))
                    || error.message.to_lowercase().contains("email address");
                outcomes[indexes[0]] = Some(SendOutcome::Rejected {
                    code: "400".into(),
                    message: error.message,
                    suppression: invalid_address.then_some(SuppressionReason::Invalid),
                });
            }
        }
        Ok(())
    }

    async fn post(&self, body: &Value) -> Result<Answer, ProviderError> {
        let response = self
            .http
            .post(format!("{}/v3/mail/send", self.base_url))
            .bearer_auth(self.api_key.expose_secret())
            .json(body)
            .send()
            .await
            .map_err(|e| transport_error(NAME, &e))?;
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let text = response.text().await.unwrap_or_default();
        match status {
            200..=299 => {
                let id = headers
                    .get("x-message-id")
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_string)
                    .unwrap_or_else(|| format!("sendgrid-{}", uuid::Uuid::new_v4().simple()));
                Ok(Answer::Accepted(id))
            }
            429 | 500..=599 => Err(ProviderError::Transient {
                provider: NAME,
                message: format!("HTTP {status}: {}", first_error(&text).message),
                retry_after: parse_retry_after(&headers).or_else(|| rate_limit_reset(&headers)),
            }),
            400 => Ok(Answer::Refused(first_error(&text))),
            _ => Err(ProviderError::Fatal {
                provider: NAME,
                message: format!("HTTP {status}: {}", first_error(&text).message),
            }),
        }
    }
}

enum Answer {
    Accepted(String),
    Refused(ApiError),
}

struct ApiError {
    message: String,
    field: Option<String>,
}

/// SendGrid's error shape: `{"errors":[{"message","field","help"}]}`.
fn first_error(text: &str) -> ApiError {
    let parsed: Option<Value> = serde_json::from_str(text).ok();
    let first = parsed
        .as_ref()
        .and_then(|v| v.get("errors"))
        .and_then(|e| e.get(0));
    ApiError {
        message: first
            .and_then(|e| e.get("message"))
            .and_then(Value::as_str)
            .unwrap_or("no error message")
            .to_string(),
        field: first
            .and_then(|e| e.get("field"))
            .and_then(Value::as_str)
            .map(str::to_string),
    }
}

/// `X-RateLimit-Reset` is the unix time at which the quota refills.
fn rate_limit_reset(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    let reset: i64 = headers
        .get("x-ratelimit-reset")?
        .to_str()
        .ok()?
        .parse()
        .ok()?;
    let now = chrono::Utc::now().timestamp();
    Some(Duration::from_secs(
        u64::try_from((reset - now).max(0)).unwrap_or(0),
    ))
}

fn fits_substitution(message: &EmailMessage) -> bool {
    message.attachments.is_empty()
        && message.text.as_deref().map_or(0, str::len) < MAX_SUBSTITUTION_BYTES
        && message.html.as_deref().map_or(0, str::len) < MAX_SUBSTITUTION_BYTES
}

/// The JSON of one Mail Send request carrying messages `indexes` of `batch`.
pub fn request_body(batch: &EmailBatch, indexes: &[usize]) -> Value {
    let messages: Vec<&EmailMessage> = indexes.iter().map(|&i| &batch.messages[i]).collect();
    let single = messages.len() == 1 && !fits_substitution(messages[0]);
    let has_text = messages.iter().any(|m| m.text.is_some());
    let has_html = messages.iter().any(|m| m.html.is_some());
    let personalizations: Vec<Value> = messages
        .iter()
        .map(|m| personalization(m, !single, has_text, has_html))
        .collect();
    let mut content = Vec::new();
    if has_text {
        let value = if single {
            messages[0].text.clone().unwrap_or_default()
        } else {
            TEXT_TAG.into()
        };
        content.push(json!({"type": "text/plain", "value": value}));
    }
    if has_html {
        let value = if single {
            messages[0].html.clone().unwrap_or_default()
        } else {
            HTML_TAG.into()
        };
        content.push(json!({"type": "text/html", "value": value}));
    }
    let mut from = Map::new();
    from.insert("email".into(), json!(batch.from.email));
    if let Some(name) = &batch.from.name {
        from.insert("name".into(), json!(name));
    }
    let mut body = json!({
        "personalizations": personalizations,
        "from": from,
        "subject": messages.first().map(|m| m.subject.as_str()).unwrap_or_default(),
        "content": content,
    });
    if !batch.categories.is_empty() {
        body["categories"] = json!(batch.categories.iter().take(10).collect::<Vec<_>>());
    }
    if single && !messages[0].attachments.is_empty() {
        body["attachments"] = messages[0]
            .attachments
            .iter()
            .map(|a| {
                json!({"content": a.content_base64, "type": a.content_type,
                       "filename": a.filename, "disposition": "attachment"})
            })
            .collect();
    }
    body
}

fn personalization(m: &EmailMessage, substitute: bool, has_text: bool, has_html: bool) -> Value {
    let mut p = json!({"to": [{"email": m.to}], "subject": m.subject});
    if substitute {
        let mut subs = Map::new();
        if has_text {
            subs.insert(TEXT_TAG.into(), json!(m.text.clone().unwrap_or_default()));
        }
        if has_html {
            subs.insert(HTML_TAG.into(), json!(m.html.clone().unwrap_or_default()));
        }
        p["substitutions"] = Value::Object(subs);
    }
    if !m.headers.is_empty() {
        p["headers"] = m
            .headers
            .iter()
            .map(|(k, v)| (k.clone(), json!(v)))
            .collect::<Map<_, _>>()
            .into();
    }
    if !m.custom_args.is_empty() {
        p["custom_args"] = m
            .custom_args
            .iter()
            .map(|(k, v)| (k.clone(), json!(v)))
            .collect::<Map<_, _>>()
            .into();
    }
    p
}

impl EmailProvider for SendGridClient {
    fn name(&self) -> &'static str {
        NAME
    }

    fn max_batch(&self) -> usize {
        MAX_PERSONALIZATIONS
    }

    fn send_batch<'a>(
        &'a self,
        batch: &'a EmailBatch,
    ) -> BoxFuture<'a, Result<Vec<SendOutcome>, ProviderError>> {
        Box::pin(self.send(batch))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Attachment, EmailAddress};

    fn message(to: &str) -> EmailMessage {
        EmailMessage {
            to: to.into(),
            subject: format!("Hi {to}"),
            text: Some(format!("text for {to}")),
            html: Some(format!("<p>{to}</p>")),
            headers: vec![(
                "List-Unsubscribe".into(),
                format!("<https://x.test/u?{to}>"),
            )],
            custom_args: vec![("message_id".into(), to.into())],
            attachments: vec![],
        }
    }

    fn batch(messages: Vec<EmailMessage>) -> EmailBatch {
        EmailBatch {
            from: EmailAddress {
                email: "news@example.com".into(),
                name: Some("News".into()),
            },
            categories: vec!["campaign".into()],
            messages,
        }
    }

    #[test]
    fn many_recipients_share_one_request_through_substitutions() {
        let b = batch(vec![message("a@x.test"), message("b@x.test")]);
        let body = request_body(&b, &[0, 1]);
        assert_eq!(body["personalizations"].as_array().unwrap().len(), 2);
        assert_eq!(body["content"][0]["value"], TEXT_TAG);
        let p = &body["personalizations"][1];
        assert_eq!(p["to"][0]["email"], "b@x.test");
        assert_eq!(p["subject"], "Hi b@x.test");
        assert_eq!(p["substitutions"][TEXT_TAG], "text for b@x.test");
        assert_eq!(
            p["headers"]["List-Unsubscribe"],
            "<https://x.test/u?b@x.test>"
        );
        assert_eq!(p["custom_args"]["message_id"], "b@x.test");
    }

    #[test]
    fn attachments_travel_inline_in_a_request_of_their_own() {
        let mut m = message("a@x.test");
        m.attachments.push(Attachment {
            filename: "report.csv".into(),
            content_type: "text/csv".into(),
            content_base64: "YSxi".into(),
        });
        let b = batch(vec![m]);
        let body = request_body(&b, &[0]);
        assert_eq!(body["content"][0]["value"], "text for a@x.test");
        assert!(body["personalizations"][0].get("substitutions").is_none());
        assert_eq!(body["attachments"][0]["filename"], "report.csv");
        assert_eq!(body["attachments"][0]["content"], "YSxi");
    }
}
