//! Per-user, per-event delivery channels. A user without a row for an event type gets the
//! default: always in-app; email as well for failures that need someone to act (a campaign
//! paused on errors, a failed sync); SMS only when asked for.

use gimbal_db::Transaction;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::NotifyError;

/// The event types Gimbal raises.
pub const EVENT_TYPES: [&str; 5] = [
    "campaign.completed",
    "campaign.paused",
    "sync.failed",
    "report.ready",
    "import.completed_with_rejects",
];

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Channels {
    pub in_app: bool,
    pub email: bool,
    pub sms: bool,
}

pub fn default_channels(event_type: &str) -> Channels {
    Channels {
        in_app: true,
        email: matches!(event_type, "campaign.paused" | "sync.failed"),
        sms: false,
    }
}

pub(crate) fn check_event_type(event_type: &str) -> Result<(), NotifyError> {
    if EVENT_TYPES.contains(&event_type) {
        Ok(())
    } else {
        Err(NotifyError::Invalid {
            field: "event_type".into(),
            message: format!("must be one of {}", EVENT_TYPES.join(", ")),
        })
    }
}

pub(crate) async fn channels_for(
    tx: &Transaction<'_>,
    user_id: Uuid,
    event_type: &str,
) -> Result<Channels, NotifyError> {
    let row = tx
        .query_opt(
            "select in_app, email, sms from public.notification_preferences
             where user_id = $1 and event_type = $2",
            &[&user_id, &event_type],
        )
        .await?;
    Ok(row
        .map(|r| Channels {
            in_app: r.get(0),
            email: r.get(1),
            sms: r.get(2),
        })
        .unwrap_or_else(|| default_channels(event_type)))
}

#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct PreferenceView {
    pub event_type: String,
    #[serde(flatten)]
    pub channels: Channels,
    /// False when no preference is stored and the default applies.
    pub customised: bool,
}

/// The caller's preferences for every event type, defaults filled in.
pub async fn effective_preferences(
    tx: &Transaction<'_>,
) -> Result<Vec<PreferenceView>, NotifyError> {
    let rows = tx
        .query(
            "select event_type, in_app, email, sms from public.notification_preferences
             where user_id = auth.uid()",
            &[],
        )
        .await?;
    Ok(EVENT_TYPES
        .iter()
        .map(|event| {
            let stored = rows.iter().find(|r| r.get::<_, String>(0) == *event);
            PreferenceView {
                event_type: event.to_string(),
                channels: stored
                    .map(|r| Channels {
                        in_app: r.get(1),
                        email: r.get(2),
                        sms: r.get(3),
                    })
                    .unwrap_or_else(|| default_channels(event)),
                customised: stored.is_some(),
            }
        })
        .collect())
}

/// Stores the caller's channels for one event type (RLS: their own row only).
pub async fn set_preference(
    tx: &Transaction<'_>,
    event_type: &str,
    channels: Channels,
) -> Result<PreferenceView, NotifyError> {
    check_event_type(event_type)?;
    tx.execute(
        "insert into public.notification_preferences (user_id, event_type, in_app, email, sms)
         values (auth.uid(), $1, $2, $3, $4)
         on conflict (user_id, event_type) do update
           set in_app = excluded.in_app, email = excluded.email, sms = excluded.sms",
        &[
            &event_type,
            &channels.in_app,
            &channels.email,
            &channels.sms,
        ],
    )
    .await?;
    Ok(PreferenceView {
        event_type: event_type.into(),
        channels,
        customised: true,
    })
}
