//! Applying a verified unsubscribe link: the address is suppressed on its channel, the
//! contact's consent for that channel is revoked (with a consent record as evidence), and the
//! campaign's message to that address is marked unsubscribed so the campaign's counters see it.
//! Applying the same link twice changes nothing the second time.

use gimbal_db::DbError;
use tokio_postgres::Transaction;
use uuid::Uuid;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UnsubscribeOutcome {
    /// False when the address was already suppressed.
    pub newly_suppressed: bool,
}

/// `channel` is `sms` or `email`; `address` is normalised (lower-case email, E.164 phone).
pub async fn apply(
    tx: &Transaction<'_>,
    channel: &str,
    address: &str,
    campaign_id: Option<Uuid>,
    one_click: bool,
) -> Result<UnsubscribeOutcome, DbError> {
    let source = if one_click {
        "unsubscribe link (one-click)"
    } else {
        "unsubscribe link"
    };
    let newly_suppressed = tx
        .execute(
            "insert into public.suppressions (channel, address, reason, source)
             values ($1, $2, 'unsubscribe', $3)
             on conflict (channel, address) do nothing",
            &[&channel, &address, &source],
        )
        .await?
        == 1;
    let consent_sql = match channel {
        "email" => {
            "with changed as (
               update public.contacts set email_consent = 'denied', email_consent_source = $2,
                                          email_consent_at = now()
               where lower(email) = $1 and email_consent <> 'denied'
               returning id
             )
             insert into public.contact_consents (contact_id, channel, status, source, evidence)
             select id, 'email', 'revoked', $2, jsonb_build_object('campaign_id', $3::uuid)
             from changed"
        }
        _ => {
            "with changed as (
               update public.contacts set sms_consent = 'denied', sms_consent_source = $2,
                                          sms_consent_at = now()
               where phone = $1 and sms_consent <> 'denied'
               returning id
             )
             insert into public.contact_consents (contact_id, channel, status, source, evidence)
             select id, 'sms', 'revoked', $2, jsonb_build_object('campaign_id', $3::uuid)
             from changed"
        }
    };
    tx.execute(consent_sql, &[&address, &source, &campaign_id])
        .await?;
    if channel == "email"
        && let Some(campaign) = campaign_id
    {
        tx.execute(
            "update public.email_messages set
               status = case when app_private.email_status_rank('unsubscribed') > app_private.email_status_rank(status)
                             then 'unsubscribed' else status end,
               unsubscribed_at = coalesce(unsubscribed_at, now())
             where campaign_id = $1 and lower(to_email) = $2 and unsubscribed_at is null",
            &[&campaign, &address],
        )
        .await?;
    }
    Ok(UnsubscribeOutcome { newly_suppressed })
}
