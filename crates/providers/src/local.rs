//! Local providers for `gimbal dev`: nothing leaves the machine. Every accepted message is a
//! row in `public.local_outbox` (what would have gone out, headers included), so a newcomer can
//! watch a campaign "send" without Twilio or SendGrid accounts.

use gimbal_db::{Access, Pool, RequestScope};
use serde_json::{Value, json};

use crate::{
    BoxFuture, EmailBatch, EmailProvider, ProviderError, SendOutcome, SmsMessage, SmsProvider,
};

const NAME: &str = "local";

#[derive(Clone)]
pub struct LocalProvider {
    pool: Pool,
}

impl LocalProvider {
    pub fn new(pool: Pool) -> Self {
        LocalProvider { pool }
    }

    async fn record(&self, rows: Vec<OutboxRow>) -> Result<Vec<SendOutcome>, ProviderError> {
        let fail = |e: &dyn std::fmt::Display| ProviderError::Transient {
            provider: NAME,
            message: format!("local outbox: {e}"),
            retry_after: None,
        };
        let mut client = self.pool.get().await.map_err(|e| fail(&e))?;
        let scope = RequestScope::service("providers/local");
        let tx = gimbal_db::scope::begin(&mut client, &scope, Access::ReadWrite)
            .await
            .map_err(|e| fail(&e))?;
        let rows_json = Value::Array(rows.iter().map(OutboxRow::to_json).collect());
        tx.execute(
            "insert into public.local_outbox
               (channel, provider_message_id, to_address, from_address, subject, body, html_body,
                headers, attachments, metadata)
             select channel, provider_message_id, to_address, from_address, subject, body,
                    html_body, coalesce(headers, '{}'), coalesce(attachments, '[]'),
                    coalesce(metadata, '{}')
             from jsonb_to_recordset($1) as r (channel text, provider_message_id text,
               to_address text, from_address text, subject text, body text, html_body text,
               headers jsonb, attachments jsonb, metadata jsonb)",
            &[&rows_json],
        )
        .await
        .map_err(|e| fail(&e))?;
        tx.commit().await.map_err(|e| fail(&e))?;
        Ok(rows
            .into_iter()
            .map(|r| SendOutcome::Accepted {
                provider_message_id: r.id,
            })
            .collect())
    }
}

struct OutboxRow {
    id: String,
    json: Value,
}

impl OutboxRow {
    fn to_json(&self) -> Value {
        let mut v = self.json.clone();
        v["provider_message_id"] = json!(self.id);
        v
    }
}

fn new_id(prefix: &str) -> String {
    format!("{prefix}{}", uuid::Uuid::new_v4().simple())
}

impl SmsProvider for LocalProvider {
    fn name(&self) -> &'static str {
        NAME
    }

    fn send<'a>(
        &'a self,
        message: &'a SmsMessage,
    ) -> BoxFuture<'a, Result<SendOutcome, ProviderError>> {
        Box::pin(async move {
            let row = OutboxRow {
                id: new_id("LOCALSM"),
                json: json!({"channel": "sms", "to_address": message.to,
                             "from_address": message.from.as_str(), "body": message.body}),
            };
            let mut outcomes = self.record(vec![row]).await?;
            Ok(outcomes.remove(0))
        })
    }
}

impl EmailProvider for LocalProvider {
    fn name(&self) -> &'static str {
        NAME
    }

    fn max_batch(&self) -> usize {
        1000
    }

    fn send_batch<'a>(
        &'a self,
        batch: &'a EmailBatch,
    ) -> BoxFuture<'a, Result<Vec<SendOutcome>, ProviderError>> {
        Box::pin(async move {
            let rows = batch
                .messages
                .iter()
                .map(|m| OutboxRow {
                    id: new_id("local-email-"),
                    json: json!({
                        "channel": "email", "to_address": m.to, "from_address": batch.from.email,
                        "subject": m.subject, "body": m.text, "html_body": m.html,
                        "headers": m.headers.iter().map(|(k, v)| (k.clone(), json!(v)))
                            .collect::<serde_json::Map<_, _>>(),
                        "attachments": m.attachments.iter()
                            .map(|a| json!({"filename": a.filename, "content_type": a.content_type}))
                            .collect::<Vec<_>>(),
                        "metadata": m.custom_args.iter().map(|(k, v)| (k.clone(), json!(v)))
                            .collect::<serde_json::Map<_, _>>(),
                    }),
                })
                .collect();
            self.record(rows).await
        })
    }
}
