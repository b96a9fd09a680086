//! Twilio callbacks: delivery status updates and inbound messages with Twilio's opt-out,
//! opt-in and help keywords.
//!
//! A status callback is recorded once per (MessageSid, MessageStatus) — Twilio retries, and
//! the same status twice is one fact — and moves the message forward, never back (a late
//! `sent` after `delivered` keeps `delivered`). An inbound message is stored once per
//! MessageSid; STOP-type keywords suppress the number and revoke the contact's SMS consent
//! immediately (TCPA allows ten business days; we honour it at once), START-type keywords lift
//! a keyword suppression and record the renewed consent, HELP-type keywords are answered.

use gimbal_db::DbError;
use serde_json::Value;
use tokio_postgres::Transaction;
use uuid::Uuid;

/// Twilio's single-word keywords (case-insensitive, surrounding whitespace ignored).
const OPT_OUT: [&str; 8] = [
    "STOP",
    "STOPALL",
    "UNSUBSCRIBE",
    "CANCEL",
    "END",
    "QUIT",
    "REVOKE",
    "OPTOUT",
];
const OPT_IN: [&str; 3] = ["START", "YES", "UNSTOP"];
const HELP: [&str; 2] = ["HELP", "INFO"];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Keyword {
    OptOut,
    OptIn,
    Help,
}

/// The keyword an inbound body is, if it is one.
pub fn keyword(body: &str) -> Option<Keyword> {
    let word = body
        .trim()
        .trim_end_matches(['.', '!'])
        .to_ascii_uppercase();
    // "OPT OUT" is how people write OPTOUT.
    let word = word.split_whitespace().collect::<Vec<_>>().join("");
    if OPT_OUT.contains(&word.as_str()) {
        Some(Keyword::OptOut)
    } else if OPT_IN.contains(&word.as_str()) {
        Some(Keyword::OptIn)
    } else if HELP.contains(&word.as_str()) {
        Some(Keyword::Help)
    } else {
        None
    }
}

/// Our status for a Twilio `MessageStatus`; `None` for statuses that say nothing new about an
/// outbound message (queued, accepted, scheduled, receiving, received).
pub fn status_of(twilio_status: &str) -> Option<&'static str> {
    match twilio_status {
        "sending" => Some("sending"),
        "sent" => Some("sent"),
        "delivered" | "read" | "partially_delivered" => Some("delivered"),
        "undelivered" => Some("undelivered"),
        "failed" | "canceled" => Some("failed"),
        _ => None,
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusUpdate {
    pub message_sid: String,
    pub message_status: String,
    pub error_code: Option<String>,
    pub to: Option<String>,
    /// Every form field, kept as the event's payload.
    pub payload: Value,
}

/// What a status callback did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatusOutcome {
    /// First time this (sid, status) was seen; `matched` tells whether we sent the message.
    Recorded {
        matched: bool,
    },
    Duplicate,
}

/// Twilio's "recipient has opted out" error: the number texted STOP to the sender.
const OPTED_OUT_ERROR: &str = "21610";

pub async fn apply_status(
    tx: &Transaction<'_>,
    update: &StatusUpdate,
) -> Result<StatusOutcome, DbError> {
    let event_id = format!("{}:{}", update.message_sid, update.message_status);
    let inserted = tx
        .query_opt(
            "insert into public.message_events
               (channel, provider, provider_event_id, message_id, event_type, payload, occurred_at)
             values ('sms', 'twilio', $1,
                     (select id from public.sms_messages where provider_message_id = $2),
                     $3, $4, now())
             on conflict (provider, provider_event_id) do nothing
             returning message_id",
            &[
                &event_id,
                &update.message_sid,
                &update.message_status,
                &update.payload,
            ],
        )
        .await?;
    let Some(row) = inserted else {
        return Ok(StatusOutcome::Duplicate);
    };
    let message_id: Option<Uuid> = row.get(0);
    if let (Some(id), Some(status)) = (message_id, status_of(&update.message_status)) {
        tx.execute(
            "update public.sms_messages set
               status = case when app_private.sms_status_rank($2) > app_private.sms_status_rank(status)
                             then $2 else status end,
               error_code = coalesce($3, error_code)
             where id = $1",
            &[&id, &status, &update.error_code],
        )
        .await?;
    }
    if update.error_code.as_deref() == Some(OPTED_OUT_ERROR)
        && let Some(to) = &update.to
    {
        suppress(tx, to, "provider_opt_out", "twilio:21610").await?;
    }
    Ok(StatusOutcome::Recorded {
        matched: message_id.is_some(),
    })
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Inbound {
    pub message_sid: String,
    pub from: String,
    pub to: String,
    pub body: String,
}

/// What an inbound message did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InboundOutcome {
    pub keyword: Option<Keyword>,
    /// False when this MessageSid was already processed (a retried webhook).
    pub first_delivery: bool,
}

pub async fn apply_inbound(
    tx: &Transaction<'_>,
    message: &Inbound,
) -> Result<InboundOutcome, DbError> {
    let keyword = keyword(&message.body);
    let stored = tx
        .query_opt(
            "insert into public.sms_messages
               (contact_id, direction, to_phone, from_phone, body, status, provider, provider_message_id)
             values ((select id from public.contacts where phone = $2), 'inbound', $3, $2, $4,
                     'received', 'twilio', $1)
             on conflict (provider_message_id) do nothing
             returning id",
            &[&message.message_sid, &message.from, &message.to, &message.body],
        )
        .await?;
    if stored.is_none() {
        return Ok(InboundOutcome {
            keyword,
            first_delivery: false,
        });
    }
    let source = format!("sms keyword {}", message.body.trim().to_ascii_uppercase());
    match keyword {
        Some(Keyword::OptOut) => {
            suppress(tx, &message.from, "stop_keyword", &source).await?;
            set_consent(
                tx,
                &message.from,
                "denied",
                "revoked",
                &source,
                &message.message_sid,
            )
            .await?;
        }
        Some(Keyword::OptIn) => {
            tx.execute(
                "delete from public.suppressions
                 where channel = 'sms' and address = $1 and reason = 'stop_keyword'",
                &[&message.from],
            )
            .await?;
            set_consent(
                tx,
                &message.from,
                "granted",
                "granted",
                &source,
                &message.message_sid,
            )
            .await?;
        }
        Some(Keyword::Help) | None => {}
    }
    Ok(InboundOutcome {
        keyword,
        first_delivery: true,
    })
}

/// The sender's name for replies: `app_settings.company_name`, or "Gimbal" when unset.
pub async fn company_name(tx: &Transaction<'_>) -> Result<String, DbError> {
    let row = tx
        .query_opt(
            "select value #>> '{}' from public.app_settings where key = 'company_name'",
            &[],
        )
        .await?;
    Ok(row
        .and_then(|r| r.get::<_, Option<String>>(0))
        .filter(|n| !n.trim().is_empty())
        .unwrap_or_else(|| "Gimbal".into()))
}

/// Adds `phone` to the SMS suppression list (numbers that are not E.164, such as short codes,
/// cannot be on it and are left alone).
async fn suppress(
    tx: &Transaction<'_>,
    phone: &str,
    reason: &str,
    source: &str,
) -> Result<(), DbError> {
    tx.execute(
        "insert into public.suppressions (channel, address, reason, source)
         select 'sms', $1, $2, $3 where $1 ~ '^\\+[1-9][0-9]{6,14}$'
         on conflict (channel, address) do nothing",
        &[&phone, &reason, &source],
    )
    .await?;
    Ok(())
}

/// Sets the SMS consent of the contact with this number, recording the change as evidence.
async fn set_consent(
    tx: &Transaction<'_>,
    phone: &str,
    consent: &str,
    record_status: &str,
    source: &str,
    message_sid: &str,
) -> Result<(), DbError> {
    tx.execute(
        "with changed as (
           update public.contacts set sms_consent = $2, sms_consent_source = $4, sms_consent_at = now()
           where phone = $1 and sms_consent <> $2
           returning id
         )
         insert into public.contact_consents (contact_id, channel, status, source, evidence)
         select id, 'sms', $3, $4, jsonb_build_object('provider', 'twilio', 'message_sid', $5::text)
         from changed",
        &[&phone, &consent, &record_status, &source, &message_sid],
    )
    .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn twilios_keywords_are_recognised_case_insensitively() {
        for word in [
            "STOP",
            "stop",
            " Stop ",
            "stopall",
            "Unsubscribe",
            "cancel",
            "END",
            "quit",
            "revoke",
            "optout",
            "opt out",
        ] {
            assert_eq!(keyword(word), Some(Keyword::OptOut), "{word}");
        }
        for word in ["START", "yes", "Unstop"] {
            assert_eq!(keyword(word), Some(Keyword::OptIn), "{word}");
        }
        for word in ["HELP", "info"] {
            assert_eq!(keyword(word), Some(Keyword::Help), "{word}");
        }
    }

    #[test]
    fn sentences_are_not_keywords() {
        assert_eq!(keyword("please stop texting me at night"), None);
        assert_eq!(keyword("stopping by later"), None);
        assert_eq!(keyword(""), None);
    }

    #[test]
    fn statuses_map_forward_only_where_they_say_something() {
        assert_eq!(status_of("delivered"), Some("delivered"));
        assert_eq!(status_of("undelivered"), Some("undelivered"));
        assert_eq!(status_of("canceled"), Some("failed"));
        assert_eq!(status_of("queued"), None);
    }
}
